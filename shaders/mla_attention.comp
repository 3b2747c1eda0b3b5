// SPDX-License-Identifier: MIT
// mla_attention: multi-head latent attention in absorbed form over the latent cache (abi.h,
// mla_attn_params; docs/mla.md). Every query head attends to the same cache rows [c | k_pe]
// (C + R values per position): MQA with one latent "KV head" of width C + R whose value is its
// first C values. Per (token t, head h), with q_abs = W_UK[h]^T q_nope (attn_k_b, done before):
//   s_j = scale * (q_abs . c_j + q_pe . k_pe_j)        j <= p0 + t, j < n_kv
//   o_lat[t][h] = sum_j softmax(s)_j c_j               (W_UV[h] o_lat follows, through attn_v_b)
// A workgroup owns HB consecutive rows of the flattened (token, head) list (row = t * n_head + h)
// and one split of the KV range: each cache tile it loads serves all HB rows, once for the scores
// and once for the values (the same shared tile: c is both key and value). Online softmax as
// attention.comp; with n_split > 1 the splits write attention_combine.comp's partials (dv = C).
//
// Variants: -D KV_F16 (f16 cache; default f32). Spec constants: 0 workgroup size, 1 C (kv_lora),
// 2 R (rope dims), 3 HB (rows per workgroup), 4 BC (positions per tile), 5 TP (invocations per
// score when HB * BC is below the workgroup size). Masked scores are a finite sentinel.
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

layout(constant_id = 1) const uint C = 512;
layout(constant_id = 2) const uint R = 64;
layout(constant_id = 3) const uint HB = 16;
layout(constant_id = 4) const uint BC = 8;
layout(constant_id = 5) const uint TP = 1;

layout(binding = 0) readonly buffer QAb { float QA[]; };
layout(binding = 1) readonly buffer QPb { float QP[]; };
layout(binding = 2) readonly buffer Cacheb { KV_T CACHE[]; };
layout(binding = 3) readonly buffer Stepb { uint STEP[]; };
layout(binding = 4) writeonly buffer Ob { float O[]; };

layout(push_constant) uniform Params { mla_attn_params p; };

const float MASKED = -1.0e30;
const float IS_MASKED = -1.0e29;

const uint D = C + R;              // a cache row
const uint TS = D + 1u;            // tile row stride: +1 so the score loop's rows hit different banks
const uint OPT = (HB * C + WORKGROUP_SIZE - 1u) / WORKGROUP_SIZE; // outputs per invocation

shared float Qs[HB * D];           // the rows' [q_abs | q_pe], times scale
shared float Ts[BC * TS];          // a tile of cache rows
shared float Ss[HB * BC];          // scores, then probabilities
shared float Sp[WORKGROUP_SIZE];   // partial scores when TP > 1
shared float Ms[HB], Ls[HB], As[HB];

void main()
{
	uint tid = gl_LocalInvocationID.x, split = gl_WorkGroupID.z;
	uint H = p.n_head, M = p.n_q * H;
	uint row0 = gl_WorkGroupID.x * HB, row_end = min(row0 + HB, M);
	uint n_kv = min(STEP[p.step_offset], p.n_ctx), p0 = STEP[p.step_offset + 1u] + p.t_offset;

	// the causal end of the last row, then this split's BC-aligned slice of [0, hi)
	uint hi = min(n_kv, p0 + (row_end - 1u) / H + 1u);
	uint chunk = ((hi + p.n_split - 1u) / p.n_split + BC - 1u) / BC * BC;
	uint kv_lo = min(split * chunk, hi), kv_hi = min(hi, kv_lo + chunk);

	for (uint i = tid; i < HB * D; i += WORKGROUP_SIZE) {
		uint row = row0 + i / D, d = i % D;
		float q = 0.0;
		if (row < M) {
			uint t = row / H, h = row % H;
			q = d < C ? QA[p.qa_offset + t * p.qa_stride + h * C + d] : QP[p.qp_offset + t * p.qp_stride + h * R + d - C];
		}
		Qs[i] = q * p.scale;
	}
	for (uint r = tid; r < HB; r += WORKGROUP_SIZE) {
		Ms[r] = MASKED;
		Ls[r] = 0.0;
	}
	float acc[OPT];
	for (uint j = 0; j < OPT; j++) acc[j] = 0.0;
	barrier();

	for (uint kv0 = kv_lo; kv0 < kv_hi; kv0 += BC) {
		for (uint i = tid; i < BC * D; i += WORKGROUP_SIZE) {
			uint c = i / D, d = i % D, pos = kv0 + c;
			Ts[c * TS + d] = pos < kv_hi ? float(CACHE[p.cache_offset + pos * D + d]) : 0.0;
		}
		barrier();

		// scores, masked: row r's query sits at p0 + row / H
		if (TP == 1u) {
			for (uint i = tid; i < HB * BC; i += WORKGROUP_SIZE) {
				uint r = i / BC, c = i % BC, row = row0 + r, pos = kv0 + c;
				float s = 0.0;
				[[dont_unroll]] for (uint d = 0; d < D; d++) s += Qs[r * D + d] * Ts[c * TS + d];
				bool seen = row < M && pos < kv_hi && pos <= p0 + row / H;
				Ss[i] = seen ? s : MASKED;
			}
		} else {
			uint i = tid / TP, lane = tid % TP;
			float s = 0.0;
			if (i < HB * BC) {
				uint r = i / BC, c = i % BC;
				[[dont_unroll]] for (uint d = lane; d < D; d += TP) s += Qs[r * D + d] * Ts[c * TS + d];
			}
			Sp[tid] = s;
			barrier();
			if (tid < HB * BC) {
				uint r = tid / BC, c = tid % BC, row = row0 + r, pos = kv0 + c;
				s = 0.0;
				for (uint l = 0; l < TP; l++) s += Sp[tid * TP + l];
				bool seen = row < M && pos < kv_hi && pos <= p0 + row / H;
				Ss[tid] = seen ? s : MASKED;
			}
		}
		barrier();

		// online softmax per row
		for (uint r = tid; r < HB; r += WORKGROUP_SIZE) {
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
		barrier();

		// O = A*O + P c: the values are the tile's first C columns
		for (uint j = 0; j < OPT; j++) {
			uint i = j * WORKGROUP_SIZE + tid;
			if (i < HB * C) {
				uint r = i / C, d = i % C;
				float o = acc[j] * As[r];
				[[dont_unroll]] for (uint c = 0; c < BC; c++) o += Ss[r * BC + c] * Ts[c * TS + d];
				acc[j] = o;
			}
		}
		barrier();
	}

	for (uint j = 0; j < OPT; j++) {
		uint i = j * WORKGROUP_SIZE + tid, r = i / C, d = i % C, row = row0 + r;
		if (i >= HB * C || row >= M) continue;
		uint t = row / H, h = row % H;
		float m = Ms[r], l = Ls[r];
		if (p.n_split > 1u) {
			uint base = p.o_offset + ((split * p.n_q + t) * H + h) * (C + 2u);
			O[base + d] = acc[j];
			if (d == 0u) {
				O[base + C] = m;
				O[base + C + 1u] = l;
			}
		} else {
			O[p.o_offset + t * p.o_stride + h * C + d] = l > 0.0 ? acc[j] / l : 0.0;
		}
	}
}
