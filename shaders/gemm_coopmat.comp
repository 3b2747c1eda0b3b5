// SPDX-License-Identifier: MIT
// gemm_coopmat: the prefill matmul of gemm.comp on the device's matrix units
// (VK_KHR_cooperative_matrix: NVIDIA tensor cores, AMD RDNA3 WMMA, Intel XMX).
//   Y[c][r] (+)= sum_k W[r][k] * X[c][k]      r < n_rows, c < n_cols
// Same buffers, push constants and dispatch grid as gemm.comp (one BM x BN tile of Y per
// workgroup); the host picks this variant when the device profile has an f16 x f16 + f32
// subgroup-scope shape (docs/matmul.md).
//
// A workgroup is 4 subgroups in a 2 x 2 grid; each owns a (BM/2) x (BN/2) quarter of the tile as
// FM x FN accumulators of CM x CN f32. K is walked 32 values (one decode unit) at a time: the
// tile's BM weight units are decoded in registers (common/blocks.glsl) and stored as f16 in
// shared memory, next to the BN x 32 slice of X converted to f16; then each subgroup runs
// 32 / CK steps of coopMatMulAdd over its accumulators. Weights and activations are rounded to
// f16 (products exact in f32, sums in f32): the plain GEMM keeps f32, and the tolerance of the
// test says what this costs. Activations beyond the f16 range are clamped to +-65504 rather than
// becoming infinities.
//
// Results leave through a per-subgroup CM x CN f32 staging area in shared memory so that partial
// tiles (rows or tokens past the end) are masked per element and `accumulate` can add to Y.
//
// Variants: one per weight type except F32 and BF16 (-D WTYPE_*), which stay on gemm.comp (f16
// would lose their precision or range). With -D MOE (moe_gemm_coopmat_*) it is the grouped expert
// GEMM of gemm.comp -D MOE: X and Y in expert order, each column tile inside one expert's segment
// (COUNTS, OFFSETS), that expert's matrix read from the stacked tensor. Spec constants: 0 workgroup size (4 subgroups), 1 BM,
// 2 BN, 3 CM, 4 CN, 5 CK.
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_int16 : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_control_flow_attributes : require

#include "abi.h"
#include "common/index.glsl"

layout(constant_id = 1) const uint BM = 64;
layout(constant_id = 2) const uint BN = 64;
layout(constant_id = 3) const uint CM = 16;
layout(constant_id = 4) const uint CN = 16;
layout(constant_id = 5) const uint CK = 16;
const uint FM = BM / 2 / CM; // accumulators per subgroup along rows
const uint FN = BN / 2 / CN; // and along tokens

layout(binding = 0) readonly buffer Weights { uint16_t W[]; };
layout(binding = 1) readonly buffer In { float X[]; };
layout(binding = 2) buffer Out { float Y[]; };

#ifdef MOE
layout(binding = 3) readonly buffer Counts { uint COUNTS[]; };
layout(binding = 4) readonly buffer Offsets { uint OFFSETS[]; };
layout(push_constant) uniform Params { moe_gemm_params p; };
#else
layout(push_constant) uniform Params { gemm_params p; };
#endif

#include "common/blocks.glsl"
#ifdef MOE
#include "common/moe_segment.glsl"
#endif

// [row][k] and [col][k], 32 k values plus 8 of padding: rows 80 bytes apart keep coopMatLoad's
// 16-byte alignment and move consecutive rows to different banks.
const uint LDS = 40;
shared float16_t Ws[BM * LDS];
shared float16_t Xs[BN * LDS];
shared float Cs[4 * CM * CN];

const float F16_MAX = 65504.0;

void main()
{
	uint tid = gl_LocalInvocationID.x;
	uint row0 = gl_WorkGroupID.x * BM;
#ifdef MOE
	uint col0, col_end, w_base;
	if (!moe_column_tile(gl_WorkGroupID.y, BN, col0, col_end, w_base)) return; // uniform
#else
	uint col0 = gl_WorkGroupID.y * BN, col_end = p.n_cols, w_base = p.w_offset;
#endif
	uint sg = gl_SubgroupID, sg_m = sg & 1u, sg_n = sg >> 1;
	uint units = p.n_k / 32u;

	coopmat<float, gl_ScopeSubgroup, CM, CN, gl_MatrixUseAccumulator> acc[FM * FN];
	[[unroll]] for (uint i = 0; i < FM * FN; i++)
		acc[i] = coopmat<float, gl_ScopeSubgroup, CM, CN, gl_MatrixUseAccumulator>(0.0);

	for (uint u = 0; u < units; u++) {
		// one unit of each tile row and 32 values of each tile column; rows and columns past the
		// end are clamped (their results are never stored)
		for (uint i = tid; i < BM + BN; i += WORKGROUP_SIZE) {
			if (i < BM) {
				uint row = min(row0 + i, p.n_rows - 1u);
				float v[32];
				decode_unit(w_base + row * p.row_bytes, u, v);
				[[unroll]] for (uint k = 0; k < 32u; k++) Ws[i * LDS + k] = float16_t(v[k]);
			} else {
				uint c = i - BM, col = min(col0 + c, col_end - 1u);
				uint xb = p.x_offset + col * p.x_stride + u * 32u;
				[[unroll]] for (uint k = 0; k < 32u; k++)
					Xs[c * LDS + k] = float16_t(clamp(X[xb + k], -F16_MAX, F16_MAX));
			}
		}
		barrier();
		[[unroll]] for (uint kk = 0; kk < 32u; kk += CK) {
			coopmat<float16_t, gl_ScopeSubgroup, CK, CN, gl_MatrixUseB> b[FN];
			[[unroll]] for (uint fn = 0; fn < FN; fn++) {
				// X slice is [col][k]: K x N column-major
				uint c = sg_n * (BN / 2) + fn * CN;
				coopMatLoad(b[fn], Xs, c * LDS + kk, LDS, gl_CooperativeMatrixLayoutColumnMajor);
			}
			[[unroll]] for (uint fm = 0; fm < FM; fm++) {
				coopmat<float16_t, gl_ScopeSubgroup, CM, CK, gl_MatrixUseA> a;
				uint r = sg_m * (BM / 2) + fm * CM;
				coopMatLoad(a, Ws, r * LDS + kk, LDS, gl_CooperativeMatrixLayoutRowMajor);
				[[unroll]] for (uint fn = 0; fn < FN; fn++) acc[fm * FN + fn] = coopMatMulAdd(a, b[fn], acc[fm * FN + fn]);
			}
		}
		barrier();
	}

	// out through shared memory, column-major so that neighbouring lanes write neighbouring rows
	// of Y (Y is [token][row])
	uint lane = gl_SubgroupInvocationID, stage = sg * CM * CN;
	[[unroll]] for (uint fm = 0; fm < FM; fm++) {
		[[unroll]] for (uint fn = 0; fn < FN; fn++) {
			coopMatStore(acc[fm * FN + fn], Cs, stage, CM, gl_CooperativeMatrixLayoutColumnMajor);
			subgroupMemoryBarrierShared();
			subgroupBarrier();
			uint rb = row0 + sg_m * (BM / 2) + fm * CM, cb = col0 + sg_n * (BN / 2) + fn * CN;
			for (uint e = lane; e < CM * CN; e += gl_SubgroupSize) {
				uint row = rb + e % CM, col = cb + e / CM;
				if (row < p.n_rows && col < col_end) {
					uint y = p.y_offset + col * p.y_stride + row;
					Y[y] = (p.accumulate != 0u ? Y[y] : 0.0) + Cs[stage + e];
				}
			}
			subgroupMemoryBarrierShared();
			subgroupBarrier();
		}
	}
}
