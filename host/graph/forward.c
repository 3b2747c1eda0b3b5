/* Recording the forward pass: the embedding, each layer's attention and feed-forward blocks as
 * the recipe describes them, and the head. Read it beside tests/ref/forward_ref_layer.c: the
 * blocks come in the same order and each names the reference function it matches. */
#include "graph/forward.h"
#include "graph/attn_gdn.h"
#include "graph/attn_kda.h"
#include "graph/altup.h"
#include "graph/attn_mla.h"
#include "graph/forward_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "loader/quant.h"

/* ---- views ---- */

static const struct gpu_view no_view = {0};

static struct gpu_view step_ids(const struct fwd_state *s, uint32_t n)
{
	struct gpu_view v = {&s->step, fwd_step_ids_bytes(s), (VkDeviceSize)n * 4};
	return v;
}

uint32_t fwd_step_ids_bytes(const struct fwd_state *s) { return STEP_POS_BYTES + ((s->n_batch * 4 + 255) & ~255u); }

/* ---- sizes ---- */

void fwd_widths(const struct model_file *m, struct fwd_widths *wd)
{
	const struct hparams *hp = &m->hp;
	memset(wd, 0, sizeof *wd);
	wd->embd = hp->n_embd;
	for (uint32_t il = 0; il < hp->n_layer; il++) {
		const struct layer_desc *d = &m->layers[il];
		uint32_t q = d->n_head * hp->head_dim_k, k = d->n_head_kv * hp->head_dim_k, v = d->n_head_kv * hp->head_dim_v;
		uint32_t att = d->n_head * hp->head_dim_v;
		if (d->attn == ATTN_MLA) { /* per head [nope | rope] queries and v outputs; the rest in attn_mla.c */
			q = d->n_head * hparams_mla_head_k(hp), att = d->n_head * hparams_mla_head_v(hp);
			k = v = 0;
		}
		if (attn_is_recurrent(d->attn)) q = k = v = att = 0; /* their own buffers (gdn_widths) */
		if (q > wd->q) wd->q = q;
		if (k > wd->k) wd->k = k;
		if (v > wd->v) wd->v = v;
		if (att > wd->att) wd->att = att;
		if (d->n_ff > wd->ff) wd->ff = d->n_ff;
		if (d->shexp && m->hp.n_ff_shexp > wd->ff) wd->ff = m->hp.n_ff_shexp;
	}
}

static void attn_desc(const struct fwd_state *s, uint32_t il, uint32_t n, struct attn_desc *a)
{
	const struct hparams *hp = &s->m->hp;
	const struct layer_desc *d = &s->m->layers[il];
	memset(a, 0, sizeof *a);
	a->n_q = n;
	a->n_head = d->n_head;
	a->n_head_kv = d->n_head_kv;
	a->head_dim_k = hp->head_dim_k;
	a->head_dim_v = hp->head_dim_v;
	a->n_ctx = s->n_ctx;
	a->kv_type = s->kv_type;
	/* Gemma 3 scales q by f_attention_scale and then uses a kq scale of 1: the same product */
	a->scale = hp->attn_scale > 0 ? hp->attn_scale : 1.0f / sqrtf((float)hp->head_dim_k);
	a->n_swa = d->swa ? hp->n_swa : 0;
	a->n_chunk = d->chunked ? hp->n_chunk : 0;
	a->softcap = hp->attn_softcap; /* grok: c tanh(s / c) on the scaled scores */
	a->step_index = 0;
}

uint64_t fwd_attn_scratch_bytes(const struct fwd_state *s, uint32_t n_tokens)
{
	uint64_t most = 0;
	for (uint32_t il = 0; il < s->m->hp.n_layer; il++) {
		struct attn_desc a;
		attn_desc(s, il, n_tokens, &a);
		if (attn_is_recurrent(s->m->layers[il].attn)) continue; /* its scratch is gdn_scratch */
		uint64_t b = s->m->layers[il].attn == ATTN_MLA ? mla_attn_scratch_bytes(s, il, n_tokens)
		                                               : op_attention_scratch_bytes(s->g, &a);
		if (b > most) most = b;
	}
	return most;
}

uint64_t fwd_cand_scratch_bytes(const struct fwd_state *s)
{
	if (s->n_cand == 1) return op_argmax_scratch_bytes(s->g, s->m->hp.n_vocab, 1);
	return op_topk_scratch_bytes(s->g, s->m->hp.n_vocab, 1, s->n_cand);
}

/* llama_context (llama-context.cpp, its constructor): ext_factor 1 for YaRN scaling, else 0;
 * attn_factor = get_mscale(s, m) / get_mscale(s, m_all) / (1 + 0.1 ln s), which cancels the
 * 1 + 0.1 ln s that rope_yarn multiplies in, times the file's rope.scaling.attn_factor. Without a
 * yarn_log_multiplier the ratio is get_mscale(s, 1) (the rope's magnitude stays 1 + 0.1 ln s);
 * with one, m_all is the multiplier as llama.cpp stores it and m is 1, except on deepseek2, whose
 * loader divides the file's 0.1 * mscale_all_dim by 0.1 (TAG_DEEPSEEK2_YARN_LOG_MUL_FIX) and whose
 * m is m_all (so the ratio is 1 and mla_kq_scale carries YaRN's scale). mistral3 (Ministral 3)
 * stores mscale_all_dim 1 itself: ratio 1, magnitude 1. All in f32, as llama.cpp computes it. */
static float yarn_get_mscale(float factor, float mscale) { return factor <= 1.0f ? 1.0f : 0.1f * mscale * logf(factor) + 1.0f; }

void fwd_rope_yarn(const struct hparams *hp, float *ext_factor, float *attn_factor)
{
	/* a file may set ext_factor itself (grok: rope.scaling.yarn_ext_factor); where it is 0 the
	 * magnitude is the file's rope.scaling.yarn_attn_factor, which llama.cpp replaces otherwise */
	*ext_factor = hp->yarn_ext_factor >= 0 ? hp->yarn_ext_factor : hp->rope_scaling == ROPE_SCALING_YARN ? 1.0f : 0.0f;
	float attn = hp->yarn_attn_factor > 0 ? hp->yarn_attn_factor : 1.0f;
	if (*ext_factor != 0) {
		float factor = 1.0f / hp->rope_freq_scale;
		if (hp->rope_yarn_log_mul != 0.0f) {
			bool ds2 = strcmp(hp->arch, "deepseek2") == 0;
			float all = ds2 ? hp->rope_yarn_log_mul / 0.1f : hp->rope_yarn_log_mul, m = 1.0f;
			if (ds2 && all != 1.0f) m = all;
			attn = yarn_get_mscale(factor, m) / yarn_get_mscale(factor, all);
		} else {
			attn = yarn_get_mscale(factor, 1.0f);
		}
		attn *= 1.0f / (1.0f + 0.1f * logf(factor));
	}
	*attn_factor = attn * hp->rope_attn_factor;
}

/* ---- blocks ---- */

void fwd_rope_config(const struct fwd_state *s, const struct layer_desc *d, uint32_t n_rot, struct rope_config *rc)
{
	*rc = (struct rope_config){
		.neox = s->m->arch->rope != ROPE_NORM, .n_rot = n_rot, .freq_base = d->rope_base, .freq_scale = d->rope_freq_scale,
		.ext_factor = d->rope_plain ? 0.0f : s->ext_factor, .attn_factor = d->rope_plain ? 1.0f : s->attn_factor,
		/* llama.cpp's yarn_beta_fast / _slow: 32 and 1 unless the arch reads them (mistral3) */
		.beta_fast = s->m->hp.yarn_beta_fast > 0 ? s->m->hp.yarn_beta_fast : 32.0f,
		.beta_slow = s->m->hp.yarn_beta_slow > 0 ? s->m->hp.yarn_beta_slow : 1.0f, .n_ctx_orig = s->m->hp.n_ctx_orig_yarn,
	};
}

int fwd_linear(struct gpu_rec *rec, struct gpu_view y, const struct weight *w, struct gpu_view x, uint32_t n, bool accumulate)
{
	return op_matmul(rec, y, fwd_whole(w), w->type, x, (uint32_t)w->n_out, (uint32_t)w->n_in, n, accumulate);
}


static int bias(struct gpu_rec *rec, struct gpu_view y, const struct weight *b, uint32_t width, uint32_t n)
{
	return b->present ? op_add_bias(rec, y, y, fwd_whole(b), width, n) : VKLLM_OK;
}

int fwd_embed_table(struct fwd_state *s, struct gpu_rec *rec, struct gpu_view out, const struct weight *t, uint32_t n,
                    uint32_t width, float scale)
{
	uint64_t range = s->g->profile.max_storage_buffer_range - 256;
	uint32_t part = (uint32_t)(range / t->row_bytes < t->n_out ? range / t->row_bytes : t->n_out);
	if (part == 0) return fail(VKLLM_E_UNSUPPORTED, "an embedding row is larger than the device's buffer range");
	for (uint32_t r0 = 0; r0 < t->n_out; r0 += part) {
		uint32_t nr = (uint32_t)(t->n_out - r0 < part ? t->n_out - r0 : part);
		struct gpu_view table = {t->view.buf, t->view.offset + (VkDeviceSize)r0 * t->row_bytes, (VkDeviceSize)nr * t->row_bytes};
		TRY(op_embed(rec, out, table, t->type, step_ids(s, n), n, width, r0, nr, scale));
	}
	return VKLLM_OK;
}

/* ggml_get_rows on token_embd, times Gemma's sqrt(n_embd) */
static int record_embed(struct fwd_state *s, struct gpu_rec *rec, uint32_t n)
{
	const struct hparams *hp = &s->m->hp;
	float scale = hp->embed_scale > 0 ? hp->embed_scale : 1.0f;
	return fwd_embed_table(s, rec, fwd_rows(&s->x, 0, n, hp->n_embd), &s->w->tok_embd, n, hp->n_embd, scale);
}

int fwd_block_input(struct fwd_state *s, struct gpu_rec *rec, const struct weight *norm, uint32_t n, struct gpu_view *in)
{
	uint32_t E = s->m->hp.n_embd;
	*in = fwd_rows(&s->x, 0, n, E);
	if (!norm->present) return VKLLM_OK;
	struct gpu_view h = fwd_rows(&s->h, 0, n, E);
	TRY(op_rms_norm(rec, h, *in, fwd_whole(norm), E, n, 0, s->m->hp.norm_eps));
	*in = h;
	return VKLLM_OK;
}

int fwd_block_output(struct fwd_state *s, struct gpu_rec *rec, const struct weight *w, const struct weight *b,
                     const struct weight *post_norm, struct gpu_view in, uint32_t n)
{
	uint32_t E = s->m->hp.n_embd;
	struct gpu_view x = fwd_rows(&s->x, 0, n, E);
	if (!b->present && !post_norm->present) return fwd_linear(rec, x, w, in, n, true);
	struct gpu_view out = fwd_rows(&s->proj, 0, n, E);
	TRY(fwd_linear(rec, out, w, in, n, false));
	TRY(bias(rec, out, b, E, n));
	if (post_norm->present) TRY(op_rms_norm(rec, out, out, fwd_whole(post_norm), E, n, 0, s->m->hp.norm_eps));
	return op_add(rec, x, x, out, n * E);
}


static enum glu_kind glu_of(const struct layer_desc *d)
{
	return d->act == ACT_SILU ? GLU_SWIGLU : d->act == ACT_GELU_TANH ? GLU_GEGLU : GLU_SWIGLU_OAI;
}

/* Gemma 3n's last layers: q alone (per-head norm, RoPE), attention over layer kv_from's cache */
static int record_attention_shared(struct fwd_state *s, struct gpu_rec *rec, uint32_t il, uint32_t n, struct gpu_view in)
{
	const struct hparams *hp = &s->m->hp;
	const struct layer_desc *d = &s->m->layers[il];
	const struct layer_weights *L = &s->w->layers[il];
	uint32_t D = hp->head_dim_k, H = d->n_head;
	struct gpu_view q = fwd_rows(&s->q, 0, n, (uint64_t)H * D);
	TRY(fwd_linear(rec, q, &L->wq, in, n, false));
	if (d->qk_norm == QK_NORM_HEAD) TRY(op_rms_norm(rec, q, q, fwd_whole(&L->q_norm), D, n * H, 0, hp->norm_eps));
	if (d->rope) {
		struct rope_config rc;
		fwd_rope_config(s, d, hp->n_rot, &rc);
		struct gpu_view ff = s->w->rope_freqs.present ? fwd_whole(&s->w->rope_freqs) : no_view;
		TRY(op_rope(rec, q, q, fwd_step_pos(s, n), ff, n, H, D, 0, 0, &rc));
	}
	struct attn_desc a;
	attn_desc(s, il, n, &a);
	struct gpu_view att = fwd_rows(&s->att, 0, n, (uint64_t)H * hp->head_dim_v);
	struct gpu_view scratch = s->attn_scratch.buffer ? gpu_whole(&s->attn_scratch) : no_view;
	TRY(op_attention(rec, att, scratch, q, gpu_whole(&s->k_cache[d->kv_from]), gpu_whole(&s->v_cache[d->kv_from]), no_view,
	                 fwd_step_words(s), &a));
	return fwd_block_output(s, rec, &L->wo, &L->bo, &L->post_attn_norm, att, n);
}

/* ref_attention_block: projections, biases, QK-norm, RoPE, the cache store, attention, output */
static int record_attention(struct fwd_state *s, struct gpu_rec *rec, uint32_t il, uint32_t n)
{
	const struct hparams *hp = &s->m->hp;
	const struct layer_desc *d = &s->m->layers[il];
	const struct layer_weights *L = &s->w->layers[il];
	uint32_t D = hp->head_dim_k, Dv = hp->head_dim_v, H = d->n_head, Hkv = d->n_head_kv;
	uint32_t nq = H * D, nk = Hkv * D, nv = Hkv * Dv;
	float eps = hp->norm_eps;
	struct gpu_view in, q = fwd_rows(&s->q, 0, n, nq), k = fwd_rows(&s->k, 0, n, nk), v = fwd_rows(&s->v, 0, n, nv);
	TRY(fwd_block_input(s, rec, &L->attn_norm, n, &in));
	if (d->kv_shared) return record_attention_shared(s, rec, il, n, in);
	if (n == 1 && L->qkv.present) {
		/* a decode step: q|k|v as one matrix into one row of the q buffer (sized for it) */
		struct gpu_view qkv = fwd_rows(&s->q, 0, 1, nq + nk + nv);
		TRY(fwd_linear(rec, qkv, &L->qkv, in, 1, false));
		k = (struct gpu_view){&s->q, (VkDeviceSize)nq * 4, (VkDeviceSize)nk * 4};
		v = (struct gpu_view){&s->q, (VkDeviceSize)(nq + nk) * 4, (VkDeviceSize)nv * 4};
		q.size = (VkDeviceSize)nq * 4;
	} else {
		TRY(fwd_linear(rec, q, &L->wq, in, n, false));
		TRY(fwd_linear(rec, k, &L->wk, in, n, false));
		TRY(fwd_linear(rec, v, &L->wv, in, n, false));
	}
	/* qwen3next's output gate: the second half of attn_q (weights.c put it there) */
	struct gpu_view gate = fwd_rows(&s->attn_gate, 0, n, nq);
	if (d->attn_out_gate) TRY(fwd_linear(rec, gate, &L->wq_gate, in, n, false));
	TRY(bias(rec, q, &L->bq, nq, n));
	TRY(bias(rec, k, &L->bk, nk, n));
	TRY(bias(rec, v, &L->bv, nv, n));

	/* QK-norm before RoPE (OLMo 2 over the whole projection, Qwen 3 and Gemma 3 per head), then
	 * the cache stores */
	/* IMROPE (qwen35*) gives text tokens the position p in sections 0-2 and 0 in section 3: NEOX,
	 * as long as no rotated pair falls in section 3 (none does in Qwen3.5's [11, 11, 10, 0]) */
	if (s->m->arch->rope == ROPE_IMROPE)
		for (uint32_t i = 0; i < hp->n_rot / 2; i++)
			if (rope_imrope_section(hp->rope_sections, i) == 3)
				return fail(VKLLM_E_UNSUPPORTED, "%s: rope pair %u of %u falls in IMROPE's fourth section, which vkllm "
				            "does not rotate for text yet", s->m->gguf.path, i, hp->n_rot / 2);
	struct rope_config rc;
	fwd_rope_config(s, d, hp->n_rot, &rc);
	struct gpu_view ff = s->w->rope_freqs.present ? fwd_whole(&s->w->rope_freqs) : no_view;
	if (d->qk_norm != QK_NORM_FULL) {
		/* per-head norm (Llama 4's weightless one after RoPE) or none: all of it in one dispatch, the
		 * same numbers as the ops below */
		bool norm = d->qk_norm == QK_NORM_HEAD;
		struct attn_prep_desc pd = {
			.n_tokens = n, .n_head = H, .n_head_kv = Hkv, .head_dim_k = D, .head_dim_v = Dv,
			.q_norm = norm ? fwd_whole(&L->q_norm) : no_view, .k_norm = norm ? fwd_whole(&L->k_norm) : no_view, .eps = eps,
			.l2_norm = d->qk_norm == QK_NORM_L2,
			.v_norm = d->v_norm,
			.rope = d->rope ? &rc : NULL, .freq_factors = ff, .pos = fwd_step_pos(s, n), .step = fwd_step_words(s),
			.kv_type = s->kv_type, .n_ctx = s->n_ctx,
			/* mistral3, Llama 4: q times the position's temperature after RoPE */
			.temp_scale = d->attn_temp ? hp->attn_temp_scale : 0.0f, .temp_floor = hp->attn_temp_floor,
			.temp_offset = hp->attn_temp_offset,
		};
		TRY(op_attn_prep(rec, q, k, v, gpu_whole(&s->k_cache[il]), gpu_whole(&s->v_cache[il]), &pd));
	} else {
		if (d->attn_temp)
			return fail(VKLLM_E_UNSUPPORTED, "%s: layer %u: the attention temperature with a QK-norm over the whole "
			            "projection is not supported", s->m->gguf.path, il);
		TRY(op_rms_norm(rec, q, q, fwd_whole(&L->q_norm), nq, n, 0, eps));
		TRY(op_rms_norm(rec, k, k, fwd_whole(&L->k_norm), nk, n, 0, eps));
		if (d->rope) {
			TRY(op_rope(rec, q, q, fwd_step_pos(s, n), ff, n, H, D, 0, 0, &rc));
			TRY(op_rope(rec, k, k, fwd_step_pos(s, n), ff, n, Hkv, D, 0, 0, &rc));
		}
		TRY(op_kv_store(rec, gpu_whole(&s->k_cache[il]), s->kv_type, k, fwd_step_words(s), n, nk, 0, 0, s->n_ctx, 0));
		TRY(op_kv_store(rec, gpu_whole(&s->v_cache[il]), s->kv_type, v, fwd_step_words(s), n, nv, 0, 0, s->n_ctx, 0));
	}

	struct attn_desc a;
	attn_desc(s, il, n, &a);
	struct gpu_view att = fwd_rows(&s->att, 0, n, H * Dv);
	struct gpu_view scratch = s->attn_scratch.buffer ? gpu_whole(&s->attn_scratch) : no_view;
	/* gpt-oss's sinks join the softmax inside the kernel, in decode and in prefill */
	struct gpu_view sinks = d->attn_sinks ? fwd_whole(&L->attn_sinks) : no_view;
	TRY(op_attention(rec, att, scratch, q, gpu_whole(&s->k_cache[il]), gpu_whole(&s->v_cache[il]), sinks,
	                 fwd_step_words(s), &a));
	if (d->attn_out_gate) TRY(op_mul_sigmoid(rec, att, att, gate, n * H * Dv));
	return fwd_block_output(s, rec, &L->wo, &L->bo, &L->post_attn_norm, att, n);
}

/* gate = W_gate in and up = W_up in, F wide, into the ff_gate and ff_up buffers; a decode step
 * with the pair fused (weights.c) multiplies it as one matrix into one row of ff_gate (sized for
 * it), and *up becomes the second half of that row */
static int gate_and_up(struct fwd_state *s, struct gpu_rec *rec, const struct weight *fused, const struct weight *wg,
                       const struct weight *wu, struct gpu_view in, uint32_t n, uint32_t F, struct gpu_view *gate,
                       struct gpu_view *up)
{
	*gate = fwd_rows(&s->ff_gate, 0, n, F), *up = fwd_rows(&s->ff_up, 0, n, F);
	if (n == 1 && fused->present) {
		*up = (struct gpu_view){&s->ff_gate, (VkDeviceSize)F * 4, (VkDeviceSize)F * 4};
		return fwd_linear(rec, fwd_rows(&s->ff_gate, 0, 1, 2 * F), fused, in, 1, false);
	}
	TRY(fwd_linear(rec, *gate, wg, in, n, false));
	return fwd_linear(rec, *up, wu, in, n, false);
}

/* The shared expert (qwen2moe): a dense GLU of the same input beside the routed experts, added
 * into x, times sigmoid(ffn_gate_inp_shexp . h) per token where the arch gates it. */
static int record_shared_expert(struct fwd_state *s, struct gpu_rec *rec, uint32_t il, uint32_t n, struct gpu_view in,
                                struct gpu_view x)
{
	const struct layer_desc *d = &s->m->layers[il];
	const struct layer_weights *L = &s->w->layers[il];
	uint32_t E = s->m->hp.n_embd, S = s->m->hp.n_ff_shexp;
	struct gpu_view gate, up;
	TRY(gate_and_up(s, rec, &L->gate_up_shexp, &L->gate_shexp, &L->up_shexp, in, n, S, &gate, &up));
	TRY(op_glu(rec, gate, gate, up, S, n, glu_of(d)));
	if (!d->shexp_gate) return fwd_linear(rec, x, &L->down_shexp, gate, n, true);
	/* the gate logits go where the router's were (consumed by then), the output through proj */
	struct gpu_view out = fwd_rows(&s->proj, 0, n, E), g = fwd_rows(&s->router_logits, 0, n, 1);
	TRY(fwd_linear(rec, out, &L->down_shexp, gate, n, false));
	TRY(fwd_linear(rec, g, &L->gate_inp_shexp, in, n, false));
	return op_add_gated(rec, x, x, out, g, E, n);
}

/* gpt-oss: each chosen expert's own biases on its gate and up (F wide) or down (E wide) rows, the
 * bias row picked by the row's expert (llama.cpp's ggml_add_id); rows in assignment order, or in
 * expert order with perm. Views without a buffer, and models without the biases, add nothing. */
static int expert_biases(struct gpu_rec *rec, const struct layer_weights *L, struct gpu_view gate, struct gpu_view up,
                         struct gpu_view down, struct gpu_view ids, struct gpu_view perm, uint32_t A, uint32_t F,
                         uint32_t E, uint32_t X)
{
	if (gate.buf && L->gate_exps_b.present) TRY(op_moe_add_bias(rec, gate, fwd_whole(&L->gate_exps_b), ids, perm, A, F, X));
	if (up.buf && L->up_exps_b.present) TRY(op_moe_add_bias(rec, up, fwd_whole(&L->up_exps_b), ids, perm, A, F, X));
	if (down.buf && L->down_exps_b.present) TRY(op_moe_add_bias(rec, down, fwd_whole(&L->down_exps_b), ids, perm, A, E, X));
	return VKLLM_OK;
}

/* ref_ffn_block's moe(): the router, then the k chosen experts' GLUs, weighted back into x
 * (docs/moe.md). Each assignment runs a matvec on its expert, or (op_moe_per_assignment says
 * which) the assignments are sorted by expert and each projection is one grouped GEMM. */
static int record_moe(struct fwd_state *s, struct gpu_rec *rec, uint32_t il, uint32_t n, struct gpu_view in)
{
	const struct hparams *hp = &s->m->hp;
	const struct layer_desc *d = &s->m->layers[il];
	const struct layer_weights *L = &s->w->layers[il];
	uint32_t E = hp->n_embd, X = hp->n_expert, K = hp->n_expert_used, F = hp->n_ff_exp, A = n * K;
	struct gpu_view shexp_in = in; /* the shared expert reads the normed input as it is */
	struct gpu_view logits = fwd_rows(&s->router_logits, 0, n, X), ids = fwd_rows(&s->moe_ids, 0, A, 1);
	struct gpu_view w = fwd_rows(&s->moe_w, 0, A, 1);
	struct gpu_view gate = fwd_rows(&s->moe_gate, 0, A, F), up = fwd_rows(&s->moe_up, 0, A, F), down = fwd_rows(&s->moe_down, 0, A, E);
	TRY(fwd_linear(rec, logits, &L->router, in, n, false));
	TRY(bias(rec, logits, &L->router_b, X, n)); /* gpt-oss: selection sees the biased logits */
	/* the arch's routing (arch_moe_routing): Qwen's softmax, DeepSeek's sigmoid with a selection
	 * bias over groups, a scale */
	struct moe_routing mr;
	arch_moe_routing(s->m->arch, hp, &mr);
	enum moe_gating gating = mr.weight_input     ? MOE_GATING_SIGMOID_LOGITS
	                         : mr.softmax_weight ? MOE_GATING_SOFTMAX_WEIGHT
	                         : mr.sigmoid        ? MOE_GATING_SIGMOID
	                                             : MOE_GATING_SOFTMAX;
	struct moe_route_desc rd = {.n_tok = n, .n_exp = X, .k = K, .gating = gating,
	                            .n_group = mr.n_group, .n_group_used = mr.n_group_used, .norm = mr.norm, .scale = mr.scale};
	TRY(op_moe_route(rec, ids, w, logits, L->exp_probs_b.present ? fwd_whole(&L->exp_probs_b) : no_view, &rd));
	enum glu_kind act = glu_of(d);
	struct gpu_view order;
	/* Llama 4 weights the experts' inputs, not their outputs: each assignment's row of `in` times its
	 * weight, gathered in assignment order here (the GEMM path gathers in expert order below), and
	 * the outputs summed as they are */
	struct gpu_view in_w = mr.weight_input ? w : no_view, out_w = mr.weight_input ? no_view : w;
	uint32_t in_div = K;
	bool per_assignment = op_moe_per_assignment(s->g, n, A, X);
	if (mr.weight_input && per_assignment) {
		struct gpu_view xw = fwd_rows(&s->moe_x, 0, A, E);
		TRY(op_moe_gather_rows(rec, xw, in, fwd_rows(&s->moe_identity, 0, A, 1), w, n, K, E));
		in = xw, in_div = 1;
	}
	if (per_assignment) {
		struct moe_matvec_desc up_d = {.n_assign = A, .x_div = in_div, .n_rows = F, .n_k = E, .n_exp = X};
		struct moe_matvec_desc down_d = {.n_assign = A, .x_div = 1, .n_rows = E, .n_k = F, .n_exp = X};
		if (op_moe_matvec_pairs(s->g, n)) {
			/* CPU devices: sorted by expert, two assignments of one expert share each weight */
			struct gpu_view counts = fwd_rows(&s->moe_counts, 0, X, 1), offsets = fwd_rows(&s->moe_offsets, 0, X + 1, 1);
			struct gpu_view perm = fwd_rows(&s->moe_perm, 0, A, 1);
			TRY(op_moe_index(rec, counts, offsets, perm, fwd_rows(&s->moe_inv, 0, A, 1), ids, A, X));
			up_d.perm = down_d.perm = perm;
			up_d.offsets = down_d.offsets = offsets;
		}
		TRY(op_moe_matvec(rec, gate, fwd_whole(&L->gate_exps), L->gate_exps.type, in, ids, &up_d));
		TRY(op_moe_matvec(rec, up, fwd_whole(&L->up_exps), L->up_exps.type, in, ids, &up_d));
		TRY(expert_biases(rec, L, gate, up, no_view, ids, no_view, A, F, E, X));
		TRY(op_glu(rec, gate, gate, up, F, A, act));
		TRY(op_moe_matvec(rec, down, fwd_whole(&L->down_exps), L->down_exps.type, gate, ids, &down_d));
		TRY(expert_biases(rec, L, no_view, no_view, down, ids, no_view, A, F, E, X));
		order = fwd_rows(&s->moe_identity, 0, A, 1);
	} else {
		struct gpu_view counts = fwd_rows(&s->moe_counts, 0, X, 1), offsets = fwd_rows(&s->moe_offsets, 0, X + 1, 1);
		struct gpu_view perm = fwd_rows(&s->moe_perm, 0, A, 1), xp = fwd_rows(&s->moe_x, 0, A, E);
		TRY(op_moe_index(rec, counts, offsets, perm, fwd_rows(&s->moe_inv, 0, A, 1), ids, A, X));
		TRY(op_moe_gather_rows(rec, xp, in, perm, in_w, n, K, E));
		struct moe_gemm_desc up_d = {.n_assign = A, .n_rows = F, .n_k = E, .n_exp = X};
		struct moe_gemm_desc down_d = {.n_assign = A, .n_rows = E, .n_k = F, .n_exp = X};
		TRY(op_moe_gemm(rec, gate, fwd_whole(&L->gate_exps), L->gate_exps.type, xp, counts, offsets, &up_d));
		TRY(op_moe_gemm(rec, up, fwd_whole(&L->up_exps), L->up_exps.type, xp, counts, offsets, &up_d));
		TRY(expert_biases(rec, L, gate, up, no_view, ids, perm, A, F, E, X)); /* rows in expert order */
		TRY(op_glu(rec, gate, gate, up, F, A, act));
		TRY(op_moe_gemm(rec, down, fwd_whole(&L->down_exps), L->down_exps.type, gate, counts, offsets, &down_d));
		TRY(expert_biases(rec, L, no_view, no_view, down, ids, perm, A, F, E, X));
		order = fwd_rows(&s->moe_inv, 0, A, 1);
	}
	struct gpu_view x = fwd_rows(&s->x, 0, n, E);
	if (d->moe_dense && !L->post_ffw_norm.present)
		return fail(VKLLM_E_UNSUPPORTED, "layer %u: a dense FFN beside the experts without a post-FFN norm is not in any "
		            "supported arch", il);
	if (d->shexp && L->post_ffw_norm.present)
		return fail(VKLLM_E_UNSUPPORTED, "layer %u: a shared expert under a post-norm is not in any supported arch", il);
	if (!L->post_ffw_norm.present) {
		TRY(op_moe_scatter(rec, x, down, order, out_w, n, K, E, true));
		return d->shexp ? record_shared_expert(s, rec, il, n, shexp_in, x) : VKLLM_OK;
	}
	struct gpu_view out = fwd_rows(&s->proj, 0, n, E);
	TRY(op_moe_scatter(rec, out, down, order, out_w, n, K, E, false));
	if (d->moe_dense) {
		/* grok: the dense GLU of the same input added to the experts' sum, then both times sqrt(2)/2
		 * (ggml_scale(ggml_add(dense, moe), sqrt(2) / 2)) */
		struct gpu_view dg, du;
		TRY(gate_and_up(s, rec, &L->gate_up, &L->gate, &L->up, in, n, d->n_ff, &dg, &du));
		TRY(op_glu(rec, dg, dg, du, d->n_ff, n, act));
		TRY(fwd_linear(rec, out, &L->down, dg, n, true));
		TRY(op_scale(rec, out, out, n * E, (float)(M_SQRT2 / 2)));
	}
	TRY(op_rms_norm(rec, out, out, fwd_whole(&L->post_ffw_norm), E, n, 0, hp->norm_eps));
	return op_add(rec, x, x, out, n * E);
}

/* ref_ffn_block with the dense GLU: W_down (act(W_gate h + b) * (W_up h + b)) + b */
static int record_ffn(struct fwd_state *s, struct gpu_rec *rec, uint32_t il, uint32_t n)
{
	const struct layer_desc *d = &s->m->layers[il];
	const struct layer_weights *L = &s->w->layers[il];
	uint32_t F = d->n_ff;
	struct gpu_view in, gate, up;
	TRY(fwd_block_input(s, rec, &L->ffn_norm, n, &in));
	if (d->ffn == FFN_MOE) return record_moe(s, rec, il, n, in);
	TRY(gate_and_up(s, rec, &L->gate_up, &L->gate, &L->up, in, n, F, &gate, &up));
	TRY(bias(rec, gate, &L->gate_b, F, n));
	TRY(bias(rec, up, &L->up_b, F, n));
	/* Gemma 3n's first layers: the gate cut at mean + 1.6449 std (gemma3n.cpp gaussian_topk) */
	if (d->act_sparsity) TRY(op_sparse_gate(rec, gate, F, n, 1.6448533535003662f));
	TRY(op_glu(rec, gate, gate, up, F, n, glu_of(d)));
	return fwd_block_output(s, rec, &L->down, &L->down_b, &L->post_ffw_norm, gate, n);
}

/* output_norm, the LM head (in token groups whose logits fit one binding), the optional final
 * soft-cap, and the top-k candidates of the last token */
static int record_head(struct fwd_state *s, struct gpu_rec *rec, uint32_t n, bool all)
{
	const struct hparams *hp = &s->m->hp;
	uint32_t E = hp->n_embd, V = hp->n_vocab, first = all ? 0 : n - 1, m = all ? n : 1;
	struct gpu_view h = fwd_rows(&s->h, 0, m, E);
	TRY(op_rms_norm(rec, h, fwd_rows(&s->x, first, m, E), fwd_whole(&s->w->output_norm), E, m, 0, hp->norm_eps));
	uint64_t range = s->g->profile.max_storage_buffer_range - 256;
	uint32_t group = (uint32_t)(range / ((uint64_t)V * 4) < m ? range / ((uint64_t)V * 4) : m);
	if (group == 0) return fail(VKLLM_E_UNSUPPORTED, "a row of %u logits is larger than the device's buffer range", V);
	for (uint32_t t0 = 0; t0 < m; t0 += group) {
		uint32_t g = m - t0 < group ? m - t0 : group;
		struct gpu_view lg = fwd_rows(&s->logits, t0, g, V);
		TRY(fwd_linear(rec, lg, s->w->lm_head, fwd_rows(&s->h, t0, g, E), g, false));
		/* grok: the logits times logit_scale, then the final softcap */
		if (hp->logit_scale > 0 && hp->logit_scale != 1.0f) TRY(op_scale(rec, lg, lg, g * V, hp->logit_scale));
		if (hp->final_softcap > 0) TRY(op_softcap(rec, lg, lg, g * V, hp->final_softcap));
	}
	struct gpu_view scratch = s->cand_scratch.buffer ? gpu_whole(&s->cand_scratch) : no_view;
	/* one candidate (greedy): the argmax, a plain reduction, costs far less than the top-k sort */
	if (s->n_cand == 1)
		return op_argmax(rec, gpu_whole(&s->cand_idx), gpu_whole(&s->cand_val), scratch, fwd_rows(&s->logits, m - 1, 1, V), V, 1);
	return op_topk(rec, gpu_whole(&s->cand_idx), gpu_whole(&s->cand_val), scratch, fwd_rows(&s->logits, m - 1, 1, V), V, 1,
	               s->n_cand);
}

/* ---- graphs ---- */

int fwd_graph_record(struct fwd_state *s, struct fwd_graph *gr, uint32_t n, bool all)
{
	memset(gr, 0, sizeof *gr);
	if (n == 0 || n > s->n_batch || (all && n > s->n_logits))
		return fail(VKLLM_E_ARG, "graph: a chunk of %u tokens (batch %u, logits rows %u, all %d)", n, s->n_batch,
		            s->n_logits, all);
	uint32_t L = s->m->hp.n_layer;
	gr->recs = calloc(L + 2, sizeof *gr->recs);
	gr->order = calloc(L + 2, sizeof *gr->order);
	if (!gr->recs || !gr->order) {
		fwd_graph_destroy(gr);
		return fail(VKLLM_E_NOMEM, "out of host memory");
	}
	for (uint32_t i = 0; i < L + 2; i++) gr->order[i] = &gr->recs[i];
	gr->n_tokens = n;
	gr->all_logits = all;
	int st = VKLLM_OK;
	for (uint32_t i = 0; st == VKLLM_OK && i < L + 2; i++) {
		struct gpu_rec *rec = &gr->recs[i];
		st = s->profile ? gpu_rec_begin_profiled(s->g, rec, FWD_MAX_DISPATCHES_PER_REC) : gpu_rec_begin(s->g, rec);
		if (st) {
			gr->n_recs = i + 1;
			break;
		}
		gr->n_recs = i + 1;
		if (s->span && i == 0) {
			st = gpu_timer_create(s->g, &gr->span, 2);
			if (st) break;
			gpu_timer_reset(rec, &gr->span);
			gpu_timestamp(rec, &gr->span, 0);
		}
		/* Gemma 3n's layers run inside AltUp (host/graph/altup.c): before, between and after the blocks */
		bool altup = s->m->layers[0].altup;
		if (i == 0) {
			st = record_embed(s, rec, n);
			if (st == VKLLM_OK && altup) st = altup_record_embed(s, rec, n);
		} else if (i <= L) {
			enum attn_kind kind = s->m->layers[i - 1].attn;
			if (altup) st = altup_record_pre(s, rec, i - 1, n);
			if (st == VKLLM_OK)
				st = kind == ATTN_MLA   ? record_attn_mla(s, rec, i - 1, n)
				     : kind == ATTN_GDN ? record_attn_gdn(s, rec, i - 1, n)
				     : kind == ATTN_KDA ? record_attn_kda(s, rec, i - 1, n)
				                        : record_attention(s, rec, i - 1, n);
			if (st == VKLLM_OK && altup) st = altup_record_mid(s, rec, i - 1, n);
			if (st == VKLLM_OK) st = record_ffn(s, rec, i - 1, n);
			if (st == VKLLM_OK && altup) st = altup_record_post(s, rec, i - 1, n);
		} else {
			if (altup) st = altup_record_merge(s, rec, n);
			if (st == VKLLM_OK) st = record_head(s, rec, n, all);
		}
		if (st == VKLLM_OK && s->span && i == L + 1) gpu_timestamp(rec, &gr->span, 1);
		if (st == VKLLM_OK) st = gpu_rec_end(rec);
	}
	if (st) fwd_graph_destroy(gr);
	return st;
}

int fwd_graph_run(struct fwd_graph *gr) { return gpu_recs_submit_wait(gr->order, gr->n_recs); }

int fwd_graph_span(const struct fwd_graph *gr, double *ns, uint32_t *dispatches, uint32_t *barriers)
{
	*ns = 0, *dispatches = 0, *barriers = 0;
	for (uint32_t i = 0; i < gr->n_recs; i++) *dispatches += gr->recs[i].n_dispatches, *barriers += gr->recs[i].n_barriers;
	if (!gr->span.pool) return fail(VKLLM_E_ARG, "graph: recorded without span timestamps");
	return gpu_timer_elapsed_ns(gr->recs[0].g, &gr->span, 0, 1, ns);
}

void fwd_graph_destroy(struct fwd_graph *gr)
{
	if (gr->recs && gr->n_recs) gpu_timer_destroy(gr->recs[0].g, &gr->span);
	for (uint32_t i = 0; gr->recs && i < gr->n_recs; i++) gpu_rec_destroy(&gr->recs[i]);
	free(gr->recs);
	free(gr->order);
	memset(gr, 0, sizeof *gr);
}
