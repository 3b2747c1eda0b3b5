/* A corpus against token ids llama.cpp made, in llama.cpp's own fixture format
 * (tests/test-tokenizer-0.cpp): CORPUS holds the texts separated by "\n__ggml_vocab_test__\n",
 * EXPECTED one line of space-separated ids per text. Used with llama.cpp's models/ggml-vocab-*.gguf
 * fixtures (ids made with add_special=false, parse_special=false) and with the files
 * tests/tokenizer/tokenizer_oracle.mjs writes for the real vocabularies.
 *
 * usage: test_tokenizer_corpus MODEL.gguf CORPUS EXPECTED [--add-special] [--parse-special] [--round-trip]
 *                              [--detok-whole FILE]
 *   --detok-whole: the whole corpus, encoded with special tokens, decoded as llama_detokenize(
 *                  remove_special=false, unparse_special=true) must equal FILE (llama.cpp's decoding)
 *   --round-trip: also decode each text's ids and require the text back (valid UTF-8 texts only;
 *                 for SentencePiece not texts with a literal ▁, which comes back as a space)
 * Every mismatch is printed with the text and both id lists; exit 1 if any. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "loader/gguf.h"
#include "run/tokenizer.h"

static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f) return NULL;
	size_t cap = 1 << 16, len = 0;
	char *p = malloc(cap + 1);
	size_t got;
	while (p && (got = fread(p + len, 1, cap - len, f)) > 0) {
		len += got;
		if (len == cap) {
			char *q = realloc(p, (cap *= 2) + 1);
			if (!q) free(p);
			p = q;
		}
	}
	fclose(f);
	if (p) p[len] = 0;
	*n = len;
	return p;
}

static bool valid_utf8(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned char b = s[i];
		size_t len = b < 0x80 ? 1 : (b >= 0xc2 && b <= 0xdf) ? 2 : (b >= 0xe0 && b <= 0xef) ? 3 : (b >= 0xf0 && b <= 0xf4) ? 4 : 0;
		if (!len || i + len > n) return false;
		for (size_t k = 1; k < len; k++)
			if ((s[i + k] & 0xc0) != 0x80) return false;
		uint32_t cp = len == 1 ? b : (uint32_t)(b & (0x7f >> len));
		for (size_t k = 1; k < len; k++) cp = cp << 6 | (s[i + k] & 0x3f);
		if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff)) return false;
		i += len;
	}
	return true;
}

static void print_text(const char *s, size_t n)
{
	putchar('"');
	for (size_t i = 0; i < n && i < 200; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\n') fputs("\\n", stdout);
		else if (c == '\t') fputs("\\t", stdout);
		else if (c == '\r') fputs("\\r", stdout);
		else if (c < 0x20) printf("\\x%02x", c);
		else putchar(c);
	}
	fputs(n > 200 ? "...\"" : "\"", stdout);
}

static void print_ids(const char *label, const int32_t *ids, size_t n)
{
	printf("  %s [", label);
	for (size_t i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
	printf("]\n");
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: %s MODEL.gguf CORPUS EXPECTED [--add-special] [--parse-special] [--round-trip]\n", argv[0]);
		return 2;
	}
	bool add_special = false, parse_special = false, round_trip = false;
	const char *detok_path = NULL;
	for (int i = 4; i < argc; i++) {
		if (!strcmp(argv[i], "--detok-whole") && i + 1 < argc) detok_path = argv[++i];
		else if (!strcmp(argv[i], "--add-special")) add_special = true;
		else if (!strcmp(argv[i], "--parse-special")) parse_special = true;
		else if (!strcmp(argv[i], "--round-trip")) round_trip = true;
		else {
			fprintf(stderr, "unknown option %s\n", argv[i]);
			return 2;
		}
	}
	size_t n_inp, n_out;
	char *inp = slurp(argv[2], &n_inp), *out = slurp(argv[3], &n_out);
	if (!inp || !out) {
		fprintf(stderr, "cannot read %s or %s\n", argv[2], argv[3]);
		return 1;
	}
	struct gguf_file g;
	struct tokenizer *tok;
	if (gguf_open(&g, argv[1]) || tokenizer_load(&tok, &g)) {
		fprintf(stderr, "%s\n", vkllm_error());
		return 1;
	}
	gguf_close(&g);

	static const char sep[] = "\n__ggml_vocab_test__\n";
	const size_t sep_n = sizeof sep - 1;
	size_t pos = 0, line = 0, texts = 0, failed = 0, trips = 0;
	char *out_line = out;
	struct tok_ids ids = {0};
	struct tok_text back = {0};
	while (pos < n_inp) {
		const char *next = memmem(inp + pos, n_inp - pos, sep, sep_n);
		size_t len = next ? (size_t)(next - (inp + pos)) : n_inp - pos;
		const char *text = inp + pos;
		pos += len + (next ? sep_n : 0);
		/* the expected line */
		if (!*out_line) {
			printf("FAIL: %s has fewer lines than %s has texts\n", argv[3], argv[2]);
			failed++;
			break;
		}
		char *eol = strchr(out_line, '\n');
		if (eol) *eol = 0;
		int32_t *want = malloc((strlen(out_line) / 2 + 2) * sizeof *want);
		size_t n_want = 0;
		for (char *p = out_line, *end; *p; p = end) {
			long v = strtol(p, &end, 10);
			if (end == p) break;
			want[n_want++] = (int32_t)v;
		}
		out_line = eol ? eol + 1 : out_line + strlen(out_line);
		line++;
		texts++;

		ids.n = 0;
		int st = tokenizer_encode(tok, text, len, add_special, parse_special, &ids);
		bool same = st == VKLLM_OK && ids.n == n_want && !memcmp(ids.ids, want, n_want * sizeof *want);
		if (!same) {
			failed++;
			printf("MISMATCH text %zu: ", line);
			print_text(text, len);
			printf("\n");
			if (st) printf("  error: %s\n", vkllm_error());
			print_ids("llama.cpp", want, n_want);
			print_ids("vkllm    ", ids.ids, ids.n);
		}
		bool spm_blank = tokenizer_kind(tok) == TOKENIZER_SPM && memmem(text, len, "\xe2\x96\x81", 3);
		if (same && round_trip && !spm_blank && valid_utf8((const unsigned char *)text, len)) {
			back.n = 0;
			st = tokenizer_decode(tok, ids.ids, ids.n, true, true, &back);
			trips++;
			if (st || back.n != len || memcmp(back.p ? back.p : "", text, len)) {
				failed++;
				printf("ROUND TRIP text %zu: ", line);
				print_text(text, len);
				printf(" came back as ");
				print_text(back.p ? back.p : "", back.n);
				printf("\n");
			}
		}
		free(want);
	}
	if (detok_path) {
		size_t n_want;
		char *want = slurp(detok_path, &n_want);
		ids.n = back.n = 0;
		int st = want ? tokenizer_encode(tok, inp, n_inp, true, true, &ids) : VKLLM_E_IO;
		if (!st) st = tokenizer_decode(tok, ids.ids, ids.n, false, true, &back);
		if (st || back.n != n_want || memcmp(back.p, want, n_want)) {
			size_t at = 0;
			while (!st && at < n_want && at < back.n && back.p[at] == want[at]) at++;
			printf("DETOKENIZE the whole corpus (%zu tokens): differs from %s at byte %zu%s%s\n", ids.n, detok_path, at,
			       st ? ": " : "", st ? vkllm_error() : "");
			failed++;
		} else {
			printf("detokenize: the whole corpus (%zu tokens) decodes to llama.cpp's %zu bytes\n", ids.n, n_want);
		}
		free(want);
	}
	printf("%s: %zu texts, %zu round trips, %zu failures (add_special=%d parse_special=%d)\n", argv[1], texts, trips, failed,
	       add_special, parse_special);
	tok_ids_free(&ids);
	tok_text_free(&back);
	tokenizer_free(tok);
	free(inp);
	free(out);
	return failed ? 1 : 0;
}
