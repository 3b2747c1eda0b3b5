/* The tokenizer's string table: token texts (and texts only merges name) in one arena, with an
 * open-addressing hash index from text to id. Lookups happen for every symbol pair during merging,
 * so the hash reads 8 bytes at a time. */
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "run/tok_internal.h"

uint64_t tok_hash(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ (n * 0xff51afd7ed558ccdull);
	while (n >= 8) {
		uint64_t v;
		memcpy(&v, s, 8);
		h = (h ^ v) * 0xbf58476d1ce4e5b9ull;
		h ^= h >> 31;
		s += 8, n -= 8;
	}
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) v |= (uint64_t)s[i] << (8 * i);
	h = (h ^ v) * 0x94d049bb133111ebull;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 32);
}

static uint32_t pow2_at_least(uint64_t n)
{
	uint32_t p = 16;
	while (p < n && p < (1u << 31)) p <<= 1;
	return p;
}

int strtab_init(struct tok_strtab *s, uint32_t expected)
{
	memset(s, 0, sizeof *s);
	s->cap = expected ? expected : 16;
	s->off = malloc(s->cap * sizeof *s->off);
	s->len = malloc(s->cap * sizeof *s->len);
	s->mask = pow2_at_least((uint64_t)s->cap * 2) - 1;
	s->slots = calloc((size_t)s->mask + 1, sizeof *s->slots);
	if (!s->off || !s->len || !s->slots) return fail(VKLLM_E_NOMEM, "tokenizer: out of host memory for %u strings", s->cap);
	return VKLLM_OK;
}

void strtab_free(struct tok_strtab *s)
{
	free(s->arena);
	free(s->off);
	free(s->len);
	free(s->slots);
	memset(s, 0, sizeof *s);
}

int strtab_push(struct tok_strtab *s, const char *text, size_t n, uint32_t *id)
{
	if (n > UINT32_MAX / 2) return fail(VKLLM_E_FORMAT, "tokenizer: a token of %zu bytes", n);
	if (s->n == s->cap) {
		uint32_t cap = s->cap * 2;
		uint64_t *off = realloc(s->off, cap * sizeof *off);
		if (off) s->off = off;
		uint32_t *len = realloc(s->len, cap * sizeof *len);
		if (len) s->len = len;
		if (!off || !len) return fail(VKLLM_E_NOMEM, "tokenizer: out of host memory for %u strings", cap);
		s->cap = cap;
	}
	if (s->arena_n + n + 1 > s->arena_cap) {
		size_t cap = s->arena_cap ? s->arena_cap : 1 << 16;
		while (cap < s->arena_n + n + 1) cap *= 2;
		char *a = realloc(s->arena, cap);
		if (!a) return fail(VKLLM_E_NOMEM, "tokenizer: out of host memory for %zu bytes of token text", cap);
		s->arena = a, s->arena_cap = cap;
	}
	memcpy(s->arena + s->arena_n, text, n);
	s->arena[s->arena_n + n] = 0; /* texts are NUL-terminated for messages */
	s->off[s->n] = s->arena_n;
	s->len[s->n] = (uint32_t)n;
	s->arena_n += n + 1;
	*id = s->n++;
	return VKLLM_OK;
}

static void slot_insert(uint32_t *slots, uint32_t mask, uint64_t h, uint32_t id)
{
	for (uint32_t i = (uint32_t)h & mask;; i = (i + 1) & mask)
		if (!slots[i]) {
			slots[i] = id + 1;
			return;
		}
}

static int grow_index(struct tok_strtab *s)
{
	uint32_t mask = s->mask * 2 + 1;
	uint32_t *slots = calloc((size_t)mask + 1, sizeof *slots);
	if (!slots) return fail(VKLLM_E_NOMEM, "tokenizer: out of host memory for the token index");
	for (uint32_t i = 0; i <= s->mask; i++)
		if (s->slots[i]) {
			uint32_t id = s->slots[i] - 1;
			slot_insert(slots, mask, tok_hash(strtab_text(s, id), s->len[id]), id);
		}
	free(s->slots);
	s->slots = slots, s->mask = mask;
	return VKLLM_OK;
}

int64_t strtab_find(const struct tok_strtab *s, const char *text, size_t n)
{
	for (uint32_t i = (uint32_t)tok_hash(text, n) & s->mask;; i = (i + 1) & s->mask) {
		uint32_t v = s->slots[i];
		if (!v) return -1;
		uint32_t id = v - 1;
		if (s->len[id] == n && memcmp(strtab_text(s, id), text, n) == 0) return id;
	}
}

int strtab_index(struct tok_strtab *s, uint32_t id, int64_t *dup)
{
	*dup = strtab_find(s, strtab_text(s, id), s->len[id]);
	if (*dup >= 0) return VKLLM_OK;
	if ((uint64_t)(s->n_indexed + 1) * 2 > s->mask) TRY(grow_index(s));
	slot_insert(s->slots, s->mask, tok_hash(strtab_text(s, id), s->len[id]), id);
	s->n_indexed++;
	return VKLLM_OK;
}

int strtab_intern(struct tok_strtab *s, const char *text, size_t n, uint32_t *id)
{
	int64_t found = strtab_find(s, text, n);
	if (found >= 0) {
		*id = (uint32_t)found;
		return VKLLM_OK;
	}
	TRY(strtab_push(s, text, n, id));
	int64_t dup;
	return strtab_index(s, *id, &dup);
}
