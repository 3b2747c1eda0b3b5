/* Tensor lists from layer recipes: each block names the tensors it reads, as llama.cpp's
 * load_arch_tensors creates them (names from gguf-py's TENSOR_NAMES, shapes ne[0]-first). */
#include "model/tensors.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"

static struct tensor_spec *add(struct tensor_list *l, int32_t layer, const char *suffix, enum tensor_role role,
                               bool required, uint32_t n_dims, uint64_t ne0, uint64_t ne1, uint64_t ne2)
{
	if (l->n == l->cap) {
		uint32_t cap = l->cap ? 2 * l->cap : 256;
		struct tensor_spec *p = realloc(l->items, cap * sizeof *p);
		if (!p) return NULL;
		l->items = p, l->cap = cap;
	}
	struct tensor_spec *t = &l->items[l->n++];
	memset(t, 0, sizeof *t);
	if (layer >= 0) snprintf(t->name, sizeof t->name, "blk.%d.%s", layer, suffix);
	else snprintf(t->name, sizeof t->name, "%s", suffix);
	t->n_dims = n_dims;
	t->ne[0] = ne0, t->ne[1] = ne1, t->ne[2] = ne2, t->ne[3] = 1;
	for (uint32_t d = n_dims; d < 4; d++) t->ne[d] = 1;
	t->role = role;
	t->layer = layer;
	t->required = required;
	t->synth = required;
	return t;
}

#define ADD1(l, il, name, role, req, a) add(l, il, name, role, req, 1, a, 1, 1)
#define ADD2(l, il, name, role, req, a, b) add(l, il, name, role, req, 2, a, b, 1)
#define ADD3(l, il, name, role, req, a, b, c) add(l, il, name, role, req, 3, a, b, c)

/* llama.cpp's llama and mistral3 loaders: optional rope_freqs, attn_output bias and FFN biases */
static bool llama_layout(const struct arch *a) { return a == arch_find("llama") || a == arch_find("mistral3"); }

static bool attention(struct tensor_list *l, const struct arch *a, const struct hparams *hp, int il,
                      const struct layer_desc *d)
{
	/* a gated attention's q carries the gate: [query | gate] per head */
	uint64_t E = hp->n_embd, q = (uint64_t)d->n_head * hp->head_dim_k * (d->attn_out_gate ? 2 : 1), k = (uint64_t)d->n_head_kv * hp->head_dim_k,
	         v = (uint64_t)d->n_head_kv * hp->head_dim_v, o = (uint64_t)d->n_head * hp->head_dim_v;
	uint64_t qh = (uint64_t)d->n_head * hp->head_dim_k; /* the norms see the query part alone */
	bool ok = ADD2(l, il, "attn_q.weight", TR_MATRIX, true, E, q) && ADD2(l, il, "attn_k.weight", TR_MATRIX, true, E, k) &&
	          ADD2(l, il, "attn_v.weight", TR_MATRIX, true, E, v) && ADD2(l, il, "attn_output.weight", TR_MATRIX, true, o, E);
	/* every arch here accepts Q/K/V biases (llama.cpp's create_tensor_qkv); Qwen2 has them */
	struct tensor_spec *b[3] = {ADD1(l, il, "attn_q.bias", TR_BIAS, false, q), ADD1(l, il, "attn_k.bias", TR_BIAS, false, k),
	                            ADD1(l, il, "attn_v.bias", TR_BIAS, false, v)};
	for (int i = 0; i < 3; i++) {
		if (!b[i]) return false;
		b[i]->synth = a->qkv_bias;
	}
	if ((llama_layout(a) || a->attn_out_bias) && !ADD1(l, il, "attn_output.bias", TR_BIAS, a->attn_out_bias, E))
		return false;
	if (d->attn_sinks) ok = ok && ADD1(l, il, "attn_sinks.weight", TR_SINKS, true, d->n_head);
	if (d->qk_norm == QK_NORM_HEAD)
		ok = ok && ADD1(l, il, "attn_q_norm.weight", TR_NORM, true, hp->head_dim_k) &&
		     ADD1(l, il, "attn_k_norm.weight", TR_NORM, true, hp->head_dim_k);
	if (d->qk_norm == QK_NORM_FULL)
		ok = ok && ADD1(l, il, "attn_q_norm.weight", TR_NORM, true, qh) && ADD1(l, il, "attn_k_norm.weight", TR_NORM, true, k);
	return ok;
}

/* Multi-head latent attention (deepseek2.cpp load_arch_tensors): q directly or through its
 * low-rank pair, the compressed KV with the shared rope key, and the per-head up-projections in
 * the split form (attn_k_b holds W_UK[h] transposed) or the legacy fused attn_kv_b. */
static bool mla_attention(struct tensor_list *l, const struct hparams *hp, int il, const struct layer_desc *d)
{
	uint64_t E = hp->n_embd, H = d->n_head, Dk = hparams_mla_head_k(hp), Dv = hparams_mla_head_v(hp);
	uint64_t R = hp->n_rot, C = hp->n_lora_kv, Q = hp->n_lora_q, nope = Dk - R;
	bool ok = true;
	if (Q)
		ok = ADD2(l, il, "attn_q_a.weight", TR_MATRIX, true, E, Q) && ADD1(l, il, "attn_q_a_norm.weight", TR_NORM, true, Q) &&
		     ADD2(l, il, "attn_q_b.weight", TR_MATRIX, true, Q, H * Dk);
	else
		ok = ADD2(l, il, "attn_q.weight", TR_MATRIX, true, E, H * Dk);
	ok = ok && ADD2(l, il, "attn_kv_a_mqa.weight", TR_MATRIX, true, E, C + R) &&
	     ADD1(l, il, "attn_kv_a_norm.weight", TR_NORM, true, C);
	if (hparams_is_mla(hp))
		ok = ok && ADD3(l, il, "attn_k_b.weight", TR_HEADS, true, nope, C, H) && ADD3(l, il, "attn_v_b.weight", TR_HEADS, true, C, Dv, H);
	else
		ok = ok && ADD2(l, il, "attn_kv_b.weight", TR_MATRIX, true, C, H * (nope + Dv));
	return ok && ADD2(l, il, "attn_output.weight", TR_MATRIX, true, H * Dv, E);
}

/* Gated DeltaNet (qwen3next.cpp / qwen35.cpp load_arch_tensors): q|k|v in one projection (the
 * short conv runs over all of it), the output gate z, b and a per value head (qwen3next: one ssm_ba
 * grouped per key head; qwen35*: ssm_beta and ssm_alpha), the conv kernel, dt bias and
 * -exp(A_log) per value head, the gated norm over one head, and the output projection. */
static bool gdn_attention(struct tensor_list *l, const struct arch *a, const struct hparams *hp, int il)
{
	uint64_t E = hp->n_embd, Hv = hp->ssm_dt_rank, key_dim = (uint64_t)hp->ssm_d_state * hp->ssm_n_group,
	         value_dim = (uint64_t)hp->ssm_d_state * Hv, conv_dim = 2 * key_dim + value_dim;
	bool ok = ADD2(l, il, "attn_qkv.weight", TR_MATRIX, true, E, conv_dim) &&
	          ADD2(l, il, "attn_gate.weight", TR_MATRIX, true, E, value_dim);
	if (a == arch_find("qwen3next")) ok = ok && ADD2(l, il, "ssm_ba.weight", TR_MATRIX, true, E, 2 * Hv);
	else ok = ok && ADD2(l, il, "ssm_beta.weight", TR_MATRIX, true, E, Hv) && ADD2(l, il, "ssm_alpha.weight", TR_MATRIX, true, E, Hv);
	return ok && ADD2(l, il, "ssm_conv1d.weight", TR_CONV, true, hp->ssm_d_conv, conv_dim) &&
	       ADD1(l, il, "ssm_dt.bias", TR_BIAS, true, Hv) && ADD1(l, il, "ssm_a", TR_SSM_A, true, Hv) &&
	       ADD1(l, il, "ssm_norm.weight", TR_NORM, true, hp->ssm_d_state) &&
	       ADD2(l, il, "ssm_out.weight", TR_MATRIX, true, value_dim, E);
}

/* Kimi delta attention (kimi-linear.cpp load_arch_tensors): q, k, v projections of H heads of D,
 * each with its own conv kernel {d_conv, 1, H*D} (the converter's 4-d shape; a trailing 1 is the
 * same ne), the decay's low-rank pair f_a {n_embd, D} and f_b {D, H*D} with a dt bias per channel,
 * beta per head, -exp(A_log) per head {1, H}, the output gate's low-rank pair g_a, g_b, the norm
 * over one head, and attn_output. */
static bool kda_attention(struct tensor_list *l, const struct hparams *hp, int il, const struct layer_desc *d)
{
	uint64_t E = hp->n_embd, H = d->n_head, D = hp->ssm_d_state, HD = H * D, K = hp->ssm_d_conv;
	return ADD2(l, il, "attn_q.weight", TR_MATRIX, true, E, HD) && ADD2(l, il, "attn_k.weight", TR_MATRIX, true, E, HD) &&
	       ADD2(l, il, "attn_v.weight", TR_MATRIX, true, E, HD) &&
	       add(l, il, "ssm_conv1d_q.weight", TR_CONV, true, 4, K, 1, HD) &&
	       add(l, il, "ssm_conv1d_k.weight", TR_CONV, true, 4, K, 1, HD) &&
	       add(l, il, "ssm_conv1d_v.weight", TR_CONV, true, 4, K, 1, HD) &&
	       ADD2(l, il, "ssm_f_a.weight", TR_MATRIX, true, E, D) && ADD2(l, il, "ssm_f_b.weight", TR_MATRIX, true, D, HD) &&
	       ADD2(l, il, "ssm_beta.weight", TR_MATRIX, true, E, H) && add(l, il, "ssm_a", TR_SSM_A, true, 4, 1, H, 1) &&
	       ADD1(l, il, "ssm_dt.bias", TR_BIAS, true, HD) && ADD2(l, il, "ssm_g_a.weight", TR_MATRIX, true, E, D) &&
	       ADD2(l, il, "ssm_g_b.weight", TR_MATRIX, true, D, HD) && ADD1(l, il, "ssm_norm.weight", TR_NORM, true, D) &&
	       ADD2(l, il, "attn_output.weight", TR_MATRIX, true, HD, E);
}

static bool feed_forward(struct tensor_list *l, const struct arch *a, const struct hparams *hp, int il,
                         const struct layer_desc *d)
{
	uint64_t E = hp->n_embd;
	if (d->ffn == FFN_MOE) {
		uint64_t X = hp->n_expert, F = hp->n_ff_exp, S = hp->n_ff_shexp;
		bool ok = ADD2(l, il, "ffn_gate_inp.weight", TR_ROUTER, true, E, X) &&
		          ADD3(l, il, "ffn_gate_exps.weight", TR_EXPERTS, true, E, F, X) &&
		          ADD3(l, il, "ffn_up_exps.weight", TR_EXPERTS, true, E, F, X) &&
		          ADD3(l, il, "ffn_down_exps.weight", TR_EXPERTS, true, F, E, X);
		/* gpt-oss: the router's bias and each expert's own biases ({rows, n_expert}, f32) */
		if (a->moe_biases)
			ok = ok && ADD1(l, il, "ffn_gate_inp.bias", TR_BIAS, true, X) &&
			     ADD2(l, il, "ffn_gate_exps.bias", TR_BIAS, true, F, X) && ADD2(l, il, "ffn_up_exps.bias", TR_BIAS, true, F, X) &&
			     ADD2(l, il, "ffn_down_exps.bias", TR_BIAS, true, E, X);
		if (d->shexp)
			ok = ok && ADD2(l, il, "ffn_gate_shexp.weight", TR_MATRIX, true, E, S) &&
			     ADD2(l, il, "ffn_up_shexp.weight", TR_MATRIX, true, E, S) &&
			     ADD2(l, il, "ffn_down_shexp.weight", TR_MATRIX, true, S, E);
		/* the gate is one row (ne {n_embd}), kept f32 like the router */
		if (d->shexp_gate) ok = ok && ADD1(l, il, "ffn_gate_inp_shexp.weight", TR_ROUTER, true, E);
		/* grok: a dense GLU of n_ff beside the experts */
		if (d->moe_dense)
			ok = ok && ADD2(l, il, "ffn_gate.weight", TR_MATRIX, true, E, d->n_ff) &&
			     ADD2(l, il, "ffn_up.weight", TR_MATRIX, true, E, d->n_ff) &&
			     ADD2(l, il, "ffn_down.weight", TR_MATRIX, true, d->n_ff, E);
		/* the selection bias (DeepSeek V3, Kimi K2: optional in llama.cpp, written by synth when
		 * the routing is sigmoid, as converters do; Kimi Linear: required) */
		if (a->moe_bias != MOE_BIAS_NONE) {
			struct tensor_spec *b = ADD1(l, il, "exp_probs_b.bias", TR_BIAS, a->moe_bias == MOE_BIAS_REQUIRED, X);
			if (!b) return false;
			b->synth = b->required || hp->expert_gating == 2;
		}
		return ok;
	}
	uint64_t F = d->n_ff;
	bool ok = ADD2(l, il, "ffn_gate.weight", TR_MATRIX, true, E, F) && ADD2(l, il, "ffn_up.weight", TR_MATRIX, true, E, F) &&
	          ADD2(l, il, "ffn_down.weight", TR_MATRIX, true, F, E);
	if (llama_layout(a))
		ok = ok && ADD1(l, il, "ffn_gate.bias", TR_BIAS, false, F) && ADD1(l, il, "ffn_up.bias", TR_BIAS, false, F) &&
		     ADD1(l, il, "ffn_down.bias", TR_BIAS, false, E);
	return ok;
}

static bool norms(struct tensor_list *l, const struct arch *a, const struct hparams *hp, int il, const struct layer_desc *d)
{
	uint64_t E = hp->n_embd;
	bool pre = d->norm == NORM_PRE || d->norm == NORM_SANDWICH, post = d->norm == NORM_POST || d->norm == NORM_SANDWICH;
	bool ok = true;
	if (pre)
		ok = ok && ADD1(l, il, "attn_norm.weight", TR_NORM, true, E) &&
		     ADD1(l, il, d->ffn_norm_post_attn ? "post_attention_norm.weight" : "ffn_norm.weight", TR_NORM, true, E);
	if (post)
		ok = ok && ADD1(l, il, a->attn_output_norm ? "attn_output_norm.weight" : "post_attention_norm.weight", TR_NORM, true, E) &&
		     ADD1(l, il, "post_ffw_norm.weight", TR_NORM, true, E);
	return ok;
}

/* Gemma 3n's AltUp, LAuReL and per-layer inputs: the global tensors (il -1) or a layer's */
static bool altup_tensors(struct tensor_list *l, const struct hparams *hp, int il)
{
	uint64_t E = hp->n_embd, A = hp->n_altup, P = hp->n_embd_per_layer, R = hp->laurel_rank;
	if (il < 0)
		return ADD3(l, -1, "altup_proj.weight", TR_KEEP, true, E, E, A - 1) &&
		       ADD3(l, -1, "altup_unembd_proj.weight", TR_KEEP, true, E, E, A - 1) &&
		       ADD2(l, -1, "per_layer_token_embd.weight", TR_EMBED, true, P * hp->n_layer, hp->n_vocab) &&
		       ADD2(l, -1, "per_layer_model_proj.weight", TR_KEEP, true, E, P * hp->n_layer) &&
		       ADD1(l, -1, "per_layer_proj_norm.weight", TR_NORM, true, P);
	return ADD2(l, il, "inp_gate.weight", TR_MATRIX, true, E, P) && ADD2(l, il, "proj.weight", TR_MATRIX, true, P, E) &&
	       ADD1(l, il, "post_norm.weight", TR_NORM, true, E) && ADD2(l, il, "altup_correct_coef.weight", TR_KEEP, true, A, A) &&
	       ADD1(l, il, "altup_correct_scale.weight", TR_NORM, true, E) &&
	       ADD2(l, il, "altup_predict_coef.weight", TR_KEEP, true, A, A * A) &&
	       ADD2(l, il, "altup_router.weight", TR_KEEP, true, E, A) && ADD1(l, il, "altup_router_norm.weight", TR_NORM, true, E) &&
	       ADD2(l, il, "laurel_l.weight", TR_KEEP, true, E, R) && ADD2(l, il, "laurel_r.weight", TR_KEEP, true, R, E) &&
	       ADD1(l, il, "laurel_post_norm.weight", TR_NORM, true, E);
}

int tensor_list_build(struct tensor_list *l, const struct arch *a, const struct hparams *hp, const struct layer_desc *layers)
{
	memset(l, 0, sizeof *l);
	uint64_t E = hp->n_embd, V = hp->n_vocab;
	bool ok = ADD2(l, -1, "token_embd.weight", TR_EMBED, true, E, V) && ADD1(l, -1, "output_norm.weight", TR_NORM, true, E);
	struct tensor_spec *out = ADD2(l, -1, "output.weight", TR_OUTPUT, a->output_required, E, V);
	ok = ok && out;
	if (ok && a->rope_freqs) ok = ADD1(l, -1, "rope_freqs.weight", TR_ROPE_FREQS, false, hp->n_rot / 2) != NULL;
	if (ok && hp->n_altup) ok = altup_tensors(l, hp, -1);
	for (uint32_t il = 0; ok && il < hp->n_layer; il++)
		ok = norms(l, a, hp, (int)il, &layers[il]) && (!layers[il].altup || altup_tensors(l, hp, (int)il)) &&
		     (layers[il].attn == ATTN_MLA   ? mla_attention(l, hp, (int)il, &layers[il])
		      : layers[il].attn == ATTN_GDN ? gdn_attention(l, a, hp, (int)il)
		      : layers[il].attn == ATTN_KDA ? kda_attention(l, hp, (int)il, &layers[il])
		                                    : attention(l, a, hp, (int)il, &layers[il])) &&
		     feed_forward(l, a, hp, (int)il, &layers[il]);
	if (!ok) {
		tensor_list_free(l);
		return fail(VKLLM_E_NOMEM, "out of host memory listing tensors");
	}
	return VKLLM_OK;
}

void tensor_list_free(struct tensor_list *l)
{
	free(l->items);
	memset(l, 0, sizeof *l);
}

void tensor_shape_str(char *out, size_t n, uint32_t n_dims, const uint64_t *ne)
{
	size_t k = (size_t)snprintf(out, n, "[");
	for (uint32_t d = 0; d < n_dims && k < n; d++)
		k += (size_t)snprintf(out + k, n - k, "%s%llu", d ? ", " : "", (unsigned long long)ne[d]);
	if (k < n) snprintf(out + k, n - k, "]");
}
