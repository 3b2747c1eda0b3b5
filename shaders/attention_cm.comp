// SPDX-License-Identifier: MIT
// attention_cm: attention.comp's causal flash attention for prefill chunks, with the two products
// on the device's matrix units (VK_KHR_cooperative_matrix): S = Q K^T and O += P V. Same rows,
// masks, sinks and output as attention.comp (docs/attention.md); f16 KV cache only.
//
// A workgroup owns one KV head and R consecutive rows of the flattened (token, head of the group)
// list (row = t*G + g, so the G query heads of a group share every K/V tile). Per tile of BC key
// positions:
//   1. the K tile to shared memory (f16, as cached);
//   2. S = Q K^T: the 4 subgroups in a 2 x 2 grid, each an (R/2) x (BC/2) quarter of CM x CN f32
//      accumulators over D in CK steps; S to shared memory;
//   3. per row (one invocation each): scores softcapped and masked, the online softmax's running
//      max M and sum L, the rescale A of what O holds, and P = exp(S - M) as f16;
//   4. the V tile replaces K, and O's rows are scaled by A;
//   5. O += P V: each subgroup loads its (R/2) x (DV/2) quarter of O (f32, shared memory) into
//      accumulators, adds P V over the tile in CK steps, and stores it back.
// O lives in shared memory rather than in accumulators because a row's rescale needs to know
// which accumulator element is which row, and the cooperative-matrix layout does not say.
// Q (times the scale) and P are each held as two f16 parts (x = hi + lo, about 22 bits) and each
// product takes both: S = hi K^T + lo K^T, O += hi V + lo V. K and V are exact, being f16 in the
// cache, and sums are f32. With one f16 each, test_forward_gpu on Mesa 26's lavapipe moved
// OLMo 2's and Gemma 3's logits by 0.4-0.5% and Gemma 3n's by 1.3%, over their 0.3% bound.
//
// Shared rows are padded to keep coopMatLoad's 16-byte alignment and spread the banks. Spec
// constants: 0 workgroup size (4 subgroups), 1 D, 2 DV, 3 R, 4 BC, 5 CM, 6 CN, 7 CK; the host
// (host/ops/attention.c) picks R and BC to fit shared memory and checks every divisibility.
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require

#include "abi.h"
#include "common/index.glsl"

layout(constant_id = 1) const uint D = 128;
layout(constant_id = 2) const uint DV = 128;
layout(constant_id = 3) const uint R = 32;
layout(constant_id = 4) const uint BC = 32;
layout(constant_id = 5) const uint CM = 16;
layout(constant_id = 6) const uint CN = 16;
layout(constant_id = 7) const uint CK = 16;

layout(binding = 0) readonly buffer Qb { float Q[]; };
layout(binding = 1) readonly buffer Kb { float16_t K[]; };
layout(binding = 2) readonly buffer Vb { float16_t V[]; };
layout(binding = 3) readonly buffer Sinkb { float SINKS[]; };
layout(binding = 4) readonly buffer Stepb { uint STEP[]; };
layout(binding = 5) writeonly buffer Ob { float O[]; };

layout(push_constant) uniform Params { attn_params p; };

const float MASKED = -1.0e30;
const float IS_MASKED = -1.0e29;

const uint DMAX = D > DV ? D : DV;
const uint LQ = D + 8u, LKV = DMAX + 8u, LP = BC + 8u; // f16 row strides
const uint LS = BC + 4u, LO = DV + 4u;                  // f32 row strides
shared float16_t Qs[R * LQ], Qlo[R * LQ]; // q*scale = Qs + Qlo
shared float16_t KVs[BC * LKV]; // the K tile ([pos][d]), then the V tile
shared float Ss[R * LS];
shared float16_t Ps[R * LP], Plo[R * LP]; // probabilities = Ps + Plo
shared float Os[R * LO];
shared float Ms[R], Ls[R], As[R];

uint key_lo(uint pq)
{
	if (p.n_swa > 0u) return pq + 1u > p.n_swa ? pq + 1u - p.n_swa : 0u;
	if (p.n_chunk > 0u) return pq - pq % p.n_chunk;
	return 0u;
}

void main()
{
	uint tid = gl_LocalInvocationID.x;
	uint kvh = gl_WorkGroupID.y;
	uint G = p.n_head / p.n_head_kv, M = p.n_q * G;
	uint row0 = gl_WorkGroupID.x * R, row_end = min(row0 + R, M);
	uint n_kv = min(STEP[p.step_offset], p.n_ctx), p0 = STEP[p.step_offset + 1u];
	uint sg = gl_SubgroupID, sg_m = sg & 1u, sg_n = sg >> 1;

	// the KV range the rows need (attention.comp's, without splits)
	uint pmin = p0 + row0 / G, pmax = p0 + (row_end - 1u) / G;
	uint kv_hi = min(n_kv, pmax + 1u), kv_lo = key_lo(pmin);

	for (uint i = tid; i < R * D; i += WORKGROUP_SIZE) {
		uint r = i / D, d = i % D, row = row0 + r;
		float q = 0.0;
		if (row < M) {
			uint t = row / G, h = kvh * G + row % G;
			q = Q[p.q_offset + t * p.q_stride + h * D + d] * p.scale;
		}
		float16_t hi = float16_t(clamp(q, -65504.0, 65504.0));
		Qs[r * LQ + d] = hi;
		Qlo[r * LQ + d] = float16_t(q - float(hi));
	}
	for (uint i = tid; i < R * DV; i += WORKGROUP_SIZE) Os[(i / DV) * LO + i % DV] = 0.0;
	for (uint r = tid; r < R; r += WORKGROUP_SIZE) {
		Ms[r] = MASKED;
		Ls[r] = 0.0;
	}
	barrier();

	for (uint kv0 = kv_lo; kv0 < kv_hi; kv0 += BC) {
		// 1. K tile (positions past the range read as 0; their scores are masked)
		for (uint i = tid; i < BC * D; i += WORKGROUP_SIZE) {
			uint c = i / D, d = i % D, pos = kv0 + c;
			KVs[c * LKV + d] = pos < kv_hi ? K[p.k_offset + pos * p.k_pos_stride + kvh * p.k_head_stride + d] : float16_t(0.0);
		}
		barrier();

		// 2. S = Q K^T, a quarter per subgroup; K^T is the K tile read column-major
		{
			const uint FM = R / 2u / CM, FN = BC / 2u / CN;
			coopmat<float, gl_ScopeSubgroup, CM, CN, gl_MatrixUseAccumulator> s[FM * FN];
			[[unroll]] for (uint i = 0; i < FM * FN; i++)
				s[i] = coopmat<float, gl_ScopeSubgroup, CM, CN, gl_MatrixUseAccumulator>(0.0);
			for (uint k = 0; k < D; k += CK) {
				[[unroll]] for (uint fm = 0; fm < FM; fm++) {
					coopmat<float16_t, gl_ScopeSubgroup, CM, CK, gl_MatrixUseA> a, a_lo;
					uint qo = (sg_m * (R / 2u) + fm * CM) * LQ + k;
					coopMatLoad(a, Qs, qo, LQ, gl_CooperativeMatrixLayoutRowMajor);
					coopMatLoad(a_lo, Qlo, qo, LQ, gl_CooperativeMatrixLayoutRowMajor);
					[[unroll]] for (uint fn = 0; fn < FN; fn++) {
						coopmat<float16_t, gl_ScopeSubgroup, CK, CN, gl_MatrixUseB> b;
						coopMatLoad(b, KVs, (sg_n * (BC / 2u) + fn * CN) * LKV + k, LKV, gl_CooperativeMatrixLayoutColumnMajor);
						s[fm * FN + fn] = coopMatMulAdd(a_lo, b, coopMatMulAdd(a, b, s[fm * FN + fn]));
					}
				}
			}
			[[unroll]] for (uint fm = 0; fm < FM; fm++)
				[[unroll]] for (uint fn = 0; fn < FN; fn++)
					coopMatStore(s[fm * FN + fn], Ss, (sg_m * (R / 2u) + fm * CM) * LS + sg_n * (BC / 2u) + fn * CN, LS,
					             gl_CooperativeMatrixLayoutRowMajor);
		}
		barrier();

		// 3. online softmax, one invocation per row
		for (uint r = tid; r < R; r += WORKGROUP_SIZE) {
			uint row = row0 + r, pq = p0 + row / G;
			float m_old = Ms[r], mx = m_old;
			for (uint c = 0; c < BC; c++) {
				uint pos = kv0 + c;
				float s = Ss[r * LS + c];
				if (p.softcap > 0.0) s = p.softcap * tanh(s / p.softcap);
				bool seen = row < M && pos < kv_hi && pos <= pq && pos >= key_lo(pq);
				s = seen ? s : MASKED;
				Ss[r * LS + c] = s;
				mx = max(mx, s);
			}
			float a = 1.0, l = Ls[r];
			if (mx > IS_MASKED) {
				a = m_old > IS_MASKED ? exp(m_old - mx) : 0.0;
				l *= a;
				for (uint c = 0; c < BC; c++) {
					float s = Ss[r * LS + c];
					float e = s > IS_MASKED ? exp(s - mx) : 0.0;
					float16_t hi = float16_t(e);
					Ps[r * LP + c] = hi;
					Plo[r * LP + c] = float16_t(e - float(hi));
					l += e;
				}
			} else {
				for (uint c = 0; c < BC; c++) Ps[r * LP + c] = Plo[r * LP + c] = float16_t(0.0);
			}
			Ms[r] = mx;
			Ls[r] = l;
			As[r] = a;
		}
		barrier();

		// 4. V replaces K; O's rows take their rescale
		for (uint i = tid; i < BC * DV; i += WORKGROUP_SIZE) {
			uint c = i / DV, d = i % DV, pos = kv0 + c;
			KVs[c * LKV + d] = pos < kv_hi ? V[p.v_offset + pos * p.v_pos_stride + kvh * p.v_head_stride + d] : float16_t(0.0);
		}
		for (uint i = tid; i < R * DV; i += WORKGROUP_SIZE) Os[(i / DV) * LO + i % DV] *= As[i / DV];
		barrier();

		// 5. O += P V, a quarter of O per subgroup
		{
			const uint FM = R / 2u / CM, FN = DV / 2u / CN;
			[[unroll]] for (uint fm = 0; fm < FM; fm++) {
				[[unroll]] for (uint fn = 0; fn < FN; fn++) {
					uint o = (sg_m * (R / 2u) + fm * CM) * LO + sg_n * (DV / 2u) + fn * CN;
					coopmat<float, gl_ScopeSubgroup, CM, CN, gl_MatrixUseAccumulator> acc;
					coopMatLoad(acc, Os, o, LO, gl_CooperativeMatrixLayoutRowMajor);
					for (uint k = 0; k < BC; k += CK) {
						coopmat<float16_t, gl_ScopeSubgroup, CM, CK, gl_MatrixUseA> a, a_lo;
						coopmat<float16_t, gl_ScopeSubgroup, CK, CN, gl_MatrixUseB> b;
						uint po = (sg_m * (R / 2u) + fm * CM) * LP + k;
						coopMatLoad(a, Ps, po, LP, gl_CooperativeMatrixLayoutRowMajor);
						coopMatLoad(a_lo, Plo, po, LP, gl_CooperativeMatrixLayoutRowMajor);
						coopMatLoad(b, KVs, k * LKV + sg_n * (DV / 2u) + fn * CN, LKV, gl_CooperativeMatrixLayoutRowMajor);
						acc = coopMatMulAdd(a_lo, b, coopMatMulAdd(a, b, acc));
					}
					coopMatStore(acc, Os, o, LO, gl_CooperativeMatrixLayoutRowMajor);
				}
			}
		}
		barrier();
	}

	for (uint i = tid; i < R * DV; i += WORKGROUP_SIZE) {
		uint r = i / DV, d = i % DV, row = row0 + r;
		if (row >= M) continue;
		uint t = row / G, h = kvh * G + row % G;
		float m = Ms[r], l = Ls[r], f = 1.0;
		if (p.has_sinks != 0u) {
			float sink = SINKS[p.sink_offset + h], mx = max(m, sink);
			f = m > IS_MASKED ? exp(m - mx) : 0.0;
			l = l * f + exp(sink - mx);
		}
		O[p.o_offset + t * p.o_stride + h * DV + d] = l > 0.0 ? Os[r * LO + d] * f / l : 0.0;
	}
}
