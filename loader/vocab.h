/* A tokenizer as a GGUF file holds it (the tokenizer.* keys of llama.cpp), and the two ways vkllm
 * makes one: vocab_synthetic (a small byte-level BPE vocabulary for synthetic models) and
 * vocab_hf_load (loader/vocab_hf.h: a Hugging Face tokenizer.json, converted the way llama.cpp's
 * convert_hf_to_gguf.py converts it). vocab_write_gguf writes the keys with the converter's names and
 * value types, so llama.cpp reads the result exactly as it reads a converted model. */
#ifndef VKLLM_VOCAB_H
#define VKLLM_VOCAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gguf_writer;

/* tokenizer.ggml.token_type values (llama.cpp's llama_token_type) */
enum vocab_token_type {
	VOCAB_NORMAL = 1,
	VOCAB_UNKNOWN = 2,
	VOCAB_CONTROL = 3,      /* never produced from plain text unless special-token parsing is on */
	VOCAB_USER_DEFINED = 4, /* always matched in text, before the tokenizer runs */
	VOCAB_UNUSED = 5,       /* the [PAD<i>] holes */
	VOCAB_BYTE = 6,         /* SentencePiece byte fallback <0xXX> */
};

/* Special token ids; -1 = absent (the key is not written). */
struct vocab_special_ids {
	int64_t bos, eos, eot, eom, unk, sep, pad, cls, mask;
	int64_t fim_pre, fim_suf, fim_mid, fim_pad, fim_rep, fim_sep;
};

struct vocab_pool;

struct vocab_data {
	char model[16];        /* tokenizer.ggml.model: "gpt2" (byte-level BPE) or "llama" (SentencePiece) */
	char pre[32];          /* tokenizer.ggml.pre; "" = not written */
	uint32_t n_tokens;
	const char **tokens;   /* [n_tokens], NUL-terminated (token_len says the length) */
	uint64_t *token_len;   /* [n_tokens] */
	float *scores;         /* [n_tokens], or NULL: no tokenizer.ggml.scores */
	int32_t *token_type;   /* [n_tokens], enum vocab_token_type */
	uint32_t n_merges;
	const char **merges;   /* [n_merges] "left right", rank = index */
	uint64_t *merge_len;
	struct vocab_special_ids special;
	int add_bos, add_eos, add_sep; /* -1 = not written, else 0/1 */
	int add_space_prefix;  /* -1 = not written (llama.cpp's default for "llama" is true) */
	char *chat_template;   /* NULL when none */
	struct vocab_pool *pool; /* owns the strings */
};

/* An empty vocabulary: no tokens, every special id -1, every flag unset. */
void vocab_init(struct vocab_data *v);
/* Frees everything and leaves v as vocab_init does. */
void vocab_data_free(struct vocab_data *v);

/* Writes the tokenizer.* keys. Refuses (VKLLM_E_ARG) a vocabulary llama.cpp would refuse: no tokens,
 * an unset token, a token type outside 1..6, a special id out of range, "gpt2" without merges. */
int vocab_write_gguf(struct gguf_writer *w, const struct vocab_data *v);

/* A synthetic byte-level BPE vocabulary of exactly n_vocab tokens (model "gpt2", pre "qwen2"): the
 * 256 bytes in GPT-2's byte-to-unicode spelling (in the order Qwen and GPT-2 give them), merges learned
 * from an English paragraph, then further merges derived from `seed` until the size is reached, and
 * the ChatML specials <|endoftext|>, <|im_start|>, <|im_end|> as CONTROL at the end with Qwen's
 * special ids and a ChatML chat template. Every token is unique and every non-byte, non-special token
 * is the result of a merge of two earlier tokens. n_vocab: 300 .. 1<<22. */
int vocab_synthetic(struct vocab_data *v, uint32_t n_vocab, uint64_t seed);

/* ---- for code that builds a vocabulary (vocab_hf.c, tests) ---- */

/* Allocates n tokens (all unset), scores when with_scores. */
int vocab_alloc_tokens(struct vocab_data *v, uint32_t n, bool with_scores);
/* Copies text into the vocabulary's storage as token id. */
int vocab_set_token(struct vocab_data *v, uint32_t id, const char *text, size_t len, int32_t type);
int vocab_alloc_merges(struct vocab_data *v, uint32_t n);
/* Merge i = "left right". */
int vocab_set_merge(struct vocab_data *v, uint32_t i, const char *left, size_t left_len, const char *right,
                    size_t right_len);
int vocab_set_chat_template(struct vocab_data *v, const char *text, size_t len);

/* A hash index from token text to id over a vocabulary's tokens. */
struct vocab_index {
	uint32_t *slots; /* id + 1; 0 = empty */
	uint32_t mask;
	uint32_t count;
};
/* An empty index with room for `capacity` tokens. */
int vocab_index_init(struct vocab_index *ix, uint32_t capacity);
/* Adds token `id` of v (its text must be set). Returns the id already holding that text, or -1 when
 * the text is new and was added. */
int64_t vocab_index_add(struct vocab_index *ix, const struct vocab_data *v, uint32_t id);
/* The id of the token with this text, or -1. */
int64_t vocab_index_find(const struct vocab_index *ix, const struct vocab_data *v, const char *text, size_t len);
void vocab_index_free(struct vocab_index *ix);

/* GPT-2's byte-to-unicode map: byte b is spelled as this code point in byte-level BPE tokens. */
uint32_t vocab_byte_to_codepoint(uint8_t b);

#endif
