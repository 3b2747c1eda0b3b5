/* op_add and op_scale (shaders/eltwise.comp): element-wise f32, one invocation per element;
 * out may be the same memory as an input (in place). */
#include <math.h>

#include "ops.h"

#include "../../shaders/abi.h"
#include "view_util.h"

int op_add(struct gpu_rec *rec, struct gpu_view out, struct gpu_view a, struct gpu_view b, uint32_t n)
{
	struct gpu *g = rec->g;
	const char *op = "add_f32";
	if (n == 0) return fail(VKLLM_E_ARG, "%s: no elements", op);
	TRY(ops_check_view(op, "a", a, 4, (uint64_t)n * 4));
	TRY(ops_check_view(op, "b", b, 4, (uint64_t)n * 4));
	TRY(ops_check_view(op, "out", out, 4, (uint64_t)n * 4));
	uint32_t spec[] = {ops_elementwise_wg(g)};
	const struct gpu_pipeline *p;
	TRY(gpu_pipeline_get(g, &p, SH_ADD_F32, spec, 1));
	struct eltwise_params pc = {.n = n, .scale = 1.0f};
	struct gpu_view views[] = {ops_aligned(g, a, 4, &pc.a_offset), ops_aligned(g, b, 4, &pc.b_offset),
	                           ops_aligned(g, out, 4, &pc.out_offset)};
	uint32_t gx, gy;
	gpu_groups_1d(g, ((uint64_t)n + spec[0] - 1) / spec[0], &gx, &gy);
	return gpu_dispatch(rec, p, views, 3, &pc, sizeof pc, gx, gy, 1);
}

int op_scale(struct gpu_rec *rec, struct gpu_view out, struct gpu_view in, uint32_t n, float scale)
{
	struct gpu *g = rec->g;
	const char *op = "scale_f32";
	if (n == 0) return fail(VKLLM_E_ARG, "%s: no elements", op);
	if (!isfinite(scale)) return fail(VKLLM_E_ARG, "%s: scale %g is not finite", op, (double)scale);
	TRY(ops_check_view(op, "in", in, 4, (uint64_t)n * 4));
	TRY(ops_check_view(op, "out", out, 4, (uint64_t)n * 4));
	uint32_t spec[] = {ops_elementwise_wg(g)};
	const struct gpu_pipeline *p;
	TRY(gpu_pipeline_get(g, &p, SH_SCALE_F32, spec, 1));
	struct eltwise_params pc = {.n = n, .scale = scale};
	struct gpu_view views[] = {ops_aligned(g, in, 4, &pc.a_offset), ops_aligned(g, out, 4, &pc.out_offset)};
	uint32_t gx, gy;
	gpu_groups_1d(g, ((uint64_t)n + spec[0] - 1) / spec[0], &gx, &gy);
	return gpu_dispatch(rec, p, views, 2, &pc, sizeof pc, gx, gy, 1);
}
