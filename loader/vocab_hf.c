/* tokenizer.json -> GGUF tokenizer, following convert_hf_to_gguf.py (conversion/base.py:
 * get_vocab_base, _create_vocab_sentencepiece) and gguf-py's SpecialVocab (gguf/vocab.py). */
#include "vocab_hf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/json_parse.h"
#include "base/status.h"

#define UNDERLINE "\xe2\x96\x81" /* U+2581 '▁', SentencePiece's spelling of a space */

/* ---- the files ---- */

struct hf_files {
	const char *tokenizer_path;
	char config_path[4096];     /* tokenizer_config.json */
	char hparams_path[4096];    /* config.json */
	struct jp_doc tokenizer;
	struct jp_doc config;       /* tokenizer_config.json; root is null when there is none */
	struct jp_doc hparams;      /* config.json; root is null when there is none */
	char *jinja;                /* chat_template.jinja, or NULL */
	const struct jp_value *chat_template_json; /* "chat_template" of chat_template.json, or NULL */
	struct jp_doc chat_template_doc;
};

static void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("vkllm: warning: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* dir_of(path) + name into out. */
static int sibling_path(const char *path, const char *name, char *out, size_t n)
{
	const char *slash = strrchr(path, '/');
	int dir_len = slash ? (int)(slash - path + 1) : 0;
	int len = snprintf(out, n, "%.*s%s", dir_len, path, name);
	if (len < 0 || (size_t)len >= n) return fail(VKLLM_E_ARG, "%s: path too long", path);
	return VKLLM_OK;
}

static bool file_exists(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0;
}

/* Parses an optional JSON file; absent leaves the doc empty (root null). */
static int parse_optional(struct jp_doc *doc, const char *path)
{
	memset(doc, 0, sizeof *doc);
	if (!file_exists(path)) return VKLLM_OK;
	return jp_parse_file(doc, path);
}

static int read_text_file(const char *path, char **out)
{
	*out = NULL;
	FILE *f = fopen(path, "rb");
	if (!f) return fail(VKLLM_E_IO, "%s: %s", path, strerror(errno));
	char *buf = NULL;
	size_t len = 0, cap = 0, got;
	char chunk[65536];
	while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
		if (len + got + 1 > cap) {
			cap = (len + got + 1) * 2;
			char *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				return fail(VKLLM_E_NOMEM, "%s: out of host memory", path);
			}
			buf = nb;
		}
		memcpy(buf + len, chunk, got);
		len += got;
	}
	bool bad = ferror(f);
	fclose(f);
	if (bad) {
		free(buf);
		return fail(VKLLM_E_IO, "%s: read failed", path);
	}
	if (!buf) buf = calloc(1, 1);
	if (!buf) return fail(VKLLM_E_NOMEM, "%s: out of host memory", path);
	buf[len] = '\0';
	if (strlen(buf) != len) {
		free(buf);
		return fail(VKLLM_E_FORMAT, "%s: contains a NUL byte", path);
	}
	*out = buf;
	return VKLLM_OK;
}

/* The converter's alternatives to tokenizer_config.json's chat_template: chat_template.jinja, then
 * chat_template.json. */
static int open_chat_template_files(struct hf_files *f)
{
	char path[4096];
	TRY(sibling_path(f->tokenizer_path, "chat_template.jinja", path, sizeof path));
	if (file_exists(path)) return read_text_file(path, &f->jinja);
	TRY(sibling_path(f->tokenizer_path, "chat_template.json", path, sizeof path));
	TRY(parse_optional(&f->chat_template_doc, path));
	f->chat_template_json = jp_get(&f->chat_template_doc.root, "chat_template");
	return VKLLM_OK;
}

static void close_files(struct hf_files *f)
{
	jp_doc_free(&f->tokenizer);
	jp_doc_free(&f->config);
	jp_doc_free(&f->hparams);
	jp_doc_free(&f->chat_template_doc);
	free(f->jinja);
	memset(f, 0, sizeof *f);
}

static int open_files(struct hf_files *f, const char *tokenizer_path)
{
	memset(f, 0, sizeof *f);
	f->tokenizer_path = tokenizer_path;
	int st = jp_parse_file(&f->tokenizer, tokenizer_path);
	if (st == VKLLM_OK && !jp_is(&f->tokenizer.root, JP_OBJECT))
		st = fail(VKLLM_E_FORMAT, "%s: expected a JSON object at the top level", tokenizer_path);
	if (st == VKLLM_OK)
		st = sibling_path(tokenizer_path, "tokenizer_config.json", f->config_path, sizeof f->config_path);
	if (st == VKLLM_OK) st = parse_optional(&f->config, f->config_path);
	if (st == VKLLM_OK) st = sibling_path(tokenizer_path, "config.json", f->hparams_path, sizeof f->hparams_path);
	if (st == VKLLM_OK) st = parse_optional(&f->hparams, f->hparams_path);
	if (st == VKLLM_OK) st = open_chat_template_files(f);
	if (st != VKLLM_OK) close_files(f);
	return st;
}

/* ---- small JSON helpers ---- */

static bool str_is(const struct jp_value *v, const char *s) { return jp_str(v) && strcmp(jp_str(v), s) == 0; }
static bool starts_with(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }
static bool ends_with(const char *s, size_t n, const char *p)
{
	size_t k = strlen(p);
	return n >= k && memcmp(s + n - k, p, k) == 0;
}

/* A token id: an integer in 0 .. 2^31-1. */
static int read_id(const struct jp_value *v, const char *file, const char *what, uint32_t *out)
{
	int64_t id = -1;
	*out = 0;
	if (!jp_int64(v, &id) || id < 0 || id > INT32_MAX)
		return fail(VKLLM_E_FORMAT, "%s: %s: expected a token id (an integer 0..2147483647), found a %s", file,
		            what, v ? jp_type_name(v->type) : "missing value");
	*out = (uint32_t)id;
	return VKLLM_OK;
}

/* config.json's vocab_size (or text_config.vocab_size for multimodal configs), 0 when absent. */
static uint32_t hparams_vocab_size(const struct hf_files *f)
{
	const struct jp_value *root = &f->hparams.root;
	int64_t n = 0;
	if (!jp_int64(jp_get(root, "vocab_size"), &n)) jp_int64(jp_get(jp_get(root, "text_config"), "vocab_size"), &n);
	return n > 0 && n <= INT32_MAX ? (uint32_t)n : 0;
}

/* ---- added tokens ---- */

struct added_token {
	uint32_t id;
	const char *content;
	uint32_t len;
	bool special;
	bool normalized; /* matched after the normalizer (else on the raw text) */
};

/* The converter's does_token_look_special: added tokens that some models forget to mark special. */
static bool looks_special(const char *s, size_t n)
{
	static const char *const names[] = {"<pad>", "<mask>", "<2mass>", "[@BOS@]"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strlen(names[i]) == n && memcmp(s, names[i], n) == 0) return true;
	if (starts_with(s, "<|") && ends_with(s, n, "|>")) return true;
	if (starts_with(s, "<\xef\xbd\x9c") && ends_with(s, n, "\xef\xbd\x9c>")) return true; /* <｜ ... ｜> */
	if (starts_with(s, "<unused") && ends_with(s, n, ">")) return true;
	return false;
}

/* Stores an added token as the converter does: CONTROL when special (or special-looking), otherwise
 * USER_DEFINED with each '▁' turned back into a space, since llama.cpp matches user-defined tokens
 * against the raw text. */
static int store_added_token(struct vocab_data *v, uint32_t id, const char *text, size_t len, bool special)
{
	if (special || looks_special(text, len)) return vocab_set_token(v, id, text, len, VOCAB_CONTROL);
	char *spaced = malloc(len + 1);
	if (!spaced) return fail(VKLLM_E_NOMEM, "out of host memory");
	size_t n = 0;
	for (size_t i = 0; i < len;) {
		if (len - i >= 3 && memcmp(text + i, UNDERLINE, 3) == 0) {
			spaced[n++] = ' ';
			i += 3;
		} else {
			spaced[n++] = text[i++];
		}
	}
	int st = vocab_set_token(v, id, spaced, n, VOCAB_USER_DEFINED);
	free(spaced);
	return st;
}

/* Reads one {"id", "content", "special"} entry; id_value, when given, is the id instead (in
 * tokenizer_config.json's added_tokens_decoder the id is the member's key). */
static int read_added_token(const struct jp_value *e, const char *file, const char *where,
                            const struct jp_value *id_value, struct added_token *t)
{
	const struct jp_value *content = jp_get(e, "content");
	if (!jp_is(content, JP_STRING))
		return fail(VKLLM_E_FORMAT, "%s: %s: expected a string \"content\"", file, where);
	TRY(read_id(id_value ? id_value : jp_get(e, "id"), file, where, &t->id));
	t->content = content->u.string;
	t->len = content->len;
	const struct jp_value *special = jp_get(e, "special"), *normalized = jp_get(e, "normalized");
	t->special = jp_is(special, JP_BOOL) && special->boolean;
	t->normalized = jp_is(normalized, JP_BOOL) ? normalized->boolean : !t->special; /* HF's default */
	return VKLLM_OK;
}

/* tokenizer.json's added_tokens as a C array (the caller frees it). */
static int collect_added_tokens(const struct hf_files *f, struct added_token **out, uint32_t *count)
{
	*out = NULL, *count = 0;
	const struct jp_value *list = jp_get(&f->tokenizer.root, "added_tokens");
	if (!list || list->type == JP_NULL) return VKLLM_OK;
	if (list->type != JP_ARRAY)
		return fail(VKLLM_E_FORMAT, "%s: added_tokens: expected an array, found a %s", f->tokenizer_path,
		            jp_type_name(list->type));
	struct added_token *t = calloc(list->len ? list->len : 1, sizeof *t);
	if (!t) return fail(VKLLM_E_NOMEM, "out of host memory");
	for (uint32_t i = 0; i < list->len; i++) {
		char where[48];
		snprintf(where, sizeof where, "added_tokens[%u]", i);
		int st = read_added_token(&list->u.items[i], f->tokenizer_path, where, NULL, &t[i]);
		if (st != VKLLM_OK) {
			free(t);
			return st;
		}
	}
	*out = t, *count = list->len;
	return VKLLM_OK;
}

/* tokenizer_config.json's added_tokens_decoder ({"<id>": {...}}), which is what the SentencePiece
 * path of the converter reads; without one, tokenizer.json's added_tokens say the same thing. */
static int collect_added_tokens_decoder(const struct hf_files *f, struct added_token **out, uint32_t *count)
{
	const struct jp_value *dec = jp_get(&f->config.root, "added_tokens_decoder");
	if (!dec) return collect_added_tokens(f, out, count);
	*out = NULL, *count = 0;
	if (dec->type != JP_OBJECT)
		return fail(VKLLM_E_FORMAT, "%s: added_tokens_decoder: expected an object, found a %s", f->config_path,
		            jp_type_name(dec->type));
	struct added_token *t = calloc(dec->len ? dec->len : 1, sizeof *t);
	if (!t) return fail(VKLLM_E_NOMEM, "out of host memory");
	for (uint32_t i = 0; i < dec->len; i++) {
		const struct jp_member *m = &dec->u.members[i];
		char where[80];
		snprintf(where, sizeof where, "added_tokens_decoder[\"%.32s\"]", m->key);
		/* the keys are the ids, written as decimal strings */
		char *end;
		errno = 0;
		long long id = strtoll(m->key, &end, 10);
		int st = VKLLM_OK;
		if (m->key_len == 0 || *end || errno || id < 0 || id > INT32_MAX)
			st = fail(VKLLM_E_FORMAT, "%s: %s: expected a token id as the key", f->config_path, where);
		struct jp_value id_value = {.type = JP_NUMBER, .is_integer = 1, .u.number = (double)id};
		if (st == VKLLM_OK) st = read_added_token(&m->value, f->config_path, where, &id_value, &t[i]);
		if (st != VKLLM_OK) {
			free(t);
			return st;
		}
	}
	*out = t, *count = dec->len;
	return VKLLM_OK;
}

/* ---- the base vocabulary (model.vocab) ---- */

/* The id of model.vocab entry m; the entry's name goes into the message only when it is wrong. */
static int vocab_entry_id(const struct jp_member *m, const char *file, uint32_t *id)
{
	int64_t value;
	if (jp_int64(&m->value, &value) && value >= 0 && value <= INT32_MAX) {
		*id = (uint32_t)value;
		return VKLLM_OK;
	}
	char where[96];
	snprintf(where, sizeof where, "model.vocab[\"%.48s\"]", m->key);
	return read_id(&m->value, file, where, id);
}

/* Places every model.vocab entry at its id; ids must be unique and below v->n_tokens. */
static int set_base_tokens(struct vocab_data *v, const struct jp_value *vocab, const char *file)
{
	for (uint32_t i = 0; i < vocab->len; i++) {
		const struct jp_member *m = &vocab->u.members[i];
		uint32_t id;
		TRY(vocab_entry_id(m, file, &id));
		CHECK(id < v->n_tokens);
		if (v->tokens[id])
			return fail(VKLLM_E_FORMAT, "%s: model.vocab: id %u is used by both \"%.48s\" and \"%.48s\"",
			            file, id, v->tokens[id], m->key);
		TRY(vocab_set_token(v, id, m->key, m->key_len, VOCAB_NORMAL));
	}
	return VKLLM_OK;
}

static int max_vocab_id(const struct jp_value *vocab, const char *file, uint32_t *max_id)
{
	*max_id = 0;
	for (uint32_t i = 0; i < vocab->len; i++) {
		uint32_t id;
		TRY(vocab_entry_id(&vocab->u.members[i], file, &id));
		if (id > *max_id) *max_id = id;
	}
	return VKLLM_OK;
}

/* The converter fills ids that no token uses with "[PAD<id>]", type UNUSED. */
static int fill_holes(struct vocab_data *v, float hole_score)
{
	for (uint32_t id = 0; id < v->n_tokens; id++) {
		if (v->tokens[id]) continue;
		char text[32];
		int n = snprintf(text, sizeof text, "[PAD%u]", id);
		TRY(vocab_set_token(v, id, text, (size_t)n, VOCAB_UNUSED));
		if (v->scores) v->scores[id] = hole_score;
	}
	return VKLLM_OK;
}

/* ---- merges ---- */

/* One merge as (left, right). The old format is "left right"; the list format (transformers >= 4.45)
 * allows spaces inside the parts, which the converter spells as U+0120 'Ġ' (the byte-level spelling of
 * a space) so the GGUF's "left right" stays unambiguous. */
struct merge_parts {
	const char *left, *right;
	size_t left_len, right_len;
	char *owned; /* the parts after spaces were respelled, or NULL */
};

static void respell_spaces(const char *s, size_t n, char *out, size_t *out_len)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == ' ') {
			out[k++] = '\xc4'; /* U+0120 in UTF-8 */
			out[k++] = '\xa0';
		} else {
			out[k++] = s[i];
		}
	}
	*out_len = k;
}

static int read_merge(const struct jp_value *m, const char *file, uint32_t i, struct merge_parts *p)
{
	memset(p, 0, sizeof *p);
	if (jp_is(m, JP_STRING)) {
		/* split at the first space after the first byte, as llama.cpp does */
		const char *space = m->len > 1 ? memchr(m->u.string + 1, ' ', m->len - 1) : NULL;
		if (!space)
			return fail(VKLLM_E_FORMAT, "%s: model.merges[%u]: expected \"left right\", found \"%.64s\"",
			            file, i, m->u.string);
		p->left = m->u.string, p->left_len = (size_t)(space - m->u.string);
		p->right = space + 1, p->right_len = m->len - p->left_len - 1;
		return VKLLM_OK;
	}
	const struct jp_value *l = jp_at(m, 0), *r = jp_at(m, 1);
	if (!jp_is(m, JP_ARRAY) || m->len != 2 || !jp_is(l, JP_STRING) || !jp_is(r, JP_STRING))
		return fail(VKLLM_E_FORMAT,
		            "%s: model.merges[%u]: expected a string \"left right\" or a pair of strings", file, i);
	if (!memchr(l->u.string, ' ', l->len) && !memchr(r->u.string, ' ', r->len)) {
		p->left = l->u.string, p->left_len = l->len;
		p->right = r->u.string, p->right_len = r->len;
		return VKLLM_OK;
	}
	p->owned = malloc(2 * ((size_t)l->len + r->len) + 2);
	if (!p->owned) return fail(VKLLM_E_NOMEM, "out of host memory");
	respell_spaces(l->u.string, l->len, p->owned, &p->left_len);
	p->left = p->owned;
	respell_spaces(r->u.string, r->len, p->owned + p->left_len, &p->right_len);
	p->right = p->owned + p->left_len;
	return VKLLM_OK;
}

static int get_merges(const struct hf_files *f, const struct jp_value **out)
{
	const struct jp_value *merges = jp_get(jp_get(&f->tokenizer.root, "model"), "merges");
	*out = NULL;
	if (!jp_is(merges, JP_ARRAY))
		return fail(VKLLM_E_FORMAT, "%s: model.merges: expected an array of merges, found %s",
		            f->tokenizer_path, merges ? jp_type_name(merges->type) : "nothing");
	*out = merges;
	return VKLLM_OK;
}

static int copy_merges(struct vocab_data *v, const struct hf_files *f)
{
	const struct jp_value *merges;
	TRY(get_merges(f, &merges));
	if (merges->len == 0)
		return fail(VKLLM_E_FORMAT, "%s: model.merges is empty; a BPE tokenizer needs merges",
		            f->tokenizer_path);
	TRY(vocab_alloc_merges(v, merges->len));
	for (uint32_t i = 0; i < merges->len; i++) {
		struct merge_parts p;
		TRY(read_merge(&merges->u.items[i], f->tokenizer_path, i, &p));
		int st = vocab_set_merge(v, i, p.left, p.left_len, p.right, p.right_len);
		free(p.owned);
		TRY(st);
	}
	return VKLLM_OK;
}

/* ---- tokenizer.ggml.pre ---- */

/* The pre-tokenizers of the converter's known models, as a list of steps. */
#define RE_CONTRACTIONS "(?i:'s|'t|'re|'ve|'m|'ll|'d)"
/* Qwen2 and Llama 3 differ only in the digits: one at a time, or up to three */
#define RE_QWEN2_LLAMA3(digits) \
	RE_CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|" digits "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_QWEN2 RE_QWEN2_LLAMA3("\\p{N}")
#define RE_LLAMA3 RE_QWEN2_LLAMA3("\\p{N}{1,3}")
#define RE_DEEPSEEK3_CJK "[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+"
/* (the CR and LF in this one are the characters themselves, as in DeepSeek's file) */
#define RE_DEEPSEEK3_WORDS                                                                         \
	"[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+"                                          \
	"|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"
#define RE_O200K_UPPER "[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]"
#define RE_O200K_LOWER "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]"
#define RE_O200K                                                                                              \
	"[^\\r\\n\\p{L}\\p{N}]?" RE_O200K_UPPER "*" RE_O200K_LOWER "+" RE_CONTRACTIONS "?"                         \
	"|[^\\r\\n\\p{L}\\p{N}]?" RE_O200K_UPPER "+" RE_O200K_LOWER "*" RE_CONTRACTIONS "?"                        \
	"|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

/* Each step is "split:<regex>", "digits:<individual 0/1>" or "bytelevel:<use_regex 0/1>". */
static const struct {
	const char *name;
	const char *steps[5];
} known_pre[] = {
	{"qwen2", {"split:" RE_QWEN2, "bytelevel:0"}},
	{"llama-bpe", {"split:" RE_LLAMA3, "bytelevel:0"}},
	{"deepseek-v3", {"split:\\p{N}{1,3}", "split:" RE_DEEPSEEK3_CJK, "split:" RE_DEEPSEEK3_WORDS, "bytelevel:0"}},
	{"gpt-4o", {"split:" RE_O200K, "bytelevel:0"}},
	/* SmolLM (StarCoder's tokenizer): digits one by one, then GPT-2's own regex */
	{"smollm", {"digits:1", "bytelevel:1"}},
};

/* Describes one pre-tokenizer step as in known_pre; false for a step no known model has. */
static bool describe_step(const struct jp_value *step, char *out, size_t n)
{
	const struct jp_value *type = jp_get(step, "type");
	if (str_is(type, "Split")) {
		const struct jp_value *re = jp_get(jp_get(step, "pattern"), "Regex");
		const struct jp_value *invert = jp_get(step, "invert");
		if (!jp_is(re, JP_STRING) || !str_is(jp_get(step, "behavior"), "Isolated") ||
		    (invert && invert->boolean))
			return false;
		return (size_t)snprintf(out, n, "split:%s", re->u.string) < n;
	}
	if (str_is(type, "Digits")) {
		const struct jp_value *individual = jp_get(step, "individual_digits");
		snprintf(out, n, "digits:%d", jp_is(individual, JP_BOOL) && individual->boolean);
		return true;
	}
	if (str_is(type, "ByteLevel")) {
		const struct jp_value *use_regex = jp_get(step, "use_regex"); /* HF's default is true */
		snprintf(out, n, "bytelevel:%d", !jp_is(use_regex, JP_BOOL) || use_regex->boolean);
		return true;
	}
	return false;
}

/* Step i of a pre-tokenizer: the items of a Sequence, or the pre-tokenizer itself. */
static const struct jp_value *pre_step(const struct jp_value *pre_tokenizer, uint32_t i, uint32_t *n_steps)
{
	if (!str_is(jp_get(pre_tokenizer, "type"), "Sequence")) {
		*n_steps = pre_tokenizer ? 1 : 0;
		return pre_tokenizer;
	}
	const struct jp_value *list = jp_get(pre_tokenizer, "pretokenizers");
	*n_steps = jp_is(list, JP_ARRAY) ? list->len : 0;
	return jp_at(list, i);
}

const char *vocab_hf_recognise_pre(const struct jp_value *pre_tokenizer)
{
	uint32_t n_steps;
	pre_step(pre_tokenizer, 0, &n_steps);
	for (size_t k = 0; k < sizeof known_pre / sizeof known_pre[0]; k++) {
		bool same = true;
		uint32_t i = 0;
		for (; same && i < n_steps && i < 4 && known_pre[k].steps[i]; i++) {
			char desc[1024];
			same = describe_step(pre_step(pre_tokenizer, i, &n_steps), desc, sizeof desc) &&
			       strcmp(desc, known_pre[k].steps[i]) == 0;
		}
		if (same && i == n_steps && !known_pre[k].steps[i]) return known_pre[k].name;
	}
	return NULL;
}

/* True when anything in the pre-tokenizer or the decoder is ByteLevel. */
static bool is_byte_level(const struct jp_value *root)
{
	const struct jp_value *pre = jp_get(root, "pre_tokenizer"), *dec = jp_get(root, "decoder");
	if (str_is(jp_get(pre, "type"), "ByteLevel") || str_is(jp_get(dec, "type"), "ByteLevel")) return true;
	const struct jp_value *steps = jp_get(pre, "pretokenizers");
	for (uint32_t i = 0; jp_is(steps, JP_ARRAY) && i < steps->len; i++)
		if (str_is(jp_get(&steps->u.items[i], "type"), "ByteLevel")) return true;
	return false;
}

static int choose_pre(struct vocab_data *v, const struct hf_files *f, const struct vocab_hf_options *opt)
{
	const char *pre =
	        opt && opt->pre ? opt->pre : vocab_hf_recognise_pre(jp_get(&f->tokenizer.root, "pre_tokenizer"));
	if (!pre) {
		warn("%s: the pre-tokenizer is not one vkllm recognises (qwen2, llama-bpe, deepseek-v3, gpt-4o, smollm); "
		     "writing tokenizer.ggml.pre = \"default\", which llama.cpp may split differently",
		     f->tokenizer_path);
		pre = "default";
	}
	if (!pre[0] || strlen(pre) >= sizeof v->pre)
		return fail(VKLLM_E_ARG, "tokenizer.ggml.pre \"%s\": expected 1..%zu bytes", pre, sizeof v->pre - 1);
	snprintf(v->pre, sizeof v->pre, "%s", pre);
	return VKLLM_OK;
}

/* ---- byte-level BPE (conversion/base.py get_vocab_base + _set_vocab_gpt2) ---- */

/* The converter sizes the vocabulary by config.json's vocab_size, else by HF's count of distinct token
 * texts, which for any tokenizer whose ids have no gaps is the largest id + 1 (with gaps the converter
 * stops; here the gaps become [PAD] holes). */
static int byte_level_size(const struct hf_files *f, const struct jp_value *vocab, const struct added_token *added,
                           uint32_t n_added, uint32_t wanted, uint32_t *n)
{
	if (vocab->len == 0 && n_added == 0) return fail(VKLLM_E_FORMAT, "%s: model.vocab is empty", f->tokenizer_path);
	uint32_t max_id;
	TRY(max_vocab_id(vocab, f->tokenizer_path, &max_id));
	for (uint32_t i = 0; i < n_added; i++)
		if (added[i].id > max_id) max_id = added[i].id;
	if (wanted && wanted < (uint64_t)max_id + 1)
		return fail(VKLLM_E_FORMAT, "%s: vocabulary size %u is smaller than the largest token id %u + 1",
		            f->tokenizer_path, wanted, max_id);
	*n = wanted ? wanted : max_id + 1;
	return VKLLM_OK;
}

/* How HF decodes text, for the converter's decode(encode(token)) of non-normalized added tokens. */
struct hf_decoding {
	bool byte_level;       /* the decoder is (or contains) ByteLevel */
	bool clean_up;         /* tokenizer_config.json: clean_up_tokenization_spaces */
	int16_t byte_of[324];  /* byte-level spelling -> byte, -1 for none (256 + 68 moved bytes) */
};

static bool decoder_is_byte_level(const struct jp_value *decoder)
{
	if (str_is(jp_get(decoder, "type"), "ByteLevel")) return true;
	const struct jp_value *list = jp_get(decoder, "decoders");
	for (uint32_t i = 0; jp_is(list, JP_ARRAY) && i < list->len; i++)
		if (str_is(jp_get(&list->u.items[i], "type"), "ByteLevel")) return true;
	return false;
}

static void init_decoding(struct hf_decoding *dec, const struct hf_files *f)
{
	const struct jp_value *clean_up = jp_get(&f->config.root, "clean_up_tokenization_spaces");
	dec->byte_level = decoder_is_byte_level(jp_get(&f->tokenizer.root, "decoder"));
	dec->clean_up = jp_is(clean_up, JP_BOOL) && clean_up->boolean;
	for (int cp = 0; cp < 324; cp++) dec->byte_of[cp] = -1;
	for (int b = 0; b < 256; b++) dec->byte_of[vocab_byte_to_codepoint((uint8_t)b)] = (int16_t)b;
}

/* Decodes one UTF-8 code point at s (n > 0 bytes left); returns its length, 0 when malformed. */
static size_t next_codepoint(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len = s[0] < 0x80 ? 1 : s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	if (len > n || (len > 1 && s[0] < 0xc2)) return 0;
	*cp = len == 1 ? s[0] : (uint32_t)(s[0] & (0xff >> (len + 1)));
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80) return 0;
		*cp = *cp << 6 | (s[i] & 0x3f);
	}
	return len;
}

/* Rust's String::from_utf8_lossy: each maximal ill-formed subsequence becomes one U+FFFD. out needs
 * room for 3 bytes per input byte. */
static size_t utf8_lossy(const unsigned char *s, size_t n, char *out)
{
	size_t k = 0;
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t need = 0;
		unsigned char lo = 0x80, hi = 0xbf; /* allowed second byte */
		if (c < 0x80) {
			out[k++] = (char)c, i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) need = 1;
		else if (c == 0xe0) need = 2, lo = 0xa0;
		else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) need = 2;
		else if (c == 0xed) need = 2, hi = 0x9f;
		else if (c == 0xf0) need = 3, lo = 0x90;
		else if (c >= 0xf1 && c <= 0xf3) need = 3;
		else if (c == 0xf4) need = 3, hi = 0x8f;
		size_t j = 1; /* the lead byte and the continuation bytes that fit */
		while (j <= need && i + j < n) {
			unsigned char d = s[i + j];
			if (j == 1 ? (d < lo || d > hi) : (d & 0xc0) != 0x80) break;
			j++;
		}
		if (need && j == need + 1) {
			memcpy(out + k, s + i, j);
			k += j;
		} else {
			memcpy(out + k, "\xef\xbf\xbd", 3);
			k += 3;
		}
		i += j;
	}
	return k;
}

/* transformers' clean_up_tokenization: no space before some punctuation and contractions. */
static size_t clean_up_spaces(char *s, size_t n)
{
	static const char *const from[] = {" .", " ?", " !", " ,", " ' ", " n't", " 'm", " 's", " 've", " 're"};
	static const char *const to[] = {".", "?", "!", ",", "'", "n't", "'m", "'s", "'ve", "'re"};
	for (size_t r = 0; r < sizeof from / sizeof from[0]; r++) {
		size_t fl = strlen(from[r]), tl = strlen(to[r]), k = 0;
		for (size_t i = 0; i < n;) {
			if (n - i >= fl && memcmp(s + i, from[r], fl) == 0) {
				memmove(s + k, to[r], tl); /* shorter than the match: never overtakes i */
				k += tl, i += fl;
			} else {
				s[k++] = s[i++];
			}
		}
		n = k;
	}
	return n;
}

/* The converter stores a non-normalized added token as HF's decode(encode(token)) gives it back. HF
 * matches the token whole, so encoding gives its id; decoding runs the ByteLevel decoder over its
 * text, which turns it into the bytes its characters spell when every character is one of the 256
 * byte spellings ("ĠĠ" becomes two spaces) and leaves it as written otherwise; then the optional
 * clean-up. The result (malloc'd) goes in *out. */
static int hf_round_trip(const struct added_token *t, const struct hf_decoding *dec, char **out, size_t *out_len)
{
	unsigned char *bytes = malloc(t->len + 1);
	char *text = malloc(3 * (size_t)t->len + 1);
	if (!bytes || !text) {
		free(bytes), free(text);
		return fail(VKLLM_E_NOMEM, "out of host memory");
	}
	size_t n_bytes = 0, i = 0;
	bool all_bytes = dec->byte_level;
	const unsigned char *s = (const unsigned char *)t->content;
	while (all_bytes && i < t->len) {
		uint32_t cp = 0;
		size_t len = next_codepoint(s + i, t->len - i, &cp);
		all_bytes = len && cp < 324 && dec->byte_of[cp] >= 0;
		if (all_bytes) bytes[n_bytes++] = (unsigned char)dec->byte_of[cp], i += len;
	}
	size_t n = all_bytes ? utf8_lossy(bytes, n_bytes, text) : t->len;
	if (!all_bytes) memcpy(text, t->content, t->len);
	if (dec->clean_up) n = clean_up_spaces(text, n);
	text[n] = '\0';
	free(bytes);
	*out = text, *out_len = n;
	return VKLLM_OK;
}

/* Added tokens go over the base ones; a base token whose text an added token takes over (at another
 * id) loses its id, which becomes a [PAD] hole, as in HF's get_vocab(). */
static int place_added_tokens(struct vocab_data *v, const struct added_token *added, uint32_t n_added,
                              const struct vocab_index *base_index, const struct hf_decoding *dec)
{
	uint8_t *from_added = calloc(v->n_tokens, 1);
	uint32_t *orphans = malloc((n_added ? n_added : 1) * sizeof *orphans);
	uint32_t n_orphans = 0;
	int st = from_added && orphans ? VKLLM_OK : fail(VKLLM_E_NOMEM, "out of host memory");
	for (uint32_t i = 0; st == VKLLM_OK && i < n_added; i++) {
		const struct added_token *t = &added[i];
		int64_t base_id = vocab_index_find(base_index, v, t->content, t->len);
		if (base_id >= 0 && base_id != t->id) orphans[n_orphans++] = (uint32_t)base_id;
		if (t->normalized) {
			st = store_added_token(v, t->id, t->content, t->len, t->special);
		} else {
			char *text = NULL;
			size_t len = 0;
			st = hf_round_trip(t, dec, &text, &len);
			if (st == VKLLM_OK) st = store_added_token(v, t->id, text, len, t->special);
			free(text);
		}
		from_added[t->id] = 1;
	}
	for (uint32_t i = 0; st == VKLLM_OK && i < n_orphans; i++)
		if (!from_added[orphans[i]]) v->tokens[orphans[i]] = NULL; /* fill_holes makes it [PAD<id>] */
	free(from_added);
	free(orphans);
	return st;
}

static int load_byte_level(struct vocab_data *v, const struct hf_files *f, const struct vocab_hf_options *opt,
                           uint32_t wanted)
{
	const struct jp_value *vocab = jp_get(jp_get(&f->tokenizer.root, "model"), "vocab");
	if (!jp_is(vocab, JP_OBJECT))
		return fail(VKLLM_E_FORMAT, "%s: model.vocab: expected an object of token -> id", f->tokenizer_path);
	struct added_token *added;
	uint32_t n_added, n = 0;
	TRY(collect_added_tokens(f, &added, &n_added));
	struct vocab_index base_index = {0};
	int st = byte_level_size(f, vocab, added, n_added, wanted, &n);
	if (st == VKLLM_OK) st = vocab_alloc_tokens(v, n, false);
	if (st == VKLLM_OK) st = set_base_tokens(v, vocab, f->tokenizer_path);
	if (st == VKLLM_OK) st = vocab_index_init(&base_index, n);
	for (uint32_t id = 0; st == VKLLM_OK && id < n; id++)
		if (v->tokens[id]) vocab_index_add(&base_index, v, id);
	struct hf_decoding dec;
	init_decoding(&dec, f);
	if (st == VKLLM_OK) st = place_added_tokens(v, added, n_added, &base_index, &dec);
	if (st == VKLLM_OK) st = fill_holes(v, 0.0f);
	vocab_index_free(&base_index);
	free(added);
	TRY(st);
	snprintf(v->model, sizeof v->model, "gpt2");
	TRY(copy_merges(v, f));
	return choose_pre(v, f, opt);
}

/* ---- SentencePiece-style BPE (conversion/base.py _create_vocab_sentencepiece) ---- */

static bool is_hex_digit(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

/* The converter's BYTE test for pieces: <0x[0-9A-Fa-f]{2}> */
static bool is_byte_piece(const char *s, size_t n)
{
	return n == 6 && memcmp(s, "<0x", 3) == 0 && is_hex_digit(s[3]) && is_hex_digit(s[4]) && s[5] == '>';
}

/* The converter copies each piece's score from tokenizer.model, which tokenizer.json does not carry.
 * It does carry their order: transformers builds the merges list sorted by the score of the piece each
 * merge makes (best first), and llama.cpp's SentencePiece tokenizer only ever compares the scores of
 * pieces that merges make. So score = -(rank of the first merge making the piece) tokenizes exactly as
 * the original scores do. Pieces no merge makes (single characters) rank after all of those, bytes and
 * the unknown piece keep SentencePiece's 0. */
static int recover_piece_scores(struct vocab_data *v, const struct hf_files *f, uint32_t n_pieces)
{
	const struct jp_value *merges;
	TRY(get_merges(f, &merges));
	struct vocab_index ix;
	TRY(vocab_index_init(&ix, n_pieces));
	for (uint32_t id = 0; id < n_pieces; id++) vocab_index_add(&ix, v, id);
	int64_t *first_rank = malloc((n_pieces ? n_pieces : 1) * sizeof *first_rank);
	char *buf = NULL;
	size_t cap = 0;
	int st = first_rank ? VKLLM_OK : fail(VKLLM_E_NOMEM, "out of host memory");
	for (uint32_t id = 0; st == VKLLM_OK && id < n_pieces; id++) first_rank[id] = -1;
	for (uint32_t i = 0; st == VKLLM_OK && i < merges->len; i++) {
		struct merge_parts p;
		st = read_merge(&merges->u.items[i], f->tokenizer_path, i, &p);
		if (st != VKLLM_OK) break;
		size_t n = p.left_len + p.right_len;
		if (n > cap) {
			cap = 2 * n;
			char *nb = realloc(buf, cap);
			if (!nb) st = fail(VKLLM_E_NOMEM, "out of host memory");
			else buf = nb;
		}
		if (st == VKLLM_OK) {
			memcpy(buf, p.left, p.left_len);
			memcpy(buf + p.left_len, p.right, p.right_len);
			int64_t id = vocab_index_find(&ix, v, buf, n);
			if (id >= 0 && first_rank[id] < 0) first_rank[id] = i;
		}
		free(p.owned);
	}
	for (uint32_t id = 0; st == VKLLM_OK && id < n_pieces; id++) {
		if (v->token_type[id] != VOCAB_NORMAL) v->scores[id] = 0.0f;
		else if (first_rank[id] >= 0) v->scores[id] = -(float)first_rank[id];
		else v->scores[id] = -(float)((uint64_t)merges->len + id);
	}
	free(buf);
	free(first_rank);
	vocab_index_free(&ix);
	return st;
}

static int set_pieces(struct vocab_data *v, const struct jp_value *model, const char *file, uint32_t n_pieces)
{
	const struct jp_value *vocab = jp_get(model, "vocab");
	const char *unk = jp_str(jp_get(model, "unk_token"));
	for (uint32_t i = 0; i < vocab->len; i++) {
		const struct jp_member *m = &vocab->u.members[i];
		uint32_t id;
		TRY(vocab_entry_id(m, file, &id));
		if (id >= n_pieces)
			return fail(VKLLM_E_FORMAT,
			            "%s: model.vocab[\"%.48s\"] = %u: a SentencePiece vocabulary of %u pieces "
			            "numbers them 0..%u",
			            file, m->key, id, n_pieces, n_pieces - 1);
		if (v->tokens[id])
			return fail(VKLLM_E_FORMAT, "%s: model.vocab: id %u is used by both \"%.48s\" and \"%.48s\"",
			            file, id, v->tokens[id], m->key);
		int32_t type = VOCAB_NORMAL;
		if (is_byte_piece(m->key, m->key_len)) type = VOCAB_BYTE;
		else if (unk && strcmp(unk, m->key) == 0) type = VOCAB_UNKNOWN;
		TRY(vocab_set_token(v, id, m->key, m->key_len, type));
	}
	return VKLLM_OK;
}

/* Added tokens from tokenizer_config.json replace the pieces at their ids, with score -1000; ids past
 * the vocabulary are ignored (the converter warns). */
static int apply_spm_added_tokens(struct vocab_data *v, const struct hf_files *f)
{
	struct added_token *added;
	uint32_t n_added, ignored = 0;
	TRY(collect_added_tokens_decoder(f, &added, &n_added));
	int st = VKLLM_OK;
	for (uint32_t i = 0; st == VKLLM_OK && i < n_added; i++) {
		if (added[i].id >= v->n_tokens) {
			ignored++;
			continue;
		}
		st = store_added_token(v, added[i].id, added[i].content, added[i].len, added[i].special);
		v->scores[added[i].id] = -1000.0f;
	}
	free(added);
	if (ignored)
		warn("%s: %u added token(s) have ids past the vocabulary of %u and are left out, as the converter does",
		     f->tokenizer_path, ignored, v->n_tokens);
	return st;
}

/* Whether the normalizer prepends "▁" (Llama 2 style; llama.cpp's default), or not (Gemma). */
static bool normalizer_prepends_space(const struct jp_value *norm)
{
	if (str_is(jp_get(norm, "type"), "Prepend")) return str_is(jp_get(norm, "prepend"), UNDERLINE);
	const struct jp_value *list = jp_get(norm, "normalizers");
	for (uint32_t i = 0; jp_is(list, JP_ARRAY) && i < list->len; i++)
		if (normalizer_prepends_space(&list->u.items[i])) return true;
	return false;
}

static int load_sentencepiece_style(struct vocab_data *v, const struct hf_files *f, uint32_t wanted)
{
	const struct jp_value *model = jp_get(&f->tokenizer.root, "model");
	const struct jp_value *vocab = jp_get(model, "vocab");
	if (!jp_is(vocab, JP_OBJECT))
		return fail(VKLLM_E_FORMAT, "%s: model.vocab: expected an object of piece -> id", f->tokenizer_path);
	if (vocab->len == 0) return fail(VKLLM_E_FORMAT, "%s: model.vocab is empty", f->tokenizer_path);
	uint32_t n_pieces = vocab->len;
	uint32_t n = wanted ? wanted : n_pieces;
	if (n < n_pieces)
		return fail(VKLLM_E_UNSUPPORTED, "%s: vocabulary size %u is smaller than the %u SentencePiece pieces",
		            f->tokenizer_path, n, n_pieces);
	TRY(vocab_alloc_tokens(v, n, true));
	TRY(set_pieces(v, model, f->tokenizer_path, n_pieces));
	TRY(recover_piece_scores(v, f, n_pieces));
	TRY(apply_spm_added_tokens(v, f));
	TRY(fill_holes(v, -10000.0f));
	snprintf(v->model, sizeof v->model, "llama");
	snprintf(v->pre, sizeof v->pre, "default");
	v->add_space_prefix = normalizer_prepends_space(jp_get(&f->tokenizer.root, "normalizer")) ? -1 : 0;
	return VKLLM_OK;
}

/* ---- special tokens (gguf-py SpecialVocab) ---- */

enum special_kind { SP_BOS, SP_EOS, SP_UNK, SP_SEP, SP_PAD, SP_CLS, SP_MASK, SP_EOT, SP_EOM, SP_COUNT };
static const char *const special_names[SP_COUNT] = {"bos", "eos", "unk", "sep", "pad", "cls", "mask", "eot", "eom"};

/* A tokenizer_config.json "<kind>_token" entry as Python sees it: a string, a dict with "content",
 * null, or a string the converter wrote into the dict itself (text). */
struct entry {
	const struct jp_value *json;
	const char *text;
};

static const char *entry_string(const struct entry *e) { return e->text ? e->text : jp_str(e->json); }
/* Python truthiness */
static bool entry_truthy(const struct entry *e)
{
	if (e->text) return e->text[0] != '\0';
	const struct jp_value *j = e->json;
	if (!j || j->type == JP_NULL) return false;
	if (j->type == JP_BOOL) return j->boolean;
	if (j->type == JP_NUMBER) return j->u.number != 0;
	return j->len > 0;
}
/* Python ==: a dict never equals a string */
static bool entry_is(const struct entry *e, const char *s)
{
	return s && entry_string(e) && strcmp(entry_string(e), s) == 0;
}
static const char *entry_content(const struct entry *e)
{
	if (entry_string(e)) return entry_string(e);
	return jp_str(jp_get(e->json, "content"));
}

struct specials {
	const struct hf_files *f;
	bool has_config;            /* tokenizer_config.json exists and is a non-empty object */
	struct entry config[SP_COUNT];
	enum special_kind order[SP_COUNT];
	int n_order;
	int add[SP_COUNT];          /* add_<kind>_token: -1 unset */
	int64_t id[SP_COUNT];       /* -1 unset */
	uint32_t id_limit;          /* the SentencePiece path checks ids against the vocabulary; 0: no check */
};

/* The id of a TemplateProcessing item {"SpecialToken": {"id": "<name>"}}, or NULL. */
static const char *template_special(const struct jp_value *item)
{
	const char *s = jp_str(jp_get(jp_get(item, "SpecialToken"), "id"));
	return s && s[0] ? s : NULL;
}
static const char *template_sequence(const struct jp_value *item)
{
	return jp_str(jp_get(jp_get(item, "Sequence"), "id"));
}

static bool kind_enabled(const struct specials *s, enum special_kind k)
{
	for (int i = 0; i < s->n_order; i++)
		if (s->order[i] == k) return true;
	return false;
}

/* RobertaProcessing: <s> A </s></s> B </s>. */
static void read_roberta(struct specials *s, const struct jp_value *proc, struct entry *bos, struct entry *eos,
                         struct entry *cls, struct entry *sep)
{
	s->add[SP_BOS] = s->add[SP_EOS] = s->add[SP_SEP] = 1;
	if (!entry_truthy(cls) && s->has_config) {
		const char *c = jp_str(jp_at(jp_get(proc, "cls"), 0));
		*cls = c ? (struct entry){.text = c} : *bos;
		s->config[SP_CLS] = *cls;
	}
	if (!entry_truthy(sep) && s->has_config) {
		const char *c = jp_str(jp_at(jp_get(proc, "sep"), 0));
		*sep = c ? (struct entry){.text = c} : *eos;
		s->config[SP_SEP] = *sep;
	}
}

/* The converter's crude reading of TemplateProcessing: a special token first in "single" means add_bos,
 * last means add_eos (a different last token becomes the EOS, the old EOS the EOT), one between A and B
 * in "pair" means add_sep. */
static void read_template(struct specials *s, const struct jp_value *proc, struct entry *bos, struct entry *eos,
                          struct entry *cls, struct entry *sep)
{
	const struct jp_value *single = jp_get(proc, "single"), *pair = jp_get(proc, "pair");
	const char *first = NULL, *last = NULL;
	if (jp_is(single, JP_ARRAY) && single->len > 1) {
		if ((first = template_special(&single->u.items[0]))) {
			if (!s->has_config) {
				*bos = (struct entry){.text = first};
			} else if (!entry_is(bos, first) && !entry_is(cls, first)) {
				if (!entry_truthy(bos)) s->config[SP_BOS] = *bos = (struct entry){.text = first};
				if (!entry_truthy(cls)) s->config[SP_CLS] = *cls = (struct entry){.text = first};
			}
			s->add[SP_BOS] = entry_is(bos, first) || entry_is(cls, first);
		}
		if ((last = template_special(&single->u.items[single->len - 1]))) {
			if (!s->has_config) {
				*eos = (struct entry){.text = last};
			} else if (!entry_is(eos, last)) {
				enum special_kind keep = !kind_enabled(s, SP_EOT)   ? SP_EOT
				                         : !kind_enabled(s, SP_EOM) ? SP_EOM
				                                                    : SP_COUNT;
				if (keep != SP_COUNT) {
					s->order[s->n_order++] = keep;
					s->config[keep] = *eos;
				}
				s->config[SP_EOS] = *eos = (struct entry){.text = last};
			}
			s->add[SP_EOS] = entry_is(eos, last);
		}
	}
	if (!jp_is(pair, JP_ARRAY) || pair->len == 0) return;
	uint32_t start = first && pair->len > 0 && template_special(&pair->u.items[0]) &&
	                 strcmp(template_special(&pair->u.items[0]), first) == 0;
	uint32_t stop = pair->len;
	if (last && template_special(&pair->u.items[pair->len - 1]) &&
	    strcmp(template_special(&pair->u.items[pair->len - 1]), last) == 0)
		stop--;
	if (start >= stop) return;
	const char *a = template_sequence(&pair->u.items[start]), *b = template_sequence(&pair->u.items[stop - 1]);
	if (!a || !b || strcmp(a, "A") != 0 || strcmp(b, "B") != 0 || stop - start <= 2) return;
	/* the items strictly between A and B */
	uint32_t mid = start + 1, n_mid = stop - start - 2;
	bool add_sep = false;
	const char *entry = template_special(&pair->u.items[mid]);
	if (entry && (entry_is(sep, entry) || entry_is(eos, entry)) && !last) add_sep = true;
	if (n_mid == 2) {
		entry = template_special(&pair->u.items[mid + 1]);
		if (entry && (entry_is(sep, entry) || entry_is(eos, entry))) add_sep = true;
	}
	s->add[SP_SEP] = add_sep;
	if (add_sep && !entry_truthy(sep) && s->has_config) s->config[SP_SEP] = *eos;
}

static void read_post_processor(struct specials *s)
{
	struct entry bos = s->config[SP_BOS], cls = s->config[SP_CLS], eos = s->config[SP_EOS], sep = s->config[SP_SEP];
	/* a missing BOS/EOS falls back to CLS/SEP (BERT-style configs) */
	if (!entry_truthy(&bos) && entry_truthy(&cls) && s->has_config) s->config[SP_BOS] = bos = cls;
	if (!entry_truthy(&eos) && entry_truthy(&sep) && s->has_config) s->config[SP_EOS] = eos = sep;
	const struct jp_value *post = jp_get(&s->f->tokenizer.root, "post_processor");
	if (!jp_is(post, JP_OBJECT)) return;
	const struct jp_value *procs = jp_get(post, "processors");
	uint32_t n = jp_is(procs, JP_ARRAY) ? procs->len : 1;
	for (uint32_t i = 0; i < n; i++) {
		const struct jp_value *proc = jp_is(procs, JP_ARRAY) ? &procs->u.items[i] : post;
		const struct jp_value *type = jp_get(proc, "type");
		if (str_is(type, "RobertaProcessing")) read_roberta(s, proc, &bos, &eos, &cls, &sep);
		else if (str_is(type, "TemplateProcessing")) read_template(s, proc, &bos, &eos, &cls, &sep);
	}
}

/* _set_special_token: the first value wins; an id past the vocabulary is skipped. */
static int set_special(struct specials *s, enum special_kind k, int64_t id, const char *from)
{
	if (id < 0)
		return fail(VKLLM_E_FORMAT, "%s: %s_token id %lld is negative", from, special_names[k], (long long)id);
	if (s->id_limit && id >= s->id_limit) {
		warn("%s: %s token id %lld is past the vocabulary of %u; skipped", from, special_names[k],
		     (long long)id, s->id_limit);
		return VKLLM_OK;
	}
	if (s->id[k] < 0) s->id[k] = id;
	return VKLLM_OK;
}

/* tokenizer_config.json: add_<kind>_token flags and <kind>_token texts, looked up among tokenizer.json's
 * added tokens (the first with that content). */
static int read_config_specials(struct specials *s)
{
	const struct jp_value *cfg = &s->f->config.root;
	const struct jp_value *added = jp_get(&s->f->tokenizer.root, "added_tokens");
	for (int i = 0; i < s->n_order; i++) {
		enum special_kind k = s->order[i];
		char key[32];
		snprintf(key, sizeof key, "add_%s_token", special_names[k]);
		const struct jp_value *flag = jp_get(cfg, key);
		if (jp_is(flag, JP_BOOL)) s->add[k] = flag->boolean;
		const char *content = entry_content(&s->config[k]);
		if (!content) continue;
		for (uint32_t t = 0; jp_is(added, JP_ARRAY) && t < added->len; t++) {
			if (!str_is(jp_get(&added->u.items[t], "content"), content)) continue;
			int64_t id;
			if (jp_int64(jp_get(&added->u.items[t], "id"), &id))
				TRY(set_special(s, k, id, s->f->config_path));
			break;
		}
	}
	return VKLLM_OK;
}

/* config.json: <kind>_token_id, at the top or in text_config; only where nothing set it before. */
static int read_hparams_specials(struct specials *s)
{
	const struct jp_value *root = &s->f->hparams.root;
	if (!jp_is(root, JP_OBJECT)) return VKLLM_OK;
	for (int i = 0; i < s->n_order; i++) {
		enum special_kind k = s->order[i];
		char key[32];
		snprintf(key, sizeof key, "%s_token_id", special_names[k]);
		const struct jp_value *idv = jp_get(root, key);
		if (!idv) idv = jp_get(jp_get(root, "text_config"), key);
		int64_t id;
		if (jp_int64(idv, &id)) TRY(set_special(s, k, id, s->f->hparams_path));
	}
	return VKLLM_OK;
}

/* tokenizer_config.json's chat_template (a string, or a list of {name, template} of which the
 * "default" one is the GGUF's chat_template), else chat_template.jinja / chat_template.json. */
static int read_chat_template(struct vocab_data *v, const struct hf_files *f)
{
	const struct jp_value *t = jp_get(&f->config.root, "chat_template");
	if (!t) {
		if (f->jinja) return vocab_set_chat_template(v, f->jinja, strlen(f->jinja));
		t = f->chat_template_json;
	}
	if (!t || t->type == JP_NULL) return VKLLM_OK;
	if (t->type == JP_STRING) return vocab_set_chat_template(v, t->u.string, t->len);
	if (t->type == JP_ARRAY) {
		for (uint32_t i = 0; i < t->len; i++) {
			const struct jp_value *tmpl = jp_get(&t->u.items[i], "template");
			if (str_is(jp_get(&t->u.items[i], "name"), "default") && jp_is(tmpl, JP_STRING))
				return vocab_set_chat_template(v, tmpl->u.string, tmpl->len);
		}
		return VKLLM_OK;
	}
	warn("%s: chat_template is a %s, not a string or a list; ignored", f->config_path, jp_type_name(t->type));
	return VKLLM_OK;
}

static int load_specials(struct vocab_data *v, const struct hf_files *f, bool check_ids)
{
	struct specials s;
	memset(&s, 0, sizeof s);
	s.f = f;
	s.has_config = jp_is(&f->config.root, JP_OBJECT) && f->config.root.len > 0;
	s.id_limit = check_ids ? v->n_tokens : 0;
	for (int k = 0; k < SP_COUNT; k++) s.add[k] = -1, s.id[k] = -1;
	for (int k = SP_BOS; k <= SP_MASK; k++) s.order[s.n_order++] = (enum special_kind)k;
	for (int k = 0; k < SP_COUNT; k++) {
		char key[32];
		snprintf(key, sizeof key, "%s_token", special_names[k]);
		s.config[k].json = jp_get(&f->config.root, key);
	}
	read_post_processor(&s);
	if (s.has_config) {
		TRY(read_chat_template(v, f));
		TRY(read_config_specials(&s));
	}
	TRY(read_hparams_specials(&s));
	/* ids past the vocabulary cannot be written; llama.cpp would ignore them anyway */
	for (int k = 0; k < SP_COUNT; k++) {
		if (s.id[k] >= (int64_t)v->n_tokens) {
			warn("%s: %s token id %lld is past the vocabulary of %u; not written", f->tokenizer_path,
			     special_names[k], (long long)s.id[k], v->n_tokens);
			s.id[k] = -1;
		}
	}
	/* the converter's GGUF writer has no key for cls, so it is dropped */
	v->special.bos = s.id[SP_BOS], v->special.eos = s.id[SP_EOS], v->special.unk = s.id[SP_UNK];
	v->special.sep = s.id[SP_SEP], v->special.pad = s.id[SP_PAD], v->special.mask = s.id[SP_MASK];
	v->special.eot = s.id[SP_EOT], v->special.eom = s.id[SP_EOM];
	v->add_bos = s.add[SP_BOS], v->add_eos = s.add[SP_EOS], v->add_sep = s.add[SP_SEP];
	return VKLLM_OK;
}

/* ---- entry points ---- */

static int convert(struct vocab_data *v, const struct hf_files *f, const struct vocab_hf_options *opt)
{
	const struct jp_value *root = &f->tokenizer.root, *model = jp_get(root, "model");
	if (!jp_is(model, JP_OBJECT)) return fail(VKLLM_E_FORMAT, "%s: expected a \"model\" object", f->tokenizer_path);
	const struct jp_value *type = jp_get(model, "type");
	if (!(str_is(type, "BPE") || (!type && jp_get(model, "merges"))))
		return fail(VKLLM_E_UNSUPPORTED, "%s: model.type \"%s\": only BPE tokenizers are supported",
		            f->tokenizer_path, jp_str(type) ? jp_str(type) : "?");
	uint32_t wanted = opt && opt->n_vocab ? opt->n_vocab : hparams_vocab_size(f);
	const struct jp_value *byte_fallback = jp_get(model, "byte_fallback");
	bool spm = jp_is(byte_fallback, JP_BOOL) && byte_fallback->boolean;
	if (spm) {
		TRY(load_sentencepiece_style(v, f, wanted));
	} else {
		if (!is_byte_level(root))
			return fail(VKLLM_E_UNSUPPORTED,
			            "%s: a BPE tokenizer that is neither byte-level (ByteLevel pre-tokenizer) nor "
			            "SentencePiece-style (byte_fallback)",
			            f->tokenizer_path);
		TRY(load_byte_level(v, f, opt, wanted));
	}
	return load_specials(v, f, spm);
}

int vocab_hf_load_opts(struct vocab_data *v, const char *tokenizer_json_path, const struct vocab_hf_options *opt)
{
	vocab_init(v);
	struct hf_files f;
	TRY(open_files(&f, tokenizer_json_path));
	int st = convert(v, &f, opt);
	close_files(&f);
	if (st != VKLLM_OK) vocab_data_free(v);
	return st;
}

int vocab_hf_load(struct vocab_data *v, const char *tokenizer_json_path)
{
	return vocab_hf_load_opts(v, tokenizer_json_path, NULL);
}
