/* Chat templates: a conversation (role, content messages) turned into the prompt text a model was
 * trained on, as llama.cpp's built-in formatter llm_chat_apply_template (src/llama-chat.cpp, the
 * formatter of llama_chat_apply_template and of llama-cli --no-jinja) writes it. vkllm does not run
 * the Jinja program stored in a GGUF: it recognizes the template by llama.cpp's rules
 * (llm_chat_detect_template, chat_template_detect.c) and formats with its own code.
 *
 * One addition to llama.cpp's built-ins: "qwen3", ChatML that drops the <think>…</think> reasoning
 * of earlier assistant turns, as Qwen3's own template does (and llama.cpp, which by default runs
 * that template and keeps the reasoning apart). docs/chat.md lists the formats and the differences.
 *
 * The text carries no BOS: the tokenizer adds it where the model's metadata asks (llama.cpp too). */
#ifndef VKLLM_CHAT_TEMPLATE_H
#define VKLLM_CHAT_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "run/tokenizer.h"

enum chat_format {
	CHAT_CHATML,            /* Qwen2.5, SmolLM3 and every <|im_start|> template */
	CHAT_QWEN3,             /* ChatML, earlier turns' reasoning removed */
	CHAT_LLAMA3,
	CHAT_DEEPSEEK3,
	CHAT_GEMMA,             /* Gemma 2 and 3: system text merged into the next user turn */
	CHAT_GPT_OSS,           /* harmony, llama.cpp's simplified form */
	CHAT_GLMEDGE,           /* what llama.cpp makes of OLMo 2's <|user|>/<|assistant|> template */
	CHAT_MISTRAL_V7,        /* Mistral Small 3.1 and Large 2411: [SYSTEM_PROMPT] / [INST] */
	CHAT_MISTRAL_V7_TEKKEN, /* the same without the spaces (by name only, as in llama.cpp) */
	CHAT_KIMI_K2,           /* Kimi K2: <|im_ROLE|>ROLE<|im_middle|>…<|im_end|> */
	CHAT_LLAMA4,            /* Llama 4: <|header_start|>ROLE<|header_end|>\n\n…<|eot|>, trimmed */
	CHAT_CHATGLM4,          /* GLM-4 and GLM-4.5: [gMASK]<sop><|ROLE|>\n… */
	CHAT_GROK2,             /* Grok 2: System: / Human: / Assistant: … <|separator|>\n\n */
	CHAT_FORMAT_COUNT
};

struct chat_msg {
	const char *role;       /* "system", "user" or "assistant" */
	const char *content;
};

/* vkllm's name of a format ("chatml", "llama3", …: llama.cpp's names, plus "qwen3"). */
const char *chat_format_name(enum chat_format f);
/* Every name, comma-separated, for help texts and error messages. */
const char *chat_format_names(void);
/* A format by name; VKLLM_E_ARG listing the names when there is none. */
int chat_format_from_name(const char *name, enum chat_format *out);

/* The format of a GGUF's tokenizer.chat_template (Jinja source), by llama.cpp's rules. A template
 * llama.cpp recognizes but vkllm does not format is VKLLM_E_UNSUPPORTED naming it; one llama.cpp
 * does not recognize either is VKLLM_E_UNSUPPORTED too. Both messages say to use --chat-template. */
int chat_format_detect(const char *tmpl, size_t len, enum chat_format *out);
/* llama.cpp's name for a template (what llm_chat_detect_template returns), or NULL when llama.cpp
 * recognizes none. Exposed for tests. */
const char *chat_template_llama_name(const char *tmpl, size_t len);

/* Appends the prompt text of msgs[0..n) to out; add_generation_prompt appends the opening of the
 * assistant's turn (llama.cpp's add_ass). */
int chat_format_apply(enum chat_format f, const struct chat_msg *msgs, size_t n, bool add_generation_prompt,
                      struct tok_text *out);

/* gpt-oss's reasoning effort. llama.cpp's built-in gpt-oss form has no system block of its own; gpt-oss's
 * Jinja template (models/templates/openai-gpt-oss-120b.jinja, what llama.cpp runs with --jinja) opens
 * every prompt with one that carries "Reasoning: low|medium|high". These write the contents of that
 * block and of the developer message the template makes of a system message; as the first two
 * messages ("system", then "developer") of a conversation in the gpt-oss format, the built-in form
 * renders them byte for byte as the Jinja template does. `vkllm chat --reasoning-effort` uses them. */
/* Whether effort is one the template names: low, medium (its default) or high. */
bool chat_gpt_oss_effort_valid(const char *effort);
/* The system block: the template's default model identity, knowledge cutoff, "Current date: DATE"
 * (YYYY-MM-DD, the template's strftime_now), "Reasoning: EFFORT", the valid channels. */
int chat_gpt_oss_system(const char *effort, const char *date, struct tok_text *out);
/* The developer message of a system text: "# Instructions\n\n" TEXT "\n\n" (the template writes none
 * for an empty text). */
int chat_gpt_oss_developer(const char *instructions, struct tok_text *out);

#endif
