/* op_gemm: prefill-time matrix products (shaders/gemm.comp) for every weight type.
 * Tile shapes come from the device profile (docs/matmul.md):
 *  - GPUs: 256 invocations as a 16 x 16 grid, each with a 4 x 4 micro-tile: a 64 x 64 tile of Y,
 *    16 KiB of shared memory, 64-fold reuse of every decoded weight and every activation;
 *  - CPU devices (lavapipe): one subgroup per workgroup, every lane on its own rows and all lanes
 *    on the same tokens, so activations are scalar loads broadcast to the SIMD lanes;
 *  - devices with VK_KHR_cooperative_matrix and an f16 x f16 + f32 subgroup shape:
 *    shaders/gemm_coopmat.comp, 4 subgroups on a 128 x 128 tile, for every weight type but F32 and
 *    BF16 (VKLLM_COOPMAT=0 turns it off, VKLLM_COOPMAT_TILE=bm,bn tries other tiles). */
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
	if (gpu_is_cpu(g)) t = (struct gemm_tile){sg, sg * 4, 16, 4, 16};
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

struct coopmat_tile {
	uint32_t wg, bm, bn, m, n, k;
};

/* The coopmat tile for this device and weight type, or false for the plain GEMM. The device
 * shape is the first f16 x f16 + f32 -> f32 subgroup-scope one whose M and N divide the
 * subgroups' (BM/2) x (BN/2) quarters and whose K divides a 32-value decode unit. */
static bool coopmat_tile_for_shader(const struct gpu *g, enum shader_id sh, struct coopmat_tile *t)
{
	const struct gpu_profile *pr = &g->profile;
	if (sh == SH_COUNT || shader_table[sh].n_words == 0 || !pr->coopmat || !pr->fp16 || !pr->storage16 || !pr->memory_model) return false;
	const char *off = getenv("VKLLM_COOPMAT");
	if (off && strcmp(off, "0") == 0) return false;
	/* 128 x 128: on an H100, 89% of the f32 FMA peak for q8_0 at 512 tokens against 42% for
	 * 64 x 64 (bench --kernels, bench/RESULTS.md) */
	*t = (struct coopmat_tile){4 * pr->subgroup_size, 128, 128, 0, 0, 0};
	const char *env = getenv("VKLLM_COOPMAT_TILE");
	uint32_t bm, bn;
	if (env && sscanf(env, "%u,%u", &bm, &bn) == 2 && bm >= 32 && bn >= 32 && bm <= 256 && bn <= 256) t->bm = bm, t->bn = bn;
	if (t->wg > pr->max_workgroup_invocations || t->wg > pr->max_workgroup_size[0]) return false;
	for (uint32_t i = 0; i < pr->n_coopmat; i++) {
		const struct gpu_coopmat_shape *s = &pr->coopmat_shapes[i];
		if (gpu_coopmat_shape_is(s, 0, 1) && (t->bm / 2) % s->m == 0 && (t->bn / 2) % s->n == 0 && 32 % s->k == 0) {
			t->m = s->m, t->n = s->n, t->k = s->k;
			/* shared memory: f16 weight and activation slices (40 values a row) and 4 f32 staging tiles */
			uint32_t shared = (t->bm + t->bn) * 40 * 2 + 4 * s->m * s->n * 4;
			if (shared > pr->max_shared_memory) continue;
			return true;
		}
	}
	return false;
}

void gemm_plain_spec(const struct gpu *g, uint32_t spec[5])
{
	struct gemm_tile t = gemm_tile_for(g);
	spec[0] = t.wg, spec[1] = t.bm, spec[2] = t.bn, spec[3] = t.tm, spec[4] = t.tn;
}

static bool coopmat_tile_for(const struct gpu *g, uint32_t wtype, struct coopmat_tile *t)
{
	return coopmat_tile_for_shader(g, matmul_coopmat_shader(wtype), t);
}

bool gemm_coopmat_spec(const struct gpu *g, enum shader_id sh, uint32_t spec[6])
{
	struct coopmat_tile t;
	if (!coopmat_tile_for_shader(g, sh, &t)) return false;
	spec[0] = t.wg, spec[1] = t.bm, spec[2] = t.bn, spec[3] = t.m, spec[4] = t.n, spec[5] = t.k;
	return true;
}

bool op_gemm_uses_coopmat(const struct gpu *g, uint32_t wtype)
{
	struct coopmat_tile t;
	return coopmat_tile_for(g, wtype, &t);
}

int op_gemm(struct gpu_rec *rec, struct gpu_view y, struct gpu_view w, uint32_t wtype, struct gpu_view x,
            uint32_t n_rows, uint32_t n_k, uint32_t n_cols, bool accumulate)
{
	struct gpu *g = rec->g;
	enum shader_id sh = matmul_shader(wtype, true);
	const struct quant_type *qt = quant_type_info(wtype);
	uint64_t row_bytes;
	TRY(matmul_check("gemm", wtype, y, w, x, n_rows, n_k, n_cols, UINT32_MAX, &row_bytes));

	struct gemm_tile t = gemm_tile_for(g);
	struct coopmat_tile ct;
	uint32_t spec[6] = {t.wg, t.bm, t.bn, t.tm, t.tn}, n_spec = 5, bm = t.bm, bn = t.bn;
	if (coopmat_tile_for(g, wtype, &ct)) {
		sh = matmul_coopmat_shader(wtype);
		spec[0] = ct.wg, spec[1] = ct.bm, spec[2] = ct.bn, spec[3] = ct.m, spec[4] = ct.n, spec[5] = ct.k;
		n_spec = 6, bm = ct.bm, bn = ct.bn;
	}
	const struct gpu_pipeline *p;
	TRY(gpu_pipeline_get(g, &p, sh, spec, n_spec));

	uint32_t rows_per_dispatch;
	TRY(ops_weight_rows_per_dispatch(g, "gemm", row_bytes, n_rows, &rows_per_dispatch));
	uint32_t col_groups = (n_cols + bn - 1) / bn;
	if (col_groups > g->profile.max_workgroup_count[1])
		return fail(VKLLM_E_UNSUPPORTED, "gemm %s: %u columns need %u workgroups in y, the device allows %u", qt->name, n_cols,
		            col_groups, g->profile.max_workgroup_count[1]);
	/* rows also limited by the x workgroup count (65535 on every device: 4 M rows on a CPU tile) */
	uint64_t max_rows_x = (uint64_t)g->profile.max_workgroup_count[0] * bm;
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
		TRY(gpu_dispatch(rec, p, views, 3, &pc, sizeof pc, (nr + bm - 1) / bm, col_groups, 1));
	}
	return VKLLM_OK;
}
