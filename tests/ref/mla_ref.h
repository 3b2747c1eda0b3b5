/* CPU reference for multi-head latent attention (DeepSeek V2/V3, Kimi K2) in its absorbed form,
 * the form the GPU and llama.cpp run over the latent cache: per token the cache holds one row
 * [c (kv_lora) | k_pe (rope)], shared by every head. A head's query arrives already absorbed,
 * q_abs = W_UK^T q_nope (kv_lora wide), beside its roped q_pe; its score against key j is
 * scale * (q_abs . c_j + q_pe . k_pe_j), and its output is the latent o_lat = sum_j p_j c_j, which
 * the caller multiplies by W_UV. tests/ref/forward_ref_mla.c builds the whole block from this and
 * shows it equal to the naive (decompressed) form; docs/reference_forward.md has the math. */
#ifndef VKLLM_MLA_REF_H
#define VKLLM_MLA_REF_H

#include <stdint.h>

/* For kernel tests, in f32 at the edges and double inside. Causal: query t (position p0 + t) sees
 * the keys at positions 0..p0+t (rows of cache; at most n_kv of them).
 *   out_lat [n_q][H][kv_lora]   q_abs [n_q][H][kv_lora]   q_pe [n_q][H][rope]
 *   cache   [n_kv][kv_lora + rope], c first, widened to f32 from whatever the cache stores */
void mla_attention_ref(float *out_lat /*[n_q][H][kv_lora]*/, const float *q_abs /*[n_q][H][kv_lora]*/,
                       const float *q_pe /*[n_q][H][rope]*/, const float *cache /*[n_kv][kv_lora+rope] widened to f32*/,
                       uint32_t n_q, uint32_t H, uint32_t kv_lora, uint32_t rope, uint32_t n_kv, uint32_t p0,
                       double scale);

/* One query's heads over the first n_vis cache rows, in double: o_lat [H][kv_lora] from
 * q_abs [H][kv_lora] and q_pe [H][rope]; scores is scratch of n_vis doubles. The forward
 * reference's absorbed form calls this, so the kernel tests check the same code. */
void mla_attention_lat(double *o_lat, const double *q_abs, const double *q_pe, const double *cache, uint32_t H,
                       uint32_t kv_lora, uint32_t rope, uint32_t n_vis, double scale, double *scores);

#endif
