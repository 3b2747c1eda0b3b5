/* op_glu and op_glu_fused (shaders/glu.comp): SwiGLU, GeGLU and gpt-oss's clamped SwiGLU, one
 * invocation per output. */
#include "ops.h"

#include "../../shaders/abi.h"
#include "view_util.h"

static int glu_record(struct gpu_rec *rec, struct gpu_view out, struct gpu_view gate, struct gpu_view up, uint32_t n,
                      uint32_t n_rows, uint32_t in_stride, uint32_t up_shift, enum glu_kind kind)
{
	struct gpu *g = rec->g;
	if (kind != GLU_SWIGLU && kind != GLU_GEGLU && kind != GLU_SWIGLU_OAI)
		return fail(VKLLM_E_ARG, "glu: unknown kind %d", kind);
	enum shader_id sh = kind == GLU_SWIGLU ? SH_SWIGLU_F32 : kind == GLU_GEGLU ? SH_GEGLU_F32 : SH_SWIGLU_OAI_F32;
	const char *op = shader_table[sh].name;
	if (n == 0 || n_rows == 0 || (uint64_t)n * n_rows > UINT32_MAX)
		return fail(VKLLM_E_ARG, "%s: %u rows of %u values: sizes must be positive and their product below 2^32", op, n_rows, n);
	uint64_t need_in = ((uint64_t)(n_rows - 1) * in_stride + n) * 4;
	TRY(ops_check_view(op, "gate", gate, 4, need_in));
	TRY(ops_check_view(op, "up", up, 4, need_in + (uint64_t)up_shift * 4));
	TRY(ops_check_view(op, "out", out, 4, (uint64_t)n * n_rows * 4));

	uint32_t spec[] = {ops_elementwise_wg(g)};
	const struct gpu_pipeline *p;
	TRY(gpu_pipeline_get(g, &p, sh, spec, 1));
	struct glu_params pc = {.n = n, .n_rows = n_rows, .in_stride = in_stride, .out_stride = n};
	struct gpu_view views[] = {ops_aligned(g, gate, 4, &pc.gate_offset), ops_aligned(g, up, 4, &pc.up_offset),
	                           ops_aligned(g, out, 4, &pc.out_offset)};
	pc.up_offset += up_shift;
	uint32_t gx, gy;
	gpu_groups_1d(g, ((uint64_t)n * n_rows + spec[0] - 1) / spec[0], &gx, &gy);
	return gpu_dispatch(rec, p, views, 3, &pc, sizeof pc, gx, gy, 1);
}

int op_glu(struct gpu_rec *rec, struct gpu_view out, struct gpu_view gate, struct gpu_view up, uint32_t n,
           uint32_t n_rows, enum glu_kind kind)
{
	return glu_record(rec, out, gate, up, n, n_rows, n, 0, kind);
}

int op_glu_fused(struct gpu_rec *rec, struct gpu_view out, struct gpu_view gate_up, uint32_t n, uint32_t n_rows,
                 enum glu_kind kind)
{
	if (n > UINT32_MAX / 2) return fail(VKLLM_E_ARG, "glu: rows of 2 x %u values are too long", n);
	return glu_record(rec, out, gate_up, gate_up, n, n_rows, 2 * n, n, kind);
}
