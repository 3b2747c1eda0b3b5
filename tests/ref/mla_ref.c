#include "mla_ref.h"

#include <math.h>
#include <stdlib.h>

void mla_attention_lat(double *o_lat, const double *q_abs, const double *q_pe, const double *cache, uint32_t H,
                       uint32_t kv_lora, uint32_t rope, uint32_t n_vis, double scale, double *scores)
{
	uint32_t row = kv_lora + rope;
	for (uint32_t h = 0; h < H; h++) {
		const double *qa = q_abs + (uint64_t)h * kv_lora, *qp = q_pe + (uint64_t)h * rope;
		double mx = -INFINITY;
		for (uint32_t j = 0; j < n_vis; j++) {
			const double *c = cache + (uint64_t)j * row, *k_pe = c + kv_lora;
			double dot = 0;
			for (uint32_t i = 0; i < kv_lora; i++) dot += qa[i] * c[i];
			for (uint32_t i = 0; i < rope; i++) dot += qp[i] * k_pe[i];
			scores[j] = scale * dot;
			mx = fmax(mx, scores[j]);
		}
		/* softmax, then the values are the latents themselves: V = c */
		double den = 0, *o = o_lat + (uint64_t)h * kv_lora;
		for (uint32_t i = 0; i < kv_lora; i++) o[i] = 0;
		for (uint32_t j = 0; j < n_vis; j++) {
			double p = exp(scores[j] - mx);
			den += p;
			const double *c = cache + (uint64_t)j * row;
			for (uint32_t i = 0; i < kv_lora; i++) o[i] += p * c[i];
		}
		for (uint32_t i = 0; i < kv_lora; i++) o[i] /= den;
	}
}

void mla_attention_ref(float *out_lat, const float *q_abs, const float *q_pe, const float *cache, uint32_t n_q,
                       uint32_t H, uint32_t kv_lora, uint32_t rope, uint32_t n_kv, uint32_t p0, double scale)
{
	uint64_t nl = (uint64_t)H * kv_lora, np = (uint64_t)H * rope, nc = (uint64_t)n_kv * (kv_lora + rope);
	double *qa = malloc(nl * sizeof *qa), *qp = malloc((np ? np : 1) * sizeof *qp), *o = malloc(nl * sizeof *o);
	double *c = malloc((nc ? nc : 1) * sizeof *c), *scores = malloc((n_kv ? n_kv : 1) * sizeof *scores);
	if (!qa || !qp || !o || !c || !scores) abort(); /* a test helper: no way to report it */
	for (uint64_t i = 0; i < nc; i++) c[i] = cache[i];
	for (uint32_t t = 0; t < n_q; t++) {
		for (uint64_t i = 0; i < nl; i++) qa[i] = q_abs[t * nl + i];
		for (uint64_t i = 0; i < np; i++) qp[i] = q_pe[t * np + i];
		uint64_t vis = (uint64_t)p0 + t + 1;
		mla_attention_lat(o, qa, qp, c, H, kv_lora, rope, (uint32_t)(vis < n_kv ? vis : n_kv), scale, scores);
		for (uint64_t i = 0; i < nl; i++) out_lat[t * nl + i] = (float)o[i];
	}
	free(qa), free(qp), free(o), free(c), free(scores);
}
