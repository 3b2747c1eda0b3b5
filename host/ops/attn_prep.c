/* op_attn_prep (shaders/attn_prep.comp): QK-norm, RoPE on q and k, the attention temperature on
 * q, and the K/V cache stores in one dispatch. A decode step of a Qwen3 layer had six small dispatches here; on lavapipe each
 * costs 40-60 us of thread wake-up whatever its size, on a GPU a barrier. The checks are the
 * separate ops' (rope_prepare is op_rope's), so a bad argument reads the same. */
#include "ops.h"

#include <math.h>
#include <stdint.h>

#include "../../shaders/abi.h"
#include "view_util.h"

_Static_assert(sizeof(struct attn_prep_params) <= 128, "attn_prep's push constants must fit Vulkan's minimum 128 bytes");

int op_attn_prep(struct gpu_rec *rec, struct gpu_view q, struct gpu_view k, struct gpu_view v, struct gpu_view k_cache,
                 struct gpu_view v_cache, const struct attn_prep_desc *d)
{
	struct gpu *g = rec->g;
	const char *op = d->kv_type == ATTN_KV_F16 ? "attn_prep_f16" : "attn_prep_f32";
	uint32_t elem = d->kv_type == ATTN_KV_F16 ? 2 : 4, D = d->head_dim_k, Dv = d->head_dim_v;
	if (d->n_tokens == 0 || d->n_head == 0 || d->n_head_kv == 0 || D == 0 || Dv == 0 || d->n_ctx == 0)
		return fail(VKLLM_E_ARG, "%s: %u tokens, %u/%u heads of %u/%u, context %u: sizes must be positive", op,
		            d->n_tokens, d->n_head, d->n_head_kv, D, Dv, d->n_ctx);
	if (D % 2) return fail(VKLLM_E_ARG, "%s: head_dim_k %u must be even (its dims go in pairs)", op, D);
	uint64_t nq = (uint64_t)d->n_head * D, nk = (uint64_t)d->n_head_kv * D, nv = (uint64_t)d->n_head_kv * Dv;
	uint64_t slots = (uint64_t)d->n_head + 2ull * d->n_head_kv;
	if ((uint64_t)d->n_tokens * slots > UINT32_MAX || (uint64_t)d->n_ctx * (nk > nv ? nk : nv) > UINT32_MAX)
		return fail(VKLLM_E_ARG, "%s: %u tokens of %llu heads, or a cache of %u rows, are too many", op, d->n_tokens,
		            (unsigned long long)slots, d->n_ctx);
	if (!d->q_norm.buf != !d->k_norm.buf)
		return fail(VKLLM_E_ARG, "%s: q_norm and k_norm come together (one is missing)", op);
	if (d->l2_norm && d->q_norm.buf)
		return fail(VKLLM_E_ARG, "%s: the weightless norm after RoPE (l2_norm) and a weighted QK-norm at once", op);
	if (!(d->eps >= 0.0f)) return fail(VKLLM_E_ARG, "%s: eps %g must be >= 0", op, (double)d->eps);
	bool temp = d->temp_scale != 0;
	if (temp && (!isfinite(d->temp_scale) || d->temp_floor == 0 || d->temp_offset > INT32_MAX))
		return fail(VKLLM_E_ARG, "%s: the attention temperature needs a finite scale (%g), a floor > 0 (%u) and an offset "
		            "below 2^31 (%u)", op, (double)d->temp_scale, d->temp_floor, d->temp_offset);
	struct rope_scalars sc = {0};
	if (d->rope) TRY(rope_prepare(op, d->rope, D, &sc));
	TRY(ops_check_view(op, "q", q, 4, d->n_tokens * nq * 4));
	TRY(ops_check_view(op, "k", k, 4, d->n_tokens * nk * 4));
	TRY(ops_check_view(op, "v", v, 4, d->n_tokens * nv * 4));
	TRY(ops_check_view(op, "k_cache", k_cache, elem, d->n_ctx * nk * elem));
	TRY(ops_check_view(op, "v_cache", v_cache, elem, d->n_ctx * nv * elem));
	TRY(ops_check_view(op, "step", d->step, 4, ((uint64_t)d->step_index + 2) * 4));
	if (d->q_norm.buf) {
		TRY(ops_check_view(op, "q_norm", d->q_norm, 4, (uint64_t)D * 4));
		TRY(ops_check_view(op, "k_norm", d->k_norm, 4, (uint64_t)D * 4));
	}
	if (d->rope || temp) TRY(ops_check_view(op, "positions", d->pos, 4, (uint64_t)d->n_tokens * 4));
	if (d->rope) {
		if (d->freq_factors.buf)
			TRY(ops_check_view(op, "freq_factors", d->freq_factors, 4, (uint64_t)d->rope->n_rot / 2 * 4));
	}

	/* rms_norm's workgroup for a head, so the sums of squares add in its order */
	uint32_t spec[] = {ops_norm_workgroup(g, D)};
	const struct gpu_pipeline *p;
	TRY(gpu_pipeline_get(g, &p, d->kv_type == ATTN_KV_F16 ? SH_ATTN_PREP_F16 : SH_ATTN_PREP_F32, spec, 1));
	struct attn_prep_params pc = {
		.n_tokens = d->n_tokens, .n_head = d->n_head, .n_head_kv = d->n_head_kv, .head_dim_k = D, .head_dim_v = Dv,
		.n_ctx = d->n_ctx, .norm = d->l2_norm ? 2u : d->q_norm.buf != NULL, .v_norm = d->v_norm, .eps = d->eps, .rope = d->rope != NULL,
	};
	if (d->rope) {
		pc.n_rot = d->rope->n_rot, pc.neox = d->rope->neox, pc.has_ff = d->freq_factors.buf != NULL;
		pc.theta_scale = sc.theta_scale, pc.freq_scale = d->rope->freq_scale, pc.ext_factor = d->rope->ext_factor;
		pc.mscale = sc.mscale, pc.corr_low = sc.corr_low, pc.corr_high = sc.corr_high;
	}
	if (temp) pc.temp_scale = d->temp_scale, pc.temp_floor = d->temp_floor, pc.temp_offset = d->temp_offset;
	/* absent inputs bind a view the shader never reads (q), so every binding has a buffer */
	struct gpu_view views[] = {
		ops_aligned(g, q, 4, &pc.q_offset),
		ops_aligned(g, k, 4, &pc.k_offset),
		ops_aligned(g, v, 4, &pc.v_offset),
		ops_aligned(g, d->q_norm.buf ? d->q_norm : q, 4, &pc.qn_offset),
		ops_aligned(g, d->k_norm.buf ? d->k_norm : q, 4, &pc.kn_offset),
		ops_aligned(g, d->step, 4, &pc.step_offset),
		ops_aligned(g, d->rope || temp ? d->pos : d->step, 4, &pc.pos_offset),
		ops_aligned(g, d->rope && d->freq_factors.buf ? d->freq_factors : q, 4, &pc.ff_offset),
		ops_aligned(g, k_cache, elem, &pc.kc_offset),
		ops_aligned(g, v_cache, elem, &pc.vc_offset),
	};
	pc.step_offset += d->step_index;
	uint32_t gx, gy;
	gpu_groups_1d(g, d->n_tokens * (uint32_t)slots, &gx, &gy);
	return gpu_dispatch(rec, p, views, 10, &pc, sizeof pc, gx, gy, 1);
}
