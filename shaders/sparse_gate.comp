// SPDX-License-Identifier: MIT
// sparse_gate: Gemma 3n's activation sparsity on its first FFN layers (gemma3n.cpp gaussian_topk), in
// place, one workgroup per row of n gate values:
//   mean = sum(g) / n;  std = sqrt(sum((g - mean)^2) / (n - 1));  g = max(g - (mean + std_mul * std), 0)
// std_mul 1.6448533535 (the normal's 95th percentile): about 5% of a row passes.
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require

#include "abi.h"
#include "common/index.glsl"

layout(binding = 0) buffer G { float GV[]; };

layout(push_constant) uniform Params { sparse_gate_params p; };

const uint MAX_SUBGROUPS = 64;
shared float partial[MAX_SUBGROUPS];

float wg_sum(float v)
{
	v = subgroupAdd(v);
	barrier();
	if (subgroupElect()) partial[gl_SubgroupID] = v;
	barrier();
	float total = 0.0;
	for (uint s = 0; s < gl_NumSubgroups; s++) total += partial[s];
	return total;
}

void main()
{
	uint r = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
	if (r >= p.n_rows) return; // uniform across the workgroup
	uint base = p.g_offset + r * p.n, tid = gl_LocalInvocationID.x;
	float s = 0.0;
	for (uint i = tid; i < p.n; i += WORKGROUP_SIZE) s += GV[base + i];
	float mean = wg_sum(s) / float(p.n);
	float v = 0.0;
	for (uint i = tid; i < p.n; i += WORKGROUP_SIZE) {
		float d = GV[base + i] - mean;
		v += d * d;
	}
	float cut = mean + sqrt(wg_sum(v) * (1.0 / float(p.n - 1u))) * p.std_mul;
	barrier();
	for (uint i = tid; i < p.n; i += WORKGROUP_SIZE) GV[base + i] = max(GV[base + i] - cut, 0.0);
}
