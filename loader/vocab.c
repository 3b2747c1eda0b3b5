/* The vocabulary of vocab.h: storage, the text index, the GGUF keys and the synthetic vocabulary. */
#include "vocab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "gguf_write.h"

/* ---- string storage: one allocation per MiB instead of one per token ---- */

struct vocab_pool {
	struct vocab_pool *next;
	size_t used, cap;
	char data[];
};

#define POOL_BLOCK_BYTES ((size_t)1 << 20)

static char *pool_alloc(struct vocab_pool **head, size_t bytes)
{
	struct vocab_pool *b = *head;
	if (!b || b->cap - b->used < bytes) {
		size_t cap = bytes > POOL_BLOCK_BYTES ? bytes : POOL_BLOCK_BYTES;
		b = malloc(sizeof *b + cap);
		if (!b) return NULL;
		b->next = *head, b->used = 0, b->cap = cap;
		*head = b;
	}
	char *p = b->data + b->used;
	b->used += bytes;
	return p;
}

static void pool_free(struct vocab_pool *b)
{
	while (b) {
		struct vocab_pool *next = b->next;
		free(b);
		b = next;
	}
}

/* ---- special ids: one table drives init and the GGUF keys ---- */

static const struct {
	size_t offset;
	const char *key;
} special_keys[] = {
	{offsetof(struct vocab_special_ids, bos), "tokenizer.ggml.bos_token_id"},
	{offsetof(struct vocab_special_ids, eos), "tokenizer.ggml.eos_token_id"},
	{offsetof(struct vocab_special_ids, unk), "tokenizer.ggml.unknown_token_id"},
	{offsetof(struct vocab_special_ids, sep), "tokenizer.ggml.seperator_token_id"}, /* sic: llama.cpp's spelling */
	{offsetof(struct vocab_special_ids, pad), "tokenizer.ggml.padding_token_id"},
	{offsetof(struct vocab_special_ids, cls), "tokenizer.ggml.cls_token_id"},
	{offsetof(struct vocab_special_ids, mask), "tokenizer.ggml.mask_token_id"},
	{offsetof(struct vocab_special_ids, eot), "tokenizer.ggml.eot_token_id"},
	{offsetof(struct vocab_special_ids, eom), "tokenizer.ggml.eom_token_id"},
	{offsetof(struct vocab_special_ids, fim_pre), "tokenizer.ggml.fim_pre_token_id"},
	{offsetof(struct vocab_special_ids, fim_suf), "tokenizer.ggml.fim_suf_token_id"},
	{offsetof(struct vocab_special_ids, fim_mid), "tokenizer.ggml.fim_mid_token_id"},
	{offsetof(struct vocab_special_ids, fim_pad), "tokenizer.ggml.fim_pad_token_id"},
	{offsetof(struct vocab_special_ids, fim_rep), "tokenizer.ggml.fim_rep_token_id"},
	{offsetof(struct vocab_special_ids, fim_sep), "tokenizer.ggml.fim_sep_token_id"},
};

#define N_SPECIAL_KEYS (sizeof special_keys / sizeof special_keys[0])
_Static_assert(sizeof(struct vocab_special_ids) == N_SPECIAL_KEYS * sizeof(int64_t),
               "every special id has a GGUF key");

/* ---- lifetime ---- */

void vocab_init(struct vocab_data *v)
{
	memset(v, 0, sizeof *v);
	const int64_t absent = -1;
	for (size_t k = 0; k < N_SPECIAL_KEYS; k++)
		memcpy((char *)&v->special + special_keys[k].offset, &absent, sizeof absent);
	v->add_bos = v->add_eos = v->add_sep = v->add_space_prefix = -1;
}

void vocab_data_free(struct vocab_data *v)
{
	free(v->tokens);
	free(v->token_len);
	free(v->scores);
	free(v->token_type);
	free(v->merges);
	free(v->merge_len);
	free(v->chat_template);
	pool_free(v->pool);
	vocab_init(v);
}

static int out_of_memory(void) { return fail(VKLLM_E_NOMEM, "out of host memory building the vocabulary"); }

/* ---- building ---- */

int vocab_alloc_tokens(struct vocab_data *v, uint32_t n, bool with_scores)
{
	CHECK(!v->tokens);
	v->tokens = calloc(n ? n : 1, sizeof *v->tokens);
	v->token_len = calloc(n ? n : 1, sizeof *v->token_len);
	v->token_type = calloc(n ? n : 1, sizeof *v->token_type);
	if (with_scores) v->scores = calloc(n ? n : 1, sizeof *v->scores);
	if (!v->tokens || !v->token_len || !v->token_type || (with_scores && !v->scores)) return out_of_memory();
	v->n_tokens = n;
	return VKLLM_OK;
}

static const char *pool_copy(struct vocab_data *v, const char *text, size_t len)
{
	char *p = pool_alloc(&v->pool, len + 1);
	if (!p) return NULL;
	memcpy(p, text, len);
	p[len] = '\0';
	return p;
}

int vocab_set_token(struct vocab_data *v, uint32_t id, const char *text, size_t len, int32_t type)
{
	CHECK(id < v->n_tokens);
	const char *p = pool_copy(v, text, len);
	if (!p) return out_of_memory();
	v->tokens[id] = p;
	v->token_len[id] = len;
	v->token_type[id] = type;
	return VKLLM_OK;
}

int vocab_alloc_merges(struct vocab_data *v, uint32_t n)
{
	CHECK(!v->merges);
	v->merges = calloc(n ? n : 1, sizeof *v->merges);
	v->merge_len = calloc(n ? n : 1, sizeof *v->merge_len);
	if (!v->merges || !v->merge_len) return out_of_memory();
	v->n_merges = n;
	return VKLLM_OK;
}

int vocab_set_merge(struct vocab_data *v, uint32_t i, const char *left, size_t left_len, const char *right,
                    size_t right_len)
{
	CHECK(i < v->n_merges);
	size_t len = left_len + 1 + right_len;
	char *p = pool_alloc(&v->pool, len + 1);
	if (!p) return out_of_memory();
	memcpy(p, left, left_len);
	p[left_len] = ' ';
	memcpy(p + left_len + 1, right, right_len);
	p[len] = '\0';
	v->merges[i] = p;
	v->merge_len[i] = len;
	return VKLLM_OK;
}

int vocab_set_chat_template(struct vocab_data *v, const char *text, size_t len)
{
	char *p = malloc(len + 1);
	if (!p) return out_of_memory();
	memcpy(p, text, len);
	p[len] = '\0';
	free(v->chat_template);
	v->chat_template = p;
	return VKLLM_OK;
}

/* ---- text -> id index (open addressing, FNV-1a) ---- */

static uint32_t hash_text(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h;
}

int vocab_index_init(struct vocab_index *ix, uint32_t capacity)
{
	uint64_t slots = 16;
	while (slots < 2ull * capacity) slots *= 2; /* at most half full: short probe runs */
	memset(ix, 0, sizeof *ix);
	ix->slots = calloc(slots, sizeof *ix->slots);
	if (!ix->slots) return out_of_memory();
	ix->mask = (uint32_t)(slots - 1);
	return VKLLM_OK;
}

/* The slot holding this text, or the empty slot where it would go. */
static uint32_t *index_slot(const struct vocab_index *ix, const struct vocab_data *v, const char *text, size_t len)
{
	uint32_t i = hash_text(text, len) & ix->mask;
	for (;;) {
		uint32_t *s = &ix->slots[i];
		if (*s == 0) return s;
		uint32_t id = *s - 1;
		if (v->token_len[id] == len && memcmp(v->tokens[id], text, len) == 0) return s;
		i = (i + 1) & ix->mask;
	}
}

int64_t vocab_index_add(struct vocab_index *ix, const struct vocab_data *v, uint32_t id)
{
	CHECK(ix->count < ix->mask / 2 + 1 && v->tokens[id]);
	uint32_t *s = index_slot(ix, v, v->tokens[id], v->token_len[id]);
	if (*s) return *s - 1;
	*s = id + 1;
	ix->count++;
	return -1;
}

int64_t vocab_index_find(const struct vocab_index *ix, const struct vocab_data *v, const char *text, size_t len)
{
	uint32_t *s = index_slot(ix, v, text, len);
	return *s ? (int64_t)*s - 1 : -1;
}

void vocab_index_free(struct vocab_index *ix)
{
	free(ix->slots);
	memset(ix, 0, sizeof *ix);
}

/* ---- GGUF ---- */

static int64_t special_id(const struct vocab_data *v, size_t k)
{
	int64_t id;
	memcpy(&id, (const char *)&v->special + special_keys[k].offset, sizeof id);
	return id;
}

static int validate_for_gguf(const struct vocab_data *v)
{
	if (v->n_tokens == 0 || !v->tokens || !v->token_type) return fail(VKLLM_E_ARG, "vocabulary: no tokens");
	if (!v->model[0]) return fail(VKLLM_E_ARG, "vocabulary: tokenizer model is not set");
	for (uint32_t i = 0; i < v->n_tokens; i++) {
		if (!v->tokens[i]) return fail(VKLLM_E_ARG, "vocabulary: token %u is not set", i);
		if (v->token_type[i] < VOCAB_NORMAL || v->token_type[i] > VOCAB_BYTE)
			return fail(VKLLM_E_ARG, "vocabulary: token %u has type %d (valid: 1..6)", i, v->token_type[i]);
	}
	/* llama.cpp's BPE tokenizer cannot run without merges */
	if (strcmp(v->model, "gpt2") == 0 && v->n_merges == 0)
		return fail(VKLLM_E_ARG, "vocabulary: a gpt2 (BPE) tokenizer needs merges");
	for (size_t k = 0; k < N_SPECIAL_KEYS; k++) {
		int64_t id = special_id(v, k);
		if (id < -1 || id >= (int64_t)v->n_tokens)
			return fail(VKLLM_E_ARG, "vocabulary: %s = %lld is outside 0..%u", special_keys[k].key,
			            (long long)id, v->n_tokens - 1);
	}
	return VKLLM_OK;
}

int vocab_write_gguf(struct gguf_writer *w, const struct vocab_data *v)
{
	TRY(validate_for_gguf(v));
	/* the converter's order: model, pre, tokens, scores, token types, merges, ids, flags, template */
	gguf_w_str(w, "tokenizer.ggml.model", v->model);
	if (v->pre[0]) gguf_w_str(w, "tokenizer.ggml.pre", v->pre);
	gguf_w_arr_str(w, "tokenizer.ggml.tokens", v->tokens, v->token_len, v->n_tokens);
	if (v->scores) gguf_w_arr_f32(w, "tokenizer.ggml.scores", v->scores, v->n_tokens);
	gguf_w_arr_i32(w, "tokenizer.ggml.token_type", v->token_type, v->n_tokens);
	if (v->n_merges) gguf_w_arr_str(w, "tokenizer.ggml.merges", v->merges, v->merge_len, v->n_merges);
	for (size_t k = 0; k < N_SPECIAL_KEYS; k++) {
		int64_t id = special_id(v, k);
		if (id >= 0) gguf_w_u32(w, special_keys[k].key, (uint32_t)id);
	}
	if (v->add_bos >= 0) gguf_w_bool(w, "tokenizer.ggml.add_bos_token", v->add_bos);
	if (v->add_eos >= 0) gguf_w_bool(w, "tokenizer.ggml.add_eos_token", v->add_eos);
	if (v->add_sep >= 0) gguf_w_bool(w, "tokenizer.ggml.add_sep_token", v->add_sep);
	if (v->chat_template) gguf_w_str(w, "tokenizer.chat_template", v->chat_template);
	if (v->add_space_prefix >= 0) gguf_w_bool(w, "tokenizer.ggml.add_space_prefix", v->add_space_prefix);
	return VKLLM_OK;
}

/* ---- the synthetic vocabulary ---- */

/* GPT-2's table: the 188 printable bytes keep their code point; the other 68 (controls, space, DEL,
 * 0x80-0xA0, soft hyphen) move to U+0100 + n in byte order, so every token is visible text. */
static bool byte_is_printable(uint8_t b) { return (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || b >= 0xae; }

uint32_t vocab_byte_to_codepoint(uint8_t b)
{
	if (byte_is_printable(b)) return b;
	uint32_t n = 0;
	for (uint32_t c = 0; c < b; c++) n += !byte_is_printable((uint8_t)c);
	return 256 + n;
}

/* Token id of each byte: the printable bytes first, then the others, as GPT-2 and Qwen number them. */
static void byte_token_ids(uint32_t id_of_byte[256])
{
	uint32_t next = 0;
	for (int pass = 0; pass < 2; pass++)
		for (uint32_t b = 0; b < 256; b++)
			if (byte_is_printable((uint8_t)b) == (pass == 0)) id_of_byte[b] = next++;
}

static size_t utf8_encode(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	out[0] = (char)(0xc0 | cp >> 6); /* every code point here is below U+0800 */
	out[1] = (char)(0x80 | (cp & 0x3f));
	return 2;
}

/* An English paragraph (written for vkllm) that the merges are learned from, so that the first
 * merges are real subwords: "Ġthe", "ing", "Ġand", ... */
static const char english_text[] =
	"The river runs through the old town and turns the wheels of the mill before it reaches the sea. "
	"In the morning the fishermen are waiting on the stones, and the children are running to the school "
	"with their books under their arms. Nothing here is ever finished: the bridge is being painted again, "
	"the bakery is opening a second shop, and the station is growing a new platform for the evening trains. "
	"People say that the weather changes faster than their plans, so they carry an umbrella and a coat "
	"even in summer. When the light is falling and the streets are getting quiet, the teachers are walking "
	"home, the workers are closing their doors, and the singers are practising in the church. Everything "
	"that happens in this town has happened before, and everything that is said has been said many times, "
	"but nobody is tired of telling the stories of the river, the mill, the bridge and the sea. "
	"The number of visitors is increasing every year, and the information for travellers is printed in "
	"three languages. Reading, writing, thinking and learning are important things for everyone. "
	"She thought that the question was interesting, and he answered that the national government should "
	"be responsible for the development of the community and the protection of the environment.\n";

/* A distinct word of the paragraph as its current symbols (token ids). */
struct word {
	uint32_t *sym;
	uint32_t n, count; /* symbols, occurrences in the text */
};

static int byte_class(char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return 1;
	if (c >= '0' && c <= '9') return 2;
	if (c == ' ' || c == '\n') return 3;
	return 4;
}

struct learner {
	struct vocab_data *v;
	struct vocab_index *ix;
	uint32_t n_tokens, limit; /* tokens made so far, the most to make */
	uint32_t n_merges, cap_merges;
	uint32_t (*merge_pair)[2]; /* token ids of each merge, turned into strings at the end */
	struct word *words;
	uint32_t n_words;
};

static int add_word(struct learner *L, const uint32_t id_of_byte[256], const char *s, uint32_t n)
{
	for (uint32_t i = 0; i < L->n_words; i++) {
		struct word *w = &L->words[i];
		if (w->n != n) continue;
		bool same = true;
		for (uint32_t k = 0; k < n && same; k++) same = w->sym[k] == id_of_byte[(uint8_t)s[k]];
		if (same) {
			w->count++;
			return VKLLM_OK;
		}
	}
	struct word *w = &L->words[L->n_words];
	w->sym = malloc(n * sizeof *w->sym);
	if (!w->sym) return out_of_memory();
	for (uint32_t k = 0; k < n; k++) w->sym[k] = id_of_byte[(uint8_t)s[k]];
	w->n = n, w->count = 1;
	L->n_words++;
	return VKLLM_OK;
}

/* Splits the paragraph GPT-2 style: a space joins the word after it; letters, digits and other
 * characters form separate words; each word starts as its byte tokens. */
static int split_words(struct learner *L, const uint32_t id_of_byte[256])
{
	size_t len = sizeof english_text - 1;
	L->words = calloc(len, sizeof *L->words); /* never more words than bytes */
	if (!L->words) return out_of_memory();
	size_t i = 0;
	while (i < len) {
		size_t start = i;
		if (english_text[i] == ' ' && i + 1 < len && byte_class(english_text[i + 1]) != 3) i++;
		int cls = byte_class(english_text[i]);
		while (i < len && byte_class(english_text[i]) == cls && (cls != 3 || i == start)) i++;
		TRY(add_word(L, id_of_byte, english_text + start, (uint32_t)(i - start)));
	}
	return VKLLM_OK;
}

/* Makes token left+right (or finds it, when another pair already spelled it) and records the merge. */
static int make_merge(struct learner *L, uint32_t left, uint32_t right, uint32_t *result)
{
	struct vocab_data *v = L->v;
	size_t ll = v->token_len[left], rl = v->token_len[right];
	char buf[256];
	CHECK(ll + rl < sizeof buf);
	memcpy(buf, v->tokens[left], ll);
	memcpy(buf + ll, v->tokens[right], rl);
	int64_t existing = vocab_index_find(L->ix, v, buf, ll + rl);
	if (existing >= 0) {
		*result = (uint32_t)existing;
	} else {
		*result = L->n_tokens;
		TRY(vocab_set_token(v, L->n_tokens++, buf, ll + rl, VOCAB_NORMAL));
		vocab_index_add(L->ix, v, *result);
	}
	if (L->n_merges == L->cap_merges) {
		uint32_t cap = L->cap_merges ? 2 * L->cap_merges : 1024;
		void *p = realloc(L->merge_pair, cap * sizeof *L->merge_pair);
		if (!p) return out_of_memory();
		L->merge_pair = p, L->cap_merges = cap;
	}
	L->merge_pair[L->n_merges][0] = left;
	L->merge_pair[L->n_merges][1] = right;
	L->n_merges++;
	return VKLLM_OK;
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* The most frequent adjacent pair (ties: the smallest ids), weighted by word count; false when no
 * pair occurs twice. */
static bool best_pair(const struct learner *L, uint64_t *pairs, uint32_t *left, uint32_t *right)
{
	size_t n = 0;
	for (uint32_t i = 0; i < L->n_words; i++)
		for (uint32_t k = 0; k + 1 < L->words[i].n; k++)
			for (uint32_t c = 0; c < L->words[i].count; c++)
				pairs[n++] = (uint64_t)L->words[i].sym[k] << 32 | L->words[i].sym[k + 1];
	qsort(pairs, n, sizeof *pairs, compare_u64);
	uint64_t best = 0;
	size_t best_count = 1;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && pairs[j] == pairs[i]) j++;
		if (j - i > best_count) best = pairs[i], best_count = j - i;
		i = j;
	}
	if (best_count < 2) return false;
	*left = (uint32_t)(best >> 32), *right = (uint32_t)best;
	return true;
}

static void apply_merge(struct learner *L, uint32_t left, uint32_t right, uint32_t result)
{
	for (uint32_t i = 0; i < L->n_words; i++) {
		struct word *w = &L->words[i];
		uint32_t out = 0;
		for (uint32_t k = 0; k < w->n; k++) {
			if (k + 1 < w->n && w->sym[k] == left && w->sym[k + 1] == right) {
				w->sym[out++] = result;
				k++;
			} else {
				w->sym[out++] = w->sym[k];
			}
		}
		w->n = out;
	}
}

static int learn_english(struct learner *L, const uint32_t id_of_byte[256])
{
	TRY(split_words(L, id_of_byte));
	size_t max_pairs = 0;
	for (uint32_t i = 0; i < L->n_words; i++) max_pairs += (size_t)L->words[i].n * L->words[i].count;
	uint64_t *pairs = malloc((max_pairs + 1) * sizeof *pairs);
	if (!pairs) return out_of_memory();
	int st = VKLLM_OK;
	uint32_t left, right, result;
	while (st == VKLLM_OK && L->n_tokens < L->limit && best_pair(L, pairs, &left, &right)) {
		st = make_merge(L, left, right, &result);
		if (st == VKLLM_OK) apply_merge(L, left, right, result);
	}
	free(pairs);
	return st;
}

static uint64_t next_random(uint64_t *s)
{
	*s ^= *s >> 12, *s ^= *s << 25, *s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

static const char *const chatml_specials[3] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};

/* Letters and "Ġ" (the spelling of a leading space) only: a piece of an English word. */
static bool is_word_piece(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) continue;
		if (c == '\xc4' && i + 1 < n && s[i + 1] == '\xa0') {
			i++;
			continue;
		}
		return false;
	}
	return true;
}

/* Further merges until the size is reached: a word piece (learned, or made here) followed by a
 * learned piece or a letter that does not start a new word, so the new tokens still read as
 * (made-up) words: "Ġriverings", "Ġbakeryon". */
static int fill_merges(struct learner *L, const uint32_t id_of_byte[256], uint64_t seed)
{
	struct vocab_data *v = L->v;
	uint32_t *lefts = malloc(L->limit * sizeof *lefts), *rights = malloc(L->limit * sizeof *rights);
	uint32_t n_lefts = 0, n_rights = 0;
	if (!lefts || !rights) {
		free(lefts), free(rights);
		return out_of_memory();
	}
	for (char c = 'a'; c <= 'z'; c++) lefts[n_lefts++] = rights[n_rights++] = id_of_byte[(uint8_t)c];
	lefts[n_lefts++] = id_of_byte[' '];
	for (uint32_t id = 256; id < L->n_tokens; id++) {
		if (!is_word_piece(v->tokens[id], v->token_len[id])) continue;
		lefts[n_lefts++] = id;
		if (v->tokens[id][0] != '\xc4') rights[n_rights++] = id;
	}
	uint64_t rng = seed ^ 0x9e3779b97f4a7c15ull;
	if (rng == 0) rng = 1;
	size_t max_len = 16;
	uint32_t misses = 0;
	int st = VKLLM_OK;
	while (st == VKLLM_OK && L->n_tokens < L->limit) {
		uint32_t left = lefts[next_random(&rng) % n_lefts], right = rights[next_random(&rng) % n_rights];
		size_t ll = v->token_len[left], rl = v->token_len[right];
		char buf[256];
		bool usable = ll + rl <= max_len;
		if (usable) {
			memcpy(buf, v->tokens[left], ll);
			memcpy(buf + ll, v->tokens[right], rl);
			usable = vocab_index_find(L->ix, v, buf, ll + rl) < 0;
		}
		if (!usable) {
			if (++misses > 1000 && max_len < 200) max_len += 8, misses = 0; /* crowded: allow longer */
			continue;
		}
		misses = 0;
		uint32_t result;
		st = make_merge(L, left, right, &result);
		lefts[n_lefts++] = result;
	}
	free(lefts);
	free(rights);
	return st;
}

/* Turns the recorded merge pairs into "left right" strings. */
static int store_merges(struct learner *L)
{
	struct vocab_data *v = L->v;
	TRY(vocab_alloc_merges(v, L->n_merges));
	for (uint32_t i = 0; i < L->n_merges; i++) {
		uint32_t a = L->merge_pair[i][0], b = L->merge_pair[i][1];
		TRY(vocab_set_merge(v, i, v->tokens[a], v->token_len[a], v->tokens[b], v->token_len[b]));
	}
	return VKLLM_OK;
}

static int set_byte_tokens(struct vocab_data *v, struct vocab_index *ix, uint32_t id_of_byte[256])
{
	byte_token_ids(id_of_byte);
	for (uint32_t b = 0; b < 256; b++) {
		char s[4];
		size_t n = utf8_encode(vocab_byte_to_codepoint((uint8_t)b), s);
		TRY(vocab_set_token(v, id_of_byte[b], s, n, VOCAB_NORMAL));
	}
	for (uint32_t id = 0; id < 256; id++) vocab_index_add(ix, v, id);
	return VKLLM_OK;
}

/* The fallback template llama.cpp itself uses when a model has none: plain ChatML. */
static const char chatml_template[] =
	"{%- for message in messages -%}"
	"{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' -}}"
	"{%- endfor -%}"
	"{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}";

static int set_chatml_specials(struct vocab_data *v)
{
	uint32_t first = v->n_tokens - 3;
	for (uint32_t i = 0; i < 3; i++)
		TRY(vocab_set_token(v, first + i, chatml_specials[i], strlen(chatml_specials[i]), VOCAB_CONTROL));
	/* what Qwen's converted GGUFs say: BOS and padding are <|endoftext|>, EOS is <|im_end|>, no BOS */
	v->special.bos = first;
	v->special.pad = first;
	v->special.eos = first + 2;
	v->add_bos = 0;
	return vocab_set_chat_template(v, chatml_template, strlen(chatml_template));
}

int vocab_synthetic(struct vocab_data *v, uint32_t n_vocab, uint64_t seed)
{
	vocab_init(v);
	if (n_vocab < 300 || n_vocab > (1u << 22))
		return fail(VKLLM_E_ARG, "synthetic vocabulary: %u tokens requested (valid: 300 .. %u)", n_vocab,
		            1u << 22);
	snprintf(v->model, sizeof v->model, "gpt2");
	snprintf(v->pre, sizeof v->pre, "qwen2");
	struct vocab_index ix = {0};
	struct learner L = {.v = v, .ix = &ix, .n_tokens = 256, .limit = n_vocab - 3};
	uint32_t id_of_byte[256];
	int st = vocab_alloc_tokens(v, n_vocab, false);
	if (st == VKLLM_OK) st = vocab_index_init(&ix, n_vocab);
	if (st == VKLLM_OK) st = set_byte_tokens(v, &ix, id_of_byte);
	if (st == VKLLM_OK) st = learn_english(&L, id_of_byte);
	if (st == VKLLM_OK) st = fill_merges(&L, id_of_byte, seed);
	if (st == VKLLM_OK) st = store_merges(&L);
	if (st == VKLLM_OK) st = set_chatml_specials(v);
	for (uint32_t i = 0; L.words && i < L.n_words; i++) free(L.words[i].sym);
	free(L.words);
	free(L.merge_pair);
	vocab_index_free(&ix);
	if (st != VKLLM_OK) vocab_data_free(v);
	return st;
}
