// SPDX-License-Identifier: MIT
// moe_index: the (token, slot) assignments of a chunk sorted by expert, in one workgroup:
//   COUNTS[e]  tokens routed to expert e
//   OFFSETS[e] where expert e's segment starts (OFFSETS[n_exp] = n_assign)
//   PERM[pos]  the assignment t * k + slot at position pos (stable: token order within a segment)
//   INV[a]     the position of assignment a
// Each invocation owns experts e, e + WG, ... and scans all assignments for them: n_exp * n_assign
// compares spread over the workgroup (128 experts x 4096 assignments is 4096 per invocation),
// cheap beside the expert matmuls, and deterministic with no atomics.
#version 450
#extension GL_GOOGLE_include_directive : require

#include "abi.h"
#include "common/index.glsl"

const uint MAX_EXP = 1024;

layout(binding = 0) readonly buffer Ids { uint IDS[]; };
layout(binding = 1) writeonly buffer Counts { uint COUNTS[]; };
layout(binding = 2) writeonly buffer Offsets { uint OFFSETS[]; };
layout(binding = 3) writeonly buffer Perm { uint PERM[]; };
layout(binding = 4) writeonly buffer Inv { uint INV[]; };

layout(push_constant) uniform Params { moe_index_params p; };

shared uint s_count[MAX_EXP], s_start[MAX_EXP];

void main()
{
	uint li = gl_LocalInvocationID.x;
	for (uint e = li; e < p.n_exp; e += WORKGROUP_SIZE) {
		uint c = 0;
		for (uint a = 0; a < p.n_assign; a++) c += IDS[p.ids_offset + a] == e ? 1u : 0u;
		s_count[e] = c;
	}
	barrier();
	if (li == 0u) {
		uint at = 0;
		for (uint e = 0; e < p.n_exp; e++) {
			s_start[e] = at;
			at += s_count[e];
		}
		OFFSETS[p.offsets_offset + p.n_exp] = at;
	}
	barrier();
	for (uint e = li; e < p.n_exp; e += WORKGROUP_SIZE) {
		uint pos = s_start[e];
		COUNTS[p.counts_offset + e] = s_count[e];
		OFFSETS[p.offsets_offset + e] = pos;
		for (uint a = 0; a < p.n_assign; a++)
			if (IDS[p.ids_offset + a] == e) {
				PERM[p.perm_offset + pos] = a;
				INV[p.inv_offset + a] = pos;
				pos++;
			}
	}
}
