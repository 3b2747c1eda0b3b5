/* op_embed (shaders/embed.comp): token embedding rows for every weight type, decoded by
 * common/blocks.glsl. One workgroup per token, 2 subgroups of invocations: a row is n_embd/32
 * units (64 to 256 for real models), each a whole decode. */
#include <math.h>

#include "ops.h"

#include "../../shaders/abi.h"
#include "loader/quant.h"
#include "view_util.h"

static const struct {
	uint32_t type;
	enum shader_id shader;
} variants[] = {
	{QT_F32, SH_EMBED_F32},   {QT_F16, SH_EMBED_F16},   {QT_BF16, SH_EMBED_BF16}, {QT_Q4_0, SH_EMBED_Q4_0},
	{QT_Q4_1, SH_EMBED_Q4_1}, {QT_Q5_0, SH_EMBED_Q5_0}, {QT_Q5_1, SH_EMBED_Q5_1}, {QT_Q8_0, SH_EMBED_Q8_0},
	{QT_Q2_K, SH_EMBED_Q2_K}, {QT_Q3_K, SH_EMBED_Q3_K}, {QT_Q4_K, SH_EMBED_Q4_K}, {QT_Q5_K, SH_EMBED_Q5_K},
	{QT_Q6_K, SH_EMBED_Q6_K}, {QT_MXFP4, SH_EMBED_MXFP4},
};

int op_embed(struct gpu_rec *rec, struct gpu_view out, struct gpu_view table, uint32_t wtype, struct gpu_view ids,
             uint32_t n_tokens, uint32_t n_embd, uint32_t first_row, uint32_t n_rows, float scale)
{
	struct gpu *g = rec->g;
	enum shader_id sh = SH_COUNT;
	for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++)
		if (variants[i].type == wtype) sh = variants[i].shader;
	const struct quant_type *qt = quant_type_info(wtype);
	if (sh == SH_COUNT || !qt) return fail(VKLLM_E_UNSUPPORTED, "embed: weight type %s has no kernel", qt ? qt->name : "?");
	const char *op = shader_table[sh].name;
	if (wtype != QT_F32 && !g->profile.storage16)
		return fail(VKLLM_E_UNSUPPORTED, "%s: device %s lacks storageBuffer16BitAccess", op, g->profile.name);
	if (n_tokens == 0 || n_rows == 0 || n_embd == 0 || n_embd % 32 || n_embd % qt->block_size)
		return fail(VKLLM_E_ARG, "%s: %u tokens, %u rows of %u: n_embd must be a multiple of 32 and of the block size %u",
		            op, n_tokens, n_rows, n_embd, qt->block_size);
	if (!isfinite(scale)) return fail(VKLLM_E_ARG, "%s: scale %g is not finite", op, (double)scale);
	uint64_t row_bytes = quant_row_size(wtype, n_embd);
	TRY(ops_check_view(op, "table", table, wtype == QT_F32 ? 4 : (wtype == QT_MXFP4 ? 1 : 2), (uint64_t)n_rows * row_bytes));
	TRY(ops_check_view(op, "ids", ids, 4, (uint64_t)n_tokens * 4));
	TRY(ops_check_view(op, "out", out, 4, (uint64_t)n_tokens * n_embd * 4));

	uint32_t spec[] = {ops_workgroup(g, 2)};
	const struct gpu_pipeline *p;
	TRY(gpu_pipeline_get(g, &p, sh, spec, 1));
	struct embed_params pc = {
		.n_tokens = n_tokens, .n_embd = n_embd, .row_bytes = (uint32_t)row_bytes, .first_row = first_row,
		.n_rows = n_rows, .out_stride = n_embd, .scale = scale,
	};
	struct gpu_view views[] = {ops_aligned(g, table, 1, &pc.w_offset), ops_aligned(g, ids, 4, &pc.ids_offset),
	                           ops_aligned(g, out, 4, &pc.out_offset)};
	/* the shader reads 16-bit words (32-bit for f32): a view that ends inside one (MXFP4's 17-byte
	 * blocks) is widened to a whole word, which the buffer must have room for (as matvec does) */
	VkDeviceSize wend = (views[0].offset + views[0].size + 3) & ~(VkDeviceSize)3;
	if (wend > table.buf->size)
		return fail(VKLLM_E_ARG, "%s: table ends %llu bytes into '%s' (%llu bytes); pad the buffer to 4 bytes", op,
		            (unsigned long long)(views[0].offset + views[0].size), table.buf->name,
		            (unsigned long long)table.buf->size);
	views[0].size = wend - views[0].offset;
	if (views[0].size > UINT32_MAX)
		return fail(VKLLM_E_UNSUPPORTED, "%s: a table part of %llu bytes; split it under 4 GiB", op,
		            (unsigned long long)views[0].size);
	uint32_t gx, gy;
	gpu_groups_1d(g, n_tokens, &gx, &gy);
	return gpu_dispatch(rec, p, views, 3, &pc, sizeof pc, gx, gy, 1);
}
