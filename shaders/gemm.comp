// SPDX-License-Identifier: MIT
// gemm: prefill-time matrix products for every weight type, weights decoded in registers.
//   Y[c][r] (+)= sum_k W[r][k] * X[c][k]      r < n_rows, c < n_cols (a chunk of tokens)
// W is a row-major [n_rows][n_k] tensor in its GGUF type (common/blocks.glsl); X and Y are f32.
//
// A workgroup owns a BM x BN tile of Y (rows x tokens). K is walked 32 values (one decode unit)
// at a time: the BM weight units of the step are decoded once, by the invocations that own
// them, into shared memory next to the BN x 32 slice of X, and every invocation then
// accumulates its TM x TN micro-tile from shared memory. Each decoded weight is used BN times
// and each X value BM times, which is what turns a bandwidth-bound product into a compute-bound
// one.
//
// The invocations of a workgroup form a grid of THREADS_R = BM / TM rows by THREADS_C = BN / TN
// columns; an invocation's rows are strided by THREADS_R (neighbouring invocations write
// neighbouring rows of Y, one coalesced store per micro-tile entry) and its columns by
// THREADS_C. With THREADS_C == 1 every invocation reads the same X value at the same time: a
// CPU device (lavapipe) then loads it once as a scalar and broadcasts it, and only the weights
// are per-lane. That case is the CPU profile's; GPUs use a square grid.
//
// Variants: one per weight type (-D WTYPE_*); with -D MOE (moe_gemm_*) the grouped expert GEMM of
// a MoE layer's prefill: X and Y are in expert order (op_moe_gather_rows), each workgroup column
// tile covers BN rows of one expert's segment (COUNTS, OFFSETS from op_moe_index) and reads that
// expert's matrix from the stacked tensor; tiles past the last segment return at once.
// Tuning (spec constants, from the device profile): 0 workgroup size (= THREADS_R * THREADS_C),
// 1 BM, 2 BN, 3 TM, 4 TN.
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_int16 : require
#extension GL_EXT_control_flow_attributes : require

#include "abi.h"
#include "common/index.glsl"

layout(constant_id = 1) const uint BM = 64;
layout(constant_id = 2) const uint BN = 64;
layout(constant_id = 3) const uint TM = 4;
layout(constant_id = 4) const uint TN = 4;
const uint THREADS_R = BM / TM;
const uint THREADS_C = BN / TN;

#ifdef WTYPE_F32
layout(binding = 0) readonly buffer Weights { float W[]; };
#else
layout(binding = 0) readonly buffer Weights { uint16_t W[]; };
#endif
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

// [k][row] and [k][col]: one k step of the micro-tile reads TM rows and TN columns, each
// contiguous across the invocations that share it. The +1 pad spreads the decode stores (which
// go down a column, 32 k values of one row) over the banks.
const uint WS_STRIDE = BM + 1;
const uint XS_STRIDE = BN + 1;
shared float Ws[32 * WS_STRIDE];
shared float Xs[32 * XS_STRIDE];

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
	// with THREADS_C == 1 both are compile-time zero, which is what lets a CPU compiler see
	// that every lane reads the same X value
	uint tr = THREADS_C == 1 ? tid : tid % THREADS_R;
	uint tc = THREADS_C == 1 ? 0 : tid / THREADS_R;
	uint units = p.n_k / 32u;

	float acc[TM * TN];
	for (uint i = 0; i < TM * TN; i++) acc[i] = 0.0;

	for (uint u = 0; u < units; u++) {
		// weights: BM units decoded by the first BM invocations (rows past the end repeat the
		// last row; their results are never stored)
		for (uint r = tid; r < BM; r += WORKGROUP_SIZE) {
			uint row = min(row0 + r, p.n_rows - 1u);
			float v[32];
			decode_unit(w_base + row * p.row_bytes, u, v);
			for (uint i = 0; i < 32u; i++) Ws[i * WS_STRIDE + r] = v[i];
		}
		// activations: BN x 32 floats, consecutive invocations on consecutive k (coalesced)
		for (uint e = tid; e < BN * 32u; e += WORKGROUP_SIZE) {
			uint c = e / 32u, k = e % 32u;
			uint col = min(col0 + c, col_end - 1u);
			Xs[k * XS_STRIDE + c] = X[p.x_offset + col * p.x_stride + u * 32u + k];
		}
		barrier();
		for (uint k = 0; k < 32u; k++) {
			float a[TM];
			for (uint i = 0; i < TM; i++) a[i] = Ws[k * WS_STRIDE + tr + i * THREADS_R];
			for (uint j = 0; j < TN; j++) {
				float b = Xs[k * XS_STRIDE + tc + j * THREADS_C];
				for (uint i = 0; i < TM; i++) acc[j * TM + i] = fma(a[i], b, acc[j * TM + i]);
			}
		}
		barrier();
	}

	for (uint j = 0; j < TN; j++) {
		uint col = col0 + tc + j * THREADS_C;
		if (col >= col_end) break;
		for (uint i = 0; i < TM; i++) {
			uint row = row0 + tr + i * THREADS_R;
			if (row >= p.n_rows) break;
			uint y = p.y_offset + col * p.y_stride + row;
			Y[y] = (p.accumulate != 0u ? Y[y] : 0.0) + acc[j * TM + i];
		}
	}
}
