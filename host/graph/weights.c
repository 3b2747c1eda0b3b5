/* Uploading a model's tensors: looked up by their llama.cpp names, one device buffer each. */
#include "graph/weights.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "loader/quant.h"
#include "graph/attn_mla.h"

/* the types the matmul and embedding kernels decode (shaders/variants.cmake) */
static bool kernel_type(uint32_t t)
{
	switch (t) {
	case QT_F32: case QT_F16: case QT_BF16: case QT_Q4_0: case QT_Q4_1: case QT_Q5_0: case QT_Q5_1: case QT_Q8_0:
	case QT_Q2_K: case QT_Q3_K: case QT_Q4_K: case QT_Q5_K: case QT_Q6_K: case QT_MXFP4:
		return true;
	default:
		return false;
	}
}

struct upload {
	struct gpu *g;
	const struct model_file *m;
	struct model_weights *w;
	weights_progress_fn progress;
	void *user;
	uint64_t done, total;
};

static const struct gguf_tensor *lookup(const struct model_file *m, int il, const char *suffix)
{
	char name[GGUF_MAX_NAME];
	if (il >= 0) snprintf(name, sizeof name, "blk.%d.%s", il, suffix);
	else snprintf(name, sizeof name, "%s", suffix);
	return gguf_tensor(&m->gguf, name);
}

static int put(struct upload *u, struct weight *w, const struct gguf_tensor *t, const void *data, uint64_t bytes)
{
	/* 4 bytes of padding: shaders read weights in 32-bit words (ops_weight_view) */
	TRY(gpu_buffer_create(u->g, &w->buf, (bytes + 7) & ~(uint64_t)3, GPU_MEM_DEVICE, t->name));
	w->present = true;
	w->view = (struct gpu_view){&w->buf, 0, bytes};
	TRY(gpu_upload(u->g, &w->buf, 0, data, bytes));
	u->w->bytes += w->buf.size;
	u->done += t->size;
	if (u->progress) u->progress(u->user, u->done, u->total);
	return VKLLM_OK;
}

/* A matrix's shape and type, after checking that a kernel reads the type. */
static int matrix_shape(struct upload *u, struct weight *w, const struct gguf_tensor *t)
{
	if (!kernel_type(t->type))
		return fail(VKLLM_E_UNSUPPORTED, "%s: tensor %s is %s, a type vkllm has no GPU kernel for (it runs f32, f16, bf16, "
		            "q4_0, q4_1, q5_0, q5_1, q8_0, q2_K..q6_K and mxfp4)", u->m->gguf.path, t->name, gguf_type_name(t->type));
	w->type = t->type;
	w->n_in = t->ne[0];
	w->n_out = t->ne[1];
	w->n_mat = t->ne[2];
	w->row_bytes = quant_row_size(t->type, t->ne[0]);
	return VKLLM_OK;
}

/* A matrix (or the embedding table) in its file type. */
static int matrix(struct upload *u, struct weight *w, int il, const char *suffix)
{
	memset(w, 0, sizeof *w);
	const struct gguf_tensor *t = lookup(u->m, il, suffix);
	if (!t) return VKLLM_OK;
	TRY(matrix_shape(u, w, t));
	return put(u, w, t, t->data, t->size);
}

/* n matrices of one input (wq, wk, wv; or gate, up) into one buffer back to back, when they all
 * exist as plain matrices of one type and row length and each part's size keeps the next part
 * on a 256-byte boundary (any device's binding alignment); otherwise each its own buffer. */
static int fused(struct upload *u, struct weight *whole, struct weight **parts, const char **suffixes, uint32_t n, int il)
{
	const struct gguf_tensor *t[3];
	bool ok = true;
	uint64_t bytes = 0;
	memset(whole, 0, sizeof *whole);
	for (uint32_t i = 0; i < n; i++) {
		t[i] = lookup(u->m, il, suffixes[i]);
		ok = ok && t[i] && t[i]->ne[2] == 1 && t[i]->type == t[0]->type && t[i]->ne[0] == t[0]->ne[0] &&
		     t[i]->size % 256 == 0;
		if (t[i]) bytes += t[i]->size;
	}
	if (!ok) {
		for (uint32_t i = 0; i < n; i++) TRY(matrix(u, parts[i], il, suffixes[i]));
		return VKLLM_OK;
	}
	char name[GGUF_MAX_NAME + 16];
	snprintf(name, sizeof name, "blk.%d.fused(%s...)", il, suffixes[0]);
	TRY(gpu_buffer_create(u->g, &whole->buf, (bytes + 7) & ~(uint64_t)3, GPU_MEM_DEVICE, name));
	TRY(matrix_shape(u, whole, t[0]));
	whole->present = true;
	whole->view = (struct gpu_view){&whole->buf, 0, bytes};
	u->w->bytes += whole->buf.size;
	uint64_t at = 0;
	for (uint32_t i = 0; i < n; i++) {
		memset(parts[i], 0, sizeof *parts[i]);
		TRY(matrix_shape(u, parts[i], t[i]));
		parts[i]->present = true;
		parts[i]->view = (struct gpu_view){&whole->buf, at, t[i]->size};
		TRY(gpu_upload(u->g, &whole->buf, at, t[i]->data, t[i]->size));
		at += t[i]->size;
		u->done += t[i]->size;
		if (u->progress) u->progress(u->user, u->done, u->total);
	}
	whole->n_out = bytes / whole->row_bytes;
	return VKLLM_OK;
}

/* A norm, bias or frequency-factor vector, converted to f32. */
static int vector(struct upload *u, struct weight *w, int il, const char *suffix)
{
	memset(w, 0, sizeof *w);
	const struct gguf_tensor *t = lookup(u->m, il, suffix);
	if (!t) return VKLLM_OK;
	const struct quant_type *qt = quant_type_info(t->type);
	if (!qt || !qt->can_dequantize)
		return fail(VKLLM_E_UNSUPPORTED, "%s: vector %s is %s, which vkllm cannot read", u->m->gguf.path, t->name,
		            gguf_type_name(t->type));
	uint64_t n = t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
	float *f = malloc(n * sizeof *f);
	if (!f) return fail(VKLLM_E_NOMEM, "out of host memory converting %s", t->name);
	int st = quant_dequantize(t->type, t->data, f, n);
	w->type = QT_F32;
	w->n_in = n;
	w->n_out = 1;
	w->n_mat = 1;
	w->row_bytes = n * 4;
	if (st == VKLLM_OK) st = put(u, w, t, f, n * 4);
	free(f);
	return st;
}

/* MLA's per-head up-projections decoded into f32, row-major: W_UK [H][nope][kv_lora] and W_UV
 * [H][v][kv_lora], from attn_k_b (W_UK[h] stored transposed) and attn_v_b, or from a legacy
 * attn_kv_b (per head, nope rows of W_UK then v rows of W_UV). Exact: every type here decodes to
 * values an f32 holds. */
static int mla_up_projections(struct upload *u, uint32_t il, float *wk, float *wv)
{
	const struct hparams *hp = &u->m->hp;
	uint64_t C = hp->n_lora_kv, H = u->m->layers[il].n_head, Dv = hparams_mla_head_v(hp);
	uint64_t nope = hparams_mla_head_k(hp) - hp->n_rot;
	const struct gguf_tensor *kb = lookup(u->m, (int)il, "attn_k_b.weight"), *vb = lookup(u->m, (int)il, "attn_v_b.weight");
	const struct gguf_tensor *kvb = lookup(u->m, (int)il, "attn_kv_b.weight");
	float *row = malloc(nope * sizeof *row);
	int st = row ? VKLLM_OK : fail(VKLLM_E_NOMEM, "out of host memory decoding layer %u's MLA projections", il);
	for (uint64_t h = 0; !st && h < H; h++) {
		if (kvb) {
			uint64_t rb = quant_row_size(kvb->type, C);
			const uint8_t *head = kvb->data + h * (nope + Dv) * rb;
			for (uint64_t d = 0; !st && d < nope; d++) st = quant_dequantize(kvb->type, head + d * rb, wk + (h * nope + d) * C, C);
			for (uint64_t j = 0; !st && j < Dv; j++)
				st = quant_dequantize(kvb->type, head + (nope + j) * rb, wv + (h * Dv + j) * C, C);
			continue;
		}
		uint64_t krb = quant_row_size(kb->type, nope), vrb = quant_row_size(vb->type, C);
		for (uint64_t c = 0; !st && c < C; c++) { /* k_b[h] row c holds W_UK[h][:, c] */
			st = quant_dequantize(kb->type, kb->data + (h * C + c) * krb, row, nope);
			for (uint64_t d = 0; d < nope; d++) wk[(h * nope + d) * C + c] = row[d];
		}
		for (uint64_t j = 0; !st && j < Dv; j++)
			st = quant_dequantize(vb->type, vb->data + (h * Dv + j) * vrb, wv + (h * Dv + j) * C, C);
	}
	free(row);
	return st;
}

/* A legacy MLA file's attn_kv_b, split into what the absorbed kernels read: v_b takes W_UV's rows as
 * they are, in the file's type; k_b is W_UK transposed per head, which no block layout survives,
 * so it is stored in f32. */
static int split_kv_b(struct upload *u, struct layer_weights *L, uint32_t il, const float *wk)
{
	const struct hparams *hp = &u->m->hp;
	const struct gguf_tensor *t = lookup(u->m, (int)il, "attn_kv_b.weight");
	uint64_t C = hp->n_lora_kv, H = u->m->layers[il].n_head, Dv = hparams_mla_head_v(hp);
	uint64_t nope = hparams_mla_head_k(hp) - hp->n_rot, row_bytes = quant_row_size(t->type, C);
	uint8_t *vb = malloc(H * Dv * row_bytes);
	float *kb = malloc(H * C * nope * sizeof *kb);
	int st = vb && kb ? VKLLM_OK : fail(VKLLM_E_NOMEM, "out of host memory splitting %s", t->name);
	for (uint64_t h = 0; !st && h < H; h++) {
		for (uint64_t d = 0; d < nope; d++)
			for (uint64_t c = 0; c < C; c++) kb[(h * C + c) * nope + d] = wk[(h * nope + d) * C + c];
		memcpy(vb + h * Dv * row_bytes, t->data + (h * (nope + Dv) + nope) * row_bytes, Dv * row_bytes);
	}
	if (!st) {
		L->k_b = (struct weight){.type = QT_F32, .n_in = nope, .n_out = C, .n_mat = H, .row_bytes = nope * 4};
		L->v_b = (struct weight){.type = t->type, .n_in = C, .n_out = Dv, .n_mat = H, .row_bytes = row_bytes};
		st = put(u, &L->k_b, t, kb, H * C * nope * 4);
		/* put() counts the source tensor's bytes once for progress; the second part adds none */
		uint64_t done = u->done;
		if (!st) st = put(u, &L->v_b, t, vb, H * Dv * row_bytes);
		u->done = done;
	}
	free(vb), free(kb);
	return st;
}

/* What an MLA layer needs beyond its file tensors: a legacy attn_kv_b split for the absorbed
 * kernels, and on devices whose prefill takes the decompressed form (mla_decompress_prefill) W_UK
 * and W_UV as row-major f32 matrices. The up-projections are decoded once for both. */
static int mla_derived(struct upload *u, struct layer_weights *L, uint32_t il)
{
	const struct hparams *hp = &u->m->hp;
	const struct gguf_tensor *kvb = lookup(u->m, (int)il, "attn_kv_b.weight");
	bool decompress = mla_decompress_prefill(u->g);
	if (!kvb && !decompress) return VKLLM_OK;
	if (kvb && (!kernel_type(kvb->type) || !quant_type_info(kvb->type)->can_dequantize))
		return fail(VKLLM_E_UNSUPPORTED, "%s: tensor %s is %s, which vkllm cannot split", u->m->gguf.path, kvb->name,
		            gguf_type_name(kvb->type));
	uint64_t C = hp->n_lora_kv, H = u->m->layers[il].n_head, Dv = hparams_mla_head_v(hp);
	uint64_t nope = hparams_mla_head_k(hp) - hp->n_rot;
	float *wk = malloc(H * nope * C * 4), *wv = malloc(H * Dv * C * 4);
	int st = wk && wv ? mla_up_projections(u, il, wk, wv) : fail(VKLLM_E_NOMEM, "out of host memory for layer %u's MLA", il);
	if (!st && kvb) st = split_kv_b(u, L, il, wk);
	if (!st && decompress) {
		const struct gguf_tensor *any = kvb ? kvb : lookup(u->m, (int)il, "attn_k_b.weight");
		L->mla_wk = (struct weight){.type = QT_F32, .n_in = C, .n_out = H * nope, .n_mat = 1, .row_bytes = C * 4};
		L->mla_wv = (struct weight){.type = QT_F32, .n_in = C, .n_out = H * Dv, .n_mat = 1, .row_bytes = C * 4};
		uint64_t done = u->done; /* extra copies: no file bytes to report */
		st = put(u, &L->mla_wk, any, wk, H * nope * C * 4);
		if (!st) st = put(u, &L->mla_wv, any, wv, H * Dv * C * 4);
		u->done = done;
	}
	free(wk), free(wv);
	return st;
}

/* qwen3next's gated attention: attn_q holds, per head, head_dim query rows then head_dim gate rows.
 * Reordered at load (whole rows, in the file's type) into every head's query rows, then every head's
 * gate rows, so q and the gate are two plain products over one buffer. */
static int split_q_gate(struct upload *u, struct layer_weights *L, uint32_t il)
{
	const struct gguf_tensor *t = lookup(u->m, (int)il, "attn_q.weight");
	if (!t) return VKLLM_OK;
	uint64_t H = u->m->layers[il].n_head, D = u->m->hp.head_dim_k, rb = quant_row_size(t->type, t->ne[0]);
	uint8_t *rows = malloc(2 * H * D * rb);
	if (!rows) return fail(VKLLM_E_NOMEM, "out of host memory reordering %s", t->name);
	for (uint64_t h = 0; h < H; h++) {
		memcpy(rows + h * D * rb, t->data + (2 * h) * D * rb, D * rb);
		memcpy(rows + (H + h) * D * rb, t->data + (2 * h + 1) * D * rb, D * rb);
	}
	struct weight whole;
	memset(&whole, 0, sizeof whole);
	int st = matrix_shape(u, &whole, t);
	if (!st) st = put(u, &whole, t, rows, 2 * H * D * rb);
	free(rows);
	TRY(st);
	/* the parts are views of one buffer: the buffer lives in wq, the gate views it */
	L->wq = whole;
	L->wq.view.buf = &L->wq.buf;
	L->wq.n_out = H * D;
	L->wq.view.size = H * D * rb;
	L->wq_gate = whole;
	L->wq_gate.buf = (struct gpu_buffer){0};
	L->wq_gate.view = (struct gpu_view){&L->wq.buf, H * D * rb, H * D * rb};
	L->wq_gate.n_out = H * D;
	return VKLLM_OK;
}

static int layer(struct upload *u, uint32_t il, struct layer_weights *L)
{
	int i = (int)il;
	TRY(vector(u, &L->attn_norm, i, "attn_norm.weight"));
	TRY(vector(u, &L->ffn_norm, i, "ffn_norm.weight"));
	/* the post-attention norm under the name the arch's tensor list gives it (grok: attn_output_norm) */
	TRY(vector(u, &L->post_attn_norm, i, u->m->arch->attn_output_norm ? "attn_output_norm.weight" : "post_attention_norm.weight"));
	TRY(vector(u, &L->post_ffw_norm, i, "post_ffw_norm.weight"));
	TRY(vector(u, &L->q_norm, i, "attn_q_norm.weight"));
	TRY(vector(u, &L->k_norm, i, "attn_k_norm.weight"));
	struct weight *qkv[] = {&L->wq, &L->wk, &L->wv};
	const char *qkv_names[] = {"attn_q.weight", "attn_k.weight", "attn_v.weight"};
	if (u->m->layers[il].kv_shared) {
		/* Gemma 3n's last layers read an earlier layer's keys and values: their attn_k and attn_v
		 * (in the file, as llama.cpp requires them) are never used, so they are not uploaded */
		TRY(matrix(u, &L->wq, i, "attn_q.weight"));
	} else if (u->m->layers[il].attn_out_gate) {
		TRY(split_q_gate(u, L, il));
		TRY(matrix(u, &L->wk, i, "attn_k.weight"));
		TRY(matrix(u, &L->wv, i, "attn_v.weight"));
	} else {
		TRY(fused(u, &L->qkv, qkv, qkv_names, 3, i));
	}
	TRY(matrix(u, &L->wo, i, "attn_output.weight"));
	TRY(vector(u, &L->bq, i, "attn_q.bias"));
	TRY(vector(u, &L->bk, i, "attn_k.bias"));
	TRY(vector(u, &L->bv, i, "attn_v.bias"));
	TRY(vector(u, &L->bo, i, "attn_output.bias"));
	struct weight *gate_up[] = {&L->gate, &L->up};
	const char *gate_up_names[] = {"ffn_gate.weight", "ffn_up.weight"};
	TRY(fused(u, &L->gate_up, gate_up, gate_up_names, 2, i));
	TRY(matrix(u, &L->down, i, "ffn_down.weight"));
	TRY(vector(u, &L->gate_b, i, "ffn_gate.bias"));
	TRY(vector(u, &L->up_b, i, "ffn_up.bias"));
	TRY(vector(u, &L->down_b, i, "ffn_down.bias"));
	TRY(matrix(u, &L->router, i, "ffn_gate_inp.weight"));
	TRY(matrix(u, &L->gate_exps, i, "ffn_gate_exps.weight"));
	TRY(matrix(u, &L->up_exps, i, "ffn_up_exps.weight"));
	TRY(matrix(u, &L->down_exps, i, "ffn_down_exps.weight"));
	struct weight *gate_up_shexp[] = {&L->gate_shexp, &L->up_shexp};
	const char *gate_up_shexp_names[] = {"ffn_gate_shexp.weight", "ffn_up_shexp.weight"};
	TRY(fused(u, &L->gate_up_shexp, gate_up_shexp, gate_up_shexp_names, 2, i));
	TRY(matrix(u, &L->down_shexp, i, "ffn_down_shexp.weight"));
	TRY(vector(u, &L->gate_inp_shexp, i, "ffn_gate_inp_shexp.weight"));
	TRY(vector(u, &L->exp_probs_b, i, "exp_probs_b.bias"));
	TRY(vector(u, &L->attn_sinks, i, "attn_sinks.weight"));
	TRY(vector(u, &L->router_b, i, "ffn_gate_inp.bias"));
	TRY(vector(u, &L->gate_exps_b, i, "ffn_gate_exps.bias"));
	TRY(vector(u, &L->up_exps_b, i, "ffn_up_exps.bias"));
	TRY(vector(u, &L->down_exps_b, i, "ffn_down_exps.bias"));
	TRY(matrix(u, &L->q_a, i, "attn_q_a.weight"));
	TRY(vector(u, &L->q_a_norm, i, "attn_q_a_norm.weight"));
	TRY(matrix(u, &L->q_b, i, "attn_q_b.weight"));
	TRY(matrix(u, &L->kv_a, i, "attn_kv_a_mqa.weight"));
	TRY(vector(u, &L->kv_a_norm, i, "attn_kv_a_norm.weight"));
	TRY(matrix(u, &L->k_b, i, "attn_k_b.weight"));
	TRY(matrix(u, &L->v_b, i, "attn_v_b.weight"));
	if (u->m->layers[il].attn == ATTN_MLA) TRY(mla_derived(u, L, il));
	if (u->m->layers[il].ffn_norm_post_attn) { /* the pre-FFN norm is stored as post_attention_norm */
		L->ffn_norm = L->post_attn_norm;
		L->ffn_norm.view.buf = &L->ffn_norm.buf; /* views point at their weight's own buffer struct */
		memset(&L->post_attn_norm, 0, sizeof L->post_attn_norm);
	}
	TRY(matrix(u, &L->gdn_qkv, i, "attn_qkv.weight"));
	TRY(matrix(u, &L->gdn_gate, i, "attn_gate.weight"));
	TRY(matrix(u, &L->gdn_ba, i, "ssm_ba.weight"));
	TRY(matrix(u, &L->gdn_beta, i, "ssm_beta.weight"));
	TRY(matrix(u, &L->gdn_alpha, i, "ssm_alpha.weight"));
	TRY(vector(u, &L->gdn_conv, i, "ssm_conv1d.weight"));
	TRY(vector(u, &L->gdn_dt, i, "ssm_dt.bias"));
	TRY(vector(u, &L->gdn_a, i, "ssm_a"));
	TRY(vector(u, &L->gdn_norm, i, "ssm_norm.weight"));
	TRY(matrix(u, &L->gdn_out, i, "ssm_out.weight"));
	TRY(vector(u, &L->kda_conv_q, i, "ssm_conv1d_q.weight"));
	TRY(vector(u, &L->kda_conv_k, i, "ssm_conv1d_k.weight"));
	TRY(vector(u, &L->kda_conv_v, i, "ssm_conv1d_v.weight"));
	TRY(matrix(u, &L->kda_f_a, i, "ssm_f_a.weight"));
	TRY(matrix(u, &L->kda_f_b, i, "ssm_f_b.weight"));
	TRY(matrix(u, &L->kda_g_a, i, "ssm_g_a.weight"));
	TRY(matrix(u, &L->kda_g_b, i, "ssm_g_b.weight"));
	TRY(matrix(u, &L->ple_gate, i, "inp_gate.weight"));
	TRY(matrix(u, &L->ple_proj, i, "proj.weight"));
	TRY(vector(u, &L->ple_norm, i, "post_norm.weight"));
	TRY(matrix(u, &L->altup_router, i, "altup_router.weight"));
	TRY(vector(u, &L->altup_router_norm, i, "altup_router_norm.weight"));
	TRY(vector(u, &L->altup_scale, i, "altup_correct_scale.weight"));
	TRY(matrix(u, &L->laurel_l, i, "laurel_l.weight"));
	TRY(matrix(u, &L->laurel_r, i, "laurel_r.weight"));
	TRY(vector(u, &L->laurel_norm, i, "laurel_post_norm.weight"));
	TRY(vector(u, &L->altup_predict, i, "altup_predict_coef.weight")); /* small: f32, read in the shader */
	TRY(vector(u, &L->altup_correct, i, "altup_correct_coef.weight"));
	return VKLLM_OK;
}

static int upload_all(struct upload *u)
{
	const struct model_file *m = u->m;
	struct model_weights *w = u->w;
	for (uint64_t i = 0; i < m->gguf.n_tensors; i++) u->total += m->gguf.tensors[i].size;
	TRY(matrix(u, &w->tok_embd, -1, "token_embd.weight"));
	TRY(matrix(u, &w->output, -1, "output.weight"));
	TRY(vector(u, &w->output_norm, -1, "output_norm.weight"));
	TRY(vector(u, &w->rope_freqs, -1, "rope_freqs.weight"));
	TRY(matrix(u, &w->altup_proj, -1, "altup_proj.weight"));
	TRY(matrix(u, &w->altup_unembd, -1, "altup_unembd_proj.weight"));
	TRY(matrix(u, &w->ple_embd, -1, "per_layer_token_embd.weight"));
	TRY(matrix(u, &w->ple_model_proj, -1, "per_layer_model_proj.weight"));
	TRY(vector(u, &w->ple_model_norm, -1, "per_layer_proj_norm.weight"));
	w->lm_head = w->output.present ? &w->output : &w->tok_embd;
	w->layers = calloc(m->hp.n_layer, sizeof *w->layers);
	if (!w->layers) return fail(VKLLM_E_NOMEM, "out of host memory");
	w->n_layer = m->hp.n_layer;
	for (uint32_t il = 0; il < m->hp.n_layer; il++) TRY(layer(u, il, &w->layers[il]));
	return VKLLM_OK;
}

int model_weights_upload(struct gpu *g, const struct model_file *m, struct model_weights *w,
                         weights_progress_fn progress, void *user)
{
	memset(w, 0, sizeof *w);
	struct upload u = {.g = g, .m = m, .w = w, .progress = progress, .user = user};
	int st = upload_all(&u);
	if (st) model_weights_free(g, w);
	return st;
}

static void free_weight(struct gpu *g, struct weight *w)
{
	if (w->buf.buffer) gpu_buffer_destroy(g, &w->buf);
	memset(w, 0, sizeof *w);
}

/* Every weight of a layer: the parts first (LAYER_PARTS of them), then the fused buffers that hold
 * some of the parts' bytes (their views are row ranges of these). */
enum { LAYER_PARTS = 72, LAYER_ALL = 75 };
static void layer_weight_list(struct layer_weights *L, struct weight *all[LAYER_ALL])
{
	struct weight *list[LAYER_ALL] = {
		&L->attn_norm, &L->ffn_norm, &L->post_attn_norm, &L->post_ffw_norm, &L->q_norm, &L->k_norm,
		&L->wq, &L->wk, &L->wv, &L->wo, &L->bq, &L->bk, &L->bv, &L->bo, &L->gate, &L->up, &L->down,
		&L->gate_b, &L->up_b, &L->down_b, &L->router, &L->gate_exps, &L->up_exps, &L->down_exps,
		&L->gate_shexp, &L->up_shexp, &L->down_shexp, &L->gate_inp_shexp,
		&L->exp_probs_b, &L->q_a, &L->q_a_norm, &L->q_b, &L->kv_a, &L->kv_a_norm, &L->k_b, &L->v_b,
		&L->mla_wk, &L->mla_wv,
		&L->gdn_qkv, &L->gdn_gate, &L->gdn_beta, &L->gdn_alpha, &L->gdn_conv, &L->gdn_dt, &L->gdn_a, &L->gdn_norm,
		&L->gdn_out, &L->wq_gate, &L->gdn_ba,
		&L->kda_conv_q, &L->kda_conv_k, &L->kda_conv_v, &L->kda_f_a, &L->kda_f_b, &L->kda_g_a, &L->kda_g_b,
		&L->attn_sinks, &L->router_b, &L->gate_exps_b, &L->up_exps_b, &L->down_exps_b,
		&L->ple_gate, &L->ple_proj, &L->ple_norm, &L->altup_router, &L->altup_router_norm, &L->altup_scale,
		&L->laurel_l, &L->laurel_r, &L->laurel_norm, &L->altup_predict, &L->altup_correct,
		&L->qkv, &L->gate_up, &L->gate_up_shexp};
	memcpy(all, list, sizeof list);
}

uint64_t model_weights_decode_bytes(const struct model_weights *w, uint32_t n_expert_used)
{
	uint64_t bytes = w->output_norm.view.size + w->lm_head->view.size + (w->rope_freqs.present ? w->rope_freqs.view.size : 0);
	if (w->lm_head != &w->tok_embd) bytes += w->tok_embd.row_bytes; /* the token's row */
	/* Gemma 3n: AltUp's projections and the per-layer input's model projection and norm whole, one row
	 * of the per-layer token embedding */
	bytes += w->altup_proj.view.size + w->altup_unembd.view.size + w->ple_model_proj.view.size + w->ple_model_norm.view.size;
	if (w->ple_embd.present) bytes += w->ple_embd.row_bytes;
	for (uint32_t il = 0; il < w->n_layer; il++) {
		struct weight *all[LAYER_ALL];
		layer_weight_list(&w->layers[il], all);
		for (size_t i = 0; i < LAYER_PARTS; i++) {
			/* the decompressed form's copies serve prefill only */
			if (!all[i]->present || all[i] == &w->layers[il].mla_wk || all[i] == &w->layers[il].mla_wv) continue;
			const struct layer_weights *L = &w->layers[il];
			bool heads = all[i] == &L->k_b || all[i] == &L->v_b; /* MLA: every head's, whole */
			/* gpt-oss's expert biases are flat vectors of n_expert rows: the token's rows of them */
			bool expert_bias = all[i] == &L->gate_exps_b || all[i] == &L->up_exps_b || all[i] == &L->down_exps_b;
			uint64_t n_mat = expert_bias ? L->gate_exps.n_mat : all[i]->n_mat;
			if (n_mat > 1 && !heads) /* experts: the token's own */
				bytes += all[i]->view.size / n_mat * (n_expert_used < n_mat ? n_expert_used : n_mat);
			else
				bytes += all[i]->view.size;
		}
	}
	return bytes;
}

void model_weights_free(struct gpu *g, struct model_weights *w)
{
	for (uint32_t il = 0; w->layers && il < w->n_layer; il++) {
		struct weight *all[LAYER_ALL];
		layer_weight_list(&w->layers[il], all);
		for (size_t i = 0; i < LAYER_ALL; i++) free_weight(g, all[i]);
	}
	free(w->layers);
	free_weight(g, &w->tok_embd);
	free_weight(g, &w->output);
	free_weight(g, &w->output_norm);
	free_weight(g, &w->rope_freqs);
	free_weight(g, &w->altup_proj);
	free_weight(g, &w->altup_unembd);
	free_weight(g, &w->ple_embd);
	free_weight(g, &w->ple_model_proj);
	free_weight(g, &w->ple_model_norm);
	memset(w, 0, sizeof *w);
}
