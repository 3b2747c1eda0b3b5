/* CPU dequantization and reference quantization of ggml's tensor types (quant.h).
 *
 * Two promises, both checked by tests/loader/test_quant_witness.c against llama.cpp's own
 * ggml-quants.c:
 *  - dequantization gives the same floats, bit for bit, as llama.cpp's dequantize_row_*;
 *  - quantization writes the same bytes as llama.cpp's quantize_row_*_ref (which is also what
 *    llama-quantize runs when it has no importance matrix).
 * The second promise is fragile: the quantizers search for scales with float arithmetic, and one
 * ulp of difference in a sum can flip a rounding and change a byte. So every expression below
 * keeps llama.cpp's operand order, its float (never double) intermediates, its integer types and
 * its conversions (even the narrowing ones), and nothing may be "simplified". The file must be
 * built without floating-point contraction: gcc's ISO modes (-std=c11) already turn it off; the
 * pragma does so for clang, which would otherwise fuse a*b+c into one fma.
 *
 * Block layouts are little-endian, as in GGUF files; every multi-byte field is read and written
 * byte by byte, so the code does not depend on the host's byte order. */
#include "quant.h"

#include <assert.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "base/status.h"
#include "half.h"

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

#define QK 32   /* elements per block of the legacy formats and of mxfp4 */
#define QK_K 256 /* elements per super-block of the k-quants */

/* A group whose largest |x| is below this is treated as all zeros by the k-quant searches. */
#define GROUP_EPS 1e-15f

static inline int imin(int a, int b) { return a < b ? a : b; }
static inline int imax(int a, int b) { return a > b ? a : b; }
static inline int iclamp(int v, int lo, int hi) { return imax(lo, imin(hi, v)); }

/* Little-endian f16 fields. */
static inline float ld_half(const uint8_t p[2]) { return half_to_f32((uint16_t)(p[0] | p[1] << 8)); }
static inline void st_half(uint8_t p[2], float f)
{
	uint16_t h = f32_to_half(f);
	p[0] = (uint8_t)h;
	p[1] = (uint8_t)(h >> 8);
}

/* Round to nearest, ties to even, by letting the FPU do it: adding 1.5 * 2^23 leaves the rounded
 * integer in the low mantissa bits. Right for |f| < 2^22; beyond that (and for inf and NaN, which
 * blocks whose scales overflow produce) it returns the same meaningless bits llama.cpp's version
 * does, which the byte-exact promise needs too. The k-quant searches depend on the ties-to-even
 * rounding (roundf would round ties away from zero). */
static inline int round_nearest(float f)
{
	float biased = f + 12582912.f;
	int32_t bits;
	memcpy(&bits, &biased, sizeof bits);
	return (bits & 0x007fffff) - 0x00400000;
}

/* Float to integer as llama.cpp's x86-64 builds convert: truncate toward zero to 32 bits, with
 * NaN and out-of-range values giving INT32_MIN (the instruction's "integer indefinite"), and the
 * caller keeps the low bits. The legacy quantizers convert v + 8.5 and the like straight to int8_t;
 * when a block is so small that 1 / d overflows, v is inf or NaN, C leaves the conversion undefined,
 * and compilers differ (clang gives other bytes than gcc). Spelling it out makes those blocks come
 * out as llama.cpp writes them whichever compiler builds vkllm. (Their f16 d is 0 there anyway, so
 * only the bytes, never the values, depended on it.) */
static inline int32_t trunc_i32(float f)
{
	if (!(f >= -2147483648.0f && f < 2147483648.0f)) return INT32_MIN;
	return (int32_t)f;
}

/* ======================================================================================== f32 */

static void dequant_f32(const void *src, float *dst, uint64_t n) { memcpy(dst, src, n * sizeof(float)); }
static void quant_f32(const float *src, void *dst, uint64_t n) { memcpy(dst, src, n * sizeof(float)); }

/* ======================================================================================== f16 */

static void dequant_f16(const void *src, float *dst, uint64_t n)
{
	const uint8_t *p = src;
	for (uint64_t i = 0; i < n; i++) {
		float f = ld_half(p + 2 * i);
		/* llama.cpp widens a half with a float multiplication, which quiets a signaling NaN;
		 * half_to_f32 moves the bits unchanged, so set the quiet bit as that would. */
		if (isnan(f)) {
			uint32_t u;
			memcpy(&u, &f, 4);
			u |= 0x00400000u;
			memcpy(&f, &u, 4);
		}
		dst[i] = f;
	}
}

static void quant_f16(const float *src, void *dst, uint64_t n)
{
	uint8_t *p = dst;
	for (uint64_t i = 0; i < n; i++)
		st_half(p + 2 * i, src[i]);
}

/* ======================================================================================= bf16 */

static void dequant_bf16(const void *src, float *dst, uint64_t n)
{
	const uint8_t *p = src;
	for (uint64_t i = 0; i < n; i++)
		dst[i] = bf16_to_f32((uint16_t)(p[2 * i] | p[2 * i + 1] << 8));
}

static void quant_bf16(const float *src, void *dst, uint64_t n)
{
	uint8_t *p = dst;
	for (uint64_t i = 0; i < n; i++) {
		uint16_t h = f32_to_bf16(src[i]);
		p[2 * i] = (uint8_t)h;
		p[2 * i + 1] = (uint8_t)(h >> 8);
	}
}

/* ======================================================================================= q4_0 */
/* x = d * (q - 8), q in 0..15. Element j of the block is in the low nibble of qs[j], element
 * j + 16 in the high one. */

struct blk_q4_0 {
	uint8_t d[2];
	uint8_t qs[QK / 2];
};
static_assert(sizeof(struct blk_q4_0) == 18, "q4_0 block");

static void dequant_q4_0(const void *src, float *dst, uint64_t nb)
{
	const struct blk_q4_0 *b = src;
	for (uint64_t i = 0; i < nb; i++, b++, dst += QK) {
		const float d = ld_half(b->d);
		for (int j = 0; j < QK / 2; j++) {
			const int lo = (b->qs[j] & 0x0f) - 8, hi = (b->qs[j] >> 4) - 8;
			dst[j] = lo * d;
			dst[j + QK / 2] = hi * d;
		}
	}
}

static void quant_q4_0(const float *x, void *dst, uint64_t nb)
{
	struct blk_q4_0 *b = dst;
	for (uint64_t i = 0; i < nb; i++, b++, x += QK) {
		/* The value of largest magnitude, with its sign, maps to q = 0 exactly (d = max / -8),
		 * which buys one extra level on that side. */
		float amax = 0.0f, max = 0.0f;
		for (int j = 0; j < QK; j++) {
			if (amax < fabsf(x[j])) {
				amax = fabsf(x[j]);
				max = x[j];
			}
		}
		const float d = max / -8;
		const float id = d ? 1.0f / d : 0.0f;
		st_half(b->d, d);
		for (int j = 0; j < QK / 2; j++) {
			const float v0 = x[j] * id, v1 = x[j + QK / 2] * id;
			/* truncation of v + 8.5 through int8_t, as llama.cpp converts */
			const uint8_t q0 = (uint8_t)imin(15, (int8_t)trunc_i32(v0 + 8.5f));
			const uint8_t q1 = (uint8_t)imin(15, (int8_t)trunc_i32(v1 + 8.5f));
			b->qs[j] = (uint8_t)(q0 | q1 << 4);
		}
	}
}

/* ======================================================================================= q4_1 */
/* x = d * q + m, q in 0..15, same nibble order as q4_0. */

struct blk_q4_1 {
	uint8_t d[2], m[2];
	uint8_t qs[QK / 2];
};
static_assert(sizeof(struct blk_q4_1) == 20, "q4_1 block");

static void dequant_q4_1(const void *src, float *dst, uint64_t nb)
{
	const struct blk_q4_1 *b = src;
	for (uint64_t i = 0; i < nb; i++, b++, dst += QK) {
		const float d = ld_half(b->d), m = ld_half(b->m);
		for (int j = 0; j < QK / 2; j++) {
			const int lo = b->qs[j] & 0x0f, hi = b->qs[j] >> 4;
			dst[j] = lo * d + m;
			dst[j + QK / 2] = hi * d + m;
		}
	}
}

static void quant_q4_1(const float *x, void *dst, uint64_t nb)
{
	struct blk_q4_1 *b = dst;
	for (uint64_t i = 0; i < nb; i++, b++, x += QK) {
		float min = FLT_MAX, max = -FLT_MAX;
		for (int j = 0; j < QK; j++) {
			if (x[j] < min) min = x[j];
			if (x[j] > max) max = x[j];
		}
		const float d = (max - min) / 15;
		const float id = d ? 1.0f / d : 0.0f;
		st_half(b->d, d);
		st_half(b->m, min);
		for (int j = 0; j < QK / 2; j++) {
			const float v0 = (x[j] - min) * id, v1 = (x[j + QK / 2] - min) * id;
			const uint8_t q0 = (uint8_t)imin(15, (int8_t)trunc_i32(v0 + 0.5f));
			const uint8_t q1 = (uint8_t)imin(15, (int8_t)trunc_i32(v1 + 0.5f));
			b->qs[j] = (uint8_t)(q0 | q1 << 4);
		}
	}
}

/* ======================================================================================= q5_0 */
/* x = d * (q - 16), q in 0..31: the low four bits as in q4_0, bit 4 of element j in bit j of the
 * little-endian 32-bit word qh. */

struct blk_q5_0 {
	uint8_t d[2];
	uint8_t qh[4];
	uint8_t qs[QK / 2];
};
static_assert(sizeof(struct blk_q5_0) == 22, "q5_0 block");

static inline uint32_t ld_u32(const uint8_t p[4])
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void st_u32(uint8_t p[4], uint32_t v)
{
	for (int k = 0; k < 4; k++)
		p[k] = (uint8_t)(v >> (8 * k));
}

static void dequant_q5_0(const void *src, float *dst, uint64_t nb)
{
	const struct blk_q5_0 *b = src;
	for (uint64_t i = 0; i < nb; i++, b++, dst += QK) {
		const float d = ld_half(b->d);
		const uint32_t qh = ld_u32(b->qh);
		for (int j = 0; j < QK / 2; j++) {
			const int lo = ((b->qs[j] & 0x0f) | (int)((qh >> j) << 4 & 0x10)) - 16;
			const int hi = ((b->qs[j] >> 4) | (int)((qh >> (j + 12)) & 0x10)) - 16;
			dst[j] = lo * d;
			dst[j + QK / 2] = hi * d;
		}
	}
}

static void quant_q5_0(const float *x, void *dst, uint64_t nb)
{
	struct blk_q5_0 *b = dst;
	for (uint64_t i = 0; i < nb; i++, b++, x += QK) {
		float amax = 0.0f, max = 0.0f;
		for (int j = 0; j < QK; j++) {
			if (amax < fabsf(x[j])) {
				amax = fabsf(x[j]);
				max = x[j];
			}
		}
		const float d = max / -16;
		const float id = d ? 1.0f / d : 0.0f;
		st_half(b->d, d);
		uint32_t qh = 0;
		for (int j = 0; j < QK / 2; j++) {
			const float v0 = x[j] * id, v1 = x[j + QK / 2] * id;
			const uint8_t q0 = (uint8_t)imin(31, (int8_t)trunc_i32(v0 + 16.5f));
			const uint8_t q1 = (uint8_t)imin(31, (int8_t)trunc_i32(v1 + 16.5f));
			b->qs[j] = (uint8_t)((q0 & 0x0f) | (q1 & 0x0f) << 4);
			qh |= (uint32_t)(q0 >> 4 & 1) << j;
			qh |= (uint32_t)(q1 >> 4 & 1) << (j + QK / 2);
		}
		st_u32(b->qh, qh);
	}
}

/* ======================================================================================= q5_1 */
/* x = d * q + m, q in 0..31, bits as in q5_0. */

struct blk_q5_1 {
	uint8_t d[2], m[2];
	uint8_t qh[4];
	uint8_t qs[QK / 2];
};
static_assert(sizeof(struct blk_q5_1) == 24, "q5_1 block");

static void dequant_q5_1(const void *src, float *dst, uint64_t nb)
{
	const struct blk_q5_1 *b = src;
	for (uint64_t i = 0; i < nb; i++, b++, dst += QK) {
		const float d = ld_half(b->d), m = ld_half(b->m);
		const uint32_t qh = ld_u32(b->qh);
		for (int j = 0; j < QK / 2; j++) {
			const int lo = (b->qs[j] & 0x0f) | (int)((qh >> j) << 4 & 0x10);
			const int hi = (b->qs[j] >> 4) | (int)((qh >> (j + 12)) & 0x10);
			dst[j] = lo * d + m;
			dst[j + QK / 2] = hi * d + m;
		}
	}
}

static void quant_q5_1(const float *x, void *dst, uint64_t nb)
{
	struct blk_q5_1 *b = dst;
	for (uint64_t i = 0; i < nb; i++, b++, x += QK) {
		float min = FLT_MAX, max = -FLT_MAX;
		for (int j = 0; j < QK; j++) {
			if (x[j] < min) min = x[j];
			if (x[j] > max) max = x[j];
		}
		const float d = (max - min) / 31;
		const float id = d ? 1.0f / d : 0.0f;
		st_half(b->d, d);
		st_half(b->m, min);
		uint32_t qh = 0;
		for (int j = 0; j < QK / 2; j++) {
			const float v0 = (x[j] - min) * id, v1 = (x[j + QK / 2] - min) * id;
			/* no clamp to 31 here, unlike q4_1: llama.cpp converts straight to uint8_t */
			const uint8_t q0 = (uint8_t)trunc_i32(v0 + 0.5f);
			const uint8_t q1 = (uint8_t)trunc_i32(v1 + 0.5f);
			b->qs[j] = (uint8_t)((q0 & 0x0f) | (q1 & 0x0f) << 4);
			qh |= (uint32_t)(q0 >> 4 & 1) << j;
			qh |= (uint32_t)(q1 >> 4 & 1) << (j + QK / 2);
		}
		st_u32(b->qh, qh);
	}
}

/* ======================================================================================= q8_0 */
/* x = d * q, q a signed byte in -127..127. */

struct blk_q8_0 {
	uint8_t d[2];
	int8_t qs[QK];
};
static_assert(sizeof(struct blk_q8_0) == 34, "q8_0 block");

static void dequant_q8_0(const void *src, float *dst, uint64_t nb)
{
	const struct blk_q8_0 *b = src;
	for (uint64_t i = 0; i < nb; i++, b++, dst += QK) {
		const float d = ld_half(b->d);
		for (int j = 0; j < QK; j++)
			dst[j] = b->qs[j] * d;
	}
}

static void quant_q8_0(const float *x, void *dst, uint64_t nb)
{
	struct blk_q8_0 *b = dst;
	for (uint64_t i = 0; i < nb; i++, b++, x += QK) {
		float amax = 0.0f;
		for (int j = 0; j < QK; j++) {
			const float a = fabsf(x[j]);
			amax = amax > a ? amax : a; /* not fmaxf: the order decides what a NaN does */
		}
		const float d = amax / 127;
		const float id = d ? 1.0f / d : 0.0f;
		st_half(b->d, d);
		/* roundf (ties away from zero), as the reference does; the CPU backend's own SIMD
		 * quantizer for activations rounds ties to even and may differ in the last bit */
		for (int j = 0; j < QK; j++)
			b->qs[j] = (int8_t)trunc_i32(roundf(x[j] * id));
	}
}

/* ====================================================================================== mxfp4 */
/* OCP microscaling fp4: 32 E2M1 values sharing a power-of-two scale 2^(e - 127) (E8M0). The
 * codes are stored doubled (E2M1 value 0.5 is code value 1), so the scale applied is half of
 * 2^(e - 127). Nibble order as in q4_0. */

struct blk_mxfp4 {
	uint8_t e;
	uint8_t qs[QK / 2];
};
static_assert(sizeof(struct blk_mxfp4) == 17, "mxfp4 block");

/* E2M1 codes 0..15 times two: 0, 0.5, 1, 1.5, 2, 3, 4, 6 and their negatives. */
static const int8_t fp4_doubled[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

/* 2^(e - 128) for e >= 2; e = 0 and 1 give the subnormals 2^-128 and 2^-127. e = 255 (NaN in the
 * OCP spec) is not special-cased, as in llama.cpp. */
static inline float e8m0_half(uint8_t e)
{
	uint32_t bits = e < 2 ? 0x00200000u << e : (uint32_t)(e - 1) << 23;
	float f;
	memcpy(&f, &bits, 4);
	return f;
}

static void dequant_mxfp4(const void *src, float *dst, uint64_t nb)
{
	const struct blk_mxfp4 *b = src;
	for (uint64_t i = 0; i < nb; i++, b++, dst += QK) {
		const float d = e8m0_half(b->e);
		for (int j = 0; j < QK / 2; j++) {
			dst[j] = fp4_doubled[b->qs[j] & 0x0f] * d;
			dst[j + QK / 2] = fp4_doubled[b->qs[j] >> 4] * d;
		}
	}
}

/* The code nearest to x / d, by exhaustive search; the first of equally near codes wins (so +0
 * beats -0, and ties go to the smaller magnitude). */
static int fp4_nearest(float x, float d)
{
	int best = 0;
	float best_err = fabsf(fp4_doubled[0] * d - x);
	for (int k = 1; k < 16; k++) {
		const float err = fabsf(fp4_doubled[k] * d - x);
		if (err < best_err) {
			best = k;
			best_err = err;
		}
	}
	return best;
}

static void quant_mxfp4(const float *x, void *dst, uint64_t nb)
{
	struct blk_mxfp4 *b = dst;
	for (uint64_t i = 0; i < nb; i++, b++, x += QK) {
		float amax = 0.0f;
		for (int j = 0; j < QK; j++)
			if (amax < fabsf(x[j])) amax = fabsf(x[j]);
		/* The scale puts amax in [4, 8) code units, i.e. near the top code 6 (= 12 doubled), and
		 * may clip values above 6. The float expression is llama.cpp's: for amax below 2^-125 it
		 * is negative and wraps to e >= 232, a huge scale, as there. */
		const uint8_t e = amax > 0.0f ? (uint8_t)trunc_i32(floorf(log2f(amax)) - 2 + 127) : 0;
		const float d = e8m0_half(e);
		b->e = e;
		for (int j = 0; j < QK / 2; j++) {
			const uint8_t q0 = (uint8_t)fp4_nearest(x[j], d);
			const uint8_t q1 = (uint8_t)fp4_nearest(x[j + QK / 2], d);
			b->qs[j] = (uint8_t)(q0 | q1 << 4);
		}
	}
}

/* ================================================================ k-quant scale searches */
/* The k-quants split a 256-element super-block into groups of 16 or 32, pick a scale (and for
 * the affine ones a min) per group by a small search, then quantize the group scales themselves
 * against one f16 super-scale. These three searches are llama.cpp's, with the parameters its
 * reference quantizers pass (no importance weights). */

/* Symmetric search (q6_K): signed levels -nmax..nmax-1 with weights x^2, trying 19 scales
 * around nmax / max and keeping the one of least weighted squared error. Returns the scale;
 * L[i] = level + nmax. */
static float search_symmetric(int n, int nmax, const float *x, int8_t *L)
{
	float max = 0, amax = 0;
	for (int i = 0; i < n; i++) {
		const float ax = fabsf(x[i]);
		if (ax > amax) {
			amax = ax;
			max = x[i];
		}
	}
	if (amax < GROUP_EPS) {
		for (int i = 0; i < n; i++) L[i] = 0;
		return 0.f;
	}
	float iscale = -nmax / max;
	float sumlx = 0, suml2 = 0;
	for (int i = 0; i < n; i++) {
		const int l = iclamp(round_nearest(iscale * x[i]), -nmax, nmax - 1);
		L[i] = (int8_t)(l + nmax);
		const float w = x[i] * x[i];
		sumlx += w * x[i] * l;
		suml2 += w * l * l;
	}
	float scale = suml2 ? sumlx / suml2 : 0.0f;
	float best = scale * sumlx;
	for (int step = -9; step <= 9; step++) {
		if (step == 0) continue;
		iscale = -(nmax + 0.1f * step) / max;
		sumlx = suml2 = 0;
		for (int i = 0; i < n; i++) {
			const int l = iclamp(round_nearest(iscale * x[i]), -nmax, nmax - 1);
			const float w = x[i] * x[i];
			sumlx += w * x[i] * l;
			suml2 += w * l * l;
		}
		/* sumlx^2 / suml2 is the error reduction of the least-squares scale: bigger is better */
		if (suml2 > 0 && sumlx * sumlx > best * suml2) {
			for (int i = 0; i < n; i++)
				L[i] = (int8_t)(nmax + iclamp(round_nearest(iscale * x[i]), -nmax, nmax - 1));
			scale = sumlx / suml2;
			best = scale * sumlx;
		}
	}
	return scale;
}

/* Symmetric search by coordinate descent (q3_K): start from nmax / max, then move single levels
 * while that improves the weighted (x^2) least-squares fit, at most five sweeps. Returns the
 * scale; L[i] = level + nmax. */
static float search_symmetric_descent(int n, int nmax, const float *x, int8_t *L)
{
	float max = 0, amax = 0;
	for (int i = 0; i < n; i++) {
		const float ax = fabsf(x[i]);
		if (ax > amax) {
			amax = ax;
			max = x[i];
		}
	}
	if (amax < GROUP_EPS) {
		for (int i = 0; i < n; i++) L[i] = 0;
		return 0.f;
	}
	const float iscale = -nmax / max;
	float sumlx = 0, suml2 = 0;
	for (int i = 0; i < n; i++) {
		const int l = iclamp(round_nearest(iscale * x[i]), -nmax, nmax - 1);
		L[i] = (int8_t)l;
		const float w = x[i] * x[i];
		sumlx += w * x[i] * l;
		suml2 += w * l * l;
	}
	for (int sweep = 0; sweep < 5; sweep++) {
		int changed = 0;
		for (int i = 0; i < n; i++) {
			const float w = x[i] * x[i];
			float slx = sumlx - w * x[i] * L[i];
			if (slx > 0) {
				float sl2 = suml2 - w * L[i] * L[i];
				/* the level that is best for x[i] given the fit of all the others */
				int l = iclamp(round_nearest(x[i] * sl2 / slx), -nmax, nmax - 1);
				if (l != L[i]) {
					slx += w * x[i] * l;
					sl2 += w * l * l;
					if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
						L[i] = (int8_t)l;
						sumlx = slx;
						suml2 = sl2;
						changed++;
					}
				}
			}
		}
		if (!changed) break;
	}
	for (int i = 0; i < n; i++)
		L[i] = (int8_t)(L[i] + nmax);
	return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

/* Affine search (q2_K, q4_K, q5_K): x ~ scale * L - min with L in 0..nmax and min >= 0. Starts
 * from the range [min(x, 0), max(x)], then tries nstep + 1 level assignments from scales
 * (nmax + rmin + rdelta * k) / range, fitting scale and min of each by weighted least squares,
 * and keeps the one of least weighted error (absolute if use_mad, else squared). Returns the
 * scale and stores min (as a positive number to subtract) in *the_min. */
static float search_affine(int n, int nmax, const float *x, const float *weights, uint8_t *L, float *the_min,
                           uint8_t *Laux, float rmin, float rdelta, int nstep, bool use_mad)
{
	float min = x[0], max = x[0];
	float sum_w = weights[0];
	float sum_x = sum_w * x[0];
	for (int i = 1; i < n; i++) {
		if (x[i] < min) min = x[i];
		if (x[i] > max) max = x[i];
		const float w = weights[i];
		sum_w += w;
		sum_x += w * x[i];
	}
	if (min > 0) min = 0;
	if (max == min) {
		for (int i = 0; i < n; i++) L[i] = 0;
		*the_min = -min;
		return 0.f;
	}
	float iscale = nmax / (max - min);
	float scale = 1 / iscale;
	float best_error = 0;
	for (int i = 0; i < n; i++) {
		L[i] = (uint8_t)iclamp(round_nearest(iscale * (x[i] - min)), 0, nmax);
		float diff = scale * L[i] + min - x[i];
		diff = use_mad ? fabsf(diff) : diff * diff;
		best_error += weights[i] * diff;
	}
	/* (llama.cpp returns here when nstep < 1; every caller passes nstep >= 15) */
	for (int step = 0; step <= nstep; step++) {
		iscale = (rmin + rdelta * step + nmax) / (max - min);
		float sum_l = 0, sum_l2 = 0, sum_xl = 0;
		for (int i = 0; i < n; i++) {
			const int l = iclamp(round_nearest(iscale * (x[i] - min)), 0, nmax);
			Laux[i] = (uint8_t)l;
			const float w = weights[i];
			sum_l += w * l;
			sum_l2 += w * l * l;
			sum_xl += w * l * x[i];
		}
		const float D = sum_w * sum_l2 - sum_l * sum_l;
		if (D > 0) {
			float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
			float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
			if (this_min > 0) {
				/* a positive offset is not representable: refit the scale alone */
				this_min = 0;
				this_scale = sum_xl / sum_l2;
			}
			float cur_error = 0;
			for (int i = 0; i < n; i++) {
				float diff = this_scale * Laux[i] + this_min - x[i];
				diff = use_mad ? fabsf(diff) : diff * diff;
				cur_error += weights[i] * diff;
			}
			if (cur_error < best_error) {
				for (int i = 0; i < n; i++) L[i] = Laux[i];
				best_error = cur_error;
				scale = this_scale;
				min = this_min;
			}
		}
	}
	*the_min = -min;
	return scale;
}

/* Packs L[0..256) (2-bit values) as q2_K and q3_K store them: in each half of 128, byte l holds
 * elements l, l + 32, l + 64, l + 96 in bit pairs 0-1, 2-3, 4-5, 6-7. */
static void pack_2bit(const uint8_t *L, uint8_t *qs)
{
	for (int j = 0; j < QK_K; j += 128)
		for (int l = 0; l < 32; l++)
			qs[j / 4 + l] = (uint8_t)(L[j + l] | L[j + l + 32] << 2 | L[j + l + 64] << 4 | L[j + l + 96] << 6);
}

/* ======================================================================================= q2_K */
/* 16 groups of 16: x = d * sc * q - dmin * m, q in 0..3, with sc (low nibble) and m (high nibble)
 * of scales[group]. Quant order: see pack_2bit; the groups are consecutive in x. */

struct blk_q2_K {
	uint8_t scales[QK_K / 16];
	uint8_t qs[QK_K / 4];
	uint8_t d[2], dmin[2];
};
static_assert(sizeof(struct blk_q2_K) == 84, "q2_K block");

static void dequant_q2_K(const void *src, float *y, uint64_t nb)
{
	const struct blk_q2_K *b = src;
	for (uint64_t i = 0; i < nb; i++, b++) {
		const float d = ld_half(b->d), dmin = ld_half(b->dmin);
		const uint8_t *q = b->qs;
		int g = 0;
		for (int half = 0; half < 2; half++, q += 32) {
			for (int shift = 0; shift < 8; shift += 2) {
				for (int part = 0; part < 2; part++, g++) {
					const float dl = d * (b->scales[g] & 0xf), ml = dmin * (b->scales[g] >> 4);
					for (int l = 0; l < 16; l++)
						*y++ = dl * ((int8_t)((q[l + 16 * part] >> shift) & 3)) - ml;
				}
			}
		}
	}
}

static void quant_q2_K(const float *x, void *dst, uint64_t nb)
{
	struct blk_q2_K *b = dst;
	uint8_t L[QK_K], Laux[16];
	float weights[16], mins[QK_K / 16], scales[QK_K / 16];
	const float levels = 15.f; /* group scales and mins are 4-bit */

	for (uint64_t i = 0; i < nb; i++, b++, x += QK_K) {
		float max_scale = 0, max_min = 0; /* scales and mins both come out >= 0 */
		for (int j = 0; j < QK_K / 16; j++) {
			for (int l = 0; l < 16; l++) weights[l] = fabsf(x[16 * j + l]);
			scales[j] = search_affine(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux, -0.5f, 0.1f, 15, true);
			if (scales[j] > max_scale) max_scale = scales[j];
			if (mins[j] > max_min) max_min = mins[j];
		}
		if (max_scale > 0) {
			const float iscale = levels / max_scale;
			for (int j = 0; j < QK_K / 16; j++)
				b->scales[j] = (uint8_t)round_nearest(iscale * scales[j]);
			st_half(b->d, max_scale / levels);
		} else {
			for (int j = 0; j < QK_K / 16; j++) b->scales[j] = 0;
			st_half(b->d, 0.f);
		}
		if (max_min > 0) {
			const float iscale = levels / max_min;
			for (int j = 0; j < QK_K / 16; j++)
				b->scales[j] |= (uint8_t)(round_nearest(iscale * mins[j]) << 4);
			st_half(b->dmin, max_min / levels);
		} else {
			st_half(b->dmin, 0.f);
		}
		/* Requantize against the scales as stored (rounded to 4 bits and f16), so that the
		 * levels fit what dequantization will compute. A group of scale 0 keeps the search's
		 * levels. */
		for (int j = 0; j < QK_K / 16; j++) {
			const float d = ld_half(b->d) * (b->scales[j] & 0xf);
			if (!d) continue;
			const float dm = ld_half(b->dmin) * (b->scales[j] >> 4);
			for (int l = 0; l < 16; l++)
				L[16 * j + l] = (uint8_t)iclamp(round_nearest((x[16 * j + l] + dm) / d), 0, 3);
		}
		pack_2bit(L, b->qs);
	}
}

/* ======================================================================================= q3_K */
/* 16 groups of 16: x = d * (sc - 32) * (q - 4), q in 0..7. The low two bits of q as in q2_K;
 * bit 2 of element e is bit (e / 32) of hmask[e % 32]. The 6-bit sc of group g: low nibble from
 * scales[g] (g < 8) or the high nibble of scales[g - 8], top two bits from bits 2*(g/4).. of
 * scales[8 + g % 4]. */

struct blk_q3_K {
	uint8_t hmask[QK_K / 8];
	uint8_t qs[QK_K / 4];
	uint8_t scales[12];
	uint8_t d[2];
};
static_assert(sizeof(struct blk_q3_K) == 110, "q3_K block");

static inline int q3_K_scale(const uint8_t *scales, int g)
{
	const int lo = g < 8 ? scales[g] & 0xf : scales[g - 8] >> 4;
	return (lo | ((scales[8 + g % 4] >> (2 * (g / 4))) & 3) << 4) - 32;
}

static void dequant_q3_K(const void *src, float *y, uint64_t nb)
{
	const struct blk_q3_K *b = src;
	for (uint64_t i = 0; i < nb; i++, b++) {
		const float d_all = ld_half(b->d);
		const uint8_t *q = b->qs;
		uint8_t m = 1;
		int g = 0;
		for (int half = 0; half < 2; half++, q += 32) {
			for (int shift = 0; shift < 8; shift += 2, m = (uint8_t)(m << 1)) {
				for (int part = 0; part < 2; part++, g++) {
					const float dl = d_all * q3_K_scale(b->scales, g);
					for (int l = 0; l < 16; l++) {
						const int k = l + 16 * part;
						*y++ = dl * ((int8_t)((q[k] >> shift) & 3) - ((b->hmask[k] & m) ? 0 : 4));
					}
				}
			}
		}
	}
}

static void quant_q3_K(const float *x, void *dst, uint64_t nb)
{
	struct blk_q3_K *b = dst;
	int8_t L[QK_K];
	float scales[QK_K / 16];

	for (uint64_t i = 0; i < nb; i++, b++, x += QK_K) {
		float max_scale = 0, amax = 0; /* group scales are signed: keep the largest by magnitude */
		for (int j = 0; j < QK_K / 16; j++) {
			scales[j] = search_symmetric_descent(16, 4, x + 16 * j, L + 16 * j);
			const float a = fabsf(scales[j]);
			if (a > amax) {
				amax = a;
				max_scale = scales[j];
			}
		}
		memset(b->scales, 0, sizeof b->scales);
		if (max_scale) {
			/* 6-bit group scales in -32..31, the one of largest magnitude at -32 */
			const float iscale = -32.f / max_scale;
			for (int j = 0; j < QK_K / 16; j++) {
				int8_t l = (int8_t)round_nearest(iscale * scales[j]);
				l = (int8_t)(iclamp(l, -32, 31) + 32);
				if (j < 8)
					b->scales[j] = (uint8_t)(l & 0xf);
				else
					b->scales[j - 8] |= (uint8_t)((l & 0xf) << 4);
				l = (int8_t)(l >> 4);
				b->scales[j % 4 + 8] |= (uint8_t)(l << (2 * (j / 4)));
			}
			st_half(b->d, 1 / iscale);
		} else {
			st_half(b->d, 0.f);
		}
		/* requantize against the stored scales, as in q2_K */
		for (int j = 0; j < QK_K / 16; j++) {
			const int8_t sc = (int8_t)q3_K_scale(b->scales, j);
			const float d = ld_half(b->d) * sc;
			if (!d) continue;
			for (int l = 0; l < 16; l++)
				L[16 * j + l] = (int8_t)(iclamp(round_nearest(x[16 * j + l] / d), -4, 3) + 4);
		}
		/* bit 2 out to hmask, the rest packed as q2_K */
		memset(b->hmask, 0, sizeof b->hmask);
		uint8_t lo[QK_K];
		for (int j = 0; j < QK_K; j++) {
			if (L[j] > 3) {
				b->hmask[j % 32] |= (uint8_t)(1u << (j / 32));
				L[j] = (int8_t)(L[j] - 4);
			}
			lo[j] = (uint8_t)L[j];
		}
		pack_2bit(lo, b->qs);
	}
}

/* =============================================================================== q4_K, q5_K */
/* 8 groups of 32: x = d * sc * q - dmin * m, q in 0..15 (q4_K) or 0..31 (q5_K), with 6-bit sc and
 * m packed in 12 bytes: groups 0..3 in the low six bits of bytes 0..3 (sc) and 4..7 (m); groups
 * 4..7 in the nibbles of bytes 8..11 with their top two bits in bits 6-7 of bytes 0..3 (sc) and
 * 4..7 (m). Quants: each 64 elements take 32 bytes, the first 32 in the low nibbles and the next
 * 32 in the high ones; q5_K's fifth bit of element 64*p + 32*h + l is bit 2*p + h of qh[l]. */

static inline void k4_scale_min(int g, const uint8_t *s, uint8_t *sc, uint8_t *m)
{
	if (g < 4) {
		*sc = s[g] & 63;
		*m = s[g + 4] & 63;
	} else {
		*sc = (uint8_t)((s[g + 4] & 0xf) | (s[g - 4] >> 6) << 4);
		*m = (uint8_t)((s[g + 4] >> 4) | (s[g] >> 6) << 4);
	}
}

/* The shared first half of the q4_K and q5_K quantizers: searches each group of 32 (weights
 * rms(x) + |x|), stores d, dmin and the 6-bit scales, and leaves in L the levels requantized
 * against the stored scales. */
static void quant_k4_scales(const float *x, int nmax, float rmin, int nstep, uint8_t d_out[2], uint8_t dmin_out[2],
                            uint8_t s[12], uint8_t L[QK_K])
{
	uint8_t Laux[32];
	float weights[32], mins[QK_K / 32], scales[QK_K / 32];
	float max_scale = 0, max_min = 0;
	for (int j = 0; j < QK_K / 32; j++) {
		float sum_x2 = 0;
		for (int l = 0; l < 32; l++) sum_x2 += x[32 * j + l] * x[32 * j + l];
		const float av_x = sqrtf(sum_x2 / 32);
		for (int l = 0; l < 32; l++) weights[l] = av_x + fabsf(x[32 * j + l]);
		scales[j] = search_affine(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, rmin, 0.1f, nstep, false);
		if (scales[j] > max_scale) max_scale = scales[j];
		if (mins[j] > max_min) max_min = mins[j];
	}
	const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
	const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
	for (int j = 0; j < QK_K / 32; j++) {
		/* through uint8_t before the clamp, as llama.cpp does */
		uint8_t ls = (uint8_t)round_nearest(inv_scale * scales[j]);
		uint8_t lm = (uint8_t)round_nearest(inv_min * mins[j]);
		ls = (uint8_t)imin(63, ls);
		lm = (uint8_t)imin(63, lm);
		if (j < 4) {
			s[j] = ls;
			s[j + 4] = lm;
		} else {
			s[j + 4] = (uint8_t)((ls & 0xf) | (lm & 0xf) << 4);
			s[j - 4] |= (uint8_t)((ls >> 4) << 6);
			s[j] |= (uint8_t)((lm >> 4) << 6);
		}
	}
	st_half(d_out, max_scale / 63.f);
	st_half(dmin_out, max_min / 63.f);

	for (int j = 0; j < QK_K / 32; j++) {
		uint8_t sc, m;
		k4_scale_min(j, s, &sc, &m);
		const float d = ld_half(d_out) * sc;
		if (!d) continue;
		const float dm = ld_half(dmin_out) * m;
		for (int l = 0; l < 32; l++)
			L[32 * j + l] = (uint8_t)iclamp(round_nearest((x[32 * j + l] + dm) / d), 0, nmax);
	}
}

struct blk_q4_K {
	uint8_t d[2], dmin[2];
	uint8_t scales[12];
	uint8_t qs[QK_K / 2];
};
static_assert(sizeof(struct blk_q4_K) == 144, "q4_K block");

static void dequant_q4_K(const void *src, float *y, uint64_t nb)
{
	const struct blk_q4_K *b = src;
	for (uint64_t i = 0; i < nb; i++, b++) {
		const float d = ld_half(b->d), dmin = ld_half(b->dmin);
		const uint8_t *q = b->qs;
		for (int g = 0; g < 8; g += 2, q += 32) {
			uint8_t sc, m;
			k4_scale_min(g, b->scales, &sc, &m);
			const float d1 = d * sc, m1 = dmin * m;
			k4_scale_min(g + 1, b->scales, &sc, &m);
			const float d2 = d * sc, m2 = dmin * m;
			for (int l = 0; l < 32; l++) *y++ = d1 * (q[l] & 0xf) - m1;
			for (int l = 0; l < 32; l++) *y++ = d2 * (q[l] >> 4) - m2;
		}
	}
}

static void quant_q4_K(const float *x, void *dst, uint64_t nb)
{
	struct blk_q4_K *b = dst;
	uint8_t L[QK_K];
	for (uint64_t i = 0; i < nb; i++, b++, x += QK_K) {
		quant_k4_scales(x, 15, -1.f, 20, b->d, b->dmin, b->scales, L);
		uint8_t *q = b->qs;
		for (int j = 0; j < QK_K; j += 64, q += 32)
			for (int l = 0; l < 32; l++) q[l] = (uint8_t)(L[j + l] | L[j + l + 32] << 4);
	}
}

struct blk_q5_K {
	uint8_t d[2], dmin[2];
	uint8_t scales[12];
	uint8_t qh[QK_K / 8];
	uint8_t qs[QK_K / 2];
};
static_assert(sizeof(struct blk_q5_K) == 176, "q5_K block");

static void dequant_q5_K(const void *src, float *y, uint64_t nb)
{
	const struct blk_q5_K *b = src;
	for (uint64_t i = 0; i < nb; i++, b++) {
		const float d = ld_half(b->d), dmin = ld_half(b->dmin);
		const uint8_t *ql = b->qs, *qh = b->qh;
		uint8_t u1 = 1, u2 = 2;
		for (int g = 0; g < 8; g += 2, ql += 32, u1 = (uint8_t)(u1 << 2), u2 = (uint8_t)(u2 << 2)) {
			uint8_t sc, m;
			k4_scale_min(g, b->scales, &sc, &m);
			const float d1 = d * sc, m1 = dmin * m;
			k4_scale_min(g + 1, b->scales, &sc, &m);
			const float d2 = d * sc, m2 = dmin * m;
			for (int l = 0; l < 32; l++) *y++ = d1 * ((ql[l] & 0xf) + (qh[l] & u1 ? 16 : 0)) - m1;
			for (int l = 0; l < 32; l++) *y++ = d2 * ((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
		}
	}
}

static void quant_q5_K(const float *x, void *dst, uint64_t nb)
{
	struct blk_q5_K *b = dst;
	uint8_t L[QK_K];
	for (uint64_t i = 0; i < nb; i++, b++, x += QK_K) {
		quant_k4_scales(x, 31, -0.5f, 15, b->d, b->dmin, b->scales, L);
		memset(b->qh, 0, sizeof b->qh);
		uint8_t *ql = b->qs;
		uint8_t m1 = 1, m2 = 2;
		for (int n = 0; n < QK_K; n += 64, ql += 32, m1 = (uint8_t)(m1 << 2), m2 = (uint8_t)(m2 << 2)) {
			for (int j = 0; j < 32; j++) {
				int l1 = L[n + j], l2 = L[n + j + 32];
				if (l1 > 15) {
					l1 -= 16;
					b->qh[j] |= m1;
				}
				if (l2 > 15) {
					l2 -= 16;
					b->qh[j] |= m2;
				}
				ql[j] = (uint8_t)(l1 | l2 << 4);
			}
		}
	}
}

/* ======================================================================================= q6_K */
/* 16 groups of 16: x = d * sc * (q - 32), q in 0..63, sc a signed byte. Note the order: quants
 * first, then the scales, then d last. In each half of 128 (ql 64 bytes, qh 32 bytes), element
 * 32*p + l has its low nibble in ql[l + 32*(p&1)] (low nibble for p < 2, high for p >= 2) and its
 * top two bits in bits 2p..2p+1 of qh[l]. */

struct blk_q6_K {
	uint8_t ql[QK_K / 2];
	uint8_t qh[QK_K / 4];
	int8_t scales[QK_K / 16];
	uint8_t d[2];
};
static_assert(sizeof(struct blk_q6_K) == 210, "q6_K block");

static void dequant_q6_K(const void *src, float *y, uint64_t nb)
{
	const struct blk_q6_K *b = src;
	for (uint64_t i = 0; i < nb; i++, b++) {
		const float d = ld_half(b->d);
		const uint8_t *ql = b->ql, *qh = b->qh;
		const int8_t *sc = b->scales;
		for (int n = 0; n < QK_K; n += 128, y += 128, ql += 64, qh += 32, sc += 8) {
			for (int l = 0; l < 32; l++) {
				const int g = l / 16;
				const int8_t q1 = (int8_t)((ql[l] & 0xf) | ((qh[l] >> 0) & 3) << 4) - 32;
				const int8_t q2 = (int8_t)((ql[l + 32] & 0xf) | ((qh[l] >> 2) & 3) << 4) - 32;
				const int8_t q3 = (int8_t)((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32;
				const int8_t q4 = (int8_t)((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32;
				y[l] = d * sc[g] * q1;
				y[l + 32] = d * sc[g + 2] * q2;
				y[l + 64] = d * sc[g + 4] * q3;
				y[l + 96] = d * sc[g + 6] * q4;
			}
		}
	}
}

static void quant_q6_K(const float *x, void *dst, uint64_t nb)
{
	struct blk_q6_K *b = dst;
	int8_t L[QK_K];
	float scales[QK_K / 16];

	for (uint64_t i = 0; i < nb; i++, b++, x += QK_K) {
		float max_scale = 0, max_abs_scale = 0;
		for (int g = 0; g < QK_K / 16; g++) {
			scales[g] = search_symmetric(16, 32, x + 16 * g, L + 16 * g);
			if (fabsf(scales[g]) > max_abs_scale) {
				max_abs_scale = fabsf(scales[g]);
				max_scale = scales[g];
			}
		}
		if (max_abs_scale < GROUP_EPS) {
			memset(b, 0, sizeof *b); /* d = +0 */
			continue;
		}
		/* 8-bit group scales, the one of largest magnitude at -128 (127 when it rounds to +128) */
		const float iscale = -128.f / max_scale;
		st_half(b->d, 1 / iscale);
		for (int g = 0; g < QK_K / 16; g++)
			b->scales[g] = (int8_t)imin(127, round_nearest(iscale * scales[g]));
		/* requantize against the stored scales, as in q2_K */
		for (int g = 0; g < QK_K / 16; g++) {
			const float d = ld_half(b->d) * b->scales[g];
			if (!d) continue;
			for (int l = 0; l < 16; l++)
				L[16 * g + l] = (int8_t)(iclamp(round_nearest(x[16 * g + l] / d), -32, 31) + 32);
		}
		uint8_t *ql = b->ql, *qh = b->qh;
		for (int j = 0; j < QK_K; j += 128, ql += 64, qh += 32) {
			for (int l = 0; l < 32; l++) {
				const int v0 = L[j + l], v1 = L[j + l + 32], v2 = L[j + l + 64], v3 = L[j + l + 96];
				ql[l] = (uint8_t)((v0 & 0xf) | (v2 & 0xf) << 4);
				ql[l + 32] = (uint8_t)((v1 & 0xf) | (v3 & 0xf) << 4);
				qh[l] = (uint8_t)(v0 >> 4 | (v1 >> 4) << 2 | (v2 >> 4) << 4 | (v3 >> 4) << 6);
			}
		}
	}
}

/* ================================================================================== dispatch */

struct codec {
	/* count: blocks (elements, for the types whose block is one element) */
	void (*dequant)(const void *src, float *dst, uint64_t count);
	void (*quant)(const float *src, void *dst, uint64_t count);
};

static const struct codec codecs[QT_COUNT] = {
	[QT_F32] = {dequant_f32, quant_f32},       [QT_F16] = {dequant_f16, quant_f16},
	[QT_BF16] = {dequant_bf16, quant_bf16},    [QT_Q4_0] = {dequant_q4_0, quant_q4_0},
	[QT_Q4_1] = {dequant_q4_1, quant_q4_1},    [QT_Q5_0] = {dequant_q5_0, quant_q5_0},
	[QT_Q5_1] = {dequant_q5_1, quant_q5_1},    [QT_Q8_0] = {dequant_q8_0, quant_q8_0},
	[QT_Q2_K] = {dequant_q2_K, quant_q2_K},    [QT_Q3_K] = {dequant_q3_K, quant_q3_K},
	[QT_Q4_K] = {dequant_q4_K, quant_q4_K},    [QT_Q5_K] = {dequant_q5_K, quant_q5_K},
	[QT_Q6_K] = {dequant_q6_K, quant_q6_K},    [QT_MXFP4] = {dequant_mxfp4, quant_mxfp4},
};

/* The codec for type, or a failure naming the type and n: what, "dequantize" or "quantize". */
static int lookup(uint32_t type, uint64_t n, bool quantize, const struct codec **out, uint64_t *count)
{
	const char *what = quantize ? "quantize" : "dequantize";
	const struct quant_type *t = quant_type_info(type);
	if (!t)
		return fail(VKLLM_E_UNSUPPORTED, "cannot %s type %u (n = %llu): %s ggml type", what, type,
		            (unsigned long long)n, quant_type_removed(type) ? "a removed" : "an unknown");
	const struct codec *c = type < QT_COUNT ? &codecs[type] : NULL;
	if (!c || !(quantize ? c->quant != NULL : c->dequant != NULL))
		return fail(VKLLM_E_UNSUPPORTED, "cannot %s type %s (n = %llu): vkllm has no CPU %s for it", what, t->name,
		            (unsigned long long)n, quantize ? "quantizer" : "dequantizer");
	if (n % t->block_size)
		return fail(VKLLM_E_ARG, "cannot %s type %s: n = %llu is not a multiple of its block size %u", what, t->name,
		            (unsigned long long)n, t->block_size);
	*out = c;
	*count = n / t->block_size;
	return VKLLM_OK;
}

int quant_dequantize(uint32_t type, const void *src, float *dst, uint64_t n)
{
	const struct codec *c = NULL;
	uint64_t count = 0;
	TRY(lookup(type, n, false, &c, &count));
	c->dequant(src, dst, count);
	return VKLLM_OK;
}

int quant_quantize(uint32_t type, const float *src, void *dst, uint64_t n)
{
	const struct codec *c = NULL;
	uint64_t count = 0;
	TRY(lookup(type, n, true, &c, &count));
	c->quant(src, dst, count);
	return VKLLM_OK;
}
