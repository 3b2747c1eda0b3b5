/* qwen3next (Qwen3-Next), qwen35 (Qwen3.5 dense) and qwen35moe (Qwen3.5 MoE) as llama.cpp's
 * converter writes them (src/models/qwen3next.cpp, qwen35.cpp, qwen35moe.cpp load_arch_hparams /
 * load_arch_tensors; conversion/qwen.py Qwen3NextModel and its Qwen3.5 subclasses).
 *
 * Layers are gated DeltaNet (ATTN_GDN: attn_qkv -> short conv -> recurrent delta rule, gated by
 * attn_gate through ssm_norm, then ssm_out) except every full_attention_interval-th one (or those
 * attention.recurrent_layers marks false), which is gated full attention: attn_q rows per head are
 * [query | gate], per-head QK RMSNorm, RoPE on the first rope.dimension_count dims, output times
 * sigmoid(gate). The pre-FFN norm is named post_attention_norm. FFN: qwen3next and qwen35moe route
 * over many experts by softmax, renormalized (llama.cpp hard-codes it), beside a shared expert
 * scaled by sigmoid(ffn_gate_inp_shexp . x); qwen35 is a dense SwiGLU.
 *
 * Differences between the two generations, all in how the converter lays out the DeltaNet:
 *  - qwen3next keeps b and a in one ssm_ba, grouped per key head; qwen35* has ssm_beta and ssm_alpha;
 *  - qwen3next value head h reads key head h / (value/key heads); qwen35* reorders the value heads so
 *    that value head h reads key head h % key heads (_LinearAttentionVReorderBase);
 *  - qwen3next RoPE is NEOX; qwen35* IMROPE with rope.dimension_sections (required).
 * Norm weights: the converter stores 1 + w for every *norm.weight except the DeltaNet's own
 * (ssm_norm), so all of them are a plain multiply. ssm_a holds -exp(A_log) already. */
#include <stdio.h>
#include <string.h>

#include "base/status.h"
#include "loader/gguf.h"
#include "model/arch.h"

static const struct hp_key gdn_keys[] = {
	HP_KEY("ssm.conv_kernel", HP_U32, ssm_d_conv, true),
	HP_KEY("ssm.inner_size", HP_U32, ssm_d_inner, true),
	HP_KEY("ssm.state_size", HP_U32, ssm_d_state, true),
	HP_KEY("ssm.time_step_rank", HP_U32, ssm_dt_rank, true),
	HP_KEY("ssm.group_count", HP_U32, ssm_n_group, true),
	HP_KEY("full_attention_interval", HP_U32, full_attn_interval, false),
	{0},
};

static bool is_qwen35(const struct hparams *hp) { return strncmp(hp->arch, "qwen35", 6) == 0; }

/* attention.recurrent_layers: one bool per block (MTP blocks included, false), else the interval
 * rule with llama.cpp's default 4 when the key is absent too */
static int load_layer_kinds(struct hparams *hp, const struct gguf_file *f, const char *path)
{
	char key[96];
	snprintf(key, sizeof key, "%s.attention.recurrent_layers", hp->arch);
	const struct gguf_kv *kv = f ? gguf_find(f, key) : NULL;
	if (kv) {
		uint32_t n_all = hp->n_layer + hp->n_layer_nextn;
		if (kv->type != GGUF_ARRAY || kv->n != n_all)
			return fail(VKLLM_E_FORMAT, "%s: key '%s' must hold one bool per block (%u, block_count), has %llu", path, key,
			            n_all, kv->type == GGUF_ARRAY ? (unsigned long long)kv->n : 1ull);
		for (uint32_t il = 0; il < hp->n_layer; il++) {
			int64_t v;
			TRY(gguf_get_arr_int(f, kv, il, &v));
			hp->is_recurrent[il] = v != 0;
		}
		return VKLLM_OK;
	}
	snprintf(key, sizeof key, "%s.full_attention_interval", hp->arch);
	if (!hp->full_attn_interval && f && gguf_find(f, key))
		return fail(VKLLM_E_FORMAT, "%s: key '%s' is 0 (every Nth layer is full attention: N >= 1)", path, key);
	if (!hp->full_attn_interval) hp->full_attn_interval = 4;
	for (uint32_t il = 0; il < hp->n_layer; il++) hp->is_recurrent[il] = (il + 1) % hp->full_attn_interval != 0;
	return VKLLM_OK;
}

/* rope.dimension_sections: required by llama.cpp's qwen35 loaders, 1 to 4 values */
static int load_rope_sections(struct hparams *hp, const struct gguf_file *f, const char *path)
{
	char key[96];
	snprintf(key, sizeof key, "%s.rope.dimension_sections", hp->arch);
	if (f) {
		const struct gguf_kv *kv = gguf_find(f, key);
		if (!kv) return fail(VKLLM_E_FORMAT, "%s: key '%s' is missing", path, key);
		if (kv->type != GGUF_ARRAY || kv->n == 0 || kv->n > 4)
			return fail(VKLLM_E_FORMAT, "%s: key '%s' must be an array of 1 to 4 integers", path, key);
		memset(hp->rope_sections, 0, sizeof hp->rope_sections);
		for (uint32_t i = 0; i < kv->n; i++) {
			int64_t v;
			TRY(gguf_get_arr_int(f, kv, i, &v));
			if (v < 0 || v > 4096) return fail(VKLLM_E_FORMAT, "%s: key '%s'[%u] = %lld is out of range", path, key, i, (long long)v);
			hp->rope_sections[i] = (uint32_t)v;
		}
	}
	uint32_t sum = hp->rope_sections[0] + hp->rope_sections[1] + hp->rope_sections[2] + hp->rope_sections[3];
	if (sum == 0 || sum > hp->n_rot) /* ggml_mrope_cache_init asserts sect_dims <= n_dims */
		return fail(VKLLM_E_FORMAT, "%s: %s [%u, %u, %u, %u] sum to %u: must be 1 to rope.dimension_count %u", path, key,
		            hp->rope_sections[0], hp->rope_sections[1], hp->rope_sections[2], hp->rope_sections[3], sum, hp->n_rot);
	return VKLLM_OK;
}

/* The DeltaNet tensors against the ssm.* keys, naming both (llama.cpp would only say "wrong shape"). */
static int check_gdn_tensors(const struct hparams *hp, const struct gguf_file *f)
{
	char what[200];
	const char *a = hp->arch;
	uint64_t key_dim = (uint64_t)hp->ssm_d_state * hp->ssm_n_group, value_dim = (uint64_t)hp->ssm_d_state * hp->ssm_dt_rank;
	for (uint32_t il = 0; il < hp->n_layer; il++) {
		if (!hp->is_recurrent[il]) continue;
		char legacy[64];
		snprintf(legacy, sizeof legacy, "blk.%u.ssm_in.weight", il);
		if (gguf_tensor(f, legacy))
			return fail(VKLLM_E_UNSUPPORTED, "%s: tensor '%s' is the fused q|k|v|z projection of files converted before "
			            "llama.cpp split it into attn_qkv and attn_gate; convert the model again", f->path, legacy);
		snprintf(what, sizeof what, "%s.ssm.conv_kernel", a);
		TRY(arch_check_dim(f, il, "ssm_conv1d.weight", 0, hp->ssm_d_conv, what));
		snprintf(what, sizeof what, "%s.ssm.group_count x ssm.state_size x 2 + ssm.time_step_rank x ssm.state_size "
		         "(the conv channels q|k|v)", a);
		TRY(arch_check_dim(f, il, "ssm_conv1d.weight", 1, 2 * key_dim + value_dim, what));
		TRY(arch_check_dim(f, il, "attn_qkv.weight", 1, 2 * key_dim + value_dim, what));
		snprintf(what, sizeof what, "%s.ssm.time_step_rank x ssm.state_size (the value width)", a);
		TRY(arch_check_dim(f, il, "attn_gate.weight", 1, value_dim, what));
		TRY(arch_check_dim(f, il, "ssm_out.weight", 0, value_dim, what));
		snprintf(what, sizeof what, "%s.ssm.time_step_rank (the value heads)", a);
		TRY(arch_check_dim(f, il, "ssm_a", 0, hp->ssm_dt_rank, what));
		TRY(arch_check_dim(f, il, "ssm_dt.bias", 0, hp->ssm_dt_rank, what));
		TRY(arch_check_dim(f, il, "ssm_beta.weight", 1, hp->ssm_dt_rank, what));
		TRY(arch_check_dim(f, il, "ssm_alpha.weight", 1, hp->ssm_dt_rank, what));
		snprintf(what, sizeof what, "%s.ssm.time_step_rank x 2 (b and a per value head)", a);
		TRY(arch_check_dim(f, il, "ssm_ba.weight", 1, 2ull * hp->ssm_dt_rank, what));
		snprintf(what, sizeof what, "%s.ssm.state_size (the head size)", a);
		TRY(arch_check_dim(f, il, "ssm_norm.weight", 0, hp->ssm_d_state, what));
	}
	return VKLLM_OK;
}

static int gdn_finish(struct hparams *hp, const struct gguf_file *f)
{
	const char *path = f ? f->path : hp->arch, *a = hp->arch;
	TRY(load_layer_kinds(hp, f, path));
	if (!hp->ssm_d_conv || !hp->ssm_d_state || !hp->ssm_n_group || !hp->ssm_dt_rank)
		return fail(VKLLM_E_FORMAT, "%s: %s.ssm.conv_kernel %u, state_size %u, group_count %u and time_step_rank %u must be "
		            "positive", path, a, hp->ssm_d_conv, hp->ssm_d_state, hp->ssm_n_group, hp->ssm_dt_rank);
	/* value heads share key heads: an integer number of value heads per key head */
	if (hp->ssm_dt_rank % hp->ssm_n_group)
		return fail(VKLLM_E_FORMAT, "%s: %s.ssm.time_step_rank %u (value heads) is not a multiple of ssm.group_count %u "
		            "(key heads)", path, a, hp->ssm_dt_rank, hp->ssm_n_group);
	/* llama.cpp sizes tensors with head_v_dim = state_size but the graph with inner_size / value heads */
	if (hp->ssm_d_inner != hp->ssm_d_state * hp->ssm_dt_rank)
		return fail(VKLLM_E_FORMAT, "%s: %s.ssm.inner_size %u disagrees with ssm.state_size %u x ssm.time_step_rank %u = %u",
		            path, a, hp->ssm_d_inner, hp->ssm_d_state, hp->ssm_dt_rank, hp->ssm_d_state * hp->ssm_dt_rank);
	/* the gated attention's output projection is sized by the key head (llama.cpp asserts they match) */
	if (hp->head_dim_k != hp->head_dim_v)
		return fail(VKLLM_E_FORMAT, "%s: %s.attention.key_length %u and value_length %u must be equal", path, a,
		            hp->head_dim_k, hp->head_dim_v);
	if (is_qwen35(hp)) TRY(load_rope_sections(hp, f, path));
	if (strcmp(a, "qwen35")) {
		/* the MoE archs; llama.cpp's fallbacks when the sizes are absent */
		if (!hp->n_expert || !hp->n_expert_used)
			return fail(VKLLM_E_FORMAT, "%s: %s needs %s.expert_count and expert_used_count (got %u, %u)", path, a, a,
			            hp->n_expert, hp->n_expert_used);
		if (!hp->n_ff_exp) hp->n_ff_exp = hp->n_ff[0] / hp->n_expert_used;
		if (!hp->n_ff_shexp) hp->n_ff_shexp = hp->n_ff[0];
		if (!hp->n_ff_exp || !hp->n_ff_shexp)
			return fail(VKLLM_E_FORMAT, "%s: %s's expert FFN sizes are missing (feed_forward_length is 0)", path, a);
	} else {
		for (uint32_t il = 0; il < hp->n_layer; il++)
			if (!hp->n_ff[il]) return fail(VKLLM_E_FORMAT, "%s: qwen35.feed_forward_length is 0 at layer %u", path, il);
	}
	return f ? check_gdn_tensors(hp, f) : VKLLM_OK;
}

static void gdn_layer(const struct hparams *hp, uint32_t il, struct layer_desc *d)
{
	layer_defaults(hp, il, d);
	bool recurrent = hp->is_recurrent[il];
	d->attn = recurrent ? ATTN_GDN : ATTN_GQA;
	d->rope = !recurrent;
	d->qk_norm = recurrent ? QK_NORM_NONE : QK_NORM_HEAD;
	d->attn_out_gate = !recurrent;
	d->ffn_norm_post_attn = true;
	d->shexp = d->shexp_gate = d->ffn == FFN_MOE;
}

const struct arch arch_qwen3next = {
	.name = "qwen3next", .family = "Qwen3-Next", .rope = ROPE_NEOX, .moe_renorm = true, .keys = gdn_keys,
	.finish = gdn_finish, .layer = gdn_layer,
};

const struct arch arch_qwen35 = {
	.name = "qwen35", .family = "Qwen3.5", .rope = ROPE_IMROPE, .gdn_heads_tiled = true, .keys = gdn_keys, .finish = gdn_finish, .layer = gdn_layer,
};

const struct arch arch_qwen35moe = {
	.name = "qwen35moe", .family = "Qwen3.5 MoE", .rope = ROPE_IMROPE, .moe_renorm = true, .gdn_heads_tiled = true,
	.keys = gdn_keys,
	.finish = gdn_finish, .layer = gdn_layer,
};
