/* Causal attention on the CPU, in double: see attention_ref.h. */
#include "attention_ref.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

/* Is key position pk visible to the query at position pq? Causal, inside the window, inside the
 * query's chunk. */
static bool visible(uint32_t pq, uint32_t pk, uint32_t n_swa, uint32_t n_chunk)
{
	if (pk > pq) return false;                   /* the future */
	if (n_swa && pq - pk >= n_swa) return false; /* out of the sliding window (llama.cpp's standard SWA) */
	if (n_chunk && pk < pq / n_chunk * n_chunk) return false; /* an earlier chunk (LLAMA_SWA_TYPE_CHUNKED) */
	return true;
}

void attention_ref(float *out, const float *q, const float *k, const float *v, const float *sinks,
                   const struct attention_ref_shape *s)
{
	uint32_t G = s->n_head / s->n_head_kv, D = s->head_dim_k, DV = s->head_dim_v;
	double *score = malloc((s->n_kv ? s->n_kv : 1) * sizeof *score);
	bool *seen = malloc((s->n_kv ? s->n_kv : 1) * sizeof *seen);
	for (uint32_t t = 0; t < s->n_q; t++)
		for (uint32_t h = 0; h < s->n_head; h++) {
			const float *qr = q + ((size_t)t * s->n_head + h) * D;
			uint32_t hk = h / G, pq = s->p0 + t;
			float *o = out + ((size_t)t * s->n_head + h) * DV;

			/* s_k = scale * q . k_k, softcapped, then masked */
			double mx = -INFINITY;
			for (uint32_t pk = 0; pk < s->n_kv; pk++) {
				seen[pk] = visible(pq, pk, s->n_swa, s->n_chunk);
				if (!seen[pk]) continue;
				const float *kr = k + (size_t)pk * s->k_pos_stride + (size_t)hk * s->k_head_stride;
				double dot = 0;
				for (uint32_t d = 0; d < D; d++) dot += (double)qr[d] * kr[d];
				double x = s->scale * dot;
				if (s->softcap > 0) x = s->softcap * tanh(x / s->softcap);
				score[pk] = x;
				if (x > mx) mx = x;
			}
			/* the sink joins the max and the denominator, unscaled, with no value */
			if (sinks && sinks[h] > mx) mx = sinks[h];

			/* softmax(s) V, the max subtracted */
			double den = sinks ? exp(sinks[h] - mx) : 0;
			for (uint32_t pk = 0; pk < s->n_kv; pk++)
				if (seen[pk]) den += exp(score[pk] - mx);
			for (uint32_t d = 0; d < DV; d++) {
				double num = 0;
				for (uint32_t pk = 0; pk < s->n_kv; pk++)
					if (seen[pk])
						num += exp(score[pk] - mx) *
						       v[(size_t)pk * s->v_pos_stride + (size_t)hk * s->v_head_stride + d];
				o[d] = den > 0 ? (float)(num / den) : 0.0f;
			}
		}
	free(score);
	free(seen);
}
