/* op_gemm: prefill-time matrix products (shaders/gemm.comp) for every weight type.
 * Tile shapes come from the device profile (docs/matmul.md):
 *  - GPUs: 256 invocations as a 16 x 16 grid, each with a 4 x 4 micro-tile: a 64 x 64 tile of Y,
 *    16 KiB of shared memory, 64-fold reuse of every decoded weight and every activation;
 *  - CPU devices (lavapipe): one subgroup per workgroup, every lane on its own rows and all lanes
 *    on the same tokens, so activations are scalar loads broadcast to the SIMD lanes. */
#include "ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../shaders/abi.h"
#include "matmul_util.h"
#include "view_util.h"
#include "loader/quant.h"

struct gemm_tile {
	uint32_t wg, bm, bn, tm, tn;
};

static struct gemm_tile gemm_tile_for(const struct gpu *g)
{
	uint32_t sg = g->profile.subgroup_size ? g->profile.subgroup_size : 32;
	struct gemm_tile t = {256, 64, 64, 4, 4};
	if (g->profile.type && strcmp(g->profile.type, "cpu") == 0) t = (struct gemm_tile){sg, sg * 4, 16, 4, 16};
	/* a device with smaller workgroups (none we know of): shrink the grid, keep the micro-tile */
	while (t.wg > g->profile.max_workgroup_invocations || t.wg > g->profile.max_workgroup_size[0]) {
		t.wg /= 4;
		t.bm /= 2;
		t.bn /= 2;
	}
	/* VKLLM_GEMM_TILE=wg,bm,bn,tm,tn: for shader authors trying tile shapes with bench --kernels */
	const char *env = getenv("VKLLM_GEMM_TILE");
	struct gemm_tile e;
	if (env && sscanf(env, "%u,%u,%u,%u,%u", &e.wg, &e.bm, &e.bn, &e.tm, &e.tn) == 5 && e.tm && e.tn && e.bm % e.tm == 0 &&
	    e.bn % e.tn == 0 && (e.bm / e.tm) * (e.bn / e.tn) == e.wg)
		t = e;
	return t;
}

int op_gemm(struct gpu_rec *rec, struct gpu_view y, struct gpu_view w, uint32_t wtype, struct gpu_view x,
            uint32_t n_rows, uint32_t n_k, uint32_t n_cols, bool accumulate)
{
	struct gpu *g = rec->g;
	enum shader_id sh = matmul_shader(wtype, true);
	const struct quant_type *qt = quant_type_info(wtype);
	if (sh == SH_COUNT || !qt) return fail(VKLLM_E_UNSUPPORTED, "gemm: weight type %s has no kernel", qt ? qt->name : "?");
	if (n_rows == 0 || n_cols == 0 || n_k == 0 || n_k % 32 || n_k % qt->block_size)
		return fail(VKLLM_E_ARG, "gemm %s: %u rows x %u, %u columns: K must be a positive multiple of 32 and of the block size %u",
		            qt->name, n_rows, n_k, n_cols, qt->block_size);
	uint64_t row_bytes = quant_row_size(wtype, n_k);
	if ((uint64_t)n_rows * row_bytes > ops_view_bytes(w) || (uint64_t)n_cols * n_k * 4 > ops_view_bytes(x) ||
	    (uint64_t)n_cols * n_rows * 4 > ops_view_bytes(y))
		return fail(VKLLM_E_ARG, "gemm %s: %u x %u weights, %u columns do not fit their views (%llu, %llu, %llu bytes)",
		            qt->name, n_rows, n_k, n_cols, (unsigned long long)ops_view_bytes(w), (unsigned long long)ops_view_bytes(x),
		            (unsigned long long)ops_view_bytes(y));
	if (x.offset % 4 || y.offset % 4 || w.offset % (wtype == QT_F32 ? 4 : 2))
		return fail(VKLLM_E_ARG, "gemm %s: misaligned view offsets", qt->name);

	struct gemm_tile t = gemm_tile_for(g);
	uint32_t spec[] = {t.wg, t.bm, t.bn, t.tm, t.tn};
	const struct gpu_pipeline *p;
	TRY(gpu_pipeline_get(g, &p, sh, spec, 5));

	uint32_t rows_per_dispatch;
	TRY(ops_weight_rows_per_dispatch(g, "gemm", row_bytes, n_rows, &rows_per_dispatch));
	uint32_t col_groups = (n_cols + t.bn - 1) / t.bn;
	if (col_groups > g->profile.max_workgroup_count[1])
		return fail(VKLLM_E_UNSUPPORTED, "gemm %s: %u columns need %u workgroups in y, the device allows %u", qt->name, n_cols,
		            col_groups, g->profile.max_workgroup_count[1]);
	/* rows also limited by the x workgroup count (65535 on every device: 4 M rows on a CPU tile) */
	uint64_t max_rows_x = (uint64_t)g->profile.max_workgroup_count[0] * t.bm;
	if (rows_per_dispatch > max_rows_x) rows_per_dispatch = (uint32_t)max_rows_x;
	for (uint32_t r0 = 0; r0 < n_rows; r0 += rows_per_dispatch) {
		uint32_t nr = n_rows - r0 < rows_per_dispatch ? n_rows - r0 : rows_per_dispatch;
		uint32_t wr, xr, yr; /* wr in bytes, xr and yr in floats */
		struct gpu_view views[3];
		TRY(ops_weight_view(g, "gemm", w, row_bytes, r0, nr, &views[0], &wr));
		views[1] = ops_aligned(g, x, 4, &xr);
		views[2] = ops_aligned(g, y, 4, &yr);
		struct gemm_params pc = {
			.n_rows = nr, .n_cols = n_cols, .n_k = n_k, .row_bytes = (uint32_t)row_bytes, .w_offset = wr,
			.x_offset = xr, .x_stride = n_k, .y_offset = yr + r0, .y_stride = n_rows, .accumulate = accumulate,
		};
		TRY(gpu_dispatch(rec, p, views, 3, &pc, sizeof pc, (nr + t.bm - 1) / t.bm, col_groups, 1));
	}
	return VKLLM_OK;
}
