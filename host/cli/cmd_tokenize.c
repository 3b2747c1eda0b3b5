/* `vkllm tokenize -m MODEL (-p TEXT | -f FILE) [--no-special] [--no-bos] [--round-trip]`: the token
 * ids of a text as one JSON array on stdout, as llama.cpp would make them (BOS/EOS where the model
 * asks for them, special tokens written in the text parsed). Only the tokenizer.* keys are read,
 * so a vocabulary-only GGUF works too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "cli.h"
#include "engine.h"
#include "loader/gguf.h"
#include "run/tokenizer.h"

void cmd_tokenize_help(FILE *f)
{
	fprintf(f, "options:\n"
	           "  -m, --model FILE   the GGUF file (only its tokenizer is read)\n"
	           "  -p, --prompt TEXT  the text to tokenize\n"
	           "  -f, --file FILE    tokenize the bytes of FILE instead (- for standard input)\n"
	           "  --no-special       control tokens written in the text stay text, and no BOS/EOS is added\n"
	           "  --no-bos           do not add the BOS/EOS the model asks for\n"
	           "  --round-trip       also decode the ids and fail when that does not give the text back\n"
	           "output: one JSON array of token ids, e.g. [9707,1879]\n");
}

static int round_trip(const struct tokenizer *tok, const struct tok_ids *ids, const char *text, size_t len)
{
	struct tok_text back = {0};
	int st = tokenizer_decode(tok, ids->ids, ids->n, true, true, &back);
	if (!st && (back.n != len || memcmp(back.p ? back.p : "", text, len) != 0)) {
		size_t at = 0;
		while (at < len && at < back.n && back.p[at] == text[at]) at++;
		st = fail(VKLLM_E_FORMAT, "round trip: the decoded text differs from the input at byte %zu (%zu bytes back for %zu)%s",
		          at, back.n, len, tokenizer_round_trips(tok) ? "" : "; this vocabulary does not keep every text (see docs/tokenizer.md)");
	}
	tok_text_free(&back);
	return st;
}

int cmd_tokenize(int argc, char **argv)
{
	const char *model = NULL, *prompt = NULL, *file = NULL;
	bool parse_special = true, add_special = true, check = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			cli_usage(stdout, "tokenize");
			return 0;
		} else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
			if (i + 1 >= argc) return cli_bad_arg("tokenize", "missing value for", a);
			model = argv[++i];
		} else if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) {
			if (i + 1 >= argc) return cli_bad_arg("tokenize", "missing value for", a);
			prompt = argv[++i];
		} else if (!strcmp(a, "-f") || !strcmp(a, "--file")) {
			if (i + 1 >= argc) return cli_bad_arg("tokenize", "missing value for", a);
			file = argv[++i];
		} else if (!strcmp(a, "--no-special")) {
			parse_special = add_special = false;
		} else if (!strcmp(a, "--no-bos")) {
			add_special = false;
		} else if (!strcmp(a, "--round-trip")) {
			check = true;
		} else {
			return cli_bad_arg("tokenize", a[0] == '-' ? "unknown option" : "unexpected argument", a);
		}
	}
	if (!model) return cli_bad_arg("tokenize", "missing the model:", "-m FILE.gguf");
	if (!prompt == !file) return cli_bad_arg("tokenize", "give the text one way:", "-p TEXT or -f FILE");

	struct gguf_file g;
	struct tokenizer *tok = NULL;
	struct tok_text text = {0};
	struct tok_ids ids = {0};
	int st = gguf_open(&g, model);
	if (st) return cli_error(st);
	st = tokenizer_load(&tok, &g);
	gguf_close(&g);
	if (!st && file) st = cli_read_file(file, &text);
	if (!st && prompt) st = tok_text_append(&text, prompt, strlen(prompt));
	if (!st) st = tokenizer_encode(tok, text.p ? text.p : "", text.n, add_special, parse_special, &ids);
	if (!st && check) st = round_trip(tok, &ids, text.p ? text.p : "", text.n);
	if (!st) {
		/* large outputs: build the line in memory, write it once */
		struct tok_text line = {0};
		st = tok_text_append(&line, "[", 1);
		for (size_t i = 0; i < ids.n && !st; i++) {
			char num[16];
			int n = snprintf(num, sizeof num, i ? ",%d" : "%d", ids.ids[i]);
			st = tok_text_append(&line, num, (size_t)n);
		}
		if (!st) st = tok_text_append(&line, "]\n", 2);
		if (!st && fwrite(line.p, 1, line.n, stdout) != line.n) st = fail(VKLLM_E_IO, "stdout: write error");
		tok_text_free(&line);
	}
	tok_ids_free(&ids);
	tok_text_free(&text);
	tokenizer_free(tok);
	return st ? cli_error(st) : 0;
}
