#include "rope_ref.h"

#include <math.h>

/* ggml_rope_yarn_corr_dims, in f32 as ggml computes it (floor/ceil make it a step function, so
 * the reference takes ggml's exact f32 values rather than float64 ones) */
static void corr_dims(float dims[2], uint32_t n_rot, uint32_t n_ctx_orig, float base, float beta_fast, float beta_slow)
{
	float start = floorf((float)n_rot * logf((float)n_ctx_orig / (beta_fast * 2 * (float)M_PI)) / (2 * logf(base)));
	float end = ceilf((float)n_rot * logf((float)n_ctx_orig / (beta_slow * 2 * (float)M_PI)) / (2 * logf(base)));
	dims[0] = fmaxf(0, start);
	dims[1] = fminf((float)n_rot - 1, end);
}

void rope_ref(float *y, const float *x, const int32_t *pos, const float *ff, uint32_t n_tokens, uint32_t n_heads,
              uint32_t head_dim, const struct rope_ref_config *c, double *theta_out)
{
	float corr[2];
	corr_dims(corr, c->n_rot, c->n_ctx_orig, c->freq_base, c->beta_fast, c->beta_slow);
	double theta_scale = powf(c->freq_base, -2.0f / (float)c->n_rot); /* ggml's f32 value */
	double mscale = c->attn_factor;
	if (c->ext_factor != 0) mscale *= 1.0 + 0.1 * log(1.0 / c->freq_scale);
	uint32_t half = c->n_rot / 2;
	for (uint32_t t = 0; t < n_tokens; t++)
		for (uint32_t h = 0; h < n_heads; h++) {
			const float *src = x + ((uint64_t)t * n_heads + h) * head_dim;
			float *dst = y + ((uint64_t)t * n_heads + h) * head_dim;
			for (uint32_t i = c->n_rot; i < head_dim; i++) dst[i] = src[i]; /* the tail passes through */
			for (uint32_t i = 0; i < half; i++) {
				/* rope_yarn */
				double theta_extrap = pos[t] * pow(theta_scale, i) / (ff ? ff[i] : 1.0);
				double theta_interp = c->freq_scale * theta_extrap, theta = theta_interp;
				if (c->ext_factor != 0) {
					double ramp_y = (i - corr[0]) / fmax(0.001, corr[1] - corr[0]);
					double ramp_mix = (1 - fmin(1, fmax(0, ramp_y))) * c->ext_factor;
					theta = theta_interp * (1 - ramp_mix) + theta_extrap * ramp_mix;
				}
				if (theta_out) theta_out[(uint64_t)t * half + i] = fabs(theta);
				double cs = cos(theta) * mscale, sn = sin(theta) * mscale;
				/* rotate_pairs */
				uint32_t j0 = c->neox ? i : 2 * i, j1 = c->neox ? i + half : 2 * i + 1;
				double x0 = src[j0], x1 = src[j1];
				dst[j0] = (float)(x0 * cs - x1 * sn);
				dst[j1] = (float)(x0 * sn + x1 * cs);
			}
		}
}
