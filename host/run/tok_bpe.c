/* Byte-level BPE, as llama.cpp's llm_tokenizer_bpe_session: each pre-tokenized word is spelled in
 * GPT-2's byte alphabet, split into characters, and the adjacent pair of lowest merge rank is merged
 * until no pair has a rank (ties: the leftmost pair). llama.cpp compares symbol texts; here every
 * text a merge can produce is interned once at load, so a pair is two integers and a merge is one
 * hash lookup. A binary heap orders the candidate pairs; entries that went stale (a side was merged
 * since) are skipped when popped, as in llama.cpp. Whole words are cached, since prose repeats. */
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "loader/gguf.h"
#include "run/tok_internal.h"

#define EMPTY_KEY UINT64_MAX

/* ---- the merge table ---- */

static uint64_t pair_key(uint32_t left, uint32_t right) { return (uint64_t)left << 32 | right; }

static uint32_t pair_slot(uint64_t key, uint32_t mask)
{
	uint64_t h = key * 0x9e3779b97f4a7c15ull;
	return (uint32_t)(h >> 32) & mask;
}

bool merges_find(const struct tok_merges *m, uint32_t left, uint32_t right, int32_t *rank, uint32_t *result)
{
	uint64_t key = pair_key(left, right);
	for (uint32_t i = pair_slot(key, m->mask);; i = (i + 1) & m->mask) {
		if (m->keys[i] == key) {
			*rank = m->rank[i];
			*result = m->result[i];
			return true;
		}
		if (m->keys[i] == EMPTY_KEY) return false;
	}
}

/* Each merge "left right" (split at the first space after the first byte, as llama.cpp splits it)
 * gets its rank (its index); a pair listed twice keeps its first rank (llama.cpp's emplace). */
int merges_load(struct tokenizer *t, const struct gguf_file *f)
{
	const struct gguf_kv *kv = gguf_find(f, "tokenizer.ggml.merges");
	if (!kv) return fail(VKLLM_E_FORMAT, "%s: a gpt2 (BPE) vocabulary needs tokenizer.ggml.merges", f->path);
	if (kv->type != GGUF_ARRAY || kv->elem_type != GGUF_STRING)
		return fail(VKLLM_E_FORMAT, "%s: tokenizer.ggml.merges must be an array of strings", f->path);
	if (kv->n > INT32_MAX) return fail(VKLLM_E_FORMAT, "%s: tokenizer.ggml.merges has %llu entries", f->path, (unsigned long long)kv->n);
	struct tok_merges *m = &t->merges;
	uint32_t cap = 16;
	while (cap < kv->n * 2 + 16) cap <<= 1;
	m->mask = cap - 1;
	m->keys = malloc(cap * sizeof *m->keys);
	m->rank = malloc(cap * sizeof *m->rank);
	m->result = malloc(cap * sizeof *m->result);
	struct gguf_str *s = malloc((kv->n ? kv->n : 1) * sizeof *s);
	char *cat = NULL;
	size_t cat_cap = 0;
	int st = VKLLM_OK;
	if (!m->keys || !m->rank || !m->result || !s) st = fail(VKLLM_E_NOMEM, "tokenizer: out of host memory for %llu merges", (unsigned long long)kv->n);
	if (!st) {
		memset(m->keys, 0xff, cap * sizeof *m->keys);
		st = gguf_get_arr_str(f, kv, s);
	}
	for (uint64_t i = 0; i < kv->n && !st; i++) {
		const char *sp = s[i].len > 1 ? memchr(s[i].ptr + 1, ' ', s[i].len - 1) : NULL;
		if (!sp) continue; /* llama.cpp records ("", ""), which no symbol pair can match */
		size_t nl = (size_t)(sp - s[i].ptr), nr = s[i].len - nl - 1;
		if (nl + nr > cat_cap) {
			cat_cap = (nl + nr) * 2 + 64;
			char *c = realloc(cat, cat_cap);
			if (!c) {
				st = fail(VKLLM_E_NOMEM, "tokenizer: out of host memory");
				break;
			}
			cat = c;
		}
		memcpy(cat, s[i].ptr, nl);
		memcpy(cat + nl, sp + 1, nr);
		uint32_t left, right, result;
		st = strtab_intern(&t->strs, s[i].ptr, nl, &left);
		if (!st) st = strtab_intern(&t->strs, sp + 1, nr, &right);
		if (!st) st = strtab_intern(&t->strs, cat, nl + nr, &result);
		if (st) break;
		uint64_t key = pair_key(left, right);
		uint32_t j = pair_slot(key, m->mask);
		while (m->keys[j] != EMPTY_KEY && m->keys[j] != key) j = (j + 1) & m->mask;
		if (m->keys[j] == key) continue;
		m->keys[j] = key;
		m->rank[j] = (int32_t)i;
		m->result[j] = result;
		m->n++;
	}
	free(s);
	free(cat);
	return st;
}

void merges_free(struct tok_merges *m)
{
	free(m->keys);
	free(m->rank);
	free(m->result);
	memset(m, 0, sizeof *m);
}

/* ---- merging one word ---- */

struct bpe_sym {
	int32_t prev, next;
	uint32_t start, len; /* bytes of the (un-encoded) word */
	int64_t sid;         /* string id of the symbol's byte-level text, -1 when it has none */
};

struct bpe_pair {
	int32_t rank;
	int32_t left, right;
	uint32_t lsid, rsid, result;
};

static bool pair_before(const void *va, const void *vb)
{
	const struct bpe_pair *a = va, *b = vb;
	return a->rank < b->rank || (a->rank == b->rank && a->left < b->left);
}
_Static_assert(sizeof(struct bpe_pair) <= TOK_HEAP_MAX_ITEM, "a merge queue item");

static int try_pair(const struct tokenizer *t, const struct bpe_sym *syms, int32_t l, int32_t r, struct tok_heap *h)
{
	if (l < 0 || r < 0 || syms[l].sid < 0 || syms[r].sid < 0) return VKLLM_OK;
	struct bpe_pair p = {.left = l, .right = r, .lsid = (uint32_t)syms[l].sid, .rsid = (uint32_t)syms[r].sid};
	if (!merges_find(&t->merges, p.lsid, p.rsid, &p.rank, &p.result)) return VKLLM_OK;
	return tok_heap_push(h, &p);
}

/* A final symbol that is not a token: llama.cpp looks up each byte of its byte-level text as a
 * one-byte token and silently drops the bytes that are none. */
static int emit_fallback(const struct tokenizer *t, const char *word, const struct bpe_sym *s, struct tok_ids *out)
{
	for (uint32_t i = s->start; i < s->start + s->len; i++) {
		unsigned char b = (unsigned char)word[i];
		for (int k = 0; k < t->byte_utf8_len[b]; k++) {
			int64_t id = strtab_find(&t->strs, &t->byte_utf8[b][k], 1);
			if (id >= 0 && id < t->n_tokens) TRY(tok_ids_push(out, (int32_t)id));
		}
	}
	return VKLLM_OK;
}

static int merge_word(struct tokenizer *t, const char *w, size_t n, struct tok_ids *out)
{
	if (n > INT32_MAX / 2) return fail(VKLLM_E_ARG, "tokenizer: a word of %zu bytes", n);
	if (n > t->cap_syms) {
		struct bpe_sym *s = realloc(t->bpe_syms, n * 2 * sizeof *s);
		if (!s) return fail(VKLLM_E_NOMEM, "tokenizer: out of host memory");
		t->bpe_syms = s, t->cap_syms = n * 2;
	}
	struct bpe_sym *syms = t->bpe_syms;
	struct tok_heap h = {t->bpe_heap, 0, t->cap_heap, sizeof(struct bpe_pair), pair_before};
	/* every character of the byte-level spelling is one byte of the word */
	for (size_t i = 0; i < n; i++)
		syms[i] = (struct bpe_sym){(int32_t)i - 1, i + 1 < n ? (int32_t)i + 1 : -1, (uint32_t)i, 1,
		                           t->byte_sid[(unsigned char)w[i]]};
	int st = VKLLM_OK;
	for (size_t i = 1; i < n && !st; i++) st = try_pair(t, syms, (int32_t)i - 1, (int32_t)i, &h);
	while (h.n && !st) {
		struct bpe_pair p;
		tok_heap_pop(&h, &p);
		struct bpe_sym *l = &syms[p.left], *r = &syms[p.right];
		if (!l->len || !r->len || l->next != p.right || l->sid != p.lsid || r->sid != p.rsid) continue; /* stale */
		l->len += r->len;
		l->sid = p.result;
		r->len = 0;
		l->next = r->next;
		if (r->next >= 0) syms[r->next].prev = p.left;
		st = try_pair(t, syms, l->prev, p.left, &h);
		if (!st) st = try_pair(t, syms, p.left, l->next, &h);
	}
	t->bpe_heap = h.v, t->cap_heap = h.cap;
	for (int32_t i = n ? 0 : -1; i >= 0 && !st; i = syms[i].next) {
		if (syms[i].sid >= 0 && syms[i].sid < t->n_tokens) st = tok_ids_push(out, (int32_t)syms[i].sid);
		else st = emit_fallback(t, w, &syms[i], out);
	}
	return st;
}

/* The llama3/tekken shortcut: a word whose byte-level spelling is a token is that token. */
static int whole_word_token(struct tokenizer *t, const char *w, size_t n, int64_t *id)
{
	t->word.n = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char b = (unsigned char)w[i];
		TRY(tok_text_append(&t->word, t->byte_utf8[b], t->byte_utf8_len[b]));
	}
	*id = strtab_find(&t->strs, t->word.p, t->word.n);
	if (*id >= t->n_tokens) *id = -1;
	return VKLLM_OK;
}

#define CACHED_WORD_MAX 128 /* longer words are rare and not worth the memory */

static int bpe_word(struct tokenizer *t, const char *w, size_t n, struct tok_ids *out)
{
	uint32_t n_ids;
	const int32_t *hit = n <= CACHED_WORD_MAX ? word_cache_get(&t->cache, w, n, &n_ids) : NULL;
	if (hit) {
		for (uint32_t i = 0; i < n_ids; i++) TRY(tok_ids_push(out, hit[i]));
		return VKLLM_OK;
	}
	size_t first = out->n;
	int64_t id = -1;
	if (t->ignore_merges) TRY(whole_word_token(t, w, n, &id));
	if (id >= 0) TRY(tok_ids_push(out, (int32_t)id));
	else TRY(merge_word(t, w, n, out));
	if (n <= CACHED_WORD_MAX) word_cache_put(&t->cache, w, n, out->ids + first, (uint32_t)(out->n - first));
	return VKLLM_OK;
}

int bpe_encode_fragment(struct tokenizer *t, const char *text, size_t n, struct tok_ids *out)
{
	bool changed;
	TRY(utf8_normalize(text, n, &t->norm, &t->subject, &changed));
	const char *norm = changed ? t->norm.p : text;
	const char *subject = changed ? t->subject.p : text;
	size_t len = changed ? t->norm.n : n;
	const struct tok_span *pieces;
	size_t n_pieces;
	TRY(pretok_split(&t->pretok, subject, len, &pieces, &n_pieces));
	for (size_t i = 0; i < n_pieces; i++) TRY(bpe_word(t, norm + pieces[i].off, pieces[i].len, out));
	return VKLLM_OK;
}

void bpe_scratch_free(struct tokenizer *t)
{
	free(t->bpe_syms);
	free(t->bpe_heap);
	t->bpe_syms = t->bpe_heap = NULL;
	t->cap_syms = t->cap_heap = 0;
}
