/* Architectures as data: each one is its GGUF name, its own hyperparameter keys, a function that
 * finishes the hyperparameters (llama.cpp's load_arch_hparams), and a function that says which
 * blocks layer il has. The tensor list, the shape check, synth and the architecture card are all
 * derived from these, so adding an architecture is writing one `struct arch` (design: the layer
 * recipe of DESIGN.md). */
#ifndef VKLLM_ARCH_H
#define VKLLM_ARCH_H

#include "model/hparams.h"

/* pairs (2i, 2i+1) vs (i, i + n_rot/2). ROPE_IMROPE (qwen35*: llama.cpp's LLAMA_ROPE_TYPE_IMROPE) pairs as
 * NEOX, but pair i takes its position from section rope_imrope_section(hp->rope_sections, i): text
 * tokens have positions (p, p, p, 0), so pairs in sections 0-2 rotate as NEOX and a pair in
 * section 3 does not rotate at all. Qwen3.5's [11, 11, 10, 0] over 32 pairs has none in section 3. */
enum rope_kind { ROPE_NORM, ROPE_NEOX, ROPE_IMROPE };
enum attn_kind {
	ATTN_GQA, /* GQA/MHA/MQA over a K and V cache (host/graph/forward.c) */
	ATTN_MLA, /* multi-head latent attention over one latent cache (host/graph/attn_mla.c) */
	ATTN_GDN, /* gated DeltaNet linear attention with its short conv and recurrent state (host/graph/attn_gdn.c) */
	ATTN_KDA, /* Kimi delta attention: DeltaNet with a per-channel decay, q/k/v convs, low-rank gates (host/graph/attn_kda.c) */
};
/* Whether a layer carries a recurrent state (conv + delta-rule S) instead of a KV cache. */
static inline bool attn_is_recurrent(enum attn_kind k) { return k == ATTN_GDN || k == ATTN_KDA; }
/* Whether a MoE layer has the router's selection bias exp_probs_b.bias (DeepSeek V3, Kimi). */
enum moe_bias { MOE_BIAS_NONE, MOE_BIAS_OPTIONAL /* synth writes it for sigmoid routing */, MOE_BIAS_REQUIRED };
enum ffn_kind { FFN_GLU, FFN_MOE };
enum glu_act {
	ACT_SILU,       /* SwiGLU */
	ACT_GELU_TANH,  /* GeGLU */
	ACT_SWIGLU_OAI, /* gpt-oss: min(g, 7) sigmoid(1.702 min(g, 7)) (clamp(u, -7, 7) + 1) */
};
enum norm_place {
	NORM_PRE,      /* x + f(norm(x)): Llama, Qwen */
	NORM_POST,     /* x + norm(f(x)): OLMo 2 (no input norms) */
	NORM_SANDWICH, /* x + norm(f(norm(x))): Gemma 3 */
};
enum qk_norm {
	QK_NORM_NONE,
	QK_NORM_HEAD, /* {head_dim}, per head */
	QK_NORM_FULL, /* whole projection */
	QK_NORM_L2,   /* weightless, per head, after RoPE (Llama 4's "L2 norm", an RMSNorm without weight) */
};

/* The blocks of one layer, with the numbers they need. */
struct layer_desc {
	enum attn_kind attn;
	enum ffn_kind ffn;
	enum norm_place norm;
	enum qk_norm qk_norm;
	enum glu_act act;
	bool rope;              /* false: a NoPE layer */
	bool swa;               /* sliding window of hp->n_swa */
	bool chunked;           /* attention within hp->n_chunk-token chunks (Llama 4's RoPE layers) */
	bool rope_plain;        /* RoPE without YaRN and with magnitude 1 (OLMo 3's sliding layers) */
	bool shexp;             /* a MoE layer's shared expert: a dense GLU of n_ff_shexp beside the routed ones */
	bool shexp_gate;        /* its output times sigmoid(ffn_gate_inp_shexp . h) (qwen2moe) */
	bool attn_out_gate;     /* attn_q's rows per head are [query | gate]: o *= sigmoid(gate) (qwen3next, qwen35*) */
	bool ffn_norm_post_attn; /* NORM_PRE whose pre-FFN norm is the tensor post_attention_norm, not ffn_norm
	                          * (qwen3next, qwen35*, gpt-oss: llama.cpp's attn_post_norm) */
	bool attn_sinks;        /* a learned logit per head joins each softmax's denominator (gpt-oss's attn_sinks) */
	bool attn_temp;         /* q times the position's temperature after RoPE (hp->attn_temp_*: mistral3, Llama 4's NoPE layers) */
	bool moe_dense;         /* a MoE layer's dense GLU of n_ff beside the experts: (dense + moe) / sqrt(2) (grok) */
	bool altup;             /* Gemma 3n: the layer runs on AltUp's streams, with LAuReL and its per-layer input */
	bool kv_shared;         /* no KV cache of its own: attention reads layer kv_from's (Gemma 3n's last layers) */
	uint32_t kv_from;
	bool v_norm;            /* v through a weightless RMSNorm per head (Gemma 3n) */
	bool act_sparsity;      /* the GLU's gate cut at mean + 1.6449 std before the activation (Gemma 3n) */
	float rope_base, rope_freq_scale;
	uint32_t n_head, n_head_kv, n_ff;
};

struct gguf_file;

struct arch {
	const char *name;       /* general.architecture */
	const char *family;     /* for people: "Qwen3", "Llama 3 / Mistral" */
	enum rope_kind rope;
	bool output_required;   /* false: output.weight may be absent (tied to token_embd) */
	bool qkv_bias;          /* synth writes attn_{q,k,v}.bias (Qwen2); readers accept them on every arch */
	bool q_is_n_embd;       /* llama.cpp sizes Q as n_embd: n_head * head_dim must equal it */
	bool moe_renorm;        /* the chosen experts' weights are renormalized to sum 1 (qwen3moe; not qwen2moe) */
	bool gdn_heads_tiled;   /* gated DeltaNet: value head h reads key head h % Hk (Qwen3.5), else h / (Hv/Hk) */
	enum moe_bias moe_bias; /* the selection bias exp_probs_b of MoE layers */
	bool attn_out_bias;     /* attn_output.bias required (gpt-oss); llama accepts it optionally */
	bool moe_biases;        /* the router and every expert's gate, up and down have biases (gpt-oss) */
	bool moe_softmax_weight; /* top-k on the (biased) router logits, then a softmax over the chosen k (gpt-oss) */
	bool experts_mxfp4;     /* the converter writes the experts in MXFP4 whatever the other types (gpt-oss) */
	bool moe_weight_input;  /* top-k on the raw logits, the sigmoid weight multiplied into the expert's input, the
	                         * outputs summed as they are (Llama 4) */
	bool rope_freqs;        /* an optional rope_freqs.weight (llama, mistral3, llama4) */
	bool attn_output_norm;  /* the sandwich's post-attention norm is attn_output_norm, not post_attention_norm (grok) */
	const struct hp_key *keys;
	/* After the generic and table keys: defaults, derived values, checks. f is NULL in synth. */
	int (*finish)(struct hparams *hp, const struct gguf_file *f);
	void (*layer)(const struct hparams *hp, uint32_t il, struct layer_desc *d);
};

/* How a MoE layer routes a token (llama.cpp's build_moe_ffn): probabilities by softmax over all
 * experts or by sigmoid, selection on them plus the optional bias (exp_probs_b) within the best
 * n_group_used of n_group groups, then the chosen probabilities, renormalized if norm, times scale. */
struct moe_routing {
	bool sigmoid;
	bool softmax_weight; /* select on the logits, weights = softmax over the chosen (gpt-oss) */
	bool weight_input;   /* select on the logits, weights = their sigmoid, on the expert's input (Llama 4) */
	bool norm;
	float scale;
	uint32_t n_group, n_group_used; /* n_group <= 1: no groups */
};
void arch_moe_routing(const struct arch *a, const struct hparams *hp, struct moe_routing *r);

const struct arch *arch_find(const char *name);
/* All architectures, NULL-terminated, for listings. */
const struct arch *const *arch_all(void);

/* For archs whose llama.cpp loader sizes Q and the attention output by n_embd (qwen2, olmo2):
 * refuses hyperparameters where n_head * head_dim differs, naming both. f may be NULL. */
int arch_check_q_width(const struct hparams *hp, const struct gguf_file *f);

/* A tensor of layer il whose dimension d must equal `want`, which the key (or formula over keys)
 * `what` says: the refusal names the key, the tensor and both numbers. Absent tensors pass (the
 * generic check names what is missing). */
int arch_check_dim(const struct gguf_file *f, uint32_t il, const char *suffix, int d, uint64_t want, const char *what);

/* IMROPE: which position section (0-3, ggml_mrope_cache_init's t, h, w, e) rotates pair i. */
uint32_t rope_imrope_section(const uint32_t sections[4], uint32_t pair);

/* Gemma 3's layer (sandwich norms, per-head QK-norm, GeGLU, sliding layers with their own RoPE
 * base), shared by gemma3 and gemma3n. */
void gemma_layer(const struct hparams *hp, uint32_t il, struct layer_desc *d);

/* The common part of every layer: heads and FFN size from hp, RoPE on, no window. */
void layer_defaults(const struct hparams *hp, uint32_t il, struct layer_desc *d);

#endif
