/* Writes a vocabulary-only GGUF (general.architecture and the tokenizer keys, no tensors) for
 * tests/oracle/vocab_check.mjs, which loads it in llama.cpp with vocab_only and compares its
 * tokenization with Hugging Face's. Not a test by itself.
 *
 * usage: make_vocab_gguf OUT.gguf TOKENIZER.json [--pre NAME] [--n-vocab N]
 *        make_vocab_gguf OUT.gguf --synthetic N [--seed S] */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "loader/gguf_write.h"
#include "loader/vocab.h"
#include "loader/vocab_hf.h"

static int usage(void)
{
	fprintf(stderr, "usage: make_vocab_gguf OUT.gguf TOKENIZER.json [--pre NAME] [--n-vocab N]\n"
	                "       make_vocab_gguf OUT.gguf --synthetic N [--seed S]\n");
	return 2;
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end) return false;
	*out = v;
	return true;
}

static int write_file(const struct vocab_data *v, const char *path)
{
	struct gguf_writer w;
	gguf_writer_init(&w);
	/* "llama" loads with any tokenizer. llama.cpp reads nothing else with vocab_only, but node-llama-cpp
	 * first tries a full load (which then fails on the missing tensors): the hyperparameters keep that
	 * attempt from failing earlier with a more alarming message. */
	gguf_w_str(&w, "general.architecture", "llama");
	gguf_w_u32(&w, "llama.context_length", 4096);
	gguf_w_u32(&w, "llama.embedding_length", 64);
	gguf_w_u32(&w, "llama.block_count", 1);
	gguf_w_u32(&w, "llama.feed_forward_length", 128);
	gguf_w_u32(&w, "llama.attention.head_count", 1);
	gguf_w_f32(&w, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
	int st = vocab_write_gguf(&w, v);
	FILE *f = NULL;
	if (st == VKLLM_OK) {
		f = fopen(path, "wb");
		if (!f) st = fail(VKLLM_E_IO, "%s: %s", path, strerror(errno));
	}
	if (st == VKLLM_OK) st = gguf_write_header(&w, f, path);
	if (f && fclose(f) != 0 && st == VKLLM_OK) st = fail(VKLLM_E_IO, "%s: %s", path, strerror(errno));
	gguf_writer_free(&w);
	return st;
}

int main(int argc, char **argv)
{
	if (argc < 3) return usage();
	const char *out = argv[1], *source = argv[2];
	struct vocab_hf_options opt = {0};
	uint64_t synthetic = 0, seed = 1, n;
	bool is_synthetic = strcmp(source, "--synthetic") == 0;
	int first_option = 3;
	if (is_synthetic) {
		if (argc < 4 || !parse_u64(argv[3], &synthetic)) return usage();
		first_option = 4;
	}
	for (int i = first_option; i < argc; i++) {
		if (i + 1 >= argc) return usage();
		if (strcmp(argv[i], "--pre") == 0) opt.pre = argv[++i];
		else if (strcmp(argv[i], "--n-vocab") == 0 && parse_u64(argv[i + 1], &n) && n <= UINT32_MAX)
			opt.n_vocab = (uint32_t)n, i++;
		else if (strcmp(argv[i], "--seed") == 0 && parse_u64(argv[i + 1], &seed)) i++;
		else return usage();
	}
	struct vocab_data v;
	int st = is_synthetic ? vocab_synthetic(&v, synthetic > UINT32_MAX ? 0 : (uint32_t)synthetic, seed)
	                      : vocab_hf_load_opts(&v, source, &opt);
	if (st == VKLLM_OK) st = write_file(&v, out);
	if (st == VKLLM_OK)
		printf("%s: %u tokens, %u merges, model %s, pre %s\n", out, v.n_tokens, v.n_merges, v.model,
		       v.pre[0] ? v.pre : "-");
	else
		fprintf(stderr, "make_vocab_gguf: %s\n", vkllm_error());
	vocab_data_free(&v);
	return st == VKLLM_OK ? 0 : 1;
}
