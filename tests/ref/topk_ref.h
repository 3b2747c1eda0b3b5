/* CPU reference for argmax and top-k over rows: the larger value first, then the lower index
 * (llama.cpp's greedy sampler keeps the first maximum); NaN counts as -inf. */
#ifndef VKLLM_TOPK_REF_H
#define VKLLM_TOPK_REF_H

#include <stdint.h>

/* idx[r], val[r]: the best of row r of x [n_rows][n] */
void argmax_ref(uint32_t *idx, float *val, const float *x, uint32_t n, uint32_t n_rows);
/* idx[r][0..k), val[r][0..k): the k best of row r, best first (selection, O(n k)) */
void topk_ref(uint32_t *idx, float *val, const float *x, uint32_t n, uint32_t n_rows, uint32_t k);

#endif
