/* gpt-oss's answer split into its harmony channels, as it streams.
 *
 * After the generation prompt "<|start|>assistant" the model writes one or more messages, each a
 * header and a body:
 *
 *   <|channel|>analysis<|message|>REASONING<|end|><|start|>assistant<|channel|>final<|message|>ANSWER<|return|>
 *
 * The parser files each body as llama.cpp's gpt-oss parser does (common/parsers/gpt-oss.cpp, with
 * its default reasoning format): the analysis channel is reasoning; the final channel and a
 * commentary preamble are the answer; a message addressed to a recipient (" to=functions.NAME", a
 * tool call: vkllm runs no tools) is dropped; a stray "<|channel|>commentary" before the real
 * channel is skipped. Where llama.cpp's grammar would reject the text vkllm stays useful: an answer
 * that opens without a channel (plain text, or "<|message|>" straight away, as the built-in
 * template renders earlier answers) is all answer; text after "<|end|>" with no new header is
 * answer; a "<|channel|>" inside a body opens a new header. Markers are recognized in the text
 * (the tokens spelled out), so one split across pushes waits for the rest; a stream that stops
 * mid-header drops the header, one that stops mid-body keeps what was written. */
#ifndef VKLLM_HARMONY_H
#define VKLLM_HARMONY_H

#include <stdbool.h>
#include <stddef.h>

#include "run/tokenizer.h"

enum harmony_part {
	HARMONY_ANSWER,    /* final channel, commentary preamble, text without channels */
	HARMONY_REASONING, /* analysis channel */
};

/* Receives the text of each part as it is decided, in order; a nonzero return stops the parser
 * and is returned by harmony_push / harmony_finish. */
typedef int (*harmony_sink)(void *user, enum harmony_part part, const char *s, size_t n);

struct harmony {
	int state;
	int kind;              /* the body being read: a harmony_part, or -1 (dropped) */
	bool first;            /* the header right after the generation prompt */
	bool committed;        /* that header has a marker or a recipient: it is not plain text */
	struct tok_text head;  /* the header being read */
	struct tok_text hold;  /* unread bytes: the start of what may be a marker */
};

void harmony_init(struct harmony *h);
void harmony_free(struct harmony *h);
int harmony_push(struct harmony *h, const char *s, size_t n, harmony_sink sink, void *user);
/* The end of the answer (end of generation, -n, Ctrl-C, a full context): what is held back is
 * decided. The parser can then be initialized again. */
int harmony_finish(struct harmony *h, harmony_sink sink, void *user);

/* A whole answer at once: its answer and reasoning appended to either (NULL: not wanted). */
int harmony_split(const char *s, size_t n, struct tok_text *answer, struct tok_text *reasoning);

#endif
