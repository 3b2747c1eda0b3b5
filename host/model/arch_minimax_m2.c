/* minimax-m2 (MiniMax-M2) as llama.cpp's converter writes it (src/models/minimax-m2.cpp
 * load_arch_hparams / load_arch_tensors, conversion/minimax.py MiniMaxM2Model).
 *
 * Attention whose q and k are RMS-normed over the whole projection, across heads (attn_q_norm
 * {n_head x head_dim}, attn_k_norm {n_head_kv x head_dim}, QK_NORM_FULL as OLMo 2's), then NEOX
 * RoPE on the first rope.dimension_count (rotary_dim 64) of each 128-wide head. Every layer is a
 * MoE: sigmoid scores (expert_gating_func), selection on score + exp_probs_b (required),
 * renormalized (llama.cpp hard-codes it), times expert_weights_scale; no shared expert. The experts
 * are feed_forward_length wide (llama.cpp sizes them by it, not by expert_feed_forward_length). */
#include "base/status.h"
#include "loader/gguf.h"
#include "model/arch.h"

static const struct hp_key minimax_m2_keys[] = {
	HP_KEY("expert_gating_func", HP_U32, expert_gating, false),
	HP_KEY("expert_weights_scale", HP_F32, expert_weights_scale, false),
	{0},
};

static int minimax_m2_finish(struct hparams *hp, const struct gguf_file *f)
{
	const char *path = f ? f->path : "minimax-m2";
	/* llama.cpp aborts in build_moe_ffn without a gating function: require one it runs */
	if (hp->expert_gating != 1 && hp->expert_gating != 2)
		return fail(VKLLM_E_UNSUPPORTED, "%s: minimax-m2.expert_gating_func %u is not softmax (1) or sigmoid (2)", path,
		            hp->expert_gating);
	if (!hp->n_expert || !hp->n_expert_used)
		return fail(VKLLM_E_FORMAT, "%s: minimax-m2 needs expert_count and expert_used_count (got %u, %u)", path, hp->n_expert,
		            hp->n_expert_used);
	for (uint32_t il = 1; il < hp->n_layer; il++)
		if (hp->n_ff[il] != hp->n_ff[0])
			return fail(VKLLM_E_UNSUPPORTED, "%s: minimax-m2.feed_forward_length differs by layer (%u at 0, %u at %u)", path,
			            hp->n_ff[0], hp->n_ff[il], il);
	hp->n_ff_exp = hp->n_ff[0];
	if (hp->head_dim_k != hp->head_dim_v)
		return fail(VKLLM_E_FORMAT, "%s: minimax-m2.attention.key_length %u and value_length %u must be equal", path,
		            hp->head_dim_k, hp->head_dim_v);
	return VKLLM_OK;
}

static void minimax_m2_layer(const struct hparams *hp, uint32_t il, struct layer_desc *d)
{
	layer_defaults(hp, il, d);
	d->ffn = FFN_MOE;
	d->qk_norm = QK_NORM_FULL;
}

const struct arch arch_minimax_m2 = {
	.name = "minimax-m2", .family = "MiniMax-M2", .rope = ROPE_NEOX, .output_required = true, .moe_renorm = true,
	.moe_bias = MOE_BIAS_REQUIRED, .keys = minimax_m2_keys, .finish = minimax_m2_finish, .layer = minimax_m2_layer,
};
