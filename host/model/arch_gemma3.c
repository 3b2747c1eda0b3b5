/* gemma3: sandwich norms around both blocks, per-head QK RMSNorm, GeGLU (tanh GELU), embeddings
 * scaled by sqrt(n_embd), tied output. Five sliding-window layers (RoPE base 10000, no scaling)
 * to one global layer (base 1e6, the file's scaling). The converter bakes Gemma's (1 + w) into
 * every norm weight, so norms are plain rms(x) * w here. */
#include <math.h>

#include "base/status.h"
#include "loader/gguf.h"
#include "model/arch.h"

static const struct hp_key gemma3_keys[] = {
	HP_KEY("attention.sliding_window", HP_U32, n_swa, false),
	HP_KEY("rope.freq_base_swa", HP_F32, rope_base_swa, false),
	HP_KEY("final_logit_softcapping", HP_F32, final_softcap, false),
	{0},
};

static int gemma3_finish(struct hparams *hp, const struct gguf_file *f)
{
	if (hp->n_swa) TRY(hparams_load_swa_pattern(hp, f, 6));
	hp->rope_freq_scale_swa = 1.0f;
	hp->embed_scale = sqrtf((float)hp->n_embd);
	/* query_pre_attn_scalar: 27B (62 layers) scales by 1/sqrt(n_embd / n_head), the others by
	 * 1/sqrt(head_dim); llama.cpp decides by the layer count too */
	hp->attn_scale = hp->n_layer == 62 ? 1.0f / sqrtf((float)(hp->n_embd / hp->n_head[0]))
	                                   : 1.0f / sqrtf((float)hp->head_dim_k);
	return VKLLM_OK;
}

/* Gemma 3's layer, which Gemma 3n's layers are too (arch_gemma3n.c adds AltUp's options) */
void gemma_layer(const struct hparams *hp, uint32_t il, struct layer_desc *d)
{
	layer_defaults(hp, il, d);
	d->norm = NORM_SANDWICH;
	d->qk_norm = QK_NORM_HEAD;
	d->act = ACT_GELU_TANH;
	if (hp->n_swa && hp->is_swa[il]) {
		d->swa = true;
		d->rope_base = hp->rope_base_swa;
		d->rope_freq_scale = hp->rope_freq_scale_swa;
	}
}

const struct arch arch_gemma3 = {
	.name = "gemma3", .family = "Gemma 3", .rope = ROPE_NEOX,
	.keys = gemma3_keys, .finish = gemma3_finish, .layer = gemma_layer,
};
