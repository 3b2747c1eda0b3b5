// SPDX-License-Identifier: MIT
// gdn_gated_norm: gated DeltaNet's output norm, "norm before gate" (qwen3next build_norm_gated,
// kimi-linear's sigmoid form), one workgroup per row of n:
//   Y[r][i] = X[r][i] / sqrt(mean(X[r]^2) + eps) * W[i] * gate(Z[r][i]),  gate = silu or sigmoid
// Rows are packed (row r at r * n) in X, Z and Y; W [n] is shared by all rows (heads and tokens).
// Sum of squares in f32 as rms_norm.comp. Y may alias X (each element read, then written, by one
// invocation).
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require

#include "abi.h"
#include "common/index.glsl"

layout(binding = 0) readonly buffer In { float X[]; };
layout(binding = 1) readonly buffer Gate { float Z[]; };
layout(binding = 2) readonly buffer Weight { float W[]; };
layout(binding = 3) buffer Out { float Y[]; };

layout(push_constant) uniform Params { gdn_norm_params p; };

const uint MAX_SUBGROUPS = 64;
shared float partial[MAX_SUBGROUPS];

void main()
{
	uint row = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
	if (row >= p.n_rows) return; // uniform across the workgroup
	uint tid = gl_LocalInvocationID.x, base = row * p.n;
	float ss = 0.0;
	for (uint i = tid; i < p.n; i += WORKGROUP_SIZE) {
		float x = X[p.x_offset + base + i];
		ss += x * x;
	}
	ss = subgroupAdd(ss);
	if (subgroupElect()) partial[gl_SubgroupID] = ss;
	barrier();
	float total = 0.0;
	for (uint s = 0; s < gl_NumSubgroups; s++) total += partial[s];
	float scale = 1.0 / sqrt(total / float(p.n) + p.eps);
	for (uint i = tid; i < p.n; i += WORKGROUP_SIZE) {
		float z = Z[p.z_offset + base + i];
		float gate = p.sigmoid_gate != 0u ? 1.0 / (1.0 + exp(-z)) : z / (1.0 + exp(-z));
		Y[p.y_offset + base + i] = X[p.x_offset + base + i] * scale * W[p.w_offset + i] * gate;
	}
}
