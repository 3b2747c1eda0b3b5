/* Hyperparameters of a model, read from GGUF metadata under llama.cpp's key names
 * ("{arch}.embedding_length", ...) with llama.cpp's defaults, and written back the same way by
 * `vkllm synth`. One struct for every architecture: fields an arch does not use stay zero. */
#ifndef VKLLM_HPARAMS_H
#define VKLLM_HPARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MODEL_MAX_LAYERS 512 /* llama.cpp's LLAMA_MAX_LAYERS */

enum rope_scaling { ROPE_SCALING_NONE, ROPE_SCALING_LINEAR, ROPE_SCALING_YARN, ROPE_SCALING_LONGROPE };

struct hparams {
	char arch[32];
	char name[96];              /* general.name, "" when absent */
	uint32_t n_vocab;           /* {arch}.vocab_size, else the tokenizer's token count */
	uint32_t n_ctx_train;       /* context_length */
	uint32_t n_embd;            /* embedding_length */
	uint32_t n_layer;           /* block_count */
	uint32_t n_head[MODEL_MAX_LAYERS];    /* attention.head_count (scalar or per-layer array) */
	uint32_t n_head_kv[MODEL_MAX_LAYERS]; /* attention.head_count_kv, default n_head; 0 marks a recurrent
	                                       * layer of a hybrid (kimi-linear), refused on attention layers */
	uint32_t n_ff[MODEL_MAX_LAYERS];      /* feed_forward_length */
	uint32_t head_dim_k;        /* attention.key_length, default n_embd / n_head */
	uint32_t head_dim_v;        /* attention.value_length, default n_embd / n_head */
	uint32_t n_rot;             /* rope.dimension_count, default head_dim_k */
	float norm_eps;             /* attention.layer_norm_rms_epsilon */

	/* RoPE: full-attention layers, and sliding-window layers where the arch gives them their own */
	float rope_base;            /* rope.freq_base, default 10000 */
	float rope_freq_scale;      /* 1 / rope.scaling.factor */
	enum rope_scaling rope_scaling; /* rope.scaling.type, default linear */
	uint32_t n_ctx_orig_yarn;   /* rope.scaling.original_context_length, default n_ctx_train */
	float rope_attn_factor;     /* rope.scaling.attn_factor, default 1 */
	float rope_base_swa;        /* rope.freq_base_swa (gemma3 default 10000) */
	float rope_freq_scale_swa;  /* 1 on sliding layers (gemma3, olmo2) */

	/* sliding-window attention */
	uint32_t n_swa;             /* attention.sliding_window, 0 = none */
	uint32_t swa_pattern;       /* attention.sliding_window_pattern (scalar): il % P < P-1 is local */
	bool is_swa[MODEL_MAX_LAYERS];
	uint32_t n_chunk;           /* chunked attention (Llama 4, llama.cpp's LLAMA_SWA_TYPE_CHUNKED): a query
	                             * sees the keys of its own n_chunk-token chunk; on layers whose
	                             * layer_desc.chunked is set */

	/* mixture of experts */
	uint32_t n_expert;          /* expert_count */
	uint32_t n_expert_used;     /* expert_used_count */
	uint32_t n_ff_exp;          /* expert_feed_forward_length */
	uint32_t n_ff_shexp;        /* expert_shared_feed_forward_length: the shared expert's FFN (qwen2moe);
	                             * deepseek2 derives it as n_ff_exp * n_expert_shared */
	uint32_t n_expert_shared;   /* expert_shared_count: shared experts beside the routed ones (deepseek2) */
	uint32_t n_expert_groups;   /* expert_group_count: group-limited routing when > 1 (DeepSeek V3) */
	uint32_t n_group_used;      /* expert_group_used_count: the groups a token may choose from */
	uint32_t expert_gating;     /* expert_gating_func, llama.cpp's enum: 0 unset, 1 softmax, 2 sigmoid */
	bool expert_weights_norm;   /* expert_weights_norm: the chosen weights divided by their sum */
	float expert_weights_scale; /* expert_weights_scale: then multiplied by it; 0 = 1 */
	uint32_t n_layer_dense_lead; /* leading_dense_block_count: the first layers have a dense FFN */
	uint32_t n_moe_layer_step;  /* interleave_moe_layer_step (Llama 4): layer il is MoE iff (il + 1) % step == 0 */

	/* multi-token prediction: block_count counts these blocks after the trunk; they are loaded
	 * and skipped (n_layer is the trunk) */
	uint32_t n_layer_nextn;     /* nextn_predict_layers */

	/* multi-head latent attention (deepseek2). In an MLA file head_dim_k/_v are the latent cache
	 * row (kv_lora_rank + rope dims, and kv_lora_rank) and the per-head sizes are the _mla keys;
	 * a legacy file (attn_kv_b, no _mla keys) has per-head sizes in head_dim_k/_v. */
	uint32_t n_lora_q;          /* attention.q_lora_rank: 0 = a plain attn_q (V2-Lite) */
	uint32_t n_lora_kv;         /* attention.kv_lora_rank: the latent width */
	uint32_t head_dim_k_mla;    /* attention.key_length_mla: nope + rope per head */
	uint32_t head_dim_v_mla;    /* attention.value_length_mla */
	float rope_yarn_log_mul;    /* rope.scaling.yarn_log_multiplier as the file stores it: deepseek2's converter
	                             * writes 0.1 * mscale_all_dim (llama.cpp divides it back, TAG_DEEPSEEK2_YARN_LOG_MUL_FIX),
	                             * mistral3's mscale_all_dim itself (fwd_rope_yarn) */
	float yarn_beta_fast;       /* rope.scaling.yarn_beta_fast (mistral3, grok); 0 = llama.cpp's default 32 */
	float yarn_beta_slow;       /* rope.scaling.yarn_beta_slow (mistral3); 0 = llama.cpp's default 1 */
	float yarn_ext_factor;      /* rope.scaling.yarn_ext_factor (grok); < 0: not in the file (1 with YaRN, else 0) */
	float yarn_attn_factor;     /* rope.scaling.yarn_attn_factor (grok): the rope's magnitude where ext_factor is 0;
	                             * llama.cpp replaces it whenever ext_factor is not 0 (fwd_rope_yarn). Default 1 */

	/* attention temperature (llama.cpp's llm_graph_input_attn_temp): after RoPE, q of the token at
	 * position p is multiplied by log(floor((p + offset) / floor_scale) + 1) * scale + 1 on the layers
	 * whose layer_desc.attn_temp is set. mistral3: attention.temperature_scale, floor_scale =
	 * rope.scaling.original_context_length, offset 0; Llama 4: 0.1, 8192, 1 on its NoPE layers */
	float attn_temp_scale;      /* 0 = none */
	uint32_t attn_temp_floor;   /* n_attn_temp_floor_scale */
	uint32_t attn_temp_offset;  /* f_attn_temp_offset (a whole number in every arch that has it) */

	/* gated DeltaNet linear attention (qwen3next, qwen35, qwen35moe; docs/deltanet.md) */
	uint32_t ssm_d_conv;        /* ssm.conv_kernel: the short causal convolution's width (4) */
	uint32_t ssm_d_inner;       /* ssm.inner_size: value heads x head_v_dim */
	uint32_t ssm_d_state;       /* ssm.state_size: head_k_dim (= head_v_dim) */
	uint32_t ssm_dt_rank;       /* ssm.time_step_rank: value heads */
	uint32_t ssm_n_group;       /* ssm.group_count: key heads */
	uint32_t full_attn_interval; /* full_attention_interval (default 4): every Nth layer is full attention */
	bool is_recurrent[MODEL_MAX_LAYERS]; /* attention.recurrent_layers, else (il + 1) % interval != 0 */
	uint32_t rope_sections[4];  /* rope.dimension_sections (qwen35's IMROPE) */
	/* Kimi Linear's KDA layers reuse the fields above: ssm_d_state = kda.head_dim (key = value head
	 * size), ssm_dt_rank = ssm_n_group = head_count (one key head per value head), and a layer is
	 * recurrent where head_count_kv is 0 (llama.cpp's hybrid rule, as Jamba): then
	 * attention.recurrent_layers is not written */
	bool recurrent_by_kv_heads;

	bool qk_norm_head;          /* glm4moe: the file has the optional per-head QK-norm tensors */

	/* Gemma 3n (docs/gemma3n.md): AltUp's streams, LAuReL, per-layer inputs, KV sharing; llama.cpp
	 * hard-codes these (llama-hparams.h, models.h) and vkllm checks the file's keys agree */
	uint32_t n_altup;           /* altup.num_inputs: 4 streams */
	uint32_t altup_active;      /* altup.active_idx: 0, the stream the layer computes on */
	uint32_t n_embd_per_layer;  /* embedding_length_per_layer_input: 256 */
	uint32_t laurel_rank;       /* 64 (laurel_l's rows) */
	uint32_t n_layer_kv;        /* the first 20 layers own a KV cache; the others read layer 18's (sliding) or 19's */
	uint32_t n_layer_sparse;    /* the first 10 layers cut their FFN gate at mean + 1.6449 std */

	/* arch specifics */
	uint32_t nope_every;        /* smollm3: every 4th layer has no RoPE (not in GGUF, hard-coded) */
	float attn_scale;           /* q scale; 0 means 1/sqrt(head_dim_k) */
	float embed_scale;          /* tokens' embeddings are multiplied by it (gemma3 sqrt(n_embd)); 0 = 1 */
	float final_softcap;        /* final_logit_softcapping, 0 = none */
	float logit_scale;          /* logit_scale: the LM head's logits times it, before the final softcap (grok); 0 = 1 */
	float attn_softcap;         /* attn_logit_softcapping: scores c tanh(s / c) before the softmax (grok); 0 = none */
	bool moe_dense;             /* grok: a dense GLU (ffn_gate/up/down) beside the experts, (dense + moe) / sqrt(2) */
};

struct gguf_file;
struct gguf_writer;

/* What kind of value a key holds, for the per-arch key tables. */
enum hp_kind { HP_U32, HP_F32, HP_BOOL };

/* One architecture-specific key: "{arch}.<suffix>" read into (or written from) the field at
 * `offset` of struct hparams. Optional keys are written by synth only when the field is non-zero. */
struct hp_key {
	const char *suffix;
	enum hp_kind kind;
	size_t offset;
	bool required;
	bool write_zero;   /* synth writes it even when zero (deepseek2's q_lora_rank 0: a plain attn_q) */
};
#define HP_KEY(suffix, kind, field, required) {suffix, kind, offsetof(struct hparams, field), required, false}
#define HP_KEY_W0(suffix, kind, field) {suffix, kind, offsetof(struct hparams, field), false, true}

/* Reads the generic keys (llama_model_base::load_hparams) and then the arch's table. */
int hparams_load(struct hparams *hp, const struct gguf_file *f, const struct hp_key *arch_keys);
/* Writes the generic keys and the arch's table: the inverse of hparams_load. */
void hparams_write(const struct hparams *hp, struct gguf_writer *w, const struct hp_key *arch_keys);
/* Sets per-layer is_swa from swa_pattern the way llama.cpp's set_swa_pattern does. */
void hparams_set_swa_pattern(struct hparams *hp, uint32_t pattern);
/* "{arch}.attention.sliding_window_pattern": a bool per layer (OLMo 3), a period (scalar), or
 * absent (then `default_period`), as llama.cpp's load_swa_pattern. f may be NULL (synth). */
int hparams_load_swa_pattern(struct hparams *hp, const struct gguf_file *f, uint32_t default_period);

/* MLA: per-head key (nope + rope) and value sizes, and whether the file is in the split
 * attn_k_b / attn_v_b form (the _mla keys present) rather than the legacy attn_kv_b one. */
uint32_t hparams_mla_head_k(const struct hparams *hp);
uint32_t hparams_mla_head_v(const struct hparams *hp);
bool hparams_is_mla(const struct hparams *hp);

#endif
