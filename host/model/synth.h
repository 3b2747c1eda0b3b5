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
	uint64_t seed;
	const char *vocab_path; /* a Hugging Face tokenizer.json, or NULL for a synthetic BPE vocabulary */
	const char *out;
	/* overrides of the preset's shape; 0 keeps it */
	uint32_t n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_vocab, n_ctx;
	uint32_t n_expert, n_expert_used, n_ff_exp, n_swa, n_ff_shexp;
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

#endif
