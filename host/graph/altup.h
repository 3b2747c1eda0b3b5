/* Gemma 3n's AltUp, LAuReL and per-layer inputs on the GPU (host/graph/altup.c, docs/gemma3n.md):
 * what fwd_graph_record adds around the embedding, each layer's blocks, and the head of a model
 * whose layers have layer_desc.altup. */
#ifndef VKLLM_ALTUP_H
#define VKLLM_ALTUP_H

#include "graph/forward.h"

/* after the embedding (x = x0): the per-layer inputs and the 4 streams */
int altup_record_embed(struct fwd_state *s, struct gpu_rec *rec, uint32_t n);
/* before attention: predict (x = the active prediction) and LAuReL */
int altup_record_pre(struct fwd_state *s, struct gpu_rec *rec, uint32_t il, uint32_t n);
/* between attention and the FFN: x = (x + laurel) / sqrt(2) */
int altup_record_mid(struct fwd_state *s, struct gpu_rec *rec, uint32_t il, uint32_t n);
/* after the FFN: correct the streams by x, then the per-layer input into streams 1..3 */
int altup_record_post(struct fwd_state *s, struct gpu_rec *rec, uint32_t il, uint32_t n);
/* before the head: x = the streams merged */
int altup_record_merge(struct fwd_state *s, struct gpu_rec *rec, uint32_t n);

/* bytes of fwd_state's altup buffers for chunks of up to n_batch tokens */
struct altup_widths {
	uint64_t streams, inp, big, low, row, mod;
};
void altup_widths(const struct model_file *m, uint32_t n_batch, struct altup_widths *w);

#endif
