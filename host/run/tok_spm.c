/* SentencePiece BPE as llama.cpp's llm_tokenizer_spm_session: the fragment (spaces already ▁) is
 * split into UTF-8 characters by their lead byte; every adjacent pair whose text is a token is a
 * candidate scored by that token's score; the best candidate is merged (ties: the leftmost) until
 * none is left. A final symbol that is not a token comes out as its bytes, each <0xXX> (or the
 * one-byte token when there is no <0xXX>). Merged symbols are always tokens, so llama.cpp's
 * re-segmentation through its rev_merge map only ever reaches unmerged characters: the byte
 * fallback below is the whole of it.
 *
 * llama.cpp runs this over the whole fragment at once. A pair can only merge when its text is a
 * token, so at a place where no token spans, the two sides never interact: the result is the
 * same when each side is encoded alone. Such places are found at load: before a ▁ that follows a
 * character no token has right before a ▁ (for Gemma 3 every character but '>' and ▁ itself).
 * Splitting there gives word-sized runs, a small heap, and runs that repeat, which the word cache
 * (shared with BPE: a tokenizer is one or the other) answers. */
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "run/tok_internal.h"

struct spm_sym {
	int32_t prev, next;
	uint32_t start, len;
};

struct spm_pair {
	float score;
	int32_t left, right;
	uint32_t size;
};

static bool pair_before(const void *va, const void *vb)
{
	const struct spm_pair *a = va, *b = vb;
	return a->score > b->score || (a->score == b->score && a->left < b->left);
}
_Static_assert(sizeof(struct spm_pair) <= TOK_HEAP_MAX_ITEM, "a merge queue item");

/* Adjacent symbols are contiguous in the text, so their union is one substring. */
static int try_pair(const struct tokenizer *t, const char *text, const struct spm_sym *syms, int32_t l, int32_t r,
                    struct tok_heap *h)
{
	if (l < 0 || r < 0) return VKLLM_OK;
	uint32_t size = syms[l].len + syms[r].len;
	int64_t id = strtab_find(&t->strs, text + syms[l].start, size);
	if (id < 0 || id >= t->n_tokens) return VKLLM_OK;
	struct spm_pair p = {t->scores[id], l, r, size};
	return tok_heap_push(h, &p);
}

static int emit_bytes(const struct tokenizer *t, const char *s, uint32_t n, struct tok_ids *out)
{
	static const char hex[] = "0123456789ABCDEF";
	for (uint32_t i = 0; i < n; i++) {
		unsigned char b = (unsigned char)s[i];
		char name[6] = {'<', '0', 'x', hex[b >> 4], hex[b & 15], '>'};
		int64_t id = strtab_find(&t->strs, name, 6);
		if (id < 0 || id >= t->n_tokens) id = strtab_find(&t->strs, (const char *)&b, 1);
		if (id < 0 || id >= t->n_tokens)
			return fail(VKLLM_E_UNSUPPORTED, "tokenizer: byte 0x%02X has no token (neither <0x%02X> nor the byte itself)", b, b);
		TRY(tok_ids_push(out, (int32_t)id));
	}
	return VKLLM_OK;
}

static const char BLANK[3] = {(char)0xe2, (char)0x96, (char)0x81}; /* ▁ U+2581 */

/* The well-formed UTF-8 character that ends at s[end] (exclusive), packed in a u32, or false. */
static bool char_before(const unsigned char *s, size_t start, size_t end, uint32_t *key)
{
	size_t q = end;
	while (q > start && end - q < 4 && (s[q - 1] & 0xc0) == 0x80) q--;
	if (q == start) return false;
	q--;
	unsigned char b = s[q];
	size_t len = b < 0x80 ? 1 : (b >= 0xc2 && b <= 0xdf) ? 2 : (b >= 0xe0 && b <= 0xef) ? 3 : (b >= 0xf0 && b <= 0xf4) ? 4 : 0;
	if (len != end - q) return false;
	*key = 0;
	for (size_t i = 0; i < len; i++) *key |= (uint32_t)s[q + i] << (8 * i);
	return true;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

int spm_prepare(struct tokenizer *t)
{
	size_t cap = 0;
	uint32_t blank_key;
	char_before((const unsigned char *)BLANK, 0, 3, &blank_key);
	for (uint32_t id = 0; id < t->n_tokens && !t->spm_whole; id++) {
		const unsigned char *s = (const unsigned char *)strtab_text(&t->strs, id);
		size_t n = t->strs.len[id];
		for (size_t p = 1; p + 3 <= n; p++) {
			if (memcmp(s + p, BLANK, 3)) continue;
			uint32_t key;
			if (!char_before(s, 0, p, &key)) {
				t->spm_whole = true;
				break;
			}
			if (key == blank_key) continue;
			if (t->n_spm_glue == cap) {
				cap = cap ? cap * 2 : 16;
				uint32_t *g = realloc(t->spm_glue, cap * sizeof *g);
				if (!g) return fail(VKLLM_E_NOMEM, "tokenizer: out of host memory");
				t->spm_glue = g;
			}
			t->spm_glue[t->n_spm_glue++] = key;
		}
	}
	if (t->n_spm_glue) qsort(t->spm_glue, t->n_spm_glue, sizeof *t->spm_glue, cmp_u32);
	return VKLLM_OK;
}

static int spm_run(struct tokenizer *t, const char *text, size_t n, struct tok_ids *out);

#define CACHED_RUN_MAX 128

static int spm_run_cached(struct tokenizer *t, const char *text, size_t n, struct tok_ids *out)
{
	uint32_t n_ids;
	const int32_t *hit = n <= CACHED_RUN_MAX ? word_cache_get(&t->cache, text, n, &n_ids) : NULL;
	if (hit) {
		for (uint32_t i = 0; i < n_ids; i++) TRY(tok_ids_push(out, hit[i]));
		return VKLLM_OK;
	}
	size_t first = out->n;
	TRY(spm_run(t, text, n, out));
	if (n <= CACHED_RUN_MAX) word_cache_put(&t->cache, text, n, out->ids + first, (uint32_t)(out->n - first));
	return VKLLM_OK;
}

/* Cuts the fragment before each ▁ that no token glues to the character before it; the cuts fall
 * on llama.cpp's character boundaries (lead-byte lengths from the fragment's start). */
int spm_encode_fragment(struct tokenizer *t, const char *text, size_t n, struct tok_ids *out)
{
	static const unsigned char len_of_lead[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
	if (t->spm_whole) return spm_run(t, text, n, out);
	const unsigned char *u = (const unsigned char *)text;
	size_t run = 0, prev = 0;
	for (size_t off = 0; off < n;) {
		size_t len = len_of_lead[u[off] >> 4];
		if (len > n - off) len = n - off;
		if (len == 3 && off > run && !memcmp(u + off, BLANK, 3)) {
			uint32_t key;
			bool prev_blank = off - prev == 3 && !memcmp(u + prev, BLANK, 3); /* runs of ▁ stay whole */
			bool cut = !prev_blank && char_before(u, prev, off, &key) &&
			           (!t->n_spm_glue || !bsearch(&key, t->spm_glue, t->n_spm_glue, sizeof key, cmp_u32));
			if (cut) {
				TRY(spm_run_cached(t, text + run, off - run, out));
				run = off;
			}
		}
		prev = off;
		off += len;
	}
	return run < n ? spm_run_cached(t, text + run, n - run, out) : VKLLM_OK;
}

/* One run through llama.cpp's algorithm. */
static int spm_run(struct tokenizer *t, const char *text, size_t n, struct tok_ids *out)
{
	static const unsigned char len_of_lead[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
	if (n > INT32_MAX / 2) return fail(VKLLM_E_ARG, "tokenizer: a text fragment of %zu bytes", n);
	if (n > t->cap_spm_syms) {
		struct spm_sym *s = realloc(t->spm_syms, n * 2 * sizeof *s);
		if (!s) return fail(VKLLM_E_NOMEM, "tokenizer: out of host memory");
		t->spm_syms = s, t->cap_spm_syms = n * 2;
	}
	struct spm_sym *syms = t->spm_syms;
	int32_t count = 0;
	for (size_t off = 0; off < n; count++) {
		size_t len = len_of_lead[(unsigned char)text[off] >> 4];
		if (len > n - off) len = n - off;
		syms[count] = (struct spm_sym){count - 1, off + len < n ? count + 1 : -1, (uint32_t)off, (uint32_t)len};
		off += len;
	}
	struct tok_heap h = {t->spm_heap, 0, t->cap_spm_heap, sizeof(struct spm_pair), pair_before};
	int st = VKLLM_OK;
	for (int32_t i = 1; i < count && !st; i++) st = try_pair(t, text, syms, i - 1, i, &h);
	while (h.n && !st) {
		struct spm_pair p;
		tok_heap_pop(&h, &p);
		struct spm_sym *l = &syms[p.left], *r = &syms[p.right];
		if (!l->len || !r->len || l->len + r->len != p.size) continue; /* a side changed since */
		l->len += r->len;
		r->len = 0;
		l->next = r->next;
		if (r->next >= 0) syms[r->next].prev = p.left;
		st = try_pair(t, text, syms, l->prev, p.left, &h);
		if (!st) st = try_pair(t, text, syms, p.left, l->next, &h);
	}
	t->spm_heap = h.v, t->cap_spm_heap = h.cap;
	for (int32_t i = count ? 0 : -1; i >= 0 && !st; i = syms[i].next) {
		int64_t id = strtab_find(&t->strs, text + syms[i].start, syms[i].len);
		if (id >= 0 && id < t->n_tokens) st = tok_ids_push(out, (int32_t)id);
		else st = emit_bytes(t, text + syms[i].start, syms[i].len, out);
	}
	return st;
}

void spm_scratch_free(struct tokenizer *t)
{
	free(t->spm_syms);
	free(t->spm_heap);
	t->spm_syms = t->spm_heap = NULL;
	t->cap_spm_syms = t->cap_spm_heap = 0;
}
