// SPDX-License-Identifier: MIT
// Weight decoding in registers: every ggml type read as "units" of 32 consecutive values of a row,
// so one loop serves all of them. A unit is a whole block for the 32-element types (Q4_0 ... Q8_0,
// MXFP4), an eighth of a super-block for the K-quants (Q4_K and Q5_K sub-blocks; two of Q6_K's,
// Q2_K's and Q3_K's 16-element groups), and 32 plain values for F32, F16 and BF16.
//
// The includer defines exactly one WTYPE_* and declares the weight buffer as `W` with one of:
//   WTYPE_F32:            float    W[]
//   every other type:     uint16_t W[]   (blocks are 2-byte aligned except MXFP4's 17 bytes;
//                                          bytes are read out of 16-bit words, so any offset works)
// decode_unit(row_byte, unit, v) fills v[0..31] with the unit's values in row order; row_byte is
// the byte offset of the row in W (row * row_bytes; even for every type but MXFP4).
// Layouts are ggml's (ggml-common.h); loader/quant.c is the CPU twin and tests compare the two.

#ifndef VKLLM_BLOCKS_GLSL
#define VKLLM_BLOCKS_GLSL

#if !defined(WTYPE_F32)
uint w_u16(uint byte_off) { return uint(W[byte_off >> 1]); }
uint w_u8(uint byte_off) { return (uint(W[byte_off >> 1]) >> ((byte_off & 1u) << 3)) & 0xFFu; }
float w_half(uint byte_off) { return unpackHalf2x16(w_u16(byte_off)).x; }
// a little-endian u32 at an even offset
uint w_u32(uint byte_off) { return w_u16(byte_off) | (w_u16(byte_off + 2u) << 16); }
int w_i8(uint byte_off) { return int(w_u8(byte_off) << 24) >> 24; }
#endif

#if defined(WTYPE_F32)
const uint BLOCK_VALUES = 1, BLOCK_BYTES = 4;
void decode_unit(uint row_byte, uint unit, out float v[32])
{
	uint base = (row_byte >> 2) + unit * 32u;
	for (uint i = 0; i < 32u; i++) v[i] = W[base + i];
}

#elif defined(WTYPE_F16)
const uint BLOCK_VALUES = 1, BLOCK_BYTES = 2;
void decode_unit(uint row_byte, uint unit, out float v[32])
{
	uint base = (row_byte >> 1) + unit * 32u;
	for (uint i = 0; i < 32u; i += 2u) {
		vec2 h = unpackHalf2x16(uint(W[base + i]) | (uint(W[base + i + 1u]) << 16));
		v[i] = h.x;
		v[i + 1u] = h.y;
	}
}

#elif defined(WTYPE_BF16)
const uint BLOCK_VALUES = 1, BLOCK_BYTES = 2;
void decode_unit(uint row_byte, uint unit, out float v[32])
{
	uint base = (row_byte >> 1) + unit * 32u;
	for (uint i = 0; i < 32u; i++) v[i] = uintBitsToFloat(uint(W[base + i]) << 16);
}

#elif defined(WTYPE_Q4_0)
// { f16 d; u8 qs[16] }: value j = (qs[j] & 15) - 8, value j+16 = (qs[j] >> 4) - 8, times d
const uint BLOCK_VALUES = 32, BLOCK_BYTES = 18;
void decode_unit(uint row_byte, uint unit, out float v[32])
{
	uint b = row_byte + unit * BLOCK_BYTES;
	float d = w_half(b);
	for (uint j = 0; j < 16u; j += 2u) {
		uint q = w_u16(b + 2u + j);
		v[j] = float(int(q & 15u) - 8) * d;
		v[j + 16u] = float(int((q >> 4) & 15u) - 8) * d;
		v[j + 1u] = float(int((q >> 8) & 15u) - 8) * d;
		v[j + 17u] = float(int(q >> 12) - 8) * d;
	}
}

#elif defined(WTYPE_Q4_1)
// { f16 d; f16 m; u8 qs[16] }: value = nibble * d + m
const uint BLOCK_VALUES = 32, BLOCK_BYTES = 20;
void decode_unit(uint row_byte, uint unit, out float v[32])
{
	uint b = row_byte + unit * BLOCK_BYTES;
	float d = w_half(b), m = w_half(b + 2u);
	for (uint j = 0; j < 16u; j += 2u) {
		uint q = w_u16(b + 4u + j);
		v[j] = float(q & 15u) * d + m;
		v[j + 16u] = float((q >> 4) & 15u) * d + m;
		v[j + 1u] = float((q >> 8) & 15u) * d + m;
		v[j + 17u] = float(q >> 12) * d + m;
	}
}

#elif defined(WTYPE_Q5_0)
// { f16 d; u32 qh; u8 qs[16] }: 5th bit of value j is qh bit j, of value j+16 qh bit j+16; minus 16
const uint BLOCK_VALUES = 32, BLOCK_BYTES = 22;
void decode_unit(uint row_byte, uint unit, out float v[32])
{
	uint b = row_byte + unit * BLOCK_BYTES;
	float d = w_half(b);
	uint qh = w_u32(b + 2u);
	for (uint j = 0; j < 16u; j++) {
		uint q = w_u8(b + 6u + j);
		v[j] = float(int((q & 15u) | (((qh >> j) & 1u) << 4)) - 16) * d;
		v[j + 16u] = float(int((q >> 4) | (((qh >> (j + 16u)) & 1u) << 4)) - 16) * d;
	}
}

#elif defined(WTYPE_Q5_1)
// { f16 d; f16 m; u32 qh; u8 qs[16] }: as Q5_0 without the -16, then * d + m
const uint BLOCK_VALUES = 32, BLOCK_BYTES = 24;
void decode_unit(uint row_byte, uint unit, out float v[32])
{
	uint b = row_byte + unit * BLOCK_BYTES;
	float d = w_half(b), m = w_half(b + 2u);
	uint qh = w_u32(b + 4u);
	for (uint j = 0; j < 16u; j++) {
		uint q = w_u8(b + 8u + j);
		v[j] = float((q & 15u) | (((qh >> j) & 1u) << 4)) * d + m;
		v[j + 16u] = float((q >> 4) | (((qh >> (j + 16u)) & 1u) << 4)) * d + m;
	}
}

#elif defined(WTYPE_Q8_0)
// { f16 d; i8 qs[32] }
const uint BLOCK_VALUES = 32, BLOCK_BYTES = 34;
void decode_unit(uint row_byte, uint unit, out float v[32])
{
	uint b = row_byte + unit * BLOCK_BYTES;
	float d = w_half(b);
	for (uint j = 0; j < 32u; j += 2u) {
		uint q = w_u16(b + 2u + j);
		v[j] = float(int(q << 24) >> 24) * d;
		v[j + 1u] = float(int(q << 16) >> 24) * d;
	}
}

#elif defined(WTYPE_MXFP4)
// { u8 e (E8M0); u8 qs[16] }: E2M1 values doubled, times 2^(e - 128)
// The codes are decoded by arithmetic, not by indexing a constant table: a dynamically indexed array
// is lowered to per-invocation memory by many compilers (llvmpipe: a gather loop per value). The
// doubled magnitudes 0, 1, 2, 3, 4, 6, 8, 12 are the nibbles of MXFP4_MAGS, bit 3 is the sign.
// The 16 code bytes are read as 16-bit words (9 when they start on an odd byte: 17-byte blocks).
const uint BLOCK_VALUES = 32, BLOCK_BYTES = 17;
const uint MXFP4_MAGS = 0xC8643210u;
float mxfp4_code(uint c) { return float(int((MXFP4_MAGS >> ((c & 7u) << 2)) & 15u) * (1 - int((c >> 2) & 2u))); }
void decode_unit(uint row_byte, uint unit, out float v[32])
{
	uint b = row_byte + unit * BLOCK_BYTES;
	float d = ldexp(1.0, int(w_u8(b)) - 128);
	uint q0 = b + 1u, a = q0 >> 1, s = (q0 & 1u) << 3; // qs starts at word a, s bits in
	uint wv[9];
	for (uint i = 0; i < 8u; i++) wv[i] = uint(W[a + i]);
	wv[8] = uint(W[a + 7u + (s >> 3)]); // the ninth word only when qs is odd-aligned (else a repeat)
	for (uint j = 0; j < 8u; j++) {
		uint q = ((wv[j] | (wv[j + 1u] << 16)) >> s) & 0xFFFFu; // code bytes 2j and 2j + 1
		v[2u * j] = mxfp4_code(q) * d;
		v[2u * j + 16u] = mxfp4_code(q >> 4) * d;
		v[2u * j + 1u] = mxfp4_code(q >> 8) * d;
		v[2u * j + 17u] = mxfp4_code(q >> 12) * d;
	}
}

#else // the K-quants: 256-value super-blocks, 8 units each

#if defined(WTYPE_Q4_K) || defined(WTYPE_Q5_K)
// 6-bit scale and min of sub-block j from the 12 packed bytes at s (ggml's get_scale_min_k4)
void scale_min_k4(uint s, uint j, out float sc, out float mn)
{
	if (j < 4u) {
		sc = float(w_u8(s + j) & 63u);
		mn = float(w_u8(s + j + 4u) & 63u);
	} else {
		sc = float((w_u8(s + j + 4u) & 15u) | ((w_u8(s + j - 4u) >> 6) << 4));
		mn = float((w_u8(s + j + 4u) >> 4) | ((w_u8(s + j) >> 6) << 4));
	}
}
#endif

#if defined(WTYPE_Q4_K)
// { f16 d; f16 dmin; u8 scales[12]; u8 qs[128] }: unit s uses qs[32*(s/2) + l], the low nibble
// for even s and the high nibble for odd s; value = d*sc*q - dmin*m
const uint BLOCK_VALUES = 256, BLOCK_BYTES = 144;
void decode_unit(uint row_byte, uint unit, out float v[32])
{
	uint b = row_byte + (unit >> 3) * BLOCK_BYTES, s = unit & 7u;
	float sc, mn;
	scale_min_k4(b + 4u, s, sc, mn);
	float d = w_half(b) * sc, m = w_half(b + 2u) * mn;
	uint q0 = b + 16u + 32u * (s >> 1), shift = (s & 1u) * 4u;
	for (uint l = 0; l < 32u; l += 2u) {
		uint q = w_u16(q0 + l);
		v[l] = d * float((q >> shift) & 15u) - m;
		v[l + 1u] = d * float((q >> (8u + shift)) & 15u) - m;
	}
}

#elif defined(WTYPE_Q5_K)
// { f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128] }: as Q4_K plus a 5th bit, bit s of qh[l]
const uint BLOCK_VALUES = 256, BLOCK_BYTES = 176;
void decode_unit(uint row_byte, uint unit, out float v[32])
{
	uint b = row_byte + (unit >> 3) * BLOCK_BYTES, s = unit & 7u;
	float sc, mn;
	scale_min_k4(b + 4u, s, sc, mn);
	float d = w_half(b) * sc, m = w_half(b + 2u) * mn;
	uint q0 = b + 48u + 32u * (s >> 1), shift = (s & 1u) * 4u;
	for (uint l = 0; l < 32u; l++) {
		uint q = ((w_u8(q0 + l) >> shift) & 15u) | (((w_u8(b + 16u + l) >> s) & 1u) << 4);
		v[l] = d * float(q) - m;
	}
}

#elif defined(WTYPE_Q6_K)
// { u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d } (d last). Unit s: half h = s/4, quarter q = s%4;
// value l: low 4 bits from ql[64h + l + 32(q&1)] (low nibble for q < 2, high for q >= 2), high 2
// bits from qh[32h + l] >> 2q, scale scales[8h + 2q + l/16]; value = d * scale * (q6 - 32)
const uint BLOCK_VALUES = 256, BLOCK_BYTES = 210;
void decode_unit(uint row_byte, uint unit, out float v[32])
{
	uint b = row_byte + (unit >> 3) * BLOCK_BYTES, s = unit & 7u, h = s >> 2, q = s & 3u;
	float d = w_half(b + 208u);
	uint ql0 = b + 64u * h + 32u * (q & 1u), qh0 = b + 128u + 32u * h, shift_l = (q >> 1) * 4u, shift_h = 2u * q;
	float d0 = d * float(w_i8(b + 192u + 8u * h + 2u * q)), d1 = d * float(w_i8(b + 192u + 8u * h + 2u * q + 1u));
	for (uint l = 0; l < 32u; l++) {
		int q6 = int(((w_u8(ql0 + l) >> shift_l) & 15u) | (((w_u8(qh0 + l) >> shift_h) & 3u) << 4)) - 32;
		v[l] = (l < 16u ? d0 : d1) * float(q6);
	}
}

#elif defined(WTYPE_Q2_K)
// { u8 scales[16]; u8 qs[64]; f16 d; f16 dmin }: unit s: half h = s/4, j = s%4; value l is
// (qs[32h + l] >> 2j) & 3, scale byte scales[8h + 2j + l/16]: d*(sc & 15)*q - dmin*(sc >> 4)
const uint BLOCK_VALUES = 256, BLOCK_BYTES = 84;
void decode_unit(uint row_byte, uint unit, out float v[32])
{
	uint b = row_byte + (unit >> 3) * BLOCK_BYTES, s = unit & 7u, h = s >> 2, j = s & 3u;
	float d = w_half(b + 80u), dmin = w_half(b + 82u);
	uint sc0 = w_u8(b + 8u * h + 2u * j), sc1 = w_u8(b + 8u * h + 2u * j + 1u);
	for (uint l = 0; l < 32u; l++) {
		uint sc = l < 16u ? sc0 : sc1;
		uint q = (w_u8(b + 16u + 32u * h + l) >> (2u * j)) & 3u;
		v[l] = d * float(sc & 15u) * float(q) - dmin * float(sc >> 4);
	}
}

#elif defined(WTYPE_Q3_K)
// { u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d }: unit s: half h = s/4, j = s%4; value l is
// ((qs[32h + l] >> 2j) & 3) - (hmask[l] bit s ? 0 : 4), times d*(scale - 32); the 16 6-bit
// scales are packed: low 4 bits of scale i in byte i%8 (nibble i/8), high 2 bits in byte 8 + i%4
// (bits 2*(i/4))
const uint BLOCK_VALUES = 256, BLOCK_BYTES = 110;
float q3k_scale(uint sb, uint i)
{
	uint lo = (w_u8(sb + (i & 7u)) >> (4u * (i >> 3))) & 15u;
	uint hi = (w_u8(sb + 8u + (i & 3u)) >> (2u * (i >> 2))) & 3u;
	return float(int(lo | (hi << 4)) - 32);
}
void decode_unit(uint row_byte, uint unit, out float v[32])
{
	uint b = row_byte + (unit >> 3) * BLOCK_BYTES, s = unit & 7u, h = s >> 2, j = s & 3u;
	float d = w_half(b + 108u);
	float d0 = d * q3k_scale(b + 96u, 8u * h + 2u * j), d1 = d * q3k_scale(b + 96u, 8u * h + 2u * j + 1u);
	for (uint l = 0; l < 32u; l++) {
		int q = int((w_u8(b + 32u + 32u * h + l) >> (2u * j)) & 3u) - (((w_u8(b + l) >> s) & 1u) != 0u ? 0 : 4);
		v[l] = (l < 16u ? d0 : d1) * float(q);
	}
}

#else
#error "blocks.glsl: define one WTYPE_*"
#endif
#endif // K-quants

#endif
