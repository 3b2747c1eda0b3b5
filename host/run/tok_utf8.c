/* UTF-8 for the tokenizer, in two directions.
 *
 * In: byte-level BPE decodes the text to code points the way llama.cpp's unicode_cpts_from_utf8
 * does (lead byte decides the length, continuation bytes only need 10xxxxxx, overlong forms and
 * surrogates pass, each byte that starts no sequence becomes U+FFFD) and re-encodes them, so the
 * pieces are made of exactly the bytes llama.cpp's pieces are made of. PCRE2 refuses surrogates, so
 * the regex runs on a copy where they (and U+180E, which PCRE2 counts as \s and llama.cpp does not)
 * are replaced by U+E000: same length, and like them it is in no class the regexes use.
 *
 * Out: detokenized bytes are let through as whole, valid characters only; a character split
 * across tokens waits, and bytes that cannot be part of one come out as U+FFFD. */
#include <string.h>

#include "base/status.h"
#include "run/tok_internal.h"

static const char REPLACEMENT[3] = {(char)0xef, (char)0xbf, (char)0xbd};
static const char STAND_IN[3] = {(char)0xee, (char)0x80, (char)0x80}; /* U+E000, private use */

/* llama.cpp's decoder: the code point at s[*i], advancing *i; 0xFFFD and one byte when invalid. */
static uint32_t decode_like_llama(const unsigned char *s, size_t n, size_t *i)
{
	unsigned char b = s[*i];
	size_t len = b < 0x80 ? 1 : b < 0xc0 ? 0 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : b < 0xf8 ? 4 : 0;
	if (len == 1) {
		*i += 1;
		return b;
	}
	bool ok = len != 0 && *i + len <= n;
	for (size_t k = 1; ok && k < len; k++) ok = (s[*i + k] & 0xc0) == 0x80;
	if (!ok) {
		*i += 1;
		return 0xfffd;
	}
	uint32_t cp = b & (0x7f >> len);
	for (size_t k = 1; k < len; k++) cp = cp << 6 | (s[*i + k] & 0x3f);
	*i += len;
	return cp;
}

static size_t encode(uint32_t cp, char *o)
{
	if (cp < 0x80) return o[0] = (char)cp, 1;
	if (cp < 0x800) return o[0] = (char)(0xc0 | cp >> 6), o[1] = (char)(0x80 | (cp & 0x3f)), 2;
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12), o[1] = (char)(0x80 | ((cp >> 6) & 0x3f)), o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18), o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* The length of the well-formed character at s (RFC 3629, no surrogates, no overlongs), 0 when the
 * bytes there are not one, or -(bytes available) when they are a valid but incomplete start. */
static int well_formed(const unsigned char *s, size_t n)
{
	unsigned char b = s[0];
	if (b < 0x80) return 1;
	int len;
	unsigned char lo = 0x80, hi = 0xbf; /* the allowed range of the second byte */
	if (b >= 0xc2 && b <= 0xdf) len = 2;
	else if (b >= 0xe0 && b <= 0xef) {
		len = 3;
		if (b == 0xe0) lo = 0xa0;
		if (b == 0xed) hi = 0x9f;
	} else if (b >= 0xf0 && b <= 0xf4) {
		len = 4;
		if (b == 0xf0) lo = 0x90;
		if (b == 0xf4) hi = 0x8f;
	} else return 0;
	for (int k = 1; k < len; k++) {
		if ((size_t)k >= n) return -k;
		unsigned char c = s[k];
		if (k == 1 ? (c < lo || c > hi) : (c & 0xc0) != 0x80) return 0;
	}
	return len;
}

int utf8_normalize(const char *in, size_t n, struct tok_text *norm, struct tok_text *subject, bool *changed)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0;
	/* fast path: already well-formed and free of U+180E (E1 A0 8E) */
	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		int len = well_formed(s + i, n - i);
		if (len <= 0 || (len == 3 && s[i] == 0xe1 && s[i + 1] == 0xa0 && s[i + 2] == 0x8e)) break;
		i += (size_t)len;
	}
	*changed = i < n;
	if (!*changed) return VKLLM_OK;
	norm->n = subject->n = 0;
	TRY(tok_text_append(norm, in, i));
	TRY(tok_text_append(subject, in, i));
	while (i < n) {
		size_t at = i;
		uint32_t cp = decode_like_llama(s, n, &i);
		if (cp > 0x10ffff)
			return fail(VKLLM_E_ARG, "text byte %zu: the sequence encodes U+%X, beyond U+10FFFF", at, cp);
		char o[4];
		size_t len = encode(cp, o);
		TRY(tok_text_append(norm, o, len));
		bool odd = (cp >= 0xd800 && cp <= 0xdfff) || cp == 0x180e;
		TRY(tok_text_append(subject, odd ? STAND_IN : o, len));
	}
	return VKLLM_OK;
}

/* Drops the first k pending bytes. */
static void shift(unsigned char pending[4], unsigned *n_pending, unsigned k)
{
	memmove(pending, pending + k, *n_pending - k);
	*n_pending -= k;
}

int utf8_stream_feed(unsigned char pending[4], unsigned *n_pending, const char *bytes, size_t n, struct tok_text *out)
{
	const unsigned char *s = (const unsigned char *)bytes;
	size_t i = 0;
	/* first settle the character left over from before, with the new bytes */
	while (*n_pending) {
		while (*n_pending < 4 && i < n && well_formed(pending, *n_pending) < 0) pending[(*n_pending)++] = s[i++];
		int len = well_formed(pending, *n_pending);
		if (len < 0) return VKLLM_OK; /* still incomplete: all input is in pending */
		if (len > 0) {
			TRY(tok_text_append(out, pending, (size_t)len));
			shift(pending, n_pending, (unsigned)len);
		} else {
			TRY(tok_text_append(out, REPLACEMENT, 3));
			shift(pending, n_pending, 1);
		}
	}
	/* then the new bytes: valid runs are copied whole */
	size_t run = i;
	while (i < n) {
		int len = well_formed(s + i, n - i);
		if (len > 0) {
			i += (size_t)len;
			continue;
		}
		TRY(tok_text_append(out, s + run, i - run));
		if (len < 0) { /* an incomplete character at the end waits for the next piece */
			memcpy(pending, s + i, n - i);
			*n_pending = (unsigned)(n - i);
			return VKLLM_OK;
		}
		TRY(tok_text_append(out, REPLACEMENT, 3));
		run = ++i;
	}
	return tok_text_append(out, s + run, i - run);
}
