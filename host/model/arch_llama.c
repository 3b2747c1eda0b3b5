/* llama: Llama 3.x, Mistral Small 3.1 (and Mixtral when expert_count is set). RoPE NORM on Q/K
 * rows the converter permuted; optional rope_freqs (Llama 3.1 long-context scaling). */
#include "base/status.h"
#include "loader/gguf.h"
#include "model/arch.h"

static int llama_finish(struct hparams *hp, const struct gguf_file *f)
{
	/* llama.cpp refuses partial rotary for this arch */
	if (hp->n_rot != hp->head_dim_k)
		return fail(VKLLM_E_FORMAT, "%s: invalid rope.dimension_count %u, expected %u (the head dimension)",
		            f ? f->path : "llama", hp->n_rot, hp->head_dim_k);
	return VKLLM_OK;
}

static void llama_layer(const struct hparams *hp, uint32_t il, struct layer_desc *d) { layer_defaults(hp, il, d); }

const struct arch arch_llama = {
	.name = "llama", .rope_freqs = true, .family = "Llama 3 / Mistral", .rope = ROPE_NORM,
	.finish = llama_finish, .layer = llama_layer,
};
