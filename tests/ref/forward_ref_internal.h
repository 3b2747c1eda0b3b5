/* Inside the reference forward pass: the weights of each layer as the recipe names them, the
 * float64 KV cache, and the block functions (forward_ref_layer.c) that forward_ref.c strings
 * together. Not for callers: they use forward_ref.h. */
#ifndef VKLLM_FORWARD_REF_INTERNAL_H
#define VKLLM_FORWARD_REF_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "forward_ref.h"
#include "model/model.h"

/* A weight matrix in its file type: n_mat stacked matrices (experts) of n_out rows of n_in. */
struct ref_matrix {
	const uint8_t *data; /* NULL: absent */
	uint32_t type;
	uint64_t n_in, n_out, n_mat;
	uint64_t row_bytes;
};

/* One layer: matrices stay in the file, vectors (norms, biases) are read once into doubles.
 * A NULL vector or a matrix with data NULL is a tensor the file does not have. */
struct ref_layer {
	const struct layer_desc *d;
	double *attn_norm, *ffn_norm;               /* [n_embd] pre-norms (NORM_PRE, NORM_SANDWICH) */
	double *post_attn_norm, *post_ffw_norm;     /* [n_embd] post-norms (NORM_POST, NORM_SANDWICH) */
	double *q_norm, *k_norm;                    /* [head_dim] per head, or the whole width (QK_NORM_FULL) */
	struct ref_matrix wq, wk, wv, wo;           /* {n_embd, n_head*D}, ..., {n_head*Dv, n_embd} */
	double *bq, *bk, *bv, *bo;                  /* optional biases */
	struct ref_matrix gate, up, down;           /* dense GLU */
	double *gate_b, *up_b, *down_b;             /* optional (llama) */
	struct ref_matrix router;                   /* MoE: {n_embd, n_expert} */
	struct ref_matrix gate_exps, up_exps, down_exps; /* {n_embd, n_ff_exp, n_expert}, ... */
	struct ref_matrix gate_shexp, up_shexp, down_shexp; /* the shared expert (qwen2moe), a dense GLU */
	double *gate_inp_shexp;                     /* [n_embd]: its per-token gate, or NULL */
	double *exp_probs_b;                        /* [n_expert]: the selection bias (DeepSeek V3), or NULL */
	double *router_b;                           /* [n_expert]: ffn_gate_inp.bias, added to the logits (gpt-oss) */
	double *gate_exps_b, *up_exps_b, *down_exps_b; /* [n_expert][n_ff_exp], ..., [n_expert][n_embd] (gpt-oss) */
	double *sinks;                              /* [n_head]: attn_sinks, one logit per query head (gpt-oss) */
	/* multi-head latent attention (ATTN_MLA, forward_ref_mla.c); wq is attn_q when there is no q_a */
	struct ref_matrix wq_a, wq_b;               /* {n_embd, q_lora}, {q_lora, H*Dk} */
	double *q_a_norm, *kv_a_norm;               /* [q_lora], [kv_lora] */
	struct ref_matrix wkv_a;                    /* attn_kv_a_mqa {n_embd, kv_lora + rope} */
	struct ref_matrix wk_b, wv_b;               /* {nope, kv_lora, H} (W_UK[h] transposed), {kv_lora, Dv, H} */
	struct ref_matrix wkv_b;                    /* legacy {kv_lora, H*(nope+Dv)}: per head nope rows of W_UK, Dv of W_UV */
	double *k_cache, *v_cache;                  /* [n_ctx][n_head_kv * head_dim_k|v] (GQA layers) */
	double *lat_cache;                          /* [n_ctx][kv_lora + rope]: [c | roped k_pe] (MLA layers) */
	/* gated DeltaNet (ATTN_GDN, forward_ref_gdn.c): qwen3next's ssm_in {n_embd, Hk*(2Dk + 2rDv)} and
	 * ssm_ba {n_embd, 2Hv}, grouped per key head; or attn_qkv {n_embd, 2HkDk + HvDv} [q | k | v] and
	 * attn_gate {n_embd, HvDv} (z), with qwen35's ssm_beta / ssm_alpha {n_embd, Hv} */
	struct ref_matrix ssm_in, wqkv, wgate, ssm_ba, ssm_beta, ssm_alpha, ssm_out;
	double *conv_w;                             /* ssm_conv1d [conv_dim][d_conv], taps oldest first */
	double *dt_bias, *ssm_a, *ssm_norm;         /* [Hv] ssm_dt.bias, [Hv] ssm_a (= -exp(A_log)), [Dv] */
	double *conv_state;                         /* [d_conv - 1][conv_dim]: the last pre-conv inputs */
	double *ssm_state;                          /* [Hv][Dk][Dv]: S, key index i, value index j */
	/* Kimi delta attention (ATTN_KDA, forward_ref_kda.c), H heads of D: wq, wk, wv, wo are attn_q/k/v
	 * {n_embd, H*D} and attn_output; ssm_beta {n_embd, H}; conv_w holds ssm_conv1d_q, _k, _v one after
	 * the other ([3 H D][d_conv], conv_state [d_conv - 1][3 H D]); dt_bias [H*D], ssm_a [H], ssm_norm
	 * [D]; ssm_state [H][D][D] */
	struct ref_matrix ssm_f_a, ssm_f_b;         /* the decay's low rank: {n_embd, D}, {D, H*D} */
	struct ref_matrix ssm_g_a, ssm_g_b;         /* the output gate's low rank: {n_embd, D}, {D, H*D} */
};

struct ref_forward {
	const struct model_file *m;
	const struct hparams *hp;
	uint32_t n_ctx;
	struct ref_matrix tok_embd, output;          /* output is token_embd when tied */
	double *output_norm;                         /* [n_embd] */
	double *rope_freqs;                          /* [n_rot/2] Llama 3.1 divisors, or NULL */
	double ext_factor, attn_factor;              /* YaRN, as llama_context derives them */
	double mla_kq_scale;                         /* MLA's softmax scale, with deepseek2's YaRN mscale */
	enum ref_mla_form mla_form;
	struct ref_layer *layers;                    /* [n_layer] */
	enum ref_numerics numerics;
	bool kv_f16;                                 /* keys and values rounded to f16 in the cache */
	float *row;                                  /* one dequantized weight row */
	double *xq;                                  /* REF_LLAMA_CPU: a matmul's rounded input */
	float *xtmp;
	double *hidden;                              /* [n_layer + 1][n_embd], last token of the last batch */
	/* one token's scratch, sized for the widest layer */
	double *h, *q, *k, *v, *att, *proj, *ff_gate, *ff_up, *ff_out, *scores, *router;
	double *moe_in; /* an expert's input times its weight (Llama 4) */
	double *q_abs, *o_lat, *q_pe, *kd, *vd;      /* MLA: [H][kv_lora] x2, [H][rope], one head's K and V */
	double *gate;                                /* gated attention: [H][D] sigmoid gate */
	/* gated DeltaNet: the ssm_in output, [q | k | v] before and after the conv, z, b, a, g, beta, o */
	double *gdn_mixed, *gdn_qkv, *gdn_conv, *gdn_z, *gdn_b, *gdn_a, *gdn_g, *gdn_beta, *gdn_o;
	/* KDA: [q | k | v] before and after the conv, the per-channel log-decay, the output gate, o, beta,
	 * the low-rank middle (f_a h, g_a h) */
	double *kda_qkv, *kda_conv, *kda_g, *kda_gate, *kda_o, *kda_beta, *kda_low;
	struct ref_altup *altup;                     /* Gemma 3n: AltUp, LAuReL, per-layer inputs (forward_ref_altup.c) */
	uint32_t n_past;                             /* recurrent models: the next position (the state holds 0..n_past-1) */
	bool recurrent;                              /* some layer is ATTN_GDN or ATTN_KDA */
};

/* y[r] = sum_i W[mat][r][i] x[i] over the rows of matrix `mat`, in double. */
int ref_matvec(struct ref_forward *f, double *y, const struct ref_matrix *w, uint64_t mat, const double *x);
/* y = x / sqrt(mean(x^2) + eps) * w (w NULL: no weight); y may be x. */
void ref_rms_norm(double *y, const double *x, const double *w, uint32_t n, double eps);

/* RoPE as ggml_rope_ext computes it (ggml-cpu/ops.cpp rope_yarn): the first n_rot dims of each
 * of n_heads heads of x, head_dim apart, rotated by position pos. */
struct ref_rope_params {
	bool neox;                 /* pairs (i, i + n_rot/2); else (2i, 2i+1) */
	const uint32_t *sections;  /* IMROPE (qwen35): [4] rope.dimension_sections, or NULL */
	uint32_t n_rot, n_ctx_orig;
	double base, freq_scale, ext_factor, attn_factor;
	float beta_fast, beta_slow; /* YaRN's ramp: llama.cpp's 32 and 1 unless the file says (mistral3) */
	const double *ff;          /* [n_rot/2] frequency divisors, or NULL */
};
/* The parameters layer d's RoPE runs with. */
void ref_rope_params(const struct ref_forward *f, const struct layer_desc *d, struct ref_rope_params *p);
void ref_rope(double *x, uint32_t n_heads, uint32_t head_dim, uint32_t pos, const struct ref_rope_params *p);
/* llm_graph_input_attn_temp's factor for the token at pos (mistral3, Llama 4): what q is
 * multiplied by after RoPE on layers with layer_desc.attn_temp; 1 where hp has no temperature */
double ref_attn_temp(const struct hparams *hp, uint32_t pos);
/* An f32 value rounded to f16 and back: what an f16 cache keeps. */
double ref_f16(double x);

/* The two blocks of a layer, on one token's residual stream x [n_embd] at position pos; each
 * adds its output to x. Attention first writes the token's key and value into the cache. */
int ref_attention_block(struct ref_forward *f, uint32_t il, double *x, uint32_t pos);
int ref_ffn_block(struct ref_forward *f, uint32_t il, double *x);
/* The attention block of an ATTN_MLA layer (forward_ref_mla.c), called by ref_attention_block;
 * the scale of its softmax on a roped layer (deepseek2's kq_scale, from the YaRN parameters
 * already in f; a layer without RoPE, kimi-linear's, uses 1/sqrt(key_length_mla) in f32). */
int ref_mla_block(struct ref_forward *f, uint32_t il, double *x, uint32_t pos);
double ref_mla_kq_scale(const struct ref_forward *f);
/* Gated DeltaNet (forward_ref_gdn.c): an ATTN_GDN layer's weights and its zeroed recurrent state
 * (load_layer calls it), the scratch for the widest such layer, and the block itself, which
 * ref_attention_block calls: one token in, the conv and delta-rule states advanced by one. */
int ref_gdn_load(struct ref_forward *f, uint32_t il);
int ref_gdn_scratch(struct ref_forward *f);
void ref_gdn_free(struct ref_forward *f);
int ref_gdn_block(struct ref_forward *f, uint32_t il, double *x);
/* Kimi delta attention (forward_ref_kda.c), the same four for an ATTN_KDA layer. */
int ref_kda_load(struct ref_forward *f, uint32_t il);
int ref_kda_scratch(struct ref_forward *f);
void ref_kda_free(struct ref_forward *f);
int ref_kda_block(struct ref_forward *f, uint32_t il, double *x);

/* Weights by their name in layer il (il < 0: a global tensor): a matrix left in the file type
 * (data NULL when absent), or a tensor of any shape read into doubles (*out NULL when absent). */
int ref_load_matrix(struct ref_forward *f, struct ref_matrix *w, int il, const char *name);
/* The embedding of token (times the arch's embedding scale) into x [n_embd]. */
int ref_embed(struct ref_forward *f, double *x, uint32_t token);
/* output_norm, the LM head, the logit scale and the final softcap: logits [n_vocab] from x [n_embd]. */
int ref_head(struct ref_forward *f, double *logits, const double *x);
/* GELU as the numerics say (tanh form; llama.cpp's f16 table in REF_LLAMA_CPU). */
double ref_gelu(const struct ref_forward *f, double x);
/* Gemma 3n (forward_ref_altup.c): its weights, and the whole batch through AltUp's streams, in
 * place of forward_ref.c's layer loop (x [n][n_embd] receives the merged stream before the head). */
int ref_altup_load(struct ref_forward *f);
void ref_altup_free(struct ref_forward *f);
int ref_altup_batch(struct ref_forward *f, double *x, const uint32_t *tokens, uint32_t n, uint32_t pos0, double *logits,
                    bool all_logits);
int ref_load_vector(struct ref_forward *f, double **out, int il, const char *name);

/* REF_LLAMA_CPU (forward_ref_llama_cpu.c): y = x as llama.cpp's CPU backend feeds it to a dot
 * product with weights of weight_type (tmp: n floats of scratch); GELU as its f16 table gives it. */
void ref_llama_cpu_activations(double *y, float *tmp, const double *x, uint64_t n, uint32_t weight_type);
double ref_llama_cpu_gelu(double x);

#endif
