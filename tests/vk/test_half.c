/* f16/bf16 conversions (loader/half.c), checked exhaustively against the definition and, where
 * the compiler has _Float16, against the compiler's own conversion as an independent witness. */
#include "loader/half.h"
#include "test.h"

static uint32_t bits(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	return u;
}

int main(void)
{
	/* every half that is not NaN survives half -> f32 -> half unchanged */
	int roundtrip_bad = 0;
	for (uint32_t h = 0; h < 65536; h++) {
		if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) continue;
		if (f32_to_half(half_to_f32((uint16_t)h)) != h) roundtrip_bad++;
	}
	EXPECT(roundtrip_bad == 0, "%d halves do not round-trip", roundtrip_bad);

	/* ties between neighbours go to the even one; anything past the tie goes up */
	int tie_bad = 0;
	for (uint32_t h = 0; h < 0x7bff; h++) {
		float lo = half_to_f32((uint16_t)h), hi = half_to_f32((uint16_t)(h + 1));
		double mid = ((double)lo + (double)hi) / 2;
		uint16_t even = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
		if (f32_to_half((float)mid) != even) tie_bad++;
		float above = nextafterf((float)mid, INFINITY);
		if (above < hi && f32_to_half(above) != h + 1) tie_bad++;
	}
	EXPECT(tie_bad == 0, "%d ties or near-ties rounded wrongly", tie_bad);
	EXPECT(f32_to_half(65520.0f) == 0x7c00, "65520 must overflow to inf");
	EXPECT(f32_to_half(65519.0f) == 0x7bff, "65519 must round to 65504");
	EXPECT(f32_to_half(-0.0f) == 0x8000, "negative zero");
	EXPECT((f32_to_half(NAN) & 0x7c00) == 0x7c00 && (f32_to_half(NAN) & 0x3ff), "NaN stays NaN");

#ifdef __FLT16_MAX__
	/* the compiler's conversion, on a dense sweep of f32 bit patterns */
	int witness_bad = 0;
	for (uint64_t u = 0; u < 0x100000000ull; u += 4093) {
		float f;
		uint32_t w = (uint32_t)u;
		memcpy(&f, &w, 4);
		if (isnan(f)) continue;
		_Float16 c = (_Float16)f;
		uint16_t cb;
		memcpy(&cb, &c, 2);
		if (cb != f32_to_half(f)) witness_bad++;
	}
	EXPECT(witness_bad == 0, "%d values convert differently from the compiler's _Float16", witness_bad);
#endif

	/* bf16: the top half of f32, round to nearest even */
	EXPECT(f32_to_bf16(1.0f) == 0x3f80, "bf16(1)");
	EXPECT(bits(bf16_to_f32(0x3f80)) == bits(1.0f), "f32(bf16 1)");
	EXPECT(f32_to_bf16(bf16_to_f32(0x3f81) / 2 + bf16_to_f32(0x3f82) / 2) == 0x3f82, "tie goes to even");
	EXPECT(f32_to_bf16(bf16_to_f32(0x3f80) / 2 + bf16_to_f32(0x3f81) / 2) == 0x3f80, "tie goes to even");
	return test_finish();
}
