/* An inference context: a model's weights on the device, its KV cache, the activation buffers,
 * and the recorded graphs that run chunks of tokens through it (host/graph/forward.h).
 *
 * Tokens go in at the next free position (n_past) in chunks of at most n_batch; the graphs are
 * recorded once per chunk size on first use and replayed after that. A chunk size is 1 or a
 * power of two up to n_batch (or n_batch itself), and a longer input is split greedily into those
 * sizes, so a prompt of 37 tokens runs as 32 + 4 + 1 with no padding and never more than about
 * log2(n_batch) graphs exist. docs/graph.md has the reasons. */
#ifndef VKLLM_SESSION_H
#define VKLLM_SESSION_H

#include <stdio.h>

#include "graph/forward.h"

#define SESSION_MAX_SIZES 24

struct session_options {
	uint32_t n_ctx;          /* positions; 0: min(the model's training context, 4096) */
	uint32_t n_batch;        /* largest chunk; 0: 512 */
	enum attn_kv_type kv_type;
	bool all_logits;         /* keep every token's logits (perplexity, tests); costs n_batch rows */
	uint32_t n_cand;         /* top-k candidates of the last token, 1..64; 0: 64 */
	bool profile;            /* GPU timestamps around every dispatch, summed by session_profile_print */
	bool span;               /* GPU timestamps around every graph: session_last_span */
};

/* GPU time summed per kernel and per part of the model (embedding, layers, head). */
#define SESSION_PROFILE_MAX 64
struct session_profile_entry {
	const char *kernel;
	uint32_t part;            /* 0 embedding, 1 layers, 2 head */
	double ns;
	uint64_t count;
	uint64_t bytes;           /* bytes moved, summed over the calls whose op said (0: none did) */
};

struct session {
	struct gpu *g;
	const struct model_file *m;
	struct fwd_state fs;
	uint32_t sizes[SESSION_MAX_SIZES], n_sizes;     /* chunk sizes, ascending */
	struct fwd_graph last[SESSION_MAX_SIZES];       /* recorded on first use */
	struct fwd_graph all[SESSION_MAX_SIZES];
	uint32_t n_past;          /* positions 0..n_past-1 are in the cache */
	uint32_t *history;        /* [n_ctx]: the tokens at positions 0..n_past-1 (a recurrent model's rewind reruns them) */
	uint64_t kv_bytes, scratch_bytes;
	double record_seconds;    /* time spent recording graphs (they are recorded once) */
	uint32_t n_graphs;        /* graphs recorded so far */
	struct session_profile_entry prof[SESSION_PROFILE_MAX];
	uint32_t n_prof;
	double prof_ns;           /* all profiled GPU time */
	uint64_t prof_tokens[2];  /* tokens run in chunks of 1 (decode) and of more */
	uint64_t prof_skipped;    /* tokens of first replays left out (CPU devices compile kernels then) */
	uint64_t prof_untimed;    /* dispatches beyond a recording's timestamp capacity */
	uint64_t prof_decode_bytes; /* the byte counts of the decode (one-token) graphs' timed kernels */
	const struct fwd_graph *last_run; /* the graph session_eval ran last */
};

/* w must stay uploaded while the session lives. */
int session_create(struct session *s, struct gpu *g, const struct model_file *m, const struct model_weights *w,
                   const struct session_options *o);
void session_destroy(struct session *s);

/* Runs tokens[0..n) at positions n_past..n_past+n-1 and advances n_past. With all_logits (the
 * session must have been made with it), logits [n][n_vocab] receives every token's logits;
 * otherwise logits (if not NULL) receives the last token's [n_vocab]. The top-k candidates of the
 * last token are then in session_candidates. VKLLM_E_CONTEXT_FULL, with nothing run, when the
 * tokens do not fit. */
int session_eval(struct session *s, const uint32_t *tokens, uint32_t n, bool all_logits, float *logits);
/* The last token's candidates, best first (ties to the lower id): n_cand ids and logits. */
void session_candidates(const struct session *s, const uint32_t **ids, const float **logits);
/* With profile on: a table of GPU time per kernel and part, sorted by time, to f. */
void session_profile_print(const struct session *s, FILE *f);
void session_profile_reset(struct session *s);
/* With span on: the GPU time of the last graph run (a decode token's whole step), from its first
 * command to the end of its last, and its dispatches and barriers. */
int session_last_span(const struct session *s, double *ns, uint32_t *dispatches, uint32_t *barriers);

/* Forgets positions from n_past on. With attention only, the KV rows past it are simply overwritten
 * by the next eval; a model with recurrent layers (gated DeltaNet) restarts its state from zero and
 * reruns the kept tokens (docs/deltanet.md), so this may run the device and fail. */
int session_rewind(struct session *s, uint32_t n_past);

#endif
