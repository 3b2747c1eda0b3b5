/* op_add, op_add_bias, op_scale and op_softcap (shaders/eltwise.comp): element-wise f32, one
 * invocation per element; out may be the same memory as an input (in place). */
#include <math.h>

#include "ops.h"

#include "../../shaders/abi.h"
#include "view_util.h"

/* out = a + b, b repeated every `period` elements (period = n: a plain add) */
static int add_periodic(struct gpu_rec *rec, const char *op, struct gpu_view out, struct gpu_view a, struct gpu_view b,
                        uint32_t n, uint32_t period)
{
	struct gpu *g = rec->g;
	if (n == 0 || period == 0) return fail(VKLLM_E_ARG, "%s: no elements", op);
	TRY(ops_check_view(op, "a", a, 4, (uint64_t)n * 4));
	TRY(ops_check_view(op, "b", b, 4, (uint64_t)period * 4));
	TRY(ops_check_view(op, "out", out, 4, (uint64_t)n * 4));
	uint32_t spec[] = {ops_elementwise_wg(g)};
	const struct gpu_pipeline *p;
	TRY(gpu_pipeline_get(g, &p, SH_ADD_F32, spec, 1));
	struct eltwise_params pc = {.n = n, .scale = 1.0f, .b_period = period};
	struct gpu_view views[] = {ops_aligned(g, a, 4, &pc.a_offset), ops_aligned(g, b, 4, &pc.b_offset),
	                           ops_aligned(g, out, 4, &pc.out_offset)};
	uint32_t gx, gy;
	gpu_groups_1d(g, ((uint64_t)n + spec[0] - 1) / spec[0], &gx, &gy);
	return gpu_dispatch(rec, p, views, 3, &pc, sizeof pc, gx, gy, 1);
}

int op_add(struct gpu_rec *rec, struct gpu_view out, struct gpu_view a, struct gpu_view b, uint32_t n)
{
	return add_periodic(rec, "add_f32", out, a, b, n, n);
}

int op_add_bias(struct gpu_rec *rec, struct gpu_view out, struct gpu_view in, struct gpu_view bias, uint32_t n,
                uint32_t n_rows)
{
	if ((uint64_t)n * n_rows > UINT32_MAX) return fail(VKLLM_E_ARG, "add_bias: %u rows of %u are too many", n_rows, n);
	return add_periodic(rec, "add_bias", out, in, bias, n * n_rows, n);
}

int op_add_gated(struct gpu_rec *rec, struct gpu_view out, struct gpu_view a, struct gpu_view b, struct gpu_view gate,
                 uint32_t width, uint32_t n_rows)
{
	struct gpu *g = rec->g;
	const char *op = "add_gated_f32";
	uint64_t n = (uint64_t)width * n_rows;
	if (n == 0 || n > UINT32_MAX) return fail(VKLLM_E_ARG, "%s: %u rows of %u values", op, n_rows, width);
	TRY(ops_check_view(op, "a", a, 4, n * 4));
	TRY(ops_check_view(op, "b", b, 4, n * 4));
	TRY(ops_check_view(op, "gate", gate, 4, (uint64_t)n_rows * 4));
	TRY(ops_check_view(op, "out", out, 4, n * 4));
	uint32_t spec[] = {ops_elementwise_wg(g)};
	const struct gpu_pipeline *p;
	TRY(gpu_pipeline_get(g, &p, SH_ADD_GATED_F32, spec, 1));
	struct eltwise_params pc = {.n = (uint32_t)n, .scale = 1.0f, .b_period = width};
	struct gpu_view views[] = {ops_aligned(g, a, 4, &pc.a_offset), ops_aligned(g, b, 4, &pc.b_offset),
	                           ops_aligned(g, out, 4, &pc.out_offset), ops_aligned(g, gate, 4, &pc.g_offset)};
	uint32_t gx, gy;
	gpu_groups_1d(g, (n + spec[0] - 1) / spec[0], &gx, &gy);
	return gpu_dispatch(rec, p, views, 4, &pc, sizeof pc, gx, gy, 1);
}

int op_mul_sigmoid(struct gpu_rec *rec, struct gpu_view out, struct gpu_view a, struct gpu_view gate, uint32_t n)
{
	struct gpu *g = rec->g;
	const char *op = "mul_sigmoid_f32";
	if (n == 0) return fail(VKLLM_E_ARG, "%s: no elements", op);
	TRY(ops_check_view(op, "a", a, 4, (uint64_t)n * 4));
	TRY(ops_check_view(op, "gate", gate, 4, (uint64_t)n * 4));
	TRY(ops_check_view(op, "out", out, 4, (uint64_t)n * 4));
	uint32_t spec[] = {ops_elementwise_wg(g)};
	const struct gpu_pipeline *p;
	TRY(gpu_pipeline_get(g, &p, SH_MUL_SIGMOID_F32, spec, 1));
	struct eltwise_params pc = {.n = n, .scale = 1.0f, .b_period = n};
	struct gpu_view views[] = {ops_aligned(g, a, 4, &pc.a_offset), ops_aligned(g, gate, 4, &pc.b_offset),
	                           ops_aligned(g, out, 4, &pc.out_offset)};
	uint32_t gx, gy;
	gpu_groups_1d(g, (n + spec[0] - 1) / spec[0], &gx, &gy);
	return gpu_dispatch(rec, p, views, 3, &pc, sizeof pc, gx, gy, 1);
}

/* SCALE and SOFTCAP: one input, one float */
static int unary(struct gpu_rec *rec, const char *op, enum shader_id shader, struct gpu_view out, struct gpu_view in,
                 uint32_t n, float scale)
{
	struct gpu *g = rec->g;
	if (n == 0) return fail(VKLLM_E_ARG, "%s: no elements", op);
	if (!isfinite(scale)) return fail(VKLLM_E_ARG, "%s: scale %g is not finite", op, (double)scale);
	TRY(ops_check_view(op, "in", in, 4, (uint64_t)n * 4));
	TRY(ops_check_view(op, "out", out, 4, (uint64_t)n * 4));
	uint32_t spec[] = {ops_elementwise_wg(g)};
	const struct gpu_pipeline *p;
	TRY(gpu_pipeline_get(g, &p, shader, spec, 1));
	struct eltwise_params pc = {.n = n, .scale = scale};
	struct gpu_view views[] = {ops_aligned(g, in, 4, &pc.a_offset), ops_aligned(g, out, 4, &pc.out_offset)};
	uint32_t gx, gy;
	gpu_groups_1d(g, ((uint64_t)n + spec[0] - 1) / spec[0], &gx, &gy);
	return gpu_dispatch(rec, p, views, 2, &pc, sizeof pc, gx, gy, 1);
}

int op_scale(struct gpu_rec *rec, struct gpu_view out, struct gpu_view in, uint32_t n, float scale)
{
	return unary(rec, "scale_f32", SH_SCALE_F32, out, in, n, scale);
}

int op_softcap(struct gpu_rec *rec, struct gpu_view out, struct gpu_view in, uint32_t n, float cap)
{
	if (!(cap > 0)) return fail(VKLLM_E_ARG, "softcap_f32: cap %g must be positive", (double)cap);
	return unary(rec, "softcap_f32", SH_SOFTCAP_F32, out, in, n, cap);
}
