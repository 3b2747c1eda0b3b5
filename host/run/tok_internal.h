/* Inside the tokenizer (host/run/tok_*.c): the tables built at load and the pieces of the
 * encoding pipeline. Not for use outside host/run/tok*.c. */
#ifndef VKLLM_TOK_INTERNAL_H
#define VKLLM_TOK_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "run/tokenizer.h"

/* llama_token_attr bits (include/llama.h) */
enum tok_attr {
	TOK_ATTR_UNDEFINED = 0,
	TOK_ATTR_UNKNOWN = 1 << 0,
	TOK_ATTR_UNUSED = 1 << 1,
	TOK_ATTR_NORMAL = 1 << 2,
	TOK_ATTR_CONTROL = 1 << 3,
	TOK_ATTR_USER_DEFINED = 1 << 4,
	TOK_ATTR_BYTE = 1 << 5,
	TOK_ATTR_LSTRIP = 1 << 7,
	TOK_ATTR_RSTRIP = 1 << 8,
};

/* ---- the merge queue (tok_heap.c): a binary heap of items of `size` bytes (at most
 * TOK_HEAP_MAX_ITEM) under the order `before`; cap counts items ---- */
#define TOK_HEAP_MAX_ITEM 32
struct tok_heap {
	unsigned char *v;
	size_t n, cap, size;
	bool (*before)(const void *a, const void *b);
};
int tok_heap_push(struct tok_heap *h, const void *item);
/* Removes the first item into out; h->n must be > 0. */
void tok_heap_pop(struct tok_heap *h, void *out);

/* ---- strings: every token text, then texts that only merges name; one hash index ---- */
struct tok_strtab {
	char *arena;       /* all texts, back to back */
	size_t arena_n, arena_cap;
	uint64_t *off;     /* [n] start in arena */
	uint32_t *len;     /* [n] */
	uint32_t n, cap;
	uint32_t *slots;   /* id + 1, 0 = empty; open addressing */
	uint32_t mask;
	uint32_t n_indexed;
};
uint64_t tok_hash(const void *p, size_t n);
int strtab_init(struct tok_strtab *s, uint32_t expected);
void strtab_free(struct tok_strtab *s);
/* Appends a text (not indexed yet). */
int strtab_push(struct tok_strtab *s, const char *text, size_t n, uint32_t *id);
/* Indexes string id; *dup is the id already holding that text, or -1. */
int strtab_index(struct tok_strtab *s, uint32_t id, int64_t *dup);
/* The id of a text, or -1. */
int64_t strtab_find(const struct tok_strtab *s, const char *text, size_t n);
/* The id of a text, added (and indexed) when new. */
int strtab_intern(struct tok_strtab *s, const char *text, size_t n, uint32_t *id);
static inline const char *strtab_text(const struct tok_strtab *s, uint32_t id) { return s->arena + s->off[id]; }

/* ---- BPE merges: (left string id, right string id) -> rank and the merged string's id ---- */
struct tok_merges {
	uint64_t *keys;    /* left << 32 | right; UINT64_MAX = empty */
	int32_t *rank;
	uint32_t *result;
	uint32_t mask, n;
};
int merges_load(struct tokenizer *t, const struct gguf_file *f);
void merges_free(struct tok_merges *m);
bool merges_find(const struct tok_merges *m, uint32_t left, uint32_t right, int32_t *rank, uint32_t *result);

/* ---- a cache of whole pre-tokenized words -> ids (BPE words repeat a lot in real text) ---- */
struct tok_word_cache {
	uint32_t *slots;   /* entry offset + 1 into data */
	uint32_t mask, n;
	uint32_t *data;    /* entries: [hash][key bytes][n ids][ids...], key padded to 4 bytes */
	size_t data_n, data_cap;
};
void word_cache_free(struct tok_word_cache *c);
/* ids of a cached word, or NULL */
const int32_t *word_cache_get(const struct tok_word_cache *c, const char *key, size_t n, uint32_t *n_ids);
void word_cache_put(struct tok_word_cache *c, const char *key, size_t n, const int32_t *ids, uint32_t n_ids);

/* A piece of the text being encoded: raw text or a token found in it. */
struct tok_fragment {
	int32_t token;     /* >= 0: a special token; -1: raw text [off, off + len) */
	size_t off, len;
};

/* ---- special tokens: a byte trie over their texts, to find which ones occur in a text ---- */
struct tok_special {
	uint32_t *order;     /* [n] ids: CONTROL, USER_DEFINED and UNKNOWN tokens, longest text first */
	uint32_t n;
	uint32_t *rank_of;   /* [n_tokens]: position in order, UINT32_MAX when not special */
	/* trie: node 0 is the root; child (node, byte) in an open-addressing table */
	uint64_t *edge_key;  /* node << 8 | byte, UINT64_MAX empty */
	uint32_t *edge_to;
	uint32_t edge_mask;
	int32_t *node_token; /* [n_nodes] the special whose text ends here, or -1 */
	uint32_t n_nodes;
	bool first_byte[256];
	uint8_t *present;    /* [n] scratch: occurs in the text being encoded */
	struct tok_fragment *tmp; /* scratch for partitioning */
	size_t cap_tmp;
};
int special_build(struct tokenizer *t);
void special_free(struct tok_special *s);

/* Splits text into raw fragments and special tokens exactly as llama.cpp's tokenizer_st_partition.
 * frags is a scratch array owned by the tokenizer. */
int special_partition(struct tokenizer *t, const char *text, size_t len, bool parse_special,
                      struct tok_fragment **frags, size_t *n_frags);

/* ---- pre-tokenizer: llama.cpp's regexes for a pre type, run with PCRE2 (UTF + UCP) ---- */
struct pretok_info {
	const char *names;     /* tokenizer.ggml.pre values, '|' separated */
	const char *const *regex; /* NULL-terminated list, applied in order */
	bool clean_spaces;     /* detokenize removes " ," " ." ... */
	bool ignore_merges;    /* a word that is a token is taken whole */
	bool add_bos;          /* the default before tokenizer.ggml.add_bos_token */
};
const struct pretok_info *pretok_find(const char *pre);
struct tok_span {
	uint32_t off, len;
};
struct tok_pretok {
	void *code[6];         /* pcre2_code_8 * */
	bool jit[6];
	int n;
	void *match;           /* pcre2_match_data_8 * */
	void *extra;           /* match context and JIT stack (tok_pretok.c) */
	struct tok_span *a, *b; /* scratch piece lists */
	size_t cap_a, cap_b;
};
int pretok_init(struct tok_pretok *p, const struct pretok_info *info);
void pretok_free(struct tok_pretok *p);
/* Splits subject[0..n) (valid UTF-8) into pieces; *out points into p's scratch. */
int pretok_split(struct tok_pretok *p, const char *subject, size_t n, const struct tok_span **out, size_t *n_out);

/* ---- text normalization for byte-level BPE (llama.cpp's unicode_cpts_from_utf8 round trip) ---- */
/* Decodes bytes as llama.cpp does (each invalid byte is U+FFFD, overlong forms accepted) and writes
 * the re-encoded text to `norm` and the same text with code points PCRE2 cannot take (surrogates)
 * or classifies differently from llama.cpp (U+180E) replaced by a same-length stand-in to
 * `subject`. Returns false (no copies made) when the input needs no change: then both are the
 * input. Fails on a code point beyond U+10FFFF (llama.cpp throws there too). */
int utf8_normalize(const char *in, size_t n, struct tok_text *norm, struct tok_text *subject, bool *changed);

/* ---- the two algorithms ---- */
int bpe_encode_fragment(struct tokenizer *t, const char *text, size_t n, struct tok_ids *out);
int spm_encode_fragment(struct tokenizer *t, const char *text, size_t n, struct tok_ids *out);
int spm_prepare(struct tokenizer *t);
void bpe_scratch_free(struct tokenizer *t);
void spm_scratch_free(struct tokenizer *t);

int tok_ids_push(struct tok_ids *v, int32_t id);

struct tokenizer {
	enum tokenizer_kind kind;
	char pre[32];               /* the pre-tokenizer string as read ("" when absent) */
	const struct pretok_info *pre_info;
	uint32_t n_tokens;
	struct tok_strtab strs;     /* ids 0..n_tokens-1 are the tokens */
	float *scores;              /* [n_tokens] */
	uint32_t *attr;             /* [n_tokens] enum tok_attr bits */
	uint8_t *eog;               /* [n_tokens] end-of-generation */
	int32_t bos, eos, eot, eom, unk, sep, pad, mask;
	int32_t fim_pre, fim_suf, fim_mid, fim_pad, fim_rep, fim_sep;
	bool add_bos, add_eos, add_space_prefix, clean_spaces, ignore_merges;

	struct tok_special special;
	struct tok_fragment *frags;
	size_t cap_frags;

	/* BPE */
	struct tok_merges merges;
	int64_t byte_sid[256];      /* string id of each byte's byte-level spelling, -1 if none */
	char byte_utf8[256][2];     /* that spelling in UTF-8 */
	uint8_t byte_utf8_len[256];
	int16_t cp_to_byte[0x144];  /* inverse map for decoding: code point -> byte, -1 none */
	struct tok_pretok pretok;
	struct tok_word_cache cache;
	struct tok_text norm, subject, word; /* scratch */
	void *bpe_syms, *bpe_heap;  /* scratch arrays of tok_bpe.c */
	size_t cap_syms, cap_heap;

	/* SentencePiece */
	uint32_t *spm_glue;         /* sorted: characters some token has right before a ▁ */
	size_t n_spm_glue;
	bool spm_whole;             /* a token has a ▁ after bytes that are no character: never split */
	void *spm_syms, *spm_heap;
	size_t cap_spm_syms, cap_spm_heap;
	struct tok_text spm_text;
};

#endif
