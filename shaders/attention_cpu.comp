// SPDX-License-Identifier: MIT
// attention_cpu: attention.comp's math for decode-shaped chunks on CPU devices (lavapipe /
// llvmpipe); docs/attention.md ("Decode on CPU devices") has the measurements behind it.
//
// llvmpipe runs a subgroup of 8 invocations as one 8-wide SIMD program. Every SSBO load is a loop
// over the lanes with a bounds check per component (even when the address is the same on every
// lane), and every subgroup operation is a loop over the lanes too. So: one subgroup per workgroup
// (no shared memory, no barrier), K and V read as 64-bit words (4 f16 or 2 f32 values each), and
// the fewest cross-lane steps: lanes own dimensions, not positions.
//
// A workgroup owns one KV head, R rows (row = t*G + g, as in attention.comp) and, with split-K,
// one slice of the KV range, which it walks one position at a time. Lane l holds its D/8 slice of
// each row's query (scaled, in registers) and its DV/8 slice of each row's output accumulator:
// 1. it loads its slice of the position's K row and dots it with its query slices; one subgroupAdd
//    per row gives every lane the whole score;
// 2. the online softmax (running max m, sum l, rescale) then works on lane-uniform values;
// 3. it loads its slice of the V row and adds p * V to its accumulator slice.
// Every K and V word is loaded once and serves all R rows (the query heads of a GQA group share
// each load), and the accumulators are complete per lane: nothing to merge at the end.
// Output: final values (n_split = 1) or partials for attention_combine.comp, as attention.comp.
//
// Variants: -D KV_F16 (f16 cache; default f32). Spec constants: 0 workgroup size (= subgroup size,
// 8), 1 D and 2 DV (K and V head dims; 8 lanes' slices of whole 64-bit words), 3 R (rows per
// workgroup). The host guarantees every K/V row starts on an 8-byte boundary.
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#extension GL_EXT_control_flow_attributes : require

#include "abi.h"
#include "common/index.glsl"

layout(constant_id = 1) const uint D = 128;
layout(constant_id = 2) const uint DV = 128;
layout(constant_id = 3) const uint R = 4;

#ifdef KV_F16
const uint VPW = 4u; // cache values per 64-bit word
#else
const uint VPW = 2u;
#endif
const uint LANES = WORKGROUP_SIZE;
const uint SK = D / LANES;  // K (and query) dims per lane
const uint SV = DV / LANES; // V dims per lane

layout(binding = 0) readonly buffer Qb { float Q[]; };
layout(binding = 1) readonly buffer Kb { uint64_t K[]; };
layout(binding = 2) readonly buffer Vb { uint64_t V[]; };
layout(binding = 3) readonly buffer Sinkb { float SINKS[]; };
layout(binding = 4) readonly buffer Stepb { uint STEP[]; };
layout(binding = 5) writeonly buffer Ob { float O[]; };

layout(push_constant) uniform Params { attn_params p; };

const float MASKED = -1.0e30;
const float IS_MASKED = -1.0e29;

// value i (< VPW) of a cache word
float word_value(uint64_t w, uint i)
{
#ifdef KV_F16
	return unpackHalf2x16(uint(w >> (32u * (i / 2u))))[i % 2u];
#else
	return uintBitsToFloat(uint(w >> (32u * i)));
#endif
}

// the first key position the query at pq sees, as attention.comp: window start, chunk start or 0
uint key_lo(uint pq)
{
	if (p.n_swa > 0u) return pq + 1u > p.n_swa ? pq + 1u - p.n_swa : 0u;
	if (p.n_chunk > 0u) return pq - pq % p.n_chunk;
	return 0u;
}

void main()
{
	uint lane = gl_SubgroupInvocationID;
	uint kvh = gl_WorkGroupID.y, split = gl_WorkGroupID.z;
	uint G = p.n_head / p.n_head_kv, M = p.n_q * G;
	uint row0 = gl_WorkGroupID.x * R, row_end = min(row0 + R, M);
	uint n_kv = min(STEP[p.step_offset], p.n_ctx), p0 = STEP[p.step_offset + 1u];

	// the rows' KV range (causal end, window or chunk start) and this split's slice of it, as attention.comp
	uint pmin = p0 + row0 / G, pmax = p0 + (row_end - 1u) / G;
	uint hi = min(n_kv, pmax + 1u);
	uint lo = key_lo(pmin);
	uint len = hi > lo ? hi - lo : 0u;
	uint chunk = (len + p.n_split - 1u) / p.n_split;
	uint kv_lo = min(lo + split * chunk, max(hi, lo)), kv_hi = min(hi, kv_lo + chunk);

	// this lane's slice of the rows' queries, times scale (rows past M repeat the last row and are
	// never written: every lane stays on the same path)
	uint pq[R], klo[R]; // each row's position and first visible key
	float q[R * SK], m[R], l[R], acc[R * SV];
	[[unroll]] for (uint r = 0; r < R; r++) {
		uint row = min(row0 + r, M - 1u), t = row / G;
		uint qbase = p.q_offset + t * p.q_stride + (kvh * G + row % G) * D + lane * SK;
		[[unroll]] for (uint i = 0; i < SK; i++) q[r * SK + i] = Q[qbase + i] * p.scale;
		pq[r] = p0 + t;
		klo[r] = key_lo(pq[r]);
		m[r] = MASKED;
		l[r] = 0.0;
		[[unroll]] for (uint i = 0; i < SV; i++) acc[r * SV + i] = 0.0;
	}
	uint kw = (p.k_offset + kvh * p.k_head_stride + lane * SK) / VPW;
	uint vw = (p.v_offset + kvh * p.v_head_stride + lane * SV) / VPW;
	uint kstep = p.k_pos_stride / VPW, vstep = p.v_pos_stride / VPW;

	for (uint pos = kv_lo; pos < kv_hi; pos++) {
		float k[SK];
		[[unroll]] for (uint w = 0; w < SK / VPW; w++) {
			uint64_t x = K[kw + pos * kstep + w];
			[[unroll]] for (uint i = 0; i < VPW; i++) k[w * VPW + i] = word_value(x, i);
		}
		float pr[R];
		[[unroll]] for (uint r = 0; r < R; r++) {
			float part = 0.0;
			[[unroll]] for (uint i = 0; i < SK; i++) part += q[r * SK + i] * k[i];
			float s = subgroupAdd(part);
			if (p.softcap > 0.0) s = p.softcap * tanh(s / p.softcap);
			bool seen = row0 + r < M && pos <= pq[r] && pos >= klo[r];
			pr[r] = 0.0;
			if (seen) {
				if (s > m[r]) { // rescale to the new max (rare once the max has settled)
					float a = m[r] > IS_MASKED ? exp(m[r] - s) : 0.0;
					l[r] *= a;
					[[unroll]] for (uint i = 0; i < SV; i++) acc[r * SV + i] *= a;
					m[r] = s;
				}
				pr[r] = exp(s - m[r]);
				l[r] += pr[r];
			}
		}
		float v[SV];
		[[unroll]] for (uint w = 0; w < SV / VPW; w++) {
			uint64_t x = V[vw + pos * vstep + w];
			[[unroll]] for (uint i = 0; i < VPW; i++) v[w * VPW + i] = word_value(x, i);
		}
		[[unroll]] for (uint r = 0; r < R; r++)
			[[unroll]] for (uint i = 0; i < SV; i++) acc[r * SV + i] += pr[r] * v[i];
	}

	[[unroll]] for (uint r = 0; r < R; r++) {
		uint row = row0 + r;
		if (row >= M) break;
		uint t = row / G, h = kvh * G + row % G;
		if (p.n_split > 1u) {
			uint base = p.o_offset + ((split * p.n_q + t) * p.n_head + h) * (DV + 2u);
			[[unroll]] for (uint i = 0; i < SV; i++) O[base + lane * SV + i] = acc[r * SV + i];
			if (lane == 0u) {
				O[base + DV] = m[r];
				O[base + DV + 1u] = l[r];
			}
		} else {
			float f = 1.0, lsum = l[r];
			if (p.has_sinks != 0u) {
				float sink = SINKS[p.sink_offset + h], mx = max(m[r], sink);
				f = m[r] > IS_MASKED ? exp(m[r] - mx) : 0.0;
				lsum = lsum * f + exp(sink - mx);
			}
			uint base = p.o_offset + t * p.o_stride + h * DV + lane * SV;
			[[unroll]] for (uint i = 0; i < SV; i++) O[base + i] = lsum > 0.0 ? acc[r * SV + i] * f / lsum : 0.0;
		}
	}
}
