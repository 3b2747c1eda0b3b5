// SPDX-License-Identifier: MIT
// eltwise: element-wise f32 arithmetic, one invocation per element.
//   ADD:     OUT[i] = A[i] + B[i % b_period]  (the residual add; b_period < n: a bias on every row)
//   SCALE:   OUT[i] = A[i] * scale            (Gemma's embedding scale, logit scales)
//   SOFTCAP: OUT[i] = scale * tanh(A[i] / scale) (Gemma's final logit soft-capping)
//   ADD_GATED: OUT[i] = A[i] + sigmoid(G[i / b_period]) * B[i]  (a shared expert's output, scaled
//            per token by its gate: qwen2moe; llama.cpp forms the sigmoid as silu(g) / g)
//   MUL_SIGMOID: OUT[i] = A[i] * sigmoid(B[i])   (a gated attention's output gate: qwen3next)
// In place (OUT the same memory as A or B) is allowed: each element is read and written by one
// invocation. Variants: add_f32 (-D ADD), scale_f32 (-D SCALE), softcap_f32 (-D SOFTCAP),
// add_gated_f32 (-D ADD_GATED), mul_sigmoid_f32 (-D MUL_SIGMOID).
#version 450
#extension GL_GOOGLE_include_directive : require

#include "abi.h"
#include "common/index.glsl"

layout(binding = 0) readonly buffer InA { float A[]; };
#if defined(ADD) || defined(ADD_GATED) || defined(MUL_SIGMOID)
layout(binding = 1) readonly buffer InB { float B[]; };
layout(binding = 2) buffer Out { float OUT[]; };
#ifdef ADD_GATED
layout(binding = 3) readonly buffer Gate { float G[]; };
#endif
#else
layout(binding = 1) buffer Out { float OUT[]; };
#endif

layout(push_constant) uniform Params { eltwise_params p; };

void main()
{
	uint i = flat_index();
	if (i >= p.n) return;
#ifdef ADD
	OUT[p.out_offset + i] = A[p.a_offset + i] + B[p.b_offset + i % p.b_period];
#elif defined(MUL_SIGMOID)
	OUT[p.out_offset + i] = A[p.a_offset + i] / (1.0 + exp(-B[p.b_offset + i]));
#elif defined(ADD_GATED)
	float g = 1.0 / (1.0 + exp(-G[p.g_offset + i / p.b_period]));
	OUT[p.out_offset + i] = A[p.a_offset + i] + g * B[p.b_offset + i];
#elif defined(SOFTCAP)
	// tanh of |x| >= 10 is 1 in f32; the clamp keeps drivers' exp-based tanh away from inf/inf
	OUT[p.out_offset + i] = p.scale * tanh(clamp(A[p.a_offset + i] / p.scale, -10.0, 10.0));
#else
	OUT[p.out_offset + i] = A[p.a_offset + i] * p.scale;
#endif
}
