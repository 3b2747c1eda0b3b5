/* Opening a model for inference, for every verb that runs one. */
#include "engine.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/status.h"

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
