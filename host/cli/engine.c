/* Opening a model for inference, for every verb that runs one. */
#include "engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/status.h"
#include "cli.h"

double cli_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

bool cli_parse_cache_type(const char *s, enum attn_kv_type *out)
{
	if (!strcmp(s, "f16")) *out = ATTN_KV_F16;
	else if (!strcmp(s, "f32")) *out = ATTN_KV_F32;
	else return false;
	return true;
}

static bool parse_float(const char *s, float lo, float hi, float *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= lo && v <= hi)) return false;
	*out = (float)v;
	return true;
}

static bool is_one_of(const char *a, const char *x, const char *y)
{
	return !strcmp(a, x) || (y && !strcmp(a, y));
}

int cli_parse_shared_flag(const char *verb, const char *a, const char *v, struct engine_options *eo,
                          struct sampler_params *sp)
{
	static const char *const flags[] = {"-c", "--ctx-size", "-b", "--batch-size", "--cache-type", "-ctk", "--device",
	                                    "--temp", "--top-k", "--top-p", "--min-p", "--repeat-penalty",
	                                    "--repeat-last-n", "-s", "--seed"};
	bool known = false;
	for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) known = known || !strcmp(a, flags[i]);
	if (!known) return 0;
	if (!v) return cli_bad_arg(verb, "missing value for", a);
	long n;
	if (is_one_of(a, "-c", "--ctx-size")) {
		if (!cli_parse_int(v, 1 << 24, &n) || n < 1) return cli_bad_arg(verb, "-c needs a positive token count, got", v);
		eo->session.n_ctx = (uint32_t)n;
	} else if (is_one_of(a, "-b", "--batch-size")) {
		if (!cli_parse_int(v, 1 << 16, &n) || n < 1) return cli_bad_arg(verb, "-b needs a positive token count, got", v);
		eo->session.n_batch = (uint32_t)n;
	} else if (is_one_of(a, "--cache-type", "-ctk")) {
		if (!cli_parse_cache_type(v, &eo->session.kv_type)) return cli_bad_arg(verb, "--cache-type is f16 or f32, got", v);
	} else if (is_one_of(a, "--device", NULL)) {
		if (!cli_parse_int(v, 1 << 16, &n)) return cli_bad_arg(verb, "--device needs an index, got", v);
		eo->device_index = (int)n;
	} else if (is_one_of(a, "--temp", NULL)) {
		if (!parse_float(v, 0, 1e6f, &sp->temp)) return cli_bad_arg(verb, "--temp needs a number >= 0, got", v);
	} else if (is_one_of(a, "--top-k", NULL)) {
		if (!cli_parse_int(v, 1 << 30, &n)) return cli_bad_arg(verb, "--top-k needs a count, got", v);
		sp->top_k = (int32_t)n;
	} else if (is_one_of(a, "--top-p", NULL)) {
		if (!parse_float(v, 0, 1, &sp->top_p)) return cli_bad_arg(verb, "--top-p needs a number in [0, 1], got", v);
	} else if (is_one_of(a, "--min-p", NULL)) {
		if (!parse_float(v, 0, 1, &sp->min_p)) return cli_bad_arg(verb, "--min-p needs a number in [0, 1], got", v);
	} else if (is_one_of(a, "--repeat-penalty", NULL)) {
		if (!parse_float(v, 0.01f, 100, &sp->repeat_penalty))
			return cli_bad_arg(verb, "--repeat-penalty needs a positive number, got", v);
	} else if (is_one_of(a, "--repeat-last-n", NULL)) {
		if (!strcmp(v, "-1")) sp->repeat_last_n = -1;
		else if (cli_parse_int(v, 1 << 20, &n)) sp->repeat_last_n = (int32_t)n;
		else return cli_bad_arg(verb, "--repeat-last-n needs a count or -1, got", v);
	} else { /* -s, --seed */
		char *end;
		errno = 0;
		unsigned long long s = strtoull(v, &end, 10);
		if (errno || end == v || *end ) return cli_bad_arg(verb, "--seed needs a number, got", v);
		sp->seed = s;
	}
	return 1;
}

uint32_t cli_n_candidates(const struct sampler_params *sp)
{
	bool penalty = sp->repeat_penalty != 1.0f;
	if (sp->temp <= 0 && !penalty) return 1;
	return sp->top_k > 0 && sp->top_k < 64 && !penalty ? (uint32_t)sp->top_k : 64;
}

int cli_read_file(const char *path, struct tok_text *out)
{
	bool std_in = !strcmp(path, "-");
	FILE *f = std_in ? stdin : fopen(path, "rb");
	if (!f) return fail(VKLLM_E_IO, "%s: cannot open the text file", path);
	char buf[1 << 16];
	size_t n;
	int st = VKLLM_OK;
	while (!st && (n = fread(buf, 1, sizeof buf, f)) > 0) st = tok_text_append(out, buf, n);
	if (!st && ferror(f)) st = fail(VKLLM_E_IO, "%s: read error", path);
	if (!std_in) fclose(f);
	return st;
}

/* a one-line bar on stderr, redrawn in place */
static void progress_bar(void *user, uint64_t done, uint64_t total)
{
	int *last = user;
	int pct = total ? (int)(100.0 * done / total) : 100;
	if (pct == *last) return;
	*last = pct;
	int filled = pct * 30 / 100;
	fprintf(stderr, "\rloading weights [%.*s%*s] %3d%%", filled, "==============================", 30 - filled, "", pct);
	if (pct == 100) fprintf(stderr, "\r%*s\r", 50, "");
	fflush(stderr);
}

int engine_open(struct engine *e, const struct engine_options *o)
{
	memset(e, 0, sizeof *e);
	double t0 = cli_now();
	int st = model_file_open(&e->m, o->model);
	e->model_open = st == VKLLM_OK;
	if (!st) st = tokenizer_load(&e->tok, &e->m.gguf);
	struct gpu_options go = {.device_index = o->device_index};
	if (!st) {
		st = gpu_create(&e->g, &go);
		e->gpu_open = st == VKLLM_OK;
	}
	int last_pct = -1;
	bool bar = !o->quiet && isatty(2);
	if (!st) {
		st = model_weights_upload(&e->g, &e->m, &e->w, bar ? progress_bar : NULL, &last_pct);
		e->weights_open = st == VKLLM_OK;
	}
	if (!st) {
		st = session_create(&e->s, &e->g, &e->m, &e->w, &o->session);
		e->session_open = st == VKLLM_OK;
	}
	e->load_seconds = cli_now() - t0;
	if (st) {
		char msg[1024];
		snprintf(msg, sizeof msg, "%s", vkllm_error());
		engine_close(e);
		return fail(st, "%s", msg);
	}
	return VKLLM_OK;
}

int engine_close(struct engine *e)
{
	int st = VKLLM_OK;
	if (e->session_open) session_destroy(&e->s);
	if (e->weights_open) model_weights_free(&e->g, &e->w);
	if (e->gpu_open) st = gpu_destroy(&e->g);
	if (e->tok) tokenizer_free(e->tok);
	if (e->model_open) model_file_close(&e->m);
	memset(e, 0, sizeof *e);
	return st;
}
