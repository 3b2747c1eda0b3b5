#include "glu_ref.h"

#include <math.h>

double silu_ref(double g) { return g / (1.0 + exp(-g)); }

double gelu_tanh_ref(double g)
{
	const double sqrt_2_over_pi = 0.79788456080286535587989211986876, coef_a = 0.044715;
	return 0.5 * g * (1.0 + tanh(sqrt_2_over_pi * g * (1.0 + coef_a * g * g)));
}

double swiglu_oai_ref(double gate, double up)
{
	const double alpha = (double)1.702f, limit = 7.0;
	double x = gate < limit ? gate : limit;
	double y = up < -limit ? -limit : up > limit ? limit : up;
	return x / (1.0 + exp(-alpha * x)) * (y + 1.0);
}

void glu_ref(float *out, const float *gate, const float *up, uint32_t n, uint32_t n_rows, uint32_t in_stride, int kind)
{
	for (uint32_t r = 0; r < n_rows; r++)
		for (uint32_t c = 0; c < n; c++) {
			double g = gate[(uint64_t)r * in_stride + c], u = up[(uint64_t)r * in_stride + c];
			double v = kind == GLU_REF_SWIGLU_OAI ? swiglu_oai_ref(g, u)
			         : kind == GLU_REF_GEGLU      ? gelu_tanh_ref(g) * u
			                                      : silu_ref(g) * u;
			out[(uint64_t)r * n + c] = (float)v;
		}
}
