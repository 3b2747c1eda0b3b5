// SPDX-License-Identifier: MIT
// rms_norm: one workgroup per row (ggml_rms_norm followed by the weight multiply).
//   x = X[r]                      or, FUSED_ADD: x = A[r] + B[r], also written to SUM[r]
//   Y[r][i] = x[i] / sqrt(mean(x^2) + eps) * W[i]     (W optional: has_weight = 0 leaves it out)
// Rows are `stride` elements apart in every buffer; W has n elements shared by all rows, so a
// per-head norm (QK-norm) is this kernel with n = head_dim and n_rows = tokens * heads.
// The sum of squares is f32: per invocation, then subgroupAdd, then across subgroups in shared
// memory. In place is allowed (Y = X, SUM = A or B): every element is read and written by the
// same invocation, and the second pass reads x back from SUM (not from A, which SUM may alias).
// Variants: rms_norm_f32, rms_norm_add_f32 (-D FUSED_ADD).
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require

#include "abi.h"
#include "common/index.glsl"

#ifdef FUSED_ADD
layout(binding = 0) readonly buffer InA { float X[]; };
layout(binding = 1) readonly buffer InB { float B[]; };
layout(binding = 2) readonly buffer Weight { float W[]; };
layout(binding = 3) buffer Sum { float SUM[]; };
layout(binding = 4) buffer Out { float Y[]; };
#else
layout(binding = 0) readonly buffer In { float X[]; };
layout(binding = 1) readonly buffer Weight { float W[]; };
layout(binding = 2) buffer Out { float Y[]; };
#endif

layout(push_constant) uniform Params { rms_norm_params p; };

const uint MAX_SUBGROUPS = 64;
shared float partial[MAX_SUBGROUPS];

void main()
{
	uint row = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
	if (row >= p.n_rows) return; // uniform across the workgroup
	uint tid = gl_LocalInvocationID.x;
	uint base = row * p.stride;

	float ss = 0.0;
	for (uint i = tid; i < p.n; i += WORKGROUP_SIZE) {
#ifdef FUSED_ADD
		float x = X[p.x_offset + base + i] + B[p.b_offset + base + i];
		SUM[p.sum_offset + base + i] = x;
#else
		float x = X[p.x_offset + base + i];
#endif
		ss += x * x;
	}
	ss = subgroupAdd(ss);
	if (subgroupElect()) partial[gl_SubgroupID] = ss;
	barrier();
	float total = 0.0;
	for (uint s = 0; s < gl_NumSubgroups; s++) total += partial[s];
	float scale = 1.0 / sqrt(total / float(p.n) + p.eps);

	for (uint i = tid; i < p.n; i += WORKGROUP_SIZE) {
#ifdef FUSED_ADD
		float x = SUM[p.sum_offset + base + i];
#else
		float x = X[p.x_offset + base + i];
#endif
		float w = p.has_weight != 0u ? W[p.w_offset + i] : 1.0;
		Y[p.y_offset + base + i] = x * scale * w;
	}
}
