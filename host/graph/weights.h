/* A model's weights on the device: every tensor the layer recipe names, uploaded once into its
 * own device-local buffer. Matrices stay in their file format (the kernels decode blocks in
 * registers); vectors (norms, biases, RoPE frequency factors) become f32 on the way, whatever
 * type the file stores them in, because the small kernels read f32. */
#ifndef VKLLM_WEIGHTS_H
#define VKLLM_WEIGHTS_H

#include "model/model.h"
#include "vk/gpu.h"

/* One tensor on the device. present is false for an optional tensor the file does not have. */
struct weight {
	bool present;
	uint32_t type;          /* ggml type; QT_F32 for every vector */
	uint64_t n_in, n_out;   /* ne[0] (row length) and ne[1] (rows); a vector has n_out 1 */
	uint64_t n_mat;         /* ne[2]: stacked matrices (experts); 1 otherwise */
	uint64_t row_bytes;
	struct gpu_view view;   /* its bytes on the device: all of buf, or its rows of a fused buffer */
	struct gpu_buffer buf;  /* its own buffer, padded to 4 bytes past the data (none when fused) */
};

struct layer_weights {
	struct weight attn_norm, ffn_norm, post_attn_norm, post_ffw_norm;
	struct weight q_norm, k_norm;
	struct weight wq, wk, wv, wo, bq, bk, bv, bo;
	struct weight gate, up, down, gate_b, up_b, down_b;
	struct weight router, gate_exps, up_exps, down_exps; /* mixture of experts */
	struct weight gate_shexp, up_shexp, down_shexp, gate_inp_shexp; /* its shared expert and that one's gate */
	struct weight exp_probs_b;                   /* the router's selection bias (DeepSeek V3) */
	/* gpt-oss: the sinks per head, the router's bias, and the experts' biases [n_expert][rows] */
	struct weight attn_sinks, router_b, gate_exps_b, up_exps_b, down_exps_b;
	/* multi-head latent attention (host/graph/attn_mla.c); wq is a plain attn_q (V2-Lite) */
	struct weight q_a, q_a_norm, q_b;            /* q through its low rank: W_qb rms(W_qa h) */
	struct weight kv_a, kv_a_norm;               /* [c | k_pe] = W_kv_a h, and c's norm */
	struct weight k_b, v_b;                      /* per head: W_UK^T {nope, kv_lora, H}, W_UV {kv_lora, v, H} */
	/* the decompressed form's W_UK [H * nope][kv_lora] and W_UV [H * v][kv_lora] in f32, on devices
	 * whose prefill takes that form (mla_decompress_prefill) */
	struct weight mla_wk, mla_wv;
	/* gated DeltaNet (host/graph/attn_gdn.c): q|k|v before the conv, the output gate z, b and a
	 * (qwen3next's grouped ssm_ba, or qwen35's ssm_beta and ssm_alpha), the conv taps, dt bias, -exp(A_log),
	 * the per-head output norm and the output projection */
	struct weight gdn_qkv, gdn_gate, gdn_ba, gdn_beta, gdn_alpha, gdn_conv, gdn_dt, gdn_a, gdn_norm, gdn_out;
	/* Kimi delta attention (host/graph/attn_kda.c) besides wq|wk|wv, gdn_beta, gdn_dt (per channel),
	 * gdn_a, gdn_norm and wo: the q, k, v conv taps, and the low-rank pairs of the decay (f) and of
	 * the output gate (g) */
	struct weight kda_conv_q, kda_conv_k, kda_conv_v, kda_f_a, kda_f_b, kda_g_a, kda_g_b;
	/* qwen3next's gated attention: attn_q's rows are [query | gate] per head; uploaded as all the
	 * query rows, then all the gate rows (wq the first half, wq_gate the second) */
	struct weight wq_gate;
	/* Gemma 3n (host/graph/altup.c): the per-layer input's gate and projection and its norm; AltUp's
	 * router and its norm, the correction's scale; LAuReL's pair and its norm; AltUp's coefficient
	 * matrices read as f32 vectors ([16][4] predict, [4][4] correct) */
	struct weight ple_gate, ple_proj, ple_norm, altup_router, altup_router_norm, altup_scale;
	struct weight laurel_l, laurel_r, laurel_norm, altup_predict, altup_correct;
	/* Projections of the same input uploaded back to back into one buffer, when they share a type
	 * and a row length: qkv = wq|wk|wv, gate_up = gate|up. Present, it owns the buffer, and the
	 * parts' views are its row ranges; a decode step multiplies it as one matrix (one dispatch
	 * instead of three or two), prefill uses the parts. */
	struct weight qkv, gate_up, gate_up_shexp;
};

struct model_weights {
	struct weight tok_embd, output, output_norm, rope_freqs;
	/* Gemma 3n: AltUp's stream projections {E, E, 3}, the per-layer token embedding {L P, V}, the
	 * model projection {E, L P} and its norm [P] */
	struct weight altup_proj, altup_unembd, ple_embd, ple_model_proj, ple_model_norm;
	const struct weight *lm_head;   /* output, or tok_embd when the output is tied */
	struct layer_weights *layers;   /* [n_layer] */
	uint32_t n_layer;
	uint64_t bytes;                 /* device bytes of all weights */
};

/* Called after each tensor with the bytes uploaded so far out of the total (a progress bar). */
typedef void (*weights_progress_fn)(void *user, uint64_t done, uint64_t total);

/* Uploads every tensor of m. Fails with a message naming the tensor for a type vkllm has no
 * kernel for, or when device memory runs out; nothing stays allocated on failure. */
int model_weights_upload(struct gpu *g, const struct model_file *m, struct model_weights *w,
                         weights_progress_fn progress, void *user);
/* The weight bytes one decode step reads: every layer's matrices and vectors (of a MoE layer, the
 * n_expert_used experts a token is routed to), the final norm, the output matrix, RoPE's frequency
 * factors once, and one row of the embedding table when the output has its own matrix. The KV cache
 * is not counted. */
uint64_t model_weights_decode_bytes(const struct model_weights *w, uint32_t n_expert_used);
void model_weights_free(struct gpu *g, struct model_weights *w);

#endif
