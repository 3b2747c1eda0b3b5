/* grok: Grok 2 / 2.5 as llama.cpp's converter writes them (conversion/grok.py; src/models/grok.cpp,
 * llama-graph.cpp's grok branches). docs/grok.md has the details.
 *
 *   x = tok_embd[t] * embedding_scale
 *   per layer:  h = x + rms(attn(rms(x) * attn_norm)) * attn_output_norm
 *               f = rms(h) * ffn_norm
 *               y = (dense(f) + moe(f)) * sqrt(2) / 2       (moe(f) alone where the file has no dense FFN)
 *               x = h + rms(y) * post_ffw_norm
 *   logits = softcap_final(output . rms(x) * output_norm * logit_scale)
 * Attention: scores c tanh(q.k * attention.output_scale / c) with c = attn_logit_softcapping (no
 * 1/sqrt(head_dim) of its own); NEOX RoPE with YaRN from the file (beta_fast 8 by default). The
 * experts and the dense FFN are GeGLUs (tanh GELU); the router is a softmax over all experts, the top
 * k renormalized. router_logit_softcapping is in the file but llama.cpp does not apply it, nor do we.
 * Grok-1 files (layer_output_norm, no scales in the file) are refused by name. */
#include "base/status.h"
#include "loader/gguf.h"
#include "model/arch.h"

static const struct hp_key grok_keys[] = {
	HP_KEY("embedding_scale", HP_F32, embed_scale, false),
	HP_KEY("logit_scale", HP_F32, logit_scale, false),
	HP_KEY("attention.output_scale", HP_F32, attn_scale, false),
	HP_KEY("attn_logit_softcapping", HP_F32, attn_softcap, false),
	HP_KEY("final_logit_softcapping", HP_F32, final_softcap, false),
	HP_KEY("rope.scaling.yarn_ext_factor", HP_F32, yarn_ext_factor, false),
	HP_KEY("rope.scaling.yarn_attn_factor", HP_F32, yarn_attn_factor, false),
	HP_KEY("rope.scaling.yarn_beta_fast", HP_F32, yarn_beta_fast, false),
	HP_KEY("rope.scaling.yarn_beta_slow", HP_F32, yarn_beta_slow, false),
	{0},
};

static int grok_finish(struct hparams *hp, const struct gguf_file *f)
{
	const char *path = f ? f->path : "grok";
	if (f && gguf_tensor(f, "blk.0.layer_output_norm.weight"))
		return fail(VKLLM_E_UNSUPPORTED, "%s: a Grok-1 file (blk.0.layer_output_norm): vkllm runs Grok 2 / 2.5 files", path);
	/* llama.cpp sizes attn_q and attn_output {n_embd, n_embd} */
	TRY(arch_check_q_width(hp, f));
	if (hp->head_dim_k != hp->head_dim_v || hp->n_rot != hp->head_dim_k)
		return fail(VKLLM_E_FORMAT, "%s: grok needs attention.key_length (%u) = attention.value_length (%u) = "
		            "rope.dimension_count (%u)", path, hp->head_dim_k, hp->head_dim_v, hp->n_rot);
	if (!hp->n_expert || !hp->n_expert_used)
		return fail(VKLLM_E_FORMAT, "%s: grok needs expert_count and expert_used_count (got %u, %u)", path, hp->n_expert,
		            hp->n_expert_used);
	if (hp->rope_scaling == ROPE_SCALING_LONGROPE)
		return fail(VKLLM_E_UNSUPPORTED, "%s: grok with rope.scaling.type longrope is not supported", path);
	/* llama.cpp's defaults where an older file lacks the keys (grok.cpp); synth sets them all */
	if (f) {
		if (!gguf_find(f, "grok.embedding_scale")) hp->embed_scale = 78.38367176906169f;
		if (!gguf_find(f, "grok.logit_scale")) hp->logit_scale = 0.5773502691896257f;
		if (!gguf_find(f, "grok.attention.output_scale")) hp->attn_scale = 0.08838834764831845f;
		if (!gguf_find(f, "grok.attn_logit_softcapping")) hp->attn_softcap = 30.0f;
		if (!gguf_find(f, "grok.rope.scaling.yarn_beta_fast")) hp->yarn_beta_fast = 8.0f;
	}
	if (!(hp->attn_scale > 0) || !(hp->attn_softcap >= 0) || !(hp->logit_scale > 0) || !(hp->final_softcap >= 0))
		return fail(VKLLM_E_FORMAT, "%s: grok's attention.output_scale %g and logit_scale %g must be > 0, its softcaps "
		            "(%g, %g) >= 0", path, (double)hp->attn_scale, (double)hp->logit_scale, (double)hp->attn_softcap,
		            (double)hp->final_softcap);
	if (!hp->n_ff_exp) hp->n_ff_exp = hp->n_ff[0]; /* Grok-1: the experts are feed_forward_length wide */
	/* the dense FFN beside the experts is optional in llama.cpp: the file decides, for every layer */
	if (f) hp->moe_dense = gguf_tensor(f, "blk.0.ffn_up.weight") != NULL;
	return VKLLM_OK;
}

static void grok_layer(const struct hparams *hp, uint32_t il, struct layer_desc *d)
{
	layer_defaults(hp, il, d);
	d->norm = NORM_SANDWICH;
	d->act = ACT_GELU_TANH;
	d->ffn = FFN_MOE;
	d->moe_dense = hp->moe_dense;
}

const struct arch arch_grok = {
	.name = "grok", .family = "Grok 2", .rope = ROPE_NEOX, .moe_renorm = true, .attn_output_norm = true, .q_is_n_embd = true,
	.keys = grok_keys, .finish = grok_finish, .layer = grok_layer,
};
