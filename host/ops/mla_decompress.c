/* op_mla_decompress: MLA's decompressed form (shaders/mla_decompress.comp, mla_decompress.h).
 * One dispatch: the product of the stacked weights [w_uk; w_uv] (n_head * (nope + v_dim) rows of
 * kv_lora) with the cache's latents, tiled as op_gemm tiles (host/ops/gemm.c), and the k_pe copy.
 * Tiles, from the device profile (specialization constants):
 *  - GPUs: 256 invocations as a 16 x 16 grid of 4 x 4 micro-tiles, a 64 x 64 tile (rows x
 *    positions), 16.6 KiB of shared memory;
 *  - CPU devices: one subgroup, every lane on its own 8 rows and all lanes on the same 32
 *    positions (latent values broadcast, as in gemm's CPU tile), a 64 x 32 tile.
 * The grid covers n_ctx positions; tiles past the device's n_kv return at once. */
#include "mla_decompress.h"

#include "view_util.h"

#include "../../shaders/abi.h"

struct decompress_tile {
	uint32_t wg, bm, bn, tm, tn, ks;
};

static struct decompress_tile tile_for(const struct gpu *g)
{
	uint32_t sg = g->profile.subgroup_size ? g->profile.subgroup_size : 32;
	struct decompress_tile t = {256, 64, 64, 4, 4, 32};
	/* CPU devices: 8 rows x 32 positions a lane; on lavapipe (V2-Lite layer, 512 positions) 1.4-1.55 s
	 * against 2.0-2.2 s for gemm's 4 x 16, since each lane-varying shared load (a loop over the lanes
	 * in llvmpipe) then feeds 32 FMAs, not 16 */
	if (gpu_is_cpu(g)) t = (struct decompress_tile){sg, sg * 8, 32, 8, 32, 32};
	while (t.wg > g->profile.max_workgroup_invocations || t.wg > g->profile.max_workgroup_size[0]) {
		t.wg /= 4;
		t.bm /= 2;
		t.bn /= 2;
	}
	return t;
}

int op_mla_decompress(struct gpu_rec *rec, struct gpu_view k_out, struct gpu_view v_out, struct gpu_view cache,
                      struct gpu_view w_uk, struct gpu_view w_uv, struct gpu_view step, const struct mla_decompress_desc *d)
{
	struct gpu *g = rec->g;
	const char *op = "mla_decompress";
	uint32_t H = d->n_head, C = d->kv_lora, R = d->n_pe, nope = d->nope, Dv = d->v_dim;
	bool types_ok = (d->cache_type == ATTN_KV_F16 || d->cache_type == ATTN_KV_F32) &&
	                (d->out_type == ATTN_KV_F16 || d->out_type == ATTN_KV_F32);
	if (!d->n_ctx || !H || !C || !R || !nope || !Dv || !types_ok)
		return fail(VKLLM_E_ARG, "%s: n_ctx %u, heads %u, kv_lora %u, rope dims %u, nope %u, v_dim %u, cache type %d, "
		            "output type %d: sizes must be positive, types f16 or f32", op, d->n_ctx, H, C, R, nope, Dv,
		            (int)d->cache_type, (int)d->out_type);
	if (!g->profile.storage16) return fail(VKLLM_E_UNSUPPORTED, "%s: device %s lacks 16-bit storage", op, g->profile.name);
	bool kv16 = d->cache_type == ATTN_KV_F16, out16 = d->out_type == ATTN_KV_F16;
	uint32_t ce = kv16 ? 2 : 4, oe = out16 ? 2 : 4;
	uint64_t rows = (uint64_t)H * (nope + Dv);
	TRY(ops_check_view(op, "cache", cache, ce, (uint64_t)d->n_ctx * (C + R) * ce));
	TRY(ops_check_view(op, "w_uk", w_uk, 4, (uint64_t)H * nope * C * 4));
	TRY(ops_check_view(op, "w_uv", w_uv, 4, (uint64_t)H * Dv * C * 4));
	TRY(ops_check_view(op, "step", step, 4, ((uint64_t)d->step_index + 1) * 4));
	TRY(ops_check_view(op, "k_out", k_out, oe, (uint64_t)d->n_ctx * H * (nope + R) * oe));
	TRY(ops_check_view(op, "v_out", v_out, oe, (uint64_t)d->n_ctx * H * Dv * oe));

	struct decompress_tile t = tile_for(g);
	uint64_t gx = (rows + t.bm - 1) / t.bm, gy = ((uint64_t)d->n_ctx + t.bn - 1) / t.bn;
	if (gx > g->profile.max_workgroup_count[0] || gy > g->profile.max_workgroup_count[1])
		return fail(VKLLM_E_UNSUPPORTED, "%s: %llu weight rows x %u positions need a grid of %llu x %llu, device %s allows "
		            "%u x %u", op, (unsigned long long)rows, d->n_ctx, (unsigned long long)gx, (unsigned long long)gy,
		            g->profile.name, g->profile.max_workgroup_count[0], g->profile.max_workgroup_count[1]);
	static const enum shader_id sh[2][2] = {{SH_MLA_DECOMPRESS_F16_F16, SH_MLA_DECOMPRESS_F16_F32},
	                                        {SH_MLA_DECOMPRESS_F32_F16, SH_MLA_DECOMPRESS_F32_F32}};
	uint32_t spec[] = {t.wg, t.bm, t.bn, t.tm, t.tn, t.ks};
	const struct gpu_pipeline *p;
	TRY(gpu_pipeline_get(g, &p, sh[!kv16][!out16], spec, 6));
	struct mla_decompress_params pc = {.n_ctx = d->n_ctx, .n_head = H, .kv_lora = C, .n_pe = R, .nope = nope, .v_dim = Dv};
	struct gpu_view views[] = {
		ops_aligned(g, cache, ce, &pc.cache_offset),
		ops_aligned(g, w_uk, 4, &pc.wk_offset),
		ops_aligned(g, w_uv, 4, &pc.wv_offset),
		ops_aligned(g, step, 4, &pc.step_offset),
		ops_aligned(g, k_out, oe, &pc.k_offset),
		ops_aligned(g, v_out, oe, &pc.v_offset),
	};
	pc.step_offset += d->step_index;
	return gpu_dispatch(rec, p, views, 6, &pc, sizeof pc, (uint32_t)gx, (uint32_t)gy, 1);
}
