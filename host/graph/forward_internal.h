/* What the block files of host/graph/ share with forward.c: views of the activation and step
 * buffers, the linear layer, and a block's input norm and output into the residual stream. */
#ifndef VKLLM_FORWARD_INTERNAL_H
#define VKLLM_FORWARD_INTERNAL_H

#include "graph/forward.h"

/* rows [row0, row0 + n) of an f32 activation buffer with `width` floats per row */
static inline struct gpu_view fwd_rows(const struct gpu_buffer *b, uint64_t row0, uint64_t n, uint64_t width)
{
	struct gpu_view v = {b, row0 * width * 4, n * width * 4};
	return v;
}

static inline struct gpu_view fwd_whole(const struct weight *w) { return w->view; }

/* the step words (n_kv, p0) and the chunk's positions */
static inline struct gpu_view fwd_step_words(const struct fwd_state *s)
{
	struct gpu_view v = {&s->step, 0, 8};
	return v;
}

static inline struct gpu_view fwd_step_pos(const struct fwd_state *s, uint32_t n)
{
	struct gpu_view v = {&s->step, STEP_POS_BYTES, (VkDeviceSize)n * 4};
	return v;
}

/* The RoPE of layer d's queries and keys over n_rot dims: the model's pairing (NORM or NEOX; IMROPE
 * is NEOX for text), base and scale, llama_context's YaRN factors; a plain layer (OLMo 3's sliding
 * ones) has no YaRN and magnitude 1. */
void fwd_rope_config(const struct fwd_state *s, const struct layer_desc *d, uint32_t n_rot, struct rope_config *rc);

/* out [n][width] = table rows of the chunk's token ids times scale (ggml_get_rows), in row ranges
 * that fit one binding */
int fwd_embed_table(struct fwd_state *s, struct gpu_rec *rec, struct gpu_view out, const struct weight *t, uint32_t n,
                    uint32_t width, float scale);
/* y (+)= W x for n tokens; a weight's rows are its outputs */
int fwd_linear(struct gpu_rec *rec, struct gpu_view y, const struct weight *w, struct gpu_view x, uint32_t n, bool accumulate);
/* build_norm at a block's input: pre-norm archs norm x into h; OLMo 2 feeds x in as it is */
int fwd_block_input(struct fwd_state *s, struct gpu_rec *rec, const struct weight *norm, uint32_t n, struct gpu_view *in);
/* x += post_norm(W in + b) (the add fused into the matmul when there is no post-norm or bias) */
int fwd_block_output(struct fwd_state *s, struct gpu_rec *rec, const struct weight *w, const struct weight *b,
                     const struct weight *post_norm, struct gpu_view in, uint32_t n);

#endif
