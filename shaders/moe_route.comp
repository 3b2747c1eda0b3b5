// SPDX-License-Identifier: MIT
// moe_route: the router of a mixture-of-experts layer, one workgroup per token (llama.cpp's
// build_moe_ffn): from the token's n_exp logits,
//   probs     = softmax(logits) | sigmoid(logits) | logits | sigmoid(logits)
//               (GATING 0, 1, 2 = softmax after top-k, 3 = Llama 4's sigmoid)
//   selection = probs + bias (DeepSeek V3's noaux_tc correction: it moves the choice, not the weight);
//               GATING 3 selects on the raw logits (llama.cpp's build_moe_ffn for llama4): the same
//               order as the sigmoid's except where two large logits round to one sigmoid value
//   groups    = with n_group > 1, each group's score is the sum of its two best selection scores;
//               only the n_group_used best groups keep their experts (DeepSeek V3, Kimi K2)
//   ids       = the k best selection scores (the larger first, ties to the lower index)
//   weights   = probs[ids] (GATING 2: softmax over logits[ids]); with norm, divided by their sum
//               clamped at 2^-14 as llama.cpp clamps it; times scale.
// The router is small (n_exp <= 1024, k <= 32): shared memory holds the token's scores and one
// tree reduction per chosen expert finds it. Nothing leaves the device.
#version 450
#extension GL_GOOGLE_include_directive : require

#include "abi.h"
#include "common/index.glsl"

layout(constant_id = 1) const uint GATING = 0;
const uint MAX_EXP = 1024, MAX_K = 32, MAX_GROUPS = 64;

layout(binding = 0) readonly buffer Logits { float L[]; };
layout(binding = 1) readonly buffer Bias { float B[]; };
layout(binding = 2) writeonly buffer Ids { uint IDS[]; };
layout(binding = 3) writeonly buffer Weights { float WOUT[]; };

layout(push_constant) uniform Params { moe_route_params p; };

shared float s_prob[MAX_EXP], s_sel[MAX_EXP];
shared bool s_taken[MAX_EXP];
shared float r_val[WORKGROUP_SIZE];
shared uint r_idx[WORKGROUP_SIZE];
shared float s_group[MAX_GROUPS];
shared bool s_group_kept[MAX_GROUPS];
shared uint s_ids[MAX_K];

#define NEG_INF uintBitsToFloat(0xFF800000u)

bool better(float v, uint i, float bv, uint bi) { return v > bv || (v == bv && i < bi); }

// (value, index) of the best in r_val/r_idx, left in slot 0 (WORKGROUP_SIZE a power of two)
void reduce_best(uint li)
{
	for (uint s = WORKGROUP_SIZE / 2u; s > 0u; s >>= 1) {
		barrier();
		if (li < s && better(r_val[li + s], r_idx[li + s], r_val[li], r_idx[li])) {
			r_val[li] = r_val[li + s];
			r_idx[li] = r_idx[li + s];
		}
	}
	barrier();
}

float reduce_sum(uint li, float v)
{
	r_val[li] = v;
	for (uint s = WORKGROUP_SIZE / 2u; s > 0u; s >>= 1) {
		barrier();
		if (li < s) r_val[li] += r_val[li + s];
	}
	barrier();
	float total = r_val[0];
	barrier();
	return total;
}

void main()
{
	uint t = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
	if (t >= p.n_tok) return; // uniform across the workgroup
	uint li = gl_LocalInvocationID.x, E = p.n_exp;

	float mx = NEG_INF;
	for (uint e = li; e < E; e += WORKGROUP_SIZE) {
		float v = L[p.logits_offset + t * p.logits_stride + e];
		s_prob[e] = v;
		mx = max(mx, v);
	}
	if (GATING == 0u) {
		r_val[li] = mx;
		r_idx[li] = 0u;
		reduce_best(li);
		mx = r_val[0];
		barrier(); // every invocation has read the maximum before reduce_sum reuses r_val
		float part = 0.0;
		for (uint e = li; e < E; e += WORKGROUP_SIZE) {
			float x = exp(s_prob[e] - mx);
			s_prob[e] = x;
			part += x;
		}
		float sum = reduce_sum(li, part);
		for (uint e = li; e < E; e += WORKGROUP_SIZE) s_prob[e] /= sum;
	}
	for (uint e = li; e < E; e += WORKGROUP_SIZE) {
		float logit = s_prob[e];
		if (GATING == 1u || GATING == 3u) s_prob[e] = 1.0 / (1.0 + exp(-logit));
		s_sel[e] = (GATING == 3u ? logit : s_prob[e]) + (p.has_bias != 0u ? B[p.bias_offset + e] : 0.0);
		s_taken[e] = false;
	}
	barrier();

	if (p.n_group > 1u) {
		uint per = E / p.n_group;
		if (li < p.n_group) {
			float a = NEG_INF, b = NEG_INF; // the two best of the group
			for (uint e = li * per; e < (li + 1u) * per; e++) {
				float v = s_sel[e];
				if (v > a) b = a, a = v;
				else if (v > b) b = v;
			}
			s_group[li] = a + b;
			s_group_kept[li] = false;
		}
		barrier();
		if (li == 0u)
			for (uint j = 0; j < p.n_group_used; j++) {
				uint best = 0xFFFFFFFFu;
				float bv = NEG_INF;
				for (uint g = 0; g < p.n_group; g++)
					if (!s_group_kept[g] && better(s_group[g], g, bv, best)) bv = s_group[g], best = g;
				s_group_kept[best] = true;
			}
		barrier();
		for (uint e = li; e < E; e += WORKGROUP_SIZE)
			if (!s_group_kept[e / per]) s_sel[e] = NEG_INF;
		barrier();
	}

	for (uint j = 0; j < p.k; j++) {
		float bv = NEG_INF;
		uint bi = 0xFFFFFFFFu;
		for (uint e = li; e < E; e += WORKGROUP_SIZE)
			if (!s_taken[e] && better(s_sel[e], e, bv, bi)) bv = s_sel[e], bi = e;
		r_val[li] = bv;
		r_idx[li] = bi;
		reduce_best(li);
		if (li == 0u) {
			s_ids[j] = r_idx[0];
			s_taken[r_idx[0]] = true;
		}
		barrier();
	}

	if (li == 0u) {
		float w[MAX_K], sum = 0.0, wmx = NEG_INF;
		for (uint j = 0; j < p.k; j++) w[j] = s_prob[s_ids[j]], wmx = max(wmx, w[j]);
		if (GATING == 2u) {
			for (uint j = 0; j < p.k; j++) w[j] = exp(w[j] - wmx), sum += w[j];
			for (uint j = 0; j < p.k; j++) w[j] /= sum;
		}
		if (p.norm != 0u) {
			sum = 0.0;
			for (uint j = 0; j < p.k; j++) sum += w[j];
			sum = max(sum, 6.103515625e-5);
			for (uint j = 0; j < p.k; j++) w[j] /= sum;
		}
		for (uint j = 0; j < p.k; j++) {
			IDS[p.ids_offset + t * p.k + j] = s_ids[j];
			WOUT[p.w_offset + t * p.k + j] = w[j] * p.scale;
		}
	}
}
