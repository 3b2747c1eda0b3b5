/* kimi-linear (Kimi Linear 48B-A3B) as llama.cpp's converter writes it (src/models/kimi-linear.cpp
 * load_arch_hparams / load_arch_tensors, conversion/kimi_linear.py).
 *
 * Three of every four layers are Kimi delta attention (ATTN_KDA, host/graph/attn_kda.c): q, k and v
 * projections each through its own short conv with SiLU, a decay per channel from a low-rank pair
 * (ssm_f_a, ssm_f_b) plus dt bias, softplus, times -exp(A_log) of the head, beta = sigmoid(ssm_beta),
 * the delta rule with L2-normed q and k, then RMSNorm per head times sigmoid of a low-rank output
 * gate (ssm_g_a, ssm_g_b), and attn_output. The others are multi-head latent attention without any
 * RoPE (ATTN_MLA with rope off: q_pe and k_pe are plain extra dimensions) and a plain attn_q.
 * Which is which: head_count_kv per layer, 0 for KDA (the converter writes 1 for the MLA layers:
 * MQA over the latent cache). The first leading_dense_block_count layers have a dense SwiGLU;
 * the rest route by sigmoid with the selection bias (required), renormalized (llama.cpp hard-codes
 * it) and scaled, beside an ungated shared expert.
 *
 * Only the split attn_k_b / attn_v_b form is accepted: llama.cpp's path for a legacy attn_kv_b
 * orders K as [k_pe | k_nope] against Q's [q_nope | q_pe], which is not the model (docs/kda.md). */
#include <stdio.h>

#include "base/status.h"
#include "loader/gguf.h"
#include "model/arch.h"

static const struct hp_key kimi_linear_keys[] = {
	HP_KEY("attention.key_length_mla", HP_U32, head_dim_k_mla, true),
	HP_KEY("attention.value_length_mla", HP_U32, head_dim_v_mla, true),
	HP_KEY("attention.kv_lora_rank", HP_U32, n_lora_kv, true),
	HP_KEY("ssm.conv_kernel", HP_U32, ssm_d_conv, true),
	HP_KEY("kda.head_dim", HP_U32, ssm_d_state, true),
	HP_KEY("expert_shared_count", HP_U32, n_expert_shared, true),
	HP_KEY("leading_dense_block_count", HP_U32, n_layer_dense_lead, false),
	HP_KEY("expert_weights_scale", HP_F32, expert_weights_scale, false),
	HP_KEY("expert_gating_func", HP_U32, expert_gating, true),
	{0},
};

/* The KDA tensors against kda.head_dim and head_count, naming both (llama.cpp: "wrong shape"). */
static int check_kda_tensors(const struct hparams *hp, const struct gguf_file *f)
{
	uint64_t H = hp->n_head[0], D = hp->ssm_d_state, HD = H * D;
	const char *hd = "kimi-linear.attention.head_count x kda.head_dim";
	for (uint32_t il = 0; il < hp->n_layer; il++) {
		if (!hp->is_recurrent[il]) {
			char legacy[64];
			snprintf(legacy, sizeof legacy, "blk.%u.attn_kv_b.weight", il);
			if (gguf_tensor(f, legacy))
				return fail(VKLLM_E_UNSUPPORTED, "%s: tensor '%s' is the legacy fused MLA up-projection; vkllm runs Kimi "
				            "Linear from attn_k_b / attn_v_b (convert the model again)", f->path, legacy);
			TRY(arch_check_dim(f, il, "attn_kv_a_norm.weight", 0, hp->n_lora_kv, "kimi-linear.attention.kv_lora_rank"));
			TRY(arch_check_dim(f, il, "attn_kv_a_mqa.weight", 1, (uint64_t)hp->n_lora_kv + hp->n_rot,
			                   "kimi-linear.attention.kv_lora_rank + rope.dimension_count"));
			TRY(arch_check_dim(f, il, "attn_k_b.weight", 1, hp->n_lora_kv, "kimi-linear.attention.kv_lora_rank"));
			TRY(arch_check_dim(f, il, "attn_v_b.weight", 1, hp->head_dim_v_mla, "kimi-linear.attention.value_length_mla"));
			continue;
		}
		TRY(arch_check_dim(f, il, "ssm_conv1d_q.weight", 0, hp->ssm_d_conv, "kimi-linear.ssm.conv_kernel"));
		TRY(arch_check_dim(f, il, "ssm_conv1d_q.weight", 2, HD, hd));
		TRY(arch_check_dim(f, il, "attn_q.weight", 1, HD, hd));
		TRY(arch_check_dim(f, il, "ssm_f_b.weight", 1, HD, hd));
		TRY(arch_check_dim(f, il, "ssm_dt.bias", 0, HD, hd));
		TRY(arch_check_dim(f, il, "ssm_f_a.weight", 1, D, "kimi-linear.kda.head_dim"));
		TRY(arch_check_dim(f, il, "ssm_norm.weight", 0, D, "kimi-linear.kda.head_dim"));
		TRY(arch_check_dim(f, il, "ssm_a", 1, H, "kimi-linear.attention.head_count"));
		TRY(arch_check_dim(f, il, "ssm_beta.weight", 1, H, "kimi-linear.attention.head_count"));
	}
	return VKLLM_OK;
}

static int kimi_linear_finish(struct hparams *hp, const struct gguf_file *f)
{
	const char *path = f ? f->path : "kimi-linear";
	hp->recurrent_by_kv_heads = true;
	bool any_kda = false;
	for (uint32_t il = 0; il < hp->n_layer; il++) {
		hp->is_recurrent[il] = hp->n_head_kv[il] == 0;
		any_kda = any_kda || hp->is_recurrent[il];
		if (hp->n_head[il] != hp->n_head[0])
			return fail(VKLLM_E_UNSUPPORTED, "%s: kimi-linear layer %u has %u heads, layer 0 %u: llama.cpp sizes every "
			            "layer by one head count", path, il, hp->n_head[il], hp->n_head[0]);
	}
	/* KDA: one key head per value head, square state per head */
	hp->ssm_dt_rank = hp->ssm_n_group = hp->n_head[0];
	hp->ssm_d_inner = hp->ssm_d_state * hp->n_head[0];
	if (any_kda && (!hp->ssm_d_state || hp->ssm_d_state > 256 || hp->ssm_d_conv < 2 || hp->ssm_d_conv > 16))
		return fail(VKLLM_E_UNSUPPORTED, "%s: kimi-linear.kda.head_dim %u (1 to 256) and ssm.conv_kernel %u (2 to 16) are "
		            "outside what the DeltaNet kernels run", path, hp->ssm_d_state, hp->ssm_d_conv);
	/* MLA without RoPE: llama.cpp's q_lora_rank is never read, so q is always a plain attn_q */
	hp->n_lora_q = 0;
	uint32_t k_head = hp->head_dim_k_mla;
	if (!hp->n_lora_kv || !k_head || !hp->head_dim_v_mla)
		return fail(VKLLM_E_FORMAT, "%s: kimi-linear.attention.kv_lora_rank %u, key_length_mla %u and value_length_mla "
		            "%u must be positive", path, hp->n_lora_kv, k_head, hp->head_dim_v_mla);
	if (hp->n_rot % 2 || hp->n_rot >= k_head)
		return fail(VKLLM_E_FORMAT, "%s: kimi-linear.rope.dimension_count %u (the q_pe/k_pe width) must be even and below "
		            "key_length_mla %u", path, hp->n_rot, k_head);
	if (hp->head_dim_k != hp->n_lora_kv + hp->n_rot)
		return fail(VKLLM_E_FORMAT, "%s: kimi-linear.attention.key_length %u disagrees with kv_lora_rank %u + "
		            "rope.dimension_count %u (the latent cache row)", path, hp->head_dim_k, hp->n_lora_kv, hp->n_rot);
	for (uint32_t il = 0; il < hp->n_layer; il++)
		if (hp->n_head_kv[il] > 1)
			return fail(VKLLM_E_UNSUPPORTED, "%s: kimi-linear layer %u has head_count_kv %u: MLA layers are MQA over the "
			            "latent cache (1)", path, il, hp->n_head_kv[il]);
	if (hp->expert_gating != 1 && hp->expert_gating != 2)
		return fail(VKLLM_E_UNSUPPORTED, "%s: kimi-linear.expert_gating_func %u is not softmax (1) or sigmoid (2)", path,
		            hp->expert_gating);
	if (hp->n_layer_dense_lead > hp->n_layer)
		return fail(VKLLM_E_FORMAT, "%s: kimi-linear.leading_dense_block_count %u is past block_count %u", path,
		            hp->n_layer_dense_lead, hp->n_layer);
	if (hp->n_layer_dense_lead < hp->n_layer) {
		if (!hp->n_expert || !hp->n_expert_used || !hp->n_ff_exp)
			return fail(VKLLM_E_FORMAT, "%s: kimi-linear MoE layers need expert_count, expert_used_count and "
			            "expert_feed_forward_length (got %u, %u, %u)", path, hp->n_expert, hp->n_expert_used, hp->n_ff_exp);
		/* llama.cpp: n_ff_exp times the shared count, at least one */
		hp->n_ff_shexp = hp->n_ff_exp * (hp->n_expert_shared ? hp->n_expert_shared : 1);
	}
	return f ? check_kda_tensors(hp, f) : VKLLM_OK;
}

static void kimi_linear_layer(const struct hparams *hp, uint32_t il, struct layer_desc *d)
{
	layer_defaults(hp, il, d);
	d->attn = hp->is_recurrent[il] ? ATTN_KDA : ATTN_MLA;
	d->rope = false; /* rope type NONE: the MLA layers' q_pe and k_pe are not rotated */
	d->ffn = il < hp->n_layer_dense_lead ? FFN_GLU : FFN_MOE;
	d->shexp = d->ffn == FFN_MOE; /* llama.cpp always creates it (absent tensors are optional there) */
}

const struct arch arch_kimi_linear = {
	.name = "kimi-linear", .family = "Kimi Linear", .rope = ROPE_NORM, .moe_renorm = true, .moe_bias = MOE_BIAS_REQUIRED,
	.keys = kimi_linear_keys, .finish = kimi_linear_finish, .layer = kimi_linear_layer,
};
