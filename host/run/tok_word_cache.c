/* The BPE word cache: a pre-tokenized word's bytes -> its token ids. The result of a word does not
 * depend on its neighbours, and in prose most words repeat, so the merge loop runs once per
 * distinct word. Bounded: when it holds CACHE_MAX_WORDS words it starts over. A failed allocation
 * only means no caching (the cache never makes encoding fail). */
#include <stdlib.h>
#include <string.h>

#include "run/tok_internal.h"

#define CACHE_MAX_WORDS (1u << 18)

/* entry layout in data (u32 units): hash, key length, id count, key bytes (padded), ids */
static uint32_t key_words(size_t n) { return (uint32_t)((n + 3) / 4); }

void word_cache_free(struct tok_word_cache *c)
{
	free(c->slots);
	free(c->data);
	memset(c, 0, sizeof *c);
}

const int32_t *word_cache_get(const struct tok_word_cache *c, const char *key, size_t n, uint32_t *n_ids)
{
	if (!c->slots) return NULL;
	uint32_t h = (uint32_t)tok_hash(key, n);
	for (uint32_t i = h & c->mask;; i = (i + 1) & c->mask) {
		uint32_t v = c->slots[i];
		if (!v) return NULL;
		const uint32_t *e = c->data + (v - 1);
		if (e[0] == h && e[1] == n && memcmp(e + 3, key, n) == 0) {
			*n_ids = e[2];
			return (const int32_t *)(e + 3 + key_words(n));
		}
	}
}

static bool reset(struct tok_word_cache *c)
{
	if (!c->slots) {
		c->mask = CACHE_MAX_WORDS * 2 - 1;
		c->slots = malloc(((size_t)c->mask + 1) * sizeof *c->slots);
		if (!c->slots) return false;
	}
	memset(c->slots, 0, ((size_t)c->mask + 1) * sizeof *c->slots);
	c->n = 0;
	c->data_n = 0;
	return true;
}

void word_cache_put(struct tok_word_cache *c, const char *key, size_t n, const int32_t *ids, uint32_t n_ids)
{
	if ((!c->slots || c->n >= CACHE_MAX_WORDS) && !reset(c)) return;
	size_t need = 3 + key_words(n) + n_ids;
	if (c->data_n + need > c->data_cap) {
		size_t cap = c->data_cap ? c->data_cap * 2 : 1 << 16;
		while (cap < c->data_n + need) cap *= 2;
		if (cap > UINT32_MAX / 2) { /* offsets are u32: start over */
			if (!reset(c)) return;
			cap = c->data_cap;
		} else {
			uint32_t *d = realloc(c->data, cap * sizeof *d);
			if (!d) return;
			c->data = d, c->data_cap = cap;
		}
	}
	uint32_t h = (uint32_t)tok_hash(key, n);
	uint32_t *e = c->data + c->data_n;
	e[0] = h, e[1] = (uint32_t)n, e[2] = n_ids;
	e[3 + key_words(n) - (n ? 1 : 0)] = 0; /* padding bytes are never compared, but keep them defined */
	memcpy(e + 3, key, n);
	memcpy(e + 3 + key_words(n), ids, n_ids * sizeof *ids);
	uint32_t i = h & c->mask;
	while (c->slots[i]) i = (i + 1) & c->mask;
	c->slots[i] = (uint32_t)c->data_n + 1;
	c->data_n += need;
	c->n++;
}
