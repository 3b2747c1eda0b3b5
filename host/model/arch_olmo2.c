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
	/* OLMo 3: every 4th layer global; sliding layers use their own base (default the global
	 * one) and no RoPE scaling */
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
		d->swa = true;
		d->rope_base = hp->rope_base_swa;
		d->rope_freq_scale = hp->rope_freq_scale_swa;
	}
}

const struct arch arch_olmo2 = {
	.name = "olmo2", .family = "OLMo 2", .rope = ROPE_NEOX, .output_required = true, .q_is_n_embd = true,
	.keys = olmo2_keys, .finish = olmo2_finish, .layer = olmo2_layer,
};
