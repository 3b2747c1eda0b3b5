/* The Kimi delta attention block (ATTN_KDA: kimi-linear; docs/kda.md): q, k, v each through a short
 * conv, the delta rule with a decay per channel, the sigmoid-gated output norm. Its scratch and
 * state are the gated DeltaNet's (attn_gdn.h: gdn_widths, gdn_state_bytes, gdn_scratch_bytes). */
#ifndef VKLLM_ATTN_KDA_H
#define VKLLM_ATTN_KDA_H

#include "graph/forward.h"

/* Records layer il for a chunk of n tokens: x += W_o gated_norm(delta_rule(conv(W_q|k|v norm(x)))). */
int record_attn_kda(struct fwd_state *s, struct gpu_rec *rec, uint32_t il, uint32_t n);

#endif
