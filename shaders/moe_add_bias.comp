// SPDX-License-Identifier: MIT
// moe_add_bias: per-expert biases on the expert matmuls' outputs (llama.cpp's ggml_add_id, which
// gpt-oss uses for its gate, up and down expert biases), one invocation per element:
//   Y[r][i] += BIAS[e][i],   e = IDS[a],  a = has_perm ? PERM[r] : r,   r < n_assign, i < n
// Rows in assignment order (the per-assignment matvecs: row a is assignment a) take no PERM; rows
// in expert order (the grouped GEMM) take op_moe_index's perm (position -> assignment). An id or a
// perm entry out of range leaves its row untouched, so bad routing never reads outside BIAS.
#version 450
#extension GL_GOOGLE_include_directive : require

#include "abi.h"
#include "common/index.glsl"

layout(binding = 0) buffer Out { float Y[]; };
layout(binding = 1) readonly buffer Bias { float BIAS[]; };
layout(binding = 2) readonly buffer Ids { uint IDS[]; };
layout(binding = 3) readonly buffer Perm { uint PERM[]; };

layout(push_constant) uniform Params { moe_add_bias_params p; };

void main()
{
	uint f = flat_index();
	if (f >= p.n_assign * p.n) return;
	uint r = f / p.n, i = f - r * p.n;
	uint a = p.has_perm != 0u ? PERM[p.perm_offset + r] : r;
	if (a >= p.n_assign) return;
	uint e = IDS[p.ids_offset + a];
	if (e >= p.n_exp) return;
	uint y = p.y_offset + r * p.n + i;
	Y[y] = Y[y] + BIAS[p.bias_offset + e * p.n + i];
}
