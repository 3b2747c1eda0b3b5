/* REF_LLAMA_CPU numerics: the two roundings of llama.cpp's CPU backend (ggml-cpu, x86 AVX2)
 * that move its results well beyond f32 noise, reproduced so that the oracle test can tell them
 * apart from a real difference in the math:
 *  - before a matmul, the activations are converted to the weight type's vec_dot_type: f32 for
 *    f32 weights, bf16 for bf16, Q8_0 blocks for Q4_0, Q5_0, Q8_0 and MXFP4, Q8_1 for Q4_1 and
 *    Q5_1, Q8_K for the K-quants (ggml-cpu.c type_traits_cpu); the integer dot product of the
 *    blocks is exact, so rounding x and then summing in double is the same number up to f32
 *    rounding. (Q8_1's block sum s is rounded to f16 in ggml; here it is exact.) f16 weights:
 *    f16 activations (vec_dot_type f16), except on x86 with AMX, where ggml-cpu's AMX buffer type
 *    takes f16 matmuls with an AVX-512 kernel that reads the activations as f32 (amx/mmq.cpp).
 *    Which one a machine does is asked of the CPU (cpu_has_amx). Measured on an AVX-512 machine
 *    without AMX: deepseek2's q8_0 synth files (f16 fallbacks for attn_q_b's rows of 48 and
 *    attn_output's of 80) agree with llama.cpp to 1e-7 of the logit range with f16 activations,
 *    and differ by 1 with f32 ones.
 *  - GELU is read from a table indexed by the f16 of x (vec.h, GGML_GELU_FP16). */
#include <math.h>
#include <string.h>

#include "forward_ref_internal.h"
#include "loader/half.h"
#include "loader/quant.h"

/* quantize_row_q8_0 (x86 AVX2; also Q8_1's qs and d): d = amax / 127 stored as f16,
 * q = round-to-nearest-even(x * 127 / amax); the value is f16(d) * q */
static void q8_0_round(double *y, const float *x, uint64_t n)
{
	for (uint64_t b = 0; b < n; b += 32) {
		float amax = 0;
		for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[b + j]));
		float d = half_to_f32(f32_to_half(amax / 127.f)), id = amax != 0.0f ? 127.f / amax : 0.0f;
		for (int j = 0; j < 32; j++) y[b + j] = (double)d * rintf(x[b + j] * id);
	}
}

/* quantize_row_q8_K_ref: per 256, the value of largest magnitude maps to -127, d = 1 / iscale
 * kept as f32, q = min(127, nearest(iscale * x)) */
static void q8_k_round(double *y, const float *x, uint64_t n)
{
	for (uint64_t b = 0; b < n; b += 256) {
		float amax = 0, max = 0;
		for (int j = 0; j < 256; j++)
			if (fabsf(x[b + j]) > amax) amax = fabsf(x[b + j]), max = x[b + j];
		if (!amax) {
			for (int j = 0; j < 256; j++) y[b + j] = 0;
			continue;
		}
		float iscale = -127.f / max, d = 1 / iscale;
		for (int j = 0; j < 256; j++) y[b + j] = (double)d * fminf(127.f, rintf(iscale * x[b + j]));
	}
}

/* whether llama.cpp's CPU backend would load its AMX variant (sapphirerapids) here */
static bool cpu_has_amx(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
	__builtin_cpu_init();
	return __builtin_cpu_supports("amx-tile");
#else
	return false;
#endif
}

void ref_llama_cpu_activations(double *y, float *tmp, const double *x, uint64_t n, uint32_t weight_type)
{
	for (uint64_t i = 0; i < n; i++) tmp[i] = (float)x[i];
	switch (weight_type) {
	case QT_BF16:
		for (uint64_t i = 0; i < n; i++) y[i] = bf16_to_f32(f32_to_bf16(tmp[i]));
		return;
	case QT_Q4_0: case QT_Q4_1: case QT_Q5_0: case QT_Q5_1: case QT_Q8_0: case QT_MXFP4: case QT_IQ4_NL:
		if (n % 32 == 0) {
			q8_0_round(y, tmp, n);
			return;
		}
		break;
	case QT_F16: /* see the top of the file */
		if (!cpu_has_amx()) {
			for (uint64_t i = 0; i < n; i++) y[i] = half_to_f32(f32_to_half(tmp[i]));
			return;
		}
		break;
	case QT_F32:
		break;
	default: /* the K-quants and the other i-quants */
		if (n % 256 == 0) {
			q8_k_round(y, tmp, n);
			return;
		}
		break;
	}
	for (uint64_t i = 0; i < n; i++) y[i] = tmp[i];
}

/* ggml_vec_geglu_f32 with GGML_GELU_FP16: ggml_table_gelu_f16[f16(x)], the table holding
 * f16(ggml_gelu_f32(x)) for every f16 x; saturated outside (-10, 10) */
double ref_llama_cpu_gelu(double xd)
{
	float x = (float)xd;
	if (x <= -10.0f) return 0.0;
	if (x >= 10.0f) return x;
	float xh = half_to_f32(f32_to_half(x));
	const float sqrt_2_over_pi = 0.79788456080286535587989211986876f, coef_a = 0.044715f;
	float g = 0.5f * xh * (1.0f + tanhf(sqrt_2_over_pi * xh * (1.0f + coef_a * xh * xh)));
	return half_to_f32(f32_to_half(g));
}
