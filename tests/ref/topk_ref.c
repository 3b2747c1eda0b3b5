#include "topk_ref.h"

#include <math.h>
#include <stdbool.h>

static float key(float v) { return isnan(v) ? -INFINITY : v; }

/* the order: (v, i) before (bv, bi) */
static bool better(float v, uint32_t i, float bv, uint32_t bi) { return v > bv || (v == bv && i < bi); }

void argmax_ref(uint32_t *idx, float *val, const float *x, uint32_t n, uint32_t n_rows)
{
	topk_ref(idx, val, x, n, n_rows, 1);
}

void topk_ref(uint32_t *idx, float *val, const float *x, uint32_t n, uint32_t n_rows, uint32_t k)
{
	for (uint32_t r = 0; r < n_rows; r++) {
		const float *xr = x + (uint64_t)r * n;
		/* the j-th best is the best element that comes after the (j-1)-th in the order */
		float prev_v = INFINITY;
		uint32_t prev_i = 0; /* sentinel: (+inf, 0) precedes everything but itself */
		bool first = true;
		for (uint32_t j = 0; j < k; j++) {
			float bv = -INFINITY;
			uint32_t bi = UINT32_MAX;
			for (uint32_t i = 0; i < n; i++) {
				float v = key(xr[i]);
				if (!first && !better(prev_v, prev_i, v, i)) continue; /* already taken */
				if (better(v, i, bv, bi)) bv = v, bi = i;
			}
			idx[(uint64_t)r * k + j] = bi;
			val[(uint64_t)r * k + j] = bv;
			prev_v = bv, prev_i = bi, first = false;
		}
	}
}
