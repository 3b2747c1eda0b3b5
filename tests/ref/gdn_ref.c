#include "gdn_ref.h"

#include <math.h>
#include <stdlib.h>

static double silu(double a) { return a / (1.0 + exp(-a)); }
static double sigmoid(double a) { return 1.0 / (1.0 + exp(-a)); }

void l2_norm_ref(double *y, const double *x, uint32_t n, double eps)
{
	double ss = 0;
	for (uint32_t i = 0; i < n; i++) ss += x[i] * x[i];
	double r = 1.0 / sqrt(ss + eps);
	for (uint32_t i = 0; i < n; i++) y[i] = x[i] * r;
}

void short_conv_step_ref(double *y, double *state, const double *x, const double *w, uint32_t C, uint32_t K)
{
	for (uint32_t c = 0; c < C; c++) {
		double acc = 0;
		for (uint32_t j = 0; j + 1 < K; j++) acc += w[(uint64_t)c * K + j] * state[(uint64_t)j * C + c];
		acc += w[(uint64_t)c * K + K - 1] * x[c];
		y[c] = silu(acc);
	}
	for (uint32_t c = 0; c < C; c++) {
		for (uint32_t r = 0; r + 2 < K; r++) state[(uint64_t)r * C + c] = state[(uint64_t)(r + 1) * C + c];
		if (K >= 2) state[(uint64_t)(K - 2) * C + c] = x[c];
	}
}

void gdn_step_ref(double *o, double *S, const double *q, const double *k, const double *v, const double *g,
                  const double *beta, uint32_t Hk, uint32_t Hv, uint32_t Dk, uint32_t Dv, enum gdn_head_map map,
                  bool gate_per_channel, double scale)
{
	double *d = malloc(sizeof(double) * Dv);
	for (uint32_t h = 0; h < Hv; h++) {
		uint32_t m = gdn_key_head(h, Hk, Hv, map);
		double *Sh = S + (uint64_t)h * Dk * Dv;
		const double *qh = q + (uint64_t)m * Dk, *kh = k + (uint64_t)m * Dk, *vh = v + (uint64_t)h * Dv;
		/* 1. decay */
		for (uint32_t i = 0; i < Dk; i++) {
			double a = exp(gate_per_channel ? g[(uint64_t)h * Dk + i] : g[h]);
			for (uint32_t j = 0; j < Dv; j++) Sh[(uint64_t)i * Dv + j] *= a;
		}
		/* 2. delta from the decayed state */
		for (uint32_t j = 0; j < Dv; j++) {
			double kv = 0;
			for (uint32_t i = 0; i < Dk; i++) kv += Sh[(uint64_t)i * Dv + j] * kh[i];
			d[j] = beta[h] * (vh[j] - kv);
		}
		/* 3. rank-1 update */
		for (uint32_t i = 0; i < Dk; i++)
			for (uint32_t j = 0; j < Dv; j++) Sh[(uint64_t)i * Dv + j] += kh[i] * d[j];
		/* 4. output from the updated state */
		for (uint32_t j = 0; j < Dv; j++) {
			double acc = 0;
			for (uint32_t i = 0; i < Dk; i++) acc += Sh[(uint64_t)i * Dv + j] * qh[i];
			o[(uint64_t)h * Dv + j] = scale * acc;
		}
	}
	free(d);
}

void gated_rms_norm_ref(double *y, const double *x, const double *z, const double *w, uint32_t n, double eps,
                        bool sigmoid_gate)
{
	double ss = 0;
	for (uint32_t i = 0; i < n; i++) ss += x[i] * x[i];
	double r = 1.0 / sqrt(ss / n + eps);
	for (uint32_t i = 0; i < n; i++) y[i] = x[i] * r * w[i] * (sigmoid_gate ? sigmoid(z[i]) : silu(z[i]));
}
