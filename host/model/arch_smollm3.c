/* smollm3: Llama with NoPE on every 4th layer (layers 3, 7, 11, ...). The period is not in the
 * GGUF: llama.cpp hard-codes it, and so do we. */
#include "model/arch.h"

static int smollm3_finish(struct hparams *hp, const struct gguf_file *f)
{
	(void)f;
	hp->nope_every = 4;
	return 0;
}

static void smollm3_layer(const struct hparams *hp, uint32_t il, struct layer_desc *d)
{
	layer_defaults(hp, il, d);
	d->rope = (il + 1) % hp->nope_every != 0;
}

const struct arch arch_smollm3 = {
	.name = "smollm3", .family = "SmolLM3", .rope = ROPE_NORM, .finish = smollm3_finish, .layer = smollm3_layer,
};
