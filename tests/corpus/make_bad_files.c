/* Writes the corpus of broken model files that tests/corpus/bad_files.cmake feeds to
 * `vkllm inspect` (built with AddressSanitizer and UndefinedBehaviorSanitizer): each must be
 * refused with exit 1 and one line naming what is wrong. It also seeds the fuzzer's corpus.
 *
 * A good tiny qwen3 model is synthesized, then each file breaks one thing, either by patching
 * bytes at offsets the reader reports for the good file, or by rewriting the file with one key or
 * tensor changed (tests/model/rewrite.h). DIR/index.txt lists "file<TAB>expected message" (a
 * CMake regular expression).
 *
 * usage: make_bad_files DIR */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "loader/gguf.h"
#include "model/rewrite.h"
#include "model/synth.h"

#define TRUNCATED "needs [0-9]+ bytes but the file ends|is impossible for a file of"

static const char *dir;
static FILE *idx;
static uint8_t *good;
static size_t good_size;
static struct gguf_file gf; /* the good file, parsed: where everything is */

static void emit(const char *name, const void *bytes, size_t n, const char *expect)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s.gguf", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(bytes, 1, n, f) != n) {
		perror(path);
		exit(1);
	}
	fclose(f);
	fprintf(idx, "%s.gguf\t%s\n", name, expect);
}

/* the good file with `n` bytes at `at` replaced */
static void patch(const char *name, uint64_t at, const void *bytes, size_t n, const char *expect)
{
	uint8_t *p = malloc(good_size);
	memcpy(p, good, good_size);
	memcpy(p + at, bytes, n);
	emit(name, p, good_size, expect);
	free(p);
}

static void patch_u32(const char *name, uint64_t at, uint32_t v, const char *expect) { patch(name, at, &v, 4, expect); }
static void patch_u64(const char *name, uint64_t at, uint64_t v, const char *expect) { patch(name, at, &v, 8, expect); }

static void truncated(const char *name, uint64_t n, const char *expect) { emit(name, good, n, expect); }

static void edited(const char *name, const struct edit *e, const char *expect)
{
	char src[512], dst[512];
	snprintf(src, sizeof src, "%s/good.gguf", dir);
	snprintf(dst, sizeof dst, "%s/%s.gguf", dir, name);
	if (rewrite(src, dst, e)) {
		fprintf(stderr, "rewrite %s: %s\n", name, vkllm_error());
		exit(1);
	}
	fprintf(idx, "%s.gguf\t%s\n", name, expect);
}

static const struct gguf_kv *kv_named(const char *key)
{
	const struct gguf_kv *kv = gguf_find(&gf, key);
	if (!kv) {
		fprintf(stderr, "no key %s in the good file\n", key);
		exit(1);
	}
	return kv;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: make_bad_files DIR\n");
		return 2;
	}
	dir = argv[1];
	char path[512];
	snprintf(path, sizeof path, "%s/good.gguf", dir);
	struct synth_options o = {.arch = "qwen3", .type = QT_Q8_0, .seed = 3, .tied = 0, .out = path, .quiet = true,
	                          .n_vocab = 320};
	struct synth_result r;
	if (synth_model(&o, &r) || gguf_open(&gf, path)) {
		fprintf(stderr, "good file: %s\n", vkllm_error());
		return 1;
	}
	good = gf.map, good_size = gf.size;
	snprintf(path, sizeof path, "%s/index.txt", dir);
	idx = fopen(path, "w");

	/* ---- truncated at every section boundary ---- */
	const struct gguf_tensor *t0 = &gf.tensors[0], *tl = &gf.tensors[gf.n_tensors - 1];
	truncated("trunc-empty", 0, "the file is empty");
	truncated("trunc-magic", 2, "magic");
	truncated("trunc-version", 6, "version");
	truncated("trunc-counts", 20, "key-value count");
	/* a cut in the header is refused by the first check it breaks: the counts that no longer
	 * fit, or the field that runs past the end */
	truncated("trunc-first-key", gf.kv[0].offset + 10, TRUNCATED);
	truncated("trunc-kv-section", gf.kv[gf.n_kv / 2].offset + 3, TRUNCATED);
	truncated("trunc-before-tensor-infos", t0->info_offset, TRUNCATED);
	truncated("trunc-tensor-infos", gf.tensors[gf.n_tensors / 2].info_offset + 12, TRUNCATED);
	truncated("trunc-before-data", gf.data_offset - 1, TRUNCATED "|the tensor data should start");
	truncated("trunc-data", gf.data_offset + (tl->offset + tl->size) / 2, "past end of file");
	truncated("trunc-last-byte", gf.data_offset + tl->offset + tl->size - 1, "past end of file");

	/* ---- header ---- */
	patch("bad-magic", 0, "GGML", 4, "not a GGUF file");
	patch_u32("version-1", 4, 1, "GGUF version 1 is not supported");
	patch_u32("version-4", 4, 4, "GGUF version 4 is not supported");
	patch_u32("version-big-endian", 4, 3u << 24, "big-endian");
	patch_u64("huge-tensor-count", 8, 1ull << 40, "tensor count");
	patch_u64("huge-kv-count", 16, 1ull << 40, "key-value count");
	patch_u64("negative-kv-count", 16, UINT64_MAX, "key-value count");

	/* ---- key-values ---- */
	const struct gguf_kv *k0 = &gf.kv[0];
	patch_u64("huge-key-length", k0->offset, 1ull << 62, "more than 1 GiB");
	patch_u64("key-length-past-end", k0->offset, good_size, "needs");
	patch_u32("unknown-value-type", k0->offset + 8 + k0->key.len, 99, "invalid value type 99");
	const struct gguf_kv *tokens = kv_named("tokenizer.ggml.tokens");
	uint64_t arr = tokens->offset + 8 + tokens->key.len + 4;
	patch_u32("nested-array", arr, GGUF_ARRAY, "nested arrays");
	patch_u64("huge-array-length", arr + 4, 1ull << 50, "claims");
	patch_u64("huge-string-in-array", arr + 12, 1ull << 61, "more than 1 GiB");
	/* two keys of equal length: the second renamed to the first */
	const struct gguf_kv *kv1 = kv_named("qwen3.attention.key_length"), *kv2 = kv_named("qwen3.attention.head_count");
	if (kv1->key.len == kv2->key.len) patch("duplicate-key", kv2->offset + 8, kv1->key.ptr, kv1->key.len, "duplicate key");

	/* ---- tensor infos: name len, name, n_dims, ne[], type, offset ---- */
	const struct gguf_tensor *emb = gguf_tensor(&gf, "token_embd.weight");
	uint64_t e_name = emb->info_offset + 8, e_nd = e_name + strlen(emb->name), e_ne = e_nd + 4;
	uint64_t e_type = e_ne + 8 * emb->n_dims, e_off = e_type + 4;
	patch_u32("n-dims-0", e_nd, 0, "0 dimensions");
	patch_u32("n-dims-5", e_nd, 5, "5 dimensions");
	patch_u64("dim-zero", e_ne + 8, 0, "dimension 1 = 0");
	patch_u64("dim-negative", e_ne + 8, (uint64_t)-5, "dimension 1 = -5");
	uint64_t big[2] = {1ull << 40, 1ull << 40};
	patch("dims-overflow", e_ne, big, 16, "overflows");
	patch_u32("tensor-type-unknown", e_type, 99, "unknown type id 99");
	patch_u32("tensor-type-removed", e_type, 31, "removed type id 31");
	patch_u32("tensor-row-not-whole-blocks", e_type, QT_Q4_K, "not a multiple of the q4_K block size");
	patch_u64("tensor-offset-misaligned", e_off, emb->offset + 1, "contiguous");
	const struct gguf_tensor *last = &gf.tensors[gf.n_tensors - 1];
	uint64_t l_name = last->info_offset + 8, l_off = l_name + strlen(last->name) + 4 + 8 * last->n_dims + 4;
	patch_u64("tensor-offset-past-end", l_off, 1ull << 40, "offset");
	uint64_t long_len = 80;
	patch("tensor-name-too-long", emb->info_offset, &long_len, 8, "at most 63");
	const struct gguf_tensor *tq = gguf_tensor(&gf, "blk.0.attn_q.weight"), *tk = gguf_tensor(&gf, "blk.0.attn_k.weight");
	patch("duplicate-tensor-name", tk->info_offset + 8, tq->name, strlen(tq->name), "duplicate tensor name");

	/* ---- the model: keys and tensors against the architecture ---- */
	edited("missing-tensor", &(struct edit){.drop_tensor = "blk.1.attn_q.weight"}, "missing tensor 'blk.1.attn_q.weight'");
	edited("misshapen-tensor", &(struct edit){.grow_tensor = "blk.0.ffn_down.weight"}, "has shape");
	edited("unexpected-tensor", &(struct edit){.extra_tensor = "blk.0.extra.weight"}, "unexpected tensor");
	edited("missing-output", &(struct edit){.drop_tensor = "output_norm.weight"}, "missing tensor 'output_norm.weight'");
	edited("unknown-arch", &(struct edit){.set_arch = "rwkv99"}, "architecture 'rwkv99' is not supported");
	edited("missing-key", &(struct edit){.drop_key = "qwen3.block_count"}, "key 'qwen3.block_count' is missing");
	edited("wrong-key-type", &(struct edit){.f32_key = "qwen3.context_length"}, "has type f32, expected u32");
	edited("bad-gqa", &(struct edit){.u32_key = "qwen3.attention.head_count_kv", .u32_value = 3}, "head_count_kv 3");
	edited("zero-layers", &(struct edit){.u32_key = "qwen3.block_count", .u32_value = 0}, "block_count 0");
	edited("too-many-layers", &(struct edit){.u32_key = "qwen3.block_count", .u32_value = 100000}, "out of range");
	edited("no-vocabulary", &(struct edit){.drop_key = "tokenizer.ggml.tokens"}, "tokenizer.ggml.tokens");
	edited("no-merges", &(struct edit){.drop_key = "tokenizer.ggml.merges"}, "tokenizer.ggml.merges");
	edited("no-arch", &(struct edit){.drop_key = "general.architecture"}, "general.architecture");

	fclose(idx);
	gguf_close(&gf);
	return 0;
}
