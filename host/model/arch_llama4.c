/* llama4: Llama 4 Scout (16 experts) and Maverick (128), as llama.cpp's converter writes them
 * (conversion/llama.py Llama4Model; src/models/llama4.cpp). docs/llama4.md has the details.
 *
 * The llama layout without biases: RoPE NORM on unpermuted Q/K rows, optional rope_freqs. Per layer:
 *  - MoE iff (il + 1) % interleave_moe_layer_step == 0, else a dense SwiGLU of feed_forward_length;
 *    a MoE layer routes top-k by the raw logits, multiplies each chosen expert's INPUT by the
 *    sigmoid of its logit (no renormalization, no scale) and adds an ungated shared expert of
 *    expert_feed_forward_length;
 *  - every 4th layer (il % 4 == 3) is NoPE: no RoPE, global attention, and q times the attention
 *    temperature log(floor((pos + 1) / 8192) + 1) * 0.1 + 1;
 *  - the others (attention.sliding_window_pattern, default 4: il % 4 < 3) attend within chunks of
 *    8192 tokens, whatever attention.sliding_window says, and where expert_count != 128 (Scout)
 *    normalize q and k per head after RoPE without a weight.
 * A file with attention.sliding_window = 0 has no chunks and no temperature, and only its last
 * layer is NoPE (llama.cpp sets the NoPE step to n_layer; its decode then asserts on the missing
 * temperature, vkllm runs it with none). */
#include "base/status.h"
#include "loader/gguf.h"
#include "model/arch.h"

#define LLAMA4_CHUNK 8192   /* llama.cpp hard-codes n_swa = 8192 for the chunked layers */
#define LLAMA4_NOPE_STEP 4  /* n_no_rope_layer_step's default (llama-hparams.h) */

static const struct hp_key llama4_keys[] = {
	HP_KEY("interleave_moe_layer_step", HP_U32, n_moe_layer_step, true),
	{0},
};

static int llama4_finish(struct hparams *hp, const struct gguf_file *f)
{
	const char *path = f ? f->path : "llama4";
	if (hp->head_dim_k != hp->head_dim_v || hp->n_rot != hp->head_dim_k)
		return fail(VKLLM_E_FORMAT, "%s: llama4 needs attention.key_length (%u) = attention.value_length (%u) = "
		            "rope.dimension_count (%u)", path, hp->head_dim_k, hp->head_dim_v, hp->n_rot);
	if (hp->n_expert == 0)
		return fail(VKLLM_E_FORMAT, "%s: llama4.expert_count is 0 or missing: a llama4 model has experts (llama.cpp "
		            "refuses it too)", path);
	if (!hp->n_expert_used || hp->n_expert_used > hp->n_expert || !hp->n_ff_exp)
		return fail(VKLLM_E_FORMAT, "%s: llama4 needs expert_used_count (1..%u, got %u) and expert_feed_forward_length "
		            "(got %u)", path, hp->n_expert, hp->n_expert_used, hp->n_ff_exp);
	if (f && !gguf_find(f, "llama4.expert_feed_forward_length"))
		return fail(VKLLM_E_FORMAT, "%s: key 'llama4.expert_feed_forward_length' is missing", path);
	if (hp->rope_scaling == ROPE_SCALING_LONGROPE)
		return fail(VKLLM_E_UNSUPPORTED, "%s: llama4 with rope.scaling.type longrope is not supported", path);
	hp->n_ff_shexp = hp->n_ff_exp; /* the shared expert is as wide as a routed one */

	/* attention.sliding_window: present and 0 turns chunking off; any other value (or none) means
	 * chunks of 8192 on the pattern's layers, the temperature on the NoPE layers */
	uint32_t swa = 1;
	bool found = false;
	if (f) {
		char key[64] = "llama4.attention.sliding_window";
		found = gguf_find(f, key) != NULL;
		if (found) TRY(gguf_get_u32(f, key, false, &swa));
	}
	hp->n_swa = 0;
	if (found && swa == 0) {
		hp->n_chunk = 0;
		hp->nope_every = hp->n_layer;
		hp->attn_temp_scale = 0, hp->attn_temp_floor = 0, hp->attn_temp_offset = 0;
		for (uint32_t il = 0; il < hp->n_layer; il++) hp->is_swa[il] = false;
		return VKLLM_OK;
	}
	hp->n_chunk = LLAMA4_CHUNK;
	hp->nope_every = LLAMA4_NOPE_STEP;
	hp->attn_temp_scale = 0.1f, hp->attn_temp_floor = 8192, hp->attn_temp_offset = 1;
	TRY(hparams_load_swa_pattern(hp, f, 4));
	/* the chunked layers' RoPE base: rope.freq_base_swa where the file has it */
	hp->rope_base_swa = hp->rope_base;
	hp->rope_freq_scale_swa = hp->rope_freq_scale;
	if (f) TRY(gguf_get_f32(f, "llama4.rope.freq_base_swa", true, &hp->rope_base_swa));
	return VKLLM_OK;
}

static void llama4_layer(const struct hparams *hp, uint32_t il, struct layer_desc *d)
{
	layer_defaults(hp, il, d);
	d->rope = hp->nope_every > 0 && (il + 1) % hp->nope_every != 0;
	d->attn_temp = !d->rope && hp->attn_temp_scale != 0;
	d->chunked = hp->n_chunk > 0 && hp->is_swa[il];
	if (d->chunked) d->rope_base = hp->rope_base_swa, d->rope_freq_scale = hp->rope_freq_scale_swa;
	/* llama.cpp's use_kq_norm: off for the 128-expert model (Maverick) */
	d->qk_norm = d->rope && hp->n_expert != 128 ? QK_NORM_L2 : QK_NORM_NONE;
	d->ffn = hp->n_moe_layer_step > 0 && (il + 1) % hp->n_moe_layer_step == 0 ? FFN_MOE : FFN_GLU;
	d->shexp = d->ffn == FFN_MOE;
}

const struct arch arch_llama4 = {
	.name = "llama4", .family = "Llama 4", .rope = ROPE_NORM, .rope_freqs = true, .moe_weight_input = true,
	.keys = llama4_keys, .finish = llama4_finish, .layer = llama4_layer,
};
