// SPDX-License-Identifier: MIT
// attention: causal flash attention (online softmax, one pass over K/V tiles), for prefill chunks
// and, split over the KV range (flash-decoding), for decode. docs/attention.md is the full story.
//
//   out[t][h] = sum_k softmax_k(s[t][h][k]) V[k][h/G]        t < n_q, h < n_head, G = n_head/n_head_kv
//   s = scale * Q[t][h] . K[k][h/G]; softcapped (c*tanh(s/c)) when softcap > 0; then masked:
//   key k is seen by query t (at p_q = p0 + t) iff k < n_kv, k <= p_q and k >= key_lo(p_q): the window's
//   start p_q + 1 - n_swa (n_swa > 0), the chunk's start p_q - p_q % n_chunk (n_chunk > 0), else 0;
//   with sinks, sink[h] joins the softmax's max and denominator (no value, no scale).
//
// GQA/MQA: a workgroup owns one KV head and R consecutive rows of the flattened (token, head of
// the group) list, row = t*G + g. Every K/V tile it loads serves all R rows, so the G query heads
// of a group share each load (MQA: G = n_head). Decode (n_q = 1) is the same kernel with R = G.
// Per tile of BC positions: load K (shared) -> scores S[R][BC] -> per-row online softmax (running
// max M, sum L, rescale factor A) while V replaces K in shared -> O[R][DV] = A*O + P V, O in registers.
// Split-K (n_split > 1, gl_WorkGroupID.z = split): each split takes a BC-aligned slice of the rows'
// KV range and writes its unnormalized (acc, max, sum) for attention_combine.comp.
//
// Variants: -D KV_F16 (f16 cache; default f32). Spec constants: 0 workgroup size, 1 D (K head dim),
// 2 DV (V head dim), 3 R (rows per workgroup), 4 BC (KV positions per tile), 5 TP (invocations
// per score when R*BC < workgroup size; then R*BC*TP <= workgroup size). Masked scores are a
// finite sentinel, never -inf: drivers need not preserve infinities. The D and BC loops are
// [[dont_unroll]]: llvmpipe unrolled them fully and took 17 s to compile one d128 pipeline.
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#ifdef KV_F16
#extension GL_EXT_shader_16bit_storage : require
#define KV_T float16_t
#else
#define KV_T float
#endif

#include "abi.h"
#include "common/index.glsl"

layout(constant_id = 1) const uint D = 128;
layout(constant_id = 2) const uint DV = 128;
layout(constant_id = 3) const uint R = 16;
layout(constant_id = 4) const uint BC = 32;
layout(constant_id = 5) const uint TP = 1;

layout(binding = 0) readonly buffer Qb { float Q[]; };
layout(binding = 1) readonly buffer Kb { KV_T K[]; };
layout(binding = 2) readonly buffer Vb { KV_T V[]; };
layout(binding = 3) readonly buffer Sinkb { float SINKS[]; };
layout(binding = 4) readonly buffer Stepb { uint STEP[]; };
layout(binding = 5) writeonly buffer Ob { float O[]; };

layout(push_constant) uniform Params { attn_params p; };

const float MASKED = -1.0e30;   // a masked score, and the running max of a row that saw nothing
const float IS_MASKED = -1.0e29; // anything at or below this is masked

const uint TS = (D > DV ? D : DV) + 1u; // tile row stride: +1 so the score loop's rows hit different banks
const uint OPT = (R * DV + WORKGROUP_SIZE - 1u) / WORKGROUP_SIZE; // outputs per invocation

shared float Qs[R * D];       // the rows' queries, times scale
shared float KVs[BC * TS];    // the K tile, then the V tile
shared float Ss[R * BC];      // scores, then probabilities
shared float Sp[WORKGROUP_SIZE]; // partial scores when TP > 1
shared float Ms[R], Ls[R], As[R];

// the first key position the query at pq sees: sliding window or chunk start (never both: the host
// refuses it); nondecreasing in pq, so a workgroup's first row gives the start of its KV range
uint key_lo(uint pq)
{
	if (p.n_swa > 0u) return pq + 1u > p.n_swa ? pq + 1u - p.n_swa : 0u;
	if (p.n_chunk > 0u) return pq - pq % p.n_chunk;
	return 0u;
}

void main()
{
	uint tid = gl_LocalInvocationID.x;
	uint kvh = gl_WorkGroupID.y, split = gl_WorkGroupID.z;
	uint G = p.n_head / p.n_head_kv, M = p.n_q * G;
	uint row0 = gl_WorkGroupID.x * R, row_end = min(row0 + R, M);
	uint n_kv = min(STEP[p.step_offset], p.n_ctx), p0 = STEP[p.step_offset + 1u];

	// the KV range the rows need: causal end, window or chunk start; then this split's BC-aligned slice
	uint pmin = p0 + row0 / G, pmax = p0 + (row_end - 1u) / G;
	uint hi = min(n_kv, pmax + 1u);
	uint lo = key_lo(pmin);
	uint len = hi > lo ? hi - lo : 0u;
	uint chunk = ((len + p.n_split - 1u) / p.n_split + BC - 1u) / BC * BC;
	uint kv_lo = min(lo + split * chunk, max(hi, lo)), kv_hi = min(hi, kv_lo + chunk);

	for (uint i = tid; i < R * D; i += WORKGROUP_SIZE) {
		uint row = row0 + i / D;
		float q = 0.0;
		if (row < M) {
			uint t = row / G, h = kvh * G + row % G;
			q = Q[p.q_offset + t * p.q_stride + h * D + i % D] * p.scale;
		}
		Qs[i] = q;
	}
	for (uint r = tid; r < R; r += WORKGROUP_SIZE) {
		Ms[r] = MASKED;
		Ls[r] = 0.0;
	}
	float acc[OPT];
	for (uint j = 0; j < OPT; j++) acc[j] = 0.0;
	barrier();

	for (uint kv0 = kv_lo; kv0 < kv_hi; kv0 += BC) {
		// K tile
		for (uint i = tid; i < BC * D; i += WORKGROUP_SIZE) {
			uint c = i / D, d = i % D, pos = kv0 + c;
			KVs[c * TS + d] = pos < kv_hi ? float(K[p.k_offset + pos * p.k_pos_stride + kvh * p.k_head_stride + d]) : 0.0;
		}
		barrier();

		// scores, softcapped and masked
		if (TP == 1u) {
			for (uint i = tid; i < R * BC; i += WORKGROUP_SIZE) {
				uint r = i / BC, c = i % BC, row = row0 + r, pos = kv0 + c, pq = p0 + row / G;
				float s = 0.0;
				[[dont_unroll]] for (uint d = 0; d < D; d++) s += Qs[r * D + d] * KVs[c * TS + d];
				if (p.softcap > 0.0) s = p.softcap * tanh(s / p.softcap);
				bool seen = row < M && pos < kv_hi && pos <= pq && pos >= key_lo(pq);
				Ss[i] = seen ? s : MASKED;
			}
		} else {
			uint i = tid / TP, lane = tid % TP;
			float s = 0.0;
			if (i < R * BC) {
				uint r = i / BC, c = i % BC;
				[[dont_unroll]] for (uint d = lane; d < D; d += TP) s += Qs[r * D + d] * KVs[c * TS + d];
			}
			Sp[tid] = s;
			barrier();
			if (tid < R * BC) {
				uint r = tid / BC, c = tid % BC, row = row0 + r, pos = kv0 + c, pq = p0 + row / G;
				s = 0.0;
				for (uint l = 0; l < TP; l++) s += Sp[tid * TP + l];
				if (p.softcap > 0.0) s = p.softcap * tanh(s / p.softcap);
				bool seen = row < M && pos < kv_hi && pos <= pq && pos >= key_lo(pq);
				Ss[tid] = seen ? s : MASKED;
			}
		}
		barrier();

		// online softmax per row; meanwhile V replaces K
		for (uint r = tid; r < R; r += WORKGROUP_SIZE) {
			float m_old = Ms[r], mx = m_old;
			[[dont_unroll]] for (uint c = 0; c < BC; c++) mx = max(mx, Ss[r * BC + c]);
			float a = 1.0, l = Ls[r];
			if (mx > IS_MASKED) {
				a = m_old > IS_MASKED ? exp(m_old - mx) : 0.0;
				l *= a;
				[[dont_unroll]] for (uint c = 0; c < BC; c++) {
					float s = Ss[r * BC + c];
					float e = s > IS_MASKED ? exp(s - mx) : 0.0;
					Ss[r * BC + c] = e;
					l += e;
				}
			} else {
				[[dont_unroll]] for (uint c = 0; c < BC; c++) Ss[r * BC + c] = 0.0;
			}
			Ms[r] = mx;
			Ls[r] = l;
			As[r] = a;
		}
		for (uint i = tid; i < BC * DV; i += WORKGROUP_SIZE) {
			uint c = i / DV, d = i % DV, pos = kv0 + c;
			KVs[c * TS + d] = pos < kv_hi ? float(V[p.v_offset + pos * p.v_pos_stride + kvh * p.v_head_stride + d]) : 0.0;
		}
		barrier();

		// O = A*O + P V
		for (uint j = 0; j < OPT; j++) {
			uint i = j * WORKGROUP_SIZE + tid;
			if (i < R * DV) {
				uint r = i / DV, d = i % DV;
				float o = acc[j] * As[r];
				[[dont_unroll]] for (uint c = 0; c < BC; c++) o += Ss[r * BC + c] * KVs[c * TS + d];
				acc[j] = o;
			}
		}
		barrier();
	}

	for (uint j = 0; j < OPT; j++) {
		uint i = j * WORKGROUP_SIZE + tid, r = i / DV, d = i % DV, row = row0 + r;
		if (i >= R * DV || row >= M) continue;
		uint t = row / G, h = kvh * G + row % G;
		float m = Ms[r], l = Ls[r];
		if (p.n_split > 1u) {
			uint base = p.o_offset + ((split * p.n_q + t) * p.n_head + h) * (DV + 2u);
			O[base + d] = acc[j];
			if (d == 0u) {
				O[base + DV] = m;
				O[base + DV + 1u] = l;
			}
		} else {
			float f = 1.0;
			if (p.has_sinks != 0u) {
				float sink = SINKS[p.sink_offset + h], mx = max(m, sink);
				f = m > IS_MASKED ? exp(m - mx) : 0.0;
				l = l * f + exp(sink - mx);
			}
			O[p.o_offset + t * p.o_stride + h * DV + d] = l > 0.0 ? acc[j] * f / l : 0.0;
		}
	}
}
