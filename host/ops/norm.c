/* op_rms_norm and op_rms_norm_add (shaders/rms_norm.comp): one workgroup per row.
 * Tuning: ops_norm_workgroup (view_util.h). */
#include "ops.h"

#include "../../shaders/abi.h"
#include "view_util.h"

/* Checks shared by both entry points; *stride becomes n when 0. */
static int norm_check(const char *op, uint32_t n, uint32_t n_rows, uint32_t *stride, float eps, struct gpu_view w)
{
	if (*stride == 0) *stride = n;
	if (n == 0 || n_rows == 0 || *stride < n)
		return fail(VKLLM_E_ARG, "%s: %u rows of %u values, %u apart: sizes must be positive and rows must not overlap",
		            op, n_rows, n, *stride);
	if (!(eps >= 0.0f)) return fail(VKLLM_E_ARG, "%s: eps %g must be >= 0", op, (double)eps);
	if (w.buf) TRY(ops_check_view(op, "weight", w, 4, (uint64_t)n * 4));
	return VKLLM_OK;
}

static uint64_t rows_bytes(uint32_t n, uint32_t n_rows, uint32_t stride)
{
	return ((uint64_t)(n_rows - 1) * stride + n) * 4;
}

int op_rms_norm(struct gpu_rec *rec, struct gpu_view y, struct gpu_view x, struct gpu_view w, uint32_t n,
                uint32_t n_rows, uint32_t stride, float eps)
{
	struct gpu *g = rec->g;
	const char *op = "rms_norm_f32";
	TRY(norm_check(op, n, n_rows, &stride, eps, w));
	uint64_t need = rows_bytes(n, n_rows, stride);
	TRY(ops_check_view(op, "x", x, 4, need));
	TRY(ops_check_view(op, "y", y, 4, need));

	uint32_t spec[] = {ops_norm_workgroup(g, n)};
	const struct gpu_pipeline *p;
	TRY(gpu_pipeline_get(g, &p, SH_RMS_NORM_F32, spec, 1));
	struct rms_norm_params pc = {.n = n, .n_rows = n_rows, .stride = stride, .has_weight = w.buf != NULL, .eps = eps};
	struct gpu_view views[] = {ops_aligned(g, x, 4, &pc.x_offset), ops_aligned(g, w.buf ? w : x, 4, &pc.w_offset),
	                           ops_aligned(g, y, 4, &pc.y_offset)};
	uint32_t gx, gy;
	gpu_groups_1d(g, n_rows, &gx, &gy);
	return gpu_dispatch(rec, p, views, 3, &pc, sizeof pc, gx, gy, 1);
}

int op_rms_norm_add(struct gpu_rec *rec, struct gpu_view y, struct gpu_view sum, struct gpu_view a, struct gpu_view b,
                    struct gpu_view w, uint32_t n, uint32_t n_rows, uint32_t stride, float eps)
{
	struct gpu *g = rec->g;
	const char *op = "rms_norm_add_f32";
	TRY(norm_check(op, n, n_rows, &stride, eps, w));
	uint64_t need = rows_bytes(n, n_rows, stride);
	TRY(ops_check_view(op, "a", a, 4, need));
	TRY(ops_check_view(op, "b", b, 4, need));
	TRY(ops_check_view(op, "sum", sum, 4, need));
	TRY(ops_check_view(op, "y", y, 4, need));

	uint32_t spec[] = {ops_norm_workgroup(g, n)};
	const struct gpu_pipeline *p;
	TRY(gpu_pipeline_get(g, &p, SH_RMS_NORM_ADD_F32, spec, 1));
	struct rms_norm_params pc = {.n = n, .n_rows = n_rows, .stride = stride, .has_weight = w.buf != NULL, .eps = eps};
	struct gpu_view views[] = {ops_aligned(g, a, 4, &pc.x_offset), ops_aligned(g, b, 4, &pc.b_offset),
	                           ops_aligned(g, w.buf ? w : a, 4, &pc.w_offset), ops_aligned(g, sum, 4, &pc.sum_offset),
	                           ops_aligned(g, y, 4, &pc.y_offset)};
	uint32_t gx, gy;
	gpu_groups_1d(g, n_rows, &gx, &gy);
	return gpu_dispatch(rec, p, views, 5, &pc, sizeof pc, gx, gy, 1);
}
