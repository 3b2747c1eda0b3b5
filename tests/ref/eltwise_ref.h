/* CPU reference for the element-wise ops: f32 add (exact: one rounding, as the GPU), bias add,
 * scale, soft-capping, and the KV-cache store. */
#ifndef VKLLM_ELTWISE_REF_H
#define VKLLM_ELTWISE_REF_H

#include <stdbool.h>
#include <stdint.h>

void add_ref(float *out, const float *a, const float *b, uint32_t n);     /* out = a + b */
void scale_ref(float *out, const float *in, uint32_t n, float scale);     /* out = in * scale */

/* out[r][i] = in[r][i] + bias[i] */
void add_bias_ref(float *out, const float *in, const float *bias, uint32_t n, uint32_t n_rows);
/* out = cap * tanh(in / cap), in double */
void softcap_ref(double *out, const float *in, uint32_t n, float cap);
/* out[r][i] = a[r][i] + sigmoid(gate[r]) * b[r][i], in double (a shared expert's gated output) */
void add_gated_ref(double *out, const float *a, const float *b, const float *gate, uint32_t width, uint32_t n_rows);
/* cache rows p0 + t (< n_ctx) = in rows t, through f16 when to_f16 (round to nearest even) */
void kv_store_ref(float *cache, const float *in, uint32_t n_tokens, uint32_t width, uint32_t in_stride,
                  uint32_t cache_stride, uint32_t p0, uint32_t n_ctx, bool to_f16);

#endif
