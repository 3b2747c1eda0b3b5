/* CPU reference for RMSNorm (ggml_rms_norm, then the weight multiply), float64 accumulation. */
#ifndef VKLLM_NORM_REF_H
#define VKLLM_NORM_REF_H

#include <stdint.h>

/* y[r][i] = x[r][i] / sqrt(mean_i(x[r][i]^2) + eps) * w[i]   (w NULL: no weight); rows `stride` apart */
void rms_norm_ref(float *y, const float *x, const float *w, uint32_t n, uint32_t n_rows, uint32_t stride, float eps);
/* sum = a + b (f32, as ggml_add), then y = rms_norm(sum) * w */
void rms_norm_add_ref(float *y, float *sum, const float *a, const float *b, const float *w, uint32_t n, uint32_t n_rows,
                      uint32_t stride, float eps);

#endif
