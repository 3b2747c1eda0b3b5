/* The tokenizer of a GGUF model, identical to llama.cpp's (src/llama-vocab.cpp as shipped in
 * node-llama-cpp 3.22.1): byte-level BPE (tokenizer.ggml.model "gpt2") with llama.cpp's
 * pre-tokenizer regexes, and SentencePiece ("llama": score-ordered merges, <0xXX> byte fallback).
 * Special tokens written in the text are cut out first, longest first, as llama.cpp does; BOS and
 * EOS follow the metadata. docs/tokenizer.md says what matches, how it is tested, and the known
 * differences.
 *
 * A tokenizer is built once from the GGUF metadata and owns copies of everything it needs (the
 * file may be closed afterwards). Encoding uses scratch space and a word cache inside the object:
 * one tokenizer serves one thread at a time. Token ids are int32_t, as llama_token. */
#ifndef VKLLM_TOKENIZER_H
#define VKLLM_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gguf_file;
struct tokenizer;

#define TOKEN_NULL (-1) /* LLAMA_TOKEN_NULL: an absent special token */

/* A growing list of token ids (free with tok_ids_free; zero-initialized is empty). */
struct tok_ids {
	int32_t *ids;
	size_t n, cap;
};
/* A growing byte string (free with tok_text_free; zero-initialized is empty). p is kept
 * NUL-terminated for convenience, but the text may contain NUL bytes: n is its length. */
struct tok_text {
	char *p;
	size_t n, cap;
};
void tok_ids_free(struct tok_ids *v);
void tok_text_free(struct tok_text *t);
int tok_text_append(struct tok_text *t, const void *bytes, size_t n);

/* Reads the tokenizer.* keys of f. Fails (one line naming the key) where llama.cpp fails: an unknown
 * tokenizer model or pre-tokenizer, a missing token list or merges, a per-token array shorter than
 * the token list, two tokens with the same text. */
int tokenizer_load(struct tokenizer **out, const struct gguf_file *f);
void tokenizer_free(struct tokenizer *t);

/* Appends the ids of text[0..len) to out. add_special: BOS/EOS where the metadata asks for them
 * (llama_tokenize's add_special). parse_special: control tokens written in the text become their
 * ids (user-defined tokens always do, as in llama.cpp). Invalid UTF-8 is accepted as llama.cpp
 * accepts it (each bad byte reads as U+FFFD for byte-level BPE). */
int tokenizer_encode(struct tokenizer *t, const char *text, size_t len, bool add_special, bool parse_special,
                     struct tok_ids *out);

/* The text of one token, as llama_token_to_piece(lstrip 0): byte-level decoding for BPE, ▁ to space
 * and <0xXX> to the byte for SentencePiece; control and unknown tokens are "" unless `special`.
 * Writes at most cap bytes and returns the piece's full length (call again with more room when it
 * is larger). An id outside the vocabulary is an error. */
int tokenizer_piece(const struct tokenizer *t, int32_t id, bool special, char *buf, size_t cap, size_t *len);

/* ids back to text, as llama_detokenize: remove_special drops a leading BOS / trailing EOS the
 * metadata adds; unparse_special renders control tokens; the model's clean-up of spaces before
 * punctuation applies where llama.cpp applies it (llama-bpe and gpt-2, not qwen2, deepseek-v3,
 * gpt-4o or smollm). The result is appended to out. */
int tokenizer_decode(const struct tokenizer *t, const int32_t *ids, size_t n, bool remove_special, bool unparse_special,
                     struct tok_text *out);

/* Streaming detokenization: each token's piece is appended to `out` as whole UTF-8 characters only;
 * an incomplete character waits for the next token, and bytes that can never form a character are
 * written as U+FFFD. No clean-up of spaces (that needs the text that follows). */
struct detok_stream {
	const struct tokenizer *t;
	bool special;          /* render control tokens */
	unsigned char pending[4];
	unsigned n_pending;
};
void detok_stream_init(struct detok_stream *s, const struct tokenizer *t, bool special);
int detok_stream_push(struct detok_stream *s, int32_t id, struct tok_text *out);
/* The end of the stream: an incomplete character still pending comes out as U+FFFD. */
int detok_stream_finish(struct detok_stream *s, struct tok_text *out);
/* The same UTF-8 gate over raw bytes (what detok_stream_push uses). */
int utf8_stream_feed(unsigned char pending[4], unsigned *n_pending, const char *bytes, size_t n, struct tok_text *out);

/* ---- what the metadata says ---- */
enum tokenizer_kind { TOKENIZER_BPE, TOKENIZER_SPM };
enum tokenizer_kind tokenizer_kind(const struct tokenizer *t);
const char *tokenizer_pre_name(const struct tokenizer *t); /* the pre-tokenizer used ("qwen2", "default", ...) */
uint32_t tokenizer_n_tokens(const struct tokenizer *t);
int32_t tokenizer_bos(const struct tokenizer *t);
int32_t tokenizer_eos(const struct tokenizer *t);
int32_t tokenizer_eot(const struct tokenizer *t);
bool tokenizer_adds_bos(const struct tokenizer *t);
bool tokenizer_adds_eos(const struct tokenizer *t);
/* End of generation: eos, eot, eom and the texts llama.cpp treats as such (<|im_end|>, ...). */
bool tokenizer_is_eog(const struct tokenizer *t, int32_t id);
/* True when decode(encode(text)) gives valid UTF-8 text back: no clean-up of spaces before
 * punctuation, no ▁ prefix (and for SentencePiece, only text without a literal ▁, read as a space). */
bool tokenizer_round_trips(const struct tokenizer *t);
/* The stored text of a token (byte-level spelling for BPE), or NULL for an id out of range. */
const char *tokenizer_token_text(const struct tokenizer *t, int32_t id, size_t *len);

#endif
