// SPDX-License-Identifier: MIT
// matvec: decode-time matrix-vector products for every weight type, weights decoded in registers.
//   Y[c][r] (+)= sum_k W[r][k] * X[c][k]      r < n_rows, c < N_COLS (1 to a few tokens)
// W is a row-major [n_rows][n_k] tensor in its GGUF type (common/blocks.glsl); X and Y are f32.
//
// A workgroup owns ROWS consecutive rows. Its invocations walk the row in 32-value units (one
// quant block, or an eighth of a K-quant super-block), so neighbouring invocations read
// neighbouring blocks; each unit is decoded once and used for every column. Partial sums meet in
// a subgroup reduction and then across subgroups in shared memory.
// Variants: one per weight type (-D WTYPE_*). Tuning (spec constants): 0 workgroup size, 1 rows
// per workgroup, 2 columns.
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_int16 : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#extension GL_EXT_control_flow_attributes : require

#include "abi.h"
#include "common/index.glsl"

layout(constant_id = 1) const uint ROWS = 1;
layout(constant_id = 2) const uint N_COLS = 1;

#ifdef WTYPE_F32
layout(binding = 0) readonly buffer Weights { float W[]; };
#else
layout(binding = 0) readonly buffer Weights { uint16_t W[]; };
#endif
layout(binding = 1) readonly buffer In { float X[]; };
// the same binding read 16 bytes at a time, when x_offset is a multiple of 4 values
layout(binding = 1) readonly buffer In4 { vec4 X4[]; };
layout(binding = 2) buffer Out { float Y[]; };

layout(push_constant) uniform Params { matvec_params p; };

#include "common/blocks.glsl"

// one slot per (subgroup, row, column); 64 subgroups is more than any workgroup we launch
const uint MAX_SUBGROUPS = 64;
shared float partial[MAX_SUBGROUPS * ROWS * N_COLS];

void main()
{
	uint group = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
	uint row0 = group * ROWS;
	uint tid = gl_LocalInvocationID.x;
	uint units = p.n_k / 32u;

	float acc[ROWS * N_COLS];
	for (uint i = 0; i < ROWS * N_COLS; i++) acc[i] = 0.0;

	if (N_COLS == 1) {
		// decode: the unit's 32 x values are loaded once (as vec4 when aligned) and serve all
		// ROWS rows; loading them per row made the x reads, not the weights, the bottleneck on
		// GPUs (32 scalar loads per lane, each touching a different cache line)
		bool x_vec4 = (p.x_offset & 3u) == 0u;
		for (uint u = tid; u < units; u += WORKGROUP_SIZE) {
			float xv[32];
			if (x_vec4) {
				uint b4 = (p.x_offset >> 2) + u * 8u;
				for (uint i = 0; i < 8u; i++) {
					vec4 t = X4[b4 + i];
					xv[4u * i] = t.x, xv[4u * i + 1u] = t.y, xv[4u * i + 2u] = t.z, xv[4u * i + 3u] = t.w;
				}
			} else {
				for (uint i = 0; i < 32u; i++) xv[i] = X[p.x_offset + u * 32u + i];
			}
			[[dont_unroll]] for (uint r = 0; r < ROWS; r++) {
				uint row = row0 + r;
				if (row >= p.n_rows) break;
				float v[32];
				decode_unit(p.w_offset + row * p.row_bytes, u, v);
				float s = 0.0;
				for (uint i = 0; i < 32u; i++) s += v[i] * xv[i];
				acc[r] += s;
			}
		}
	} else {
		for (uint u = tid; u < units; u += WORKGROUP_SIZE) {
			[[dont_unroll]] for (uint r = 0; r < ROWS; r++) {
				uint row = row0 + r;
				if (row >= p.n_rows) break;
				float v[32];
				decode_unit(p.w_offset + row * p.row_bytes, u, v);
				// a few tokens: not unrolled, or llvmpipe spends seconds compiling ROWS x N_COLS copies
				[[dont_unroll]] for (uint c = 0; c < N_COLS; c++) {
					uint xb = p.x_offset + c * p.x_stride + u * 32u;
					float s = 0.0;
					for (uint i = 0; i < 32u; i++) s += v[i] * X[xb + i];
					acc[r * N_COLS + c] += s;
				}
			}
		}
	}

	for (uint i = 0; i < ROWS * N_COLS; i++) {
		float s = subgroupAdd(acc[i]);
		if (subgroupElect()) partial[gl_SubgroupID * ROWS * N_COLS + i] = s;
	}
	barrier();
	for (uint i = tid; i < ROWS * N_COLS; i += WORKGROUP_SIZE) {
		uint r = i / N_COLS, c = i % N_COLS, row = row0 + r;
		if (row >= p.n_rows) continue;
		float s = 0.0;
		for (uint sg = 0; sg < gl_NumSubgroups; sg++) s += partial[sg * ROWS * N_COLS + i];
		uint y = p.y_offset + c * p.y_stride + row;
		Y[y] = (p.accumulate != 0u ? Y[y] : 0.0) + s;
	}
}
