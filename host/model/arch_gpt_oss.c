/* gpt-oss (gpt-oss-20b, gpt-oss-120b) as llama.cpp's converter writes it (src/models/openai-moe.cpp
 * load_arch_hparams / load_arch_tensors, conversion/gpt_oss.py; /work/shared/reference/wave2-traps.md).
 *
 * Every layer: attention with q, k, v and output biases, heads of 64 (n_head x 64 is not n_embd),
 * NEOX RoPE with YaRN, and a learned sink logit per head that joins each softmax's denominator;
 * even layers see a sliding window of attention.sliding_window tokens (llama.cpp's pattern of
 * period 2), odd layers the whole context. Then the pre-FFN norm, stored as post_attention_norm,
 * and a MoE of every layer: the router has a bias, the top-k is taken on the biased logits and
 * the weights are a softmax over the chosen k (no renormalization, no scale); each expert's gate,
 * up and down have a bias of their own, and the GLU is the clamped SwiGLU
 * min(g, 7) sigmoid(1.702 min(g, 7)) (clamp(u, -7, 7) + 1). The converter keeps the experts in
 * MXFP4 (their checkpoint's format) whatever the other tensors are. No tied output. */
#include <stdio.h>

#include "base/status.h"
#include "loader/gguf.h"
#include "model/arch.h"

static const struct hp_key gpt_oss_keys[] = {
	HP_KEY("attention.sliding_window", HP_U32, n_swa, true),
	HP_KEY("rope.freq_base_swa", HP_F32, rope_base_swa, false),
	{0},
};

static int gpt_oss_finish(struct hparams *hp, const struct gguf_file *f)
{
	const char *path = f ? f->path : "gpt-oss";
	/* the sliding layers rotate as the full ones unless the file says otherwise */
	char key[64];
	snprintf(key, sizeof key, "%s.rope.freq_base_swa", hp->arch);
	if (!f || !gguf_find(f, key)) hp->rope_base_swa = hp->rope_base;
	hp->rope_freq_scale_swa = hp->rope_freq_scale;
	TRY(hparams_load_swa_pattern(hp, f, 2));
	bool any_swa = false;
	for (uint32_t il = 0; il < hp->n_layer; il++) any_swa = any_swa || hp->is_swa[il];
	if (!any_swa || !hp->n_swa) /* llama.cpp aborts on such a file (llama-model.cpp) */
		return fail(VKLLM_E_FORMAT, "%s: gpt-oss.attention.sliding_window %u with its pattern leaves no sliding-window "
		            "layer", path, hp->n_swa);
	if (!hp->n_expert || !hp->n_expert_used || !hp->n_ff_exp)
		return fail(VKLLM_E_FORMAT, "%s: gpt-oss needs expert_count, expert_used_count and expert_feed_forward_length "
		            "(got %u, %u, %u)", path, hp->n_expert, hp->n_expert_used, hp->n_ff_exp);
	/* llama.cpp sizes q, k, v and the output by n_rot (rope.dimension_count, default the key length) */
	if (hp->n_rot != hp->head_dim_k || hp->head_dim_v != hp->head_dim_k)
		return fail(VKLLM_E_FORMAT, "%s: gpt-oss.rope.dimension_count %u, attention.key_length %u and value_length %u "
		            "must be equal (llama.cpp sizes the heads by the first)", path, hp->n_rot, hp->head_dim_k, hp->head_dim_v);
	return VKLLM_OK;
}

static void gpt_oss_layer(const struct hparams *hp, uint32_t il, struct layer_desc *d)
{
	layer_defaults(hp, il, d);
	d->ffn = FFN_MOE;
	d->act = ACT_SWIGLU_OAI;
	d->ffn_norm_post_attn = true;
	d->attn_sinks = true;
	if (hp->is_swa[il]) {
		d->swa = true;
		d->rope_base = hp->rope_base_swa;
		d->rope_freq_scale = hp->rope_freq_scale_swa;
	}
}

const struct arch arch_gpt_oss = {
	.name = "gpt-oss", .family = "gpt-oss", .rope = ROPE_NEOX, .output_required = true, .qkv_bias = true,
	.attn_out_bias = true, .moe_biases = true, .moe_softmax_weight = true, .experts_mxfp4 = true,
	.keys = gpt_oss_keys, .finish = gpt_oss_finish, .layer = gpt_oss_layer,
};
