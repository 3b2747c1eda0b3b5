#include "eltwise_ref.h"

#include <math.h>
#include <stddef.h>

#include "loader/half.h"

void add_ref(float *out, const float *a, const float *b, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) out[i] = (float)((double)a[i] + b[i]);
}

void scale_ref(float *out, const float *in, uint32_t n, float scale)
{
	for (uint32_t i = 0; i < n; i++) out[i] = (float)((double)in[i] * scale);
}

void add_bias_ref(float *out, const float *in, const float *bias, uint32_t n, uint32_t n_rows)
{
	for (uint32_t r = 0; r < n_rows; r++)
		for (uint32_t i = 0; i < n; i++) out[(uint64_t)r * n + i] = (float)((double)in[(uint64_t)r * n + i] + bias[i]);
}

void softcap_ref(double *out, const float *in, uint32_t n, float cap)
{
	for (uint32_t i = 0; i < n; i++) out[i] = cap * tanh((double)in[i] / cap);
}

void add_gated_ref(double *out, const float *a, const float *b, const float *gate, uint32_t width, uint32_t n_rows)
{
	for (uint32_t r = 0; r < n_rows; r++) {
		double g = 1 / (1 + exp(-(double)gate[r]));
		for (uint32_t i = 0; i < width; i++) out[(size_t)r * width + i] = a[(size_t)r * width + i] + g * b[(size_t)r * width + i];
	}
}

void kv_store_ref(float *cache, const float *in, uint32_t n_tokens, uint32_t width, uint32_t in_stride,
                  uint32_t cache_stride, uint32_t p0, uint32_t n_ctx, bool to_f16)
{
	for (uint32_t t = 0; t < n_tokens && p0 + t < n_ctx; t++)
		for (uint32_t i = 0; i < width; i++) {
			float v = in[(uint64_t)t * in_stride + i];
			cache[(uint64_t)(p0 + t) * cache_stride + i] = to_f16 ? half_to_f32(f32_to_half(v)) : v;
		}
}
