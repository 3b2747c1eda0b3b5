/* CPU reference for RoPE, ggml's semantics (ggml-cpu/ops.cpp: rope_yarn, rotate_pairs;
 * ggml.c: ggml_rope_yarn_corr_dims), in float64 from the f32 parameters ggml derives. */
#ifndef VKLLM_ROPE_REF_H
#define VKLLM_ROPE_REF_H

#include <stdint.h>

struct rope_ref_config {
	int neox;                   /* 0: pairs (2i, 2i+1); 1: pairs (i, i + n_rot/2) */
	uint32_t n_rot;
	float freq_base, freq_scale, ext_factor, attn_factor, beta_fast, beta_slow;
	uint32_t n_ctx_orig;
};

/* x, y: [n_tokens][n_heads][head_dim], contiguous; pos [n_tokens]; ff [n_rot/2] or NULL.
 * theta_max (optional, [n_tokens][n_rot/2]) receives |theta| of each pair, for tolerances. */
void rope_ref(float *y, const float *x, const int32_t *pos, const float *ff, uint32_t n_tokens, uint32_t n_heads,
              uint32_t head_dim, const struct rope_ref_config *c, double *theta_out);

#endif
