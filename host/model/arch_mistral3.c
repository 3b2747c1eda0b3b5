/* mistral3: Mistral Small 3.1 / 3.2 and the Ministral 3 models (3B, 8B, 14B) as today's converter
 * writes them (conversion/mistral3.py Ministral3Model, a LlamaModel with model_arch MISTRAL3;
 * src/models/mistral3.cpp). The llama layout: RoPE NORM on the converter's permuted Q/K rows,
 * optional rope_freqs, attn_output bias and FFN biases; with, where the file says so:
 *  - YaRN (rope.scaling.type yarn) with its own beta_fast / beta_slow (rope.scaling.yarn_beta_*)
 *    and rope.scaling.yarn_log_multiplier = mscale_all_dim as it is (not deepseek2's 0.1 * it),
 *    which llama_context turns into the rope's attn_factor (fwd_rope_yarn);
 *  - the Llama 4 attention temperature: attention.temperature_scale (llama_4_scaling_beta), over
 *    floor rope.scaling.original_context_length, offset 0 (layer_desc.attn_temp).
 * Ministral 3: YaRN x16 over 16384, beta 32 / 1, mscale_all_dim 1, temperature 0.1. Mistral Small
 * 3.1 (rope_theta 1e9, no YaRN) has none of the keys and computes what its llama-arch file does.
 * mistral3.cpp also has a MoE branch (softmax routing, renormalized, Granite's shared expert);
 * no published model is written that way (Mistral Large 3 converts as deepseek2, Mistral 4 as
 * mistral4), so a mistral3 file with experts is refused by name. */
#include "base/status.h"
#include "loader/gguf.h"
#include "model/arch.h"

static const struct hp_key mistral3_keys[] = {
	HP_KEY("attention.temperature_scale", HP_F32, attn_temp_scale, false),
	HP_KEY("rope.scaling.yarn_beta_fast", HP_F32, yarn_beta_fast, false),
	HP_KEY("rope.scaling.yarn_beta_slow", HP_F32, yarn_beta_slow, false),
	HP_KEY("rope.scaling.yarn_log_multiplier", HP_F32, rope_yarn_log_mul, false),
	{0},
};

static int mistral3_finish(struct hparams *hp, const struct gguf_file *f)
{
	const char *path = f ? f->path : "mistral3";
	/* mistral3.cpp: GGML_ASSERT(n_embd_head_v == n_embd_head_k) and (n_embd_head == n_rot) */
	if (hp->head_dim_k != hp->head_dim_v)
		return fail(VKLLM_E_FORMAT, "%s: mistral3 needs attention.key_length (%u) = attention.value_length (%u)", path,
		            hp->head_dim_k, hp->head_dim_v);
	if (hp->n_rot != hp->head_dim_k)
		return fail(VKLLM_E_FORMAT, "%s: invalid rope.dimension_count %u, expected %u (the head dimension)", path, hp->n_rot,
		            hp->head_dim_k);
	if (hp->n_expert > 0)
		return fail(VKLLM_E_UNSUPPORTED, "%s: mistral3 with expert_count %u: vkllm runs the dense mistral3 models only (no "
		            "published Mistral 3 model is written with experts under this arch)", path, hp->n_expert);
	if (hp->rope_scaling == ROPE_SCALING_LONGROPE)
		return fail(VKLLM_E_UNSUPPORTED, "%s: mistral3 with rope.scaling.type longrope (rope_factors_long/short) is not "
		            "supported", path);
	/* absent keys stay 0: llama.cpp's defaults 32 and 1 (fwd_rope_config) */
	if (!(hp->yarn_beta_fast >= 0) || !(hp->yarn_beta_slow >= 0))
		return fail(VKLLM_E_FORMAT, "%s: rope.scaling.yarn_beta_fast %g and rope.scaling.yarn_beta_slow %g must be positive",
		            path, (double)hp->yarn_beta_fast, (double)hp->yarn_beta_slow);
	if (!(hp->attn_temp_scale >= 0))
		return fail(VKLLM_E_FORMAT, "%s: attention.temperature_scale %g must be >= 0", path, (double)hp->attn_temp_scale);
	/* the temperature's floor is n_ctx_orig_yarn, offset 0 (load_arch_hparams) */
	hp->attn_temp_floor = 0, hp->attn_temp_offset = 0;
	if (hp->attn_temp_scale != 0) {
		if (hp->n_ctx_orig_yarn == 0)
			return fail(VKLLM_E_FORMAT, "%s: attention.temperature_scale %g needs rope.scaling.original_context_length "
			            "(or context_length) > 0: it is the temperature's floor", path, (double)hp->attn_temp_scale);
		hp->attn_temp_floor = hp->n_ctx_orig_yarn;
	}
	return VKLLM_OK;
}

static void mistral3_layer(const struct hparams *hp, uint32_t il, struct layer_desc *d)
{
	layer_defaults(hp, il, d);
	d->attn_temp = hp->attn_temp_scale != 0;
}

const struct arch arch_mistral3 = {
	.name = "mistral3", .rope_freqs = true, .family = "Mistral 3 / Ministral 3", .rope = ROPE_NORM,
	.keys = mistral3_keys, .finish = mistral3_finish, .layer = mistral3_layer,
};
