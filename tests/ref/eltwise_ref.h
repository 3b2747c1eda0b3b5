/* CPU reference for the element-wise ops: f32 add (exact: one rounding, as the GPU) and scale. */
#ifndef VKLLM_ELTWISE_REF_H
#define VKLLM_ELTWISE_REF_H

#include <stdint.h>

void add_ref(float *out, const float *a, const float *b, uint32_t n);     /* out = a + b */
void scale_ref(float *out, const float *in, uint32_t n, float scale);     /* out = in * scale */

#endif
