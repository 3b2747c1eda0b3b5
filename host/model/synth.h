/* Synthetic models: real architectures and real shapes with random weights, written as GGUF in
 * llama.cpp's conventions so that llama.cpp loads and runs them too. Tests and benchmarks use
 * them because no weights can be downloaded here. */
#ifndef VKLLM_SYNTH_H
#define VKLLM_SYNTH_H

#include <stdbool.h>
#include <stdint.h>

#include "model/hparams.h"

struct synth_options {
	const char *arch;       /* NULL: the preset's */
	const char *preset;     /* NULL: a tiny model of arch */
	int type;               /* ggml type of the matrices (loader/quant.h); -1 = f16 */
	bool expert_type_set;   /* the experts in expert_type where the arch's converter fixes their type */
	uint32_t expert_type;   /* (gpt-oss: MXFP4 unless set) */
	uint64_t seed;
	const char *vocab_path; /* a Hugging Face tokenizer.json, or NULL for a synthetic BPE vocabulary */
	const char *out;
	/* overrides of the preset's shape; 0 keeps it */
	uint32_t n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_vocab, n_ctx;
	uint32_t n_expert, n_expert_used, n_ff_exp, n_swa, n_ff_shexp;
	/* MLA and DeepSeek routing (deepseek2): head_dim is then the key per head (nope + rope) */
	uint32_t kv_lora_rank, q_lora_rank, rope_dim, v_head_dim, n_expert_shared, n_dense_lead;
	bool no_q_lora;         /* a plain attn_q, as DeepSeek-V2-Lite */
	bool legacy_kv_b;       /* the legacy fused attn_kv_b instead of attn_k_b / attn_v_b */
	int tied;               /* -1 keep the preset's, 0 untied, 1 tied output */
	bool quiet;
	bool dry_run;           /* plan only: counts and sizes, no file */
};

struct synth_preset {
	const char *name, *arch, *about;
	uint32_t n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_vocab, n_ctx;
	uint32_t n_expert, n_expert_used, n_ff_exp, n_swa;
	float rope_base, norm_eps;
	bool tied;
	float llama3_rope_factor; /* Llama 3.1/3.2 rope_freqs: factor (0 = none), low 1, high 4, original 8192 */
	bool qkv_bias;
	uint32_t n_ff_shexp;      /* the shared expert's FFN (qwen2moe) */
	struct synth_mla {        /* deepseek2: multi-head latent attention and DeepSeek routing */
		uint32_t q_lora, kv_lora, rope, v_head; /* q_lora 0: a plain attn_q (V2-Lite) */
		uint32_t n_shared, n_dense_lead, n_group, n_group_used;
		uint32_t gating;        /* 1 softmax, 2 sigmoid (with a selection bias) */
		bool norm;
		float scale;
		float yarn_factor;      /* 0: no YaRN */
		uint32_t yarn_orig_ctx;
		float mscale_all_dim;
		bool legacy_kv_b;
		uint32_t moe_step;      /* llama4: layer il is MoE iff (il + 1) % moe_step == 0 */
	} mla;
	struct synth_gdn {        /* qwen3next, qwen35*: gated DeltaNet layers (the ssm.* keys) */
		uint32_t d_conv, n_k_heads, n_v_heads, head_dim; /* head_dim: key and value head size (ssm.state_size) */
		uint32_t interval;      /* every interval-th layer is full attention */
		uint32_t n_rot;         /* the full-attention layers' partial RoPE (also glm4moe's and minimax-m2's) */
		uint32_t sections[4];   /* qwen35*: IMROPE sections */
	} gdn;
	struct synth_yarn {       /* YaRN for archs outside deepseek2 (gpt-oss, mistral3): factor 0 = none */
		uint32_t orig_ctx;      /* (first: gcc takes {0} for a struct that starts with an integer) */
		float factor;
		float beta_fast, beta_slow; /* mistral3's rope.scaling.yarn_beta_*: 0 = not written (32, 1) */
		float log_mul;          /* mistral3's rope.scaling.yarn_log_multiplier (mscale_all_dim): 0 = none */
		float temp_scale;       /* mistral3's attention.temperature_scale (llama_4_scaling_beta): 0 = none;
		                         * its floor is orig_ctx (or n_ctx without YaRN) */
	} yarn;
	bool qk_norm;             /* glm4moe: per-head QK-norm tensors (optional in the arch; GLM-4.5 has them) */
	struct synth_grok {       /* grok: the multipliers and softcaps its file carries (0: not written) */
		bool dense;             /* a dense FFN of n_ff beside the experts (residual_moe); first: gcc takes {0} */
		float embed_scale, logit_scale, attn_scale, attn_softcap, final_softcap;
	} grok;
};

/* NULL-terminated list, for --help and errors. */
const struct synth_preset *synth_presets(void);

struct synth_result {
	uint64_t n_params, n_params_active; /* active: a token reads only its experts' slabs */
	uint64_t file_bytes;                /* a dry run: what the file would be */
	uint32_t n_tensors, n_vocab;
	double seconds;
};

int synth_model(const struct synth_options *o, struct synth_result *r);

/* The hyperparameters and layer recipes synth_model would write for o, without the tensors: the
 * full-size presets' shapes for tests of what depends on them alone (the card's KV cache).
 * layers holds MODEL_MAX_LAYERS. */
struct layer_desc;
int synth_hparams(const struct synth_options *o, struct hparams *hp, struct layer_desc *layers);

#endif
