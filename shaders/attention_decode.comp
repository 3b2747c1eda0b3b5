// SPDX-License-Identifier: MIT
// attention_decode: split-K decode attention (one token) for GPUs with an f16 KV cache: the same
// masks, partials and combine pass as attention.comp's split-K path (docs/attention.md), shaped
// for memory bandwidth instead of tiles in shared memory.
//
// attention.comp stages every K and V tile through shared memory as floats, 2-byte loads at a
// time, with barriers between scores, softmax and PV: on an H100 its decode reached 3.7% of the
// copy bandwidth over the cache (bench/RESULTS.md). Here the cache is read straight into
// registers, 16 bytes (8 halves) a lane: LK = D/8 neighbouring lanes hold one position's K row
// (a 128-dim head: 16 lanes, 256 contiguous bytes), every lane with its 8 dims of each of the G
// query heads that share the KV head, so one K load serves the whole group (GQA). The G partial
// dots meet in a shuffle-xor butterfly over the LK lanes (a clustered add needs a literal size). V likewise: LV = DV/8 lanes a row, each lane
// accumulating its 8 dims for the G heads in registers. Shared memory holds only the queries, a
// tile's probabilities and the final cross-subgroup sums.
//
// A workgroup owns one KV head and one split of the KV range (gl_WorkGroupID.y, .z), walked in
// tiles of TILE positions: scores -> per-head online softmax (one subgroup per head) -> PV. It
// writes the split's unnormalized (acc, max, sum) for attention_combine.comp, which also adds the
// sinks. Decode sees every cached key up to its own position, minus the window or chunk start.
// Spec constants: 0 workgroup size, 1 D, 2 DV (multiples of 8; D/8 and DV/8 powers of two up to
// the subgroup size), 3 G (query heads per KV head, up to 8), 4 TILE (a multiple of the
// workgroup's K row groups). The host (host/ops/attention.c) checks all of it and the 16-byte
// alignment of every K and V row.
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#extension GL_KHR_shader_subgroup_shuffle : require

#include "abi.h"
#include "common/index.glsl"

layout(constant_id = 1) const uint D = 128;
layout(constant_id = 2) const uint DV = 128;
layout(constant_id = 3) const uint G = 4;
layout(constant_id = 4) const uint TILE = 128;

layout(binding = 0) readonly buffer Qb { float Q[]; };
layout(binding = 1) readonly buffer Kb { uvec4 K[]; };
layout(binding = 2) readonly buffer Vb { uvec4 V[]; };
layout(binding = 3) readonly buffer Sinkb { float SINKS[]; }; // the combine pass adds the sinks
layout(binding = 4) readonly buffer Stepb { uint STEP[]; };
layout(binding = 5) writeonly buffer Ob { float O[]; };

layout(push_constant) uniform Params { attn_params p; };

const float MASKED = -1.0e30; // the running max of a head that saw nothing (as attention.comp)
const uint LK = D / 8u, LV = DV / 8u;
const uint MAX_SUBGROUPS = 32;

shared float Qs[G * D];
shared float Ps[G * TILE];                  // scores, then probabilities
shared float Ms[G], Ls[G], As[G];
shared float Red[MAX_SUBGROUPS * G * 8u];   // one subgroup's sums for 8 dims of every head, per pass

uint key_lo(uint pq)
{
	if (p.n_swa > 0u) return pq + 1u > p.n_swa ? pq + 1u - p.n_swa : 0u;
	if (p.n_chunk > 0u) return pq - pq % p.n_chunk;
	return 0u;
}

void unpack8(uvec4 w, out float v[8])
{
	[[unroll]] for (uint i = 0; i < 4u; i++) {
		vec2 h = unpackHalf2x16(w[i]);
		v[2u * i] = h.x;
		v[2u * i + 1u] = h.y;
	}
}

void main()
{
	uint tid = gl_LocalInvocationID.x;
	uint kvh = gl_WorkGroupID.y, split = gl_WorkGroupID.z;
	uint n_kv = min(STEP[p.step_offset], p.n_ctx), pq = STEP[p.step_offset + 1u];

	// this split's slice of the keys the token sees
	uint hi = min(n_kv, pq + 1u), lo = key_lo(pq);
	uint len = hi > lo ? hi - lo : 0u;
	uint chunk = ((len + p.n_split - 1u) / p.n_split + 7u) / 8u * 8u;
	uint kv_lo = min(lo + split * chunk, max(hi, lo)), kv_hi = min(hi, kv_lo + chunk);

	for (uint i = tid; i < G * D; i += WORKGROUP_SIZE)
		Qs[i] = Q[p.q_offset + (kvh * G + i / D) * D + i % D] * p.scale;
	if (tid < G) {
		Ms[tid] = MASKED;
		Ls[tid] = 0.0;
	}
	barrier();

	uint lk = tid % LK, grp_k = tid / LK, n_grp_k = WORKGROUP_SIZE / LK;
	uint lv = tid % LV, grp_v = tid / LV, n_grp_v = WORKGROUP_SIZE / LV;
	float q[G * 8u];
	[[unroll]] for (uint g = 0; g < G; g++)
		[[unroll]] for (uint i = 0; i < 8u; i++) q[g * 8u + i] = Qs[g * D + lk * 8u + i];
	float acc[G * 8u];
	[[unroll]] for (uint i = 0; i < G * 8u; i++) acc[i] = 0.0;
	uint k_row = p.k_offset / 8u + kvh * (p.k_head_stride / 8u) + lk, k_pos = p.k_pos_stride / 8u;
	uint v_row = p.v_offset / 8u + kvh * (p.v_head_stride / 8u) + lv, v_pos = p.v_pos_stride / 8u;

	for (uint t0 = kv_lo; t0 < kv_hi; t0 += TILE) {
		uint tn = min(TILE, kv_hi - t0);
		// scores: LK lanes a position; every lane of a subgroup runs the same number of rounds
		// (TILE is a multiple of the row groups), so the shuffles see whole clusters
		for (uint c = grp_k; c < TILE; c += n_grp_k) {
			float s[G];
			[[unroll]] for (uint g = 0; g < G; g++) s[g] = 0.0;
			if (c < tn) {
				float k[8];
				unpack8(K[k_row + (t0 + c) * k_pos], k);
				[[unroll]] for (uint g = 0; g < G; g++)
					[[unroll]] for (uint i = 0; i < 8u; i++) s[g] += q[g * 8u + i] * k[i];
			}
			[[unroll]] for (uint g = 0; g < G; g++) {
				float t = s[g];
				for (uint off = 1u; off < LK; off *= 2u) t += subgroupShuffleXor(t, off);
				if (p.softcap > 0.0) t = p.softcap * tanh(t / p.softcap);
				if (c < tn && g % LK == lk) Ps[g * TILE + c] = t;
			}
		}
		barrier();

		// online softmax, one subgroup per head
		for (uint g = gl_SubgroupID; g < G; g += gl_NumSubgroups) {
			float mx = MASKED;
			for (uint c = gl_SubgroupInvocationID; c < tn; c += gl_SubgroupSize) mx = max(mx, Ps[g * TILE + c]);
			mx = max(subgroupMax(mx), Ms[g]);
			float l = 0.0;
			for (uint c = gl_SubgroupInvocationID; c < tn; c += gl_SubgroupSize) {
				float e = exp(Ps[g * TILE + c] - mx);
				Ps[g * TILE + c] = e;
				l += e;
			}
			l = subgroupAdd(l);
			if (subgroupElect()) {
				float a = exp(Ms[g] - mx); // 0 while the head has seen nothing (MASKED)
				As[g] = a;
				Ls[g] = Ls[g] * a + l;
				Ms[g] = mx;
			}
		}
		barrier();

		// P V: LV lanes a position, each on its 8 dims of every head
		[[unroll]] for (uint g = 0; g < G; g++) {
			float a = As[g];
			[[unroll]] for (uint i = 0; i < 8u; i++) acc[g * 8u + i] *= a;
		}
		for (uint c = grp_v; c < tn; c += n_grp_v) {
			float v[8];
			unpack8(V[v_row + (t0 + c) * v_pos], v);
			[[unroll]] for (uint g = 0; g < G; g++) {
				float pr = Ps[g * TILE + c];
				[[unroll]] for (uint i = 0; i < 8u; i++) acc[g * 8u + i] += pr * v[i];
			}
		}
		barrier();
	}

	// the row groups' sums: within a subgroup by shuffles (groups LV lanes apart), then across
	// subgroups through shared memory, 8 dims of every head per pass
	for (uint off = LV; off < gl_SubgroupSize; off *= 2u)
		[[unroll]] for (uint i = 0; i < G * 8u; i++) acc[i] += subgroupShuffleXor(acc[i], off);
	uint sg_lane = gl_SubgroupInvocationID;
	uint base_h = kvh * G;
	for (uint pass = 0; pass < LV; pass++) {
		// pass: the lane (within the first row group of each subgroup) whose dims are summed now
		if (sg_lane == pass)
			[[unroll]] for (uint i = 0; i < G * 8u; i++) Red[(gl_SubgroupID * G * 8u) + i] = acc[i];
		barrier();
		for (uint i = tid; i < G * 8u; i += WORKGROUP_SIZE) {
			float s = 0.0;
			for (uint sg = 0; sg < gl_NumSubgroups; sg++) s += Red[sg * G * 8u + i];
			uint g = i / 8u, d = pass * 8u + i % 8u, h = base_h + g;
			uint base = p.o_offset + (split * p.n_head + h) * (DV + 2u);
			O[base + d] = s;
			if (d == 0u) {
				O[base + DV] = Ms[g];
				O[base + DV + 1u] = Ls[g];
			}
		}
		barrier();
	}
}
