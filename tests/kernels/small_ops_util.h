/* Shared by the small-op tests (test_norm, test_rope, test_embed, test_glu, test_eltwise,
 * test_topk): device buffers from host arrays, one-shot recordings, and the tolerance check. */
#ifndef VKLLM_SMALL_OPS_UTIL_H
#define VKLLM_SMALL_OPS_UTIL_H

#include "base/status.h"
#include "ops/ops.h"
#include "test.h"

/* A device buffer of `bytes` (rounded up to 4, plus 64 of slack so views can start at odd
 * offsets), holding data at byte `offset` when data is not NULL. */
static inline int buf_make(struct gpu *g, struct gpu_buffer *b, const char *name, const void *data, size_t bytes,
                           size_t offset)
{
	TRY(gpu_buffer_create(g, b, ((offset + bytes + 3) & ~(size_t)3) + 64, GPU_MEM_DEVICE, name));
	if (data && bytes) TRY(gpu_upload(g, b, offset, data, bytes));
	return VKLLM_OK;
}

static inline struct gpu_view view_at(const struct gpu_buffer *b, size_t offset, size_t bytes)
{
	struct gpu_view v = {b, offset, bytes};
	return v;
}

static const struct gpu_view NO_VIEW = {0};

/* Compares got with ref element-wise against tol(i); prints the first few misses. Returns the
 * number of misses; *worst gets the largest err/tol. */
static inline int check_close(const char *what, const float *got, const float *ref, const double *tol, size_t n,
                              double *worst)
{
	int bad = 0;
	*worst = 0;
	for (size_t i = 0; i < n; i++) {
		double err = fabs((double)got[i] - ref[i]);
		if (!(err <= tol[i]) && bad++ < 4)
			fprintf(stderr, "  %s[%zu] = %.9g, reference %.9g (tolerance %.3g)\n", what, i, got[i], ref[i], tol[i]);
		if (tol[i] > 0 && err / tol[i] > *worst) *worst = err / tol[i];
		if (tol[i] == 0 && err > 0) *worst = INFINITY;
	}
	return bad;
}

#endif
