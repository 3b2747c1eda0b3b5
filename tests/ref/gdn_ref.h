/* CPU reference (the executable spec) for gated DeltaNet (Qwen3-Next / Qwen3.5 "linear attention",
 * Kimi Linear's KDA): the pieces a recurrent layer runs between its projections, in double.
 * Checked line by line against llama.cpp (tests/deps/llama.cpp):
 *   l2_norm_ref          src/models/models.h build_gdn_l2_norm = rms_norm(x, eps/n) / sqrt(n)
 *   short_conv_step_ref  ggml/src/ggml-cpu/ops.cpp ggml_compute_forward_ssm_conv_f32, then ggml_silu
 *                        (qwen3next.cpp: conv_input = concat(conv_states, qkv), ssm_conv, silu)
 *   gdn_step_ref         ggml/src/ggml-cpu/ops.cpp ggml_compute_forward_gated_delta_net_one_chunk
 *   gated_rms_norm_ref   qwen3next.cpp build_norm_gated (rms_norm * ssm_norm * silu(z)),
 *                        kimi-linear.cpp (... * sigmoid(g)) */
#ifndef VKLLM_GDN_REF_H
#define VKLLM_GDN_REF_H

#include <stdbool.h>
#include <stdint.h>

/* y = x / sqrt(sum_i x_i^2 + eps). eps is INSIDE the sqrt, added to the plain sum (not the mean):
 * llama.cpp's build_gdn_l2_norm is rms_norm(x, eps/n) / sqrt(n) = x / sqrt(sum/n + eps/n) / sqrt(n).
 * (ggml_l2_norm's x / max(|x|, eps) is NOT what the GDN graphs use.) y may alias x. */
void l2_norm_ref(double *y, const double *x, uint32_t n, double eps);

/* Depthwise causal conv of kernel K over C channels, for one token, then SiLU.
 *   w     [C][K]   weight of channel c, tap j at w[c*K + j]: the GGUF's ssm_conv1d {ne0 = K, ne1 = C},
 *                  i.e. row c holds the K taps. Tap j = 0 multiplies the OLDEST input, tap K-1 the
 *                  current token (ggml_ssm_conv: sum_{i0} s[i0] * c[i0] over the window [t-K+1 .. t];
 *                  HF's Conv1d weight [C,1,K] with padding K-1 and the same order).
 *   state [K-1][C] the previous K-1 pre-conv inputs, oldest first: state[r*C + c] is the input of
 *                  token t-(K-1)+r. Zeros before the first token.
 *   y[c] = silu( sum_{j<K-1} w[c*K+j] * state[j*C+c] + w[c*K+K-1] * x[c] ),  silu(a) = a / (1 + e^-a)
 *   then the state shifts by one token: state[r] = state[r+1] (r < K-2), state[K-2] = x.
 * (llama.cpp keeps its conv state per channel, [C][K-1]; ours is token-major [K-1][C] so that the
 * state rows are plain token rows of the input. Same content, transposed.) */
void short_conv_step_ref(double *y, double *state, const double *x, const double *w, uint32_t C, uint32_t K);

/* Which key head value head h reads (Hv a multiple of Hk, r = Hv/Hk). */
enum gdn_head_map {
	GDN_HEADS_INTERLEAVED, /* key head h / r: qwen3next (HF repeat_interleave) */
	GDN_HEADS_TILED,       /* key head h % Hk: qwen35 / qwen35moe (ggml's modulo broadcast, V heads reordered) */
};

static inline uint32_t gdn_key_head(uint32_t h, uint32_t Hk, uint32_t Hv, enum gdn_head_map map)
{
	return map == GDN_HEADS_INTERLEAVED ? h / (Hv / Hk) : h % Hk;
}

/* One token of the gated delta rule, every value head. Shapes:
 *   q, k  [Hk][Dk]      already L2-normed (l2_norm_ref); q NOT pre-scaled (scale applies to o)
 *   v     [Hv][Dv]
 *   g     [Hv] log-decay (<= 0 in the models), or [Hv][Dk] when gate_per_channel (KDA)
 *   beta  [Hv]          already sigmoid-ed
 *   S     [Hv][Dk][Dv]  S[h][i][j], i key index, j value index (read and updated in place)
 *   o     [Hv][Dv]
 * For value head h with key head m = gdn_key_head(h):   (exact order of ggml-cpu's gated_delta_net)
 *   1. decay:  S[i][j] *= exp(g[h])            (KDA: S[i][j] *= exp(g[h][i]), the KEY index i)
 *   2. kv[j]   = sum_i S[i][j] * k[m][i]       (with the decayed S)
 *      d[j]    = beta[h] * (v[h][j] - kv[j])
 *   3. update: S[i][j] += k[m][i] * d[j]
 *   4. o[h][j] = scale * sum_i S[i][j] * q[m][i]  (the UPDATED S; llama.cpp scale = 1/sqrt(Dk),
 *                                                  HF scales q by 1/sqrt(Dk) first: the same)
 * llama.cpp's fused op needs Dk == Dv (one S_v); HF/fla allow Dk != Dv and this code does too. */
void gdn_step_ref(double *o, double *S, const double *q, const double *k, const double *v, const double *g,
                  const double *beta, uint32_t Hk, uint32_t Hv, uint32_t Dk, uint32_t Dv, enum gdn_head_map map,
                  bool gate_per_channel, double scale);

/* y = x / sqrt(mean(x^2) + eps) * w * gate(z), gate = silu (Qwen3-Next, "norm before gate") or
 * sigmoid (sigmoid_gate: KDA). One head of n values; w is the shared [n] ssm_norm weight. */
void gated_rms_norm_ref(double *y, const double *x, const double *z, const double *w, uint32_t n, double eps,
                        bool sigmoid_gate);

#endif
