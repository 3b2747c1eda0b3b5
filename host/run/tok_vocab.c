/* Building a tokenizer from GGUF metadata, step by step as llama.cpp's llama_vocab::impl::load:
 * the model and pre-tokenizer (and the flags they imply), the tokens with their scores and types,
 * the merges, the special ids (defaults, then keys), then the fix-ups llama.cpp makes by token
 * text (end-of-generation tokens forced to CONTROL, gpt-oss's Harmony tokens made USER_DEFINED,
 * Phi-3's right-stripping specials), and last the list of special tokens that encoding cuts out. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "loader/gguf.h"
#include "run/tok_internal.h"

static uint32_t attr_of_type(int32_t type)
{
	switch (type) { /* llama_token_type -> llama_token_attr */
	case 1: return TOK_ATTR_NORMAL;
	case 2: return TOK_ATTR_UNKNOWN;
	case 3: return TOK_ATTR_CONTROL;
	case 4: return TOK_ATTR_USER_DEFINED;
	case 5: return TOK_ATTR_UNUSED;
	case 6: return TOK_ATTR_BYTE;
	default: return TOK_ATTR_UNDEFINED;
	}
}

static bool text_is(const struct tokenizer *t, uint32_t id, const char *s)
{
	size_t n = strlen(s);
	return t->strs.len[id] == n && memcmp(strtab_text(&t->strs, id), s, n) == 0;
}

/* The token with this text, or -1. */
static int64_t find_text(const struct tokenizer *t, const char *s)
{
	int64_t id = strtab_find(&t->strs, s, strlen(s));
	return id < (int64_t)t->n_tokens ? id : -1;
}

/* Of the tokens spelled as one of list, the lowest id, or -1. */
static int64_t lowest_of(const struct tokenizer *t, const char *const *list)
{
	int64_t best = -1;
	for (; *list; list++) {
		int64_t id = find_text(t, *list);
		if (id >= 0 && (best < 0 || id < best)) best = id;
	}
	return best;
}

static int load_kind(struct tokenizer *t, const struct gguf_file *f)
{
	char model[32] = "";
	TRY(gguf_get_str(f, "tokenizer.ggml.model", false, model, sizeof model));
	TRY(gguf_get_str(f, "tokenizer.ggml.pre", true, t->pre, sizeof t->pre));
	if (!strcmp(model, "gpt2")) {
		t->kind = TOKENIZER_BPE;
		t->pre_info = pretok_find(t->pre[0] ? t->pre : "default");
		if (!t->pre_info)
			return fail(VKLLM_E_UNSUPPORTED, "%s: tokenizer.ggml.pre '%s' is not a pre-tokenizer vkllm knows", f->path, t->pre);
		t->add_space_prefix = false;
		t->clean_spaces = t->pre_info->clean_spaces;
		t->ignore_merges = t->pre_info->ignore_merges;
		t->add_bos = t->pre_info->add_bos;
		t->add_eos = false;
	} else if (!strcmp(model, "llama")) {
		t->kind = TOKENIZER_SPM;
		t->add_space_prefix = true;
		t->clean_spaces = false;
		t->add_bos = true;
		t->add_eos = false;
	} else {
		return fail(VKLLM_E_UNSUPPORTED, "%s: tokenizer.ggml.model '%s' is not supported (gpt2 and llama are)", f->path, model);
	}
	return gguf_get_bool(f, "tokenizer.ggml.add_space_prefix", true, &t->add_space_prefix);
}

/* A per-token array: present or not, the right element type, at least one entry per token. */
static int per_token_array(const struct gguf_file *f, const char *key, uint32_t n_tokens, bool allow_i32, bool allow_f32,
                           const struct gguf_kv **out)
{
	const struct gguf_kv *kv = gguf_find(f, key);
	*out = NULL;
	if (!kv) return VKLLM_OK;
	bool ok = kv->type == GGUF_ARRAY && ((allow_i32 && kv->elem_type == GGUF_I32) || (allow_f32 && kv->elem_type == GGUF_F32));
	if (!ok) return fail(VKLLM_E_FORMAT, "%s: %s has the wrong type (expected an array of %s)", f->path, key, allow_f32 ? "f32" : "i32");
	if (kv->n < n_tokens)
		return fail(VKLLM_E_FORMAT, "%s: %s has %llu entries for %u tokens", f->path, key, (unsigned long long)kv->n, n_tokens);
	*out = kv;
	return VKLLM_OK;
}

static int load_tokens(struct tokenizer *t, const struct gguf_file *f)
{
	const struct gguf_kv *tokens = gguf_find(f, "tokenizer.ggml.tokens");
	if (!tokens || tokens->type != GGUF_ARRAY || tokens->elem_type != GGUF_STRING)
		return fail(VKLLM_E_FORMAT, "%s: tokenizer.ggml.tokens must be an array of strings", f->path);
	if (tokens->n == 0 || tokens->n > INT32_MAX)
		return fail(VKLLM_E_FORMAT, "%s: tokenizer.ggml.tokens has %llu tokens", f->path, (unsigned long long)tokens->n);
	uint32_t n = t->n_tokens = (uint32_t)tokens->n;
	const struct gguf_kv *scores, *types;
	TRY(per_token_array(f, "tokenizer.ggml.scores", n, true, true, &scores));
	TRY(per_token_array(f, "tokenizer.ggml.token_type", n, true, false, &types));

	struct gguf_str *text = malloc((size_t)n * sizeof *text);
	t->scores = calloc(n, sizeof *t->scores);
	t->attr = calloc(n, sizeof *t->attr);
	t->eog = calloc(n, 1);
	if (!text || !t->scores || !t->attr || !t->eog) {
		free(text);
		return fail(VKLLM_E_NOMEM, "tokenizer: out of host memory for %u tokens", n);
	}
	int st = gguf_get_arr_str(f, tokens, text);
	if (!st) st = strtab_init(&t->strs, n + 1024);
	for (uint32_t i = 0; i < n && !st; i++) {
		char empty[32];
		const char *s = text[i].ptr;
		size_t len = text[i].len;
		if (len == 0) { /* llama.cpp renames an empty token so that it can never match */
			len = (size_t)snprintf(empty, sizeof empty, "[EMPTY_%u]", i);
			s = empty;
		}
		uint32_t id;
		int64_t dup;
		st = strtab_push(&t->strs, s, len, &id);
		if (!st) st = strtab_index(&t->strs, id, &dup);
		if (!st && dup >= 0)
			st = fail(VKLLM_E_FORMAT, "%s: tokenizer.ggml.tokens: tokens %lld and %u have the same text '%.40s'", f->path,
			          (long long)dup, i, strtab_text(&t->strs, i));
		if (scores) {
			if (scores->elem_type == GGUF_F32) memcpy(&t->scores[i], scores->data + 4 * (size_t)i, 4);
			else {
				int32_t v;
				memcpy(&v, scores->data + 4 * (size_t)i, 4);
				t->scores[i] = (float)v;
			}
		}
		int32_t type = 1;
		if (types) memcpy(&type, types->data + 4 * (size_t)i, 4);
		t->attr[i] = attr_of_type(type);
	}
	free(text);
	return st;
}

/* Special ids: the model's defaults (disabled when out of range), then the keys; an id out of
 * range in a key is ignored, as llama.cpp ignores it with a warning. */
static int load_special_ids(struct tokenizer *t, const struct gguf_file *f)
{
	int32_t *ids[] = {&t->bos, &t->eos, &t->eot, &t->eom, &t->unk, &t->sep, &t->pad, &t->mask, &t->fim_pre, &t->fim_suf,
	                  &t->fim_mid, &t->fim_pad, &t->fim_rep, &t->fim_sep, &t->fim_pre, &t->fim_suf, &t->fim_mid};
	const char *keys[] = {"bos_token_id", "eos_token_id", "eot_token_id", "eom_token_id", "unknown_token_id",
	                      "seperator_token_id", "padding_token_id", "mask_token_id", "fim_pre_token_id",
	                      "fim_suf_token_id", "fim_mid_token_id", "fim_pad_token_id", "fim_rep_token_id",
	                      "fim_sep_token_id", "prefix_token_id", "suffix_token_id", "middle_token_id"};
	for (size_t i = 0; i < 14; i++) *ids[i] = TOKEN_NULL;
	if (t->kind == TOKENIZER_SPM) t->bos = 1, t->eos = 2, t->unk = 0;
	else t->bos = 11, t->eos = 11; /* llama.cpp's legacy gpt2 defaults */
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		if (*ids[i] >= 0 && (uint32_t)*ids[i] >= t->n_tokens) *ids[i] = TOKEN_NULL;
		char key[64];
		snprintf(key, sizeof key, "tokenizer.ggml.%s", keys[i]);
		uint32_t v = UINT32_MAX;
		TRY(gguf_get_u32(f, key, true, &v));
		if (v < t->n_tokens) *ids[i] = (int32_t)v;
	}
	TRY(gguf_get_bool(f, "tokenizer.ggml.add_bos_token", true, &t->add_bos));
	TRY(gguf_get_bool(f, "tokenizer.ggml.add_eos_token", true, &t->add_eos));
	return VKLLM_OK;
}

static void force_control(struct tokenizer *t, uint32_t id) { t->attr[id] |= TOK_ATTR_CONTROL; }

/* llama.cpp recognizes end-of-turn, fill-in-the-middle and end-of-generation tokens by their text
 * and makes each one CONTROL (so special parsing finds them). It walks an unordered map; we walk
 * ids in order, which only matters when a vocabulary spells one role two ways. */
static void fix_up_by_text(struct tokenizer *t)
{
	static const char *const eot[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
	                                  "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>",
	                                  "<end_of_utterance>", NULL};
	static const char *const eom[] = {"<|eom_id|>", NULL};
	static const char *const fim_pre[] = {"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>",
	                                      "▁<PRE>", "<|code_prefix|>", "<|prefix|>", NULL};
	static const char *const fim_suf[] = {"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>",
	                                      "▁<SUF>", "<|code_suffix|>", "<|suffix|>", NULL};
	static const char *const fim_mid[] = {"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>",
	                                      "▁<MID>", "<|code_middle|>", "<|middle|>", NULL};
	static const char *const fim_pad[] = {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]", NULL};
	static const char *const fim_rep[] = {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>", NULL};
	static const char *const fim_sep[] = {"<|file_sep|>", NULL};
	static const char *const eog[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>",
	                                  "<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>",
	                                  "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>", "<end_of_utterance>", "<eos>",
	                                  "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~[", NULL};
	static const char *const harmony[] = {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>", NULL};
	struct {
		int32_t *id;
		const char *const *texts;
	} roles[] = {{&t->eot, eot}, {&t->eom, eom}, {&t->fim_pre, fim_pre}, {&t->fim_suf, fim_suf},
	             {&t->fim_mid, fim_mid}, {&t->fim_pad, fim_pad}, {&t->fim_rep, fim_rep}, {&t->fim_sep, fim_sep}};
	for (size_t r = 0; r < sizeof roles / sizeof roles[0]; r++) {
		if (*roles[r].id != TOKEN_NULL) continue;
		int64_t id = lowest_of(t, roles[r].texts);
		if (id >= 0) {
			*roles[r].id = (int32_t)id;
			force_control(t, (uint32_t)id);
		}
	}
	for (uint32_t id = 0; id < t->n_tokens; id++)
		if ((t->attr[id] & TOK_ATTR_CONTROL) && strstr(strtab_text(&t->strs, id), "unused")) t->attr[id] |= TOK_ATTR_UNUSED;
	int32_t eog_ids[] = {t->fim_pad, t->fim_rep, t->fim_sep};
	for (size_t i = 0; i < 3; i++)
		if (eog_ids[i] != TOKEN_NULL) t->eog[eog_ids[i]] = 1;
	for (const char *const *s = eog; *s; s++) {
		int64_t id = find_text(t, *s);
		if (id < 0) continue;
		t->eog[id] = 1;
		force_control(t, (uint32_t)id);
	}
	for (const char *const *s = harmony; *s; s++) {
		int64_t id = find_text(t, *s);
		if (id >= 0) t->attr[id] = TOK_ATTR_USER_DEFINED; /* always parsed, always shown */
	}
	int32_t more[] = {t->eos, t->eot, t->eom};
	for (size_t i = 0; i < 3; i++)
		if (more[i] != TOKEN_NULL) t->eog[more[i]] = 1;
	/* gpt-oss: <|end|> ends a message, not the generation, when <|return|> and <|call|> exist */
	int32_t end_id = TOKEN_NULL, s_id = TOKEN_NULL;
	bool has_return = false, has_call = false, has_flush = false, has_tool_response = false;
	for (uint32_t id = 0; id < t->n_tokens; id++) {
		if (!t->eog[id]) continue;
		if (text_is(t, id, "<|return|>")) has_return = true;
		else if (text_is(t, id, "<|call|>") || text_is(t, id, "<|calls|>")) has_call = true;
		else if (text_is(t, id, "<|flush|>")) has_flush = true;
		else if (text_is(t, id, "<|end|>")) end_id = (int32_t)id;
		if (text_is(t, id, "<|tool_response>")) has_tool_response = true;
		else if (text_is(t, id, "</s>")) s_id = (int32_t)id;
	}
	if (end_id != TOKEN_NULL && ((has_return && has_call) || (has_call && has_flush))) {
		t->eog[end_id] = 0;
		t->attr[end_id] = TOK_ATTR_USER_DEFINED;
	}
	if (has_tool_response && s_id != TOKEN_NULL) {
		t->eog[s_id] = 0;
		t->attr[s_id] = TOK_ATTR_NORMAL;
	}
}

/* Phi-3 GGUFs (by general.name) strip whitespace after special tokens, as llama.cpp does. */
static int fix_up_phi3(struct tokenizer *t, const struct gguf_file *f)
{
	char name[256] = "";
	TRY(gguf_get_str(f, "general.name", true, name, sizeof name));
	for (char *c = name; *c; c++) *c = (char)tolower((unsigned char)*c);
	if (!strstr(name, "phi-3") && !strstr(name, "phi3")) return VKLLM_OK;
	for (uint32_t id = 0; id < t->n_tokens; id++)
		if (t->attr[id] & (TOK_ATTR_CONTROL | TOK_ATTR_USER_DEFINED | TOK_ATTR_UNKNOWN)) t->attr[id] |= TOK_ATTR_RSTRIP;
	static const char *const off[] = {"<unk>", "<s>", "<|endoftext|>"};
	int64_t id = find_text(t, "</s>");
	if (id >= 0) t->attr[id] |= TOK_ATTR_RSTRIP;
	for (size_t i = 0; i < 3; i++)
		if ((id = find_text(t, off[i])) >= 0) t->attr[id] &= ~(uint32_t)TOK_ATTR_RSTRIP;
	return VKLLM_OK;
}

/* The byte-level BPE alphabet: each byte's spelling, its string id, and the inverse map. */
static void byte_tables(struct tokenizer *t)
{
	for (int i = 0; i < 0x144; i++) t->cp_to_byte[i] = -1;
	int n = 0;
	for (int b = 0; b < 256; b++) {
		bool same = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
		uint32_t cp = same ? (uint32_t)b : 0x100u + (uint32_t)n++;
		if (cp < 0x80) {
			t->byte_utf8[b][0] = (char)cp;
			t->byte_utf8_len[b] = 1;
		} else {
			t->byte_utf8[b][0] = (char)(0xc0 | (cp >> 6));
			t->byte_utf8[b][1] = (char)(0x80 | (cp & 0x3f));
			t->byte_utf8_len[b] = 2;
		}
		t->cp_to_byte[cp] = (int16_t)b;
	}
	for (int b = 0; b < 256; b++) t->byte_sid[b] = strtab_find(&t->strs, t->byte_utf8[b], t->byte_utf8_len[b]);
}

int tokenizer_load(struct tokenizer **out, const struct gguf_file *f)
{
	*out = NULL;
	struct tokenizer *t = calloc(1, sizeof *t);
	if (!t) return fail(VKLLM_E_NOMEM, "tokenizer: out of host memory");
	int st = load_kind(t, f);
	if (!st) st = load_tokens(t, f);
	if (!st && t->kind == TOKENIZER_BPE) st = merges_load(t, f);
	if (!st) st = load_special_ids(t, f);
	if (!st) {
		fix_up_by_text(t);
		st = fix_up_phi3(t, f);
	}
	if (!st) st = special_build(t);
	if (!st && t->kind == TOKENIZER_SPM) st = spm_prepare(t);
	if (!st && t->kind == TOKENIZER_BPE) {
		byte_tables(t);
		st = pretok_init(&t->pretok, t->pre_info);
	}
	if (st) {
		tokenizer_free(t);
		return st;
	}
	*out = t;
	return VKLLM_OK;
}

void tokenizer_free(struct tokenizer *t)
{
	if (!t) return;
	strtab_free(&t->strs);
	free(t->scores);
	free(t->attr);
	free(t->eog);
	special_free(&t->special);
	free(t->frags);
	merges_free(&t->merges);
	pretok_free(&t->pretok);
	word_cache_free(&t->cache);
	tok_text_free(&t->norm);
	tok_text_free(&t->subject);
	tok_text_free(&t->word);
	tok_text_free(&t->spm_text);
	bpe_scratch_free(t);
	spm_scratch_free(t);
	free(t->spm_glue);
	free(t);
}
