/* gpt-oss's harmony channels (host/run/harmony.h): what `vkllm chat` shows and keeps of an answer.
 *
 * The cases marked "llama.cpp" are the gpt-oss parser cases of the bundled llama.cpp's
 * tests/test-chat.cpp (the text after the generation prompt, and its expected content and
 * reasoning with the default reasoning format; the tool-call cases there declare tools, vkllm
 * declares none, so a call is an unsolicited one and its content is empty, as llama.cpp's
 * "unsolicited" cases expect). The others are vkllm's own rules for text llama.cpp's grammar
 * rejects. Every case is parsed whole, byte by byte, and in token-like pieces (markers whole). */
#include "base/status.h"
#include "run/harmony.h"
#include "test.h"

struct collect {
	struct tok_text part[2];
};

static int sink(void *user, enum harmony_part p, const char *s, size_t n)
{
	struct collect *c = user;
	return tok_text_append(&c->part[p], s, n);
}

static const char *str(const struct tok_text *t)
{
	return t->n ? t->p : "";
}

/* pushes `text` in pieces of `step` bytes (0: at each marker boundary) */
static void run(const char *what, const char *text, size_t step, const char *answer, const char *reasoning)
{
	struct harmony h = {0};
	struct collect c = {0};
	harmony_init(&h);
	size_t n = strlen(text), i = 0;
	int st = VKLLM_OK;
	while (i < n && !st) {
		size_t k = step;
		if (!step) { /* up to and including the next marker, or the text before it */
			const char *lt = strstr(text + i + 1, "<|"), *gt = strstr(text + i, "|>");
			k = text[i] == '<' && gt ? (size_t)(gt + 2 - (text + i)) : lt ? (size_t)(lt - (text + i)) : n - i;
		}
		if (k > n - i) k = n - i;
		st = harmony_push(&h, text + i, k, sink, &c);
		i += k;
	}
	if (!st) st = harmony_finish(&h, sink, &c);
	EXPECT(st == VKLLM_OK, "%s: %s", what, vkllm_error());
	EXPECT(!strcmp(str(&c.part[HARMONY_ANSWER]), answer) && !strcmp(str(&c.part[HARMONY_REASONING]), reasoning),
	       "%s (pieces of %zu):\n answer    [%s] want [%s]\n reasoning [%s] want [%s]", what, step, str(&c.part[HARMONY_ANSWER]),
	       answer, str(&c.part[HARMONY_REASONING]), reasoning);
	harmony_free(&h);
	tok_text_free(&c.part[0]);
	tok_text_free(&c.part[1]);
}

static void check(const char *what, const char *text, const char *answer, const char *reasoning)
{
	run(what, text, strlen(text) + 1, answer, reasoning);
	run(what, text, 1, answer, reasoning);
	run(what, text, 3, answer, reasoning);
	run(what, text, 0, answer, reasoning);
	/* harmony_split: the whole answer at once */
	struct tok_text a = {0}, r = {0};
	int st = harmony_split(text, strlen(text), &a, &r);
	EXPECT(st == VKLLM_OK && !strcmp(str(&a), answer) && !strcmp(str(&r), reasoning), "%s: harmony_split [%s] [%s]", what,
	       str(&a), str(&r));
	tok_text_free(&a);
	tok_text_free(&r);
}

#define HELLO "Hello, world!\nWhat's up?"

static void test_llama_cases(void)
{
	check("llama.cpp: final channel", "<|channel|>final<|message|>" HELLO, HELLO, "");
	check("llama.cpp: commentary channel (a preamble is content)", "<|channel|>commentary<|message|>" HELLO, HELLO, "");
	check("llama.cpp: analysis then final",
	      "<|channel|>analysis<|message|>I'm\nthinking<|end|><|start|>assistant<|channel|>final<|message|>" HELLO, HELLO,
	      "I'm\nthinking");
	check("llama.cpp: analysis only (partial)", "<|channel|>analysis<|message|>I'm\nthinking", "", "I'm\nthinking");
	check("llama.cpp: tool call, recipient in the role header", " to=functions.special_function<|channel|>analysis<|message|>{\"arg1\": 1}",
	      "", "");
	check("llama.cpp: tool call, recipient in the channel header",
	      "<|channel|>analysis to=functions.special_function<|message|>{\"arg1\": 1}", "", "");
	check("llama.cpp: tool call with a constraint",
	      " to=functions.special_function<|channel|>analysis <|constrain|>json<|message|>{\"arg1\": 1}", "", "");
	check("llama.cpp: tool call in commentary", "<|channel|>commentary to=functions.special_function<|message|>{\"arg1\": 1}", "",
	      "");
	check("llama.cpp: reasoning then a tool call",
	      "<|channel|>analysis<|message|>I'm\nthinking<|end|><|start|>assistant to=functions.special_function<|channel|>analysis"
	      "<|message|>{\"arg1\": 1}",
	      "", "I'm\nthinking");
	check("llama.cpp: structured output (final with a constraint)",
	      "<|channel|>analysis<|message|>I need to output the invoice details in JSON<|end|><|start|>assistant<|channel|>final "
	      "<|constrain|>json<|message|>{\"amount\": 123.45, \"date\": \"2025-12-03\"}",
	      "{\"amount\": 123.45, \"date\": \"2025-12-03\"}", "I need to output the invoice details in JSON");
	check("llama.cpp: unsolicited builtin call, recipient in role",
	      "<|channel|>analysis<|message|>I will execute python to say hello<|end|><|start|>assistant to=container.exec<|channel|>"
	      "commentary<|message|>python3 -c 'print(\"hello\")'",
	      "", "I will execute python to say hello");
	check("llama.cpp: unsolicited builtin call, recipient in channel",
	      "<|channel|>analysis<|message|>I will execute python to say hello<|end|><|start|>assistant<|channel|>commentary to=python "
	      "<|constrain|>code<|message|>print(\"hello\")",
	      "", "I will execute python to say hello");
	check("llama.cpp: stray commentary before the reasoning",
	      "<|channel|>commentary to=assistant<|channel|>analysis<|message|>I'm\nthinking<|end|><|start|>assistant<|channel|>final"
	      "<|message|>" HELLO,
	      HELLO, "I'm\nthinking");
	check("llama.cpp: stray commentary before the final message",
	      "<|channel|>analysis<|message|>I'm\nthinking<|end|><|start|>assistant<|channel|>commentary to=assistant<|channel|>final"
	      "<|message|>" HELLO,
	      HELLO, "I'm\nthinking");
}

static void test_vkllm_rules(void)
{
	/* a whole answer as the model ends it (<|return|> is end of generation; nothing after it counts) */
	check("ended by <|return|>",
	      "<|channel|>analysis<|message|>Simple.<|end|><|start|>assistant<|channel|>final<|message|>Hi!<|return|>junk", "Hi!",
	      "Simple.");
	check("ended by <|call|>", "<|channel|>analysis<|message|>R<|end|><|start|>assistant<|channel|>final<|message|>A<|call|>x", "A",
	      "R");
	/* no channels: all answer (a tiny model, or --chat-template gpt-oss on another model) */
	check("no channels", HELLO, HELLO, "");
	check("no channels, '<' inside", "a <b> and <|c|> d <|", "a <b> and <|c|> d <|", "");
	check("no channels, a prefix of a recipient", " t", " t", "");
	check("no channels, a space first", " Hello", " Hello", "");
	check("a message without a channel (the built-in form's own answers)", "<|message|>" HELLO "<|return|>", HELLO, "");
	/* stopped mid-way (-n, Ctrl-C, a full context) */
	check("stopped in the analysis header", "<|channel|>analy", "", "");
	check("stopped in the second header", "<|channel|>analysis<|message|>R<|end|><|start|>assistant<|chan", "", "R");
	check("stopped in the final channel", "<|channel|>analysis<|message|>R<|end|><|start|>assistant<|channel|>final<|message|>Hel",
	      "Hel", "R");
	check("stopped on a marker's first bytes", "<|channel|>final<|message|>Hi <|en", "Hi <|en", "");
	/* several analysis messages are one reasoning; preamble and final are one answer */
	check("two analysis messages",
	      "<|channel|>analysis<|message|>A<|end|><|start|>assistant<|channel|>analysis<|message|>B<|end|><|start|>assistant"
	      "<|channel|>final<|message|>C",
	      "C", "AB");
	check("preamble then final",
	      "<|channel|>commentary<|message|>Let me see. <|end|><|start|>assistant<|channel|>final<|message|>Done.", "Let me see. Done.",
	      "");
	/* lenient: a new header without <|end|><|start|>, text after <|end|> outside a message */
	check("a channel inside a body", "<|channel|>analysis<|message|>R<|channel|>final<|message|>A", "A", "R");
	check("text after <|end|>", "<|channel|>analysis<|message|>R<|end|>A", "A", "R");
	/* UTF-8 passes through untouched */
	check("UTF-8", "<|channel|>analysis<|message|>\xc3\xa9t\xc3\xa9<|end|><|start|>assistant<|channel|>final<|message|>\xe6\x97\xa5",
	      "\xe6\x97\xa5", "\xc3\xa9t\xc3\xa9");
}

/* the parser can be reused after harmony_finish (one per answer in `vkllm chat`) */
static void test_reuse(void)
{
	struct harmony h = {0};
	struct collect c = {0};
	harmony_init(&h);
	const char *a = "<|channel|>analysis<|message|>R1<|end|><|start|>assistant<|channel|>fin";
	int st = harmony_push(&h, a, strlen(a), sink, &c);
	if (!st) st = harmony_finish(&h, sink, &c);
	const char *b = "plain";
	if (!st) st = harmony_push(&h, b, strlen(b), sink, &c);
	if (!st) st = harmony_finish(&h, sink, &c);
	EXPECT(st == VKLLM_OK && !strcmp(str(&c.part[HARMONY_ANSWER]), "plain") && !strcmp(str(&c.part[HARMONY_REASONING]), "R1"),
	       "reuse: [%s] [%s]", str(&c.part[HARMONY_ANSWER]), str(&c.part[HARMONY_REASONING]));
	harmony_free(&h);
	tok_text_free(&c.part[0]);
	tok_text_free(&c.part[1]);
}

int main(void)
{
	test_llama_cases();
	test_vkllm_rules();
	test_reuse();
	return test_finish();
}
