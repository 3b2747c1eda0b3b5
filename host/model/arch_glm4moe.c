/* glm4moe (GLM-4.5, GLM-4.5-Air) as llama.cpp's converter writes it (src/models/glm4-moe.cpp
 * load_arch_hparams / load_arch_tensors, conversion/glm.py).
 *
 * Attention with q, k, v biases (no output bias), per-head QK RMSNorm where the file has it (GLM-4.5;
 * optional in llama.cpp), NEOX RoPE on the first rope.dimension_count dims of each head (half of
 * them). The pre-FFN norm is stored as post_attention_norm. The first leading_dense_block_count
 * layers have a dense SwiGLU; the rest route by sigmoid (the converter writes it; llama.cpp's default
 * too) with the selection bias exp_probs_b (required), renormalized where expert_weights_norm says
 * so, times expert_weights_scale, beside an ungated shared expert. The multi-token-prediction block
 * (nextn_predict_layers) loads and is skipped. Files with rope.dimension_sections (the vision
 * models' M-RoPE) are refused: their text positions would need M-RoPE. */
#include <stdio.h>

#include "base/status.h"
#include "loader/gguf.h"
#include "model/arch.h"

static const struct hp_key glm4moe_keys[] = {
	HP_KEY("expert_shared_count", HP_U32, n_expert_shared, true),
	HP_KEY("leading_dense_block_count", HP_U32, n_layer_dense_lead, false),
	HP_KEY("expert_weights_scale", HP_F32, expert_weights_scale, false),
	HP_KEY("expert_weights_norm", HP_BOOL, expert_weights_norm, false),
	HP_KEY("expert_gating_func", HP_U32, expert_gating, false),
	{0},
};

static int glm4moe_finish(struct hparams *hp, const struct gguf_file *f)
{
	const char *path = f ? f->path : "glm4moe";
	if (f && gguf_find(f, "glm4moe.rope.dimension_sections"))
		return fail(VKLLM_E_UNSUPPORTED, "%s: glm4moe.rope.dimension_sections: M-RoPE (a vision model's file) is not "
		            "supported; text models have none", path);
	if (!hp->expert_gating) hp->expert_gating = 2; /* llama.cpp: sigmoid when the key is absent */
	if (hp->expert_gating != 1 && hp->expert_gating != 2)
		return fail(VKLLM_E_UNSUPPORTED, "%s: glm4moe.expert_gating_func %u is not softmax (1) or sigmoid (2)", path,
		            hp->expert_gating);
	if (!hp->n_expert || !hp->n_expert_used)
		return fail(VKLLM_E_FORMAT, "%s: glm4moe needs expert_count and expert_used_count (got %u, %u)", path, hp->n_expert,
		            hp->n_expert_used);
	if (!hp->n_ff_exp) hp->n_ff_exp = hp->n_ff[0] / hp->n_expert_used; /* llama.cpp's fallback */
	hp->n_ff_shexp = hp->n_ff_exp * hp->n_expert_shared;
	if (hp->n_layer_dense_lead > hp->n_layer)
		return fail(VKLLM_E_FORMAT, "%s: glm4moe.leading_dense_block_count %u is past block_count %u", path,
		            hp->n_layer_dense_lead, hp->n_layer);
	if (hp->head_dim_k != hp->head_dim_v)
		return fail(VKLLM_E_FORMAT, "%s: glm4moe.attention.key_length %u and value_length %u must be equal", path,
		            hp->head_dim_k, hp->head_dim_v);
	/* the per-head QK-norm is optional: the file decides */
	if (f) hp->qk_norm_head = gguf_tensor(f, "blk.0.attn_q_norm.weight") != NULL;
	return VKLLM_OK;
}

static void glm4moe_layer(const struct hparams *hp, uint32_t il, struct layer_desc *d)
{
	layer_defaults(hp, il, d);
	d->ffn = il < hp->n_layer_dense_lead ? FFN_GLU : FFN_MOE;
	d->shexp = d->ffn == FFN_MOE && hp->n_expert_shared > 0;
	d->qk_norm = hp->qk_norm_head ? QK_NORM_HEAD : QK_NORM_NONE;
	d->ffn_norm_post_attn = true;
}

const struct arch arch_glm4moe = {
	.name = "glm4moe", .family = "GLM-4.5", .rope = ROPE_NEOX, .qkv_bias = true, .moe_bias = MOE_BIAS_REQUIRED,
	.keys = glm4moe_keys, .finish = glm4moe_finish, .layer = glm4moe_layer,
};
