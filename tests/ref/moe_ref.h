/* CPU reference for the mixture-of-experts ops (host/ops/moe.c), in double: the router as
 * llama.cpp's build_moe_ffn computes it, the stable expert-order index, the row gather and the
 * weighted scatter. */
#ifndef VKLLM_MOE_REF_H
#define VKLLM_MOE_REF_H

#include <stdbool.h>
#include <stdint.h>

/* gating: 0 softmax, 1 sigmoid, 2 softmax over the chosen logits, 3 sigmoid weights with the selection
 * on the raw logits (Llama 4); bias may be NULL.
 * ids and weights: [n_tok][k]. n_group at most 64. */
void moe_route_ref(uint32_t *ids, double *weights, const float *logits, const float *bias, uint32_t n_tok,
                   uint32_t n_exp, uint32_t k, int gating, uint32_t n_group, uint32_t n_group_used, bool norm,
                   double scale);
/* The same for one token in double (the forward reference routes with it): ids, weights [k]. */
void moe_route_one_ref(uint32_t *ids, double *weights, const double *logits, const double *bias, uint32_t n_exp,
                       uint32_t k, int gating, uint32_t n_group, uint32_t n_group_used, bool norm, double scale);
void moe_index_ref(uint32_t *counts, uint32_t *offsets, uint32_t *perm, uint32_t *inv, const uint32_t *ids,
                   uint32_t n_assign, uint32_t n_exp);
/* weights NULL: the plain sum (the weights went into the inputs: Llama 4) */
void moe_scatter_ref(double *out, const float *y, const uint32_t *inv, const float *weights, uint32_t n_tok, uint32_t k,
                     uint32_t n);

#endif
