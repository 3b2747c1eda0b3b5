#include "norm_ref.h"

#include <math.h>

void rms_norm_ref(float *y, const float *x, const float *w, uint32_t n, uint32_t n_rows, uint32_t stride, float eps)
{
	for (uint32_t r = 0; r < n_rows; r++) {
		const float *xr = x + (uint64_t)r * stride;
		double ss = 0;
		for (uint32_t i = 0; i < n; i++) ss += (double)xr[i] * xr[i];
		double scale = 1.0 / sqrt(ss / n + eps);
		for (uint32_t i = 0; i < n; i++) y[(uint64_t)r * stride + i] = (float)(xr[i] * scale * (w ? w[i] : 1.0));
	}
}

void rms_norm_add_ref(float *y, float *sum, const float *a, const float *b, const float *w, uint32_t n, uint32_t n_rows,
                      uint32_t stride, float eps)
{
	for (uint32_t r = 0; r < n_rows; r++)
		for (uint32_t i = 0; i < n; i++) {
			uint64_t j = (uint64_t)r * stride + i;
			sum[j] = a[j] + b[j];
		}
	rms_norm_ref(y, sum, w, n, n_rows, stride, eps);
}
