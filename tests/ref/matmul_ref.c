#include "ref/matmul_ref.h"

#include <math.h>
#include <stdlib.h>

#include "loader/quant.h"

int matmul_ref(double *y, double *mag, uint32_t wtype, const void *wq, const float *x, const float *y0, uint32_t rows,
               uint32_t k, uint32_t cols)
{
	float *w = malloc((size_t)k * sizeof *w); /* one dequantized row */
	if (!w) return 1;
	uint64_t row_bytes = quant_row_size(wtype, k);
	for (uint32_t r = 0; r < rows; r++) {
		if (quant_dequantize(wtype, (const uint8_t *)wq + r * row_bytes, w, k)) {
			free(w);
			return 1;
		}
		for (uint32_t c = 0; c < cols; c++) {
			double s = y0 ? y0[(size_t)c * rows + r] : 0, m = fabs(s);
			for (uint32_t i = 0; i < k; i++) {
				double p = (double)w[i] * x[(size_t)c * k + i];
				s += p;
				m += fabs(p);
			}
			y[(size_t)c * rows + r] = s;
			mag[(size_t)c * rows + r] = m;
		}
	}
	free(w);
	return 0;
}
