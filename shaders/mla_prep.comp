// SPDX-License-Identifier: MIT
// mla_prep: multi-head latent attention between the projections and attention (abi.h,
// mla_prep_params), one dispatch for a chunk:
//   KV slot:  CACHE[row] = [ rms_norm(c) * norm | rope(k_pe) ]   kv[t] = [c (C) | k_pe (R)], row = p0 + t
//   q head h: QN[t][h] = q_nope,  QP[t][h] = rope(q_pe)          q[t][h] = [q_nope (nope) | q_pe (R)]
// k_pe is one rope head shared by every query head and is never normed (deepseek2.cpp). The cache
// row is what absorbed attention reads: the normed latent c (the values, and with q_abs the nope
// half of every head's scores) and the rotated shared key. q_nope goes out contiguous, [t][h] rows
// of nope, for the per-head absorption through attn_k_b; q_pe rotated beside it. The decompressed
// form (q_in_place) wants q as it is with q_pe rotated inside it: then nothing goes to QN / QP.
// One workgroup per (token, slot): slot 0 the KV latent, slots 1..n_head the query heads.
// Variants: mla_prep_f16 (-D OUT_F16: an f16 cache), mla_prep_f32.
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#ifdef OUT_F16
#extension GL_EXT_shader_16bit_storage : require
#define OUT_T float16_t
#else
#define OUT_T float
#endif

#include "abi.h"
#include "common/index.glsl"
#include "common/rope.glsl"

layout(binding = 0) buffer Qb { float Q[]; };
layout(binding = 1) readonly buffer KVb { float KV[]; };
layout(binding = 2) readonly buffer Normb { float NORM[]; };
layout(binding = 3) readonly buffer Stepb { uint STEP[]; };
layout(binding = 4) readonly buffer Posb { int POS[]; };
layout(binding = 5) writeonly buffer Cacheb { OUT_T CACHE[]; };
layout(binding = 6) writeonly buffer QNb { float QN[]; };
layout(binding = 7) writeonly buffer QPb { float QP[]; };

layout(push_constant) uniform Params { mla_prep_params p; };

const uint MAX_SUBGROUPS = 64;
shared float partial[MAX_SUBGROUPS];

// pair i of the R rope dims at token t's position: (2i, 2i+1), or (i, i + R/2) in NeoX mode;
// without RoPE the pair passes through
vec2 rotate(uint i, uint t, float x0, float x1)
{
	if (p.rope == 0u) return vec2(x0, x1);
	vec2 cs = rope_cos_sin(i, POS[p.pos_offset + t], 1.0, p.theta_scale, p.freq_scale, p.ext_factor, p.corr_low,
	                       p.corr_high, p.mscale);
	return vec2(x0 * cs.x - x1 * cs.y, x0 * cs.y + x1 * cs.x);
}

uvec2 pair(uint i)
{
	uint half_r = p.n_pe >> 1;
	return p.neox != 0u ? uvec2(i, i + half_r) : uvec2(2u * i, 2u * i + 1u);
}

void main()
{
	uint slots = p.n_head + 1u;
	uint group = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
	if (group >= p.n_tokens * slots) return; // uniform across the workgroup
	uint t = group / slots, slot = group - t * slots, tid = gl_LocalInvocationID.x;
	uint C = p.kv_lora, R = p.n_pe;

	if (slot == 0u) {
		uint row = STEP[p.step_offset + 1u] + p.t_offset + t;
		if (row >= p.n_ctx) return; // uniform: no row to write (the host never asks)
		uint src = p.kv_offset + t * p.kv_stride, dst = p.cache_offset + row * (C + R);
		float ss = 0.0;
		for (uint i = tid; i < C; i += WORKGROUP_SIZE) ss += KV[src + i] * KV[src + i];
		ss = subgroupAdd(ss);
		if (subgroupElect()) partial[gl_SubgroupID] = ss;
		barrier();
		float total = 0.0;
		for (uint s = 0; s < gl_NumSubgroups; s++) total += partial[s];
		float scale = 1.0 / sqrt(total / float(C) + p.eps);
		for (uint i = tid; i < C; i += WORKGROUP_SIZE) CACHE[dst + i] = OUT_T(KV[src + i] * scale * NORM[p.norm_offset + i]);
		for (uint i = tid; i < R >> 1; i += WORKGROUP_SIZE) {
			uvec2 j = pair(i);
			vec2 y = rotate(i, t, KV[src + C + j.x], KV[src + C + j.y]);
			CACHE[dst + C + j.x] = OUT_T(y.x);
			CACHE[dst + C + j.y] = OUT_T(y.y);
		}
		return;
	}

	uint h = slot - 1u, nope = p.nope;
	uint src = p.q_offset + t * p.q_stride + h * (nope + R), a = t * p.n_head + h;
	if (p.q_in_place == 0u)
		for (uint i = tid; i < nope; i += WORKGROUP_SIZE) QN[p.qn_offset + a * nope + i] = Q[src + i];
	// each pair is read and written by one invocation, so q can be rotated in place
	for (uint i = tid; i < R >> 1; i += WORKGROUP_SIZE) {
		uvec2 j = pair(i);
		vec2 y = rotate(i, t, Q[src + nope + j.x], Q[src + nope + j.y]);
		if (p.q_in_place != 0u) {
			Q[src + nope + j.x] = y.x;
			Q[src + nope + j.y] = y.y;
		} else {
			QP[p.qp_offset + a * R + j.x] = y.x;
			QP[p.qp_offset + a * R + j.y] = y.y;
		}
	}
}
