/* The architecture card of a model file: what `vkllm inspect` prints. Parameters (total and
 * active per token), layers grouped by block kind, heads, context, KV-cache bytes, weight types,
 * tokenizer: the architecture comparison of the field, computed from the file. */
#ifndef VKLLM_CARD_H
#define VKLLM_CARD_H

#include <stdio.h>

#include "model/model.h"

#define CARD_N_CTX 3

struct card_type_share {
	uint32_t type;
	uint32_t n_tensors;
	uint64_t bytes;
};

struct card {
	uint64_t params_total, params_active;
	uint64_t weight_bytes;
	uint64_t kv_bytes_per_token;   /* f16 K and V (MLA: the latent row), every layer, one token */
	uint64_t kv_bytes_full;        /* at the training context, sliding layers capped at their window */
	/* MLA layers: what the same heads would cache as MHA, and as GQA with kv_gqa_heads (8, or fewer
	 * when the model has fewer heads) KV heads; f16, the MLA layers only */
	bool kv_mla;
	uint32_t kv_gqa_heads;
	uint64_t kv_mha_per_token, kv_mha_full, kv_gqa_per_token, kv_gqa_full;
	/* gated DeltaNet (qwen3next, qwen35*) and KDA (kimi-linear): each recurrent layer keeps a constant
	 * state per sequence, f32: the short conv's last d_conv - 1 inputs of every conv channel, and one
	 * Dk x Dv matrix per value head. Beside it the attention layers' KV at 4k, 128k and 1M tokens, and
	 * what a model of the same width would cache with every layer full attention like this one's
	 * (same KV heads and head dims, or the same MLA latent row; f16, one sequence, no state). */
	uint32_t n_gdn_layers;
	uint64_t gdn_conv_bytes, gdn_delta_bytes; /* all recurrent layers, one sequence */
	uint64_t kv_at[CARD_N_CTX], kv_all_attn_at[CARD_N_CTX];     /* at card_ctx_compare[i] tokens: this model's KV, all-attention's */
	struct card_type_share types[40];
	uint32_t n_types;
	bool random_weights;           /* written by vkllm synth */
};

/* The context lengths of the recurrent models' comparison: 4096, 131072 and 1048576 tokens. */
extern const uint32_t card_ctx_compare[CARD_N_CTX];

void card_compute(const struct model_file *m, struct card *c);
/* The KV-cache part of card_compute, from hyperparameters and layer recipes alone. */
void card_kv(const struct hparams *hp, const struct layer_desc *layers, struct card *c);
void card_print_text(const struct model_file *m, const struct card *c, FILE *f);
void card_print_json(const struct model_file *m, const struct card *c, FILE *f);

#endif
