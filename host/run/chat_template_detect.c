/* Recognizing a GGUF's chat template: llama.cpp's llm_chat_detect_template (src/llama-chat.cpp),
 * rule for rule and in its order, because the order decides (a Phi-4 template also contains
 * <|im_start|>; an OLMo 2 template matches the GLM-Edge rule before anything else). The rules
 * return llama.cpp's names; chat_format_detect then maps the ones vkllm formats. */
#include <string.h>

#include "base/status.h"
#include "run/chat_template.h"

struct haystack {
	const char *p;
	size_t n;
};

static bool has(const struct haystack *h, const char *needle)
{
	return memmem(h->p, h->n, needle, strlen(needle)) != NULL;
}

/* llama.cpp's built-in names: a template string that is exactly one of them selects it. */
static const char *const llama_names[] = {
	"chatml", "llama2", "llama2-sys", "llama2-sys-bos", "llama2-sys-strip", "mistral-v1", "mistral-v3",
	"mistral-v3-tekken", "mistral-v7", "mistral-v7-tekken", "phi3", "phi4", "falcon3", "zephyr", "monarch",
	"gemma", "orion", "openchat", "vicuna", "vicuna-orca", "deepseek", "deepseek2", "deepseek3",
	"deepseek-ocr", "command-r", "llama3", "chatglm3", "chatglm4", "glmedge", "minicpm", "exaone3",
	"exaone4", "exaone-moe", "rwkv-world", "granite", "granite-4.0", "granite-4.1", "gigachat", "megrez",
	"yandex", "bailing", "bailing-think", "bailing2", "llama4", "smolvlm", "hunyuan-moe", "gpt-oss",
	"hunyuan-dense", "hunyuan-vl", "kimi-k2", "seed_oss", "grok-2", "pangu-embedded", "solar-open",
};

static const char *detect_mistral_or_llama2(const struct haystack *h)
{
	if (has(h, "[SYSTEM_PROMPT]")) return "mistral-v7";
	if (has(h, "' [INST] ' + system_message") || has(h, "[AVAILABLE_TOOLS]")) {
		if (has(h, " [INST]")) return "mistral-v1";
		if (has(h, "\"[INST]\"")) return "mistral-v3-tekken";
		return "mistral-v3";
	}
	if (has(h, "content.strip()")) return "llama2-sys-strip";
	if (has(h, "bos_token + '[INST]")) return "llama2-sys-bos";
	if (has(h, "<<SYS>>")) return "llama2-sys";
	return "llama2";
}

const char *chat_template_llama_name(const char *tmpl, size_t len)
{
	for (size_t i = 0; i < sizeof llama_names / sizeof llama_names[0]; i++)
		if (strlen(llama_names[i]) == len && memcmp(llama_names[i], tmpl, len) == 0) return llama_names[i];
	const struct haystack hs = {tmpl, len}, *h = &hs;
	if (has(h, "<|im_start|>"))
		return has(h, "<|im_sep|>") ? "phi4" : has(h, "<end_of_utterance>") ? "smolvlm" : "chatml";
	if ((len >= 7 && memcmp(tmpl, "mistral", 7) == 0) || has(h, "[INST]")) return detect_mistral_or_llama2(h);
	if (has(h, "<|assistant|>") && has(h, "<|end|>")) return "phi3";
	if (has(h, "[gMASK]<sop>")) return "chatglm4";
	if (has(h, "<|assistant|>") && has(h, "<|user|>")) {
		if (has(h, "<|tool_declare|>")) return "exaone-moe";
		return has(h, "</s>") ? "falcon3" : "glmedge";
	}
	if (has(h, "<|{{ item['role'] }}|>") && has(h, "<|begin_of_image|>")) return "glmedge";
	if (has(h, "<|user|>") && has(h, "<|endoftext|>")) return "zephyr";
	if (has(h, "bos_token + message['role']")) return "monarch";
	if (has(h, "<start_of_turn>")) return "gemma";
	if (has(h, "'\\n\\nAssistant: ' + eos_token")) return "orion";
	if (has(h, "GPT4 Correct ")) return "openchat";
	if (has(h, "USER: ") && has(h, "ASSISTANT: ")) return has(h, "SYSTEM: ") ? "vicuna-orca" : "vicuna";
	if (has(h, "### Instruction:") && has(h, "<|EOT|>")) return "deepseek";
	if (has(h, "<|START_OF_TURN_TOKEN|>") && has(h, "<|USER_TOKEN|>")) return "command-r";
	if (has(h, "<|start_header_id|>") && has(h, "<|end_header_id|>")) return "llama3";
	if (has(h, "[gMASK]sop")) return "chatglm3";
	if (has(h, "<\xe7\x94\xa8\xe6\x88\xb7>")) return "minicpm"; /* <用户> */
	if (has(h, "'Assistant: ' + message['content'] + eos_token")) return "deepseek2";
	/* <｜Assistant｜>, <｜User｜>, <｜end▁of▁sentence｜> (fullwidth bars, U+2581) */
	if (has(h, "<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>") && has(h, "<\xef\xbd\x9c" "User\xef\xbd\x9c>") &&
	    has(h, "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>"))
		return "deepseek3";
	if (has(h, "[|system|]") && has(h, "[|assistant|]") && has(h, "[|endofturn|]"))
		return has(h, "[|tool|]") ? "exaone4" : "exaone3";
	if (has(h, "rwkv-world") || has(h, "{{- 'User: ' + message['content']|trim + '\\n\\n' -}}")) return "rwkv-world";
	if (has(h, "<|start_of_role|>")) {
		if (has(h, "<tool_call>") || has(h, "<tools>")) return has(h, "g4_default_system_message") ? "granite-4.0" : "granite-4.1";
		return "granite";
	}
	if (has(h, "message['role'] + additional_special_tokens[0] + message['content'] + additional_special_tokens[1]"))
		return "gigachat";
	if (has(h, "<|role_start|>")) return "megrez";
	if (has(h, " \xd0\x90\xd1\x81\xd1\x81\xd0\xb8\xd1\x81\xd1\x82\xd0\xb5\xd0\xbd\xd1\x82:")) return "yandex"; /* " Ассистент:" */
	if (has(h, "<role>ASSISTANT</role>") && has(h, "'HUMAN'")) return "bailing";
	if (has(h, "<role>ASSISTANT</role>") && has(h, "\"HUMAN\"") && has(h, "<think>")) return "bailing-think";
	if (has(h, "<role>ASSISTANT</role>") && has(h, "<role>HUMAN</role>") && has(h, "<|role_end|>")) return "bailing2";
	if (has(h, "<|header_start|>") && has(h, "<|header_end|>")) return "llama4";
	if (has(h, "<|endofuserprompt|>")) return "dots1";
	if (has(h, "<|extra_0|>") && has(h, "<|extra_4|>")) return "hunyuan-moe";
	if (has(h, "<|start|>") && has(h, "<|channel|>")) return "gpt-oss";
	/* then Hunyuan, Kimi K2 (which vkllm writes), Seed, Grok, Pangu and Solar */
	if (has(h, "<\xef\xbd\x9chy_Assistant\xef\xbd\x9c>") && has(h, "<\xef\xbd\x9chy_begin\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>"))
		return "hunyuan-vl";
	if (has(h, "<\xef\xbd\x9chy_Assistant\xef\xbd\x9c>") && has(h, "<\xef\xbd\x9chy_place\xe2\x96\x81holder\xe2\x96\x81no\xe2\x96\x81" "3\xef\xbd\x9c>"))
		return "hunyuan-dense";
	if (has(h, "<|im_assistant|>assistant<|im_middle|>")) return "kimi-k2";
	if (has(h, "<seed:bos>")) return "seed_oss";
	if (has(h, "'Assistant: '  + message['content'] + '<|separator|>")) return "grok-2";
	if (has(h, "[unused9]\xe7\xb3\xbb\xe7\xbb\x9f\xef\xbc\x9a[unused10]")) return "pangu-embedded";
	if (has(h, "<|begin|>") && has(h, "<|end|>") && has(h, "<|content|>")) return "solar-open";
	return NULL;
}

/* Qwen3's template (and Qwen3.5's) cuts an earlier assistant message to what follows its last
 * </think> and keeps llama.cpp's separate reasoning_content out; plain ChatML keeps everything. */
static bool strips_reasoning(const char *tmpl, size_t len)
{
	const struct haystack h = {tmpl, len};
	return has(&h, "reasoning_content") && has(&h, ".split('</think>')[-1].lstrip('\\n')");
}

int chat_format_detect(const char *tmpl, size_t len, enum chat_format *out)
{
	const char *name = chat_template_llama_name(tmpl, len);
	if (!name)
		return fail(VKLLM_E_UNSUPPORTED, "the model's chat template is none llama.cpp recognizes; choose a format with "
		                                 "--chat-template NAME (%s)", chat_format_names());
	if (chat_format_from_name(name, out) != VKLLM_OK)
		return fail(VKLLM_E_UNSUPPORTED, "the model's chat template is llama.cpp's '%s', which vkllm does not format yet; "
		                                 "choose one with --chat-template NAME (%s)", name, chat_format_names());
	if (*out == CHAT_CHATML && strips_reasoning(tmpl, len)) *out = CHAT_QWEN3;
	return VKLLM_OK;
}
