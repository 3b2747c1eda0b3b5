/* The tensors an architecture needs, derived from its layer recipe: names in llama.cpp's
 * convention ("blk.3.attn_q.weight"), shapes with ne[0] contiguous, and whether each is required.
 * One list serves the shape check of a loaded file and the writing of a synthetic one. */
#ifndef VKLLM_TENSORS_H
#define VKLLM_TENSORS_H

#include <stdbool.h>
#include <stdint.h>

#include "model/arch.h"

enum tensor_role {
	TR_EMBED,      /* token_embd: a row per token */
	TR_OUTPUT,     /* output: the LM head */
	TR_MATRIX,     /* a linear layer {n_in, n_out} */
	TR_EXPERTS,    /* stacked expert matrices {n_in, n_out, n_expert}: a token reads n_expert_used */
	TR_HEADS,      /* stacked per-head matrices {n_in, n_out, n_head} (MLA's attn_k_b, attn_v_b): all read */
	TR_ROUTER,     /* ffn_gate_inp: kept in f32 by converters */
	TR_NORM,       /* an RMSNorm weight */
	TR_BIAS,
	TR_ROPE_FREQS, /* Llama 3.1's per-pair frequency divisors */
	TR_CONV,       /* a short causal conv's kernel {d_conv, channels} (ssm_conv1d): f32, llama.cpp never quantizes it */
	TR_SSM_A,      /* ssm_a: -exp(A_log) per value head, negative (the DeltaNet's decay rate), f32 */
	TR_SINKS,      /* attn_sinks: a logit per head (gpt-oss), f32 */
	TR_KEEP,       /* small matrices llama.cpp's quantizer leaves as converted (Gemma 3n's altup*, laurel*,
	                * per_layer_model_proj): f16 in a quantized file */
};

struct tensor_spec {
	char name[64];
	uint32_t n_dims;
	uint64_t ne[4];
	enum tensor_role role;
	int32_t layer;   /* -1 for global tensors */
	bool required;
	bool synth;      /* vkllm synth writes it */
};

struct tensor_list {
	struct tensor_spec *items;
	uint32_t n, cap;
};

/* Fills the list for hp and the per-layer descriptions. */
int tensor_list_build(struct tensor_list *l, const struct arch *a, const struct hparams *hp, const struct layer_desc *layers);
void tensor_list_free(struct tensor_list *l);

/* "[1024, 2048]" */
void tensor_shape_str(char *out, size_t n, uint32_t n_dims, const uint64_t *ne);

#endif
