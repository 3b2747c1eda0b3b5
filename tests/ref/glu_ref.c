#include "glu_ref.h"

#include <math.h>

double silu_ref(double g) { return g / (1.0 + exp(-g)); }

double gelu_tanh_ref(double g)
{
	const double sqrt_2_over_pi = 0.79788456080286535587989211986876, coef_a = 0.044715;
	return 0.5 * g * (1.0 + tanh(sqrt_2_over_pi * g * (1.0 + coef_a * g * g)));
}

void glu_ref(float *out, const float *gate, const float *up, uint32_t n, uint32_t n_rows, uint32_t in_stride, int geglu)
{
	for (uint32_t r = 0; r < n_rows; r++)
		for (uint32_t c = 0; c < n; c++) {
			double g = gate[(uint64_t)r * in_stride + c], u = up[(uint64_t)r * in_stride + c];
			out[(uint64_t)r * n + c] = (float)((geglu ? gelu_tanh_ref(g) : silu_ref(g)) * u);
		}
}
