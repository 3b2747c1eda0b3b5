// SPDX-License-Identifier: MIT
// moe_rows: moving rows between token order and expert order, one invocation per element.
//   GATHER  (moe_gather_rows): XP[pos][i] = X[PERM[pos] / k][i] (* W[PERM[pos]])  - the expert
//                              matmuls' input, by segment; weighted: Llama 4's router weight on the input
//   SCATTER (moe_scatter):     OUT[t][i] (+)= sum_slot (W[t][slot] *) Y[INV[t * k + slot]][i]
// The scatter sums a token's k expert outputs in slot order, weighted by the router unless the
// weights went into the inputs: no atomics, so the result does not depend on how the segments
// were scheduled.
#version 450
#extension GL_GOOGLE_include_directive : require

#include "abi.h"
#include "common/index.glsl"

layout(binding = 0) readonly buffer In { float X[]; };
layout(binding = 1) readonly buffer Index { uint IDX[]; };
layout(binding = 2) readonly buffer Weights { float W[]; }; // read only where p.weighted
#ifdef SCATTER
layout(binding = 3) buffer Out { float OUT[]; };
#else
layout(binding = 3) writeonly buffer Out { float OUT[]; };
#endif

layout(push_constant) uniform Params { moe_rows_params p; };

void main()
{
	uint e = flat_index();
#ifdef SCATTER
	uint n_tok = p.n_assign / p.k;
	if (e >= n_tok * p.n) return;
	uint t = e / p.n, i = e - t * p.n;
	float s = 0.0;
	for (uint j = 0; j < p.k; j++) {
		uint a = t * p.k + j;
		float y = X[p.x_offset + IDX[p.index_offset + a] * p.x_stride + i];
		s += p.weighted != 0u ? W[p.w_offset + a] * y : y;
	}
	uint o = p.out_offset + t * p.out_stride + i;
	OUT[o] = (p.accumulate != 0u ? OUT[o] : 0.0) + s;
#else
	if (e >= p.n_assign * p.n) return;
	uint pos = e / p.n, i = e - pos * p.n;
	uint a = IDX[p.index_offset + pos], t = a / p.k;
	float x = X[p.x_offset + t * p.x_stride + i];
	OUT[p.out_offset + pos * p.out_stride + i] = p.weighted != 0u ? x * W[p.w_offset + a] : x;
#endif
}
