/* op_matvec: decode-time matrix-vector products for every weight type. CPU devices (lavapipe)
 * take shaders/matvec_cpu.comp where the type and shape allow (docs/matmul.md, "lavapipe"),
 * everything else shaders/matvec.comp, tuned from the device profile: on GPUs a workgroup of 4
 * subgroups (the reduction is then one subgroup add and a 4-way sum in shared memory) on 8 rows;
 * on CPU devices one subgroup on 16. One column of Q4_K or Q8_0 on a GPU takes
 * shaders/matvec_vec.comp, which reads its weights in 16- or 4-byte words (matvec_vec below). */
#include "ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../shaders/abi.h"
#include "matmul_util.h"
#include "view_util.h"
#include "loader/quant.h"

/* at most this many columns per matvec_cpu dispatch: llvmpipe's compile time grows faster than
 * the work saved (q8_0: 1.2 s for one column, 2.9 s for two, 7 s for four) */
#define CPU_COLS 2

/* matvec_cpu.comp for a weight type: its variant, the values of one chunk (the row slice a lane
 * decodes per step) and the width of its weight loads (texels: rgba32ui, or rg32ui for q6_K),
 * which every row start must be a multiple of. Types not listed take matvec.comp. */
struct cpu_variant {
	uint32_t type, chunk, load_bytes;
	enum shader_id sh, moe; /* moe: the MoE expert variant (op_moe_matvec) */
};
static const struct cpu_variant cpu_variants[] = {
	{QT_Q8_0, 256, 16, SH_MATVEC_CPU_Q8_0, SH_MOE_MATVEC_CPU_Q8_0},
	{QT_Q4_0, 256, 16, SH_MATVEC_CPU_Q4_0, SH_MOE_MATVEC_CPU_Q4_0},
	{QT_Q4_K, 256, 16, SH_MATVEC_CPU_Q4_K, SH_MOE_MATVEC_CPU_Q4_K},
	{QT_Q6_K, 1024, 8, SH_MATVEC_CPU_Q6_K, SH_MOE_MATVEC_CPU_Q6_K},
	{QT_F16, 128, 16, SH_MATVEC_CPU_F16, SH_MOE_MATVEC_CPU_F16},
	{QT_BF16, 128, 16, SH_MATVEC_CPU_BF16, SH_MOE_MATVEC_CPU_BF16},
	{QT_F32, 64, 16, SH_MATVEC_CPU_F32, SH_MOE_MATVEC_CPU_F32},
};

static const struct cpu_variant *cpu_variant(uint32_t wtype)
{
	for (size_t i = 0; i < sizeof cpu_variants / sizeof cpu_variants[0]; i++)
		if (cpu_variants[i].type == wtype) return &cpu_variants[i];
	return NULL;
}

bool matvec_cpu_layout(uint32_t wtype, uint32_t *chunk, uint32_t *load_bytes, enum shader_id *moe)
{
	const struct cpu_variant *v = cpu_variant(wtype);
	if (!v) return false;
	*chunk = v->chunk, *load_bytes = v->load_bytes, *moe = v->moe;
	return true;
}

bool matvec_cpu_device(const struct gpu *g)
{
	const char *env = getenv("VKLLM_MATVEC_CPU");
	return gpu_is_cpu(g) && g->profile.texel_buffers && (g->profile.subgroup_ops & VK_SUBGROUP_FEATURE_SHUFFLE_BIT) &&
	       !(env && strcmp(env, "0") == 0);
}

bool matvec_cpu_texel_aligned(const struct gpu *g, const struct gpu_view *views, uint32_t n)
{
	VkDeviceSize a = g->profile.min_texel_offset_alignment ? g->profile.min_texel_offset_alignment : 1;
	for (uint32_t i = 0; i < n; i++)
		if (views[i].offset % a) return false;
	return true;
}

/* Lanes of matvec_cpu.comp that share a row, each on its own chunks of K: the most, up to the
 * workgroup, that share the chunks evenly (the shader computes the same). Neighbouring lanes
 * then read neighbouring bytes, long runs of memory rather than 8 rows at once (q4_K 4096x4096:
 * 5.0-5.4 ms against 6.9-8.7 with one lane per row; q8_0 the same or slightly faster). */
uint32_t matvec_cpu_split(uint32_t chunks, uint32_t wg)
{
	uint32_t split = 1;
	while (split * 2 <= wg && chunks % (split * 2) == 0) split *= 2;
	return split;
}

/* Records the product with matvec_cpu.comp and sets *done, or leaves it to the general kernel
 * (*done false, nothing recorded) when the type has no chunk layout, K is not a whole number of
 * chunks, or the rows or x do not start on whole load words. */
static int matvec_cpu(struct gpu_rec *rec, struct gpu_view y, struct gpu_view w, uint32_t wtype, struct gpu_view x,
                      uint32_t n_rows, uint32_t n_k, uint32_t n_cols, bool accumulate, uint64_t row_bytes, bool *done)
{
	struct gpu *g = rec->g;
	const struct cpu_variant *v = cpu_variant(wtype);
	*done = false;
	if (!v || !matvec_cpu_device(g) || n_k % v->chunk || row_bytes % v->load_bytes) return VKLLM_OK;
	const uint32_t rows = MATVEC_CPU_ROWS;
	/* one subgroup per workgroup: llvmpipe runs it as one SIMD register width of lanes */
	uint32_t wg = g->profile.subgroup_size ? g->profile.subgroup_size : 8;
	uint32_t split = matvec_cpu_split(n_k / v->chunk, wg);
	if (rows % split) return VKLLM_OK; /* the shader stores whole blocks of `split` rows */
	/* the checks that may still hand the product to the general kernel, before anything is
	 * recorded: the weight offset in the view is the same for every row range below (row_bytes
	 * is a multiple of 8, views start on 16 bytes), and x must start on a 16-byte texel of its
	 * view (the model's activations do; odd placements take matvec.comp rather than a shifted
	 * variant that would double llvmpipe's compiles) */
	uint32_t rows_per_dispatch, wr, xr, yr;
	TRY(ops_weight_rows_per_dispatch(g, "matvec", row_bytes, n_rows, &rows_per_dispatch));
	struct gpu_view views[3];
	TRY(ops_weight_view(g, "matvec", w, row_bytes, 0, 1, &views[0], &wr));
	views[1] = ops_aligned(g, x, 4, &xr);
	views[2] = ops_aligned(g, y, 4, &yr);
	if (wr % v->load_bytes || xr % 4 || !matvec_cpu_texel_aligned(g, views, 3)) return VKLLM_OK;

	for (uint32_t r0 = 0; r0 < n_rows; r0 += rows_per_dispatch) {
		uint32_t nr = n_rows - r0 < rows_per_dispatch ? n_rows - r0 : rows_per_dispatch;
		TRY(ops_weight_view(g, "matvec", w, row_bytes, r0, nr, &views[0], &wr));
		for (uint32_t c0 = 0; c0 < n_cols; c0 += CPU_COLS) {
			uint32_t nc = n_cols - c0 < CPU_COLS ? n_cols - c0 : CPU_COLS;
			struct matvec_params pc = {
				.n_rows = nr, .n_k = n_k, .row_bytes = (uint32_t)row_bytes, .w_offset = wr,
				.x_offset = xr + c0 * n_k, .x_stride = n_k, .y_offset = yr + c0 * n_rows + r0, .y_stride = n_rows,
				.accumulate = accumulate,
			};
			uint32_t spec[] = {wg, rows, nc};
			const struct gpu_pipeline *p;
			TRY(gpu_pipeline_get(g, &p, v->sh, spec, 3));
			uint32_t gx, gy, wg_rows = wg / split * rows;
			gpu_groups_1d(g, (nr + wg_rows - 1) / wg_rows, &gx, &gy);
			TRY(gpu_dispatch(rec, p, views, 3, &pc, sizeof pc, gx, gy, 1));
		}
	}
	*done = true;
	return VKLLM_OK;
}

bool matvec_vec_layout(uint32_t wtype, uint32_t *word_bytes, enum shader_id *sh, enum shader_id *moe)
{
	if (wtype == QT_Q4_K) *word_bytes = 16, *sh = SH_MATVEC_VEC_Q4_K, *moe = SH_MOE_MATVEC_VEC_Q4_K;
	else if (wtype == QT_Q8_0) *word_bytes = 4, *sh = SH_MATVEC_VEC_Q8_0, *moe = SH_MOE_MATVEC_VEC_Q8_0;
	else return false;
	return true;
}

/* The wide-load kernel for this product: Q4_K or Q8_0, one column, on GPUs (VKLLM_MATVEC_VEC=0
 * turns it off, =1 forces it on CPU devices too, for its tests); alignment is checked at record
 * time. */
bool op_matvec_vec(const struct gpu *g, uint32_t wtype, uint32_t n_cols)
{
	const char *env = getenv("VKLLM_MATVEC_VEC");
	uint32_t wb;
	enum shader_id sh, moe;
	if (env && !strcmp(env, "0")) return false;
	bool forced = env && !strcmp(env, "1");
	return matvec_vec_layout(wtype, &wb, &sh, &moe) && n_cols == 1 && (forced || !gpu_is_cpu(g)) &&
	       (g->profile.subgroup_ops & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT);
}

/* matvec_vec.comp: 4 subgroups a workgroup, 2 rows each (8 rows, as matvec.comp's GPU shape);
 * VKLLM_MATVEC_TILE=wg,rows sets the workgroup and its rows (a multiple of its subgroups). *done
 * stays false, nothing recorded, when K is not a multiple of 64, x does not start on 16 bytes or a
 * row not on the type's word. */
static int matvec_vec(struct gpu_rec *rec, struct gpu_view y, struct gpu_view w, uint32_t wtype, struct gpu_view x,
                      uint32_t n_rows, uint32_t n_k, bool accumulate, uint64_t row_bytes, bool *done)
{
	struct gpu *g = rec->g;
	*done = false;
	uint32_t wb;
	enum shader_id sh, moe;
	if (!matvec_vec_layout(wtype, &wb, &sh, &moe) || n_k % 64) return VKLLM_OK;
	uint32_t sg = g->profile.subgroup_size ? g->profile.subgroup_size : 32;
	uint32_t wg = 4 * sg, rows_per_sg = 2;
	const char *env = getenv("VKLLM_MATVEC_TILE");
	uint32_t ewg, erows;
	if (env && sscanf(env, "%u,%u", &ewg, &erows) == 2 && ewg && ewg % sg == 0 && erows % (ewg / sg) == 0 &&
	    erows / (ewg / sg) >= 1 && erows / (ewg / sg) <= 16)
		wg = ewg, rows_per_sg = erows / (ewg / sg);
	/* with the weights on their word and x on 16 bytes of their buffers, every view below (aligned
	 * down to the device's offset alignment) and every row starts on them too */
	if (wg > g->profile.max_workgroup_invocations || row_bytes % wb || w.offset % wb || x.offset % 16) return VKLLM_OK;
	uint32_t rows_per_dispatch, wr, xr, yr;
	struct gpu_view views[3];
	TRY(ops_weight_rows_per_dispatch(g, "matvec", row_bytes, n_rows, &rows_per_dispatch));
	views[1] = ops_aligned(g, x, 4, &xr);
	views[2] = ops_aligned(g, y, 4, &yr);
	if (xr % 4) return VKLLM_OK;
	uint32_t spec[] = {wg, rows_per_sg};
	const struct gpu_pipeline *p;
	TRY(gpu_pipeline_get(g, &p, sh, spec, 2));
	for (uint32_t r0 = 0; r0 < n_rows; r0 += rows_per_dispatch) {
		uint32_t nr = n_rows - r0 < rows_per_dispatch ? n_rows - r0 : rows_per_dispatch;
		TRY(ops_weight_view(g, "matvec", w, row_bytes, r0, nr, &views[0], &wr));
		CHECK(wr % wb == 0 && views[0].offset % wb == 0);
		struct matvec_params pc = {
			.n_rows = nr, .n_k = n_k, .row_bytes = (uint32_t)row_bytes, .w_offset = wr,
			.x_offset = xr, .x_stride = n_k, .y_offset = yr + r0, .y_stride = n_rows,
			.accumulate = accumulate,
		};
		uint32_t gx, gy, wg_rows = wg / sg * rows_per_sg;
		gpu_groups_1d(g, (nr + wg_rows - 1) / wg_rows, &gx, &gy);
		TRY(gpu_dispatch(rec, p, views, 3, &pc, sizeof pc, gx, gy, 1));
	}
	*done = true;
	return VKLLM_OK;
}

int op_matvec(struct gpu_rec *rec, struct gpu_view y, struct gpu_view w, uint32_t wtype, struct gpu_view x,
              uint32_t n_rows, uint32_t n_k, uint32_t n_cols, bool accumulate)
{
	struct gpu *g = rec->g;
	enum shader_id sh = matmul_shader(wtype, false);
	uint64_t row_bytes;
	TRY(matmul_check("matvec", wtype, y, w, x, n_rows, n_k, n_cols, MATVEC_MAX_COLS, &row_bytes));

	bool done = false;
	if (op_matvec_vec(g, wtype, n_cols)) TRY(matvec_vec(rec, y, w, wtype, x, n_rows, n_k, accumulate, row_bytes, &done));
	if (!done) TRY(matvec_cpu(rec, y, w, wtype, x, n_rows, n_k, n_cols, accumulate, row_bytes, &done));
	if (done) return VKLLM_OK;

	uint32_t sg = g->profile.subgroup_size ? g->profile.subgroup_size : 32;
	uint32_t wg = sg * 4, rows = 8;
	if (wg > g->profile.max_workgroup_invocations) wg = g->profile.max_workgroup_invocations;
	/* GPUs: 4 subgroups, 8 rows per workgroup, each unit's x loaded once for all 8 rows. On an
	 * H100 (q8_0 4096x4096) 1 row reached 12% of the copy bandwidth, 4 rows 33%, 8 rows 62%;
	 * a variant staging the weights through shared memory for coalesced loads was slower (20%).
	 * A CPU device (lavapipe) runs a workgroup as SIMD lanes of one core, and each workgroup
	 * costs a coroutine switch at the barrier: one subgroup per workgroup and 16 rows each was
	 * 3x faster than 4 subgroups and one row (bench --kernels, q8_0 4096x4096, bench/RESULTS.md). */
	if (gpu_is_cpu(g)) wg = sg, rows = 16;
	/* VKLLM_MATVEC_TILE=wg,rows: for shader authors trying shapes with bench --kernels */
	const char *env = getenv("VKLLM_MATVEC_TILE");
	uint32_t ewg, erows;
	if (env && sscanf(env, "%u,%u", &ewg, &erows) == 2 && ewg && ewg <= g->profile.max_workgroup_invocations &&
	    ewg % sg == 0 && erows && erows <= 64)
		wg = ewg, rows = erows;
	uint32_t spec[] = {wg, rows, n_cols};
	const struct gpu_pipeline *p;
	TRY(gpu_pipeline_get(g, &p, sh, spec, 3));

	uint32_t rows_per_dispatch;
	TRY(ops_weight_rows_per_dispatch(g, "matvec", row_bytes, n_rows, &rows_per_dispatch));
	for (uint32_t r0 = 0; r0 < n_rows; r0 += rows_per_dispatch) {
		uint32_t nr = n_rows - r0 < rows_per_dispatch ? n_rows - r0 : rows_per_dispatch;
		uint32_t wr, xr, yr; /* wr in bytes, xr and yr in floats */
		struct gpu_view views[3];
		TRY(ops_weight_view(g, "matvec", w, row_bytes, r0, nr, &views[0], &wr));
		views[1] = ops_aligned(g, x, 4, &xr);
		views[2] = ops_aligned(g, y, 4, &yr);
		struct matvec_params pc = {
			.n_rows = nr, .n_k = n_k, .row_bytes = (uint32_t)row_bytes, .w_offset = wr,
			.x_offset = xr, .x_stride = n_k, .y_offset = yr + r0, .y_stride = n_rows,
			.accumulate = accumulate,
		};
		uint32_t gx, gy;
		gpu_groups_1d(g, (nr + spec[1] - 1) / spec[1], &gx, &gy);
		TRY(gpu_dispatch(rec, p, views, 3, &pc, sizeof pc, gx, gy, 1));
	}
	return VKLLM_OK;
}
