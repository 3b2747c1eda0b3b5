/* The mixture-of-experts ops (docs/moe.md): op_moe_route (shaders/moe_route.comp), op_moe_index
 * (moe_index.comp), op_moe_gather_rows and op_moe_scatter (moe_rows.comp), op_moe_matvec
 * (moe_matvec.comp), op_moe_gemm (gemm.comp -D MOE, or gemm_coopmat.comp -D MOE on matrix units) and op_moe_add_bias (moe_add_bias.comp). Routing never leaves
 * the device: the expert matmuls read the ids and the index these write. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "matmul_util.h"
#include "view_util.h"
#include "loader/quant.h"

#include "../../shaders/abi.h"

#define MOE_MAX_EXPERTS 1024
#define MOE_MAX_K 32
#define MOE_MAX_GROUPS 64

int op_moe_route(struct gpu_rec *rec, struct gpu_view ids, struct gpu_view weights, struct gpu_view logits,
                 struct gpu_view bias, const struct moe_route_desc *d)
{
	struct gpu *g = rec->g;
	const char *op = "moe_route";
	if (d->n_tok == 0 || d->n_exp == 0 || d->n_exp > MOE_MAX_EXPERTS || d->k == 0 || d->k > MOE_MAX_K || d->k > d->n_exp)
		return fail(VKLLM_E_ARG, "%s: %u tokens, %u experts, top %u: experts must be 1..%u and k 1..min(%u, experts)", op,
		            d->n_tok, d->n_exp, d->k, MOE_MAX_EXPERTS, MOE_MAX_K);
	if (d->n_group > 1 && (d->n_group > MOE_MAX_GROUPS || d->n_exp % d->n_group || d->n_group_used == 0 ||
	                       d->n_group_used > d->n_group || (uint64_t)d->n_group_used * (d->n_exp / d->n_group) < d->k))
		return fail(VKLLM_E_ARG, "%s: %u groups (%u used) of %u experts cannot give %u experts (at most %u groups, dividing "
		            "the experts)", op, d->n_group, d->n_group_used, d->n_exp, d->k, MOE_MAX_GROUPS);
	if (d->gating > MOE_GATING_SIGMOID_LOGITS) return fail(VKLLM_E_ARG, "%s: unknown gating %d", op, (int)d->gating);
	if (!isfinite(d->scale)) return fail(VKLLM_E_ARG, "%s: scale %g is not finite", op, (double)d->scale);
	uint32_t stride = d->logits_stride ? d->logits_stride : d->n_exp;
	TRY(ops_check_view(op, "logits", logits, 4, ((uint64_t)(d->n_tok - 1) * stride + d->n_exp) * 4));
	if (bias.buf) TRY(ops_check_view(op, "bias", bias, 4, (uint64_t)d->n_exp * 4));
	TRY(ops_check_view(op, "ids", ids, 4, (uint64_t)d->n_tok * d->k * 4));
	TRY(ops_check_view(op, "weights", weights, 4, (uint64_t)d->n_tok * d->k * 4));
	uint32_t spec[] = {64, (uint32_t)d->gating};
	const struct gpu_pipeline *p;
	TRY(gpu_pipeline_get(g, &p, SH_MOE_ROUTE, spec, 2));
	struct moe_route_params pc = {
		.n_tok = d->n_tok, .n_exp = d->n_exp, .k = d->k, .logits_stride = stride, .has_bias = bias.buf != NULL,
		.n_group = d->n_group ? d->n_group : 1, .n_group_used = d->n_group_used, .norm = d->norm, .scale = d->scale,
	};
	struct gpu_view views[] = {ops_aligned(g, logits, 4, &pc.logits_offset),
	                           ops_aligned(g, bias.buf ? bias : logits, 4, &pc.bias_offset),
	                           ops_aligned(g, ids, 4, &pc.ids_offset), ops_aligned(g, weights, 4, &pc.w_offset)};
	uint32_t gx, gy;
	gpu_groups_1d(g, d->n_tok, &gx, &gy);
	return gpu_dispatch(rec, p, views, 4, &pc, sizeof pc, gx, gy, 1);
}

int op_moe_index(struct gpu_rec *rec, struct gpu_view counts, struct gpu_view offsets, struct gpu_view perm,
                 struct gpu_view inv, struct gpu_view ids, uint32_t n_assign, uint32_t n_exp)
{
	struct gpu *g = rec->g;
	const char *op = "moe_index";
	if (n_assign == 0 || n_exp == 0 || n_exp > MOE_MAX_EXPERTS)
		return fail(VKLLM_E_ARG, "%s: %u assignments to %u experts (at most %u)", op, n_assign, n_exp, MOE_MAX_EXPERTS);
	TRY(ops_check_view(op, "ids", ids, 4, (uint64_t)n_assign * 4));
	TRY(ops_check_view(op, "counts", counts, 4, (uint64_t)n_exp * 4));
	TRY(ops_check_view(op, "offsets", offsets, 4, ((uint64_t)n_exp + 1) * 4));
	TRY(ops_check_view(op, "perm", perm, 4, (uint64_t)n_assign * 4));
	TRY(ops_check_view(op, "inv", inv, 4, (uint64_t)n_assign * 4));
	uint32_t spec[] = {ops_workgroup(g, 8)};
	const struct gpu_pipeline *p;
	TRY(gpu_pipeline_get(g, &p, SH_MOE_INDEX, spec, 1));
	struct moe_index_params pc = {.n_assign = n_assign, .n_exp = n_exp};
	struct gpu_view views[] = {ops_aligned(g, ids, 4, &pc.ids_offset), ops_aligned(g, counts, 4, &pc.counts_offset),
	                           ops_aligned(g, offsets, 4, &pc.offsets_offset), ops_aligned(g, perm, 4, &pc.perm_offset),
	                           ops_aligned(g, inv, 4, &pc.inv_offset)};
	return gpu_dispatch(rec, p, views, 5, &pc, sizeof pc, 1, 1, 1);
}

int op_moe_gather_rows(struct gpu_rec *rec, struct gpu_view out, struct gpu_view x, struct gpu_view perm,
                       struct gpu_view weights, uint32_t n_tok, uint32_t k, uint32_t n)
{
	struct gpu *g = rec->g;
	const char *op = "moe_gather_rows";
	uint64_t n_assign = (uint64_t)n_tok * k;
	if (n_tok == 0 || k == 0 || n == 0 || n_assign * n > UINT32_MAX)
		return fail(VKLLM_E_ARG, "%s: %u tokens x %u slots of %u values", op, n_tok, k, n);
	TRY(ops_check_view(op, "x", x, 4, (uint64_t)n_tok * n * 4));
	TRY(ops_check_view(op, "perm", perm, 4, n_assign * 4));
	if (weights.buf) TRY(ops_check_view(op, "weights", weights, 4, n_assign * 4));
	TRY(ops_check_view(op, "out", out, 4, n_assign * n * 4));
	uint32_t spec[] = {ops_elementwise_wg(g)};
	const struct gpu_pipeline *p;
	TRY(gpu_pipeline_get(g, &p, SH_MOE_GATHER_ROWS, spec, 1));
	struct moe_rows_params pc = {.n_assign = (uint32_t)n_assign, .k = k, .n = n, .x_stride = n, .out_stride = n,
	                             .weighted = weights.buf != NULL};
	/* unweighted, the shader never reads its weights binding: perm stands in */
	struct gpu_view views[] = {ops_aligned(g, x, 4, &pc.x_offset), ops_aligned(g, perm, 4, &pc.index_offset),
	                           ops_aligned(g, weights.buf ? weights : perm, 4, &pc.w_offset),
	                           ops_aligned(g, out, 4, &pc.out_offset)};
	uint32_t gx, gy;
	gpu_groups_1d(g, (n_assign * n + spec[0] - 1) / spec[0], &gx, &gy);
	return gpu_dispatch(rec, p, views, 4, &pc, sizeof pc, gx, gy, 1);
}

int op_moe_scatter(struct gpu_rec *rec, struct gpu_view out, struct gpu_view y, struct gpu_view inv,
                   struct gpu_view weights, uint32_t n_tok, uint32_t k, uint32_t n, bool accumulate)
{
	struct gpu *g = rec->g;
	const char *op = "moe_scatter";
	uint64_t n_assign = (uint64_t)n_tok * k;
	if (n_tok == 0 || k == 0 || n == 0 || n_assign * n > UINT32_MAX)
		return fail(VKLLM_E_ARG, "%s: %u tokens x %u slots of %u values", op, n_tok, k, n);
	TRY(ops_check_view(op, "y", y, 4, n_assign * n * 4));
	TRY(ops_check_view(op, "inv", inv, 4, n_assign * 4));
	if (weights.buf) TRY(ops_check_view(op, "weights", weights, 4, n_assign * 4));
	TRY(ops_check_view(op, "out", out, 4, (uint64_t)n_tok * n * 4));
	uint32_t spec[] = {ops_elementwise_wg(g)};
	const struct gpu_pipeline *p;
	TRY(gpu_pipeline_get(g, &p, SH_MOE_SCATTER, spec, 1));
	struct moe_rows_params pc = {.n_assign = (uint32_t)n_assign, .k = k, .n = n, .x_stride = n, .out_stride = n,
	                             .accumulate = accumulate, .weighted = weights.buf != NULL};
	struct gpu_view views[] = {ops_aligned(g, y, 4, &pc.x_offset), ops_aligned(g, inv, 4, &pc.index_offset),
	                           ops_aligned(g, weights.buf ? weights : inv, 4, &pc.w_offset),
	                           ops_aligned(g, out, 4, &pc.out_offset)};
	uint32_t gx, gy;
	gpu_groups_1d(g, ((uint64_t)n_tok * n + spec[0] - 1) / spec[0], &gx, &gy);
	return gpu_dispatch(rec, p, views, 4, &pc, sizeof pc, gx, gy, 1);
}

int op_moe_add_bias(struct gpu_rec *rec, struct gpu_view y, struct gpu_view bias, struct gpu_view ids, struct gpu_view perm,
                    uint32_t n_assign, uint32_t n, uint32_t n_exp)
{
	struct gpu *g = rec->g;
	const char *op = "moe_add_bias";
	if (n_assign == 0 || n == 0 || n_exp == 0 || (uint64_t)n_assign * n > UINT32_MAX || (uint64_t)n_exp * n > UINT32_MAX)
		return fail(VKLLM_E_ARG, "%s: %u rows of %u values, %u experts: sizes must be positive and the products below 2^32",
		            op, n_assign, n, n_exp);
	TRY(ops_check_view(op, "y", y, 4, (uint64_t)n_assign * n * 4));
	TRY(ops_check_view(op, "bias", bias, 4, (uint64_t)n_exp * n * 4));
	TRY(ops_check_view(op, "ids", ids, 4, (uint64_t)n_assign * 4));
	if (perm.buf) TRY(ops_check_view(op, "perm", perm, 4, (uint64_t)n_assign * 4));
	uint32_t spec[] = {ops_elementwise_wg(g)};
	const struct gpu_pipeline *p;
	TRY(gpu_pipeline_get(g, &p, SH_MOE_ADD_BIAS, spec, 1));
	struct moe_add_bias_params pc = {.n_assign = n_assign, .n = n, .n_exp = n_exp, .has_perm = perm.buf != NULL};
	/* without perm the shader never reads its binding: ids stands in */
	struct gpu_view views[] = {ops_aligned(g, y, 4, &pc.y_offset), ops_aligned(g, bias, 4, &pc.bias_offset),
	                           ops_aligned(g, ids, 4, &pc.ids_offset),
	                           ops_aligned(g, perm.buf ? perm : ids, 4, &pc.perm_offset)};
	uint32_t gx, gy;
	gpu_groups_1d(g, ((uint64_t)n_assign * n + spec[0] - 1) / spec[0], &gx, &gy);
	return gpu_dispatch(rec, p, views, 4, &pc, sizeof pc, gx, gy, 1);
}

static const struct {
	uint32_t type;
	enum shader_id sh;
} moe_matvec_variants[] = {
	{QT_F32, SH_MOE_MATVEC_F32},   {QT_F16, SH_MOE_MATVEC_F16},   {QT_BF16, SH_MOE_MATVEC_BF16},
	{QT_Q4_0, SH_MOE_MATVEC_Q4_0}, {QT_Q4_1, SH_MOE_MATVEC_Q4_1}, {QT_Q5_0, SH_MOE_MATVEC_Q5_0},
	{QT_Q5_1, SH_MOE_MATVEC_Q5_1}, {QT_Q8_0, SH_MOE_MATVEC_Q8_0}, {QT_Q2_K, SH_MOE_MATVEC_Q2_K},
	{QT_Q3_K, SH_MOE_MATVEC_Q3_K}, {QT_Q4_K, SH_MOE_MATVEC_Q4_K}, {QT_Q5_K, SH_MOE_MATVEC_Q5_K},
	{QT_Q6_K, SH_MOE_MATVEC_Q6_K}, {QT_MXFP4, SH_MOE_MATVEC_MXFP4},
};

/* lavapipe: matvec_cpu.comp -D MOE (docs/matmul.md), when the expert stack and x start on whole
 * load words; *done false (nothing recorded) otherwise */
static int moe_matvec_cpu(struct gpu_rec *rec, struct gpu_view y, struct gpu_view w, struct gpu_view x, struct gpu_view ids,
                          const struct moe_matvec_desc *d, enum shader_id sh, uint32_t chunk, uint32_t load_bytes,
                          uint64_t row_bytes, bool *done)
{
	struct gpu *g = rec->g;
	const char *op = "moe_matvec";
	uint64_t expert_bytes = row_bytes * d->n_rows, range = g->profile.max_storage_buffer_range - 256;
	uint32_t per_part = (uint32_t)(range / expert_bytes < d->n_exp ? range / expert_bytes : d->n_exp);
	*done = false;
	if (per_part == 0) return VKLLM_OK;
	uint32_t wg = g->profile.subgroup_size ? g->profile.subgroup_size : 8, rows = MATVEC_CPU_ROWS;
	uint32_t split = matvec_cpu_split(d->n_k / chunk, wg), wg_rows = wg / split * rows;
	if (rows % split) return VKLLM_OK; /* the shader stores whole blocks of `split` rows */
	bool pairs = d->perm.buf && d->offsets.buf; /* two columns: assignments of one expert in pairs */
	uint32_t spec[] = {wg, rows, pairs ? 2 : 1};
	const struct gpu_pipeline *p;
	struct gpu_view part;
	uint32_t w_off, xr, yr, ir, pr = 0, orr = 0;
	TRY(ops_weight_view(g, op, w, expert_bytes, 0, 1, &part, &w_off));
	struct gpu_view xv = ops_aligned(g, x, 4, &xr), yv = ops_aligned(g, y, 4, &yr), iv = ops_aligned(g, ids, 4, &ir);
	/* without pairs the shader's perm and offsets bindings are never read: ids stands in */
	struct gpu_view pv = iv, ov = iv;
	if (pairs) {
		TRY(ops_check_view(op, "perm", d->perm, 4, (uint64_t)d->n_assign * 4));
		TRY(ops_check_view(op, "offsets", d->offsets, 4, ((uint64_t)d->n_exp + 1) * 4));
		pv = ops_aligned(g, d->perm, 4, &pr);
		ov = ops_aligned(g, d->offsets, 4, &orr);
	}
	struct gpu_view texel_views[] = {part, xv, yv};
	if (w_off % load_bytes || xr % 4 || !matvec_cpu_texel_aligned(g, texel_views, 3)) return VKLLM_OK;
	TRY(gpu_pipeline_get(g, &p, sh, spec, 3));
	uint32_t gx, gy;
	gpu_groups_1d(g, (d->n_rows + wg_rows - 1) / wg_rows, &gx, &gy);
	for (uint32_t e0 = 0; e0 < d->n_exp; e0 += per_part) {
		uint32_t np = d->n_exp - e0 < per_part ? d->n_exp - e0 : per_part;
		TRY(ops_weight_view(g, op, w, expert_bytes, e0, np, &part, &w_off));
		if (w_off % load_bytes) return fail(VKLLM_E_ARG, "%s: expert part %u starts off a load word", op, e0);
		struct moe_matvec_params pc = {
			.n_rows = d->n_rows, .n_k = d->n_k, .row_bytes = (uint32_t)row_bytes, .w_offset = w_off,
			.expert_bytes = (uint32_t)expert_bytes, .first_expert = e0, .n_part = np, .x_offset = xr, .x_div = d->x_div,
			.y_offset = yr, .ids_offset = ir, .accumulate = d->accumulate, .perm_offset = pr, .offsets_offset = orr,
		};
		struct gpu_view views[] = {part, xv, yv, iv, pv, ov};
		if (e0 == 0)
			gpu_rec_hint_bytes(rec, expert_bytes * d->n_assign + (uint64_t)(d->n_assign / d->x_div) * d->n_k * 4 +
			                            (uint64_t)d->n_assign * d->n_rows * 4);
		TRY(gpu_dispatch(rec, p, views, 6, &pc, sizeof pc, gx, gy, d->n_assign));
	}
	*done = true;
	return VKLLM_OK;
}

/* On CPU devices the grouped GEMM's shared-memory tiles and lane-varying buffer loads cost
 * llvmpipe far more than the weight reuse saves: the Qwen3-30B-A3B-shaped 2-layer q4_K model
 * prefilled 64 tokens at 2.7 tokens/s through it and at 70 through the per-assignment matvecs.
 * VKLLM_MOE_PATH=grouped or =assign overrides the choice (tests, shader authors). */
bool op_moe_per_assignment(const struct gpu *g, uint32_t n_tok, uint32_t n_assign, uint32_t n_exp)
{
	const char *env = getenv("VKLLM_MOE_PATH");
	bool fits = n_assign <= g->profile.max_workgroup_count[2]; /* one assignment per workgroup z */
	if (env && !strcmp(env, "grouped")) return false;
	if (env && !strcmp(env, "assign")) return fits;
	return n_tok <= MATMUL_MATVEC_MAX_COLS || n_assign <= n_exp || (gpu_is_cpu(g) && fits);
}

bool op_moe_matvec_pairs(const struct gpu *g, uint32_t n_tok)
{
	const char *env = getenv("VKLLM_MOE_PAIRS");
	return n_tok > 1 && matvec_cpu_device(g) && !(env && !strcmp(env, "0"));
}

int op_moe_matvec(struct gpu_rec *rec, struct gpu_view y, struct gpu_view w, uint32_t wtype, struct gpu_view x,
                  struct gpu_view ids, const struct moe_matvec_desc *d)
{
	struct gpu *g = rec->g;
	const char *op = "moe_matvec";
	enum shader_id sh = SH_COUNT;
	for (size_t i = 0; i < sizeof moe_matvec_variants / sizeof *moe_matvec_variants; i++)
		if (moe_matvec_variants[i].type == wtype) sh = moe_matvec_variants[i].sh;
	const struct quant_type *qt = quant_type_info(wtype);
	if (sh == SH_COUNT || !qt) return fail(VKLLM_E_UNSUPPORTED, "%s: weight type %s has no kernel", op, qt ? qt->name : "?");
	if (wtype != QT_F32 && !g->profile.storage16)
		return fail(VKLLM_E_UNSUPPORTED, "%s: device %s lacks storageBuffer16BitAccess", op, g->profile.name);
	if (d->n_assign == 0 || d->n_rows == 0 || d->n_exp == 0 || d->n_k == 0 || d->n_k % 32 || d->n_k % qt->block_size ||
	    (d->x_div != 1 && d->x_div == 0) || d->n_assign % d->x_div || d->n_assign > g->profile.max_workgroup_count[2])
		return fail(VKLLM_E_ARG, "%s: %u assignments (input divisor %u) of %u x %u experts (%u): K must be a multiple of 32 "
		            "and of the block size %u, assignments at most %u", op, d->n_assign, d->x_div, d->n_rows, d->n_k,
		            d->n_exp, qt->block_size, g->profile.max_workgroup_count[2]);
	uint64_t row_bytes = quant_row_size(wtype, d->n_k), expert_bytes = row_bytes * d->n_rows;
	if (expert_bytes > UINT32_MAX) return fail(VKLLM_E_UNSUPPORTED, "%s: one expert is more than 4 GiB", op);
	TRY(ops_check_view(op, "weights", w, wtype == QT_F32 ? 4 : wtype == QT_MXFP4 ? 1 : 2, expert_bytes * d->n_exp));
	TRY(ops_check_view(op, "x", x, 4, (uint64_t)(d->n_assign / d->x_div) * d->n_k * 4));
	TRY(ops_check_view(op, "y", y, 4, (uint64_t)d->n_assign * d->n_rows * 4));
	TRY(ops_check_view(op, "ids", ids, 4, (uint64_t)d->n_assign * 4));
	bool cpu = gpu_is_cpu(g);
	/* one column of Q4_K or Q8_0 on a GPU: matvec_vec.comp -D MOE, wide loads (host/ops/matvec.c) */
	uint32_t vec_word = 0;
	enum shader_id vec_dense, vec_moe = SH_COUNT;
	bool vec = op_matvec_vec(g, wtype, 1) && matvec_vec_layout(wtype, &vec_word, &vec_dense, &vec_moe) &&
	           d->n_k % 64 == 0 && w.offset % vec_word == 0 && x.offset % 16 == 0 && row_bytes % vec_word == 0;
	uint32_t chunk, load_bytes;
	enum shader_id cpu_sh;
	if (!vec && matvec_cpu_device(g) && matvec_cpu_layout(wtype, &chunk, &load_bytes, &cpu_sh) &&
	    d->n_k % chunk == 0 && row_bytes % load_bytes == 0) {
		bool done;
		TRY(moe_matvec_cpu(rec, y, w, x, ids, d, cpu_sh, chunk, load_bytes, row_bytes, &done));
		if (done) return VKLLM_OK;
	}
	uint32_t spec[] = {ops_workgroup(g, cpu ? 1 : 4), cpu ? 16 : 8}, wg_rows = spec[1];
	if (vec) {
		/* 4 subgroups of 2 rows, as the dense kernel */
		uint32_t sg = g->profile.subgroup_size ? g->profile.subgroup_size : 32;
		sh = vec_moe;
		spec[0] = 4 * sg, spec[1] = 2, wg_rows = 8;
		if (spec[0] > g->profile.max_workgroup_invocations) spec[0] = sg, wg_rows = 2;
	}
	const struct gpu_pipeline *p;
	TRY(gpu_pipeline_get(g, &p, sh, spec, 2));
	/* whole experts per binding: a stack larger than maxStorageBufferRange is several dispatches */
	uint64_t range = g->profile.max_storage_buffer_range - 256;
	uint32_t per_part = (uint32_t)(range / expert_bytes < d->n_exp ? range / expert_bytes : d->n_exp);
	if (per_part == 0) return fail(VKLLM_E_UNSUPPORTED, "%s: one expert (%llu bytes) is larger than a binding of device %s",
	                               op, (unsigned long long)expert_bytes, g->profile.name);
	uint32_t gx, gy;
	gpu_groups_1d(g, (d->n_rows + wg_rows - 1) / wg_rows, &gx, &gy);
	for (uint32_t e0 = 0; e0 < d->n_exp; e0 += per_part) {
		uint32_t np = d->n_exp - e0 < per_part ? d->n_exp - e0 : per_part;
		struct gpu_view part;
		uint32_t w_off;
		TRY(ops_weight_view(g, op, w, expert_bytes, e0, np, &part, &w_off));
		struct moe_matvec_params pc = {
			.n_rows = d->n_rows, .n_k = d->n_k, .row_bytes = (uint32_t)row_bytes, .w_offset = w_off,
			.expert_bytes = (uint32_t)expert_bytes, .first_expert = e0, .n_part = np, .x_div = d->x_div,
			.accumulate = d->accumulate,
		};
		struct gpu_view views[] = {part, ops_aligned(g, x, 4, &pc.x_offset), ops_aligned(g, y, 4, &pc.y_offset),
		                           ops_aligned(g, ids, 4, &pc.ids_offset)};
		if (vec) CHECK(w_off % vec_word == 0 && part.offset % vec_word == 0 && pc.x_offset % 4 == 0);
		/* the chosen experts' weights (each assignment's; a repeated expert counts twice), x and y */
		if (e0 == 0)
			gpu_rec_hint_bytes(rec, expert_bytes * d->n_assign + (uint64_t)(d->n_assign / d->x_div) * d->n_k * 4 +
			                            (uint64_t)d->n_assign * d->n_rows * 4);
		TRY(gpu_dispatch(rec, p, views, 4, &pc, sizeof pc, gx, gy, d->n_assign));
	}
	return VKLLM_OK;
}

static const struct {
	uint32_t type;
	enum shader_id sh;
} moe_gemm_variants[] = {
	{QT_F32, SH_MOE_GEMM_F32},   {QT_F16, SH_MOE_GEMM_F16},   {QT_BF16, SH_MOE_GEMM_BF16},
	{QT_Q4_0, SH_MOE_GEMM_Q4_0}, {QT_Q4_1, SH_MOE_GEMM_Q4_1}, {QT_Q5_0, SH_MOE_GEMM_Q5_0},
	{QT_Q5_1, SH_MOE_GEMM_Q5_1}, {QT_Q8_0, SH_MOE_GEMM_Q8_0}, {QT_Q2_K, SH_MOE_GEMM_Q2_K},
	{QT_Q3_K, SH_MOE_GEMM_Q3_K}, {QT_Q4_K, SH_MOE_GEMM_Q4_K}, {QT_Q5_K, SH_MOE_GEMM_Q5_K},
	{QT_Q6_K, SH_MOE_GEMM_Q6_K}, {QT_MXFP4, SH_MOE_GEMM_MXFP4},
};

/* the grouped GEMM on matrix units (gemm_coopmat.comp -D MOE): every type but F32 and BF16 */
static const struct {
	uint32_t type;
	enum shader_id sh;
} moe_gemm_coopmat_variants[] = {
	{QT_F16, SH_MOE_GEMM_COOPMAT_F16},   {QT_Q4_0, SH_MOE_GEMM_COOPMAT_Q4_0}, {QT_Q4_1, SH_MOE_GEMM_COOPMAT_Q4_1},
	{QT_Q5_0, SH_MOE_GEMM_COOPMAT_Q5_0}, {QT_Q5_1, SH_MOE_GEMM_COOPMAT_Q5_1}, {QT_Q8_0, SH_MOE_GEMM_COOPMAT_Q8_0},
	{QT_Q2_K, SH_MOE_GEMM_COOPMAT_Q2_K}, {QT_Q3_K, SH_MOE_GEMM_COOPMAT_Q3_K}, {QT_Q4_K, SH_MOE_GEMM_COOPMAT_Q4_K},
	{QT_Q5_K, SH_MOE_GEMM_COOPMAT_Q5_K}, {QT_Q6_K, SH_MOE_GEMM_COOPMAT_Q6_K}, {QT_MXFP4, SH_MOE_GEMM_COOPMAT_MXFP4},
};

bool op_moe_gemm_uses_coopmat(const struct gpu *g, uint32_t wtype)
{
	uint32_t spec[6];
	for (size_t i = 0; i < sizeof moe_gemm_coopmat_variants / sizeof *moe_gemm_coopmat_variants; i++)
		if (moe_gemm_coopmat_variants[i].type == wtype) return gemm_coopmat_spec(g, moe_gemm_coopmat_variants[i].sh, spec);
	return false;
}

int op_moe_gemm(struct gpu_rec *rec, struct gpu_view y, struct gpu_view w, uint32_t wtype, struct gpu_view x,
                struct gpu_view counts, struct gpu_view offsets, const struct moe_gemm_desc *d)
{
	struct gpu *g = rec->g;
	const char *op = "moe_gemm";
	enum shader_id sh = SH_COUNT;
	for (size_t i = 0; i < sizeof moe_gemm_variants / sizeof *moe_gemm_variants; i++)
		if (moe_gemm_variants[i].type == wtype) sh = moe_gemm_variants[i].sh;
	const struct quant_type *qt = quant_type_info(wtype);
	if (sh == SH_COUNT || !qt) return fail(VKLLM_E_UNSUPPORTED, "%s: weight type %s has no kernel", op, qt ? qt->name : "?");
	if (wtype != QT_F32 && !g->profile.storage16)
		return fail(VKLLM_E_UNSUPPORTED, "%s: device %s lacks storageBuffer16BitAccess", op, g->profile.name);
	if (d->n_assign == 0 || d->n_rows == 0 || d->n_exp == 0 || d->n_exp > MOE_MAX_EXPERTS || d->n_k == 0 || d->n_k % 32 ||
	    d->n_k % qt->block_size)
		return fail(VKLLM_E_ARG, "%s: %u rows in expert order, %u x %u experts (%u): K must be a multiple of 32 and of the "
		            "block size %u, experts 1..%u", op, d->n_assign, d->n_rows, d->n_k, d->n_exp, qt->block_size,
		            MOE_MAX_EXPERTS);
	uint64_t row_bytes = quant_row_size(wtype, d->n_k), expert_bytes = row_bytes * d->n_rows;
	if (expert_bytes > UINT32_MAX) return fail(VKLLM_E_UNSUPPORTED, "%s: one expert is more than 4 GiB", op);
	TRY(ops_check_view(op, "weights", w, wtype == QT_F32 ? 4 : wtype == QT_MXFP4 ? 1 : 2, expert_bytes * d->n_exp));
	TRY(ops_check_view(op, "x", x, 4, (uint64_t)d->n_assign * d->n_k * 4));
	TRY(ops_check_view(op, "y", y, 4, (uint64_t)d->n_assign * d->n_rows * 4));
	TRY(ops_check_view(op, "counts", counts, 4, (uint64_t)d->n_exp * 4));
	TRY(ops_check_view(op, "offsets", offsets, 4, ((uint64_t)d->n_exp + 1) * 4));
	uint32_t spec[6], n_spec = 5;
	gemm_plain_spec(g, spec);
	for (size_t i = 0; i < sizeof moe_gemm_coopmat_variants / sizeof *moe_gemm_coopmat_variants; i++)
		if (moe_gemm_coopmat_variants[i].type == wtype && gemm_coopmat_spec(g, moe_gemm_coopmat_variants[i].sh, spec))
			sh = moe_gemm_coopmat_variants[i].sh, n_spec = 6;
	const struct gpu_pipeline *p;
	TRY(gpu_pipeline_get(g, &p, sh, spec, n_spec));
	uint32_t bm = spec[1], bn = spec[2];
	/* column tiles: at most one partial tile per expert that has rows, beyond the full ones */
	uint64_t tiles = (d->n_assign + bn - 1) / bn + (d->n_exp < d->n_assign ? d->n_exp : d->n_assign);
	uint32_t row_groups = (d->n_rows + bm - 1) / bm;
	if (tiles > g->profile.max_workgroup_count[1] || row_groups > g->profile.max_workgroup_count[0])
		return fail(VKLLM_E_UNSUPPORTED, "%s: %llu x %u workgroups exceed device %s's limits", op, (unsigned long long)tiles,
		            row_groups, g->profile.name);
	uint64_t range = g->profile.max_storage_buffer_range - 256;
	uint32_t per_part = (uint32_t)(range / expert_bytes < d->n_exp ? range / expert_bytes : d->n_exp);
	if (per_part == 0) return fail(VKLLM_E_UNSUPPORTED, "%s: one expert (%llu bytes) is larger than a binding of device %s",
	                               op, (unsigned long long)expert_bytes, g->profile.name);
	for (uint32_t e0 = 0; e0 < d->n_exp; e0 += per_part) {
		uint32_t np = d->n_exp - e0 < per_part ? d->n_exp - e0 : per_part;
		struct gpu_view part;
		uint32_t w_off;
		TRY(ops_weight_view(g, op, w, expert_bytes, e0, np, &part, &w_off));
		struct moe_gemm_params pc = {
			.n_rows = d->n_rows, .n_k = d->n_k, .row_bytes = (uint32_t)row_bytes, .w_offset = w_off, .x_stride = d->n_k,
			.y_stride = d->n_rows, .accumulate = d->accumulate, .expert_bytes = (uint32_t)expert_bytes,
			.first_expert = e0, .n_part = np, .n_exp = d->n_exp,
		};
		struct gpu_view views[] = {part, ops_aligned(g, x, 4, &pc.x_offset), ops_aligned(g, y, 4, &pc.y_offset),
		                           ops_aligned(g, counts, 4, &pc.counts_offset),
		                           ops_aligned(g, offsets, 4, &pc.offsets_offset)};
		TRY(gpu_dispatch(rec, p, views, 5, &pc, sizeof pc, row_groups, (uint32_t)tiles, 1));
	}
	return VKLLM_OK;
}
