/* IEEE binary16 and bfloat16 conversions (half.h). Written from the formats' definitions:
 * binary16 = 1 sign, 5 exponent (bias 15), 10 mantissa bits; bfloat16 = the top 16 bits of f32. */
#include "half.h"

#include <string.h>

static uint32_t bits_of(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	return u;
}

static float float_of(uint32_t u)
{
	float f;
	memcpy(&f, &u, 4);
	return f;
}

float half_to_f32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
	if (exp == 0x1f) return float_of(sign | 0x7f800000u | (man << 13)); /* inf, nan */
	if (exp == 0) {
		/* zero or subnormal: man * 2^-24, exact in f32 */
		float v = (float)man * (1.0f / 16777216.0f);
		return sign ? -v : v;
	}
	return float_of(sign | ((exp + 112) << 23) | (man << 13));
}

uint16_t f32_to_half(float f)
{
	uint32_t u = bits_of(f);
	uint32_t sign = (u >> 16) & 0x8000;
	uint32_t abs = u & 0x7fffffffu;
	if (abs >= 0x7f800000u) return (uint16_t)(sign | 0x7c00 | (abs > 0x7f800000u ? 0x200 : 0)); /* inf, nan */
	if (abs >= 0x477ff000u) return (uint16_t)(sign | 0x7c00); /* rounds to >= 65520: overflow to inf */
	if (abs < 0x38800000u) {
		/* result is subnormal or zero: value / 2^-24 rounded to nearest even, done in f32 where
		 * adding 0.5 * 2^-24 * 2^23 scale makes the FPU round for us */
		float v = float_of(abs) * 16777216.0f; /* in units of 2^-24, < 1024 */
		uint32_t r = (uint32_t)v;
		float frac = v - (float)r;
		if (frac > 0.5f || (frac == 0.5f && (r & 1))) r++;
		return (uint16_t)(sign | r);
	}
	/* normal: rebias and round the 13 dropped bits to nearest even */
	uint32_t m = abs - (112u << 23);
	uint32_t r = m >> 13, rest = m & 0x1fff;
	if (rest > 0x1000 || (rest == 0x1000 && (r & 1))) r++;
	return (uint16_t)(sign | r);
}

float bf16_to_f32(uint16_t h) { return float_of((uint32_t)h << 16); }

uint16_t f32_to_bf16(float f)
{
	uint32_t u = bits_of(f);
	if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* keep nan a quiet nan */
	u += 0x7fff + ((u >> 16) & 1); /* round to nearest even */
	return (uint16_t)(u >> 16);
}
