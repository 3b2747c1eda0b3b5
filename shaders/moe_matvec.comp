// SPDX-License-Identifier: MIT
// moe_matvec: the expert matmuls of a MoE layer for a few tokens (decode): each assignment (token,
// slot) multiplies its token's (or its own) input by the matrix of the expert the router chose,
// read from the stacked expert tensor at the offset of that expert. Only the chosen experts' bytes
// are read: for Qwen3-30B-A3B 8 of 128 experts per token.
//   Y[a][r] (+)= sum_k W_{IDS[a]}[r][k] * X[a / x_div][k]     a < n_assign (gl_WorkGroupID.z)
// The loop is matvec.comp's decode loop (a workgroup owns ROWS rows, invocations walk 32-value
// units, subgroup then shared-memory reduction). Expert stacks larger than one binding are
// bound in parts of whole experts, one dispatch per part: a workgroup whose expert lies in
// another part returns at once.
// Variants: one per weight type (-D WTYPE_*). Spec constants: 0 workgroup size, 1 rows.
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_int16 : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#extension GL_EXT_control_flow_attributes : require

#include "abi.h"
#include "common/index.glsl"

layout(constant_id = 1) const uint ROWS = 1;

#ifdef WTYPE_F32
layout(binding = 0) readonly buffer Weights { float W[]; };
#else
layout(binding = 0) readonly buffer Weights { uint16_t W[]; };
#endif
layout(binding = 1) readonly buffer In { float X[]; };
layout(binding = 2) buffer Out { float Y[]; };
layout(binding = 3) readonly buffer Ids { uint IDS[]; };

layout(push_constant) uniform Params { moe_matvec_params p; };

#include "common/blocks.glsl"

const uint MAX_SUBGROUPS = 64;
shared float partial[MAX_SUBGROUPS * ROWS];

void main()
{
	uint group = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
	uint a = gl_WorkGroupID.z;
	uint e = IDS[p.ids_offset + a];
	if (e < p.first_expert || e - p.first_expert >= p.n_part) return; // uniform: another part's expert
	uint row0 = group * ROWS, tid = gl_LocalInvocationID.x, units = p.n_k / 32u;
	uint w_base = p.w_offset + (e - p.first_expert) * p.expert_bytes;
	uint x_base = p.x_offset + (a / p.x_div) * p.n_k;

	float acc[ROWS];
	for (uint r = 0; r < ROWS; r++) acc[r] = 0.0;
	for (uint u = tid; u < units; u += WORKGROUP_SIZE) {
		float xv[32];
		for (uint i = 0; i < 32u; i++) xv[i] = X[x_base + u * 32u + i];
		[[dont_unroll]] for (uint r = 0; r < ROWS; r++) {
			uint row = row0 + r;
			if (row >= p.n_rows) break;
			float v[32];
			decode_unit(w_base + row * p.row_bytes, u, v);
			float s = 0.0;
			for (uint i = 0; i < 32u; i++) s += v[i] * xv[i];
			acc[r] += s;
		}
	}

	for (uint r = 0; r < ROWS; r++) {
		float s = subgroupAdd(acc[r]);
		if (subgroupElect()) partial[gl_SubgroupID * ROWS + r] = s;
	}
	barrier();
	for (uint r = tid; r < ROWS; r += WORKGROUP_SIZE) {
		uint row = row0 + r;
		if (row >= p.n_rows) continue;
		float s = 0.0;
		for (uint sg = 0; sg < gl_NumSubgroups; sg++) s += partial[sg * ROWS + r];
		uint y = p.y_offset + a * p.n_rows + row;
		Y[y] = (p.accumulate != 0u ? Y[y] : 0.0) + s;
	}
}
