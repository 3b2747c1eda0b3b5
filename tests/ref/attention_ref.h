/* The CPU reference of causal attention: the executable spec of op_attention (docs/attention.md).
 * Plain C, double accumulation, one query row at a time, written as the math. */
#ifndef VKLLM_ATTENTION_REF_H
#define VKLLM_ATTENTION_REF_H

#include <stdint.h>

struct attention_ref_shape {
	uint32_t n_q, n_head, n_head_kv;    /* n_head_kv divides n_head */
	uint32_t head_dim_k, head_dim_v;
	uint32_t n_kv;                      /* keys at positions 0..n_kv-1 */
	uint32_t p0;                        /* query t sits at position p0 + t */
	uint32_t k_pos_stride, k_head_stride; /* elements of k between positions and between heads */
	uint32_t v_pos_stride, v_head_stride;
	double scale;                       /* kq scale */
	double softcap;                     /* 0: off */
	uint32_t n_swa;                     /* 0: no window */
	uint32_t n_chunk;                   /* 0: off; else chunked attention (Llama 4): the query at pq
	                                     * sees keys pk >= floor(pq / n_chunk) * n_chunk only */
};

/* out [n_q][n_head][head_dim_v]; q [n_q][n_head][head_dim_k]; k, v caches as the strides say (f32
 * values: an f16 cache is passed already widened, so both sides see the same numbers);
 * sinks [n_head] or NULL. A row that sees no key (and has no sink) is 0. */
void attention_ref(float *out, const float *q, const float *k, const float *v, const float *sinks,
                   const struct attention_ref_shape *s);

#endif
