/* Special tokens written in the text, cut out before the tokenizer runs, with the semantics of
 * llama.cpp's tokenizer_st_partition: the special tokens (CONTROL, USER_DEFINED, UNKNOWN) are taken
 * longest text first; each one takes every leftmost, non-overlapping occurrence in the raw text that
 * is left, splitting it; CONTROL and UNKNOWN ones only when special parsing is on. LSTRIP / RSTRIP
 * tokens eat the whitespace beside them.
 *
 * llama.cpp searches the text once per special token. Gemma 3 has thousands, so a byte trie over
 * their texts first finds which ones occur at all (one walk from each position that starts one);
 * only those are then applied, in llama.cpp's order, which gives the same fragments.
 * The order of two special tokens of equal length is unspecified in llama.cpp (std::sort); here it
 * is by id. It matters only when two such tokens overlap in a text. */
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "run/tok_internal.h"

#define NO_EDGE UINT64_MAX

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint32_t edge_slot(uint64_t key, uint32_t mask) { return (uint32_t)((key * 0x9e3779b97f4a7c15ull) >> 40) & mask; }

static int64_t edge_find(const struct tok_special *s, uint32_t node, unsigned char byte)
{
	uint64_t key = (uint64_t)node << 8 | byte;
	for (uint32_t i = edge_slot(key, s->edge_mask);; i = (i + 1) & s->edge_mask) {
		if (s->edge_key[i] == key) return s->edge_to[i];
		if (s->edge_key[i] == NO_EDGE) return -1;
	}
}

static uint32_t edge_add(struct tok_special *s, uint32_t node, unsigned char byte)
{
	uint64_t key = (uint64_t)node << 8 | byte;
	uint32_t i = edge_slot(key, s->edge_mask);
	while (s->edge_key[i] != NO_EDGE && s->edge_key[i] != key) i = (i + 1) & s->edge_mask;
	if (s->edge_key[i] == key) return s->edge_to[i];
	s->edge_key[i] = key;
	s->edge_to[i] = s->n_nodes;
	s->node_token[s->n_nodes] = -1;
	return s->n_nodes++;
}

int special_build(struct tokenizer *t)
{
	struct tok_special *s = &t->special;
	uint64_t bytes = 0;
	s->rank_of = malloc((size_t)t->n_tokens * sizeof *s->rank_of);
	s->order = malloc((size_t)t->n_tokens * sizeof *s->order);
	if (!s->rank_of || !s->order) return fail(VKLLM_E_NOMEM, "tokenizer: out of host memory");
	uint64_t *keys = malloc(((size_t)t->n_tokens + 1) * sizeof *keys);
	if (!keys) return fail(VKLLM_E_NOMEM, "tokenizer: out of host memory");
	for (uint32_t id = 0; id < t->n_tokens; id++) {
		s->rank_of[id] = UINT32_MAX;
		if (t->attr[id] & (TOK_ATTR_CONTROL | TOK_ATTR_USER_DEFINED | TOK_ATTR_UNKNOWN)) {
			/* longest first, then by id: (inverted length, id) sorts in that order */
			keys[s->n++] = (uint64_t)(UINT32_MAX - t->strs.len[id]) << 32 | id;
			bytes += t->strs.len[id];
		}
	}
	qsort(keys, s->n, sizeof *keys, cmp_u64);
	for (uint32_t k = 0; k < s->n; k++) {
		s->order[k] = (uint32_t)keys[k];
		s->rank_of[s->order[k]] = k;
	}
	free(keys);
	uint32_t cap = 16;
	while (cap < bytes * 2 + 16) cap <<= 1;
	s->edge_mask = cap - 1;
	s->edge_key = malloc(cap * sizeof *s->edge_key);
	s->edge_to = malloc(cap * sizeof *s->edge_to);
	s->node_token = malloc((bytes + 1) * sizeof *s->node_token);
	s->present = calloc(s->n ? s->n : 1, 1);
	if (!s->edge_key || !s->edge_to || !s->node_token || !s->present) return fail(VKLLM_E_NOMEM, "tokenizer: out of host memory");
	memset(s->edge_key, 0xff, cap * sizeof *s->edge_key);
	s->node_token[0] = -1;
	s->n_nodes = 1;
	for (uint32_t k = 0; k < s->n; k++) {
		uint32_t id = s->order[k];
		const unsigned char *text = (const unsigned char *)strtab_text(&t->strs, id);
		uint32_t node = 0;
		for (uint32_t i = 0; i < t->strs.len[id]; i++) node = edge_add(s, node, text[i]);
		s->node_token[node] = (int32_t)id;
		s->first_byte[text[0]] = true;
	}
	return VKLLM_OK;
}

void special_free(struct tok_special *s)
{
	free(s->order);
	free(s->rank_of);
	free(s->edge_key);
	free(s->edge_to);
	free(s->node_token);
	free(s->present);
	free(s->tmp);
	memset(s, 0, sizeof *s);
}

static int push_frag(struct tok_fragment **v, size_t *n, size_t *cap, int32_t token, size_t off, size_t len)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		struct tok_fragment *f = realloc(*v, c * sizeof *f);
		if (!f) return fail(VKLLM_E_NOMEM, "tokenizer: out of host memory");
		*v = f, *cap = c;
	}
	(*v)[(*n)++] = (struct tok_fragment){token, off, len};
	return VKLLM_OK;
}

static bool is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); } /* isspace in the C locale */

/* One special token through every raw fragment (llama.cpp's inner loops). */
static int apply(struct tokenizer *t, const char *text, uint32_t id, size_t *n_frags)
{
	struct tok_special *s = &t->special;
	const char *tok = strtab_text(&t->strs, id);
	size_t tl = t->strs.len[id], n_out = 0;
	for (size_t f = 0; f < *n_frags; f++) {
		struct tok_fragment fr = t->frags[f];
		if (fr.token >= 0) {
			TRY(push_frag(&s->tmp, &n_out, &s->cap_tmp, fr.token, 0, 0));
			continue;
		}
		size_t off = fr.off, len = fr.len;
		while (len > 0) {
			const char *m = memmem(text + off, len, tok, tl);
			if (!m) {
				TRY(push_frag(&s->tmp, &n_out, &s->cap_tmp, -1, off, len));
				break;
			}
			size_t at = (size_t)(m - text), left = at - off;
			if (t->attr[id] & TOK_ATTR_LSTRIP)
				while (left > 0 && is_space(text[off + left - 1])) left--;
			if (left > 0) TRY(push_frag(&s->tmp, &n_out, &s->cap_tmp, -1, off, left));
			TRY(push_frag(&s->tmp, &n_out, &s->cap_tmp, (int32_t)id, 0, 0));
			size_t end = off + len;
			off = at + tl;
			len = end - off;
			if (t->attr[id] & TOK_ATTR_RSTRIP)
				while (len > 0 && is_space(text[off])) off++, len--;
		}
	}
	struct tok_fragment *sw = t->frags;
	size_t cap = t->cap_frags;
	t->frags = s->tmp, t->cap_frags = s->cap_tmp;
	s->tmp = sw, s->cap_tmp = cap;
	*n_frags = n_out;
	return VKLLM_OK;
}

int special_partition(struct tokenizer *t, const char *text, size_t len, bool parse_special,
                      struct tok_fragment **frags, size_t *n_frags)
{
	struct tok_special *s = &t->special;
	*n_frags = 0;
	if (len) TRY(push_frag(&t->frags, n_frags, &t->cap_frags, -1, 0, len));
	if (!len || !s->n) {
		*frags = t->frags;
		return VKLLM_OK;
	}
	/* which special tokens occur anywhere in the text */
	memset(s->present, 0, s->n);
	bool any = false;
	const unsigned char *u = (const unsigned char *)text;
	for (size_t p = 0; p < len; p++) {
		if (!s->first_byte[u[p]]) continue;
		uint32_t node = 0;
		for (size_t q = p; q < len; q++) {
			int64_t next = edge_find(s, node, u[q]);
			if (next < 0) break;
			node = (uint32_t)next;
			int32_t id = s->node_token[node];
			if (id >= 0) s->present[s->rank_of[id]] = 1, any = true;
		}
	}
	for (uint32_t k = 0; any && k < s->n; k++) {
		if (!s->present[k]) continue;
		uint32_t id = s->order[k];
		if (!parse_special && (t->attr[id] & (TOK_ATTR_CONTROL | TOK_ATTR_UNKNOWN))) continue;
		TRY(apply(t, text, id, n_frags));
	}
	*frags = t->frags;
	return VKLLM_OK;
}
