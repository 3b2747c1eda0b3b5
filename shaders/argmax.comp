// SPDX-License-Identifier: MIT
// argmax: the index of the largest value of each row (greedy sampling), in passes.
//   pass 1 (argmax_f32):        workgroup g of row r reduces X[r][g*chunk .. (g+1)*chunk) to (value, index)
//   merge (argmax_merge_f32):   the same over (value, index) candidates of the previous pass
// until one candidate per row is left (the host loops; 262144 values take two passes).
// Order: larger value first, then lower index (llama.cpp's greedy sampler keeps the first
// maximum); NaN counts as -inf. Padding is (-inf, 0xFFFFFFFF), which every real value beats.
// Reduction: per invocation, then subgroupMax / subgroupMin, then across subgroups in shared memory.
// Rows are gl_WorkGroupID.z; chunks of a row are the flat (x, y) workgroup index.
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require

#include "abi.h"
#include "common/index.glsl"

layout(binding = 0) readonly buffer InVal { float X[]; };
#ifdef MERGE
layout(binding = 1) readonly buffer InIdx { uint XI[]; };
layout(binding = 2) writeonly buffer OutVal { float OV[]; };
layout(binding = 3) writeonly buffer OutIdx { uint OI[]; };
#else
layout(binding = 1) writeonly buffer OutVal { float OV[]; };
layout(binding = 2) writeonly buffer OutIdx { uint OI[]; };
#endif

layout(push_constant) uniform Params { select_params p; };

const uint MAX_SUBGROUPS = 64;
shared float s_val[MAX_SUBGROUPS];
shared uint s_idx[MAX_SUBGROUPS];

#define NEG_INF uintBitsToFloat(0xFF800000u)

bool better(float v, uint i, float bv, uint bi) { return v > bv || (v == bv && i < bi); }

void main()
{
	uint g = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
	uint row = gl_WorkGroupID.z;
	uint begin = g * p.chunk;
	if (begin >= p.n) return; // a folded grid's spare groups
	uint end = min(p.n, begin + p.chunk);
	uint in_row = p.in_offset + row * p.in_stride;

	float bv = NEG_INF;
	uint bi = 0xFFFFFFFFu;
	for (uint e = begin + gl_LocalInvocationID.x; e < end; e += WORKGROUP_SIZE) {
		float v = X[in_row + e];
		if (isnan(v)) v = NEG_INF;
#ifdef MERGE
		uint i = XI[p.idx_offset + row * p.in_stride + e];
#else
		uint i = e;
#endif
		if (better(v, i, bv, bi)) bv = v, bi = i;
	}
	float m = subgroupMax(bv);
	uint mi = subgroupMin(bv == m ? bi : 0xFFFFFFFFu);
	if (subgroupElect()) {
		s_val[gl_SubgroupID] = m;
		s_idx[gl_SubgroupID] = mi;
	}
	barrier();
	if (gl_LocalInvocationID.x == 0u) {
		bv = s_val[0], bi = s_idx[0];
		for (uint s = 1; s < gl_NumSubgroups; s++)
			if (better(s_val[s], s_idx[s], bv, bi)) bv = s_val[s], bi = s_idx[s];
		OV[p.out_val_offset + row * p.out_stride + g] = bv;
		OI[p.out_idx_offset + row * p.out_stride + g] = bi;
	}
}
