/* Gated DeltaNet kernels (Qwen3-Next, Qwen3.5, Kimi Linear's KDA; issue 21): the short conv, the
 * delta rule (recurrent for decode, chunked for prefill) and the gated output norm. The math, in
 * double, is tests/ref/gdn_ref.h; shaders/gdn_*.comp say how each kernel maps it.
 * Conventions of ops.h: outputs first, sizes in elements, every view checked, errors name the op.
 * Layouts are token-major, so q, k, v can be read straight out of the conv output [T][q | k | v]. */
#ifndef VKLLM_OPS_GDN_H
#define VKLLM_OPS_GDN_H

#include "ops.h"

/* Depthwise causal conv + SiLU over n_tokens tokens of C channels, carrying the state:
 *   x [n_tokens][C] (tokens x_stride apart, 0: C), y likewise (y_stride), f32
 *   w [C][K] f32: tap j of channel c at w[c*K + j], tap 0 the oldest input (GGUF ssm_conv1d {K, C})
 *   state [K-1][C] f32: the previous K-1 inputs, oldest first (zeros at the start of a sequence);
 *         read, then replaced by the last K-1 inputs (two dispatches).
 * y must not overlap x or state. 2 <= K <= 16. */
int op_gdn_conv(struct gpu_rec *rec, struct gpu_view y, struct gpu_view state, struct gpu_view x, struct gpu_view w,
                uint32_t n_tokens, uint32_t C, uint32_t K, uint32_t x_stride, uint32_t y_stride);

/* The gated delta rule over a chunk of tokens, every value head (tests/ref/gdn_ref.h gdn_step_ref):
 *   q, k [n_tokens][.. n_head_k * head_dim_k ..] f32 (raw, or already L2-normed with qk_l2norm off)
 *   v    [n_tokens][.. n_head_v * head_dim_v ..] f32
 *   g    [n_tokens][n_head_v] f32 log-decay (exp(g) multiplies the state), or
 *        [n_tokens][n_head_v][head_dim_k] with gate_per_channel (KDA: decays the KEY rows)
 *   beta [n_tokens][n_head_v] f32 (already sigmoid-ed)
 *   state [n_head_v][head_dim_k][head_dim_v] f32, S[h][i][j] (i key, j value), read and updated
 *   o    [n_tokens][.. n_head_v * head_dim_v ..] f32; must not overlap the inputs or the state */
struct gdn_desc {
	uint32_t n_tokens;
	uint32_t n_head_k, n_head_v;      /* n_head_k divides n_head_v */
	uint32_t head_dim_k, head_dim_v;  /* 1..256 */
	bool heads_tiled;                 /* value head h reads key head h % n_head_k (qwen35); else h / (Hv/Hk) */
	bool gate_per_channel;            /* KDA */
	bool qk_l2norm;                   /* q, k <- x / sqrt(sum x^2 + l2_eps) first (llama.cpp build_gdn_l2_norm) */
	float l2_eps;
	float scale;                      /* o = scale * S^T q, usually 1/sqrt(head_dim_k) */
	uint32_t q_stride, k_stride;      /* elements between tokens; 0: n_head_k * head_dim_k */
	uint32_t v_stride, o_stride;      /* 0: n_head_v * head_dim_v */
};

/* Token by token (shaders/gdn_recurrent.comp): decode, and the reference form of prefill. On CPU
 * devices long chunks are split into several dispatches (llvmpipe's loop guard). */
int op_gdn_recurrent(struct gpu_rec *rec, struct gpu_view o, struct gpu_view state, struct gpu_view q,
                     struct gpu_view k, struct gpu_view v, struct gpu_view g, struct gpu_view beta,
                     const struct gdn_desc *d);

/* The chunked form (64-token chunks, shaders/gdn_chunk_prep.comp + gdn_chunk_scan.comp), equal to
 * op_gdn_recurrent up to f32 rounding, with a scalar or (gate_per_channel, KDA) per-channel gate.
 * scratch: op_gdn_chunked_scratch_bytes() bytes, f32 (at most 16 chunks' worth: longer prompts reuse
 * it group after group); the per-channel form needs 3 x 64 x head_dim_k more floats per chunk and
 * value head (2.2x at Dk = Dv = 128) for its cumulative gates and decayed q and k rows. */
uint64_t op_gdn_chunked_scratch_bytes(const struct gdn_desc *d);
int op_gdn_chunked(struct gpu_rec *rec, struct gpu_view o, struct gpu_view state, struct gpu_view scratch,
                   struct gpu_view q, struct gpu_view k, struct gpu_view v, struct gpu_view g, struct gpu_view beta,
                   const struct gdn_desc *d);

/* Gated RMSNorm, rows of n packed (tokens x heads): y = x / sqrt(mean(x^2) + eps) * w * gate(z),
 * gate = silu(z) (Qwen3-Next) or sigmoid(z) (sigmoid_gate: KDA). w [n] shared by all rows. y may be x. */
int op_gdn_gated_norm(struct gpu_rec *rec, struct gpu_view y, struct gpu_view x, struct gpu_view z, struct gpu_view w,
                      uint32_t n, uint32_t n_rows, float eps, bool sigmoid_gate);

/* The decay and write strength of every token and value head (shaders/gdn_gates.comp):
 *   g [n_tokens][n_head_v] = softplus(a + dt_bias) * ssm_a,  beta [n_tokens][n_head_v] = sigmoid(b)
 * grouped (qwen3next's ssm_ba): b and a are one view, rows `stride` apart, per key head the b then
 * the a of its n_head_v / n_head_k value heads; else b [n_tokens][n_head_v] and a likewise (stride
 * between tokens in both). dt_bias, ssm_a [n_head_v] f32 (ssm_a already -exp(A_log)). */
int op_gdn_gates(struct gpu_rec *rec, struct gpu_view g, struct gpu_view beta, struct gpu_view b, struct gpu_view a,
                 struct gpu_view dt_bias, struct gpu_view ssm_a, uint32_t n_tokens, uint32_t n_head_k, uint32_t n_head_v,
                 uint32_t stride, bool grouped);

/* Kimi Linear's KDA gates (kimi-linear.cpp), per channel (same shader, gdn_gates.comp):
 *   g    [n_tokens][n_head * head_dim] = softplus(a[t*a_stride + h*D + c] + dt_bias[h*D + c]) * ssm_a[h]
 *   beta [n_tokens][n_head]            = sigmoid(b[t*b_stride + h])
 * a is f_b(f_a(x)) (the low-rank gate projection), b the ssm_beta projection; dt_bias [n_head * head_dim],
 * ssm_a [n_head] f32 (-exp(A_log)). g and beta are contiguous; g is gdn_desc's gate_per_channel layout. */
int op_kda_gates(struct gpu_rec *rec, struct gpu_view g, struct gpu_view beta, struct gpu_view b, struct gpu_view a,
                 struct gpu_view dt_bias, struct gpu_view ssm_a, uint32_t n_tokens, uint32_t n_head, uint32_t head_dim,
                 uint32_t b_stride, uint32_t a_stride);

#endif
