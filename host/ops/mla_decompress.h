/* Multi-head latent attention's decompressed form (host/ops/mla_decompress.c,
 * shaders/mla_decompress.comp): per head K and V rebuilt from the latent cache, so that ordinary
 * flash attention (op_attention with n_head_kv = n_head, head_dim_k = nope + n_pe, head_dim_v =
 * v_dim, kv_type = out_type) runs a prefill chunk instead of the absorbed form's op_mla_attention.
 * For every position j < n_kv = step[step_index] (read on the device, clamped to n_ctx) and head h:
 *   k_out[j][h] = [ w_uk[h] c_j (nope values) | k_pe_j (n_pe values) ]     k_out [n_ctx][n_head][nope + n_pe]
 *   v_out[j][h] = w_uv[h] c_j (v_dim values)                               v_out [n_ctx][n_head][v_dim]
 * cache [n_ctx][kv_lora + n_pe] as op_mla_prep writes it (c_j then k_pe_j, f16 or f32);
 * w_uk [n_head * nope][kv_lora] and w_uv [n_head * v_dim][kv_lora] f32, row-major (every file type
 * decodes into f32 exactly, so the rebuilt K and V are the absorbed form's numbers); k_out and v_out
 * in out_type. Positions >= n_kv are neither read nor written, and their tiles cost nothing, so one
 * recording replays for every chunk. */
#ifndef VKLLM_OPS_MLA_DECOMPRESS_H
#define VKLLM_OPS_MLA_DECOMPRESS_H

#include "ops.h"

struct mla_decompress_desc {
	uint32_t n_ctx;                /* positions the cache and the outputs hold */
	uint32_t n_head;
	uint32_t kv_lora;              /* C */
	uint32_t n_pe;                 /* R: the shared rope key */
	uint32_t nope;                 /* each head's non-rope key width */
	uint32_t v_dim;                /* each head's value width */
	enum attn_kv_type cache_type;  /* the latent cache */
	enum attn_kv_type out_type;    /* k_out and v_out */
	uint32_t step_index;           /* uint32 index of n_kv in the step view */
};

int op_mla_decompress(struct gpu_rec *rec, struct gpu_view k_out, struct gpu_view v_out, struct gpu_view cache,
                      struct gpu_view w_uk, struct gpu_view w_uv, struct gpu_view step, const struct mla_decompress_desc *d);

#endif
