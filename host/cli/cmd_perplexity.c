/* `vkllm perplexity -m MODEL -f FILE [-c CTX] [--json]`: how well the model predicts a text.
 *
 * The text is tokenized as llama.cpp does (BOS as the metadata says) and run in windows of -c
 * tokens (one window when it fits); in each window every token after the first is scored by the
 * logits of the position before it: ppl = exp(mean(-log softmax(logits)[next token])). The log-sum-
 * exp is taken in double on the host over each row of logits, read back a chunk at a time. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/status.h"
#include "cli.h"
#include "engine.h"

#define LOGITS_BUDGET (128ull << 20) /* bytes of logits kept per chunk, on the device and the host */

void cmd_perplexity_help(FILE *f)
{
	fprintf(f, "options:\n"
	           "  -m, --model FILE     GGUF model\n"
	           "  -f, --file FILE      the text to score (- for standard input)\n"
	           "  -p, --prompt TEXT    or the text itself\n"
	           "  -c, --ctx-size N     window length in tokens (default: the model's, at most 4096)\n"
	           "  -b, --batch-size N   tokens per chunk (default 512, fewer for large vocabularies)\n"
	           "  --cache-type T       KV cache f16 (default) or f32\n"
	           "  --json               one JSON object: {\"tokens\":N,\"ppl\":X,...}\n"
	           "  --device N           use device N of `vkllm devices`\n");
}

/* -log softmax(row)[target], in double */
static double nll(const float *row, uint32_t n, uint32_t target)
{
	double mx = row[0];
	for (uint32_t i = 1; i < n; i++) mx = fmax(mx, row[i]);
	double sum = 0;
	for (uint32_t i = 0; i < n; i++) sum += exp((double)row[i] - mx);
	return log(sum) + mx - row[target];
}

int cmd_perplexity(int argc, char **argv)
{
	struct engine_options eo = {.device_index = -1, .session = {.kv_type = ATTN_KV_F16, .all_logits = true}};
	const char *file = NULL, *prompt = NULL;
	bool json = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		long n;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			cli_usage(stdout, "perplexity");
			return 0;
		} else if (!strcmp(a, "--json")) {
			json = true;
			continue;
		}
		if (!v) return cli_bad_arg("perplexity", a[0] == '-' ? "unknown option or missing value for" : "unexpected argument", a);
		i++;
		if (!strcmp(a, "-m") || !strcmp(a, "--model")) eo.model = v;
		else if (!strcmp(a, "-f") || !strcmp(a, "--file")) file = v;
		else if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) prompt = v;
		else if (!strcmp(a, "-c") || !strcmp(a, "--ctx-size")) {
			if (!cli_parse_int(v, 1 << 24, &n) || n < 2) return cli_bad_arg("perplexity", "-c needs a token count of 2 or more, got", v);
			eo.session.n_ctx = (uint32_t)n;
		} else if (!strcmp(a, "-b") || !strcmp(a, "--batch-size")) {
			if (!cli_parse_int(v, 1 << 16, &n) || n < 1) return cli_bad_arg("perplexity", "-b needs a positive count, got", v);
			eo.session.n_batch = (uint32_t)n;
		} else if (!strcmp(a, "--cache-type") || !strcmp(a, "-ctk")) {
			if (!cli_parse_cache_type(v, &eo.session.kv_type)) return cli_bad_arg("perplexity", "--cache-type is f16 or f32, got", v);
		} else if (!strcmp(a, "--device")) {
			if (!cli_parse_int(v, 1 << 16, &n)) return cli_bad_arg("perplexity", "--device needs an index, got", v);
			eo.device_index = (int)n;
		} else return cli_bad_arg("perplexity", a[0] == '-' ? "unknown option" : "unexpected argument", a);
	}
	if (!eo.model) return cli_bad_arg("perplexity", "a model is needed:", "-m");
	if (!file == !prompt) return cli_bad_arg("perplexity", "give the text once, with -f FILE or -p TEXT; got", file ? "both" : "neither");
	eo.quiet = json;

	struct tok_text text = {0};
	int st = file ? cli_read_file(file, &text) : tok_text_append(&text, prompt, strlen(prompt));
	if (st) return cli_error(st);

	/* a model file is opened twice (here for the vocabulary size) so the chunk fits the budget */
	struct model_file peek;
	st = model_file_open(&peek, eo.model);
	if (st) {
		tok_text_free(&text);
		return cli_error(st);
	}
	uint32_t V = peek.hp.n_vocab;
	model_file_close(&peek);
	uint32_t fit = (uint32_t)(LOGITS_BUDGET / ((uint64_t)V * 4));
	if (fit < 1) fit = 1;
	if (!eo.session.n_batch || eo.session.n_batch > fit) eo.session.n_batch = eo.session.n_batch && eo.session.n_batch < fit ? eo.session.n_batch : (fit < 512 ? fit : 512);

	struct engine e;
	st = engine_open(&e, &eo);
	if (st) {
		tok_text_free(&text);
		return cli_error(st);
	}
	struct tok_ids ids = {0};
	st = tokenizer_encode(e.tok, text.p ? text.p : "", text.n, true, true, &ids);
	if (!st && ids.n < 2) st = fail(VKLLM_E_ARG, "the text gives %zu token(s); perplexity needs at least 2", ids.n);
	uint32_t B = e.s.fs.n_batch, C = e.s.fs.n_ctx;
	float *logits = st ? NULL : malloc((size_t)B * V * sizeof *logits);
	if (!st && !logits) st = fail(VKLLM_E_NOMEM, "out of host memory for %u rows of logits", B);
	double sum = 0, t0 = cli_now();
	uint64_t scored = 0;
	uint32_t windows = 0;
	for (size_t w0 = 0; !st && w0 + 1 < ids.n; w0 += C) {
		/* one window: positions from 0, every token after its first scored */
		size_t wn = ids.n - w0 < C ? ids.n - w0 : C;
		st = session_rewind(&e.s, 0);
		windows++;
		for (size_t c0 = 0; !st && c0 < wn; c0 += B) {
			uint32_t cn = (uint32_t)(wn - c0 < B ? wn - c0 : B);
			st = session_eval(&e.s, (const uint32_t *)ids.ids + w0 + c0, cn, true, logits);
			for (uint32_t t = 0; !st && t < cn; t++) {
				size_t pos = c0 + t; /* predicts the token at pos + 1 of the window */
				if (pos + 1 >= wn) break;
				sum += nll(logits + (size_t)t * V, V, (uint32_t)ids.ids[w0 + pos + 1]);
				scored++;
			}
		}
	}
	double secs = cli_now() - t0;
	if (!st) {
		double ppl = exp(sum / (double)scored);
		if (json) {
			struct json j;
			json_init(&j, stdout);
			json_object_begin(&j);
			json_key(&j, "tokens"), json_u64(&j, ids.n);
			json_key(&j, "scored"), json_u64(&j, scored);
			json_key(&j, "windows"), json_u64(&j, windows);
			json_key(&j, "ppl"), json_double(&j, ppl);
			json_key(&j, "seconds"), json_double(&j, secs);
			json_object_end(&j);
			fputc('\n', stdout);
		} else {
			printf("perplexity %.6f over %llu scored tokens (%zu tokens, %u window(s) of at most %u)\n", ppl,
			       (unsigned long long)scored, ids.n, windows, C);
			fprintf(stderr, "vkllm: %.2f s, %.1f tokens/s on %s\n", secs, ids.n / secs, e.g.profile.name);
		}
	}
	free(logits);
	tok_ids_free(&ids);
	tok_text_free(&text);
	char msg[1024];
	snprintf(msg, sizeof msg, "%s", vkllm_error());
	int cst = engine_close(&e);
	if (!st && cst) st = cst;
	else if (st) fail(st, "%s", msg);
	return st ? cli_error(st) : 0;
}
