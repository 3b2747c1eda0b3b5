// SPDX-License-Identifier: MIT
// attn_prep: everything between a chunk's q, k, v projections and attention, in one dispatch
// (the separate kernels are rms_norm.comp per head, rope.comp on q and on k, kv_store.comp for
// k and for v: six dispatches, each a wake-up of llvmpipe's threads and a barrier on a GPU):
//   q head:  q = rope(rms_norm(q) * q_norm) * temp(pos)      written back in place
//   k head:  KC[row] = convert(rope(rms_norm(k) * k_norm))   row = STEP[step_offset + 1] + t
//   v head:  VC[row] = convert(v)
// norm and rope are each optional (push constants): Llama has no QK-norm, NoPE layers no RoPE.
// norm 2 is Llama 4's weightless "L2" norm, taken after RoPE as llama.cpp takes it:
//   q head:  q = rms_norm(rope(q)) * temp(pos),   k head:  KC[row] = convert(rms_norm(rope(k)))
// (RoPE keeps each pair's length, so before or after differ by rounding only; after is llama.cpp's
// order, and YaRN's magnitude would not survive a norm after it.)
// temp (temp_scale != 0, mistral3 and Llama 4) is llama.cpp's llm_graph_input_attn_temp, a factor
// per token that multiplies the rotated q (ggml_mul after ggml_rope_ext):
//   temp(pos) = log(floor((pos + temp_offset) / temp_floor) + 1) * temp_scale + 1
// llama.cpp divides in f32: for whole numbers below 2^24 the rounded quotient floors to the integer
// quotient, so integer division here gives the same floor; the log is f32 here, double there
// (the factor may differ by an ulp). Below the floor the factor is exactly 1.
// One workgroup per token and head slot (n_head q slots, n_head_kv k slots, n_head_kv v slots).
// The arithmetic is the separate kernels', in the same order: the sum of squares is rms_norm.comp's
// (the same strided loop, subgroupAdd, the subgroups' partials in order) when the host picks the
// workgroup size op_rms_norm would for head_dim_k; the angle is common/rope.glsl's. So on a device
// that does not contract a multiply and an add differently in the two shaders, the results are
// the separate kernels' to the bit (test_attn_prep).
// Variants: attn_prep_f16 (-D OUT_F16: f16 caches, rounded as kv_store_f16), attn_prep_f32.
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

layout(binding = 0) buffer Q { float QV[]; };
layout(binding = 1) readonly buffer K { float KV[]; };
layout(binding = 2) readonly buffer V { float VV[]; };
layout(binding = 3) readonly buffer QNorm { float QN[]; };
layout(binding = 4) readonly buffer KNorm { float KN[]; };
layout(binding = 5) readonly buffer Step { uint STEP[]; };
layout(binding = 6) readonly buffer Pos { int POS[]; };
layout(binding = 7) readonly buffer FreqFactors { float FF[]; };
layout(binding = 8) writeonly buffer KCache { OUT_T KC[]; };
layout(binding = 9) writeonly buffer VCache { OUT_T VC[]; };

layout(push_constant) uniform Params { attn_prep_params p; };

const uint MAX_SUBGROUPS = 64;
shared float partial[MAX_SUBGROUPS];

bool is_q;     // this workgroup's head is a q head (else a k head)
uint src;      // its first element in Q or K
float scale;   // 1 / rms of the head (1 without the norm)

// element j of the head after the norm: x * scale * w, as rms_norm.comp rounds it (norm 1; the
// others normalize, if at all, after RoPE)
float normed(uint j)
{
	float x = is_q ? QV[src + j] : KV[src + j];
	if (p.norm != 1u) return x;
	float w = is_q ? QN[p.qn_offset + j] : KN[p.kn_offset + j];
	return x * scale * w;
}

// the two elements of pair i
uint pair_first(uint i, uint half_rot)
{
	return i < half_rot ? (p.neox != 0u ? i : 2u * i) : 2u * half_rot + 2u * (i - half_rot);
}
uint pair_second(uint i, uint half_rot)
{
	return i < half_rot ? (p.neox != 0u ? i + half_rot : 2u * i + 1u) : pair_first(i, half_rot) + 1u;
}

// pair i of token t's head after the norm (norm 1) and RoPE
vec2 rotated(uint t, uint i, uint half_rot)
{
	float x0 = normed(pair_first(i, half_rot)), x1 = normed(pair_second(i, half_rot));
	if (i >= half_rot) return vec2(x0, x1);
	float ff = p.has_ff != 0u ? FF[p.ff_offset + i] : 1.0;
	vec2 cs = rope_cos_sin(i, POS[p.pos_offset + t], ff, p.theta_scale, p.freq_scale, p.ext_factor, p.corr_low,
	                       p.corr_high, p.mscale);
	return vec2(x0 * cs.x - x1 * cs.y, x0 * cs.y + x1 * cs.x);
}

void main()
{
	uint slots = p.n_head + 2u * p.n_head_kv;
	uint group = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
	if (group >= p.n_tokens * slots) return; // uniform across the workgroup
	uint t = group / slots, slot = group - t * slots, tid = gl_LocalInvocationID.x;
	uint row = STEP[p.step_offset + 1u] + t; // the token's cache row
	uint D = p.head_dim_k;

	if (slot >= p.n_head + p.n_head_kv) { // a v head: into the cache as it is (Gemma 3n: RMS-normed first)
		uint h = slot - p.n_head - p.n_head_kv, Dv = p.head_dim_v, width = p.n_head_kv * Dv;
		if (row >= p.n_ctx) return; // past the cache (the host never asks; a bad step value must not write)
		uint s = p.v_offset + t * width + h * Dv, d = p.vc_offset + row * width + h * Dv;
		float vs = 1.0;
		if (p.v_norm != 0u) { // uniform: every invocation reaches the barrier
			float ss = 0.0;
			for (uint i = tid; i < Dv; i += WORKGROUP_SIZE) ss += VV[s + i] * VV[s + i];
			ss = subgroupAdd(ss);
			if (subgroupElect()) partial[gl_SubgroupID] = ss;
			barrier();
			float total = 0.0;
			for (uint g = 0; g < gl_NumSubgroups; g++) total += partial[g];
			vs = 1.0 / sqrt(total / float(Dv) + p.eps);
		}
		for (uint i = tid; i < Dv; i += WORKGROUP_SIZE) VC[d + i] = OUT_T(p.v_norm != 0u ? VV[s + i] * vs : VV[s + i]);
		return;
	}
	is_q = slot < p.n_head;
	uint h = is_q ? slot : slot - p.n_head;
	if (!is_q && row >= p.n_ctx) return; // uniform: the workgroup's k head has no row to go to
	src = is_q ? p.q_offset + t * p.n_head * D + h * D : p.k_offset + t * p.n_head_kv * D + h * D;
	uint dst = is_q ? src : p.kc_offset + row * p.n_head_kv * D + h * D;

	// pairs as rope.comp: (i, i + n_rot/2) in NeoX mode, (2i, 2i+1) otherwise, for i < n_rot/2;
	// the dims past n_rot (all of them without RoPE) pass through in pairs. Each pair is read and
	// written by one invocation, so q can be rotated in place.
	uint half_rot = p.rope != 0u ? p.n_rot >> 1 : 0u;
	scale = 1.0;
	if (p.norm != 0u) { // uniform (a push constant), so the barrier is reached by every invocation
		float ss = 0.0;
		if (p.norm == 1u) {
			for (uint i = tid; i < D; i += WORKGROUP_SIZE) {
				float x = is_q ? QV[src + i] : KV[src + i];
				ss += x * x;
			}
		} else { // after RoPE: the rotated pairs' squares (each invocation reads only its own pairs)
			for (uint i = tid; i < D >> 1; i += WORKGROUP_SIZE) {
				vec2 y = rotated(t, i, half_rot);
				ss += y.x * y.x + y.y * y.y;
			}
		}
		ss = subgroupAdd(ss);
		if (subgroupElect()) partial[gl_SubgroupID] = ss;
		barrier();
		float total = 0.0;
		for (uint s = 0; s < gl_NumSubgroups; s++) total += partial[s];
		scale = 1.0 / sqrt(total / float(D) + p.eps);
	}

	float temp = 1.0;
	if (is_q && p.temp_scale != 0.0) {
		uint k = uint(max(POS[p.pos_offset + t] + int(p.temp_offset), 0)) / p.temp_floor;
		temp = log(float(k) + 1.0) * p.temp_scale + 1.0;
	}
	for (uint i = tid; i < D >> 1; i += WORKGROUP_SIZE) {
		uint j0 = pair_first(i, half_rot), j1 = pair_second(i, half_rot);
		vec2 y = rotated(t, i, half_rot);
		if (p.norm == 2u) y *= scale;
		float y0 = y.x, y1 = y.y;
		if (is_q) {
			QV[dst + j0] = y0 * temp;
			QV[dst + j1] = y1 * temp;
		} else {
			KC[dst + j0] = OUT_T(y0);
			KC[dst + j1] = OUT_T(y1);
		}
	}
}
