#include "embed_ref.h"

#include <stdlib.h>

#include "loader/quant.h"

int embed_ref(float *out, const void *table, uint32_t wtype, const uint32_t *ids, uint32_t n_tokens, uint32_t n_embd,
              uint32_t first_row, uint32_t n_rows, float scale)
{
	uint64_t row_bytes = quant_row_size(wtype, n_embd);
	for (uint32_t t = 0; t < n_tokens; t++) {
		if (ids[t] < first_row || ids[t] - first_row >= n_rows) continue;
		float *o = out + (uint64_t)t * n_embd;
		int st = quant_dequantize(wtype, (const uint8_t *)table + (uint64_t)(ids[t] - first_row) * row_bytes, o, n_embd);
		if (st) return st;
		for (uint32_t i = 0; i < n_embd; i++) o[i] = (float)((double)o[i] * scale);
	}
	return 0;
}
