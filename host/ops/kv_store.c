/* op_kv_store (shaders/kv_store.comp): a chunk's keys or values into the KV cache at the position
 * the step buffer holds, so the recording that stores token p is the one that stores token p+1. */
#include "ops.h"
#include "view_util.h"

#include "../../shaders/abi.h"

int op_kv_store(struct gpu_rec *rec, struct gpu_view cache, enum attn_kv_type type, struct gpu_view in,
                struct gpu_view step, uint32_t n_tokens, uint32_t width, uint32_t in_stride, uint32_t cache_stride,
                uint32_t n_ctx, uint32_t step_index)
{
	struct gpu *g = rec->g;
	const char *op = type == ATTN_KV_F16 ? "kv_store_f16" : "kv_store_f32";
	uint32_t elem = type == ATTN_KV_F16 ? 2 : 4;
	if (!in_stride) in_stride = width;
	if (!cache_stride) cache_stride = width;
	if (n_tokens == 0 || width == 0 || n_ctx == 0)
		return fail(VKLLM_E_ARG, "%s: nothing to store (%u tokens of %u, context %u)", op, n_tokens, width, n_ctx);
	if (in_stride < width || cache_stride < width)
		return fail(VKLLM_E_ARG, "%s: strides %u (in) and %u (cache) are shorter than a row of %u", op, in_stride,
		            cache_stride, width);
	if ((uint64_t)n_tokens * width > UINT32_MAX)
		return fail(VKLLM_E_ARG, "%s: %u rows of %u are too many", op, n_tokens, width);
	TRY(ops_check_view(op, "in", in, 4, ((uint64_t)(n_tokens - 1) * in_stride + width) * 4));
	TRY(ops_check_view(op, "cache", cache, elem, ((uint64_t)(n_ctx - 1) * cache_stride + width) * elem));
	TRY(ops_check_view(op, "step", step, 4, ((uint64_t)step_index + 2) * 4));
	uint32_t spec[] = {ops_elementwise_wg(g)};
	const struct gpu_pipeline *p;
	TRY(gpu_pipeline_get(g, &p, type == ATTN_KV_F16 ? SH_KV_STORE_F16 : SH_KV_STORE_F32, spec, 1));
	struct kv_store_params pc = {.n_tokens = n_tokens, .width = width, .in_stride = in_stride,
	                             .cache_stride = cache_stride, .n_ctx = n_ctx};
	struct gpu_view views[] = {ops_aligned(g, step, 4, &pc.step_offset), ops_aligned(g, in, 4, &pc.in_offset),
	                           ops_aligned(g, cache, elem, &pc.cache_offset)};
	pc.step_offset += step_index;
	uint32_t gx, gy;
	gpu_groups_1d(g, ((uint64_t)n_tokens * width + spec[0] - 1) / spec[0], &gx, &gy);
	return gpu_dispatch(rec, p, views, 3, &pc, sizeof pc, gx, gy, 1);
}
