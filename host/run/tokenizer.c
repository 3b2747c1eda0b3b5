/* The tokenizer's public face (run/tokenizer.h): encoding (special tokens out first, then BPE or
 * SentencePiece on each raw fragment, BOS/EOS around), token pieces, detokenization with llama.cpp's
 * space clean-up, and the streaming detokenizer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "run/tok_internal.h"

/* ---- growing buffers ---- */

void tok_ids_free(struct tok_ids *v)
{
	free(v->ids);
	memset(v, 0, sizeof *v);
}

int tok_ids_push(struct tok_ids *v, int32_t id)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 256;
		int32_t *p = realloc(v->ids, cap * sizeof *p);
		if (!p) return fail(VKLLM_E_NOMEM, "tokenizer: out of host memory for %zu tokens", cap);
		v->ids = p, v->cap = cap;
	}
	v->ids[v->n++] = id;
	return VKLLM_OK;
}

void tok_text_free(struct tok_text *t)
{
	free(t->p);
	memset(t, 0, sizeof *t);
}

int tok_text_append(struct tok_text *t, const void *bytes, size_t n)
{
	if (t->n + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 256;
		while (cap < t->n + n + 1) cap *= 2;
		char *p = realloc(t->p, cap);
		if (!p) return fail(VKLLM_E_NOMEM, "tokenizer: out of host memory for %zu bytes of text", cap);
		t->p = p, t->cap = cap;
	}
	if (n) memcpy(t->p + t->n, bytes, n);
	t->n += n;
	t->p[t->n] = 0;
	return VKLLM_OK;
}

/* ---- encoding ---- */

static int push_special(const struct tokenizer *t, int32_t id, const char *what, struct tok_ids *out)
{
	if (id == TOKEN_NULL) return fail(VKLLM_E_FORMAT, "tokenizer: the model asks for a %s token but names none", what);
	return tok_ids_push(out, id);
}

/* SentencePiece sees the fragment with spaces as ▁, after a ▁ prefix where llama.cpp adds one. */
static int spm_fragment(struct tokenizer *t, const char *s, size_t n, bool prefix, struct tok_ids *out)
{
	static const char lower_block[3] = {(char)0xe2, (char)0x96, (char)0x81}; /* U+2581 ▁ */
	struct tok_text *b = &t->spm_text;
	b->n = 0;
	if (prefix) TRY(tok_text_append(b, lower_block, 3));
	size_t run = 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] == ' ') {
			TRY(tok_text_append(b, s + run, i - run));
			TRY(tok_text_append(b, lower_block, 3));
			run = i + 1;
		}
	TRY(tok_text_append(b, s + run, n - run));
	return spm_encode_fragment(t, b->p, b->n, out);
}

int tokenizer_encode(struct tokenizer *t, const char *text, size_t len, bool add_special, bool parse_special,
                     struct tok_ids *out)
{
	struct tok_fragment *frags;
	size_t n_frags;
	TRY(special_partition(t, text, len, parse_special, &frags, &n_frags));
	if (add_special && t->add_bos) TRY(push_special(t, t->bos, "BOS", out));
	bool prev_special = true; /* SentencePiece: text at the start or after a special token gets ▁ */
	for (size_t i = 0; i < n_frags; i++) {
		const struct tok_fragment *f = &frags[i];
		if (f->token >= 0) {
			TRY(tok_ids_push(out, f->token));
			prev_special = true;
		} else if (t->kind == TOKENIZER_SPM) {
			TRY(spm_fragment(t, text + f->off, f->len, t->add_space_prefix && prev_special, out));
			prev_special = false;
		} else {
			TRY(bpe_encode_fragment(t, text + f->off, f->len, out));
		}
	}
	if (add_special && t->add_eos) TRY(push_special(t, t->eos, "EOS", out));
	return VKLLM_OK;
}

/* ---- pieces ---- */

static int check_id(const struct tokenizer *t, int32_t id)
{
	if (id < 0 || (uint32_t)id >= t->n_tokens)
		return fail(VKLLM_E_ARG, "token id %d is outside the vocabulary (0..%u)", id, t->n_tokens - 1);
	return VKLLM_OK;
}

static size_t utf8_put(uint32_t cp, unsigned char *o)
{
	if (cp < 0x80) return o[0] = (unsigned char)cp, 1;
	if (cp < 0x800) return o[0] = (unsigned char)(0xc0 | cp >> 6), o[1] = (unsigned char)(0x80 | (cp & 0x3f)), 2;
	if (cp < 0x10000) {
		o[0] = (unsigned char)(0xe0 | cp >> 12), o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (unsigned char)(0xf0 | cp >> 18), o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f)), o[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Byte-level BPE text back to bytes (llama_decode_text): each code point through the inverse of
 * GPT-2's byte map; one outside it is written as llama.cpp writes it, [UNK_BYTE_0x<its UTF-8 in
 * hex><the whole token>]. Invalid UTF-8 in a token reads as U+FFFD, as in llama.cpp. */
static int decode_byte_level(const struct tokenizer *t, const char *s, size_t n, struct tok_text *out)
{
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		unsigned char b = u[i];
		size_t len = b < 0x80 ? 1 : b < 0xc0 ? 0 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : b < 0xf8 ? 4 : 0;
		bool ok = len && i + len <= n;
		for (size_t k = 1; ok && k < len; k++) ok = (u[i + k] & 0xc0) == 0x80;
		uint32_t cp = 0xfffd;
		if (ok) {
			cp = len == 1 ? b : (uint32_t)(b & (0x7f >> len));
			for (size_t k = 1; k < len; k++) cp = cp << 6 | (u[i + k] & 0x3f);
			i += len;
		} else {
			i += 1;
		}
		if (cp < 0x144 && t->cp_to_byte[cp] >= 0) {
			char c = (char)t->cp_to_byte[cp];
			TRY(tok_text_append(out, &c, 1));
			continue;
		}
		char hex[40] = "[UNK_BYTE_0x";
		size_t hn = strlen(hex);
		unsigned char enc[4];
		size_t en = cp > 0x10ffff ? 0 : utf8_put(cp, enc);
		for (size_t k = 0; k < en; k++) hn += (size_t)snprintf(hex + hn, sizeof hex - hn, "%02x", enc[k]);
		TRY(tok_text_append(out, hex, hn));
		TRY(tok_text_append(out, s, n));
		TRY(tok_text_append(out, "]", 1));
	}
	return VKLLM_OK;
}

/* Appends the piece of id (llama.cpp's token_to_piece), without bounds checks on id. */
static int append_piece(const struct tokenizer *t, int32_t id, bool special, struct tok_text *out)
{
	uint32_t attr = t->attr[id];
	const char *s = strtab_text(&t->strs, (uint32_t)id);
	size_t n = t->strs.len[id];
	if (!special && (attr & (TOK_ATTR_UNKNOWN | TOK_ATTR_CONTROL))) return VKLLM_OK;
	if (attr & (TOK_ATTR_UNKNOWN | TOK_ATTR_CONTROL | TOK_ATTR_USER_DEFINED)) return tok_text_append(out, s, n);
	if (attr & TOK_ATTR_NORMAL) {
		if (t->kind == TOKENIZER_BPE) return decode_byte_level(t, s, n, out);
		size_t run = 0; /* SentencePiece: ▁ is a space */
		for (size_t i = 0; i + 3 <= n; i++)
			if (!memcmp(s + i, "\xe2\x96\x81", 3)) {
				TRY(tok_text_append(out, s + run, i - run));
				TRY(tok_text_append(out, " ", 1));
				run = i + 3;
				i += 2;
			}
		return tok_text_append(out, s + run, n - run);
	}
	if (attr & TOK_ATTR_BYTE) { /* <0xXX>: llama.cpp reads the two characters after "<0x" */
		char hex[3] = {n > 3 ? s[3] : 0, n > 4 ? s[4] : 0, 0};
		char c = (char)strtol(hex, NULL, 16);
		return tok_text_append(out, &c, 1);
	}
	return VKLLM_OK; /* unused and undefined tokens have no text */
}

int tokenizer_piece(const struct tokenizer *t, int32_t id, bool special, char *buf, size_t cap, size_t *len)
{
	TRY(check_id(t, id));
	struct tok_text p = {0};
	int st = append_piece(t, id, special, &p);
	if (!st) {
		*len = p.n;
		if (cap) memcpy(buf, p.p ? p.p : "", p.n < cap ? p.n : cap);
	}
	tok_text_free(&p);
	return st;
}

/* ---- detokenization ---- */

/* llama.cpp's three clean-up passes, in place on text[0..total), kept literally (they interact). */
static size_t clean_spaces(char *text, size_t total)
{
	size_t total1 = total;
	total = total ? 1 : 0;
	for (size_t i = 1; i < total1; ++i) {
		const char x = text[i];
		if (text[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) total--; /* " ?" " !" " ." " ," */
		text[total++] = x;
	}
	size_t total2 = total;
	total = total ? 1 : 0;
	for (size_t i = 1; i < total2; ++i) {
		const char x = text[i];
		if (x == '\'' && i + 1 < total2 && text[i - 1] == ' ' && text[i + 1] == ' ') { /* " ' " */
			total--;
			text[++i] = '\0';
		}
		text[total++] = x;
	}
	size_t total3 = total;
	total = total ? 1 : 0;
	for (size_t i = 1; i < total3; ++i) {
		const char x = text[i];
		if (text[i - 1] == ' ' && x == '\'' && i + 1 < total3) {
			const char x1 = text[i + 1];
			if (x1 == 't' || x1 == 'd') {
				/* " 't", " 'd": kept */
			} else if (x1 == 's' || x1 == 'm') {
				total--; /* " 's", " 'm" */
			} else if (i + 2 < total3) {
				const char x2 = text[i + 2];
				if ((x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e')) total--; /* " 're", " 've" ("'ll" kept) */
			}
		}
		text[total++] = x;
	}
	return total;
}

int tokenizer_decode(const struct tokenizer *t, const int32_t *ids, size_t n, bool remove_special, bool unparse_special,
                     struct tok_text *out)
{
	size_t start = out->n;
	bool remove_space = t->add_space_prefix;
	if (remove_special && t->add_bos && n > 0 && ids[0] == t->bos) {
		remove_space = false;
		ids++, n--;
	}
	if (remove_special && t->add_eos && n > 0 && ids[n - 1] == t->eos) n--;
	for (size_t i = 0; i < n; i++) {
		TRY(check_id(t, ids[i]));
		size_t at = out->n;
		TRY(append_piece(t, ids[i], unparse_special, out));
		if (remove_space && out->n > at && out->p[at] == ' ') { /* lstrip 1 on the first piece */
			memmove(out->p + at, out->p + at + 1, out->n - at - 1);
			out->p[--out->n] = 0;
		}
		remove_space = false;
	}
	if (t->clean_spaces) {
		out->n = start + clean_spaces(out->p ? out->p + start : NULL, out->n - start);
		if (out->p) out->p[out->n] = 0;
	}
	return VKLLM_OK;
}

void detok_stream_init(struct detok_stream *s, const struct tokenizer *t, bool special)
{
	memset(s, 0, sizeof *s);
	s->t = t;
	s->special = special;
}

int detok_stream_push(struct detok_stream *s, int32_t id, struct tok_text *out)
{
	TRY(check_id(s->t, id));
	struct tok_text piece = {0};
	int st = append_piece(s->t, id, s->special, &piece);
	if (!st) st = utf8_stream_feed(s->pending, &s->n_pending, piece.p, piece.n, out);
	tok_text_free(&piece);
	return st;
}

int detok_stream_finish(struct detok_stream *s, struct tok_text *out)
{
	if (!s->n_pending) return VKLLM_OK;
	s->n_pending = 0;
	return tok_text_append(out, "\xef\xbf\xbd", 3);
}

/* ---- what the metadata says ---- */

enum tokenizer_kind tokenizer_kind(const struct tokenizer *t) { return t->kind; }
const char *tokenizer_pre_name(const struct tokenizer *t)
{
	return t->kind == TOKENIZER_SPM ? "" : t->pre[0] ? t->pre : "default";
}
uint32_t tokenizer_n_tokens(const struct tokenizer *t) { return t->n_tokens; }
int32_t tokenizer_bos(const struct tokenizer *t) { return t->bos; }
int32_t tokenizer_eos(const struct tokenizer *t) { return t->eos; }
int32_t tokenizer_eot(const struct tokenizer *t) { return t->eot; }
bool tokenizer_adds_bos(const struct tokenizer *t) { return t->add_bos; }
bool tokenizer_adds_eos(const struct tokenizer *t) { return t->add_eos; }
bool tokenizer_is_eog(const struct tokenizer *t, int32_t id) { return id >= 0 && (uint32_t)id < t->n_tokens && t->eog[id]; }
bool tokenizer_round_trips(const struct tokenizer *t) { return !t->clean_spaces && !t->add_space_prefix; }

const char *tokenizer_token_text(const struct tokenizer *t, int32_t id, size_t *len)
{
	if (id < 0 || (uint32_t)id >= t->n_tokens) return NULL;
	*len = t->strs.len[id];
	return strtab_text(&t->strs, (uint32_t)id);
}
