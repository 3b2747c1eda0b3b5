// SPDX-License-Identifier: MIT
// glu: gated linear units of the FFN, one invocation per output element.
//   OUT[r][c] = act(G[r][c]) * U[r][c]        c < n, r < n_rows
//   SWIGLU: act(g) = silu(g) = g / (1 + e^-g)
//   GEGLU:  act(g) = 0.5 g (1 + tanh(sqrt(2/pi) g (1 + 0.044715 g^2)))   (ggml_gelu_f32)
//   SWIGLU_OAI (gpt-oss, ggml_swiglu_oai with alpha 1.702, limit 7):
//           x = min(g, 7), y = clamp(u, -7, 7), OUT = x sigmoid(1.702 x) (y + 1)
// Gate and up come from separate buffers, or from one [n_rows][gate | up] buffer bound twice
// (the host sets the offsets and in_stride = 2n). Variants: swiglu_f32, geglu_f32, swiglu_oai_f32.
#version 450
#extension GL_GOOGLE_include_directive : require

#include "abi.h"
#include "common/index.glsl"

layout(binding = 0) readonly buffer Gate { float G[]; };
layout(binding = 1) readonly buffer Up { float U[]; };
layout(binding = 2) writeonly buffer Out { float OUT[]; };

layout(push_constant) uniform Params { glu_params p; };

#ifndef SWIGLU_OAI
float act(float g)
{
#ifdef SWIGLU
	return g / (1.0 + exp(-g));
#else
	const float SQRT_2_OVER_PI = 0.79788456080286535587989211986876, GELU_COEF_A = 0.044715;
	// tanh saturates to +-1 in f32 long before |t| = 10; the clamp keeps drivers that build
	// tanh from exp(2t) away from inf/inf (a NaN for large gates)
	float t = clamp(SQRT_2_OVER_PI * g * (1.0 + GELU_COEF_A * g * g), -10.0, 10.0);
	return 0.5 * g * (1.0 + tanh(t));
#endif
}
#endif

void main()
{
	uint i = flat_index();
	if (i >= p.n * p.n_rows) return;
	uint r = i / p.n, c = i - r * p.n;
	float g = G[p.gate_offset + r * p.in_stride + c];
	float u = U[p.up_offset + r * p.in_stride + c];
#ifdef SWIGLU_OAI
	// llama.cpp's alpha and limit (constants in build_moe_ffn); the gate is clamped only from
	// above, so a very negative gate gives x / (1 + inf) = -0, as ggml's CPU code does
	const float ALPHA = 1.702, LIMIT = 7.0;
	float x = min(g, LIMIT), y = clamp(u, -LIMIT, LIMIT);
	OUT[p.out_offset + r * p.out_stride + c] = x / (1.0 + exp(-ALPHA * x)) * (y + 1.0);
#else
	OUT[p.out_offset + r * p.out_stride + c] = act(g) * u;
#endif
}
