/* op_fill and op_copy: element-wise kernels, one invocation per element (shaders/fill.comp,
 * shaders/copy.comp). They bound-check the element count against the views so a wrong count is
 * an error here, not an out-of-bounds write on the GPU. */
#include "ops.h"

#include "../../shaders/abi.h"
#include "view_util.h"

int op_fill(struct gpu_rec *rec, struct gpu_view out, uint32_t n, float value)
{
	struct gpu *g = rec->g;
	if (out.offset % 4) return fail(VKLLM_E_ARG, "fill_f32: byte offset %llu is not a multiple of 4", (unsigned long long)out.offset);
	if ((VkDeviceSize)n * 4 > ops_view_bytes(out))
		return fail(VKLLM_E_ARG, "fill_f32: %u elements do not fit in '%s' (%llu bytes)", n, out.buf->name,
		            (unsigned long long)ops_view_bytes(out));
	uint32_t spec[] = {ops_elementwise_wg(g)};
	const struct gpu_pipeline *p;
	TRY(gpu_pipeline_get(g, &p, SH_FILL_F32, spec, 1));
	struct fill_params pc = {n, 0, value};
	struct gpu_view v = ops_aligned(g, out, 4, &pc.offset);
	uint32_t gx, gy;
	gpu_groups_1d(g, ((uint64_t)n + spec[0] - 1) / spec[0], &gx, &gy);
	return gpu_dispatch(rec, p, &v, 1, &pc, sizeof pc, gx, gy, 1);
}

int op_copy(struct gpu_rec *rec, struct gpu_view out, struct gpu_view in, uint32_t n, enum copy_out out_type)
{
	struct gpu *g = rec->g;
	uint32_t out_size = out_type == COPY_OUT_F16 ? 2 : 4;
	enum shader_id sh = out_type == COPY_OUT_F16 ? SH_COPY_F32_F16 : SH_COPY_F32;
	if (out_type == COPY_OUT_F16 && !g->profile.storage16)
		return fail(VKLLM_E_UNSUPPORTED, "copy_f32_f16: device %s lacks storageBuffer16BitAccess", g->profile.name);
	if (in.offset % 4 || out.offset % out_size)
		return fail(VKLLM_E_ARG, "%s: byte offsets %llu and %llu are not multiples of the element sizes", shader_table[sh].name,
		            (unsigned long long)in.offset, (unsigned long long)out.offset);
	if ((VkDeviceSize)n * 4 > ops_view_bytes(in) || (VkDeviceSize)n * out_size > ops_view_bytes(out))
		return fail(VKLLM_E_ARG, "%s: %u elements do not fit in '%s' (%llu bytes) or '%s' (%llu bytes)",
		            shader_table[sh].name, n, in.buf->name, (unsigned long long)ops_view_bytes(in), out.buf->name,
		            (unsigned long long)ops_view_bytes(out));
	uint32_t spec[] = {ops_elementwise_wg(g)};
	const struct gpu_pipeline *p;
	TRY(gpu_pipeline_get(g, &p, sh, spec, 1));
	struct copy_params pc = {n, 0, 0};
	struct gpu_view views[] = {ops_aligned(g, in, 4, &pc.src_offset), ops_aligned(g, out, out_size, &pc.dst_offset)};
	uint32_t gx, gy;
	gpu_groups_1d(g, ((uint64_t)n + spec[0] - 1) / spec[0], &gx, &gy);
	return gpu_dispatch(rec, p, views, 2, &pc, sizeof pc, gx, gy, 1);
}
