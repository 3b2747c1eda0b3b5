/* CPU reference for the GLU activations (ggml_swiglu, ggml_geglu with the tanh gelu of
 * ggml_gelu_f32), float64. Note llama.cpp's CPU backend evaluates gelu from an f16 table
 * (GGML_GELU_FP16); this is the formula that table approximates, as its Vulkan backend computes. */
#ifndef VKLLM_GLU_REF_H
#define VKLLM_GLU_REF_H

#include <stdint.h>

double silu_ref(double g);      /* g / (1 + e^-g) */
double gelu_tanh_ref(double g); /* 0.5 g (1 + tanh(sqrt(2/pi) g (1 + 0.044715 g^2))) */
/* out[r][c] = act(gate[r*gate_stride + c]) * up[r*up_stride + c]; geglu 0 = swiglu, 1 = geglu */
void glu_ref(float *out, const float *gate, const float *up, uint32_t n, uint32_t n_rows, uint32_t in_stride, int geglu);

#endif
