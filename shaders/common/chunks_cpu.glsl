// SPDX-License-Identifier: MIT
// Weight chunks for matvec_cpu.comp. Per type: CHUNK values of one row, held as CHUNK_WORDS
// little-endian 32-bit words in wq; W_LOAD_BYTES, the width of the texels that fill it (16:
// rgba32ui; 8: rg32ui, where the type's blocks never line up with 16 bytes); and chunk_dot(s),
// which adds the chunk's products with x into s[c]. A chunk is the fewest whole blocks that fill
// whole loads (host/ops/matvec.c lists the same sizes).
// The includer provides x_at(c, k), x value k of the chunk in column c, and xsum16(c, g), the sum
// of the chunk's x values 16g .. 16g + 15: offsets and mins are applied once per group,
//   sum (d q - m) x = d sum q x - m sum x,
// instead of once per value. Every index into wq is a constant once the loops are unrolled, so
// the words stay in registers; chunk_dot loads them with need_bytes as it reaches them. Layouts
// as in blocks.glsl (ggml's).

#ifndef VKLLM_CHUNKS_CPU_GLSL
#define VKLLM_CHUNKS_CPU_GLSL

// (W_LOAD_BYTES is a macro: it picks the weight binding's image format in matvec_cpu.comp)
#if defined(WTYPE_Q8_0)
const uint CHUNK = 256, CHUNK_WORDS = 68; // 8 blocks of 34 bytes
#define W_LOAD_BYTES 16
#elif defined(WTYPE_Q4_0)
const uint CHUNK = 256, CHUNK_WORDS = 36; // 8 blocks of 18 bytes
#define W_LOAD_BYTES 16
#elif defined(WTYPE_Q4_K)
const uint CHUNK = 256, CHUNK_WORDS = 36; // 1 super-block of 144 bytes
#define W_LOAD_BYTES 16
#elif defined(WTYPE_Q6_K)
const uint CHUNK = 1024, CHUNK_WORDS = 210; // 4 super-blocks of 210 bytes
#define W_LOAD_BYTES 8
#elif defined(WTYPE_F16) || defined(WTYPE_BF16)
const uint CHUNK = 128, CHUNK_WORDS = 64;
#define W_LOAD_BYTES 16
#elif defined(WTYPE_F32)
const uint CHUNK = 64, CHUNK_WORDS = 64; // MoE routers stay f32 in llama.cpp's quant mixes
#define W_LOAD_BYTES 16
#else
#error "chunks_cpu.glsl: no chunk layout for this WTYPE"
#endif

uint wq[CHUNK_WORDS];
uvec4 w_texel(uint i); // texel i of the row's chunk (W_LOAD_BYTES each; rg32ui fills .xy)
float x_at(uint c, uint k);
float xsum16(uint c, uint g);

// Loads the texels that hold bytes [from, to) of the chunk into wq, less those an earlier call
// for bytes below `from` already loaded. chunk_dot calls it just before the bytes are decoded:
// loading the whole chunk first kept every word live across the decode, and LLVM spilled them
// to the stack and read them back (q8_0: 2022 -> 1919 instructions a row, 3-10% faster on
// 4096x1024 to 75968x1024 in alternating replays). `i` and the bounds are constants once the
// loops are unrolled, so the tests fold away (a loop bounded by the call's arguments instead
// was left rolled and made wq an indexed array: 9x slower).
void need_bytes(uint from, uint to)
{
	const uint per = uint(W_LOAD_BYTES) / 4u;
	[[unroll]] for (uint i = 0; i < CHUNK_WORDS / per; i++) {
		if (i >= (from + uint(W_LOAD_BYTES) - 1u) / uint(W_LOAD_BYTES) && i < (to + uint(W_LOAD_BYTES) - 1u) / uint(W_LOAD_BYTES)) {
			uvec4 t = w_texel(i);
			[[unroll]] for (uint j = 0; j < per; j++) wq[per * i + j] = t[j];
		}
	}
}

// byte b of the chunk, unsigned and signed; the f16 at even byte b
uint cb_u8(uint b) { return (wq[b >> 2] >> ((b & 3u) * 8u)) & 0xFFu; }
int cb_i8(uint b) { return int(wq[b >> 2] << (24u - (b & 3u) * 8u)) >> 24; }
float cb_half(uint b) { return unpackHalf2x16(wq[b >> 2] >> ((b & 2u) * 8u)).x; }
// signed byte b times 2^24: the byte moved to the top of its word, the rest cleared. One shift
// and one mask (which LLVM may merge into a byte shuffle) instead of cb_i8's two shifts; the
// 2^24 is exact and folded into the block scale (TOP8_SCALE), so the products round as before.
int cb_top8(uint b)
{
	uint k = b & 3u, w = wq[b >> 2];
	return int(k == 3u ? w & 0xFF000000u : k == 0u ? w << 24 : (w << (24u - 8u * k)) & 0xFF000000u);
}
const float TOP8_SCALE = 1.0 / 16777216.0;
// nibble n (0..7, from the least significant) of word w in place, times 2^(4n): one mask, where
// shifting down and masking is two. The top nibble is moved down to 2^24 (as a signed int it
// would be negative, and an unsigned conversion costs several instructions without AVX-512).
// A sum of such products is exact to rescale by nib_scale(n) as long as every term shares n.
int cb_nib_in_place(uint w, uint n) { return int(n == 7u ? (w >> 4) & 0x0F000000u : w & (15u << (4u * n))); }
float nib_scale(uint n) { return n == 7u ? 1.0 / 16777216.0 : 1.0 / float(1u << (4u * n)); }
// ILP_SUM with chain i scaled back by nib_scale(2 i + h): chain i holds byte i of each word's
// nibbles (the even ones for h = 0, the odd ones for h = 1); exact, so the same sum as ILP_SUM
#define ILP_SUM_NIB(t, c, h)                                                                    \
	((t[(c) * ILP] * nib_scale(h) + t[(c) * ILP + 1u] * nib_scale(2u + (h))) +                 \
	 (t[(c) * ILP + 2u] * nib_scale(4u + (h)) + t[(c) * ILP + 3u] * nib_scale(6u + (h))))

// Sums run as ILP independent chains: LLVM keeps float additions in source order, and one chain
// of dependent adds (4 cycles each) held the decode back. (fma() does not help: llvmpipe 22.3
// emits it as a multiply and an add.) ILP_SUM is a macro because passing a spec-constant-sized
// array to a function by value gave SPIR-V that spirv-val rejects (OpCopyLogical).
const uint ILP = 4;
#define ILP_SUM(t, c) ((t[(c) * ILP] + t[(c) * ILP + 1u]) + (t[(c) * ILP + 2u] + t[(c) * ILP + 3u]))
#define ILP_ZERO(t) [[unroll]] for (uint i_ = 0; i_ < N_COLS * ILP; i_++) t[i_] = 0.0

#if defined(WTYPE_Q8_0)
// { f16 d; i8 qs[32] } x 8
void chunk_dot(inout float s[N_COLS])
{
	[[unroll]] for (uint j = 0; j < 8u; j++) {
		need_bytes(34u * j, 34u * j + 34u);
		float t[N_COLS * ILP];
		ILP_ZERO(t);
		[[unroll]] for (uint i = 0; i < 32u; i++) {
			float q = float(cb_top8(34u * j + 2u + i));
			[[unroll]] for (uint c = 0; c < N_COLS; c++) t[c * ILP + i % ILP] += q * x_at(c, 32u * j + i);
		}
		float d = cb_half(34u * j) * TOP8_SCALE;
		[[unroll]] for (uint c = 0; c < N_COLS; c++) s[c] += d * ILP_SUM(t, c);
	}
}

#elif defined(WTYPE_Q4_0)
// { f16 d; u8 qs[16] } x 8: value i < 16 is (qs[i] & 15) - 8, value i + 16 is (qs[i] >> 4) - 8
void chunk_dot(inout float s[N_COLS])
{
	[[unroll]] for (uint j = 0; j < 8u; j++) {
		need_bytes(18u * j, 18u * j + 18u);
		float t[N_COLS * ILP];
		ILP_ZERO(t);
		[[unroll]] for (uint i = 0; i < 32u; i++) {
			float q = float((cb_u8(18u * j + 2u + i % 16u) >> (4u * (i / 16u))) & 15u);
			[[unroll]] for (uint c = 0; c < N_COLS; c++) t[c * ILP + i % ILP] += q * x_at(c, 32u * j + i);
		}
		float d = cb_half(18u * j);
		[[unroll]] for (uint c = 0; c < N_COLS; c++)
			s[c] += d * (ILP_SUM(t, c) - 8.0 * (xsum16(c, 2u * j) + xsum16(c, 2u * j + 1u)));
	}
}

#elif defined(WTYPE_Q4_K)
// { f16 d; f16 dmin; u8 scales[12]; u8 qs[128] } x CHUNK / 256: sub-block j (32 values) uses the low
// (even j) or high (odd j) nibbles of qs[32 (j/2) + l]; value = d sc_j q - dmin m_j
void chunk_dot(inout float s[N_COLS])
{
	[[unroll]] for (uint sb = 0; sb < CHUNK / 256u; sb++) {
		uint b = 144u * sb;
		need_bytes(b, b + 16u); // d, dmin, scales
		float d = cb_half(b), dmin = cb_half(b + 2u);
		[[unroll]] for (uint j = 0; j < 8u; j++) {
			if (j % 2u == 0u) need_bytes(b + 16u + 16u * j, b + 48u + 16u * j); // qs of sub-blocks j, j + 1
			uint sc, mn; // ggml's get_scale_min_k4
			if (j < 4u) {
				sc = cb_u8(b + 4u + j) & 63u;
				mn = cb_u8(b + 8u + j) & 63u;
			} else {
				sc = (cb_u8(b + 8u + j) & 15u) | ((cb_u8(b + j) >> 6) << 4);
				mn = (cb_u8(b + 8u + j) >> 4) | ((cb_u8(b + 4u + j) >> 6) << 4);
			}
			float t[N_COLS * ILP];
			ILP_ZERO(t);
			// byte 16 + 32 (j/2) + l of the super-block sits at byte l % 4 of its word, so chain
			// l % ILP always holds nibble 2 (l % 4) + (j & 1): decoded in place, scaled back per chain
			[[unroll]] for (uint l = 0; l < 32u; l++) {
				uint byte = b + 16u + 32u * (j / 2u) + l;
				float q = float(cb_nib_in_place(wq[byte >> 2], 2u * (byte & 3u) + (j & 1u)));
				[[unroll]] for (uint c = 0; c < N_COLS; c++) t[c * ILP + l % ILP] += q * x_at(c, 256u * sb + 32u * j + l);
			}
			float ds = d * float(sc), dm = dmin * float(mn);
			[[unroll]] for (uint c = 0; c < N_COLS; c++) {
				uint g = 16u * sb + 2u * j;
				s[c] += ds * ILP_SUM_NIB(t, c, j & 1u) - dm * (xsum16(c, g) + xsum16(c, g + 1u));
			}
		}
	}
}

#elif defined(WTYPE_Q6_K)
// { u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d } x 4. Group g of 16 values (16 per super-block):
// unit s = g/2, half h = s/4, quarter q = s%4, value l < 32 of the unit: low 4 bits from
// ql[64h + l + 32(q&1)] (high nibble for q >= 2), high 2 bits from qh[32h + l] >> 2q, scale
// scales[8h + 2q + l/16]: value = d * scale * (q6 - 32)
void chunk_dot(inout float s[N_COLS])
{
	[[unroll]] for (uint sb = 0; sb < 4u; sb++) {
		uint b = 210u * sb;
		need_bytes(b, b + 210u); // (its scale d comes last: the super-block whole)
		float d = cb_half(b + 208u);
		[[unroll]] for (uint g = 0; g < 16u; g++) {
			uint u = g / 2u, h = u / 4u, q = u % 4u;
			float t[N_COLS * ILP];
			ILP_ZERO(t);
			[[unroll]] for (uint i = 0; i < 16u; i++) {
				uint l = 16u * (g % 2u) + i;
				uint lo = (cb_u8(b + 64u * h + l + 32u * (q & 1u)) >> (4u * (q / 2u))) & 15u;
				uint hi = (cb_u8(b + 128u + 32u * h + l) >> (2u * q)) & 3u;
				float v = float(lo | (hi << 4));
				[[unroll]] for (uint c = 0; c < N_COLS; c++) t[c * ILP + i % ILP] += v * x_at(c, 256u * sb + 16u * g + i);
			}
			float ds = d * float(cb_i8(b + 192u + 8u * h + 2u * q + g % 2u));
			[[unroll]] for (uint c = 0; c < N_COLS; c++)
				s[c] += ds * (ILP_SUM(t, c) - 32.0 * xsum16(c, 16u * sb + g));
		}
	}
}

#elif defined(WTYPE_F16) || defined(WTYPE_BF16)
// two values to a word, the lower first; a bf16 is the top half of an f32
void chunk_dot(inout float s[N_COLS])
{
	float t[N_COLS * ILP];
	ILP_ZERO(t);
	[[unroll]] for (uint i = 0; i < CHUNK; i += 2u) {
		need_bytes(2u * i, 2u * i + 4u);
#ifdef WTYPE_BF16
		vec2 v = vec2(uintBitsToFloat(wq[i / 2u] << 16), uintBitsToFloat(wq[i / 2u] & 0xFFFF0000u));
#else
		vec2 v = unpackHalf2x16(wq[i / 2u]);
#endif
		[[unroll]] for (uint c = 0; c < N_COLS; c++) {
			t[c * ILP + i % ILP] += v.x * x_at(c, i);
			t[c * ILP + (i + 1u) % ILP] += v.y * x_at(c, i + 1u);
		}
	}
	[[unroll]] for (uint c = 0; c < N_COLS; c++) s[c] += ILP_SUM(t, c);
}

#elif defined(WTYPE_F32)
void chunk_dot(inout float s[N_COLS])
{
	float t[N_COLS * ILP];
	ILP_ZERO(t);
	[[unroll]] for (uint i = 0; i < CHUNK; i++) {
		need_bytes(4u * i, 4u * i + 4u);
		[[unroll]] for (uint c = 0; c < N_COLS; c++) t[c * ILP + i % ILP] += uintBitsToFloat(wq[i]) * x_at(c, i);
	}
	[[unroll]] for (uint c = 0; c < N_COLS; c++) s[c] += ILP_SUM(t, c);
}
#endif

#endif
