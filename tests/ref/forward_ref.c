/* The reference forward pass, top to bottom: weights looked up by their llama.cpp names, the
 * embedding, each layer's two blocks (forward_ref_layer.c), the final norm and the LM head. */
#include "forward_ref.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "forward_ref_internal.h"
#include "loader/quant.h"

/* ---- weights ---- */

static const struct gguf_tensor *find(const struct ref_forward *f, int il, const char *suffix)
{
	char name[GGUF_MAX_NAME];
	if (il >= 0) snprintf(name, sizeof name, "blk.%d.%s", il, suffix);
	else snprintf(name, sizeof name, "%s", suffix);
	return gguf_tensor(&f->m->gguf, name);
}

int ref_load_matrix(struct ref_forward *f, struct ref_matrix *w, int il, const char *suffix)
{
	memset(w, 0, sizeof *w);
	const struct gguf_tensor *t = find(f, il, suffix);
	if (!t) return VKLLM_OK;
	const struct quant_type *qt = quant_type_info(t->type);
	if (!qt || !qt->can_dequantize)
		return fail(VKLLM_E_UNSUPPORTED, "%s: the reference cannot decode type %s", t->name, gguf_type_name(t->type));
	w->data = t->data;
	w->type = t->type;
	w->n_in = t->ne[0];
	w->n_out = t->ne[1];
	w->n_mat = t->ne[2];
	w->row_bytes = quant_row_size(t->type, t->ne[0]);
	return VKLLM_OK;
}

/* A tensor (norm, bias, rope_freqs; the DeltaNet's conv taps) read once into doubles, all its
 * elements in file order; *out stays NULL when absent. */
int ref_load_vector(struct ref_forward *f, double **out, int il, const char *suffix)
{
	*out = NULL;
	const struct gguf_tensor *t = find(f, il, suffix);
	if (!t) return VKLLM_OK;
	uint64_t n = t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
	float *tmp = malloc(n * sizeof *tmp);
	double *v = malloc(n * sizeof *v);
	int st = tmp && v ? quant_dequantize(t->type, t->data, tmp, n) : fail(VKLLM_E_NOMEM, "out of host memory");
	for (uint64_t i = 0; !st && i < n; i++) v[i] = tmp[i];
	free(tmp);
	if (st) {
		free(v);
		return st;
	}
	*out = v;
	return VKLLM_OK;
}

static int load_layer(struct ref_forward *f, uint32_t il)
{
	struct ref_layer *L = &f->layers[il];
	int i = (int)il;
	L->d = &f->m->layers[il];
	TRY(ref_load_vector(f, &L->attn_norm, i, "attn_norm.weight"));
	TRY(ref_load_vector(f, &L->ffn_norm, i, "ffn_norm.weight"));
	TRY(ref_load_vector(f, &L->post_attn_norm, i,
	                    f->m->arch->attn_output_norm ? "attn_output_norm.weight" /* grok */ : "post_attention_norm.weight"));
	TRY(ref_load_vector(f, &L->post_ffw_norm, i, "post_ffw_norm.weight"));
	TRY(ref_load_vector(f, &L->q_norm, i, "attn_q_norm.weight"));
	TRY(ref_load_vector(f, &L->k_norm, i, "attn_k_norm.weight"));
	TRY(ref_load_matrix(f, &L->wq, i, "attn_q.weight"));
	TRY(ref_load_matrix(f, &L->wk, i, "attn_k.weight"));
	TRY(ref_load_matrix(f, &L->wv, i, "attn_v.weight"));
	TRY(ref_load_matrix(f, &L->wo, i, "attn_output.weight"));
	TRY(ref_load_vector(f, &L->bq, i, "attn_q.bias"));
	TRY(ref_load_vector(f, &L->bk, i, "attn_k.bias"));
	TRY(ref_load_vector(f, &L->bv, i, "attn_v.bias"));
	TRY(ref_load_vector(f, &L->bo, i, "attn_output.bias"));
	TRY(ref_load_matrix(f, &L->gate, i, "ffn_gate.weight"));
	TRY(ref_load_matrix(f, &L->up, i, "ffn_up.weight"));
	TRY(ref_load_matrix(f, &L->down, i, "ffn_down.weight"));
	TRY(ref_load_vector(f, &L->gate_b, i, "ffn_gate.bias"));
	TRY(ref_load_vector(f, &L->up_b, i, "ffn_up.bias"));
	TRY(ref_load_vector(f, &L->down_b, i, "ffn_down.bias"));
	TRY(ref_load_matrix(f, &L->router, i, "ffn_gate_inp.weight"));
	TRY(ref_load_matrix(f, &L->gate_exps, i, "ffn_gate_exps.weight"));
	TRY(ref_load_matrix(f, &L->up_exps, i, "ffn_up_exps.weight"));
	TRY(ref_load_matrix(f, &L->down_exps, i, "ffn_down_exps.weight"));
	TRY(ref_load_matrix(f, &L->gate_shexp, i, "ffn_gate_shexp.weight"));
	TRY(ref_load_matrix(f, &L->up_shexp, i, "ffn_up_shexp.weight"));
	TRY(ref_load_matrix(f, &L->down_shexp, i, "ffn_down_shexp.weight"));
	TRY(ref_load_vector(f, &L->gate_inp_shexp, i, "ffn_gate_inp_shexp.weight"));
	TRY(ref_load_vector(f, &L->exp_probs_b, i, "exp_probs_b.bias"));
	TRY(ref_load_vector(f, &L->router_b, i, "ffn_gate_inp.bias"));
	TRY(ref_load_vector(f, &L->gate_exps_b, i, "ffn_gate_exps.bias"));
	TRY(ref_load_vector(f, &L->up_exps_b, i, "ffn_up_exps.bias"));
	TRY(ref_load_vector(f, &L->down_exps_b, i, "ffn_down_exps.bias"));
	TRY(ref_load_vector(f, &L->sinks, i, "attn_sinks.weight"));
	/* qwen3next, qwen35 and gpt-oss name their pre-FFN norm post_attention_norm (llama.cpp's
	 * attn_post_norm, applied to the residual stream before the FFN) */
	if (L->d->ffn_norm_post_attn) {
		free(L->ffn_norm);
		L->ffn_norm = L->post_attn_norm;
		L->post_attn_norm = NULL;
	}
	const struct hparams *hp = f->hp;
	if (L->d->attn == ATTN_GDN) {
		f->recurrent = true;
		return ref_gdn_load(f, il);
	}
	if (L->d->attn == ATTN_KDA) {
		f->recurrent = true;
		return ref_kda_load(f, il);
	}
	if (L->d->attn == ATTN_MLA) {
		TRY(ref_load_matrix(f, &L->wq_a, i, "attn_q_a.weight"));
		TRY(ref_load_vector(f, &L->q_a_norm, i, "attn_q_a_norm.weight"));
		TRY(ref_load_matrix(f, &L->wq_b, i, "attn_q_b.weight"));
		TRY(ref_load_matrix(f, &L->wkv_a, i, "attn_kv_a_mqa.weight"));
		TRY(ref_load_vector(f, &L->kv_a_norm, i, "attn_kv_a_norm.weight"));
		TRY(ref_load_matrix(f, &L->wk_b, i, "attn_k_b.weight"));
		TRY(ref_load_matrix(f, &L->wv_b, i, "attn_v_b.weight"));
		TRY(ref_load_matrix(f, &L->wkv_b, i, "attn_kv_b.weight"));
		/* one latent row per position, whichever form reads it */
		L->lat_cache = calloc((uint64_t)f->n_ctx * (hp->n_lora_kv + hp->n_rot), sizeof *L->lat_cache);
		if (!L->lat_cache) return fail(VKLLM_E_NOMEM, "out of host memory for the reference latent cache");
		return VKLLM_OK;
	}
	uint64_t nk = (uint64_t)L->d->n_head_kv * hp->head_dim_k, nv = (uint64_t)L->d->n_head_kv * hp->head_dim_v;
	L->k_cache = calloc(f->n_ctx * nk, sizeof *L->k_cache);
	L->v_cache = calloc(f->n_ctx * nv, sizeof *L->v_cache);
	if (!L->k_cache || !L->v_cache) return fail(VKLLM_E_NOMEM, "out of host memory for the reference KV cache");
	return VKLLM_OK;
}

/* llama_context's YaRN parameters (llama-context.cpp), in f32 as it computes them: ext_factor 1
 * for YaRN scaling, else 0. attn_factor is what ggml's rope_yarn multiplies cos and sin by,
 * divided by the 1 + 0.1 ln s it multiplies in itself: get_mscale(s, m) / get_mscale(s, m_all)
 * / (1 + 0.1 ln s). Without a yarn_log_multiplier that is get_mscale(s, 1) / (1 + 0.1 ln s) = 1.
 * With one, m_all is the multiplier as llama.cpp stores it and m = 1 (mistral3: the file holds
 * mscale_all_dim itself), except deepseek2, whose loader divides the file's 0.1 * mscale_all_dim
 * by 0.1 and takes m = m_all (m = 1 when m_all is 1): the ratio is exactly 1 and the rope's
 * magnitude becomes 1 (deepseek2 scales its softmax to make up for it, ref_mla_kq_scale). Then
 * times the file's rope.scaling.attn_factor. */
static float get_mscale(float s, float m) { return s <= 1.0f ? 1.0f : 0.1f * m * logf(s) + 1.0f; }

static void yarn_params(struct ref_forward *f)
{
	const struct hparams *hp = f->hp;
	/* grok's file may say ext_factor (rope.scaling.yarn_ext_factor); with 0 the magnitude is its
	 * rope.scaling.yarn_attn_factor, which llama_context replaces otherwise */
	f->ext_factor = hp->yarn_ext_factor >= 0 ? hp->yarn_ext_factor : hp->rope_scaling == ROPE_SCALING_YARN ? 1.0 : 0.0;
	double attn = hp->yarn_attn_factor > 0 ? hp->yarn_attn_factor : 1.0;
	if (f->ext_factor != 0) {
		float factor = 1.0f / hp->rope_freq_scale, mscale = get_mscale(factor, 1.0f);
		if (hp->rope_yarn_log_mul != 0) {
			bool ds2 = strcmp(hp->arch, "deepseek2") == 0;
			float m_all = ds2 ? hp->rope_yarn_log_mul / 0.1f : hp->rope_yarn_log_mul;
			mscale = get_mscale(factor, ds2 ? m_all : 1.0f) / get_mscale(factor, m_all);
		}
		attn = mscale * (1.0f / (1.0f + 0.1f * logf(factor)));
	}
	f->attn_factor = attn * hp->rope_attn_factor;
}

static int scratch(struct ref_forward *f)
{
	const struct hparams *hp = f->hp;
	uint64_t wide = hp->n_embd, ff = hp->n_ff_exp, max_row = 0, lat = 1, pe = 1, mla_k = 1, mla_v = 1;
	for (uint32_t il = 0; il < hp->n_layer; il++) {
		const struct layer_desc *d = &f->m->layers[il];
		uint64_t q = (uint64_t)d->n_head * (hp->head_dim_k > hp->head_dim_v ? hp->head_dim_k : hp->head_dim_v);
		if (d->attn_out_gate) q *= 2; /* attn_q's rows per head are [query | gate] */
		if (q > wide) wide = q;
		if (d->attn == ATTN_MLA) {
			/* q [H][Dk], o [H][Dv], the q low rank and the [c | k_pe] row go through the same buffers */
			mla_k = hparams_mla_head_k(hp), mla_v = hparams_mla_head_v(hp);
			uint64_t m[] = {d->n_head * mla_k, d->n_head * mla_v, hp->n_lora_q, hp->n_lora_kv + hp->n_rot};
			for (size_t i = 0; i < sizeof m / sizeof *m; i++) wide = m[i] > wide ? m[i] : wide;
			if ((uint64_t)d->n_head * hp->n_lora_kv > lat) lat = (uint64_t)d->n_head * hp->n_lora_kv;
			if ((uint64_t)d->n_head * hp->n_rot > pe) pe = (uint64_t)d->n_head * hp->n_rot;
		}
		if (d->n_ff > ff) ff = d->n_ff;
		if (d->shexp && hp->n_ff_shexp > ff) ff = hp->n_ff_shexp;
		/* and whatever the file's FFN matrices are (a shared expert whose width defaults to n_ff) */
		const struct ref_layer *L = &f->layers[il];
		uint64_t m[] = {L->gate.n_out, L->gate_exps.n_out, L->gate_shexp.n_out};
		for (size_t i = 0; i < sizeof m / sizeof *m; i++) ff = m[i] > ff ? m[i] : ff;
	}
	for (uint64_t i = 0; i < f->m->gguf.n_tensors; i++)
		if (f->m->gguf.tensors[i].ne[0] > max_row) max_row = f->m->gguf.tensors[i].ne[0];
	f->row = malloc(max_row * sizeof *f->row);
	f->xtmp = malloc(max_row * sizeof *f->xtmp);
	f->xq = malloc(max_row * sizeof *f->xq);
	double **bufs[] = {&f->h, &f->q, &f->k, &f->v, &f->att, &f->proj, &f->ff_out, &f->moe_in};
	for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) *bufs[i] = calloc(wide, sizeof(double));
	f->ff_gate = calloc(ff, sizeof(double));
	f->ff_up = calloc(ff, sizeof(double));
	f->scores = calloc(f->n_ctx, sizeof(double));
	f->router = calloc(hp->n_expert ? hp->n_expert : 1, sizeof(double));
	f->hidden = calloc((uint64_t)(hp->n_layer + 1) * hp->n_embd, sizeof(double));
	f->q_abs = calloc(lat, sizeof(double));
	f->o_lat = calloc(lat, sizeof(double));
	f->q_pe = calloc(pe, sizeof(double));
	f->kd = calloc(mla_k, sizeof(double));
	f->vd = calloc(mla_v, sizeof(double));
	f->gate = calloc(wide, sizeof(double));
	TRY(ref_gdn_scratch(f));
	TRY(ref_kda_scratch(f));
	bool ok = f->gate && f->row && f->xtmp && f->xq && f->ff_gate && f->ff_up && f->scores && f->router && f->hidden && f->q_abs &&
	          f->o_lat && f->q_pe && f->kd && f->vd;
	for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) ok = ok && *bufs[i];
	return ok ? VKLLM_OK : fail(VKLLM_E_NOMEM, "out of host memory for the reference forward pass");
}

static int create(struct ref_forward *f)
{
	const struct hparams *hp = f->hp;
	if (hp->n_expert > 1024 || hp->n_expert_used > 256 || hp->n_expert_groups > 64)
		return fail(VKLLM_E_UNSUPPORTED, "%s: %u experts, %u used, %u groups: the reference takes at most 1024, 256 "
		            "and 64", f->m->gguf.path, hp->n_expert, hp->n_expert_used, hp->n_expert_groups);
	TRY(ref_load_matrix(f, &f->tok_embd, -1, "token_embd.weight"));
	TRY(ref_load_matrix(f, &f->output, -1, "output.weight"));
	if (!f->output.data) f->output = f->tok_embd; /* tied */
	TRY(ref_load_vector(f, &f->output_norm, -1, "output_norm.weight"));
	TRY(ref_load_vector(f, &f->rope_freqs, -1, "rope_freqs.weight"));
	yarn_params(f);
	f->mla_kq_scale = ref_mla_kq_scale(f);
	f->layers = calloc(hp->n_layer, sizeof *f->layers);
	if (!f->layers) return fail(VKLLM_E_NOMEM, "out of host memory");
	for (uint32_t il = 0; il < hp->n_layer; il++) TRY(load_layer(f, il));
	if (hp->n_altup) TRY(ref_altup_load(f));
	return scratch(f);
}

int ref_forward_create(struct ref_forward **out, const struct model_file *m, uint32_t n_ctx)
{
	*out = NULL;
	if (n_ctx == 0) return fail(VKLLM_E_ARG, "reference forward pass: n_ctx must be at least 1");
	struct ref_forward *f = calloc(1, sizeof *f);
	if (!f) return fail(VKLLM_E_NOMEM, "out of host memory");
	f->m = m;
	f->hp = &m->hp;
	f->n_ctx = n_ctx;
	int st = create(f);
	if (st) {
		ref_forward_destroy(f);
		return st;
	}
	*out = f;
	return VKLLM_OK;
}

void ref_forward_destroy(struct ref_forward *f)
{
	if (!f) return;
	for (uint32_t il = 0; f->layers && il < f->hp->n_layer; il++) {
		struct ref_layer *L = &f->layers[il];
		double *v[] = {L->attn_norm, L->ffn_norm, L->post_attn_norm, L->post_ffw_norm, L->q_norm, L->k_norm, L->bq,
		               L->bk, L->bv, L->bo, L->gate_b, L->up_b, L->down_b, L->k_cache, L->v_cache,
		               L->gate_inp_shexp, L->exp_probs_b, L->router_b, L->gate_exps_b, L->up_exps_b,
		               L->down_exps_b, L->sinks, L->q_a_norm, L->kv_a_norm, L->lat_cache,
		               L->conv_w, L->dt_bias, L->ssm_a, L->ssm_norm, L->conv_state, L->ssm_state};
		for (size_t i = 0; i < sizeof v / sizeof *v; i++) free(v[i]);
	}
	double *v[] = {f->output_norm, f->rope_freqs, f->h, f->q, f->k, f->v, f->att, f->proj,
	               f->ff_gate, f->ff_up, f->ff_out, f->moe_in, f->scores, f->router, f->hidden,
	               f->q_abs, f->o_lat, f->q_pe, f->kd, f->vd, f->gate};
	ref_gdn_free(f);
	ref_kda_free(f);
	ref_altup_free(f);
	for (size_t i = 0; i < sizeof v / sizeof *v; i++) free(v[i]);
	free(f->layers);
	free(f->row);
	free(f->xtmp);
	free(f->xq);
	free(f);
}

void ref_forward_set_numerics(struct ref_forward *f, enum ref_numerics numerics) { f->numerics = numerics; }

void ref_forward_set_kv_f16(struct ref_forward *f, bool on) { f->kv_f16 = on; }

void ref_forward_set_mla_form(struct ref_forward *f, enum ref_mla_form form) { f->mla_form = form; }

uint32_t ref_forward_n_vocab(const struct ref_forward *f) { return f->hp->n_vocab; }

const double *ref_forward_hidden(const struct ref_forward *f, uint32_t il)
{
	return il <= f->hp->n_layer ? f->hidden + (uint64_t)il * f->hp->n_embd : NULL;
}

/* ---- the forward pass ---- */

/* ggml_get_rows on token_embd, then Gemma's sqrt(n_embd) */
int ref_embed(struct ref_forward *f, double *x, uint32_t token)
{
	const struct ref_matrix *w = &f->tok_embd;
	TRY(quant_dequantize(w->type, w->data + (uint64_t)token * w->row_bytes, f->row, w->n_in));
	double scale = f->hp->embed_scale > 0 ? f->hp->embed_scale : 1.0;
	for (uint64_t i = 0; i < w->n_in; i++) x[i] = f->row[i] * scale;
	return VKLLM_OK;
}

/* output_norm, the LM head, grok's logit scale, the optional final softcap (Gemma, grok) */
int ref_head(struct ref_forward *f, double *logits, const double *x)
{
	const struct hparams *hp = f->hp;
	double *h = f->hidden + (uint64_t)hp->n_layer * hp->n_embd;
	ref_rms_norm(h, x, f->output_norm, hp->n_embd, hp->norm_eps);
	TRY(ref_matvec(f, logits, &f->output, 0, h));
	/* grok: times logit_scale, then the final softcap */
	if (hp->logit_scale > 0)
		for (uint32_t i = 0; i < hp->n_vocab; i++) logits[i] *= hp->logit_scale;
	double c = hp->final_softcap;
	if (c > 0)
		for (uint32_t i = 0; i < hp->n_vocab; i++) logits[i] = c * tanh(logits[i] / c);
	return VKLLM_OK;
}

static int batch(struct ref_forward *f, double *x, const uint32_t *tokens, uint32_t n, uint32_t pos0, double *logits,
                 bool all_logits)
{
	const struct hparams *hp = f->hp;
	uint32_t E = hp->n_embd;
	if (f->altup) return ref_altup_batch(f, x, tokens, n, pos0, logits, all_logits);
	for (uint32_t t = 0; t < n; t++) TRY(ref_embed(f, x + (uint64_t)t * E, tokens[t]));
	/* layer by layer over the whole batch, as a GPU runs a prefill chunk: token t's attention
	 * reads the keys tokens 0..t of this batch wrote into this layer's cache just before */
	for (uint32_t il = 0; il < hp->n_layer; il++) {
		for (uint32_t t = 0; t < n; t++) {
			double *xt = x + (uint64_t)t * E;
			TRY(ref_attention_block(f, il, xt, pos0 + t));
			TRY(ref_ffn_block(f, il, xt));
		}
		memcpy(f->hidden + (uint64_t)il * E, x + (uint64_t)(n - 1) * E, E * sizeof *x);
	}
	if (!logits) return VKLLM_OK;
	for (uint32_t t = all_logits ? 0 : n - 1; t < n; t++)
		TRY(ref_head(f, all_logits ? logits + (uint64_t)t * hp->n_vocab : logits, x + (uint64_t)t * E));
	return VKLLM_OK;
}

int ref_forward_batch(struct ref_forward *f, const uint32_t *tokens, uint32_t n, uint32_t pos0, double *logits,
                      bool all_logits)
{
	if (n == 0) return VKLLM_OK;
	if (pos0 > f->n_ctx || n > f->n_ctx - pos0)
		return fail(VKLLM_E_ARG, "reference forward pass: positions %u..%u are past the context of %u", pos0, pos0 + n - 1,
		            f->n_ctx);
	for (uint32_t t = 0; t < n; t++)
		if (tokens[t] >= f->tok_embd.n_out)
			return fail(VKLLM_E_ARG, "reference forward pass: token %u is outside the vocabulary of %llu", tokens[t],
			            (unsigned long long)f->tok_embd.n_out);
	/* a recurrent state holds every token run so far and cannot forget the last ones */
	if (f->recurrent && pos0 != f->n_past)
		return fail(VKLLM_E_ARG, "reference forward pass: %s has recurrent layers, whose state continues from position "
		            "%u; position %u needs a new context (and the positions before it run again)", f->m->gguf.path,
		            f->n_past, pos0);
	double *x = malloc((uint64_t)n * f->hp->n_embd * sizeof *x);
	if (!x) return fail(VKLLM_E_NOMEM, "out of host memory");
	int st = batch(f, x, tokens, n, pos0, logits, all_logits);
	free(x);
	/* after a failure the state is part way through the batch: only a new context is sound */
	f->n_past = st ? UINT32_MAX : pos0 + n;
	return st;
}

int ref_forward_token(struct ref_forward *f, uint32_t token, uint32_t pos, double *logits)
{
	return ref_forward_batch(f, &token, 1, pos, logits, false);
}
