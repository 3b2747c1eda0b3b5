/* op_matvec: decode-time matrix-vector products (shaders/matvec.comp) for every weight type.
 * Tuning from the device profile: on GPUs a workgroup of 4 subgroups (the reduction is then one
 * subgroup add and a 4-way sum in shared memory) on 8 rows; on CPU devices one subgroup on 16. */
#include "ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../shaders/abi.h"
#include "matmul_util.h"
#include "view_util.h"
#include "loader/quant.h"

int op_matvec(struct gpu_rec *rec, struct gpu_view y, struct gpu_view w, uint32_t wtype, struct gpu_view x,
              uint32_t n_rows, uint32_t n_k, uint32_t n_cols, bool accumulate)
{
	struct gpu *g = rec->g;
	enum shader_id sh = matmul_shader(wtype, false);
	uint64_t row_bytes;
	TRY(matmul_check("matvec", wtype, y, w, x, n_rows, n_k, n_cols, MATVEC_MAX_COLS, &row_bytes));

	uint32_t sg = g->profile.subgroup_size ? g->profile.subgroup_size : 32;
	uint32_t wg = sg * 4, rows = 8;
	if (wg > g->profile.max_workgroup_invocations) wg = g->profile.max_workgroup_invocations;
	/* GPUs: 4 subgroups, 8 rows per workgroup, each unit's x loaded once for all 8 rows. On an
	 * H100 (q8_0 4096x4096) 1 row reached 12% of the copy bandwidth, 4 rows 33%, 8 rows 62%;
	 * a variant staging the weights through shared memory for coalesced loads was slower (20%).
	 * A CPU device (lavapipe) runs a workgroup as SIMD lanes of one core, and each workgroup
	 * costs a coroutine switch at the barrier: one subgroup per workgroup and 16 rows each was
	 * 3x faster than 4 subgroups and one row (bench --kernels, q8_0 4096x4096, bench/RESULTS.md). */
	if (g->profile.type && strcmp(g->profile.type, "cpu") == 0) wg = sg, rows = 16;
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
