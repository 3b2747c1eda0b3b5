/* loader/quant.c on its own: dequantization of hand-built blocks against values worked out from
 * each format's definition (element by element, not with the library's loops), quantize ->
 * dequantize error bounds on random data, exact round trips where the format promises them, row
 * sizes, and the refusals. Byte-for-byte agreement with llama.cpp is test_quant_witness's job. */
#include "base/status.h"
#include "loader/half.h"
#include "loader/quant.h"
#include "test.h"

#define QK_K 256

/* ---- building blocks by hand ---- */

static void put_half(uint8_t *p, float f)
{
	uint16_t h = f32_to_half(f);
	p[0] = (uint8_t)h, p[1] = (uint8_t)(h >> 8);
}

static float get_half(const uint8_t *p) { return half_to_f32((uint16_t)(p[0] | p[1] << 8)); }

static void fill_random(uint8_t *p, size_t n, uint64_t *s)
{
	for (size_t i = 0; i < n; i++) p[i] = (uint8_t)test_rand(s);
}

/* The 12-byte 6-bit scale/min packing of q4_K and q5_K, from its description: groups 0..3 in the
 * low six bits of bytes 0..3 (scale) and 4..7 (min); groups 4..7 as nibbles of bytes 8..11 (scale
 * low, min high) with their top two bits in bits 6-7 of bytes 0..3 (scale) and 4..7 (min). */
static void pack_k4_scales(uint8_t s[12], const uint8_t sc[8], const uint8_t m[8])
{
	for (int g = 0; g < 4; g++) {
		s[g] = (uint8_t)(sc[g] | (sc[g + 4] >> 4) << 6);
		s[g + 4] = (uint8_t)(m[g] | (m[g + 4] >> 4) << 6);
		s[g + 8] = (uint8_t)((sc[g + 4] & 15) | (m[g + 4] & 15) << 4);
	}
}

/* q3_K's 6-bit group scales (stored + 32): low nibbles of groups 0..7 in the low nibbles of bytes
 * 0..7, of groups 8..15 in their high nibbles; top two bits of group g at bit 2*(g/4) of byte
 * 8 + g%4. */
static void pack_q3_scales(uint8_t s[12], const int sc[16])
{
	memset(s, 0, 12);
	for (int g = 0; g < 16; g++) {
		const int v = sc[g] + 32;
		s[g % 8] |= (uint8_t)((v & 15) << (g < 8 ? 0 : 4));
		s[8 + g % 4] |= (uint8_t)((v >> 4) << (2 * (g / 4)));
	}
}

/* ---- element-wise decoders, straight from the layouts ---- */

/* the 2-bit field of element e in a 256-element q2_K/q3_K quant array: each half of 128 uses 32
 * bytes; element 32*p + l of the half sits in bits 2p..2p+1 of byte l */
static int k_2bit(const uint8_t *qs, int e) { return qs[32 * (e / 128) + e % 32] >> (2 * (e % 128 / 32)) & 3; }
/* the 4-bit field of element e in q4_K/q5_K: each 64 use 32 bytes, the first 32 in low nibbles */
static int k_4bit(const uint8_t *qs, int e) { return qs[32 * (e / 64) + e % 32] >> (4 * (e % 64 / 32)) & 15; }

static float ref_q2_K(const uint8_t *b, int e)
{
	/* scales[16] qs[64] d dmin */
	const int g = e / 16;
	return get_half(b + 80) * (float)(b[g] & 15) * (float)k_2bit(b + 16, e) - get_half(b + 82) * (float)(b[g] >> 4);
}

static float ref_q3_K(const uint8_t *b, int e)
{
	/* hmask[32] qs[64] scales[12] d */
	const uint8_t *s = b + 96;
	const int g = e / 16;
	const int sc = ((g < 8 ? s[g] & 15 : s[g - 8] >> 4) | (s[8 + g % 4] >> (2 * (g / 4)) & 3) << 4) - 32;
	const int hi = b[e % 32] >> (e / 32) & 1;
	return get_half(b + 108) * (float)sc * (float)(k_2bit(b + 32, e) + 4 * hi - 4);
}

static void k4_unpack(const uint8_t *s, int g, int *sc, int *m)
{
	if (g < 4) {
		*sc = s[g] & 63, *m = s[g + 4] & 63;
	} else {
		*sc = (s[g + 4] & 15) | (s[g - 4] >> 6) << 4;
		*m = (s[g + 4] >> 4) | (s[g] >> 6) << 4;
	}
}

static float ref_q4_K(const uint8_t *b, int e)
{
	/* d dmin scales[12] qs[128] */
	int sc, m;
	k4_unpack(b + 4, e / 32, &sc, &m);
	return get_half(b) * (float)sc * (float)k_4bit(b + 16, e) - get_half(b + 2) * (float)m;
}

static float ref_q5_K(const uint8_t *b, int e)
{
	/* d dmin scales[12] qh[32] qs[128]; bit 4 of element e is bit e/32 of qh[e%32] */
	int sc, m;
	k4_unpack(b + 4, e / 32, &sc, &m);
	const int q = k_4bit(b + 48, e) | (b[16 + e % 32] >> (e / 32) & 1) << 4;
	return get_half(b) * (float)sc * (float)q - get_half(b + 2) * (float)m;
}

static float ref_q6_K(const uint8_t *b, int e)
{
	/* ql[128] qh[64] scales[16] d: the scale last. Per half of 128: element 32*p + l has its low
	 * nibble in ql[64h + l + 32*(p%2)] (low nibble for p < 2), its top bits at 2p of qh[32h + l] */
	const int h = e / 128, p = e % 128 / 32, l = e % 32;
	const int lo = b[64 * h + l + 32 * (p % 2)] >> (4 * (p / 2)) & 15;
	const int hi = b[128 + 32 * h + l] >> (2 * p) & 3;
	return get_half(b + 208) * (float)(int8_t)b[192 + e / 16] * (float)((lo | hi << 4) - 32);
}

static const float fp4_values[16] = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6, -0.0f, -0.5f, -1, -1.5f, -2, -3, -4, -6};

/* Dequantizes n elements of type from blk and compares each with ref(blk of that element, e). */
static int check_blocks(uint32_t type, const uint8_t *blk, int nblocks, float (*ref)(const uint8_t *, int), const char *what)
{
	const struct quant_type *t = quant_type_info(type);
	const int n = (int)t->block_size * nblocks;
	float out[3 * QK_K];
	int st = quant_dequantize(type, blk, out, (uint64_t)n);
	int bad = 0, first = -1;
	for (int e = 0; e < n; e++) {
		const float want = ref(blk + (size_t)(e / (int)t->block_size) * t->type_size, e % (int)t->block_size);
		if (out[e] != want && !(isnan(out[e]) && isnan(want))) {
			if (first < 0) first = e;
			bad++;
		}
	}
	EXPECT(st == VKLLM_OK && bad == 0, "%s %s: %d elements differ, first %d: %g (want %g) [%s]", t->name, what, bad, first,
	       first >= 0 ? (double)out[first] : 0.0,
	       first >= 0 ? (double)ref(blk + (size_t)(first / (int)t->block_size) * t->type_size, first % (int)t->block_size) : 0.0,
	       vkllm_error());
	return bad;
}

/* the legacy 32-element formats, element e of one block */
static float ref_q4_0(const uint8_t *b, int e) { return get_half(b) * (float)((b[2 + e % 16] >> (4 * (e / 16)) & 15) - 8); }
static float ref_q4_1(const uint8_t *b, int e) { return get_half(b) * (float)(b[4 + e % 16] >> (4 * (e / 16)) & 15) + get_half(b + 2); }
static int q5_hi(const uint8_t *qh, int e) { return qh[e / 8] >> (e % 8) & 1; } /* bit e of the LE word */
static float ref_q5_0(const uint8_t *b, int e)
{
	return get_half(b) * (float)(((b[6 + e % 16] >> (4 * (e / 16)) & 15) | q5_hi(b + 2, e) << 4) - 16);
}
static float ref_q5_1(const uint8_t *b, int e)
{
	return get_half(b) * (float)((b[8 + e % 16] >> (4 * (e / 16)) & 15) | q5_hi(b + 4, e) << 4) + get_half(b + 2);
}
static float ref_q8_0(const uint8_t *b, int e) { return get_half(b) * (float)(int8_t)b[2 + e]; }
static float ref_mxfp4(const uint8_t *b, int e) { return ldexpf(fp4_values[b[1 + e % 16] >> (4 * (e / 16)) & 15], b[0] - 127); }
static float ref_f16(const uint8_t *b, int e) { return get_half(b + 2 * e); }
static float ref_bf16(const uint8_t *b, int e) { return bf16_to_f32((uint16_t)(b[2 * e] | b[2 * e + 1] << 8)); }
static float ref_f32(const uint8_t *b, int e)
{
	float f;
	memcpy(&f, b + 4 * e, 4);
	return f;
}

static int test_dequant_hand_built(void)
{
	uint64_t s = 42;
	uint8_t blk[3 * 292];

	/* element types: a few known encodings */
	const uint8_t f16[] = {0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00, 0xff, 0x7b, 0x00, 0x7c, 0x00, 0x80};
	float out[8];
	REQUIRE_OK(quant_dequantize(QT_F16, f16, out, 6));
	EXPECT(out[0] == 1.0f && out[1] == -2.0f && out[2] == ldexpf(1, -24) && out[3] == 65504.0f && isinf(out[4]) &&
	           out[5] == 0.0f && signbit(out[5]),
	       "f16: %g %g %g %g %g %g", out[0], out[1], out[2], out[3], out[4], out[5]);
	const uint8_t bf16[] = {0x80, 0x3f, 0x40, 0xc0, 0x49, 0x40};
	REQUIRE_OK(quant_dequantize(QT_BF16, bf16, out, 3));
	EXPECT(out[0] == 1.0f && out[1] == -3.0f && out[2] == 3.140625f, "bf16: %g %g %g", out[0], out[1], out[2]);
	fill_random(blk, 64, &s);
	check_blocks(QT_F32, blk, 16, ref_f32, "random bits");
	check_blocks(QT_F16, blk, 32, ref_f16, "random bits");
	check_blocks(QT_BF16, blk, 32, ref_bf16, "random bits");

	/* legacy formats: chosen scales, random quants, three blocks each so the stride shows */
	for (int b = 0; b < 3; b++) {
		uint8_t *p = blk + b * 18;
		fill_random(p, 18, &s);
		put_half(p, 0.5f * (float)(b + 1));
	}
	check_blocks(QT_Q4_0, blk, 3, ref_q4_0, "d = 0.5, 1, 1.5");
	/* q4_0 by hand: nibbles 0 and 15 are -8d and 7d, element j+16 in the high nibble */
	memset(blk, 0, 18);
	put_half(blk, 0.25f);
	blk[2] = 0xf0; /* element 0: q 0 -> -2; element 16: q 15 -> 1.75 */
	float q40[32];
	REQUIRE_OK(quant_dequantize(QT_Q4_0, blk, q40, 32));
	EXPECT(q40[0] == -2.0f && q40[16] == 1.75f && q40[1] == -2.0f && q40[17] == -2.0f, "q4_0: %g %g %g %g", q40[0], q40[16],
	       q40[1], q40[17]);

	for (int b = 0; b < 3; b++) {
		uint8_t *p = blk + b * 20;
		fill_random(p, 20, &s);
		put_half(p, 0.25f), put_half(p + 2, -1.5f + (float)b);
	}
	check_blocks(QT_Q4_1, blk, 3, ref_q4_1, "d = 0.25, m = -1.5..0.5");

	for (int b = 0; b < 3; b++) {
		uint8_t *p = blk + b * 22;
		fill_random(p, 22, &s);
		put_half(p, 2.0f);
	}
	check_blocks(QT_Q5_0, blk, 3, ref_q5_0, "d = 2, random high bits");
	/* q5_0 by hand: element 31's fifth bit is the top bit of the little-endian qh word */
	memset(blk, 0, 22);
	put_half(blk, 1.0f);
	blk[5] = 0x80;                 /* qh bit 31 */
	blk[6 + 15] = 0xf0;            /* element 31's low nibble 15 */
	REQUIRE_OK(quant_dequantize(QT_Q5_0, blk, q40, 32));
	EXPECT(q40[31] == 15.0f && q40[15] == -16.0f, "q5_0 element 31 = %g (want 15), 15 = %g", q40[31], q40[15]);

	for (int b = 0; b < 3; b++) {
		uint8_t *p = blk + b * 24;
		fill_random(p, 24, &s);
		put_half(p, 0.125f), put_half(p + 2, 3.0f);
	}
	check_blocks(QT_Q5_1, blk, 3, ref_q5_1, "d = 0.125, m = 3");

	for (int b = 0; b < 3; b++) {
		uint8_t *p = blk + b * 34;
		for (int j = 0; j < 32; j++) p[2 + j] = (uint8_t)(j * 8 - 128 + b); /* -128..120 */
		put_half(p, 0.125f);
	}
	check_blocks(QT_Q8_0, blk, 3, ref_q8_0, "d = 0.125, q = -128..120");

	/* mxfp4: the E8M0 scale at its ends (e = 0 and 1 are f32 subnormal scales, 254 the largest
	 * finite) and in the middle; every code in both nibbles */
	const uint8_t exps[] = {0, 1, 2, 126, 127, 128, 200, 254};
	for (size_t k = 0; k < sizeof exps; k++) {
		blk[0] = exps[k];
		for (int j = 0; j < 16; j++) blk[1 + j] = (uint8_t)(j | (15 - j) << 4);
		char what[32];
		snprintf(what, sizeof what, "e = %u, every code", exps[k]);
		check_blocks(QT_MXFP4, blk, 1, ref_mxfp4, what);
	}
	for (int b = 0; b < 3; b++) {
		fill_random(blk + b * 17, 17, &s);
		blk[b * 17] = (uint8_t)(b == 0 ? 0 : b == 1 ? 127 : 254);
	}
	check_blocks(QT_MXFP4, blk, 3, ref_mxfp4, "e = 0, 127, 254");
	float mx[32];
	blk[0] = 0;
	blk[1] = 0x71; /* element 0: code 1 (0.5), element 16: code 7 (6) */
	REQUIRE_OK(quant_dequantize(QT_MXFP4, blk, mx, 32));
	EXPECT(mx[0] == ldexpf(1, -128) && mx[16] == 6 * ldexpf(1, -127), "mxfp4 e=0: %a %a", (double)mx[0], (double)mx[16]);
	/* e = 254 scales by 2^127: codes up to 1.5 stay finite, 2 and above overflow f32 to inf */
	blk[0] = 254;
	blk[1] = 0x31; /* element 0: code 1 (0.5), element 16: code 3 (1.5) */
	blk[2] = 0x04; /* element 1: code 4 (2) */
	REQUIRE_OK(quant_dequantize(QT_MXFP4, blk, mx, 32));
	EXPECT(mx[0] == ldexpf(1, 126) && mx[16] == 1.5f * ldexpf(1, 127) && isinf(mx[1]), "mxfp4 e=254: %a %a %a",
	       (double)mx[0], (double)mx[16], (double)mx[1]);

	/* k-quants: d = 0.5 and dmin = 0.25 keep every product exact, so the expected values do not
	 * depend on the order of the float operations */
	for (int b = 0; b < 3; b++) {
		uint8_t *p = blk + b * 84;
		fill_random(p, 84, &s);
		put_half(p + 80, 0.5f), put_half(p + 82, 0.25f);
	}
	check_blocks(QT_Q2_K, blk, 3, ref_q2_K, "random scales");
	/* q2_K with chosen scales/mins: group g has scale g, min 15 - g, all quants 3 */
	memset(blk, 0xff, 84);
	for (int g = 0; g < 16; g++) blk[g] = (uint8_t)(g | (15 - g) << 4);
	put_half(blk + 80, 0.5f), put_half(blk + 82, 0.25f);
	float kq[QK_K];
	REQUIRE_OK(quant_dequantize(QT_Q2_K, blk, kq, QK_K));
	int q2bad = 0;
	for (int e = 0; e < QK_K; e++) q2bad += kq[e] != 0.5f * (float)(e / 16) * 3 - 0.25f * (float)(15 - e / 16);
	EXPECT(q2bad == 0, "q2_K chosen scales: %d elements wrong", q2bad);

	for (int b = 0; b < 3; b++) {
		uint8_t *p = blk + b * 110;
		fill_random(p, 110, &s);
		put_half(p + 108, 0.5f);
	}
	check_blocks(QT_Q3_K, blk, 3, ref_q3_K, "random scales");
	/* q3_K with chosen signed scales -32..31 through the 6-bit packing */
	int sc3[16];
	for (int g = 0; g < 16; g++) sc3[g] = g * 4 - 32 + (g == 15 ? 3 : 0); /* -32, -28, ..., 31 */
	fill_random(blk, 110, &s);
	pack_q3_scales(blk + 96, sc3);
	put_half(blk + 108, 0.5f);
	check_blocks(QT_Q3_K, blk, 1, ref_q3_K, "chosen scales -32..31");
	REQUIRE_OK(quant_dequantize(QT_Q3_K, blk, kq, QK_K));
	int q3bad = 0;
	for (int e = 0; e < QK_K; e++) {
		const int q = k_2bit(blk + 32, e) + 4 * (blk[e % 32] >> (e / 32) & 1) - 4;
		q3bad += kq[e] != 0.5f * (float)sc3[e / 16] * (float)q;
	}
	EXPECT(q3bad == 0, "q3_K chosen scales: %d elements wrong", q3bad);

	/* q4_K and q5_K with chosen 6-bit scales and mins, both ends of the range included */
	const uint8_t sc4[8] = {1, 63, 0, 17, 32, 48, 5, 63}, m4[8] = {63, 0, 9, 40, 1, 63, 22, 31};
	for (int b = 0; b < 3; b++) {
		uint8_t *p = blk + b * 144;
		fill_random(p, 144, &s);
		put_half(p, 0.5f), put_half(p + 2, 0.25f);
		if (b == 0) pack_k4_scales(p + 4, sc4, m4);
	}
	check_blocks(QT_Q4_K, blk, 3, ref_q4_K, "chosen then random scales");
	REQUIRE_OK(quant_dequantize(QT_Q4_K, blk, kq, QK_K));
	int q4bad = 0;
	for (int e = 0; e < QK_K; e++)
		q4bad += kq[e] != 0.5f * (float)sc4[e / 32] * (float)k_4bit(blk + 16, e) - 0.25f * (float)m4[e / 32];
	EXPECT(q4bad == 0, "q4_K chosen scales: %d elements wrong", q4bad);

	for (int b = 0; b < 3; b++) {
		uint8_t *p = blk + b * 176;
		fill_random(p, 176, &s);
		put_half(p, 0.5f), put_half(p + 2, 0.25f);
		if (b == 1) pack_k4_scales(p + 4, sc4, m4);
	}
	check_blocks(QT_Q5_K, blk, 3, ref_q5_K, "random and chosen scales");

	/* q6_K: d is the last two bytes. Block 0 gets d = 0.5 at the end and bytes that would read as
	 * d = 1024 at the start, so reading d from the front shows. */
	for (int b = 0; b < 3; b++) {
		uint8_t *p = blk + b * 210;
		fill_random(p, 210, &s);
		put_half(p + 208, 0.5f);
		if (b == 0) put_half(p, 1024.0f);
	}
	check_blocks(QT_Q6_K, blk, 3, ref_q6_K, "d last");
	/* all quants 63 (q - 32 = 31), scales -128 and 127 */
	memset(blk, 0xff, 192);
	for (int g = 0; g < 16; g++) blk[192 + g] = (uint8_t)(g % 2 ? 127 : -128);
	put_half(blk + 208, 0.5f);
	REQUIRE_OK(quant_dequantize(QT_Q6_K, blk, kq, QK_K));
	EXPECT(kq[0] == 0.5f * -128 * 31 && kq[16] == 0.5f * 127 * 31 && kq[255] == 0.5f * 127 * 31, "q6_K: %g %g %g", kq[0],
	       kq[16], kq[255]);
	return 0;
}

/* ---- quantize -> dequantize ---- */

/* The legacy formats, mxfp4 and the element types have proven bounds (the reason given). The
 * k-quants search their scales, so their worst case is not a formula: their bounds combine half a
 * level step with the rounding of the group scales to 4, 6 or 8 bits, and were checked to leave
 * about 20% margin over what this data reaches. */
struct bound {
	uint32_t type;
	int group;      /* elements over which the max |x| is taken */
	float tol;      /* max |error| / max |x| of the group */
	float min_amax; /* groups with a smaller max |x| are skipped: f16 subnormals have an absolute step */
	const char *why;
};

static const struct bound bounds[] = {
	{QT_F32, 1, 0.0f, 0, "exact"},
	{QT_F16, 1, 1.0f / 2048, 0x1p-14f, "f16 keeps 11 significant bits: relative error <= 2^-11"},
	{QT_BF16, 1, 1.0f / 256, 0, "bf16 keeps 8 significant bits: relative error <= 2^-8"},
	{QT_Q8_0, 32, 0.5f / 127 + 1.0f / 1024, 0,
	 "step amax/127, half a step of rounding, plus 127 steps of the f16 error of d (2^-11 relative)"},
	{QT_Q4_0, 32, 1.0f / 8 + 1.0f / 1024, 0,
	 "step amax/8 with levels -8..7: the side opposite the max clips at 7/8 amax, a whole step"},
	{QT_Q4_1, 32, 1.0f / 15 + 1.0f / 512, 0, "step (max-min)/15 <= 2amax/15, half a step, plus f16 error of d and m"},
	{QT_Q5_0, 32, 1.0f / 16 + 1.0f / 1024, 0, "step amax/16, levels -16..15: a whole step on the clipped side"},
	{QT_Q5_1, 32, 1.0f / 31 + 1.0f / 512, 0, "step (max-min)/31 <= 2amax/31, half a step, plus f16 error of d and m"},
	{QT_MXFP4, 32, 0.25f + 1e-6f, 0,
	 "amax lands in [4, 8) units, the top code is 6: clipping near 8 units costs up to 2 units = amax/4"},
	{QT_Q2_K, QK_K, 0.45f, 0,
	 "levels 0..3 over a group's range (<= 2amax): half a step is amax/3, plus the 4-bit group scales and mins"},
	{QT_Q3_K, QK_K, 0.30f, 0,
	 "levels -4..3: the side opposite the group's max clips at 3/4 of it (amax/4), plus the 6-bit group scales"},
	{QT_Q4_K, QK_K, 0.12f, 0, "levels 0..15 over the range: half a step 2amax/30, plus the 6-bit scales and mins"},
	{QT_Q5_K, QK_K, 0.065f, 0, "levels 0..31: half a step 2amax/62, plus the 6-bit scales and mins"},
	{QT_Q6_K, QK_K, 0.025f, 0, "levels -32..31: half a step amax/64, plus the 8-bit group scales"},
};

static int test_round_trip(void)
{
	enum { N = 4096 };
	static float x[N], y[N];
	static uint8_t q[N * 4];
	for (size_t k = 0; k < sizeof bounds / sizeof bounds[0]; k++) {
		const struct bound *b = &bounds[k];
		const struct quant_type *t = quant_type_info(b->type);
		float worst = 0;
		double sq = 0, sx = 0;
		for (uint64_t seed = 1; seed <= 8; seed++) {
			uint64_t s = seed * 7919;
			/* half the rows uniform, half with a different magnitude per 32 elements */
			float scale = 1;
			for (int i = 0; i < N; i++) {
				if (seed % 2 == 0 && i % 32 == 0) scale = ldexpf(1, (int)(test_rand(&s) % 13) - 6);
				x[i] = test_randf(&s) * scale;
			}
			REQUIRE_OK(quant_quantize(b->type, x, q, N));
			REQUIRE_OK(quant_dequantize(b->type, q, y, N));
			for (int g = 0; g < N; g += b->group) {
				float amax = 0;
				for (int i = g; i < g + b->group; i++) amax = fmaxf(amax, fabsf(x[i]));
				for (int i = g; i < g + b->group; i++) {
					const float err = fabsf(y[i] - x[i]);
					if (amax > b->min_amax && err / amax > worst) worst = err / amax;
					sq += (double)err * err, sx += (double)x[i] * x[i];
				}
			}
		}
		printf("# %-5s max error %.4f of the group's max |x| (bound %.4f), rms error %.4f of rms x\n", t->name,
		       (double)worst, (double)b->tol, sqrt(sq / sx));
		EXPECT(worst <= b->tol, "%s: round-trip error %g of max |x| exceeds %g (%s)", t->name, (double)worst, (double)b->tol,
		       b->why);
	}
	return 0;
}

/* Values the format holds exactly come back exactly. */
static int test_exact_round_trips(void)
{
	float x[64], y[64];
	uint8_t q[128];
	/* q8_0: q * 2^-4 with q -127..127 and amax at 127 steps: d is a power of two */
	for (int i = 0; i < 32; i++) x[i] = (float)((i * 37) % 255 - 127) * 0.0625f;
	x[5] = 127 * 0.0625f;
	REQUIRE_OK(quant_quantize(QT_Q8_0, x, q, 32));
	REQUIRE_OK(quant_dequantize(QT_Q8_0, q, y, 32));
	EXPECT(memcmp(x, y, 32 * sizeof(float)) == 0, "q8_0 grid values do not round-trip");
	/* q4_0: (q - 8) * 0.5 with the largest magnitude -4 (q = 0) */
	for (int i = 0; i < 32; i++) x[i] = (float)(i % 16 - 8) * 0.5f;
	REQUIRE_OK(quant_quantize(QT_Q4_0, x, q, 32));
	REQUIRE_OK(quant_dequantize(QT_Q4_0, q, y, 32));
	EXPECT(memcmp(x, y, 32 * sizeof(float)) == 0, "q4_0 grid values do not round-trip");
	/* q4_1 and q5_1: m + q * 2^-3 over the whole range of q */
	for (int i = 0; i < 32; i++) x[i] = -1.0f + (float)(i % 16) * 0.125f;
	REQUIRE_OK(quant_quantize(QT_Q4_1, x, q, 32));
	REQUIRE_OK(quant_dequantize(QT_Q4_1, q, y, 32));
	EXPECT(memcmp(x, y, 32 * sizeof(float)) == 0, "q4_1 grid values do not round-trip");
	for (int i = 0; i < 32; i++) x[i] = -1.0f + (float)((i * 7) % 32) * 0.125f;
	REQUIRE_OK(quant_quantize(QT_Q5_1, x, q, 32));
	REQUIRE_OK(quant_dequantize(QT_Q5_1, q, y, 32));
	EXPECT(memcmp(x, y, 32 * sizeof(float)) == 0, "q5_1 grid values do not round-trip");
	/* mxfp4: fp4 values times 2^k with a 6 in the block (amax = 6 * 2^k picks e = 127 + k) */
	const int ks[] = {0, -10, 20, -120};
	for (size_t k = 0; k < sizeof ks / sizeof ks[0]; k++) {
		for (int i = 0; i < 32; i++) x[i] = ldexpf(fp4_values[(i * 5) % 16], ks[k]);
		x[3] = ldexpf(-6, ks[k]);
		REQUIRE_OK(quant_quantize(QT_MXFP4, x, q, 32));
		REQUIRE_OK(quant_dequantize(QT_MXFP4, q, y, 32));
		int bad = 0;
		for (int i = 0; i < 32; i++) bad += x[i] != y[i]; /* -0 and +0 both decode to 0 */
		EXPECT(bad == 0 && q[0] == 127 + ks[k], "mxfp4 2^%d: %d values differ, e = %u", ks[k], bad, q[0]);
	}
	/* every type: a zero row stays zero */
	for (uint32_t type = 0; type < QT_COUNT; type++) {
		const struct quant_type *t = quant_type_info(type);
		if (!t || !t->can_quantize) continue;
		float z[QK_K] = {0}, out[QK_K];
		uint8_t buf[QK_K * 4];
		REQUIRE_OK(quant_quantize(type, z, buf, QK_K));
		REQUIRE_OK(quant_dequantize(type, buf, out, QK_K));
		int nonzero = 0;
		for (int i = 0; i < QK_K; i++) nonzero += out[i] != 0.0f;
		EXPECT(nonzero == 0, "%s: a zero row dequantizes to %d nonzero values", t->name, nonzero);
	}
	return 0;
}

static int test_sizes_and_refusals(void)
{
	EXPECT(quant_row_size(QT_Q4_K, 256 * 3) == 432, "q4_K row of 768");
	EXPECT(quant_row_size(QT_Q6_K, 4096) == 16 * 210, "q6_K row of 4096");
	EXPECT(quant_row_size(QT_Q2_K, 256) == 84 && quant_row_size(QT_Q3_K, 256) == 110 && quant_row_size(QT_Q5_K, 512) == 352,
	       "k-quant sizes");
	EXPECT(quant_row_size(QT_Q8_0, 64) == 68 && quant_row_size(QT_Q5_0, 32) == 22 && quant_row_size(QT_Q5_1, 96) == 72,
	       "legacy sizes");
	EXPECT(quant_row_size(QT_Q4_0, 32) == 18 && quant_row_size(QT_Q4_1, 32) == 20, "q4 sizes");
	EXPECT(quant_row_size(QT_MXFP4, 4096) == 128 * 17, "mxfp4 row of 4096");
	EXPECT(quant_row_size(QT_BF16, 7) == 14 && quant_row_size(QT_F16, 3) == 6 && quant_row_size(QT_F32, 5) == 20, "element sizes");
	EXPECT(quant_row_size(QT_Q4_K, 128) == 0 && quant_row_size(QT_Q8_0, 33) == 0, "partial blocks have no size");

	/* the library writes exactly quant_row_size bytes */
	float x[512];
	uint8_t buf[2100];
	uint64_t s = 9;
	for (int i = 0; i < 512; i++) x[i] = test_randf(&s);
	for (uint32_t type = 0; type < QT_COUNT; type++) {
		const struct quant_type *t = quant_type_info(type);
		if (!t || !t->can_quantize) continue;
		memset(buf, 0xcd, sizeof buf);
		REQUIRE_OK(quant_quantize(type, x, buf, 512));
		const uint64_t size = quant_row_size(type, 512);
		int past = 0;
		for (size_t i = size; i < sizeof buf; i++) past += buf[i] != 0xcd;
		EXPECT(past == 0, "%s: wrote %d bytes past its row size %llu", t->name, past, (unsigned long long)size);
	}

	/* n not a whole number of blocks: E_ARG naming the type and n */
	float f[512];
	int st = quant_dequantize(QT_Q4_K, buf, f, 255);
	EXPECT(st == VKLLM_E_ARG && strstr(vkllm_error(), "q4_K") && strstr(vkllm_error(), "255"), "q4_K n=255: %s: %s",
	       vkllm_status_name(st), vkllm_error());
	st = quant_quantize(QT_Q6_K, x, buf, 100);
	EXPECT(st == VKLLM_E_ARG && strstr(vkllm_error(), "q6_K") && strstr(vkllm_error(), "100"), "q6_K n=100: %s: %s",
	       vkllm_status_name(st), vkllm_error());
	st = quant_quantize(QT_Q8_0, x, buf, 33);
	EXPECT(st == VKLLM_E_ARG && strstr(vkllm_error(), "q8_0") && strstr(vkllm_error(), "33"), "q8_0 n=33: %s: %s",
	       vkllm_status_name(st), vkllm_error());
	st = quant_dequantize(QT_MXFP4, buf, f, 48);
	EXPECT(st == VKLLM_E_ARG && strstr(vkllm_error(), "mxfp4"), "mxfp4 n=48: %s: %s", vkllm_status_name(st), vkllm_error());
	EXPECT(quant_quantize(QT_Q4_K, x, buf, 0) == VKLLM_OK, "n = 0 is an empty row: %s", vkllm_error());

	/* types without a codec, and ids that are removed or unknown: E_UNSUPPORTED naming the type */
	const uint32_t no_codec[] = {QT_Q8_1, QT_Q8_K, QT_IQ2_XXS, QT_IQ4_NL, QT_IQ4_XS, QT_I8, QT_I32, QT_F64, QT_TQ1_0, QT_TQ2_0};
	for (size_t k = 0; k < sizeof no_codec / sizeof no_codec[0]; k++) {
		const struct quant_type *t = quant_type_info(no_codec[k]);
		st = quant_dequantize(no_codec[k], buf, f, 256);
		EXPECT(st == VKLLM_E_UNSUPPORTED && strstr(vkllm_error(), t->name) && strstr(vkllm_error(), "256"),
		       "dequantize %s: %s: %s", t->name, vkllm_status_name(st), vkllm_error());
		st = quant_quantize(no_codec[k], x, buf, 256);
		EXPECT(st == VKLLM_E_UNSUPPORTED && strstr(vkllm_error(), t->name), "quantize %s: %s: %s", t->name,
		       vkllm_status_name(st), vkllm_error());
	}
	const uint32_t bad_ids[] = {4, 5, 31, 36, QT_COUNT, 1000, UINT32_MAX};
	for (size_t k = 0; k < sizeof bad_ids / sizeof bad_ids[0]; k++) {
		st = quant_dequantize(bad_ids[k], buf, f, 32);
		EXPECT(st == VKLLM_E_UNSUPPORTED, "type %u: %s: %s", bad_ids[k], vkllm_status_name(st), vkllm_error());
		st = quant_quantize(bad_ids[k], x, buf, 32);
		EXPECT(st == VKLLM_E_UNSUPPORTED, "type %u: %s: %s", bad_ids[k], vkllm_status_name(st), vkllm_error());
	}
	/* the table's flags say exactly what the codecs do */
	int mismatched = 0;
	for (uint32_t type = 0; type < QT_COUNT; type++) {
		const struct quant_type *t = quant_type_info(type);
		if (!t) continue;
		const bool deq = quant_dequantize(type, buf, f, t->block_size) == VKLLM_OK;
		const bool qua = quant_quantize(type, x, buf, t->block_size) == VKLLM_OK;
		if (deq != t->can_dequantize || qua != t->can_quantize) {
			fprintf(stderr, "# %s: table says %d/%d, codecs %d/%d\n", t->name, t->can_dequantize, t->can_quantize, deq, qua);
			mismatched++;
		}
	}
	EXPECT(mismatched == 0, "%d types whose table flags disagree with the codecs", mismatched);
	return 0;
}

int main(void)
{
	/* each returns nonzero when a REQUIRE stopped it (the summary is printed then) */
	if (test_dequant_hand_built() || test_round_trip() || test_exact_round_trips() || test_sizes_and_refusals())
		return 1;
	return test_finish();
}
