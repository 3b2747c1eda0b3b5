/* The BPE pre-tokenizers: for each tokenizer.ggml.pre, the regexes llama.cpp uses (copied verbatim
 * from llm_tokenizer_bpe in src/llama-vocab.cpp) and the flags llama.cpp sets for it, run with
 * PCRE2 in UTF + UCP mode, which takes \p{L}, \p{N}, \s ... from the Unicode tables PCRE2 ships.
 *
 * llama.cpp runs these regexes three ways: hand-written matchers for the gpt2/llama3/qwen2 patterns,
 * std::regex on a "collapsed" text (every non-ASCII code point replaced by one byte naming its
 * category) for patterns with \p{..}, and std::wregex for the rest. All three are ECMAScript
 * leftmost-alternative backtracking over Unicode general categories, which is what PCRE2 does on the
 * original pattern; docs/tokenizer.md lists where they can still differ (code points unassigned in
 * one Unicode version and not the other).
 *
 * Splitting is llama.cpp's unicode_regex_split: each regex, in order, cuts every current piece into
 * [gap][match][gap][match]...[gap], keeping non-empty ones; matches never cross piece boundaries and
 * lookaheads see only the piece. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "run/tok_internal.h"

/* ---- the regexes (C literals exactly as in llama.cpp) ----
 * Non-ASCII characters are written as \u escapes: the compiler turns them into the same UTF-8 bytes
 * llama.cpp's source has, and no editor can silently normalize them (Ά U+1FBB is not U+0386). */

#define RE_GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"
#define RE_LLAMA3                                                                                                  \
	"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "       \
	"?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_QWEN2                                                                                                   \
	"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "             \
	"?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_QWEN35                                                                                                  \
	"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| "    \
	"?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_GPT4O                                                                                                   \
	"[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|" \
	"'[lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][" \
	"eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|"  \
	"\\s+"
#define RE_TEKKEN                                                                                                  \
	"[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-" \
	"z]))+((?=[\\p{L}])([^A-Z]))*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_DEEPSEEK3_MAIN                                                                                          \
	"[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| "            \
	"?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"

static const char *const re_gpt2[] = {RE_GPT2, NULL};
static const char *const re_llama3[] = {RE_LLAMA3, NULL};
static const char *const re_qwen2[] = {RE_QWEN2, NULL};
static const char *const re_qwen35[] = {RE_QWEN35, NULL};
static const char *const re_gpt4o[] = {RE_GPT4O, NULL};
static const char *const re_tekken[] = {RE_TEKKEN, NULL};
static const char *const re_smollm[] = {"\\p{N}", RE_GPT2, NULL};
static const char *const re_default[] = {"[\\p{P}\\$\\+<=>\\^~\\|]+", RE_GPT2, "\\p{N}+", "[0-9][0-9][0-9]", NULL};
static const char *const re_falcon[] = {"[\\p{P}\\$\\+<=>\\^~\\|`]+", RE_GPT2, "[0-9][0-9][0-9]", NULL};
static const char *const re_deepseek3[] = {"\\p{N}{1,3}", "[\u4E00-\u9FA5\u3040-\u309F\u30A0-\u30FF]+", RE_DEEPSEEK3_MAIN, NULL};
static const char *const re_deepseek_coder[] = {"[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+", "\\p{N}", NULL};
static const char *const re_deepseek_llm[] = {
	"[\r\n]",
	"\\s?[A-Za-z\u00B5\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u01BA\u01BC-\u01BF\u01C4-\u0293\u0295-\u02AF\u0370-\u0373\u0376\u0377\u037B-\u037D\u037F\u0386\u0388-\u038A\u038C\u038E-\u03A1\u03A3-\u03F5\u03F7-\u0481\u048A-\u052F\u0531-\u0556\u10A0-\u10C5\u13A0-\u13F5\u13F8-\u13FD\u1C90-\u1CBA\u1CBD-\u1CBF\u1D00-\u1D2B\u1D6B-\u1D77\u1D79-\u1D9A\u1E00-\u1F15\u1F18-\u1F1D\u1F20-\u1F45\u1F48-\u1F4D\u1F50-\u1F57\u1F59\u1F5B\u1F5D\u1F5F-\u1F7D\u1F80-\u1FB4\u1FB6-\u1FBC\u1FBE\u1FC2-\u1FC4\u1FC6-\u1FCC\u1FD0-\u1FD3\u1FD6-\u1FDB\u1FE0-\u1FEC\u1FF2-\u1FF4\u1FF6-\u1FFC\u2102\u2107\u210A-\u2113\u2115\u2119-\u211D\u2124\u2126\u2128\u212A-\u212D\u212F-\u2134\u2139\u213C-\u213F\u2145-\u2149\u214E\u2183\u2184\u2C00-\u2C7B\u2C7E-\u2CE4\u2CEB-\u2CEE\u2CF2\u2CF3\uA640-\uA66D\uA680-\uA69B\uA722-\uA76F\uA771-\uA787\uA78B-\uA78E\uAB70-\uABBF\uFB00-\uFB06\uFB13-\uFB17\uFF21-\uFF3A\uFF41-\uFF5A\U00010400-\U0001044F\U000104B0-\U000104D3\U000104D8-\U000104FB\U00010C80-\U00010CB2\U00010CC0-\U00010CF2\U000118A0-\U000118DF\U0001E900-\U0001E943]+",
	"\\s?[!-/:-~\uFF01-\uFF0F\uFF1A-\uFF5E\u2018-\u201F\u3000-\u3002]+",
	"\\s+$",
	"[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+",
	"\\p{N}+",
	NULL,
};

/* tokenizer.ggml.pre -> regexes and flags, as llama.cpp's llama_vocab::impl::load sets them for
 * a "gpt2" model (clean_spaces starts true there; ignore_merges and add_bos start false). */
static const struct pretok_info pre_types[] = {
	{"default", re_default, true, false, false},
	{"llama3|llama-v3|llama-bpe|falcon3|falcon-h1|pixtral|midm-2.0|lfm2|jina-v5-nano", re_llama3, true, true, true},
	{"dbrx|smaug-bpe", re_llama3, true, false, false},
	{"qwen2|deepseek-r1-qwen|kormo|f2llmv2|hunyuan|solar-open|grok-2", re_qwen2, false, false, false},
	{"megrez|stablelm2", re_qwen2, true, false, false},
	{"qwen35", re_qwen35, false, false, false},
	{"deepseek-v3|hunyuan-dense|joyai-llm|hy_v4", re_deepseek3, false, false, false},
	{"deepseek-llm", re_deepseek_llm, false, false, false},
	{"deepseek-coder", re_deepseek_coder, false, false, false},
	{"gpt-4o|llama4|kanana2|talkie|minimax-m2", re_gpt4o, false, false, false},
	{"tekken", re_tekken, false, true, true},
	{"smollm|command-r", re_smollm, false, false, false},
	{"starcoder|refact|codeshell|exaone|minerva-7b|mellum2", re_smollm, true, false, false},
	{"gpt-2|phi-2|mpt|olmo|jais|exaone4", re_gpt2, true, false, false},
	{"falcon", re_falcon, true, false, false},
};

const struct pretok_info *pretok_find(const char *pre)
{
	size_t n = strlen(pre);
	for (size_t i = 0; i < sizeof pre_types / sizeof pre_types[0]; i++)
		for (const char *s = pre_types[i].names; *s;) {
			const char *bar = strchr(s, '|');
			size_t len = bar ? (size_t)(bar - s) : strlen(s);
			if (len == n && memcmp(s, pre, n) == 0) return &pre_types[i];
			s += len + (bar != NULL);
		}
	return NULL;
}

/* ---- compiling and running them ---- */

struct pcre_extra {
	pcre2_match_context *ctx;
	pcre2_jit_stack *stack;
};

int pretok_init(struct tok_pretok *p, const struct pretok_info *info)
{
	memset(p, 0, sizeof *p);
	for (const char *const *re = info->regex; *re; re++) {
		if (p->n == (int)(sizeof p->code / sizeof p->code[0]))
			return fail(VKLLM_E_UNSUPPORTED, "pre-tokenizer '%s': more than %d regexes", info->names, p->n);
		int err;
		PCRE2_SIZE at;
		/* $ at the end only, as in ECMAScript (PCRE2 would also match before a final newline) */
		pcre2_code *code = pcre2_compile((PCRE2_SPTR)*re, PCRE2_ZERO_TERMINATED,
		                                 PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY, &err, &at, NULL);
		if (!code) {
			PCRE2_UCHAR msg[256];
			pcre2_get_error_message(err, msg, sizeof msg);
			return fail(VKLLM_E_UNSUPPORTED, "pre-tokenizer '%s': regex %d does not compile in PCRE2 at offset %zu: %s",
			            info->names, p->n + 1, (size_t)at, (const char *)msg);
		}
		p->jit[p->n] = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
		p->code[p->n++] = code;
	}
	p->match = pcre2_match_data_create(32, NULL);
	struct pcre_extra *x = calloc(1, sizeof *x);
	p->extra = x;
	if (!p->match || !x) return fail(VKLLM_E_NOMEM, "tokenizer: out of host memory for PCRE2");
	/* long runs of one class (a megabyte of spaces) backtrack deeply: room, and no match limit */
	x->ctx = pcre2_match_context_create(NULL);
	x->stack = pcre2_jit_stack_create(64 * 1024, 64 * 1024 * 1024, NULL);
	if (!x->ctx || !x->stack) return fail(VKLLM_E_NOMEM, "tokenizer: out of host memory for PCRE2");
	pcre2_jit_stack_assign(x->ctx, NULL, x->stack);
	pcre2_set_match_limit(x->ctx, UINT32_MAX);
	pcre2_set_depth_limit(x->ctx, UINT32_MAX);
	return VKLLM_OK;
}

void pretok_free(struct tok_pretok *p)
{
	for (int i = 0; i < p->n; i++) pcre2_code_free(p->code[i]);
	pcre2_match_data_free(p->match);
	struct pcre_extra *x = p->extra;
	if (x) {
		pcre2_match_context_free(x->ctx);
		pcre2_jit_stack_free(x->stack);
		free(x);
	}
	free(p->a);
	free(p->b);
	memset(p, 0, sizeof *p);
}

static int push_span(struct tok_span **v, size_t *n, size_t *cap, uint32_t off, uint32_t len)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 1024;
		struct tok_span *s = realloc(*v, c * sizeof *s);
		if (!s) return fail(VKLLM_E_NOMEM, "tokenizer: out of host memory");
		*v = s, *cap = c;
	}
	(*v)[(*n)++] = (struct tok_span){off, len};
	return VKLLM_OK;
}

/* Cuts subject[base, base + len) with regex r into gaps and matches, appended to out. */
static int split_piece(struct tok_pretok *p, int r, const char *subject, uint32_t base, uint32_t len,
                       struct tok_span **out, size_t *n_out, size_t *cap_out)
{
	struct pcre_extra *x = p->extra;
	PCRE2_SPTR s = (PCRE2_SPTR)subject + base;
	uint32_t gap = 0, from = 0;
	while (from < len) {
		int rc = p->jit[r] ? pcre2_jit_match(p->code[r], s, len, from, 0, p->match, x->ctx)
		                   : pcre2_match(p->code[r], s, len, from, PCRE2_NO_UTF_CHECK, p->match, x->ctx);
		if (rc == PCRE2_ERROR_NOMATCH) break;
		if (rc < 0) {
			PCRE2_UCHAR msg[256];
			pcre2_get_error_message(rc, msg, sizeof msg);
			return fail(VKLLM_E_UNSUPPORTED, "pre-tokenizer: regex %d failed at text byte %u: %s", r + 1, base + from,
			            (const char *)msg);
		}
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(p->match);
		uint32_t ms = (uint32_t)ov[0], me = (uint32_t)ov[1];
		if (me == ms) { /* no pattern here matches empty, but never loop: step one character */
			from = ms + 1;
			while (from < len && (s[from] & 0xc0) == 0x80) from++;
			continue;
		}
		if (ms > gap) TRY(push_span(out, n_out, cap_out, base + gap, ms - gap));
		TRY(push_span(out, n_out, cap_out, base + ms, me - ms));
		gap = from = me;
	}
	if (gap < len) TRY(push_span(out, n_out, cap_out, base + gap, len - gap));
	return VKLLM_OK;
}

int pretok_split(struct tok_pretok *p, const char *subject, size_t n, const struct tok_span **out, size_t *n_out)
{
	if (n > UINT32_MAX) return fail(VKLLM_E_ARG, "tokenizer: a text fragment of %zu bytes (at most 4 GiB)", n);
	size_t na = 0, nb = 0;
	if (n) TRY(push_span(&p->a, &na, &p->cap_a, 0, (uint32_t)n));
	for (int r = 0; r < p->n; r++) {
		nb = 0;
		for (size_t i = 0; i < na; i++) TRY(split_piece(p, r, subject, p->a[i].off, p->a[i].len, &p->b, &nb, &p->cap_b));
		struct tok_span *sw = p->a;
		p->a = p->b, p->b = sw;
		size_t c = p->cap_a;
		p->cap_a = p->cap_b, p->cap_b = c;
		na = nb;
	}
	*out = p->a;
	*n_out = na;
	return VKLLM_OK;
}
