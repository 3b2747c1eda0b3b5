/* The multi-head latent attention block (ATTN_MLA: deepseek2; docs/mla.md): the projections into
 * the latent space, the latent cache, absorbed attention over it and the way back per head. */
#ifndef VKLLM_ATTN_MLA_H
#define VKLLM_ATTN_MLA_H

#include "graph/forward.h"

/* Widths (floats per token) of the MLA scratch buffers for the widest MLA layer; all 0 for a model
 * without one. */
struct mla_widths {
	uint32_t qa;      /* q's low rank (q_lora_rank) */
	uint32_t kv;      /* [c | k_pe] (kv_lora_rank + rope dims) */
	uint32_t qn, qp;  /* n_head * nope, n_head * rope */
	uint32_t lat;     /* n_head * kv_lora_rank: q_abs, and the attention's latent output */
	uint32_t heads;   /* n_head */
};
void mla_widths(const struct model_file *m, struct mla_widths *w);
/* Tokens one pass of the per-head steps takes at most (the rest of a chunk goes in further passes):
 * bounded by the grid (one workgroup per token and head) and by one binding of the latent rows. */
uint32_t mla_tokens_per_pass(const struct gpu *g, const struct model_file *m);
/* Bytes of a layer's latent cache ([n_ctx][kv_lora + rope] of elem bytes). */
uint64_t mla_cache_bytes(const struct model_file *m, uint32_t n_ctx, uint32_t elem);
/* Split-K scratch for a chunk of n tokens. */
uint64_t mla_attn_scratch_bytes(const struct fwd_state *s, uint32_t il, uint32_t n);
/* The kq scale deepseek2's graph uses: mscale^2 / sqrt(nope + rope), mscale from YaRN's factor and
 * the file's yarn_log_multiplier (llama.cpp's TAG_DEEPSEEK2_YARN_LOG_MUL_FIX). */
float mla_kq_scale(const struct hparams *hp, float attn_factor);

/* Records layer il's attention for a chunk of n tokens: x += W_o attention(norm(x)). */
int record_attn_mla(struct fwd_state *s, struct gpu_rec *rec, uint32_t il, uint32_t n);

#endif
