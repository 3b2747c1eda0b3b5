/* op_fill and op_copy: element-wise kernels, one invocation per element (shaders/fill.comp,
 * shaders/copy.comp). They bound-check the element count against the views so a wrong count is
 * an error here, not an out-of-bounds write on the GPU. */
#include "ops.h"

#include "../../shaders/abi.h"

/* note: 256 invocations is a multiple of every subgroup size in the wild (8..128); it is clamped
 * to the device's limits (Vulkan only promises 128). Element-wise kernels are memory-bound, so
 * the exact size matters little. */
static uint32_t elementwise_local_size(const struct gpu *g)
{
	uint32_t n = 256;
	if (n > g->profile.max_workgroup_invocations) n = g->profile.max_workgroup_invocations;
	if (n > g->profile.max_workgroup_size[0]) n = g->profile.max_workgroup_size[0];
	return n;
}

static VkDeviceSize view_bytes(struct gpu_view v) { return v.size ? v.size : v.buf->size - v.offset; }

/* Views must start at a multiple of minStorageBufferOffsetAlignment; an element offset that is
 * not one is split into an aligned view and an element offset the shader adds. */
static struct gpu_view aligned_view(const struct gpu *g, struct gpu_view v, uint32_t elem_size, uint32_t *elem_offset)
{
	VkDeviceSize align = g->profile.min_storage_offset_alignment;
	VkDeviceSize base = v.offset / align * align;
	VkDeviceSize end = v.offset + view_bytes(v);
	*elem_offset = (uint32_t)((v.offset - base) / elem_size);
	struct gpu_view a = {v.buf, base, end - base};
	return a;
}

int op_fill(struct gpu_rec *rec, struct gpu_view out, uint32_t n, float value)
{
	struct gpu *g = rec->g;
	if (out.offset % 4) return fail(VKLLM_E_ARG, "fill_f32: byte offset %llu is not a multiple of 4", (unsigned long long)out.offset);
	if ((VkDeviceSize)n * 4 > view_bytes(out))
		return fail(VKLLM_E_ARG, "fill_f32: %u elements do not fit in '%s' (%llu bytes)", n, out.buf->name,
		            (unsigned long long)view_bytes(out));
	uint32_t spec[] = {elementwise_local_size(g)};
	const struct gpu_pipeline *p;
	TRY(gpu_pipeline_get(g, &p, SH_FILL_F32, spec, 1));
	struct fill_params pc = {n, 0, value};
	struct gpu_view v = aligned_view(g, out, 4, &pc.offset);
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
	if ((VkDeviceSize)n * 4 > view_bytes(in) || (VkDeviceSize)n * out_size > view_bytes(out))
		return fail(VKLLM_E_ARG, "%s: %u elements do not fit in '%s' (%llu bytes) or '%s' (%llu bytes)",
		            shader_table[sh].name, n, in.buf->name, (unsigned long long)view_bytes(in), out.buf->name,
		            (unsigned long long)view_bytes(out));
	uint32_t spec[] = {elementwise_local_size(g)};
	const struct gpu_pipeline *p;
	TRY(gpu_pipeline_get(g, &p, sh, spec, 1));
	struct copy_params pc = {n, 0, 0};
	struct gpu_view views[] = {aligned_view(g, in, 4, &pc.src_offset), aligned_view(g, out, out_size, &pc.dst_offset)};
	uint32_t gx, gy;
	gpu_groups_1d(g, ((uint64_t)n + spec[0] - 1) / spec[0], &gx, &gy);
	return gpu_dispatch(rec, p, views, 2, &pc, sizeof pc, gx, gy, 1);
}
