/* A Hugging Face tokenizer (tokenizer.json, with tokenizer_config.json, config.json and
 * chat_template.jinja when they sit next to it) turned into the GGUF tokenizer that llama.cpp's
 * convert_hf_to_gguf.py would write for it, so that llama.cpp tokenizes a vkllm-made file like the
 * real model's GGUF.
 *
 * Two kinds are supported, the two the 2025 model families use:
 *  - byte-level BPE (Qwen, Llama 3, DeepSeek V3, gpt-oss, SmolLM, ...): model "gpt2". Tokens keep
 *    their byte-level spelling; added tokens are stored as plain text (as HF decodes them), CONTROL when
 *    HF calls them special or they look special (<|...|>, <｜...｜>, <unused...>, <pad>, <mask>, ...),
 *    otherwise USER_DEFINED; ids nobody uses become "[PAD<i>]" (UNUSED). tokenizer.ggml.pre is
 *    recognised from the pre-tokenizer (the converter hashes a test string's tokens instead; the result
 *    is the same for the known tokenizers): qwen2, llama-bpe, deepseek-v3, gpt-4o, smollm; anything
 *    else is "default" with a warning on stderr, unless the caller names it.
 *  - SentencePiece-style BPE with byte fallback (Gemma 3): model "llama", pre "default", no merges,
 *    scores and types as the converter takes them from tokenizer.model (see vocab_hf.c for how the
 *    scores are recovered from tokenizer.json), add_space_prefix false unless the normalizer
 *    prepends "▁".
 * Special ids, add_bos/add_eos/add_sep and the chat template come from the same places, in the same
 * precedence, as the converter's gguf.SpecialVocab takes them. Errors name the file and the field. */
#ifndef VKLLM_VOCAB_HF_H
#define VKLLM_VOCAB_HF_H

#include <stdint.h>

#include "vocab.h"

struct vocab_hf_options {
	const char *pre;  /* tokenizer.ggml.pre to write (gpt2 kind only); NULL: recognise it */
	uint32_t n_vocab; /* vocabulary size, the rest padded as the converter pads to config.json's
	                     vocab_size; 0: config.json's vocab_size when there is one, else the
	                     tokenizer's own size */
};

/* Loads tokenizer_json_path with default options. On failure v is left empty. */
int vocab_hf_load(struct vocab_data *v, const char *tokenizer_json_path);
int vocab_hf_load_opts(struct vocab_data *v, const char *tokenizer_json_path, const struct vocab_hf_options *opt);

/* The tokenizer.ggml.pre name for a tokenizer.json "pre_tokenizer" object, or NULL when it is not one
 * of the known ones. (Exposed for tests.) */
struct jp_value;
const char *vocab_hf_recognise_pre(const struct jp_value *pre_tokenizer);

#endif
