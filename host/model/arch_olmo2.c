/* olmo2: OLMo 2 (and OLMo 3's sliding layers). Norms after each block inside the residual
 * (x + norm(f(x))), no input norms, QK RMSNorm over the whole projection, NEOX RoPE, untied output. */
#include "base/status.h"
#include "loader/gguf.h"
#include "model/arch.h"

static const struct hp_key olmo2_keys[] = {
	HP_KEY("attention.sliding_window", HP_U32, n_swa, false),
	{0},
};

static int olmo2_finish(struct hparams *hp, const struct gguf_file *f)
{
	TRY(arch_check_q_width(hp, f));
	if (!hp->n_swa) return VKLLM_OK;
	/* OLMo 3: every 4th layer global; sliding layers have no RoPE scaling. rope.freq_base_swa is
	 * read (the card shows it) but llama.cpp's graph does not use it (olmo2_layer) */
	TRY(hparams_load_swa_pattern(hp, f, 4));
	hp->rope_base_swa = hp->rope_base;
	if (f) TRY(gguf_get_f32(f, "olmo2.rope.freq_base_swa", true, &hp->rope_base_swa));
	hp->rope_freq_scale_swa = 1.0f;
	return VKLLM_OK;
}

static void olmo2_layer(const struct hparams *hp, uint32_t il, struct layer_desc *d)
{
	layer_defaults(hp, il, d);
	d->norm = NORM_POST;
	d->qk_norm = QK_NORM_FULL;
	if (hp->n_swa && hp->is_swa[il]) {
		/* llama.cpp's olmo2 graph rotates sliding layers with the context's global base, not
		 * rope.freq_base_swa (read, unused), with no scaling, no YaRN ramp and magnitude 1 */
		d->swa = true;
		d->rope_plain = true;
		d->rope_freq_scale = hp->rope_freq_scale_swa;
	}
}

const struct arch arch_olmo2 = {
	.name = "olmo2", .family = "OLMo 2", .rope = ROPE_NEOX, .output_required = true, .q_is_n_embd = true,
	.keys = olmo2_keys, .finish = olmo2_finish, .layer = olmo2_layer,
};
