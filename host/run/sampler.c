/* The sampler chain over the GPU's candidates, each step as llama.cpp's sampler of that name. */
#include "run/sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "ops/ops.h" /* TOPK_MAX_K */

void sampler_defaults(struct sampler_params *p)
{
	*p = (struct sampler_params){.temp = 0.8f, .top_k = 40, .top_p = 0.95f, .min_p = 0.05f, .repeat_penalty = 1.0f,
	                             .repeat_last_n = 64, .seed = 0xC0FFEE};
}

int sampler_init(struct sampler *s, const struct sampler_params *p)
{
	memset(s, 0, sizeof *s);
	s->p = *p;
	s->cap_history = p->repeat_last_n < 0 ? 1u << 20 : (uint32_t)p->repeat_last_n;
	if (s->cap_history) {
		s->history = malloc(s->cap_history * sizeof *s->history);
		if (!s->history) return fail(VKLLM_E_NOMEM, "out of host memory");
	}
	sampler_reset(s);
	return VKLLM_OK;
}

void sampler_free(struct sampler *s)
{
	free(s->history);
	memset(s, 0, sizeof *s);
}

void sampler_reset(struct sampler *s)
{
	s->n_history = s->head = 0;
	s->rng = s->p.seed * 0x9E3779B97F4A7C15ull + 1; /* never zero for xorshift */
}

void sampler_accept(struct sampler *s, int32_t token)
{
	if (!s->cap_history) return;
	s->history[s->head] = token;
	s->head = (s->head + 1) % s->cap_history;
	if (s->n_history < s->cap_history) s->n_history++;
}

/* a uniform double in [0, 1) from xorshift64* */
static double uniform(struct sampler *s)
{
	s->rng ^= s->rng >> 12, s->rng ^= s->rng << 25, s->rng ^= s->rng >> 27;
	return (double)((s->rng * 2685821657736338717ull) >> 11) * 0x1p-53;
}

struct cand {
	int32_t id;
	float logit;
	double p;
};

static int by_logit(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	if (x->logit != y->logit) return x->logit > y->logit ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* softmax over c[0..n) at temperature t, into c[].p */
static void softmax(struct cand *c, uint32_t n, double t)
{
	double mx = c[0].logit, sum = 0;
	for (uint32_t i = 0; i < n; i++) sum += (c[i].p = exp((c[i].logit - mx) / t));
	for (uint32_t i = 0; i < n; i++) c[i].p /= sum;
}

int32_t sampler_sample(struct sampler *s, const uint32_t *ids, const float *logits, uint32_t n)
{
	const struct sampler_params *p = &s->p;
	struct cand c[TOPK_MAX_K];
	if (n > TOPK_MAX_K) n = TOPK_MAX_K;
	for (uint32_t i = 0; i < n; i++) c[i] = (struct cand){(int32_t)ids[i], logits[i], 0};

	/* penalties (llama_sampler_penalties): a seen token's logit divided by the penalty when
	 * positive, multiplied when negative, once however often it was seen */
	if (p->repeat_penalty != 1.0f && s->n_history) {
		for (uint32_t i = 0; i < n; i++)
			for (uint32_t h = 0; h < s->n_history; h++)
				if (s->history[h] == c[i].id) {
					c[i].logit = c[i].logit > 0 ? c[i].logit / p->repeat_penalty : c[i].logit * p->repeat_penalty;
					break;
				}
		qsort(c, n, sizeof *c, by_logit);
	}
	if (p->temp <= 0) return c[0].id; /* greedy: llama.cpp's temp <= 0 keeps the best */

	/* top-k */
	if (p->top_k > 0 && (uint32_t)p->top_k < n) n = (uint32_t)p->top_k;
	/* top-p: the smallest prefix whose probability (at temperature 1) reaches top_p */
	if (p->top_p < 1.0f) {
		softmax(c, n, 1.0);
		double cum = 0;
		for (uint32_t i = 0; i < n; i++) {
			cum += c[i].p;
			if (cum >= p->top_p) {
				n = i + 1;
				break;
			}
		}
	}
	/* min-p: keep logits within log(min_p) of the best */
	if (p->min_p > 0.0f) {
		float floor_logit = c[0].logit + logf(p->min_p);
		uint32_t keep = 1;
		while (keep < n && c[keep].logit >= floor_logit) keep++;
		n = keep;
	}
	/* temperature, then the draw */
	softmax(c, n, p->temp);
	double r = uniform(s), cum = 0;
	for (uint32_t i = 0; i < n; i++) {
		cum += c[i].p;
		if (r < cum) return c[i].id;
	}
	return c[n - 1].id;
}
