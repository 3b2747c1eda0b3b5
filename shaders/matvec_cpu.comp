// SPDX-License-Identifier: MIT
// matvec_cpu: matvec.comp's products for CPU devices (lavapipe / llvmpipe), docs/matmul.md.
//   Y[c][r] (+)= sum_k W[r][k] * X[c][k]      r < n_rows, c < N_COLS (1 or 2 per dispatch)
//
// llvmpipe runs a workgroup of one subgroup as SIMD lanes and turns every storage-buffer load
// at lane-varying addresses into a loop over the lanes with a branch and a bounds check per
// lane (Mesa 22.3 emit_load_mem), but loads a storage texel buffer with one 128-bit load per
// lane, branch-free (lp_build_fetch_rgba_soa): weights and x are therefore read as imageBuffer
// texels, rgba32ui (16 bytes) or, where a type's blocks never line up with 16 bytes, rg32ui.
// On lavapipe this made q8_0 4096x4096 about 3x faster than 32-byte SSBO loads (docs/matmul.md).
// Neighbouring lanes share a row (up to the
// whole subgroup), each on its own chunks of K; a workgroup owns ROWS rows per row group. Per
// chunk a lane loads its x once, for all its ROWS rows; each row's chunk of weights is loaded
// into registers texel by texel as it is decoded, with constant indices (common/chunks_cpu.glsl). The only
// cross-lane work is a shuffle-xor butterfly per row and column at the end (none with a lane
// per row): no broadcasts (a subgroupBroadcast costs a loop over the lanes in llvmpipe 22.3), no
// shared memory, no barriers.
// Variants: one per weight type with a chunk layout (-D WTYPE_*). Spec constants: 0 workgroup
// size (the subgroup size), 1 rows per row group, 2 columns.
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_shuffle : require

#include "abi.h"
#include "common/index.glsl"

layout(constant_id = 1) const uint ROWS = 1;
layout(constant_id = 2) const uint N_COLS = 1;

#include "common/chunks_cpu.glsl"

#if W_LOAD_BYTES == 16
layout(binding = 0, rgba32ui) uniform readonly restrict uimageBuffer W;
#else
layout(binding = 0, rg32ui) uniform readonly restrict uimageBuffer W;
#endif
layout(binding = 1, rgba32ui) uniform readonly restrict uimageBuffer X; // f32 bits, 4 to a texel (x_offset % 4 == 0)
// y as r32ui texels too: llvmpipe stores and loads them without the per-lane loop of an SSBO
layout(binding = 2, r32ui) uniform restrict uimageBuffer Y; // f32 bits

uint w_t0; // texel index of the current row's chunk
uvec4 w_texel(uint i) { return imageLoad(W, int(w_t0 + i)); }
#ifdef MOE
// -D MOE (moe_matvec_cpu_*): op_moe_matvec's expert matvecs. One column: one assignment per
// gl_WorkGroupID.z. Two columns: gl_WorkGroupID.z is a position in expert order (op_moe_index),
// and the workgroup at an even offset into its expert's segment takes that assignment and the
// next one of the same expert, so each decoded weight serves two tokens (odd offsets return).
layout(binding = 3) readonly buffer Ids { uint IDS[]; };
layout(binding = 4) readonly buffer Perm { uint PERM[]; };
layout(binding = 5) readonly buffer Offsets { uint OFFSETS[]; };
layout(push_constant) uniform Params { moe_matvec_params p; };
#else
layout(push_constant) uniform Params { matvec_params p; };
#endif

uint w_base;           // byte offset of the (expert's) weights
uint x_col[N_COLS];    // float offset of each column's x
uint y_col[N_COLS];    // float offset of each column's y
uint n_store;          // columns to store (a lone assignment of an expert fills only the first)

float xl[N_COLS * CHUNK];        // the chunk's x, every column
float xs[N_COLS * CHUNK / 16u];  // its sums over groups of 16

float x_at(uint c, uint k) { return xl[c * CHUNK + k]; }
float xsum16(uint c, uint g) { return xs[c * (CHUNK / 16u) + g]; }

void load_x(uint chunk)
{
	[[unroll]] for (uint c = 0; c < N_COLS; c++) {
		uint x0 = (x_col[c] + chunk * CHUNK) / 4u;
		[[unroll]] for (uint i = 0; i < CHUNK / 4u; i++) {
			uvec4 t = imageLoad(X, int(x0 + i));
			[[unroll]] for (uint j = 0; j < 4u; j++) xl[c * CHUNK + 4u * i + j] = uintBitsToFloat(t[j]);
		}
		// (types without offsets or mins never read these; the compiler drops them)
		[[unroll]] for (uint g = 0; g < CHUNK / 16u; g++) {
			float a = 0.0, b = 0.0;
			[[unroll]] for (uint i = 0; i < 16u; i += 2u)
				a += xl[c * CHUNK + 16u * g + i], b += xl[c * CHUNK + 16u * g + i + 1u];
			xs[c * (CHUNK / 16u) + g] = a + b;
		}
	}
}

// the row's chunk starts at texel w_t0; chunk_dot loads its texels as it decodes them
void select_w(uint row, uint chunk)
{
	w_t0 = (w_base + row * p.row_bytes) / W_LOAD_BYTES + chunk * (CHUNK_WORDS * 4u / W_LOAD_BYTES);
}

void main()
{
	uint group = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
	uint chunks = p.n_k / CHUNK;
#ifdef MOE
	uint a[2], e;
	n_store = 1u;
	if (N_COLS == 1u) {
		a[0] = gl_WorkGroupID.z;
		e = IDS[p.ids_offset + a[0]];
	} else {
		uint pos = gl_WorkGroupID.z;
		a[0] = PERM[p.perm_offset + pos];
		e = IDS[p.ids_offset + a[0]];
		uint seg0 = OFFSETS[p.offsets_offset + e], seg1 = OFFSETS[p.offsets_offset + e + 1u];
		if (((pos - seg0) & 1u) != 0u) return; // uniform: the workgroup before took this one
		a[1] = a[0];
		if (pos + 1u < seg1) a[1] = PERM[p.perm_offset + pos + 1u], n_store = 2u;
	}
	if (e < p.first_expert || e - p.first_expert >= p.n_part) return; // uniform: another part's expert
	w_base = p.w_offset + (e - p.first_expert) * p.expert_bytes;
	for (uint c = 0; c < N_COLS; c++) {
		x_col[c] = p.x_offset + (a[c] / p.x_div) * p.n_k;
		y_col[c] = p.y_offset + a[c] * p.n_rows;
	}
#else
	w_base = p.w_offset;
	n_store = N_COLS;
	for (uint c = 0; c < N_COLS; c++) {
		x_col[c] = p.x_offset + c * p.x_stride;
		y_col[c] = p.y_offset + c * p.y_stride;
	}
#endif
	// split: lanes that share a row, each on its own chunks of K, the most (up to the
	// workgroup) that share them evenly, so neighbouring lanes read neighbouring bytes
	// (matvec_cpu_split in host/ops/matvec.c, which sizes the grid, computes the same); a value
	// at run time, not a constant, so that it does not multiply llvmpipe's compiles
	uint split = 1u;
	while (split * 2u <= WORKGROUP_SIZE && chunks % (split * 2u) == 0u) split *= 2u;
	uint row_groups = WORKGROUP_SIZE / split;
	uint lane = gl_LocalInvocationID.x, part = lane % split;
	uint row0 = group * ROWS * row_groups + lane / split;

	float acc[ROWS * N_COLS];
	for (uint i = 0; i < ROWS * N_COLS; i++) acc[i] = 0.0;

	for (uint ch = part; ch < chunks; ch += split) {
		load_x(ch);
		[[dont_unroll]] for (uint r = 0; r < ROWS; r++) {
			// lanes past the last row repeat it and do not store (no out-of-bounds reads)
			select_w(min(row0 + row_groups * r, p.n_rows - 1u), ch);
			float s[N_COLS];
			[[unroll]] for (uint c = 0; c < N_COLS; c++) s[c] = acc[r * N_COLS + c];
			chunk_dot(s);
			[[unroll]] for (uint c = 0; c < N_COLS; c++) acc[r * N_COLS + c] = s[c];
		}
	}

	// The stores: llvmpipe stores a texel with a scalar loop over the lanes, and runs the body
	// of an `if` under a lane mask rather than branching around it, so each store statement
	// reached costs that loop. Rather than one lane of each row group storing every row, the
	// `split` lanes of a group take turns: in each block of `split` rows, lane `part` keeps row
	// block + part, and the block is one store with every lane busy (ROWS is a multiple of every
	// split). K >= 2048 (split 8): 2 store loops a column instead of 16.
	for (uint c = 0; c < N_COLS; c++) {
		for (uint r0 = 0; r0 < ROWS; r0 += split) {
			float mine = 0.0;
			for (uint j = 0; j < split; j++) {
				float v = acc[(r0 + j) * N_COLS + c];
				// the row's partial sums, a butterfly over the `split` neighbouring lanes that
				// share it: each mask is a constant, so llvmpipe's shuffle becomes one vector
				// permute (a masked subgroupAdd per row group was a scalar loop over the lanes
				// through memory, 6-8% of the kernel at K = 1024); reached by every lane
				[[unroll]] for (uint m = 1u; m < WORKGROUP_SIZE; m *= 2u)
					if (m < split) v += subgroupShuffleXor(v, m);
				if (j == part) mine = v;
			}
			uint row = row0 + row_groups * (r0 + part), y = y_col[c] + row;
			if (row < p.n_rows && c < n_store) {
				if (p.accumulate != 0u) mine += uintBitsToFloat(imageLoad(Y, int(y)).x);
				imageStore(Y, int(y), uvec4(floatBitsToUint(mine)));
			}
		}
	}
}
