/* Multi-head latent attention's own kernels (shaders/mla_prep.comp, shaders/mla_attention.comp;
 * docs/mla.md). The per-head absorptions through attn_k_b and attn_v_b are op_moe_matvec with the
 * head as the "expert" (host/graph/attn_mla.c); what is here is the part no other op does:
 * normalizing and rotating into the latent cache, and attention over it with every head of a
 * token sharing each cache tile.
 *
 * op_mla_attention's tuning, from the device profile, all of it specialization constants:
 * - workgroup 128 invocations;
 * - HB rows (token, head) per workgroup: as many as fit (up to 16), since each is a reader of every
 *   cache tile the workgroup loads; fewer when the chunk has fewer rows;
 * - BC positions per tile: the largest of 32..4 whose shared memory fits min(maxComputeSharedMemorySize,
 *   48 KiB) with HB rows of queries (C + R floats each);
 * - TP invocations per score while HB * BC is below the workgroup size;
 * - the split count from the cache capacity (record time), never from n_kv (run time). */
#include "ops.h"
#include "view_util.h"

#include <stdlib.h>
#include <string.h>

#include "../../shaders/abi.h"

_Static_assert(sizeof(struct mla_prep_params) <= 128, "mla_prep's push constants must fit Vulkan's minimum 128 bytes");

#define MLA_WG 128
#define MLA_MAX_HB 16
#define MLA_MAX_SPLIT 64
#define MLA_SHARED_BUDGET 49152u
/* a split covers at least this many positions of a full cache: the combine pass costs more than a
 * split of a short cache gains */
#define MLA_MIN_SPLIT_LEN 256
/* CPU devices: loop iterations one invocation may run (llvmpipe's guard is 65535; margin for the
 * loops outside the tiles) */
#define MLA_CPU_LOOP_BUDGET 60000u
#define MLA_CPU_MAX_SPLIT 4096

int op_mla_prep(struct gpu_rec *rec, struct gpu_view cache, struct gpu_view q_nope, struct gpu_view q_pe, struct gpu_view q,
                struct gpu_view kv, struct gpu_view norm, const struct mla_prep_desc *d)
{
	struct gpu *g = rec->g;
	bool f16 = d->cache_type == ATTN_KV_F16;
	const char *op = f16 ? "mla_prep_f16" : "mla_prep_f32";
	uint32_t elem = f16 ? 2 : 4, C = d->kv_lora, R = d->n_pe, nope = d->nope;
	if (!d->n_tokens || !d->n_head || !C || !R || R % 2 || !nope || !d->n_ctx)
		return fail(VKLLM_E_ARG, "%s: %u tokens, %u heads, kv_lora %u, rope dims %u (even), nope %u, context %u: sizes "
		            "must be positive", op, d->n_tokens, d->n_head, C, R, nope, d->n_ctx);
	if (f16 && !g->profile.storage16) return fail(VKLLM_E_UNSUPPORTED, "%s: device %s lacks 16-bit storage", op, g->profile.name);
	uint32_t q_row = d->n_head * (nope + R), q_stride = d->q_stride ? d->q_stride : q_row;
	uint32_t kv_stride = d->kv_stride ? d->kv_stride : C + R;
	if (q_stride < q_row || kv_stride < C + R)
		return fail(VKLLM_E_ARG, "%s: token strides %u (q) and %u (kv) are shorter than a token", op, q_stride, kv_stride);
	uint64_t slots = (uint64_t)d->n_head + 1;
	if ((uint64_t)d->n_tokens * slots > UINT32_MAX || (uint64_t)d->n_ctx * (C + R) > UINT32_MAX)
		return fail(VKLLM_E_ARG, "%s: %u tokens of %llu slots, or a cache of %u rows, are too many", op, d->n_tokens,
		            (unsigned long long)slots, d->n_ctx);
	if (!(d->eps >= 0.0f)) return fail(VKLLM_E_ARG, "%s: eps %g must be >= 0", op, (double)d->eps);
	struct rope_scalars sc = {0};
	if (d->rope) {
		if (d->rope->n_rot != R) return fail(VKLLM_E_ARG, "%s: rope n_rot %u must be the rope dims %u", op, d->rope->n_rot, R);
		TRY(rope_prepare(op, d->rope, R, &sc));
		TRY(ops_check_view(op, "positions", d->pos, 4, (uint64_t)d->n_tokens * 4));
	}
	TRY(ops_check_view(op, "q", q, 4, ((uint64_t)(d->n_tokens - 1) * q_stride + q_row) * 4));
	TRY(ops_check_view(op, "kv", kv, 4, ((uint64_t)(d->n_tokens - 1) * kv_stride + C + R) * 4));
	TRY(ops_check_view(op, "norm", norm, 4, (uint64_t)C * 4));
	TRY(ops_check_view(op, "cache", cache, elem, (uint64_t)d->n_ctx * (C + R) * elem));
	if (!d->q_in_place) {
		TRY(ops_check_view(op, "q_nope", q_nope, 4, (uint64_t)d->n_tokens * d->n_head * nope * 4));
		TRY(ops_check_view(op, "q_pe", q_pe, 4, (uint64_t)d->n_tokens * d->n_head * R * 4));
	}
	TRY(ops_check_view(op, "step", d->step, 4, ((uint64_t)d->step_index + 2) * 4));

	uint32_t spec[] = {ops_norm_workgroup(g, C)};
	const struct gpu_pipeline *p;
	TRY(gpu_pipeline_get(g, &p, f16 ? SH_MLA_PREP_F16 : SH_MLA_PREP_F32, spec, 1));
	struct mla_prep_params pc = {
		.n_tokens = d->n_tokens, .n_head = d->n_head, .kv_lora = C, .n_pe = R, .nope = nope, .q_stride = q_stride,
		.kv_stride = kv_stride, .n_ctx = d->n_ctx, .t_offset = d->t_offset, .eps = d->eps, .rope = d->rope != NULL,
		.q_in_place = d->q_in_place,
	};
	if (d->rope) {
		pc.neox = d->rope->neox, pc.theta_scale = sc.theta_scale, pc.freq_scale = d->rope->freq_scale;
		pc.ext_factor = d->rope->ext_factor, pc.mscale = sc.mscale, pc.corr_low = sc.corr_low, pc.corr_high = sc.corr_high;
	}
	struct gpu_view views[] = {
		ops_aligned(g, q, 4, &pc.q_offset),
		ops_aligned(g, kv, 4, &pc.kv_offset),
		ops_aligned(g, norm, 4, &pc.norm_offset),
		ops_aligned(g, d->step, 4, &pc.step_offset),
		ops_aligned(g, d->rope ? d->pos : d->step, 4, &pc.pos_offset),
		ops_aligned(g, cache, elem, &pc.cache_offset),
		/* in place: bound to the cache, never written (the binding needs a buffer) */
		ops_aligned(g, d->q_in_place ? kv : q_nope, 4, &pc.qn_offset),
		ops_aligned(g, d->q_in_place ? kv : q_pe, 4, &pc.qp_offset),
	};
	pc.step_offset += d->step_index;
	uint32_t gx, gy;
	gpu_groups_1d(g, d->n_tokens * (uint32_t)slots, &gx, &gy);
	return gpu_dispatch(rec, p, views, 8, &pc, sizeof pc, gx, gy, 1);
}

/* ---- attention over the latent cache ---- */

struct mla_tuning {
	uint32_t wg, hb, bc, tp, n_split;
};

static uint32_t shared_bytes(uint32_t wg, uint32_t hb, uint32_t bc, uint32_t d)
{
	return 4 * (hb * d + bc * (d + 1) + hb * bc + wg + 3 * hb);
}

static int mla_check(const struct mla_attn_desc *a)
{
	if (!a->n_q || !a->n_head || !a->kv_lora || !a->n_pe || !a->n_ctx || a->n_split > MLA_CPU_MAX_SPLIT ||
	    (a->cache_type != ATTN_KV_F16 && a->cache_type != ATTN_KV_F32) || !(a->scale > 0.0f))
		return fail(VKLLM_E_ARG, "mla_attention: n_q %u, heads %u, kv_lora %u, rope dims %u, n_ctx %u, n_split %u (0..%d), "
		            "scale %g: invalid", a->n_q, a->n_head, a->kv_lora, a->n_pe, a->n_ctx, a->n_split, MLA_CPU_MAX_SPLIT,
		            (double)a->scale);
	return VKLLM_OK;
}

static uint32_t pow2_ceil(uint32_t x)
{
	uint32_t p = 1;
	while (p < x) p <<= 1;
	return p;
}

static int mla_tune(const struct gpu *g, const struct mla_attn_desc *a, struct mla_tuning *t)
{
	uint32_t wg = MLA_WG, d = a->kv_lora + a->n_pe;
	if (wg > g->profile.max_workgroup_invocations) wg = g->profile.max_workgroup_invocations;
	if (wg > g->profile.max_workgroup_size[0]) wg = g->profile.max_workgroup_size[0];
	uint32_t budget = g->profile.max_shared_memory < MLA_SHARED_BUDGET ? g->profile.max_shared_memory : MLA_SHARED_BUDGET;
	uint32_t rows = a->n_q * a->n_head, hb = pow2_ceil(rows < MLA_MAX_HB ? rows : MLA_MAX_HB), bc = 0;
	for (;; hb /= 2) {
		for (bc = 32; bc >= 4; bc /= 2)
			if (shared_bytes(wg, hb, bc, d) <= budget) break;
		if (bc >= 4 || hb == 1) break;
	}
	if (bc < 4)
		return fail(VKLLM_E_UNSUPPORTED, "mla_attention: latent rows of %u need %u bytes of shared memory, device %s has %u",
		            d, shared_bytes(wg, 1, 4, d), g->profile.name, g->profile.max_shared_memory);
	uint32_t tp = 1;
	while (hb * bc * tp * 2 <= wg && tp * 2 <= d) tp *= 2;
	uint32_t n_split = a->n_split;
	if (n_split == 0) {
		uint32_t groups = (rows + hb - 1) / hb, target = gpu_is_cpu(g) ? 8 : 256;
		n_split = 1;
		if (groups < target) {
			n_split = (target + groups - 1) / groups;
			if (n_split > a->n_ctx / MLA_MIN_SPLIT_LEN) n_split = a->n_ctx / MLA_MIN_SPLIT_LEN;
			if (n_split > MLA_MAX_SPLIT) n_split = MLA_MAX_SPLIT;
			if (n_split < 1) n_split = 1;
		}
	}
	if (gpu_is_cpu(g)) {
		/* llvmpipe (Mesa 22.3) stops a shader invocation's loops after 65535 iterations in all, silently
		 * (its infinite-loop guard counts every loop of the invocation): a split may hold only as many
		 * tiles as keep one invocation under it, or the attention ends early and is wrong (test_mla's
		 * long-context cases). Iterations one tile costs an invocation, at most: */
		uint32_t per_tile = (bc * d + wg - 1) / wg + (d + tp - 1) / tp + tp + 3 * bc +
		                    ((hb * a->kv_lora + wg - 1) / wg) * (bc + 1) + 8;
		uint32_t max_len = MLA_CPU_LOOP_BUDGET / per_tile * bc, need = (a->n_ctx + max_len - 1) / max_len;
		if (n_split < need) n_split = need;
	}
	*t = (struct mla_tuning){wg, hb, bc, tp, n_split};
	return VKLLM_OK;
}

uint64_t op_mla_attention_scratch_bytes(const struct gpu *g, const struct mla_attn_desc *a)
{
	struct mla_tuning t;
	if (mla_check(a) || mla_tune(g, a, &t) || t.n_split <= 1) return 0;
	return (uint64_t)t.n_split * a->n_q * a->n_head * (a->kv_lora + 2) * 4;
}

int op_mla_attention(struct gpu_rec *rec, struct gpu_view out, struct gpu_view scratch, struct gpu_view q_abs,
                     struct gpu_view q_pe, struct gpu_view cache, struct gpu_view step, const struct mla_attn_desc *a)
{
	struct gpu *g = rec->g;
	TRY(mla_check(a));
	struct mla_tuning t;
	TRY(mla_tune(g, a, &t));
	bool f16 = a->cache_type == ATTN_KV_F16;
	const char *op = f16 ? "mla_attention_f16" : "mla_attention_f32";
	if (f16 && !g->profile.storage16) return fail(VKLLM_E_UNSUPPORTED, "%s: device %s lacks 16-bit storage", op, g->profile.name);
	uint32_t elem = f16 ? 2 : 4, C = a->kv_lora, R = a->n_pe, H = a->n_head;
	uint64_t part = t.n_split > 1 ? (uint64_t)t.n_split * a->n_q * H * (C + 2) * 4 : 0;
	TRY(ops_check_view(op, "q_abs", q_abs, 4, (uint64_t)a->n_q * H * C * 4));
	TRY(ops_check_view(op, "q_pe", q_pe, 4, (uint64_t)a->n_q * H * R * 4));
	TRY(ops_check_view(op, "cache", cache, elem, (uint64_t)a->n_ctx * (C + R) * elem));
	TRY(ops_check_view(op, "out", out, 4, (uint64_t)a->n_q * H * C * 4));
	TRY(ops_check_view(op, "step", step, 4, ((uint64_t)a->step_index + 2) * 4));
	if (part) TRY(ops_check_view(op, "scratch", scratch, 4, part));
	uint32_t gx = (a->n_q * H + t.hb - 1) / t.hb;
	if (gx > g->profile.max_workgroup_count[0] || t.n_split > g->profile.max_workgroup_count[2])
		return fail(VKLLM_E_UNSUPPORTED, "%s: grid %u x 1 x %u exceeds the device's workgroup counts", op, gx, t.n_split);

	uint32_t spec[] = {t.wg, C, R, t.hb, t.bc, t.tp};
	const struct gpu_pipeline *p;
	TRY(gpu_pipeline_get(g, &p, f16 ? SH_MLA_ATTENTION_F16 : SH_MLA_ATTENTION_F32, spec, 6));
	struct mla_attn_params pc = {
		.n_q = a->n_q, .n_head = H, .n_ctx = a->n_ctx, .qa_stride = H * C, .qp_stride = H * R, .o_stride = H * C,
		.n_split = t.n_split, .scale = a->scale, .t_offset = a->t_offset,
	};
	struct gpu_view views[] = {
		ops_aligned(g, q_abs, 4, &pc.qa_offset),
		ops_aligned(g, q_pe, 4, &pc.qp_offset),
		ops_aligned(g, cache, elem, &pc.cache_offset),
		ops_aligned(g, step, 4, &pc.step_offset),
		part ? ops_aligned(g, scratch, 4, &pc.o_offset) : ops_aligned(g, out, 4, &pc.o_offset),
	};
	pc.step_offset += a->step_index;
	TRY(gpu_dispatch(rec, p, views, 5, &pc, sizeof pc, gx, 1, t.n_split));
	if (t.n_split <= 1) return VKLLM_OK;

	/* attention_combine.comp merges the splits (the partials layout is attention.comp's, dv = C) */
	uint32_t cspec[] = {t.wg};
	TRY(gpu_pipeline_get(g, &p, SH_ATTENTION_COMBINE, cspec, 1));
	struct attn_combine_params cc = {.n_rows = a->n_q * H, .n_head = H, .dv = C, .n_split = t.n_split, .o_stride = H * C};
	uint32_t unused;
	struct gpu_view cviews[3] = {
		ops_aligned(g, scratch, 4, &cc.part_offset),
		ops_aligned(g, scratch, 4, &unused), /* no sinks: bound, never read */
		ops_aligned(g, out, 4, &cc.o_offset),
	};
	uint32_t cgx, cgy;
	gpu_groups_1d(g, ((uint64_t)cc.n_rows * C + t.wg - 1) / t.wg, &cgx, &cgy);
	return gpu_dispatch(rec, p, cviews, 3, &cc, sizeof cc, cgx, cgy, 1);
}
