/* The formats: llama.cpp's llm_chat_apply_template (src/llama-chat.cpp) for each one vkllm writes,
 * string for string, including its quirks (Llama 3 and Gemma trim every message; DeepSeek V3 puts
 * a system message before the first turn with "\n\n"; Kimi K2 names the role after its token;
 * gpt-oss ends an assistant turn with <|return|>; Mistral v7 has no generation prompt: "[/INST]"
 * already opens the answer; Llama 4 trims like Llama 3; GLM-4's prompt ends "<|assistant|>\n"). */
#include <ctype.h>
#include <string.h>

#include "base/status.h"
#include "run/chat_template.h"

static const char *const names[CHAT_FORMAT_COUNT] = {
	[CHAT_CHATML] = "chatml",
	[CHAT_QWEN3] = "qwen3",
	[CHAT_LLAMA3] = "llama3",
	[CHAT_DEEPSEEK3] = "deepseek3",
	[CHAT_GEMMA] = "gemma",
	[CHAT_GPT_OSS] = "gpt-oss",
	[CHAT_GLMEDGE] = "glmedge",
	[CHAT_MISTRAL_V7] = "mistral-v7",
	[CHAT_MISTRAL_V7_TEKKEN] = "mistral-v7-tekken",
	[CHAT_KIMI_K2] = "kimi-k2",
	[CHAT_LLAMA4] = "llama4",
	[CHAT_CHATGLM4] = "chatglm4",
	[CHAT_GROK2] = "grok-2",
};

const char *chat_format_name(enum chat_format f)
{
	return f < CHAT_FORMAT_COUNT ? names[f] : "?";
}

const char *chat_format_names(void)
{
	return "chatml, qwen3, llama3, llama4, deepseek3, kimi-k2, gemma, gpt-oss, glmedge, chatglm4, grok-2, mistral-v7, "
	       "mistral-v7-tekken";
}

int chat_format_from_name(const char *name, enum chat_format *out)
{
	for (int f = 0; f < CHAT_FORMAT_COUNT; f++)
		if (strcmp(names[f], name) == 0) {
			*out = (enum chat_format)f;
			return VKLLM_OK;
		}
	return fail(VKLLM_E_ARG, "no chat format '%s'; the formats are %s", name, chat_format_names());
}

struct out {
	struct tok_text *t;
	int st;
};

static void put_n(struct out *o, const char *s, size_t n)
{
	if (!o->st) o->st = tok_text_append(o->t, s, n);
}

static void put(struct out *o, const char *s)
{
	put_n(o, s, strlen(s));
}

/* llama.cpp's trim(): isspace bytes off both ends (ASCII only, so UTF-8 text is never cut). */
static void put_trimmed(struct out *o, const char *s)
{
	size_t b = 0, e = strlen(s);
	while (b < e && isspace((unsigned char)s[b])) b++;
	while (e > b && isspace((unsigned char)s[e - 1])) e--;
	put_n(o, s + b, e - b);
}

/* Qwen3's template on an assistant message: before the last user message, only the text after
 * the last </think> (without the newlines that lead it); after it, the reasoning is kept as
 * "<think>\n" + reasoning + "\n</think>\n\n" + text, and the last message always gets that block,
 * empty when it has no reasoning. An answer cut inside its reasoning (no </think>) counts as all
 * reasoning, as llama.cpp's parser files it under reasoning_content. */
static void put_qwen3_answer(struct out *o, const char *s, bool keep_reasoning, bool last)
{
	const char *first_end = strstr(s, "</think>"), *last_end = first_end;
	for (const char *p = first_end; p; p = strstr(p + 1, "</think>")) last_end = p;
	const char *text = s, *r = s, *r_end = s; /* the reasoning is r..r_end */
	if (first_end) {
		/* content.split('</think>')[-1].lstrip('\n'); the reasoning is split('</think>')[0]
		 * .split('<think>')[-1], newlines stripped at both ends */
		text = last_end + strlen("</think>");
		while (*text == '\n') text++;
		r_end = first_end;
		for (const char *p = strstr(s, "<think>"); p && p < first_end; p = strstr(p + 1, "<think>")) r = p + strlen("<think>");
	} else if (strncmp(s, "<think>", 7) == 0) {
		r = s + 7, r_end = s + strlen(s), text = r_end;
	}
	while (r < r_end && *r == '\n') r++;
	while (r_end > r && r_end[-1] == '\n') r_end--;
	if (keep_reasoning && (last || r_end > r)) {
		while (*text == '\n') text++;
		put(o, "<think>\n"), put_n(o, r, (size_t)(r_end - r)), put(o, "\n</think>\n\n");
	}
	put(o, text);
}

static void chatml(struct out *o, const struct chat_msg *m, size_t n, bool add_ass, bool qwen3)
{
	/* Qwen3's ns.last_query_index: the last user message, else the last message */
	size_t last_user = n ? n - 1 : 0;
	for (size_t i = n; i-- > 0;)
		if (strcmp(m[i].role, "user") == 0) {
			last_user = i;
			break;
		}
	for (size_t i = 0; i < n; i++) {
		put(o, "<|im_start|>"), put(o, m[i].role), put(o, "\n");
		if (qwen3 && strcmp(m[i].role, "assistant") == 0) put_qwen3_answer(o, m[i].content, i > last_user, i + 1 == n);
		else put(o, m[i].content);
		put(o, "<|im_end|>\n");
	}
	if (add_ass) put(o, "<|im_start|>assistant\n");
}

static void llama3(struct out *o, const struct chat_msg *m, size_t n, bool add_ass)
{
	for (size_t i = 0; i < n; i++) {
		put(o, "<|start_header_id|>"), put(o, m[i].role), put(o, "<|end_header_id|>\n\n");
		put_trimmed(o, m[i].content), put(o, "<|eot_id|>");
	}
	if (add_ass) put(o, "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

/* Llama 3's turns with Llama 4's tokens */
static void llama4(struct out *o, const struct chat_msg *m, size_t n, bool add_ass)
{
	for (size_t i = 0; i < n; i++) {
		put(o, "<|header_start|>"), put(o, m[i].role), put(o, "<|header_end|>\n\n");
		put_trimmed(o, m[i].content), put(o, "<|eot|>");
	}
	if (add_ass) put(o, "<|header_start|>assistant<|header_end|>\n\n");
}

#define FW_BAR "\xef\xbd\x9c"    /* ｜ U+FF5C */
#define SPM_SPACE "\xe2\x96\x81" /* ▁ U+2581 */

static void deepseek3(struct out *o, const struct chat_msg *m, size_t n, bool add_ass)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(m[i].role, "system") == 0) put(o, m[i].content), put(o, "\n\n");
		else if (strcmp(m[i].role, "user") == 0) put(o, "<" FW_BAR "User" FW_BAR ">"), put(o, m[i].content);
		else if (strcmp(m[i].role, "assistant") == 0)
			put(o, "<" FW_BAR "Assistant" FW_BAR ">"), put(o, m[i].content),
				put(o, "<" FW_BAR "end" SPM_SPACE "of" SPM_SPACE "sentence" FW_BAR ">");
	}
	if (add_ass) put(o, "<" FW_BAR "Assistant" FW_BAR ">");
}

/* Kimi K2 (llama.cpp's comment: moonshotai/Kimi-K2-Instruct): each message opens with its role's
 * token and name, a tool result is a system-token turn named "tool", and a role llama.cpp does
 * not know gets no opening at all. No trimming, and no default system message (the Jinja
 * template adds "You are Kimi, …" when there is none; llama.cpp's built-in form does not). */
static void kimi_k2(struct out *o, const struct chat_msg *m, size_t n, bool add_ass)
{
	for (size_t i = 0; i < n; i++) {
		const char *r = m[i].role;
		if (strcmp(r, "system") == 0) put(o, "<|im_system|>system<|im_middle|>");
		else if (strcmp(r, "user") == 0) put(o, "<|im_user|>user<|im_middle|>");
		else if (strcmp(r, "assistant") == 0) put(o, "<|im_assistant|>assistant<|im_middle|>");
		else if (strcmp(r, "tool") == 0) put(o, "<|im_system|>tool<|im_middle|>");
		put(o, m[i].content), put(o, "<|im_end|>");
	}
	if (add_ass) put(o, "<|im_assistant|>assistant<|im_middle|>");
}

/* Gemma has no system role: system texts (trimmed, concatenated) open the next non-model turn. */
static int gemma(struct out *o, const struct chat_msg *m, size_t n, bool add_ass)
{
	struct tok_text sys = {0};
	struct out so = {&sys, VKLLM_OK};
	for (size_t i = 0; i < n && !o->st; i++) {
		if (strcmp(m[i].role, "system") == 0) {
			put_trimmed(&so, m[i].content);
			continue;
		}
		const char *role = strcmp(m[i].role, "assistant") == 0 ? "model" : m[i].role;
		put(o, "<start_of_turn>"), put(o, role), put(o, "\n");
		if (sys.n && strcmp(role, "model") != 0) {
			put_n(o, sys.p, sys.n), put(o, "\n\n");
			sys.n = 0;
		}
		put_trimmed(o, m[i].content), put(o, "<end_of_turn>\n");
	}
	if (add_ass) put(o, "<start_of_turn>model\n");
	tok_text_free(&sys);
	return so.st;
}

/* llama.cpp's "OpenAI MoE (based on Harmony chat template)": every role alike, no channel header (an
 * answer is "<|start|>assistant<|message|>C<|return|>", where gpt-oss's Jinja template writes
 * "<|start|>assistant<|channel|>final<|message|>C<|end|>"), no system block. The content of an answer
 * is its final channel only (`vkllm chat` keeps no reasoning, as every llama.cpp template drops it). */
static void gpt_oss(struct out *o, const struct chat_msg *m, size_t n, bool add_ass)
{
	for (size_t i = 0; i < n; i++) {
		put(o, "<|start|>"), put(o, m[i].role), put(o, "<|message|>"), put(o, m[i].content);
		put(o, strcmp(m[i].role, "assistant") == 0 ? "<|return|>" : "<|end|>");
	}
	if (add_ass) put(o, "<|start|>assistant");
}

bool chat_gpt_oss_effort_valid(const char *effort)
{
	return !strcmp(effort, "low") || !strcmp(effort, "medium") || !strcmp(effort, "high");
}

/* openai-gpt-oss-120b.jinja's build_system_message() without tools */
int chat_gpt_oss_system(const char *effort, const char *date, struct tok_text *out)
{
	struct out o = {out, VKLLM_OK};
	put(&o, "You are ChatGPT, a large language model trained by OpenAI.\nKnowledge cutoff: 2024-06\nCurrent date: ");
	put(&o, date), put(&o, "\n\nReasoning: "), put(&o, effort);
	put(&o, "\n\n# Valid channels: analysis, commentary, final. Channel must be included for every message.");
	return o.st;
}

int chat_gpt_oss_developer(const char *instructions, struct tok_text *out)
{
	struct out o = {out, VKLLM_OK};
	put(&o, "# Instructions\n\n"), put(&o, instructions), put(&o, "\n\n");
	return o.st;
}

static void glmedge(struct out *o, const struct chat_msg *m, size_t n, bool add_ass)
{
	for (size_t i = 0; i < n; i++) put(o, "<|"), put(o, m[i].role), put(o, "|>\n"), put(o, m[i].content);
	if (add_ass) put(o, "<|assistant|>");
}

/* GLM-Edge's turns after [gMASK]<sop>, and a newline after the generation prompt */
static void chatglm4(struct out *o, const struct chat_msg *m, size_t n, bool add_ass)
{
	put(o, "[gMASK]<sop>");
	for (size_t i = 0; i < n; i++) put(o, "<|"), put(o, m[i].role), put(o, "|>\n"), put(o, m[i].content);
	if (add_ass) put(o, "<|assistant|>\n");
}

/* Grok 2: system and user messages trimmed, the assistant's as they are; other roles are left out */
static void grok2(struct out *o, const struct chat_msg *m, size_t n, bool add_ass)
{
	for (size_t i = 0; i < n; i++) {
		bool sys = strcmp(m[i].role, "system") == 0, user = strcmp(m[i].role, "user") == 0;
		if (sys || user) put(o, sys ? "System: " : "Human: "), put_trimmed(o, m[i].content);
		else if (strcmp(m[i].role, "assistant") == 0) put(o, "Assistant: "), put(o, m[i].content);
		else continue;
		put(o, "<|separator|>\n\n");
	}
	if (add_ass) put(o, "Assistant:");
}

static void mistral_v7(struct out *o, const struct chat_msg *m, size_t n, const char *space)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(m[i].role, "system") == 0)
			put(o, "[SYSTEM_PROMPT]"), put(o, space), put(o, m[i].content), put(o, "[/SYSTEM_PROMPT]");
		else if (strcmp(m[i].role, "user") == 0)
			put(o, "[INST]"), put(o, space), put(o, m[i].content), put(o, "[/INST]");
		else put(o, space), put(o, m[i].content), put(o, "</s>");
	}
}

int chat_format_apply(enum chat_format f, const struct chat_msg *msgs, size_t n, bool add_generation_prompt,
                      struct tok_text *out)
{
	struct out o = {out, VKLLM_OK};
	switch (f) {
	case CHAT_CHATML: chatml(&o, msgs, n, add_generation_prompt, false); break;
	case CHAT_QWEN3: chatml(&o, msgs, n, add_generation_prompt, true); break;
	case CHAT_LLAMA3: llama3(&o, msgs, n, add_generation_prompt); break;
	case CHAT_DEEPSEEK3: deepseek3(&o, msgs, n, add_generation_prompt); break;
	case CHAT_GEMMA: {
		int st = gemma(&o, msgs, n, add_generation_prompt);
		if (!o.st) o.st = st;
		break;
	}
	case CHAT_GPT_OSS: gpt_oss(&o, msgs, n, add_generation_prompt); break;
	case CHAT_GLMEDGE: glmedge(&o, msgs, n, add_generation_prompt); break;
	case CHAT_MISTRAL_V7: mistral_v7(&o, msgs, n, " "); break;
	case CHAT_MISTRAL_V7_TEKKEN: mistral_v7(&o, msgs, n, ""); break;
	case CHAT_KIMI_K2: kimi_k2(&o, msgs, n, add_generation_prompt); break;
	case CHAT_LLAMA4: llama4(&o, msgs, n, add_generation_prompt); break;
	case CHAT_CHATGLM4: chatglm4(&o, msgs, n, add_generation_prompt); break;
	case CHAT_GROK2: grok2(&o, msgs, n, add_generation_prompt); break;
	default: return fail(VKLLM_E_ARG, "chat format %d does not exist", (int)f);
	}
	return o.st;
}
