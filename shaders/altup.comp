// SPDX-License-Identifier: MIT
// altup: Gemma 3n's AltUp streams (docs/gemma3n.md; src/models/gemma3n.cpp), one shader in modes.
// Streams are stream-major: S[j][t][i], j < 4 streams, t < n_tok tokens, i < E.
//   PREDICT (one invocation per (t, i)):
//     C[t][j][k] = sum_m WP[4j + k][m] MOD[t][m];  PRED[j][t][i] = S[j][t][i] + sum_k C[t][j][k] S[k][t][i];
//     X[t][i] = PRED[0][t][i]   (the layer runs on it)
//   CORRECT (per (t, i)): c_j = sum_m WC[j][m] MOD[t][m] + 1   (A PRED, B MOD, C WC, D Y, F SCALE);
//     S[j][t][i] = PRED[j][t][i] + c_j (Y[t][i] - PRED[0][t][i]);  FP[t][i] = S[0][t][i] * SCALE[i]
//   INJECT (per (t, i)): S[j][t][i] += P[t][i] for j = 1..3
//   PLE (per element of [L][n][P]): INP[l][t][i] = (PROJ[t][l P + i] + PLE[t][l P + i]) / sqrt(2)
//   INIT (one workgroup per token): S[0][t] = X0[t];  S[k + 1][t] = Y[t][k] |X0[t]| / |Y[t][k]|, k < 3
//   MERGE (one workgroup per token): X[t] = (S[0][t] + sum_k U[k][t] |S[0][t]| / |U[k][t]|) / 4
// |.| is the L2 norm (ggml_sqrt(ggml_sum_rows(ggml_sqr))). The small coefficient matrices WP, WC are
// f32 (weights.c reads them as vectors). Variants: altup_predict, _correct, _inject, _ple, _init, _merge.
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require

#include "abi.h"
#include "common/index.glsl"

layout(binding = 0) readonly buffer A { float IA[]; };
layout(binding = 1) readonly buffer B { float IB[]; };
layout(binding = 2) readonly buffer C { float IC[]; };
layout(binding = 3) readonly buffer D { float ID[]; };
layout(binding = 4) readonly buffer F { float IF[]; };
layout(binding = 5) buffer Out { float O[]; };
layout(binding = 6) buffer Out2 { float O2[]; };

layout(push_constant) uniform Params { altup_params p; };

const uint MAX_SUBGROUPS = 64;
shared float partial[MAX_SUBGROUPS];

#if defined(INIT) || defined(MERGE)
// the sum of v over the workgroup, in every invocation
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

float row_norm(uint base, bool from_a)
{
	float ss = 0.0;
	for (uint i = gl_LocalInvocationID.x; i < p.E; i += WORKGROUP_SIZE) {
		float x = from_a ? IA[base + i] : IB[base + i];
		ss += x * x;
	}
	return sqrt(wg_sum(ss));
}
#endif

void main()
{
	// every mode keeps every binding (the host binds seven views whatever the mode reads): a branch
	// no push constant takes
	if (p.n_tok == 0xFFFFFFFFu) {
		O[0] = IA[0] + IB[0] + IC[0] + ID[0] + IF[0];
		O2[0] = 0.0;
		return;
	}
	uint E = p.E, n = p.n_tok;
	uint plane = n * E; // one stream of every token
#if defined(PREDICT) || defined(CORRECT) || defined(INJECT)
	uint e = flat_index();
	if (e >= plane) return;
	uint t = e / E, i = e - t * E;
#endif
#ifdef PREDICT
	float mod[4];
	for (uint m = 0; m < 4u; m++) mod[m] = IB[p.b_offset + t * 4u + m];
	float s[4];
	for (uint k = 0; k < 4u; k++) s[k] = IA[p.a_offset + k * plane + e];
	for (uint j = 0; j < 4u; j++) {
		float acc = s[j];
		for (uint k = 0; k < 4u; k++) {
			float c = 0.0;
			for (uint m = 0; m < 4u; m++) c += IC[p.c_offset + (4u * j + k) * 4u + m] * mod[m];
			acc += c * s[k];
		}
		O[p.out_offset + j * plane + e] = acc;
		if (j == 0u) O2[p.out2_offset + e] = acc;
	}
#elif defined(CORRECT)
	float innovation = ID[p.d_offset + e] - IA[p.a_offset + e];
	for (uint j = 0; j < 4u; j++) {
		float c = 0.0;
		for (uint m = 0; m < 4u; m++) c += IC[p.c_offset + j * 4u + m] * IB[p.b_offset + t * 4u + m];
		float v = (c + 1.0) * innovation + IA[p.a_offset + j * plane + e];
		O[p.out_offset + j * plane + e] = v;
		if (j == 0u) O2[p.out2_offset + e] = v * IF[p.f_offset + i];
	}
#elif defined(INJECT)
	float add = IA[p.a_offset + e];
	for (uint j = 1; j < 4u; j++) O[p.out_offset + j * plane + e] += add;
#elif defined(PLE)
	uint P = p.P, LP = p.L * P, f = flat_index();
	if (f >= LP * n) return;
	uint l = f / (n * P), r = f - l * n * P, t = r / P, i = r - t * P;
	O[p.out_offset + f] = (IA[p.a_offset + t * LP + l * P + i] + IB[p.b_offset + t * LP + l * P + i]) * p.scale;
#elif defined(INIT)
	uint t = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
	if (t >= n) return; // uniform across the workgroup
	float target = row_norm(p.a_offset + t * E, true);
	for (uint i = gl_LocalInvocationID.x; i < E; i += WORKGROUP_SIZE) O[p.out_offset + t * E + i] = IA[p.a_offset + t * E + i];
	for (uint k = 0; k < 3u; k++) {
		uint src = p.b_offset + (t * 3u + k) * E;
		float mag = row_norm(src, false);
		for (uint i = gl_LocalInvocationID.x; i < E; i += WORKGROUP_SIZE)
			O[p.out_offset + (k + 1u) * plane + t * E + i] = IB[src + i] * target / mag;
	}
#elif defined(MERGE)
	uint t = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
	if (t >= n) return;
	float target = row_norm(p.a_offset + t * E, true);
	float mag[3];
	for (uint k = 0; k < 3u; k++) mag[k] = row_norm(p.b_offset + k * plane + t * E, false);
	for (uint i = gl_LocalInvocationID.x; i < E; i += WORKGROUP_SIZE) {
		float v = IA[p.a_offset + t * E + i];
		for (uint k = 0; k < 3u; k++) v += IB[p.b_offset + k * plane + t * E + i] * target / mag[k];
		O[p.out_offset + t * E + i] = v * 0.25;
	}
#endif
}
