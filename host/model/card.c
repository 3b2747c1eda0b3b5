/* The architecture card (card.h). Layers are grouped by identical recipes, so Gemma 3's 5:1
 * sliding/global pattern or SmolLM3's NoPE layers show as two groups with their layer lists. */
#include "model/card.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "loader/quant.h"

static bool is_expert(const struct tensor_spec *s) { return s->role == TR_EXPERTS; }

void card_compute(const struct model_file *m, struct card *c)
{
	memset(c, 0, sizeof *c);
	const struct hparams *hp = &m->hp;
	for (uint32_t i = 0; i < m->specs.n; i++) {
		const struct gguf_tensor *t = m->tensors[i];
		if (!t) continue;
		uint64_t n = t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
		c->params_total += n;
		/* a token reads only its k experts' slabs; everything else is read whole */
		c->params_active += is_expert(&m->specs.items[i]) ? n / hp->n_expert * hp->n_expert_used : n;
		c->weight_bytes += t->size;
		uint32_t k = 0;
		while (k < c->n_types && c->types[k].type != t->type) k++;
		if (k == c->n_types) c->types[c->n_types++].type = t->type;
		c->types[k].n_tensors++;
		c->types[k].bytes += t->size;
	}
	card_kv(hp, m->layers, c);
	c->random_weights = gguf_find(&m->gguf, "vkllm.synth.preset") != NULL;
}

/* f16: 2 bytes a value. A GQA layer caches K and V rows for each KV head; an MLA layer one latent
 * row [c (kv_lora_rank) | k_pe (rope dims)] shared by all heads (in either file form: the legacy
 * attn_kv_b is the same up-projection). Beside it, what the same heads would cache as MHA (every
 * head its key nope+rope and value) and as GQA with 8 KV heads (Llama 3's choice at every size,
 * 8B to 405B; fewer when the model has fewer heads): the point of MLA, from the file. */
const uint32_t card_ctx_compare[CARD_N_CTX] = {4096, 131072, 1048576};

void card_kv(const struct hparams *hp, const struct layer_desc *layers, struct card *c)
{
	uint64_t attn_per_token = 0; /* the KV of one of this model's attention layers, for the comparison */
	c->n_gdn_layers = 0;
	c->gdn_conv_bytes = c->gdn_delta_bytes = 0;
	c->kv_bytes_per_token = c->kv_bytes_full = 0;
	c->kv_mla = false;
	c->kv_mha_per_token = c->kv_gqa_per_token = 0;
	c->kv_gqa_heads = 8;
	for (uint32_t il = 0; il < hp->n_layer; il++) {
		const struct layer_desc *d = &layers[il];
		uint64_t ctx = d->swa && hp->n_swa < hp->n_ctx_train ? hp->n_swa : hp->n_ctx_train, per_token;
		if (d->kv_shared) continue; /* Gemma 3n: reads an earlier layer's cache */
		if (attn_is_recurrent(d->attn)) { /* DeltaNet or KDA: Hk = Hv heads of state_size for KDA */
			uint64_t conv_channels = 2ull * hp->ssm_n_group * hp->ssm_d_state + (uint64_t)hp->ssm_dt_rank * hp->ssm_d_state;
			c->n_gdn_layers++;
			c->gdn_conv_bytes += 4ull * (hp->ssm_d_conv - 1) * conv_channels;
			c->gdn_delta_bytes += 4ull * hp->ssm_dt_rank * hp->ssm_d_state * hp->ssm_d_state; /* Dk = Dv = state_size */
			continue;
		}
		if (d->attn == ATTN_MLA) {
			uint64_t head = hparams_mla_head_k(hp) + hparams_mla_head_v(hp);
			uint32_t g = d->n_head < 8 ? d->n_head : 8;
			per_token = 2ull * (hp->n_lora_kv + hp->n_rot);
			c->kv_mla = true;
			attn_per_token = per_token; /* a hybrid's all-attention twin: every layer this MLA */
			c->kv_mha_per_token += 2ull * d->n_head * head;
			c->kv_gqa_per_token += 2ull * g * head;
			if (g < c->kv_gqa_heads) c->kv_gqa_heads = g;
		} else {
			per_token = 2ull * d->n_head_kv * (hp->head_dim_k + hp->head_dim_v);
			attn_per_token = per_token;
		}
		c->kv_bytes_per_token += per_token;
		c->kv_bytes_full += per_token * ctx;
	}
	/* MLA layers have no window: the full context is n_ctx_train for each */
	c->kv_mha_full = c->kv_mha_per_token * hp->n_ctx_train;
	c->kv_gqa_full = c->kv_gqa_per_token * hp->n_ctx_train;
	for (int i = 0; i < CARD_N_CTX; i++) {
		c->kv_at[i] = c->kv_bytes_per_token * card_ctx_compare[i];
		c->kv_all_attn_at[i] = attn_per_token * hp->n_layer * card_ctx_compare[i];
	}
}

static const char *norm_name(enum norm_place n)
{
	return n == NORM_PRE ? "pre-norm" : n == NORM_POST ? "post-norm (inside the residual)" : "sandwich norms (pre and post)";
}

static const char *qk_norm_name(enum qk_norm q)
{
	return q == QK_NORM_HEAD ? "per-head" : q == QK_NORM_FULL ? "whole-projection"
	       : q == QK_NORM_L2 ? "per-head without weight, after RoPE (L2)" : "none";
}

#define PUT(...) k += (size_t)snprintf(out + k, k < n ? n - k : 0, __VA_ARGS__)

/* The selection bias exp_probs_b (DeepSeek V3, Kimi K2) is optional in llama.cpp: look at the file.
 * All MoE layers of a file have it or none. */
static bool has_selection_bias(const struct model_file *m, const struct layer_desc *d)
{
	for (uint32_t il = 0; il < m->hp.n_layer; il++)
		if (&m->layers[il] == d || !memcmp(&m->layers[il], d, sizeof *d)) {
			char name[64];
			snprintf(name, sizeof name, "blk.%u.exp_probs_b.bias", il);
			return gguf_tensor(&m->gguf, name) != NULL;
		}
	return false;
}

/* YaRN's effect on DeepSeek's attention: llama.cpp (deepseek2.cpp) multiplies the softmax scale by
 * mscale^2, mscale = 1 + 0.1 * mscale_all_dim * ln(factor); the file stores 0.1 * mscale_all_dim.
 * (mscale itself only enters through mscale/mscale_all_dim, 1 in every published config.) */
static double mla_softmax_gain(const struct hparams *hp, const struct layer_desc *d)
{
	if (hp->rope_scaling != ROPE_SCALING_YARN || d->rope_freq_scale >= 1.0f) return 1.0;
	double ms = 1.0 + hp->rope_yarn_log_mul * log(1.0 / d->rope_freq_scale);
	return ms * ms;
}

/* Multi-head latent attention: what is projected, what is cached, what a decode step reads. */
static size_t mla_text(const struct model_file *m, const struct layer_desc *d, char *out, size_t n)
{
	const struct hparams *hp = &m->hp;
	uint32_t dk = hparams_mla_head_k(hp), dv = hparams_mla_head_v(hp), rope = hp->n_rot;
	size_t k = 0;
	PUT("attention: MLA, %u heads; q ", d->n_head);
	if (hp->n_lora_q) PUT("through rank %u (attn_q_a, norm, attn_q_b)", hp->n_lora_q);
	else PUT("plain (attn_q)");
	PUT("; keys and values compressed to rank %u (normed) plus one %s key of %u shared by all heads", hp->n_lora_kv,
	    d->rope ? "RoPE" : "unrotated", rope);
	PUT("\n      per head: key %u (%u nope + %u %s), value %u; %s", dk, dk - rope, rope, d->rope ? "rope" : "pe", dv,
	    hparams_is_mla(hp) ? "attn_k_b/attn_v_b" : "legacy attn_kv_b");
	PUT("; decode: absorbed, MQA over the latent cache (%u values a token)", hp->n_lora_kv + rope);
	if (!d->rope) {
		PUT("\n      NoPE: no position encoding anywhere (the KDA layers' order carries position)");
		return k;
	}
	PUT("\n      RoPE %s base %g on the %u rope dims", m->arch->rope == ROPE_NEOX ? "NeoX" : "normal", d->rope_base, rope);
	if (hp->rope_scaling == ROPE_SCALING_YARN && d->rope_freq_scale < 1.0f) {
		PUT(", YaRN x%g from %u tokens", 1.0 / d->rope_freq_scale, hp->n_ctx_orig_yarn);
		PUT(", mscale_all_dim %g: softmax scale x%.4f", round(hp->rope_yarn_log_mul * 1e5) / 1e4, mla_softmax_gain(hp, d));
	} else if (d->rope_freq_scale != 1.0f) {
		PUT(", scaled x%g", 1.0 / d->rope_freq_scale);
	}
	return k;
}

static const char *rope_name(const struct arch *a)
{
	return a->rope == ROPE_NEOX ? "neox" : a->rope == ROPE_IMROPE ? "imrope" : "normal";
}

/* Gated DeltaNet: heads, the conv, and how value heads share key heads (qwen3next interleaves,
 * value head h reading key head h / r; qwen35* tiles, h % key heads) */
static size_t gdn_text(const struct model_file *m, char *out, size_t n)
{
	const struct hparams *hp = &m->hp;
	size_t k = 0;
	uint32_t conv = 2 * hp->ssm_n_group * hp->ssm_d_state + hp->ssm_dt_rank * hp->ssm_d_state;
	PUT("gated DeltaNet: %u key heads, %u value heads, head dim %u, short conv %u over %u channels, f32 state %u x %u "
	    "per value head", hp->ssm_n_group, hp->ssm_dt_rank, hp->ssm_d_state, hp->ssm_d_conv, conv, hp->ssm_d_state,
	    hp->ssm_d_state);
	if (hp->ssm_dt_rank > hp->ssm_n_group)
		PUT(", value head h reads key head %s", strcmp(m->arch->name, "qwen3next") ? "h mod key heads" : "h / (value/key heads)");
	return k;
}

/* Kimi delta attention: heads, the three convs, the per-channel decay and the sigmoid output gate */
static size_t kda_text(const struct model_file *m, char *out, size_t n)
{
	const struct hparams *hp = &m->hp;
	size_t k = 0;
	uint32_t H = hp->ssm_dt_rank, D = hp->ssm_d_state;
	PUT("Kimi delta attention (KDA): %u heads of %u; q, k, v each through a short conv of %u; decay per channel (%u a "
	    "token) through rank %u plus dt bias; output gate sigmoid through rank %u; f32 state %u x %u per head",
	    H, D, hp->ssm_d_conv, H * D, D, D, D, D);
	return k;
}

static size_t gqa_text(const struct model_file *m, const struct layer_desc *d, char *out, size_t n)
{
	const struct hparams *hp = &m->hp;
	size_t k = 0;
	PUT("attention: %u query heads, %u KV heads (%s), head dim %u", d->n_head, d->n_head_kv,
	    d->n_head_kv == d->n_head ? "MHA" : d->n_head_kv == 1 ? "MQA" : "GQA", hp->head_dim_k);
	if (hp->head_dim_v != hp->head_dim_k) PUT("/%u", hp->head_dim_v);
	if (d->qk_norm != QK_NORM_NONE) PUT(", QK-norm %s", qk_norm_name(d->qk_norm));
	/* grok: its own score scale (attention.output_scale) under a tanh cap */
	if (hp->attn_softcap > 0) PUT(", scores %g tanh(s / %g) with s = %g q.k", hp->attn_softcap, hp->attn_softcap, hp->attn_scale);
	if (d->swa) PUT(", sliding window %u", hp->n_swa);
	else if (d->chunked) PUT(", chunked: within chunks of %u tokens", hp->n_chunk);
	else PUT(", full context");
	if (d->rope) {
		PUT(", RoPE %s base %g", m->arch->rope == ROPE_NEOX ? "NeoX" : m->arch->rope == ROPE_IMROPE ? "IMRoPE" : "normal",
		    d->rope_base);
		if (m->arch->rope == ROPE_IMROPE)
			PUT(" (sections %u/%u/%u/%u)", hp->rope_sections[0], hp->rope_sections[1], hp->rope_sections[2], hp->rope_sections[3]);
		if (hp->n_rot != hp->head_dim_k) PUT(" on %u of %u dims", hp->n_rot, hp->head_dim_k);
		if (d->rope_freq_scale != 1.0f) PUT(", scaled x%g", 1.0 / d->rope_freq_scale);
		/* mistral3 gives YaRN its own ramp (beta_fast / beta_slow) and log multiplier */
		if (hp->rope_scaling == ROPE_SCALING_YARN && hp->yarn_beta_fast > 0)
			PUT(" (YaRN from %u tokens, beta_fast %g, beta_slow %g)", hp->n_ctx_orig_yarn, hp->yarn_beta_fast,
			    hp->yarn_beta_slow > 0 ? hp->yarn_beta_slow : 1.0f);
	} else {
		PUT(", NoPE (no position encoding)");
	}
	/* llama.cpp's llm_graph_input_attn_temp (mistral3, Llama 4) */
	if (d->attn_temp)
		PUT(", attention temperature: q x (1 + %g ln(floor((pos + %u) / %u) + 1)), 1 before position %u", hp->attn_temp_scale,
		    hp->attn_temp_offset, hp->attn_temp_floor, hp->attn_temp_floor - (hp->attn_temp_offset < hp->attn_temp_floor ? hp->attn_temp_offset : 0));
	if (d->attn_out_gate) PUT(", output gated by sigmoid (q carries the gate)");
	if (d->v_norm) PUT(", v RMS-normed without weight");
	if (d->kv_shared) PUT(", no KV cache of its own: reads layer %u's", d->kv_from);
	if (d->attn_sinks) PUT(", a learned sink logit per head in each softmax");
	return k;
}

static size_t ffn_text(const struct model_file *m, const struct layer_desc *d, char *out, size_t n)
{
	const struct hparams *hp = &m->hp;
	size_t k = 0;
	const char *act = d->act == ACT_SILU ? "SwiGLU" : d->act == ACT_GELU_TANH ? "GeGLU" : "clamped SwiGLU (alpha 1.702, limit 7)";
	if (d->ffn == FFN_MOE) {
		struct moe_routing r;
		arch_moe_routing(m->arch, hp, &r);
		PUT("FFN: MoE, %u experts, top-%u by %s%s", hp->n_expert, hp->n_expert_used,
		    r.weight_input     ? "the logits, their sigmoid scaling each chosen expert's input"
		    : r.softmax_weight ? "the biased logits, weights a softmax over the chosen"
		    : r.sigmoid        ? "sigmoid"
		                       : "softmax",
		    has_selection_bias(m, d) ? " + selection bias" : "");
		if (r.n_group > 1) PUT(" within the best %u of %u groups", r.n_group_used, r.n_group);
		if (!r.softmax_weight) PUT(", weights %s", r.norm ? "renormalized" : "not renormalized");
		if (r.scale != 1.0f) PUT(" x%g", r.scale);
		PUT(", %s of %u%s", act, hp->n_ff_exp, m->arch->moe_biases ? " with biases per expert" : "");
		/* deepseek2's shared experts are one GLU n_expert_shared times as wide, added ungated */
		if (d->shexp && hp->n_expert_shared > 1)
			PUT(", and %u shared experts as one ungated %s of %u", hp->n_expert_shared, act, hp->n_ff_shexp);
		else if (d->shexp)
			PUT(", and a shared %s of %u%s", act, hp->n_ff_shexp, d->shexp_gate ? " behind a sigmoid gate" : ", ungated");
		if (d->moe_dense) PUT(", beside a dense %s of %u: (dense + MoE) / sqrt(2)", act, d->n_ff);
	} else {
		PUT("FFN: dense %s of %u", act, d->n_ff);
		if (d->act_sparsity) PUT(" (gate cut at mean + 1.645 std: about 5%% of it kept)");
		if (hp->n_moe_layer_step > 1) PUT(" (MoE on every %u%s layer)", hp->n_moe_layer_step, hp->n_moe_layer_step == 2 ? "nd" : hp->n_moe_layer_step == 3 ? "rd" : "th");
		else if (hp->n_layer_dense_lead == 1 && hp->n_layer > 1) PUT(" (the leading dense layer)");
		else if (hp->n_layer_dense_lead > 1 && hp->n_layer_dense_lead < hp->n_layer)
			PUT(" (the %u leading dense layers)", hp->n_layer_dense_lead);
	}
	PUT("; %s", norm_name(d->norm));
	if (d->altup)
		PUT("\n      AltUp: %u streams, predicted and corrected by a router; LAuReL rank %u beside attention; a per-layer "
		    "input of %u gated into streams 1-%u", hp->n_altup, hp->laurel_rank, hp->n_embd_per_layer, hp->n_altup - 1);
	return k;
}

static void layer_text(const struct model_file *m, const struct layer_desc *d, char *out, size_t n)
{
	size_t k = d->attn == ATTN_MLA   ? mla_text(m, d, out, n)
	           : d->attn == ATTN_GDN ? gdn_text(m, out, n)
	           : d->attn == ATTN_KDA ? kda_text(m, out, n)
	                                 : gqa_text(m, d, out, n);
	PUT("\n      ");
	if (k < n) ffn_text(m, d, out + k, n - k);
}
#undef PUT

/* "0-4, 6-10, 12" into out */
static void layer_ranges(const struct model_file *m, uint32_t first, char *out, size_t n)
{
	size_t k = 0;
	out[0] = 0;
	uint32_t L = m->hp.n_layer;
	for (uint32_t il = first; il < L;) {
		if (memcmp(&m->layers[il], &m->layers[first], sizeof m->layers[0])) {
			il++;
			continue;
		}
		uint32_t end = il;
		while (end + 1 < L && !memcmp(&m->layers[end + 1], &m->layers[first], sizeof m->layers[0])) end++;
		if (end > il) k += (size_t)snprintf(out + k, k < n ? n - k : 0, "%s%u-%u", k ? ", " : "", il, end);
		else k += (size_t)snprintf(out + k, k < n ? n - k : 0, "%s%u", k ? ", " : "", il);
		il = end + 1;
	}
}

/* The first layer of each distinct recipe, in order. */
static bool first_of_kind(const struct model_file *m, uint32_t il)
{
	for (uint32_t j = 0; j < il; j++)
		if (!memcmp(&m->layers[j], &m->layers[il], sizeof m->layers[0])) return false;
	return true;
}

static uint32_t count_kind(const struct model_file *m, uint32_t il)
{
	uint32_t n = 0;
	for (uint32_t j = 0; j < m->hp.n_layer; j++) n += !memcmp(&m->layers[j], &m->layers[il], sizeof m->layers[0]);
	return n;
}

static void human(char *out, size_t n, double v, const char *unit)
{
	const char *p[] = {"", "K", "M", "G", "T"};
	int i = 0;
	while (v >= 1000 && i < 4) v /= 1000, i++;
	snprintf(out, n, "%.2f %s%s", v, p[i], unit);
}

static void bytes_h(char *out, size_t n, double v)
{
	const char *p[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	int i = 0;
	while (v >= 1024 && i < 4) v /= 1024, i++;
	snprintf(out, n, i ? "%.2f %s" : "%.0f %s", v, p[i]);
}

void card_print_text(const struct model_file *m, const struct card *c, FILE *f)
{
	const struct hparams *hp = &m->hp;
	char a[64], b[64], line[1024];
	fprintf(f, "%s\n", m->gguf.path);
	fprintf(f, "  architecture  %s (%s)%s%s\n", m->arch->name, m->arch->family, hp->name[0] ? ": " : "", hp->name);
	if (c->random_weights) fprintf(f, "  weights       RANDOM (made by vkllm synth): real shapes, meaningless text\n");
	human(a, sizeof a, (double)c->params_total, "");
	human(b, sizeof b, (double)c->params_active, "");
	fprintf(f, "  parameters    %s total, %s active per token\n", a, b);
	fprintf(f, "  shape         %u layers, embedding %u, vocabulary %u%s\n", hp->n_layer, hp->n_embd, hp->n_vocab,
	        m->tied_output ? ", output tied to the embedding" : "");
	if (hp->embed_scale > 0) fprintf(f, "                embeddings scaled by %g\n", hp->embed_scale);
	if (hp->logit_scale > 0 && hp->logit_scale != 1.0f) fprintf(f, "                logits scaled by %g\n", hp->logit_scale);
	if (hp->final_softcap > 0) fprintf(f, "                final logits soft-capped at %g\n", hp->final_softcap);
	fprintf(f, "  context       %u tokens\n", hp->n_ctx_train);
	fprintf(f, "  layers\n");
	for (uint32_t il = 0; il < hp->n_layer; il++) {
		if (!first_of_kind(m, il)) continue;
		layer_ranges(m, il, line, sizeof line);
		fprintf(f, "    %u x [%s]\n", count_kind(m, il), line);
		layer_text(m, &m->layers[il], line, sizeof line);
		fprintf(f, "      %s\n", line);
	}
	bytes_h(a, sizeof a, (double)c->kv_bytes_per_token);
	bytes_h(b, sizeof b, (double)c->kv_bytes_full);
	fprintf(f, "  KV cache      %s per token (f16%s), %s at %u tokens\n", a, c->n_gdn_layers ? ", attention layers only" : "", b,
	        hp->n_ctx_train);
	/* Gemma 3n: the last layers borrow the caches of two earlier ones */
	uint32_t n_shared = 0;
	for (uint32_t il = 0; il < hp->n_layer; il++) n_shared += m->layers[il].kv_shared;
	uint32_t own = hp->n_layer - n_shared;
	if (n_shared && own) {
		char full[32];
		bytes_h(full, sizeof full, (double)c->kv_bytes_per_token * hp->n_layer / own);
		fprintf(f, "                layers 0-%u own a cache; %u-%u read layer %u's (sliding) or %u's (full): %s per token "
		        "if every layer owned one\n", own - 1, own, hp->n_layer - 1, hp->n_layer_kv - 2, hp->n_layer_kv - 1, full);
	}
	if (c->n_gdn_layers) {
		char s1[64], s2[64];
		bytes_h(a, sizeof a, (double)(c->gdn_conv_bytes + c->gdn_delta_bytes));
		bytes_h(s1, sizeof s1, (double)c->gdn_conv_bytes);
		bytes_h(s2, sizeof s2, (double)c->gdn_delta_bytes);
		const char *kind = m->arch->name[0] == 'k' ? "KDA" : "DeltaNet"; /* one kind per model */
		fprintf(f, "  state         %s per sequence, constant (f32, %u %s layers): conv %s, %s %s\n", a, c->n_gdn_layers, kind,
		        s1, kind, s2);
		for (int i = 0; i < CARD_N_CTX; i++) {
			uint64_t ours = c->kv_at[i] + c->gdn_conv_bytes + c->gdn_delta_bytes;
			bytes_h(a, sizeof a, (double)ours);
			bytes_h(s1, sizeof s1, (double)c->kv_at[i]);
			bytes_h(b, sizeof b, (double)c->kv_all_attn_at[i]);
			fprintf(f, "                at %u tokens: %s (KV %s + state) against %s with all %u layers full attention (%.1fx)%s\n",
			        card_ctx_compare[i], a, s1, b, hp->n_layer, (double)c->kv_all_attn_at[i] / (double)ours,
			        i ? "" : c->kv_mla ? " (their MLA latent cache, f16)" : " (same KV heads and head dims, f16)");
		}
	}
	if (c->kv_mla) {
		fprintf(f, "                MLA: one latent row of %u values a layer, shared by all heads\n", hp->n_lora_kv + hp->n_rot);
		bytes_h(a, sizeof a, (double)c->kv_mha_per_token);
		bytes_h(b, sizeof b, (double)c->kv_mha_full);
		fprintf(f, "                as MHA (each head its key and value): %s per token, %s (%.1fx)\n", a, b,
		        (double)c->kv_mha_per_token / (double)c->kv_bytes_per_token);
		bytes_h(a, sizeof a, (double)c->kv_gqa_per_token);
		bytes_h(b, sizeof b, (double)c->kv_gqa_full);
		if (c->kv_gqa_per_token < c->kv_mha_per_token) /* not with 8 heads or fewer */
			fprintf(f, "                as GQA with %u KV heads of the same sizes: %s per token, %s (%.1fx)\n", c->kv_gqa_heads, a,
		        b, (double)c->kv_gqa_per_token / (double)c->kv_bytes_per_token);
	}
	bytes_h(a, sizeof a, (double)c->weight_bytes);
	fprintf(f, "  weights       %s:", a);
	for (uint32_t i = 0; i < c->n_types; i++) {
		double share = 100.0 * (double)c->types[i].bytes / (double)(c->weight_bytes ? c->weight_bytes : 1);
		fprintf(f, "%s %s %.*f%% (%u tensors)", i ? "," : "", quant_type_info(c->types[i].type)->name, share < 1 ? 3 : 1,
		        share, c->types[i].n_tensors);
	}
	fprintf(f, "\n");
	const struct vocab_info *v = &m->vocab;
	fprintf(f, "  tokenizer     %s (%s%s%s), %u tokens, %u merges%s\n", v->model,
	        !strcmp(v->model, "gpt2") ? "byte-level BPE" : "SentencePiece", v->pre[0] ? ", pre-tokenizer " : "", v->pre,
	        v->n_tokens, v->n_merges, v->has_chat_template ? ", chat template" : "");
}

static void json_gqa(struct json *j, const struct model_file *m, const struct layer_desc *d)
{
	const struct hparams *hp = &m->hp;
	json_key(j, "kind"), json_string(j, "gqa");
	json_key(j, "n_head"), json_u64(j, d->n_head);
	json_key(j, "n_head_kv"), json_u64(j, d->n_head_kv);
	json_key(j, "head_dim_k"), json_u64(j, hp->head_dim_k);
	json_key(j, "head_dim_v"), json_u64(j, hp->head_dim_v);
	json_key(j, "qk_norm"), json_string(j, d->qk_norm == QK_NORM_HEAD ? "head" : d->qk_norm == QK_NORM_FULL ? "full"
	                                       : d->qk_norm == QK_NORM_L2 ? "l2" : "none");
	json_key(j, "window"), json_u64(j, d->swa ? hp->n_swa : 0);
	json_key(j, "chunk"), json_u64(j, d->chunked ? hp->n_chunk : 0);
	json_key(j, "rope");
	if (d->rope) {
		json_object_begin(j);
		json_key(j, "kind"), json_string(j, rope_name(m->arch));
		json_key(j, "dims"), json_u64(j, hp->n_rot);
		json_key(j, "base"), json_double(j, d->rope_base);
		json_key(j, "freq_scale"), json_double(j, d->rope_freq_scale);
		json_object_end(j);
	} else {
		json_null(j);
	}
	if (d->attn_temp) { /* the attention temperature (mistral3, Llama 4): only where a layer has it */
		json_key(j, "temperature");
		json_object_begin(j);
		json_key(j, "scale"), json_double(j, hp->attn_temp_scale);
		json_key(j, "floor"), json_u64(j, hp->attn_temp_floor);
		json_key(j, "offset"), json_u64(j, hp->attn_temp_offset);
		json_object_end(j);
	}
}

static void json_mla(struct json *j, const struct model_file *m, const struct layer_desc *d)
{
	const struct hparams *hp = &m->hp;
	json_key(j, "kind"), json_string(j, "mla");
	json_key(j, "n_head"), json_u64(j, d->n_head);
	json_key(j, "q_lora_rank"), json_u64(j, hp->n_lora_q);
	json_key(j, "kv_lora_rank"), json_u64(j, hp->n_lora_kv);
	json_key(j, "head_dim_nope"), json_u64(j, hparams_mla_head_k(hp) - hp->n_rot);
	json_key(j, "head_dim_rope"), json_u64(j, hp->n_rot);
	json_key(j, "head_dim_v"), json_u64(j, hparams_mla_head_v(hp));
	json_key(j, "split_kv_b"), json_bool(j, hparams_is_mla(hp));
	json_key(j, "latent_per_token"), json_u64(j, hp->n_lora_kv + hp->n_rot);
	json_key(j, "rope");
	json_object_begin(j);
	json_key(j, "kind"), json_string(j, rope_name(m->arch));
	json_key(j, "dims"), json_u64(j, hp->n_rot);
	json_key(j, "base"), json_double(j, d->rope_base);
	json_key(j, "freq_scale"), json_double(j, d->rope_freq_scale);
	bool yarn = hp->rope_scaling == ROPE_SCALING_YARN && d->rope_freq_scale < 1.0f;
	json_key(j, "yarn_orig_ctx"), json_u64(j, yarn ? hp->n_ctx_orig_yarn : 0);
	/* the config's value back from the file's 0.1 * mscale_all_dim (0.707, not 0.70700001716) */
	json_key(j, "mscale_all_dim"), json_double(j, yarn ? round(hp->rope_yarn_log_mul * 1e5) / 1e4 : 0);
	json_key(j, "softmax_gain"), json_double(j, mla_softmax_gain(hp, d));
	json_object_end(j);
}

static void json_layer(struct json *j, const struct model_file *m, uint32_t first)
{
	const struct hparams *hp = &m->hp;
	const struct layer_desc *d = &m->layers[first];
	json_object_begin(j);
	json_key(j, "layers");
	json_array_begin(j);
	for (uint32_t il = 0; il < hp->n_layer; il++)
		if (!memcmp(&m->layers[il], d, sizeof *d)) json_u64(j, il);
	json_array_end(j);
	json_key(j, "attention");
	json_object_begin(j);
	if (d->attn == ATTN_MLA) json_mla(j, m, d);
	else if (d->attn == ATTN_KDA) {
		json_key(j, "kind"), json_string(j, "kda");
		json_key(j, "n_head"), json_u64(j, hp->ssm_dt_rank);
		json_key(j, "head_dim"), json_u64(j, hp->ssm_d_state);
		json_key(j, "conv_kernel"), json_u64(j, hp->ssm_d_conv);
		json_key(j, "gate"), json_string(j, "per_channel");
	} else if (d->attn == ATTN_GDN) {
		json_key(j, "kind"), json_string(j, "gdn");
		json_key(j, "n_head_k"), json_u64(j, hp->ssm_n_group);
		json_key(j, "n_head_v"), json_u64(j, hp->ssm_dt_rank);
		json_key(j, "head_dim"), json_u64(j, hp->ssm_d_state);
		json_key(j, "conv_kernel"), json_u64(j, hp->ssm_d_conv);
		json_key(j, "head_sharing"), json_string(j, strcmp(m->arch->name, "qwen3next") ? "tiled" : "interleaved");
	} else {
		json_gqa(j, m, d);
		json_key(j, "output_gate"), json_bool(j, d->attn_out_gate);
	}
	json_object_end(j);
	json_key(j, "ffn");
	json_object_begin(j);
	json_key(j, "kind"), json_string(j, d->ffn == FFN_MOE ? "moe" : "dense");
	json_key(j, "activation"), json_string(j, d->act == ACT_SILU ? "swiglu" : d->act == ACT_GELU_TANH ? "geglu" : "swiglu_oai");
	if (d->ffn == FFN_MOE) {
		struct moe_routing r;
		arch_moe_routing(m->arch, hp, &r);
		json_key(j, "n_expert"), json_u64(j, hp->n_expert);
		json_key(j, "n_expert_used"), json_u64(j, hp->n_expert_used);
		json_key(j, "n_ff_expert"), json_u64(j, hp->n_ff_exp);
		json_key(j, "gating"), json_string(j, r.softmax_weight ? "softmax_weight" : r.sigmoid ? "sigmoid" : "softmax");
		json_key(j, "selection_bias"), json_bool(j, has_selection_bias(m, d));
		json_key(j, "n_group"), json_u64(j, r.n_group > 1 ? r.n_group : 1);
		json_key(j, "n_group_used"), json_u64(j, r.n_group > 1 ? r.n_group_used : 1);
		json_key(j, "weights_norm"), json_bool(j, r.norm);
		json_key(j, "weights_scale"), json_double(j, r.scale);
		json_key(j, "n_ff_shared"), json_u64(j, d->shexp ? hp->n_ff_shexp : 0);
		json_key(j, "shared_gate"), json_bool(j, d->shexp_gate);
	} else {
		json_key(j, "n_ff"), json_u64(j, d->n_ff);
	}
	json_object_end(j);
	json_key(j, "norm"), json_string(j, d->norm == NORM_PRE ? "pre" : d->norm == NORM_POST ? "post" : "sandwich");
	json_object_end(j);
}

void card_print_json(const struct model_file *m, const struct card *c, FILE *f)
{
	const struct hparams *hp = &m->hp;
	struct json j;
	json_init(&j, f);
	json_object_begin(&j);
	json_key(&j, "file"), json_string(&j, m->gguf.path);
	json_key(&j, "arch"), json_string(&j, m->arch->name);
	json_key(&j, "family"), json_string(&j, m->arch->family);
	json_key(&j, "name"), json_string(&j, hp->name);
	json_key(&j, "random_weights"), json_bool(&j, c->random_weights);
	json_key(&j, "params");
	json_object_begin(&j);
	json_key(&j, "total"), json_u64(&j, c->params_total);
	json_key(&j, "active"), json_u64(&j, c->params_active);
	json_object_end(&j);
	json_key(&j, "n_layer"), json_u64(&j, hp->n_layer);
	json_key(&j, "n_embd"), json_u64(&j, hp->n_embd);
	json_key(&j, "n_vocab"), json_u64(&j, hp->n_vocab);
	json_key(&j, "context_length"), json_u64(&j, hp->n_ctx_train);
	json_key(&j, "tied_output"), json_bool(&j, m->tied_output);
	json_key(&j, "embed_scale"), json_double(&j, hp->embed_scale > 0 ? hp->embed_scale : 1.0);
	json_key(&j, "final_softcap"), json_double(&j, hp->final_softcap);
	json_key(&j, "layer_groups");
	json_array_begin(&j);
	for (uint32_t il = 0; il < hp->n_layer; il++)
		if (first_of_kind(m, il)) json_layer(&j, m, il);
	json_array_end(&j);
	json_key(&j, "kv_cache");
	json_object_begin(&j);
	json_key(&j, "type"), json_string(&j, "f16");
	json_key(&j, "bytes_per_token"), json_u64(&j, c->kv_bytes_per_token);
	json_key(&j, "bytes_full_context"), json_u64(&j, c->kv_bytes_full);
	if (c->kv_mla) {
		json_key(&j, "mla");
		json_object_begin(&j);
		json_key(&j, "mha_bytes_per_token"), json_u64(&j, c->kv_mha_per_token);
		json_key(&j, "mha_bytes_full_context"), json_u64(&j, c->kv_mha_full);
		json_key(&j, "gqa_kv_heads"), json_u64(&j, c->kv_gqa_heads);
		json_key(&j, "gqa_bytes_per_token"), json_u64(&j, c->kv_gqa_per_token);
		json_key(&j, "gqa_bytes_full_context"), json_u64(&j, c->kv_gqa_full);
		json_object_end(&j);
	}
	if (c->n_gdn_layers) {
		json_key(&j, "recurrent_state");
		json_object_begin(&j);
		json_key(&j, "type"), json_string(&j, "f32");
		json_key(&j, "n_layers"), json_u64(&j, c->n_gdn_layers);
		json_key(&j, "conv_bytes"), json_u64(&j, c->gdn_conv_bytes);
		json_key(&j, "delta_bytes"), json_u64(&j, c->gdn_delta_bytes);
		json_key(&j, "bytes_per_sequence"), json_u64(&j, c->gdn_conv_bytes + c->gdn_delta_bytes);
		json_key(&j, "compare");
		json_array_begin(&j);
		for (int i = 0; i < CARD_N_CTX; i++) {
			json_object_begin(&j);
			json_key(&j, "tokens"), json_u64(&j, card_ctx_compare[i]);
			json_key(&j, "kv_bytes"), json_u64(&j, c->kv_at[i]);
			json_key(&j, "kv_and_state_bytes"), json_u64(&j, c->kv_at[i] + c->gdn_conv_bytes + c->gdn_delta_bytes);
			json_key(&j, "all_attention_kv_bytes"), json_u64(&j, c->kv_all_attn_at[i]);
			json_object_end(&j);
		}
		json_array_end(&j);
		json_object_end(&j);
	}
	json_object_end(&j);
	json_key(&j, "weights");
	json_object_begin(&j);
	json_key(&j, "bytes"), json_u64(&j, c->weight_bytes);
	json_key(&j, "types");
	json_array_begin(&j);
	for (uint32_t i = 0; i < c->n_types; i++) {
		json_object_begin(&j);
		json_key(&j, "type"), json_string(&j, quant_type_info(c->types[i].type)->name);
		json_key(&j, "tensors"), json_u64(&j, c->types[i].n_tensors);
		json_key(&j, "bytes"), json_u64(&j, c->types[i].bytes);
		json_key(&j, "share"), json_double(&j, (double)c->types[i].bytes / (double)(c->weight_bytes ? c->weight_bytes : 1));
		json_object_end(&j);
	}
	json_array_end(&j);
	json_object_end(&j);
	json_key(&j, "tokenizer");
	json_object_begin(&j);
	json_key(&j, "model"), json_string(&j, m->vocab.model);
	json_key(&j, "pre"), json_string(&j, m->vocab.pre);
	json_key(&j, "n_tokens"), json_u64(&j, m->vocab.n_tokens);
	json_key(&j, "n_merges"), json_u64(&j, m->vocab.n_merges);
	json_key(&j, "chat_template"), json_bool(&j, m->vocab.has_chat_template);
	json_object_end(&j);
	json_object_end(&j);
	fputc('\n', f);
}
