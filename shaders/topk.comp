// SPDX-License-Identifier: MIT
// topk: the k largest values of each row with their indices, sorted descending (sampling).
//   pass 1 (topk_f32):         workgroup g of row r takes a tile of TILE values X[r][g*TILE ...] and
//                              writes its best KP (value, index) candidates, sorted
//   merge (topk_merge_f32):    the same over candidate lists of the previous pass
// The host loops until one workgroup per row is left; that one writes the first k. A vocabulary
// of 262144 with TILE 2048, KP 64: 128 tiles -> 8192 candidates -> 4 tiles -> 256 -> 1 -> k.
//
// Inside a workgroup (bitonic top-k, Shanbhag et al. 2018): the tile sits in shared memory;
// runs of KP are bitonic-sorted, even runs descending and odd runs ascending. Then, until one run
// is left: the element-wise better of runs 2m and 2m+1 (a half-cleaner) holds the best KP of
// the two, as a bitonic sequence; log2(KP) merge steps sort it again. The tile halves each
// round; the surviving runs stay in place (run m of round s at m * KP * 2^s), so no step moves
// data it does not own. TILE 2048, KP 64: 29440 compare-exchanges in 56 steps, against 67584 in
// 66 steps for a full bitonic sort of the tile.
// Order: larger value first, then lower index; NaN counts as -inf; padding is (-inf, 0xFFFFFFFF).
// Spec constants: 0 workgroup size, 1 TILE (a power of two, >= 2 KP), 2 KP (a power of two >= k).
#version 450
#extension GL_GOOGLE_include_directive : require

#include "abi.h"
#include "common/index.glsl"

layout(constant_id = 1) const uint TILE = 2048;
layout(constant_id = 2) const uint KP = 64;

layout(binding = 0) readonly buffer InVal { float X[]; };
#ifdef MERGE
layout(binding = 1) readonly buffer InIdx { uint XI[]; };
layout(binding = 2) writeonly buffer OutVal { float OV[]; };
layout(binding = 3) writeonly buffer OutIdx { uint OI[]; };
#else
layout(binding = 1) writeonly buffer OutVal { float OV[]; };
layout(binding = 2) writeonly buffer OutIdx { uint OI[]; };
#endif

layout(push_constant) uniform Params { select_params p; };

shared float s_val[TILE];
shared uint s_idx[TILE];

#define NEG_INF uintBitsToFloat(0xFF800000u)

bool better(float v, uint i, float bv, uint bi) { return v > bv || (v == bv && i < bi); }

// a and b physical slots; after the call slot a holds the better one when desc, the worse one otherwise
void compare_exchange(uint a, uint b, bool desc)
{
	float va = s_val[a], vb = s_val[b];
	uint ia = s_idx[a], ib = s_idx[b];
	if (desc ? better(vb, ib, va, ia) : better(va, ia, vb, ib)) {
		s_val[a] = vb, s_val[b] = va;
		s_idx[a] = ib, s_idx[b] = ia;
	}
}

void main()
{
	uint g = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
	uint row = gl_WorkGroupID.z;
	uint begin = g * TILE;
	if (begin >= p.n) return; // a folded grid's spare groups
	uint tid = gl_LocalInvocationID.x;
	uint in_row = p.in_offset + row * p.in_stride;

	for (uint e = tid; e < TILE; e += WORKGROUP_SIZE) {
		float v = NEG_INF;
		uint i = 0xFFFFFFFFu;
		if (begin + e < p.n) {
			v = X[in_row + begin + e];
			if (isnan(v)) v = NEG_INF;
#ifdef MERGE
			i = XI[p.idx_offset + row * p.in_stride + begin + e];
#else
			i = begin + e;
#endif
		}
		s_val[e] = v;
		s_idx[e] = i;
	}

	// runs of KP: bitonic sort, direction by bit `size` of the index (even runs end descending)
	for (uint size = 2; size <= KP; size <<= 1)
		for (uint stride = size >> 1; stride > 0; stride >>= 1) {
			barrier();
			for (uint q = tid; q < TILE / 2u; q += WORKGROUP_SIZE) {
				uint a = 2u * q - (q & (stride - 1u));
				compare_exchange(a, a + stride, (a & size) == 0u);
			}
		}

	// rounds: keep the better half of each pair of runs, re-sort it
	uint spacing = KP; // physical distance between the starts of logical runs
	for (uint len = TILE; len > KP; len >>= 1) {
		barrier();
		for (uint q = tid; q < len / 2u; q += WORKGROUP_SIZE) {
			uint m = q / KP, t = q % KP;
			compare_exchange(2u * m * spacing + t, (2u * m + 1u) * spacing + t, true);
		}
		spacing *= 2u;
		for (uint stride = KP >> 1; stride > 0; stride >>= 1) {
			barrier();
			for (uint q = tid; q < len / 4u; q += WORKGROUP_SIZE) {
				uint a = 2u * q - (q & (stride - 1u)); // logical, inside the len/2 survivors
				uint run = a / KP, pa = run * spacing + a % KP;
				compare_exchange(pa, pa + stride, (run & 1u) == 0u);
			}
		}
	}
	barrier();

	for (uint e = tid; e < p.k; e += WORKGROUP_SIZE) {
		OV[p.out_val_offset + row * p.out_stride + g * p.k + e] = s_val[e];
		OI[p.out_idx_offset + row * p.out_stride + g * p.k + e] = s_idx[e];
	}
}
