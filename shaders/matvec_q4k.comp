// SPDX-License-Identifier: MIT
// matvec_q4k: the decode matvec (one column) for Q4_K weights on GPUs, read 16 bytes at a time.
//   Y[r] (+)= sum_k W[r][k] * X[k]
// matvec.comp reads a Q4_K unit as sixteen 2-byte words (each a nibble plane that a neighbour
// reads again) plus byte-wise scales: on an H100 that held q4_K to 20-25% of the copy bandwidth
// (bench/RESULTS.md), the load units busy with small loads rather than the memory with bytes.
// Here a lane owns a quarter of a 144-byte super-block (64 values: sub-blocks 2j and 2j + 1,
// whose nibbles share qs[32j .. 32j + 31]) and reads it as three 16-byte loads: the header
// (d, dmin and the 12 scale bytes, the same 16 bytes for the block's four lanes) and its 32
// bytes of qs. Neighbouring lanes read neighbouring quarters, so a subgroup walks contiguous
// memory. Each subgroup owns ROWS rows, its lanes striding over a row's quarters; a lane loads
// its quarter's 64 x values (vec4, from the cache) and their sums once for all ROWS rows: read per
// row, x would cost five times the weights' loads. Per quarter and row:
//   sum = d * (sc_a * q_a.x_a + sc_b * q_b.x_b) - dmin * (m_a * sum(x_a) + m_b * sum(x_b))
// The sums over a row meet in one subgroupAdd; no shared memory, no barrier.
// Needs: weights and rows on 16 bytes, x on 4 floats (host/ops/matvec.c checks, else matvec.comp).
// -D MOE (moe_matvec_q4k): op_moe_matvec's expert matvecs, one assignment per gl_WorkGroupID.z
// (its expert from IDS, its x row a / x_div, its y row a), as moe_matvec.comp.
// Spec constants: 0 workgroup size (whole subgroups), 1 rows per subgroup.
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#extension GL_EXT_control_flow_attributes : require

#include "abi.h"
#include "common/index.glsl"

layout(constant_id = 1) const uint ROWS = 2;

layout(binding = 0) readonly buffer Weights { uvec4 W[]; };
layout(binding = 1) readonly buffer In { vec4 X[]; };
layout(binding = 2) buffer Out { float Y[]; };

#ifdef MOE
layout(binding = 3) readonly buffer Ids { uint IDS[]; };
layout(push_constant) uniform Params { moe_matvec_params p; };
#else
layout(push_constant) uniform Params { matvec_params p; };
#endif

uint byte_of(uvec4 h, uint k) { return (h[1u + (k >> 2)] >> ((k & 3u) << 3)) & 0xFFu; } // scale byte k of 12

// 6-bit scale and min of sub-block s from the header's 12 scale bytes (ggml's get_scale_min_k4)
void scale_min(uvec4 h, uint s, out float sc, out float mn)
{
	if (s < 4u) {
		sc = float(byte_of(h, s) & 63u);
		mn = float(byte_of(h, s + 4u) & 63u);
	} else {
		sc = float((byte_of(h, s + 4u) & 15u) | ((byte_of(h, s - 4u) >> 6) << 4));
		mn = float((byte_of(h, s + 4u) >> 4) | ((byte_of(h, s) >> 6) << 4));
	}
}

void main()
{
	uint group = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
	uint row0 = (group * gl_NumSubgroups + gl_SubgroupID) * ROWS;
#ifdef MOE
	uint a = gl_WorkGroupID.z, e = IDS[p.ids_offset + a];
	if (e < p.first_expert || e - p.first_expert >= p.n_part) return; // uniform: another part's expert
	uint w_base = p.w_offset + (e - p.first_expert) * p.expert_bytes;
	uint x_base = p.x_offset + (a / p.x_div) * p.n_k, y_base = p.y_offset + a * p.n_rows;
#else
	uint w_base = p.w_offset, x_base = p.x_offset, y_base = p.y_offset;
#endif
	uint lane = gl_SubgroupInvocationID;
	uint quarters = p.n_k / 64u;

	float acc[ROWS];
	[[unroll]] for (uint r = 0; r < ROWS; r++) acc[r] = 0.0;

	for (uint q = lane; q < quarters; q += gl_SubgroupSize) {
		uint blk = q >> 2, j = q & 3u;
		// the quarter's 64 x values (16 vec4) and their two sums, once for all ROWS rows
		uint x0 = (x_base >> 2) + q * 16u;
		vec4 xa[8], xb[8];
		float sum_a = 0.0, sum_b = 0.0;
		[[unroll]] for (uint w = 0; w < 8u; w++) {
			xa[w] = X[x0 + w];
			xb[w] = X[x0 + 8u + w];
			sum_a += dot(xa[w], vec4(1.0));
			sum_b += dot(xb[w], vec4(1.0));
		}
		[[unroll]] for (uint r = 0; r < ROWS; r++) {
			uint row = row0 + r;
			if (row >= p.n_rows) break;
			uint t = (w_base + row * p.row_bytes) / 16u + blk * 9u;
			uvec4 h = W[t], qa = W[t + 1u + 2u * j], qb = W[t + 2u + 2u * j];
			float dot_a = 0.0, dot_b = 0.0;
			[[unroll]] for (uint w = 0; w < 8u; w++) {
				uint word = w < 4u ? qa[w] : qb[w - 4u];
				vec4 lo = vec4(uvec4(word, word >> 8, word >> 16, word >> 24) & 15u);
				vec4 hi = vec4(uvec4(word >> 4, word >> 12, word >> 20, word >> 28) & 15u);
				dot_a += dot(lo, xa[w]);
				dot_b += dot(hi, xb[w]);
			}
			vec2 dm = unpackHalf2x16(h.x);
			float sc_a, mn_a, sc_b, mn_b;
			scale_min(h, 2u * j, sc_a, mn_a);
			scale_min(h, 2u * j + 1u, sc_b, mn_b);
			acc[r] += dm.x * (sc_a * dot_a + sc_b * dot_b) - dm.y * (mn_a * sum_a + mn_b * sum_b);
		}
	}

	[[unroll]] for (uint r = 0; r < ROWS; r++) {
		float s = subgroupAdd(acc[r]);
		uint row = row0 + r;
		if (subgroupElect() && row < p.n_rows) {
			uint y = y_base + row;
			Y[y] = (p.accumulate != 0u ? Y[y] : 0.0) + s;
		}
	}
}
