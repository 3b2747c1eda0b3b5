/* Helpers shared by the small ops (norm, rope, embed, glu, eltwise, topk): argument checks
 * against views, and the split of a view into an aligned view plus an element offset. */
#ifndef VKLLM_OPS_VIEW_UTIL_H
#define VKLLM_OPS_VIEW_UTIL_H

#include "ops.h"

static inline VkDeviceSize ops_view_bytes(struct gpu_view v) { return v.size ? v.size : v.buf->size - v.offset; }

/* The view exists, lies inside its buffer, starts at a multiple of elem bytes and holds at least
 * `need` bytes; otherwise a message naming the op, the role of the view and the numbers. */
static inline int ops_check_view(const char *op, const char *role, struct gpu_view v, uint32_t elem, uint64_t need)
{
	if (!v.buf || !v.buf->buffer) return fail(VKLLM_E_ARG, "%s: %s has no buffer", op, role);
	const char *name = v.buf->name ? v.buf->name : "?";
	if (v.offset > v.buf->size || (v.size && v.size > v.buf->size - v.offset))
		return fail(VKLLM_E_ARG, "%s: %s view of '%s' at %llu + %llu bytes runs past its end (%llu)", op, role, name,
		            (unsigned long long)v.offset, (unsigned long long)v.size, (unsigned long long)v.buf->size);
	if (v.offset % elem)
		return fail(VKLLM_E_ARG, "%s: %s view of '%s' at byte offset %llu is not a multiple of %u", op, role, name,
		            (unsigned long long)v.offset, elem);
	if (need > ops_view_bytes(v))
		return fail(VKLLM_E_ARG, "%s: %s needs %llu bytes, its view of '%s' has %llu", op, role, (unsigned long long)need,
		            name, (unsigned long long)ops_view_bytes(v));
	if (ops_view_bytes(v) / elem > UINT32_MAX)
		return fail(VKLLM_E_UNSUPPORTED, "%s: %s view of '%s' has more than 2^32 elements", op, role, name);
	return VKLLM_OK;
}

/* Views must start at a multiple of minStorageBufferOffsetAlignment: an offset that is not one
 * becomes an aligned view and an element offset the shader adds. */
static inline struct gpu_view ops_aligned(const struct gpu *g, struct gpu_view v, uint32_t elem, uint32_t *elem_offset)
{
	VkDeviceSize align = g->profile.min_storage_offset_alignment;
	VkDeviceSize base = v.offset / align * align, end = v.offset + ops_view_bytes(v);
	*elem_offset = (uint32_t)((v.offset - base) / elem);
	struct gpu_view a = {v.buf, base, end - base};
	return a;
}

/* A workgroup of `subgroups` subgroups, clamped to the device's limits. */
static inline uint32_t ops_workgroup(const struct gpu *g, uint32_t subgroups)
{
	uint32_t sg = g->profile.subgroup_size ? g->profile.subgroup_size : 32, n = sg * subgroups;
	if (n > g->profile.max_workgroup_invocations) n = g->profile.max_workgroup_invocations;
	if (n > g->profile.max_workgroup_size[0]) n = g->profile.max_workgroup_size[0];
	return n;
}

/* rms_norm's workgroup for rows of n: on GPUs it grows with the row (64 invocations for a 128-wide
 * QK-norm head, 256 for a 4096-wide hidden state), so short rows do not leave most invocations idle.
 * attn_prep takes the same size so that its sums of squares are rms_norm's. */
static inline uint32_t ops_norm_workgroup(const struct gpu *g, uint32_t n)
{
	uint32_t wg = n >= 2048 ? 256 : n >= 512 ? 128 : 64, sg = g->profile.subgroup_size ? g->profile.subgroup_size : 32;
	/* CPU devices: one subgroup. llvmpipe runs a workgroup of several subgroups as that many
	 * passes with a switch at each barrier: rms_norm 57 -> 45 us, attn_prep 202 -> 105 us a call
	 * on the Qwen3-0.6B decode (lavapipe, one profiled run each) */
	if (gpu_is_cpu(g)) wg = sg;
	if (wg < sg) wg = sg;
	if (wg > g->profile.max_workgroup_invocations) wg = g->profile.max_workgroup_invocations;
	if (wg > g->profile.max_workgroup_size[0]) wg = g->profile.max_workgroup_size[0];
	return wg;
}

/* 256 invocations for element-wise kernels (a multiple of every subgroup size in the wild) */
static inline uint32_t ops_elementwise_wg(const struct gpu *g)
{
	uint32_t n = 256;
	if (n > g->profile.max_workgroup_invocations) n = g->profile.max_workgroup_invocations;
	if (n > g->profile.max_workgroup_size[0]) n = g->profile.max_workgroup_size[0];
	return n;
}

/* Weight matrices larger than maxStorageBufferRange (an LM head of 151936 x 1024 in q8_0 is
 * 165 MB; lavapipe allows 128 MiB) are bound in row ranges, one dispatch each: how many rows fit
 * one binding. */
static inline int ops_weight_rows_per_dispatch(const struct gpu *g, const char *op, uint64_t row_bytes, uint32_t n_rows,
                                               uint32_t *rows)
{
	uint64_t max_range = g->profile.max_storage_buffer_range - 256;
	*rows = (uint32_t)(max_range / row_bytes < n_rows ? max_range / row_bytes : n_rows);
	if (*rows == 0) return fail(VKLLM_E_UNSUPPORTED, "%s: one row is larger than the device's buffer range", op);
	return VKLLM_OK;
}

/* The view of weight rows [r0, r0 + nr), aligned, with its byte offset for the shader. Shaders
 * read weights in 16-bit words: a view that ends inside a word (MXFP4's 17-byte blocks) would
 * have its last byte read as 0 by robust access, so the view is widened to a whole 32-bit word,
 * which the buffer must have room for (weight buffers are padded). */
static inline int ops_weight_view(const struct gpu *g, const char *op, struct gpu_view w, uint64_t row_bytes, uint32_t r0,
                                  uint32_t nr, struct gpu_view *out, uint32_t *byte_offset)
{
	struct gpu_view part = {w.buf, w.offset + (VkDeviceSize)r0 * row_bytes, (VkDeviceSize)nr * row_bytes};
	*out = ops_aligned(g, part, 1, byte_offset);
	VkDeviceSize end = (out->offset + out->size + 3) & ~(VkDeviceSize)3;
	if (end > w.buf->size)
		return fail(VKLLM_E_ARG, "%s: weights end %llu bytes into '%s' (%llu bytes); pad the buffer to 4 bytes", op,
		            (unsigned long long)(out->offset + out->size), w.buf->name, (unsigned long long)w.buf->size);
	out->size = end - out->offset;
	return VKLLM_OK;
}

#endif
