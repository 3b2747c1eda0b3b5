/* The tokenizer (host/run/tok*.c) on tiny vocabularies built here, so every expected id can be
 * worked out by hand: BPE merge order and ties, the qwen2 regex, special tokens (control ones
 * only with parsing on, user-defined ones always, longest first), BOS/EOS from the metadata,
 * SentencePiece scores, ▁ prefix and byte fallback, pieces and decoding (llama-bpe's space
 * clean-up), round trips, the streaming detokenizer split inside a character, and the errors a
 * bad vocabulary or a bad id gets. The real vocabularies are the oracle test's
 * (tests/tokenizer/tokenizer_oracle.cmake). */
#include "base/status.h"
#include "loader/gguf.h"
#include "loader/gguf_write.h"
#include "loader/vocab.h"
#include "run/tok_internal.h"
#include "run/tokenizer.h"
#include "test.h"

/* ---- building vocabularies ---- */

/* Writes v into memory as a GGUF and loads a tokenizer from it. */
static int load(const struct vocab_data *v, struct tokenizer **tok)
{
	struct gguf_writer w;
	gguf_writer_init(&w);
	gguf_w_str(&w, "general.architecture", "llama");
	int st = vocab_write_gguf(&w, v);
	char *mem = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&mem, &size);
	if (!st && !f) st = fail(VKLLM_E_IO, "open_memstream");
	if (!st) st = gguf_write_header(&w, f, "mem");
	if (f) fclose(f);
	gguf_writer_free(&w);
	struct gguf_file g;
	if (!st) st = gguf_open_memory(&g, mem, size, "mem");
	if (!st) {
		st = tokenizer_load(tok, &g);
		gguf_close(&g);
	}
	free(mem);
	return st;
}

static void set_text(struct vocab_data *v, uint32_t id, const char *text, int32_t type)
{
	CHECK(vocab_set_token(v, id, text, strlen(text), type) == VKLLM_OK);
}

/* Byte-level BPE: ids 0..255 are the bytes (id = byte value), then merged tokens, then specials. */
enum { HE = 256, LL, HELL, HELLO, G_W, OR, G_WOR, LD, G_WORLD, IM_START, IM_END, THINK, IM, BPE_N };

static void bpe_vocab(struct vocab_data *v, const char *pre)
{
	vocab_init(v);
	snprintf(v->model, sizeof v->model, "gpt2");
	snprintf(v->pre, sizeof v->pre, "%s", pre);
	CHECK(vocab_alloc_tokens(v, BPE_N, false) == VKLLM_OK);
	for (uint32_t b = 0; b < 256; b++) {
		uint32_t cp = vocab_byte_to_codepoint((uint8_t)b);
		char s[3] = {0};
		if (cp < 0x80) s[0] = (char)cp;
		else s[0] = (char)(0xc0 | cp >> 6), s[1] = (char)(0x80 | (cp & 0x3f));
		set_text(v, b, s, VOCAB_NORMAL);
	}
	/* "Ġ" is the byte-level spelling of a space */
	const char *merged[][2] = {{"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"}, {"\xc4\xa0", "w"},
	                           {"o", "r"}, {"\xc4\xa0w", "or"}, {"l", "d"}, {"\xc4\xa0wor", "ld"}};
	CHECK(vocab_alloc_merges(v, 9) == VKLLM_OK);
	for (uint32_t i = 0; i < 9; i++) {
		char cat[32];
		snprintf(cat, sizeof cat, "%s%s", merged[i][0], merged[i][1]);
		set_text(v, HE + i, cat, VOCAB_NORMAL);
		CHECK(vocab_set_merge(v, i, merged[i][0], strlen(merged[i][0]), merged[i][1], strlen(merged[i][1])) == VKLLM_OK);
	}
	set_text(v, IM_START, "<|im_start|>", VOCAB_CONTROL);
	set_text(v, IM_END, "<|im_end|>", VOCAB_CONTROL);
	set_text(v, THINK, "<think>", VOCAB_USER_DEFINED);
	set_text(v, IM, "<|im", VOCAB_CONTROL); /* a shorter special inside a longer one */
	v->special.eos = IM_END;
}

static bool ids_are(const struct tok_ids *got, const int32_t *want, size_t n)
{
	if (got->n != n) return false;
	return n == 0 || !memcmp(got->ids, want, n * sizeof *want);
}

static void print_ids(const struct tok_ids *got)
{
	fprintf(stderr, "  got [");
	for (size_t i = 0; i < got->n; i++) fprintf(stderr, i ? " %d" : "%d", got->ids[i]);
	fprintf(stderr, "]\n");
}

#define EXPECT_IDS(tok, text, add, parse, ...)                                                     \
	do {                                                                                           \
		const int32_t want_[] = {__VA_ARGS__};                                                     \
		struct tok_ids got_ = {0};                                                                 \
		int st_ = tokenizer_encode(tok, text, strlen(text), add, parse, &got_);                     \
		bool ok_ = st_ == VKLLM_OK && ids_are(&got_, want_, sizeof want_ / sizeof want_[0]);       \
		EXPECT(ok_, "encode(\"%s\", add=%d, parse=%d) %s", text, add, parse, st_ ? vkllm_error() : ""); \
		if (!ok_) print_ids(&got_);                                                                \
		tok_ids_free(&got_);                                                                       \
	} while (0)

static bool round_trips(struct tokenizer *tok, const char *text, size_t n)
{
	struct tok_ids ids = {0};
	struct tok_text back = {0};
	bool ok = tokenizer_encode(tok, text, n, true, true, &ids) == VKLLM_OK &&
	          tokenizer_decode(tok, ids.ids, ids.n, true, true, &back) == VKLLM_OK && back.n == n &&
	          (n == 0 || !memcmp(back.p, text, n));
	tok_ids_free(&ids);
	tok_text_free(&back);
	return ok;
}

/* ---- byte-level BPE ---- */

static void test_bpe(void)
{
	struct vocab_data v;
	bpe_vocab(&v, "qwen2");
	struct tokenizer *tok = NULL;
	int st = load(&v, &tok);
	EXPECT(st == VKLLM_OK, "%s", vkllm_error());
	vocab_data_free(&v);
	if (st) return;
	EXPECT(tokenizer_kind(tok) == TOKENIZER_BPE && !tokenizer_adds_bos(tok) && tokenizer_round_trips(tok), "qwen2 flags");
	EXPECT(tokenizer_eos(tok) == IM_END && tokenizer_is_eog(tok, IM_END), "eos");

	EXPECT_IDS(tok, "hello world", true, true, HELLO, G_WORLD);
	/* "lll": both pairs have rank 1, the leftmost merges first */
	EXPECT_IDS(tok, "lll", false, false, LL, 'l');
	/* qwen2's regex: digits one by one, "  " before a word leaves one space to the word */
	EXPECT_IDS(tok, "2024", false, false, '2', '0', '2', '4');
	EXPECT_IDS(tok, "a  world", false, false, 'a', ' ', G_WORLD);
	/* control tokens only with parsing on; user-defined ones always; longest special first */
	EXPECT_IDS(tok, "<|im_start|>hello<think>", false, true, IM_START, HELLO, THINK);
	EXPECT_IDS(tok, "<|im_end|><|im", false, true, IM_END, IM);
	EXPECT_IDS(tok, "<|im<think>", false, false, '<', '|', 'i', 'm', THINK);
	/* invalid UTF-8: each bad byte reads as U+FFFD (EF BF BD), as in llama.cpp */
	EXPECT_IDS(tok, "\xff", false, false, 0xef, 0xbf, 0xbd);
	EXPECT_IDS(tok, "", true, true, );

	/* pieces: byte-level decoding; control tokens only when asked */
	char buf[64];
	size_t n = 0;
	EXPECT(tokenizer_piece(tok, G_WORLD, false, buf, sizeof buf, &n) == VKLLM_OK && n == 6 && !memcmp(buf, " world", 6), "piece");
	EXPECT(tokenizer_piece(tok, IM_START, false, buf, sizeof buf, &n) == VKLLM_OK && n == 0, "control piece hidden");
	EXPECT(tokenizer_piece(tok, IM_START, true, buf, sizeof buf, &n) == VKLLM_OK && n == 12, "control piece shown");
	EXPECT(tokenizer_piece(tok, THINK, false, buf, sizeof buf, &n) == VKLLM_OK && n == 7, "user-defined piece shown");
	EXPECT(tokenizer_piece(tok, BPE_N, false, buf, sizeof buf, &n) == VKLLM_E_ARG && strstr(vkllm_error(), "outside"),
	       "an id past the vocabulary: %s", vkllm_error());
	struct tok_text out = {0};
	int32_t bad[] = {HELLO, -1};
	EXPECT(tokenizer_decode(tok, bad, 2, false, false, &out) == VKLLM_E_ARG, "decode of id -1 fails");
	tok_text_free(&out);

	/* round trips, every byte sequence the regex and merges see */
	const char *texts[] = {"hello world", "  leading\tand trailing  \n", "emoji 👍🏽 🇫🇷 and 日本語, кириллица",
	                       "<|im_start|>user\nhi<|im_end|>\n", "a\r\nb\r\n\r\n", "it's 3.14, isn't it ?"};
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
		EXPECT(round_trips(tok, texts[i], strlen(texts[i])), "round trip of \"%s\"", texts[i]);
	tokenizer_free(tok);
}

/* llama-bpe: add_bos, ignore_merges (a word that is a token is taken whole), clean-up of spaces. */
static void test_llama_bpe(void)
{
	struct vocab_data v;
	bpe_vocab(&v, "llama-bpe");
	v.special.bos = IM_START;
	struct tokenizer *tok = NULL;
	int st = load(&v, &tok);
	EXPECT(st == VKLLM_OK, "%s", vkllm_error());
	vocab_data_free(&v);
	if (st) return;
	EXPECT(tokenizer_adds_bos(tok) && !tokenizer_round_trips(tok), "llama-bpe flags");
	EXPECT_IDS(tok, "hello", true, true, IM_START, HELLO);
	EXPECT_IDS(tok, "hello", false, true, HELLO);
	/* digits in threes under the llama3 regex: "2024" is one piece, merged to nothing here */
	EXPECT_IDS(tok, "20245", false, false, '2', '0', '2', '4', '5');
	/* decoding removes the space before punctuation, as llama.cpp does for llama-bpe */
	struct tok_ids ids = {0};
	struct tok_text out = {0};
	EXPECT(tokenizer_encode(tok, "hello , world .", 15, false, false, &ids) == VKLLM_OK, "%s", vkllm_error());
	EXPECT(tokenizer_decode(tok, ids.ids, ids.n, false, false, &out) == VKLLM_OK && !strcmp(out.p, "hello, world."),
	       "clean-up: \"%s\"", out.p ? out.p : "");
	tok_ids_free(&ids);
	tok_text_free(&out);
	tokenizer_free(tok);
}

/* ---- SentencePiece ---- */

enum { UNK = 0, BOS = 1, EOS = 2, BYTE0 = 3, BLANK = 259, B_H, E, L, O, B_HE, LL2, B_HELL, B_HELLO, SPM_N, O_BLANK = SPM_N };

/* glue: one more token, "o▁", so a merge spans the ▁ between two words */
static void spm_vocab(struct vocab_data *v, int add_space_prefix, bool glue)
{
	vocab_init(v);
	snprintf(v->model, sizeof v->model, "llama");
	CHECK(vocab_alloc_tokens(v, glue ? SPM_N + 1 : SPM_N, true) == VKLLM_OK);
	if (glue) {
		set_text(v, O_BLANK, "o▁", VOCAB_NORMAL);
		v->scores[O_BLANK] = -0.5f;
	}
	set_text(v, UNK, "<unk>", VOCAB_UNKNOWN);
	set_text(v, BOS, "<s>", VOCAB_CONTROL);
	set_text(v, EOS, "</s>", VOCAB_CONTROL);
	for (int b = 0; b < 256; b++) {
		char s[8];
		snprintf(s, sizeof s, "<0x%02X>", b);
		set_text(v, BYTE0 + b, s, VOCAB_BYTE);
	}
	const char *texts[] = {"▁", "▁h", "e", "l", "o", "▁he", "ll", "▁hell", "▁hello"};
	/* higher score merges first: "ll" (-1) before "▁h" (-2) ... */
	const float scores[] = {-5, -2, -9, -9, -9, -3, -1, -4, -6};
	for (int i = 0; i < 9; i++) {
		set_text(v, BLANK + i, texts[i], VOCAB_NORMAL);
		v->scores[BLANK + i] = scores[i];
	}
	v->special.bos = BOS, v->special.eos = EOS, v->special.unk = UNK;
	v->add_space_prefix = add_space_prefix;
}

static void test_spm(void)
{
	struct vocab_data v;
	spm_vocab(&v, -1, false); /* llama.cpp's default: a ▁ prefix */
	struct tokenizer *tok = NULL;
	int st = load(&v, &tok);
	EXPECT(st == VKLLM_OK, "%s", vkllm_error());
	vocab_data_free(&v);
	if (st) return;
	EXPECT(tokenizer_kind(tok) == TOKENIZER_SPM && tokenizer_adds_bos(tok), "spm flags");
	/* "▁hello": ll, ▁h, ▁he, ▁hell, ▁hello by score */
	EXPECT_IDS(tok, "hello", true, true, BOS, B_HELLO);
	/* byte fallback: é is not a token, so its two bytes come out as <0xC3><0xA9>; \n as <0x0A> */
	EXPECT_IDS(tok, "hello é\n", false, false, B_HELLO, BLANK, BYTE0 + 0xc3, BYTE0 + 0xa9, BYTE0 + 0x0a);
	/* text after a special token gets the ▁ prefix too */
	EXPECT_IDS(tok, "<s>hello", false, true, BOS, B_HELLO);
	/* ... and without parsing "<s>" is text: ▁ alone (no "▁<"), bytes for what is no token */
	EXPECT_IDS(tok, "<s>hello", false, false, BLANK, BYTE0 + '<', BYTE0 + 's', BYTE0 + '>', BYTE0 + 'h', E, LL2, O);
	/* decoding: ▁ is a space, the first token's space is removed, bytes are joined back (after a
	 * BOS llama.cpp keeps the space: that BOS took the first token's place) */
	struct tok_ids ids = {0};
	struct tok_text out = {0};
	const char *text = "hello é\n";
	EXPECT(tokenizer_encode(tok, text, strlen(text), false, true, &ids) == VKLLM_OK, "%s", vkllm_error());
	EXPECT(tokenizer_decode(tok, ids.ids, ids.n, true, false, &out) == VKLLM_OK && !strcmp(out.p, text), "decode \"%s\"",
	       out.p ? out.p : "");
	tok_ids_free(&ids);
	tok_text_free(&out);
	tokenizer_free(tok);

	/* a token across the ▁ between words: "o▁" merges first and takes the second word's ▁ */
	spm_vocab(&v, -1, true);
	st = load(&v, &tok);
	vocab_data_free(&v);
	EXPECT(st == VKLLM_OK, "%s", vkllm_error());
	if (st) return;
	EXPECT_IDS(tok, "hello hello", false, false, B_HELL, O_BLANK, BYTE0 + 'h', E, LL2, O);
	EXPECT_IDS(tok, "hella hello", false, false, B_HELL, BYTE0 + 'a', B_HELLO);
	tokenizer_free(tok);

	/* Gemma's way: no ▁ prefix */
	spm_vocab(&v, 0, false);
	st = load(&v, &tok);
	vocab_data_free(&v);
	EXPECT(st == VKLLM_OK, "%s", vkllm_error());
	if (st) return;
	EXPECT_IDS(tok, "hello", false, true, BYTE0 + 'h', E, LL2, O);
	EXPECT(round_trips(tok, " hello hello  é\t", 17), "gemma-style round trip");
	tokenizer_free(tok);
}

/* ---- streaming detokenization ---- */

static void test_stream(void)
{
	struct vocab_data v;
	bpe_vocab(&v, "qwen2");
	struct tokenizer *tok = NULL;
	int st = load(&v, &tok);
	vocab_data_free(&v);
	EXPECT(st == VKLLM_OK, "%s", vkllm_error());
	if (st) return;
	/* é = C3 A9 and 😀 = F0 9F 98 80 as byte tokens (id = byte): nothing comes out mid-character */
	const int32_t ids[] = {'a', 0xc3, 0xa9, 0xf0, 0x9f, 0x98, 0x80, 'b'};
	const char *after[] = {"a", "a", "aé", "aé", "aé", "aé", "aé😀", "aé😀b"};
	struct detok_stream s;
	struct tok_text out = {0};
	detok_stream_init(&s, tok, false);
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		EXPECT(detok_stream_push(&s, ids[i], &out) == VKLLM_OK, "%s", vkllm_error());
		EXPECT(out.n == strlen(after[i]) && !memcmp(out.p, after[i], out.n), "after token %zu: \"%.*s\"", i, (int)out.n, out.p);
	}
	/* bytes that can never be a character become U+FFFD at once; an unfinished one at the end too */
	out.n = 0;
	const int32_t bad[] = {0xff, 'x', 0xe2, 0x82};
	for (size_t i = 0; i < 4; i++) EXPECT(detok_stream_push(&s, bad[i], &out) == VKLLM_OK, "%s", vkllm_error());
	EXPECT(out.n == 4 && !memcmp(out.p, "\xef\xbf\xbdx", 4), "invalid byte: \"%.*s\"", (int)out.n, out.p);
	EXPECT(detok_stream_finish(&s, &out) == VKLLM_OK && out.n == 7 && !memcmp(out.p + 4, "\xef\xbf\xbd", 3), "unfinished");
	/* a split lead byte followed by ASCII: U+FFFD then the ASCII */
	out.n = 0;
	EXPECT(detok_stream_push(&s, 0xe2, &out) == VKLLM_OK && out.n == 0, "pending");
	EXPECT(detok_stream_push(&s, 'y', &out) == VKLLM_OK && out.n == 4 && !memcmp(out.p, "\xef\xbf\xbdy", 4), "broken");
	EXPECT(detok_stream_push(&s, -5, &out) == VKLLM_E_ARG, "bad id");
	tok_text_free(&out);
	tokenizer_free(tok);
}

/* ---- pre-tokenizers: the pieces each regex set cuts (worked out from the ECMAScript semantics) ---- */

static void expect_pieces(const char *pre, const char *text, const char *const *want)
{
	const struct pretok_info *info = pretok_find(pre);
	EXPECT(info != NULL, "pre-tokenizer %s", pre);
	if (!info) return;
	struct tok_pretok p;
	const struct tok_span *got;
	size_t n = 0, k = 0;
	EXPECT(pretok_init(&p, info) == VKLLM_OK && pretok_split(&p, text, strlen(text), &got, &n) == VKLLM_OK, "%s: %s", pre,
	       vkllm_error());
	bool same = true;
	for (; want[k]; k++) same = same && k < n && got[k].len == strlen(want[k]) && !memcmp(text + got[k].off, want[k], got[k].len);
	EXPECT(same && n == k, "%s on \"%s\": %zu pieces, wanted %zu", pre, text, n, k);
	if (!same || n != k)
		for (size_t i = 0; i < n; i++) fprintf(stderr, "  piece [%.*s]\n", (int)got[i].len, text + got[i].off);
	pretok_free(&p);
}

static void test_pretok(void)
{
	const char *qwen2[] = {"Hello", " ", " world", "\n\n", " ", " x", " ", "2", "0", "2", "4", " it", "'s", NULL};
	expect_pieces("qwen2", "Hello  world\n\n  x 2024 it's", qwen2);
	const char *llama3[] = {"Hello", " ", " world", "\n\n", " ", " x", " ", "202", "4", " it", "'s", NULL};
	expect_pieces("llama-bpe", "Hello  world\n\n  x 2024 it's", llama3);
	const char *gpt4o[] = {"Hello", "World", " ABCdef", " I'M", NULL};
	expect_pieces("gpt-4o", "HelloWorld ABCdef I'M", gpt4o);
	const char *deepseek3[] = {"日本語", "abc", "123", " x", NULL};
	expect_pieces("deepseek-v3", "日本語abc123 x", deepseek3);
	const char *dflt[] = {"hello", ",", " world", "!!", NULL};
	expect_pieces("default", "hello, world!!", dflt);
	const char *smollm[] = {"abc", "1", "2", "3", " x", NULL};
	expect_pieces("smollm", "abc123 x", smollm);
	const char *gpt2[] = {"abc", "123", " x", "\t", " y", NULL}; /* olmo: GPT-2's regex */
	expect_pieces("olmo", "abc123 x\t y", gpt2);
	EXPECT(pretok_find("no-such") == NULL, "unknown pre-tokenizer");
}

/* ---- vocabularies llama.cpp refuses ---- */

static int load_raw(struct gguf_writer *w, struct tokenizer **tok)
{
	char *mem = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&mem, &size);
	int st = gguf_write_header(w, f, "mem");
	fclose(f);
	gguf_writer_free(w);
	struct gguf_file g;
	if (!st) st = gguf_open_memory(&g, mem, size, "mem");
	if (!st) {
		st = tokenizer_load(tok, &g);
		gguf_close(&g);
	}
	free(mem);
	return st;
}

static void test_errors(void)
{
	struct tokenizer *tok = NULL;
	struct vocab_data v;
	bpe_vocab(&v, "no-such-pre");
	EXPECT(load(&v, &tok) == VKLLM_E_UNSUPPORTED && strstr(vkllm_error(), "no-such-pre"), "unknown pre: %s", vkllm_error());
	vocab_data_free(&v);

	const char *toks[] = {"a", "b", "a"};
	const uint64_t lens[] = {1, 1, 1};
	const char *merges[] = {"a b"};
	const uint64_t mlens[] = {3};
	struct gguf_writer w;
	gguf_writer_init(&w);
	gguf_w_str(&w, "tokenizer.ggml.model", "gpt2");
	gguf_w_arr_str(&w, "tokenizer.ggml.tokens", toks, lens, 3);
	gguf_w_arr_str(&w, "tokenizer.ggml.merges", merges, mlens, 1);
	EXPECT(load_raw(&w, &tok) == VKLLM_E_FORMAT && strstr(vkllm_error(), "same text"), "duplicate: %s", vkllm_error());

	gguf_writer_init(&w);
	gguf_w_str(&w, "tokenizer.ggml.model", "gpt2");
	gguf_w_arr_str(&w, "tokenizer.ggml.tokens", toks, lens, 2);
	EXPECT(load_raw(&w, &tok) == VKLLM_E_FORMAT && strstr(vkllm_error(), "merges"), "no merges: %s", vkllm_error());

	gguf_writer_init(&w);
	gguf_w_str(&w, "tokenizer.ggml.model", "bert");
	gguf_w_arr_str(&w, "tokenizer.ggml.tokens", toks, lens, 2);
	EXPECT(load_raw(&w, &tok) == VKLLM_E_UNSUPPORTED && strstr(vkllm_error(), "bert"), "bert: %s", vkllm_error());

	gguf_writer_init(&w);
	gguf_w_str(&w, "tokenizer.ggml.model", "llama");
	EXPECT(load_raw(&w, &tok) == VKLLM_E_FORMAT && strstr(vkllm_error(), "tokenizer.ggml.tokens"), "no tokens: %s", vkllm_error());

	gguf_writer_init(&w);
	gguf_w_str(&w, "tokenizer.ggml.model", "llama");
	gguf_w_arr_str(&w, "tokenizer.ggml.tokens", toks, lens, 2);
	const float scores[] = {0};
	gguf_w_arr_f32(&w, "tokenizer.ggml.scores", scores, 1);
	EXPECT(load_raw(&w, &tok) == VKLLM_E_FORMAT && strstr(vkllm_error(), "scores"), "short scores: %s", vkllm_error());

	/* SentencePiece with no way to spell a byte */
	gguf_writer_init(&w);
	gguf_w_str(&w, "tokenizer.ggml.model", "llama");
	gguf_w_arr_str(&w, "tokenizer.ggml.tokens", toks, lens, 2);
	int st = load_raw(&w, &tok);
	EXPECT(st == VKLLM_OK, "%s", vkllm_error());
	if (!st) {
		struct tok_ids ids = {0};
		EXPECT(tokenizer_encode(tok, "z", 1, false, false, &ids) == VKLLM_E_UNSUPPORTED && strstr(vkllm_error(), "0xE2"),
		       "unspellable byte: %s", vkllm_error());
		tok_ids_free(&ids);
		tokenizer_free(tok);
	}
}

int main(void)
{
	test_pretok();
	test_bpe();
	test_llama_bpe();
	test_spm();
	test_stream();
	test_errors();
	return test_finish();
}
