// SPDX-License-Identifier: MIT
// matvec_vec: the decode matvec (one column) on GPUs for Q4_K and Q8_0, weights read in wide words.
//   Y[r] (+)= sum_k W[r][k] * X[k]
// matvec.comp reads a 32-value unit as 2-byte words (Q4_K: sixteen of them, each a nibble plane
// that a neighbouring lane reads again, plus byte-wise scales): on an H100 that held q4_K to
// 20-25% and q8_0 to 43% of the copy bandwidth (bench/RESULTS.md), the load units busy with small
// loads rather than the memory with bytes. Here a lane owns a 64-value piece of a row:
//   Q4_K (-D WTYPE_Q4_K): a quarter of a 144-byte super-block (sub-blocks 2j and 2j + 1, whose
//        nibbles share qs[32j .. 32j + 31]) read as three 16-byte loads: the header (d, dmin and
//        the 12 scale bytes, the same 16 bytes for the block's four lanes) and its 32 qs bytes;
//        sum = d (sc_a q_a.x_a + sc_b q_b.x_b) - dmin (m_a sum(x_a) + m_b sum(x_b));
//   Q8_0 (-D WTYPE_Q8_0): a pair of 34-byte blocks, 68 bytes read as 17 4-byte loads (a pair
//        starts on 4 bytes when the row does; 16 bytes line up only every 8 blocks);
//        sum = d_a q_a.x_a + d_b q_b.x_b.
// Neighbouring lanes read neighbouring pieces, so a subgroup walks contiguous memory. Each
// subgroup owns ROWS rows, its lanes striding over a row's pieces; a lane loads its piece's 64 x
// values (vec4) and their sums once for all ROWS rows (read per row, x would cost five times the
// weights' loads). The sums over a row meet in one subgroupAdd: no shared memory, no barrier.
// Needs: x on 4 floats, weights and rows on 16 (Q4_K) or 4 (Q8_0) bytes, K a multiple of 64
// (host/ops/matvec.c checks, else matvec.comp).
// -D MOE (moe_matvec_vec_*): op_moe_matvec's expert matvecs, one assignment per gl_WorkGroupID.z
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

#if defined(WTYPE_Q4_K)
layout(binding = 0) readonly buffer Weights { uvec4 W[]; };
const uint WORD_BYTES = 16;
#elif defined(WTYPE_Q8_0)
layout(binding = 0) readonly buffer Weights { uint W[]; };
const uint WORD_BYTES = 4;
#else
#error "matvec_vec: WTYPE_Q4_K or WTYPE_Q8_0"
#endif
layout(binding = 1) readonly buffer In { vec4 X[]; };
layout(binding = 2) buffer Out { float Y[]; };

#ifdef MOE
layout(binding = 3) readonly buffer Ids { uint IDS[]; };
layout(push_constant) uniform Params { moe_matvec_params p; };
#else
layout(push_constant) uniform Params { matvec_params p; };
#endif

#if defined(WTYPE_Q4_K)
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

// piece q of the row whose first 16-byte word is w0: its products with x (xa: values 0..31 of
// the piece, xb: 32..63) and the x sums
float piece_dot(uint w0, uint q, vec4 xa[8], vec4 xb[8], float sum_a, float sum_b)
{
	uint blk = q >> 2, j = q & 3u, t = w0 + blk * 9u;
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
	return dm.x * (sc_a * dot_a + sc_b * dot_b) - dm.y * (mn_a * sum_a + mn_b * sum_b);
}
#else
// four signed bytes of a word as floats, lowest byte first
vec4 s8x4(uint v) { return vec4(ivec4(int(v << 24), int(v << 16), int(v << 8), int(v)) >> 24); }

// piece q (blocks 2q and 2q + 1: bytes 68q .. 68q + 67) of the row whose first 4-byte word is w0:
// block a is d_a (bytes 0-1) and qs bytes 2..33, block b is d_b (bytes 34-35) and qs 36..67
float piece_dot(uint w0, uint q, vec4 xa[8], vec4 xb[8], float sum_a, float sum_b)
{
	uint t = w0 + q * 17u;
	uint w[17];
	[[unroll]] for (uint i = 0; i < 17u; i++) w[i] = W[t + i];
	float dot_a = 0.0, dot_b = 0.0;
	[[unroll]] for (uint k = 0; k < 8u; k++) {
		dot_a += dot(s8x4((w[k] >> 16) | (w[k + 1u] << 16)), xa[k]); // qs_a[4k .. 4k + 3]: bytes 2 + 4k ..
		dot_b += dot(s8x4(w[9u + k]), xb[k]);                          // qs_b[4k .. 4k + 3]: bytes 36 + 4k ..
	}
	return unpackHalf2x16(w[0]).x * dot_a + unpackHalf2x16(w[8] >> 16).x * dot_b;
}
#endif

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
	uint pieces = p.n_k / 64u;

	float acc[ROWS];
	[[unroll]] for (uint r = 0; r < ROWS; r++) acc[r] = 0.0;

	for (uint q = lane; q < pieces; q += gl_SubgroupSize) {
		// the piece's 64 x values (16 vec4) and their two sums, once for all ROWS rows
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
			acc[r] += piece_dot((w_base + row * p.row_bytes) / WORD_BYTES, q, xa, xb, sum_a, sum_b);
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
