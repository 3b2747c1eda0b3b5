/* CPU reference for the GLU activations (ggml_swiglu, ggml_geglu with the tanh gelu of
 * ggml_gelu_f32), float64. Note llama.cpp's CPU backend evaluates gelu from an f16 table
 * (GGML_GELU_FP16); this is the formula that table approximates, as its Vulkan backend computes. */
#ifndef VKLLM_GLU_REF_H
#define VKLLM_GLU_REF_H

#include <stdint.h>

double silu_ref(double g);      /* g / (1 + e^-g) */
double gelu_tanh_ref(double g); /* 0.5 g (1 + tanh(sqrt(2/pi) g (1 + 0.044715 g^2))) */
/* gpt-oss's clamped SwiGLU (ggml_swiglu_oai with llama.cpp's alpha 1.702 and limit 7): x = min(gate, 7),
 * y = clamp(up, -7, 7), x * sigmoid(1.702 x) * (y + 1). Takes up too: the clamp is on both. alpha is
 * the f32 constant 1.702f, as ggml multiplies by it in f32. */
double swiglu_oai_ref(double gate, double up);
#define GLU_REF_SWIGLU 0
#define GLU_REF_GEGLU 1
#define GLU_REF_SWIGLU_OAI 2
/* out[r][c] = act(gate[r*in_stride + c], up[r*in_stride + c]); kind GLU_REF_* (0 swiglu, 1 geglu,
 * 2 swiglu_oai: the same order as enum glu_kind) */
void glu_ref(float *out, const float *gate, const float *up, uint32_t n, uint32_t n_rows, uint32_t in_stride, int kind);

#endif
