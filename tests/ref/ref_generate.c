/* ref_generate: the reference forward pass as a command, for the oracle test against llama.cpp
 * (tests/oracle/forward_check.mjs) and for people checking a model by hand.
 *
 *   ref_generate -m M.gguf -p "1,2,3" -n N     greedy continuation: {"tokens":[...]} (N new ids)
 *   ref_generate -m M.gguf -p "1,2,3" --ppl    perplexity of the ids: {"tokens":N,"ppl":X}, where
 *                                              N counts the scored ids (every id after the first)
 *   --logits                                   with --ppl: also "logits", one row per position
 *   --batch B                                  prefill B ids per forward call (default: all)
 *   --numerics llama-cpu                       llama.cpp's CPU roundings (forward_ref.h), not the exact math
 *   --mla naive|absorbed                       deepseek2: the form of latent attention (default: the form
 *                                              llama.cpp runs for the file; forward_ref.h)
 *
 * The prompt is a comma list of token ids (no tokenizer here). Greedy picks the first of equal
 * maxima, as llama.cpp's greedy sampler. Exit 0, 1 on a failure (with a message), 2 on usage. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "forward_ref.h"
#include "model/model.h"

static int usage(const char *msg)
{
	if (msg) fprintf(stderr, "ref_generate: %s\n", msg);
	fprintf(stderr, "usage: ref_generate -m MODEL.gguf -p \"ID,ID,...\" (-n N | --ppl [--logits]) [--batch B]\n"
	                "                    [--numerics exact|llama-cpu] [--mla naive|absorbed]\n");
	return 2;
}

/* "1, 2,3" -> ids; returns the count, or -1 on a bad list */
static long parse_ids(const char *s, uint32_t **out)
{
	size_t cap = 16, n = 0;
	uint32_t *ids = malloc(cap * sizeof *ids);
	while (ids && *s) {
		char *end;
		errno = 0;
		unsigned long v = strtoul(s, &end, 10);
		if (end == s || errno || v > UINT32_MAX) break;
		if (n == cap) {
			uint32_t *p = realloc(ids, (cap *= 2) * sizeof *ids);
			if (!p) break;
			ids = p;
		}
		ids[n++] = (uint32_t)v;
		s = end;
		while (*s == ' ') s++;
		if (*s == ',') s++;
		else if (*s) break;
	}
	if (!ids || *s || n == 0) {
		free(ids);
		return -1;
	}
	*out = ids;
	return (long)n;
}

static uint32_t argmax(const double *x, uint32_t n)
{
	uint32_t best = 0;
	for (uint32_t i = 1; i < n; i++)
		if (x[i] > x[best]) best = i;
	return best;
}

/* log softmax(x)[i] */
static double log_prob(const double *x, uint32_t n, uint32_t i)
{
	double mx = x[argmax(x, n)], sum = 0;
	for (uint32_t j = 0; j < n; j++) sum += exp(x[j] - mx);
	return x[i] - mx - log(sum);
}

/* prefill ids[0..n) in chunks of `chunk`, logits of every position (all) or of the last */
static int prefill(struct ref_forward *f, const uint32_t *ids, uint32_t n, uint32_t chunk, double *logits, bool all)
{
	uint32_t V = ref_forward_n_vocab(f);
	for (uint32_t p = 0; p < n; p += chunk) {
		uint32_t c = n - p < chunk ? n - p : chunk;
		bool last = p + c == n;
		TRY(ref_forward_batch(f, ids + p, c, p, all ? logits + (uint64_t)p * V : last ? logits : NULL, all));
	}
	return VKLLM_OK;
}

static int generate(struct ref_forward *f, const uint32_t *ids, uint32_t n, uint32_t n_gen, uint32_t chunk)
{
	uint32_t V = ref_forward_n_vocab(f);
	double *logits = malloc((uint64_t)V * sizeof *logits);
	if (!logits) return fail(VKLLM_E_NOMEM, "out of host memory");
	int st = prefill(f, ids, n, chunk, logits, false);
	if (st) {
		free(logits);
		return st;
	}
	printf("{\"tokens\":[");
	for (uint32_t i = 0; i < n_gen && !st; i++) {
		uint32_t t = argmax(logits, V);
		printf("%s%u", i ? "," : "", t);
		fflush(stdout);
		if (i + 1 < n_gen) st = ref_forward_token(f, t, n + i, logits);
	}
	printf("]}\n");
	free(logits);
	return st;
}

static int perplexity(struct ref_forward *f, const uint32_t *ids, uint32_t n, uint32_t chunk, bool dump)
{
	if (n < 2) return fail(VKLLM_E_ARG, "--ppl needs at least two ids");
	uint32_t V = ref_forward_n_vocab(f);
	double *logits = malloc((uint64_t)n * V * sizeof *logits);
	if (!logits) return fail(VKLLM_E_NOMEM, "out of host memory for %u x %u logits", n, V);
	int st = prefill(f, ids, n, chunk, logits, true);
	if (!st) {
		double nll = 0;
		for (uint32_t i = 0; i + 1 < n; i++) nll -= log_prob(logits + (uint64_t)i * V, V, ids[i + 1]);
		printf("{\"tokens\":%u,\"ppl\":%.17g", n - 1, exp(nll / (n - 1)));
		if (dump) {
			printf(",\"logits\":[");
			for (uint32_t i = 0; i < n; i++) {
				printf("%s[", i ? "," : "");
				for (uint32_t j = 0; j < V; j++) printf("%s%.9g", j ? "," : "", logits[(uint64_t)i * V + j]);
				printf("]");
			}
			printf("]");
		}
		printf("}\n");
	}
	free(logits);
	return st;
}

int main(int argc, char **argv)
{
	const char *model = NULL, *prompt = NULL;
	long n_gen = -1, chunk = 0;
	bool ppl = false, dump = false, llama_cpu = false;
	enum ref_mla_form mla = REF_MLA_AUTO;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool has = i + 1 < argc;
		if (!strcmp(a, "-m") && has) model = argv[++i];
		else if (!strcmp(a, "-p") && has) prompt = argv[++i];
		else if (!strcmp(a, "-n") && has) n_gen = strtol(argv[++i], NULL, 10);
		else if (!strcmp(a, "--batch") && has) chunk = strtol(argv[++i], NULL, 10);
		else if (!strcmp(a, "--numerics") && has) {
			const char *v = argv[++i];
			if (strcmp(v, "exact") && strcmp(v, "llama-cpu")) return usage("--numerics is exact or llama-cpu");
			llama_cpu = !strcmp(v, "llama-cpu");
		} else if (!strcmp(a, "--mla") && has) {
			const char *v = argv[++i];
			if (strcmp(v, "naive") && strcmp(v, "absorbed")) return usage("--mla is naive or absorbed");
			mla = !strcmp(v, "naive") ? REF_MLA_NAIVE : REF_MLA_ABSORBED;
		} else if (!strcmp(a, "--ppl")) ppl = true;
		else if (!strcmp(a, "--logits")) dump = true;
		else if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage(NULL), 0;
		else return usage("unknown or incomplete option");
	}
	if (!model || !prompt) return usage("-m and -p are required");
	if (ppl == (n_gen >= 0)) return usage("give either -n N or --ppl");
	if (n_gen > 1 << 20 || chunk < 0) return usage("-n or --batch out of range");
	uint32_t *ids;
	long n = parse_ids(prompt, &ids);
	if (n < 0) return usage("-p must be a comma list of token ids");

	struct model_file m;
	struct ref_forward *f = NULL;
	int st = model_file_open(&m, model);
	if (!st) {
		uint64_t n_ctx = (uint64_t)n + (ppl ? 0 : (uint64_t)n_gen);
		if (n_ctx > UINT32_MAX) n_ctx = UINT32_MAX;
		st = ref_forward_create(&f, &m, (uint32_t)n_ctx);
		if (!st && llama_cpu) ref_forward_set_numerics(f, REF_LLAMA_CPU);
		if (!st) ref_forward_set_mla_form(f, mla);
		uint32_t c = chunk > 0 && chunk < n ? (uint32_t)chunk : (uint32_t)n;
		if (!st) st = ppl ? perplexity(f, ids, (uint32_t)n, c, dump) : generate(f, ids, (uint32_t)n, (uint32_t)n_gen, c);
		ref_forward_destroy(f);
		model_file_close(&m);
	}
	free(ids);
	if (st) {
		fprintf(stderr, "ref_generate: %s\n", vkllm_error());
		return 1;
	}
	return 0;
}
