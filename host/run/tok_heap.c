/* The merge queue of both tokenizer models (tok_internal.h): a binary heap of fixed-size items
 * under the caller's order. One implementation for BPE (lowest rank first) and SentencePiece
 * (highest score first); ties go to the leftmost pair in both, which the callers' orders say. */
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "tok_internal.h"

#define ITEM(h, i) ((h)->v + (i) * (h)->size)

int tok_heap_push(struct tok_heap *h, const void *item)
{
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 256;
		unsigned char *v = realloc(h->v, cap * h->size);
		if (!v) return fail(VKLLM_E_NOMEM, "tokenizer: out of host memory");
		h->v = v, h->cap = cap;
	}
	size_t i = h->n++;
	while (i > 0 && h->before(item, ITEM(h, (i - 1) / 2))) {
		memcpy(ITEM(h, i), ITEM(h, (i - 1) / 2), h->size);
		i = (i - 1) / 2;
	}
	memcpy(ITEM(h, i), item, h->size);
	return VKLLM_OK;
}

void tok_heap_pop(struct tok_heap *h, void *out)
{
	unsigned char last[TOK_HEAP_MAX_ITEM];
	memcpy(out, ITEM(h, 0), h->size);
	memcpy(last, ITEM(h, --h->n), h->size);
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= h->n) break;
		if (c + 1 < h->n && h->before(ITEM(h, c + 1), ITEM(h, c))) c++;
		if (!h->before(ITEM(h, c), last)) break;
		memcpy(ITEM(h, i), ITEM(h, c), h->size);
		i = c;
	}
	if (h->n) memcpy(ITEM(h, i), last, h->size);
}
