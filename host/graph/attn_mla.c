/* Multi-head latent attention, as deepseek2.cpp computes it in MLA mode, recorded in absorbed form
 * (docs/mla.md). For a chunk of n tokens of layer il:
 *
 *   h     = rms_norm(x) * attn_norm
 *   q     = W_qb rms_norm(W_qa h) * q_a_norm   (or W_q h)       [n][H][nope + R]
 *   kv    = W_kv_a h = [c | k_pe]                               [n][C + R]
 *   mla_prep:  cache[p0 + t] = [rms_norm(c) * kv_a_norm | rope(k_pe)],  q -> q_nope, rope(q_pe)
 *   q_abs[t][h] = W_UK[h]^T q_nope[t][h]       (attn_k_b; op_moe_matvec with the head as expert)
 *   o_lat = softmax(scale (q_abs . c + q_pe . k_pe)) . c        (mla_attention, over the cache)
 *   o[t][h] = W_UV[h] o_lat[t][h]              (attn_v_b; op_moe_matvec again)
 *   x    += W_o o
 *
 * Every head of a token reads the one latent cache: the cache holds C + R values a position where
 * MHA would hold H (nope + R + v). The per-head steps run in passes of mla_tokens_per_pass() tokens
 * (all of a chunk, except on small bindings or a wide model's long prefill chunk).
 *
 * Prefill chunks may take the decompressed form instead (mla_decompress_prefill): q keeps its
 * [q_nope | rope(q_pe)] heads, K = [W_UK c | k_pe] and V = W_UV c are rebuilt per head for the
 * positions so far (op_mla_decompress), and flash attention runs as MHA (op_attention). */
#include "graph/attn_mla.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "graph/forward_internal.h"
#include "ops/mla_decompress.h"

void mla_widths(const struct model_file *m, struct mla_widths *w)
{
	const struct hparams *hp = &m->hp;
	memset(w, 0, sizeof *w);
	uint32_t C = hp->n_lora_kv, R = hp->n_rot, nope = hparams_mla_head_k(hp) - R;
	for (uint32_t il = 0; il < hp->n_layer; il++) {
		const struct layer_desc *d = &m->layers[il];
		if (d->attn != ATTN_MLA) continue;
		uint32_t H = d->n_head;
		if (hp->n_lora_q > w->qa) w->qa = hp->n_lora_q;
		if (C + R > w->kv) w->kv = C + R;
		if (H * nope > w->qn) w->qn = H * nope;
		if (H * R > w->qp) w->qp = H * R;
		if (H * C > w->lat) w->lat = H * C;
		if (H > w->heads) w->heads = H;
	}
}

uint32_t mla_tokens_per_pass(const struct gpu *g, const struct model_file *m)
{
	struct mla_widths w;
	mla_widths(m, &w);
	if (!w.heads) return 0;
	uint64_t by_grid = g->profile.max_workgroup_count[2] / w.heads; /* op_moe_matvec: one z per (token, head) */
	uint64_t by_range = g->profile.max_storage_buffer_range / ((uint64_t)w.lat * 4);
	uint64_t n = by_grid < by_range ? by_grid : by_range;
	return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

uint64_t mla_cache_bytes(const struct model_file *m, uint32_t n_ctx, uint32_t elem)
{
	return (uint64_t)n_ctx * (m->hp.n_lora_kv + m->hp.n_rot) * elem;
}

float mla_kq_scale(const struct hparams *hp, float attn_factor)
{
	/* deepseek2.cpp: undo the 1/(1 + 0.1 ln f) llama_context put into attn_factor, then scale by
	 * YaRN's mscale with mscale_all_dim (the file keeps 0.1 * mscale_all_dim) */
	float ln_f = logf(1.0f / hp->rope_freq_scale);
	float attn_factor_org = attn_factor * (1.0f + 0.1f * ln_f);
	float mscale = attn_factor_org * (1.0f + 0.1f * (hp->rope_yarn_log_mul / 0.1f) * ln_f);
	return mscale * mscale / sqrtf((float)hparams_mla_head_k(hp));
}

static void attn_desc(const struct fwd_state *s, uint32_t il, uint32_t n, uint32_t t0, struct mla_attn_desc *a)
{
	const struct hparams *hp = &s->m->hp;
	*a = (struct mla_attn_desc){
		.n_q = n, .n_head = s->m->layers[il].n_head, .kv_lora = hp->n_lora_kv, .n_pe = hp->n_rot, .n_ctx = s->n_ctx,
		.cache_type = s->kv_type, .scale = mla_kq_scale(hp, s->attn_factor), .t_offset = t0,
	};
}

bool mla_decompress_prefill(const struct gpu *g)
{
	const char *env = getenv("VKLLM_MLA_PREFILL");
	if (env && !strcmp(env, "absorbed")) return false;
	if (env && !strcmp(env, "decompressed")) return true;
	return gpu_is_cpu(g);
}

void mla_decompress_bytes(const struct model_file *m, uint32_t n_ctx, uint32_t elem, uint64_t *k, uint64_t *v)
{
	struct mla_widths w;
	mla_widths(m, &w);
	uint64_t per_head_k = hparams_mla_head_k(&m->hp), per_head_v = hparams_mla_head_v(&m->hp);
	*k = w.heads ? (uint64_t)n_ctx * w.heads * per_head_k * elem : 0;
	*v = w.heads ? (uint64_t)n_ctx * w.heads * per_head_v * elem : 0;
}

/* the decompressed form's flash attention: MHA over the rebuilt K and V */
static void mha_desc(const struct fwd_state *s, uint32_t il, uint32_t n, struct attn_desc *a)
{
	const struct hparams *hp = &s->m->hp;
	uint32_t H = s->m->layers[il].n_head;
	*a = (struct attn_desc){
		.n_q = n, .n_head = H, .n_head_kv = H, .head_dim_k = hparams_mla_head_k(hp), .head_dim_v = hparams_mla_head_v(hp),
		.n_ctx = s->n_ctx, .kv_type = ATTN_KV_F32, .scale = mla_kq_scale(hp, s->attn_factor),
	};
}

/* a chunk takes the decompressed form when the device chose it and its buffers exist */
static bool decompressed(const struct fwd_state *s, uint32_t il, uint32_t n)
{
	return n > 1 && s->mla_k.buffer && s->w->layers[il].mla_wk.present;
}

uint64_t mla_attn_scratch_bytes(const struct fwd_state *s, uint32_t il, uint32_t n)
{
	uint32_t pass = mla_tokens_per_pass(s->g, s->m);
	struct mla_attn_desc a;
	attn_desc(s, il, n < pass ? n : pass, 0, &a);
	uint64_t bytes = op_mla_attention_scratch_bytes(s->g, &a);
	if (n > 1 && s->mla_k.buffer) {
		struct attn_desc m;
		mha_desc(s, il, n, &m);
		uint64_t b = op_attention_scratch_bytes(s->g, &m);
		if (b > bytes) bytes = b;
	}
	return bytes;
}

/* q = W_qb (rms_norm(W_qa h) * q_a_norm), or W_q h where the file has a plain attn_q */
static int project_q(struct fwd_state *s, struct gpu_rec *rec, const struct layer_weights *L, struct gpu_view in,
                     struct gpu_view q, uint32_t n)
{
	if (!L->q_a.present) return fwd_linear(rec, q, &L->wq, in, n, false);
	uint32_t Q = (uint32_t)L->q_a.n_out;
	struct gpu_view qa = fwd_rows(&s->mla_qa, 0, n, Q);
	TRY(fwd_linear(rec, qa, &L->q_a, in, n, false));
	TRY(op_rms_norm(rec, qa, qa, fwd_whole(&L->q_a_norm), Q, n, 0, s->m->hp.norm_eps));
	return fwd_linear(rec, q, &L->q_b, qa, n, false);
}

int record_attn_mla(struct fwd_state *s, struct gpu_rec *rec, uint32_t il, uint32_t n)
{
	const struct hparams *hp = &s->m->hp;
	const struct layer_desc *d = &s->m->layers[il];
	const struct layer_weights *L = &s->w->layers[il];
	uint32_t H = d->n_head, C = hp->n_lora_kv, R = hp->n_rot, Dk = hparams_mla_head_k(hp), nope = Dk - R;
	uint32_t Dv = hparams_mla_head_v(hp);
	struct gpu_view in, q = fwd_rows(&s->q, 0, n, H * Dk), kv = fwd_rows(&s->mla_kv, 0, n, C + R);
	TRY(fwd_block_input(s, rec, &L->attn_norm, n, &in));
	TRY(project_q(s, rec, L, in, q, n));
	TRY(fwd_linear(rec, kv, &L->kv_a, in, n, false));

	/* deepseek2's rope: NORM pairs with the model's YaRN over the R dims; Kimi Linear's MLA layers have none */
	struct rope_config rc;
	fwd_rope_config(s, d, R, &rc);
	struct gpu_view cache = gpu_whole(&s->k_cache[il]);
	struct gpu_view scratch = s->attn_scratch.buffer ? gpu_whole(&s->attn_scratch) : (struct gpu_view){0};
	struct gpu_view att = fwd_rows(&s->att, 0, n, H * Dv), none = {0};
	if (decompressed(s, il, n)) {
		struct mla_prep_desc pd = {
			.n_tokens = n, .n_head = H, .kv_lora = C, .n_pe = R, .nope = nope, .eps = hp->norm_eps,
			.rope = d->rope ? &rc : NULL, .pos = fwd_step_pos(s, n), .step = fwd_step_words(s),
			.cache_type = s->kv_type, .n_ctx = s->n_ctx, .q_in_place = true,
		};
		TRY(op_mla_prep(rec, cache, none, none, q, kv, fwd_whole(&L->kv_a_norm), &pd));
		/* K and V in f32: the form then rounds where the absorbed one does (the latent cache) and
		 * nowhere else; rebuilt in f16 they moved logits by 3e-3 of their range (test_forward_gpu) */
		struct mla_decompress_desc dd = {.n_ctx = s->n_ctx, .n_head = H, .kv_lora = C, .n_pe = R, .nope = nope,
		                                 .v_dim = Dv, .cache_type = s->kv_type, .out_type = ATTN_KV_F32};
		struct gpu_view k = gpu_whole(&s->mla_k), v = gpu_whole(&s->mla_v);
		TRY(op_mla_decompress(rec, k, v, cache, fwd_whole(&L->mla_wk), fwd_whole(&L->mla_wv), fwd_step_words(s), &dd));
		struct attn_desc a;
		mha_desc(s, il, n, &a);
		TRY(op_attention(rec, att, scratch, q, k, v, none, fwd_step_words(s), &a));
		return fwd_block_output(s, rec, &L->wo, &L->bo, &L->post_attn_norm, att, n);
	}
	uint32_t pass = mla_tokens_per_pass(s->g, s->m);
	for (uint32_t t0 = 0; t0 < n; t0 += pass) {
		uint32_t m = n - t0 < pass ? n - t0 : pass, A = m * H;
		struct gpu_view qn = fwd_rows(&s->mla_qn, 0, m, H * nope), qp = fwd_rows(&s->mla_qp, 0, m, H * R);
		struct gpu_view qabs = fwd_rows(&s->mla_qabs, 0, m, H * C), olat = fwd_rows(&s->mla_olat, 0, m, H * C);
		struct gpu_view pos = fwd_step_pos(s, n);
		pos.offset += (VkDeviceSize)t0 * 4, pos.size = (VkDeviceSize)m * 4;
		struct mla_prep_desc pd = {
			.n_tokens = m, .n_head = H, .kv_lora = C, .n_pe = R, .nope = nope, .eps = hp->norm_eps,
			.rope = d->rope ? &rc : NULL, .pos = pos, .step = fwd_step_words(s), .t_offset = t0,
			.cache_type = s->kv_type, .n_ctx = s->n_ctx,
		};
		TRY(op_mla_prep(rec, cache, qn, qp, fwd_rows(&s->q, t0, m, H * Dk), fwd_rows(&s->mla_kv, t0, m, C + R),
		                fwd_whole(&L->kv_a_norm), &pd));
		/* the heads are the "experts" of attn_k_b and attn_v_b: assignment a = t * H + h reads head h */
		struct gpu_view heads = fwd_rows(&s->mla_head_ids, 0, A, 1);
		struct moe_matvec_desc kd = {.n_assign = A, .x_div = 1, .n_rows = C, .n_k = nope, .n_exp = H};
		TRY(op_moe_matvec(rec, qabs, fwd_whole(&L->k_b), L->k_b.type, qn, heads, &kd));
		struct mla_attn_desc ad;
		attn_desc(s, il, m, t0, &ad);
		TRY(op_mla_attention(rec, olat, scratch, qabs, qp, cache, fwd_step_words(s), &ad));
		struct moe_matvec_desc vd = {.n_assign = A, .x_div = 1, .n_rows = Dv, .n_k = C, .n_exp = H};
		TRY(op_moe_matvec(rec, fwd_rows(&s->att, t0, m, H * Dv), fwd_whole(&L->v_b), L->v_b.type, olat, heads, &vd));
	}
	return fwd_block_output(s, rec, &L->wo, &L->bo, &L->post_attn_norm, att, n);
}
