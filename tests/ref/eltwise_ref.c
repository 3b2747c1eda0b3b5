#include "eltwise_ref.h"

void add_ref(float *out, const float *a, const float *b, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) out[i] = (float)((double)a[i] + b[i]);
}

void scale_ref(float *out, const float *in, uint32_t n, float scale)
{
	for (uint32_t i = 0; i < n; i++) out[i] = (float)((double)in[i] * scale);
}
