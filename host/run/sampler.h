/* Choosing the next token from the top-k candidates the GPU computed (DESIGN.md: top-k on the
 * GPU, the final draw on the host). The chain and its defaults are llama.cpp's (common/sampling):
 * repetition penalty, top-k, top-p, min-p, temperature, then a seeded draw; temperature 0 is
 * greedy (the first candidate). The draws use vkllm's own generator, so the same seed gives the
 * same tokens in vkllm, not the tokens llama.cpp's std::mt19937 would give.
 *
 * The GPU hands over at most 64 candidates, so --top-k above 64 acts as 64 and a disabled top-k
 * (0) means the best 64: a token ranked below the 64th has a probability too small to matter for
 * the models here, and the repetition penalty only lowers logits, so it never needs one of them. */
#ifndef VKLLM_SAMPLER_H
#define VKLLM_SAMPLER_H

#include <stdbool.h>
#include <stdint.h>

struct sampler_params {
	float temp;            /* 0: greedy */
	int32_t top_k;         /* 0: off (the 64 candidates) */
	float top_p;           /* 1: off */
	float min_p;           /* 0: off */
	float repeat_penalty;  /* 1: off */
	int32_t repeat_last_n; /* tokens the penalty looks back over; -1: the whole history */
	uint64_t seed;
};

/* llama.cpp's defaults: temp 0.8, top-k 40, top-p 0.95, min-p 0.05, no penalty (1.0, last 64). */
void sampler_defaults(struct sampler_params *p);

struct sampler {
	struct sampler_params p;
	uint64_t rng;
	int32_t *history;      /* the last repeat_last_n tokens (a ring) */
	uint32_t n_history, cap_history, head;
};

int sampler_init(struct sampler *s, const struct sampler_params *p);
void sampler_free(struct sampler *s);
/* Remembers a token for the repetition penalty (prompt tokens too, as llama.cpp's accept). */
void sampler_accept(struct sampler *s, int32_t token);
void sampler_reset(struct sampler *s);
/* The next token from n candidates (ids and logits, best first). */
int32_t sampler_sample(struct sampler *s, const uint32_t *ids, const float *logits, uint32_t n);

#endif
