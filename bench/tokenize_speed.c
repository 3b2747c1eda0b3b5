/* Tokenizer throughput on one core: MB of text per second through tokenizer_encode (special tokens
 * parsed, BOS as the model says), the figure docs/tokenizer.md records.
 *
 * usage: tokenize_speed MODEL.gguf [TEXT_FILE ...]
 * Without files the text is the English prose of /usr/share/common-licenses (Debian's base-files:
 * GPL, LGPL, GFDL, MPL, Apache, Artistic ... about 270 KB). Two figures:
 *   cold  the first pass of a fresh tokenizer: every distinct word goes through the BPE merge loop
 *   warm  the best of further passes over the same text (the word cache answers repeated words),
 *         which is what a long prompt of ordinary prose sees after its first few pages */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/status.h"
#include "loader/gguf.h"
#include "run/tokenizer.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int append_file(struct tok_text *t, const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) return fail(VKLLM_E_IO, "%s: cannot open", path);
	char buf[1 << 16];
	size_t n;
	int st = VKLLM_OK;
	while (!st && (n = fread(buf, 1, sizeof buf, f)) > 0) st = tok_text_append(t, buf, n);
	fclose(f);
	return st ? st : tok_text_append(t, "\n", 1);
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Every regular file of the licenses folder, in name order (symlinks skipped: they repeat files). */
static int default_text(struct tok_text *t)
{
	const char *dir = "/usr/share/common-licenses";
	DIR *d = opendir(dir);
	if (!d) return fail(VKLLM_E_IO, "%s: missing (Debian base-files); give a text file", dir);
	char *names[64];
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < 64)
		if (e->d_type == DT_REG) names[n++] = strdup(e->d_name);
	closedir(d);
	qsort(names, (size_t)n, sizeof *names, cmp_names);
	int st = VKLLM_OK;
	for (int i = 0; i < n; i++) {
		char path[512];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		if (!st) st = append_file(t, path);
		free(names[i]);
	}
	return st;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s MODEL.gguf [TEXT_FILE ...]\n", argv[0]);
		return 2;
	}
	struct tok_text text = {0};
	int st = VKLLM_OK;
	for (int i = 2; i < argc && !st; i++) st = append_file(&text, argv[i]);
	if (!st && argc == 2) st = default_text(&text);
	struct gguf_file g;
	struct tokenizer *tok = NULL;
	double t0 = now();
	if (!st) st = gguf_open(&g, argv[1]);
	if (!st) {
		st = tokenizer_load(&tok, &g);
		gguf_close(&g);
	}
	double t_load = now() - t0;
	if (st) {
		fprintf(stderr, "tokenize_speed: %s\n", vkllm_error());
		return 1;
	}
	struct tok_ids ids = {0};
	double mb = (double)text.n / 1e6;
	t0 = now();
	st = tokenizer_encode(tok, text.p, text.n, true, true, &ids);
	double cold = now() - t0;
	size_t n_tokens = ids.n;
	double best = 1e30, spent = 0;
	for (int pass = 0; !st && (pass < 3 || spent < 2.0) && pass < 200; pass++) {
		ids.n = 0;
		t0 = now();
		st = tokenizer_encode(tok, text.p, text.n, true, true, &ids);
		double dt = now() - t0;
		spent += dt;
		if (dt < best) best = dt;
	}
	if (st) {
		fprintf(stderr, "tokenize_speed: %s\n", vkllm_error());
		return 1;
	}
	printf("%s: %s, pre-tokenizer %s, %u tokens, loaded in %.0f ms\n", argv[1],
	       tokenizer_kind(tok) == TOKENIZER_BPE ? "byte-level BPE" : "SentencePiece", tokenizer_pre_name(tok),
	       tokenizer_n_tokens(tok), t_load * 1e3);
	printf("text: %.3f MB, %zu tokens (%.2f bytes/token)\n", mb, n_tokens, (double)text.n / (double)n_tokens);
	printf("cold: %.2f MB/s   warm: %.2f MB/s   (one core)\n", mb / cold, mb / best);
	tok_ids_free(&ids);
	tok_text_free(&text);
	tokenizer_free(tok);
	return 0;
}
