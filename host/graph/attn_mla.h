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

/* Whether the device's prefill chunks take the decompressed form (K and V rebuilt from the latent
 * cache, then flash attention) rather than the absorbed one: CPU devices, where it measured 2-7x
 * faster (docs/mla.md); VKLLM_MLA_PREFILL=absorbed|decompressed forces a form (tests run both). */
bool mla_decompress_prefill(const struct gpu *g);
/* Bytes of the decompressed form's K and V buffers ([n_ctx][H][nope + rope], [n_ctx][H][v] of
 * elem bytes: f32 in the graph); 0 for either when the model has no MLA layer. */
void mla_decompress_bytes(const struct model_file *m, uint32_t n_ctx, uint32_t elem, uint64_t *k, uint64_t *v);

/* Records layer il's attention for a chunk of n tokens: x += W_o attention(norm(x)). */
int record_attn_mla(struct fwd_state *s, struct gpu_rec *rec, uint32_t il, uint32_t n);

#endif
