/* What `run`, `perplexity` (and later `chat` and `bench -m`) share: a model opened, its tokenizer,
 * the device, the weights uploaded with a progress bar on a terminal, and a session. */
#ifndef VKLLM_CLI_ENGINE_H
#define VKLLM_CLI_ENGINE_H

#include "graph/weights.h"
#include "model/model.h"
#include "run/sampler.h"
#include "run/session.h"
#include "run/tokenizer.h"

struct engine_options {
	const char *model;
	int device_index;            /* -1: choose */
	struct session_options session;
	bool quiet;                  /* no progress bar, no load line */
};

struct engine {
	struct gpu g;
	struct model_file m;
	struct tokenizer *tok;
	struct model_weights w;
	struct session s;
	bool gpu_open, model_open, weights_open, session_open;
	double load_seconds;         /* open, upload and session, wall time */
};

/* Opens everything; on failure what was opened is closed again and the message says what failed. */
int engine_open(struct engine *e, const struct engine_options *o);
/* Closes everything; returns VKLLM_E_VALIDATION when the validation layer said anything. */
int engine_close(struct engine *e);

/* The bytes of a file (- for standard input), appended to out. */
int cli_read_file(const char *path, struct tok_text *out);
double cli_now(void);
/* Parses --cache-type f16|f32. */
bool cli_parse_cache_type(const char *s, enum attn_kv_type *out);

/* The flags every generating verb shares (run, chat): -c -b --cache-type --device and the sampling
 * chain (--temp --top-k --top-p --min-p --repeat-penalty --repeat-last-n -s). a is the flag, v the
 * next argument or NULL. Returns 1 when a was one of them and took v, 0 when it is none of them,
 * or 2 (the usage exit code, after a one-line message) for a bad or missing value. */
int cli_parse_shared_flag(const char *verb, const char *a, const char *v, struct engine_options *eo,
                          struct sampler_params *sp);
/* The candidates the GPU hands the sampler: the best one when greedy, else what top-k keeps (at
 * most 64); a repetition penalty reorders them, so it gets all 64. */
uint32_t cli_n_candidates(const struct sampler_params *sp);

#endif
