/* The gated DeltaNet block (ATTN_GDN: qwen3next, qwen35, qwen35moe; docs/deltanet.md): projections,
 * the short causal conv, the delta rule over a recurrent state, the gated output norm. */
#ifndef VKLLM_ATTN_GDN_H
#define VKLLM_ATTN_GDN_H

#include "graph/forward.h"

/* Widths (floats per token) of the scratch for the widest DeltaNet or KDA layer; all 0 without one
 * (both kinds share the buffers: a model has one kind). */
struct gdn_widths {
	uint32_t conv;   /* q | k | v channels (2 key_dim + value_dim) */
	uint32_t value;  /* value_dim: the output gate z and the output */
	uint32_t ba;     /* b and a (2 x value heads) */
	uint32_t heads;  /* value heads: beta */
	uint32_t gate;   /* a and g: value heads, or value heads x head size for KDA's per-channel decay */
	uint32_t low_rank; /* KDA: the low-rank width of its decay and output gate projections; else 0 */
};
void gdn_widths(const struct model_file *m, struct gdn_widths *w);
/* A DeltaNet or KDA layer's recurrent state: conv [d_conv - 1][conv channels] and S [Hv][Dk][Dv], f32. */
void gdn_state_bytes(const struct model_file *m, uint64_t *conv, uint64_t *delta);
/* Whether prefill chunks run the chunked delta rule (GPUs) or the token-by-token one (CPU devices,
 * where it measured faster); VKLLM_GDN_PREFILL=chunked|recurrent forces either. */
bool gdn_chunked_prefill(const struct gpu *g);
/* The delta rule's shape for a chunk of n tokens: q, k, v read from the conv output [n][q | k | v];
 * KDA's decay per channel. */
struct gdn_desc;
void gdn_delta_desc(const struct fwd_state *s, uint32_t n, struct gdn_desc *d);
/* The delta rule of layer il over its conv output cv [n][q | k | v] into o, the state in
 * v_cache[il]: chunked for a prefill chunk when the session made the scratch, else token by token.
 * Gated DeltaNet and KDA both run it (g per head or per channel, as gdn_delta_desc says). */
int gdn_delta_rule(struct fwd_state *s, struct gpu_rec *rec, uint32_t il, uint32_t n, struct gpu_view cv, struct gpu_view o,
                   struct gpu_view g, struct gpu_view beta);
/* Scratch bytes for a chunk of n tokens. */
uint64_t gdn_scratch_bytes(const struct fwd_state *s, uint32_t n);

/* Records layer il for a chunk of n tokens: x += W_out gated_norm(delta_rule(conv(W_qkv norm(x)))). */
int record_attn_gdn(struct fwd_state *s, struct gpu_rec *rec, uint32_t il, uint32_t n);

#endif
