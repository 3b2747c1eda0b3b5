/* What `vkllm chat` and `vkllm run --chat` share: the chat flags (--system, --chat-template,
 * --show-reasoning, --reasoning-effort), the choice of the format (the model's template or
 * --chat-template), the messages that open a conversation (--system; gpt-oss's system block with
 * --reasoning-effort), and the display of an answer as it streams: gpt-oss's harmony channels
 * split (host/run/harmony.h) into the answer and the reasoning, the reasoning shown only with
 * --show-reasoning; Qwen3's <think>…</think> dim on a terminal. docs/chat.md has the details. */
#ifndef VKLLM_CLI_CHAT_TURN_H
#define VKLLM_CLI_CHAT_TURN_H

#include <stdbool.h>
#include <stdio.h>

#include "engine.h"
#include "run/chat_template.h"
#include "run/harmony.h"

struct chat_turn_options {
	const char *system;     /* --system TEXT, or NULL */
	const char *format;     /* --chat-template NAME (checked), or NULL: the model's */
	const char *effort;     /* --reasoning-effort (gpt-oss), or NULL: llama.cpp's built-in form, no system block */
	bool show_reasoning;    /* --show-reasoning: the gpt-oss analysis channel is shown */
};

/* The options' lines of a verb's help, the descriptions from column `width`. */
void chat_turn_help(FILE *f, int width);

/* One of the chat flags? a is the flag, v the next argument or NULL. Returns 0 when a is none of
 * them, 1 when it took v, 3 when it took no value (--show-reasoning), or 2 (the usage exit code,
 * after a one-line message) for a bad or missing value. */
int chat_turn_parse_flag(const char *verb, const char *a, const char *v, struct chat_turn_options *o);
/* The first chat flag given, or NULL (for `run`, which takes them only with --chat). */
const char *chat_turn_any_flag(const struct chat_turn_options *o);

/* A growing list of messages; each content is a copy owned by the list. */
struct chat_msgs {
	struct chat_msg *m;
	size_t n, cap;
};
int chat_msgs_push(struct chat_msgs *l, const char *role, const char *content, size_t len);
void chat_msgs_pop(struct chat_msgs *l);
void chat_msgs_free(struct chat_msgs *l);

/* The format: --chat-template, else the model's template by llama.cpp's rules, else (no template)
 * ChatML, llama.cpp's fallback. *how says which, for the startup line. */
int chat_turn_format(const struct engine *e, const struct chat_turn_options *o, enum chat_format *out, const char **how);

/* The messages that open the conversation, appended to l: --system; with gpt-oss and
 * --reasoning-effort, the system block of gpt-oss's template (dated today, as its strftime_now)
 * and --system as its developer message. --reasoning-effort with another format is VKLLM_E_ARG. */
int chat_turn_open(enum chat_format f, const struct chat_turn_options *o, struct chat_msgs *l);

/* The notice about gpt-oss's channels and effort (for the startup line), into buf. */
const char *chat_turn_harmony_notice(const struct chat_turn_options *o, char *buf, size_t n);

/* What the user sees of an answer, fed the text of each token as it streams. Without channels the
 * text goes to `out` as it comes and all of it is the answer; with gpt-oss's harmony channels, the
 * final channel (and a commentary preamble) is the answer, the analysis channel the reasoning,
 * written to `out` only with show_reasoning, between llama-cli's "[Start thinking]" and
 * "[End thinking]" lines, dim when colour. */
struct chat_display {
	FILE *out;                  /* where the answer streams, or NULL (--json) */
	bool colour;                /* out is a terminal: reasoning dim */
	bool harmony;               /* the format is gpt-oss */
	bool show_reasoning;
	struct tok_text *answer;    /* appended: what the conversation keeps (the text, or the final channel) */
	struct tok_text *reasoning; /* appended: the analysis channel, or NULL (not wanted) */
	/* private */
	struct harmony hp;
	bool reasoning_open;        /* "[Start thinking]" written, "[End thinking]" not yet */
	bool thinking;              /* inside Qwen3's <think>…</think> (dim) */
	char last;                  /* the last byte of reasoning written */
};
void chat_display_init(struct chat_display *d);
/* text[0..n): the new text of one token (whole UTF-8 characters, as a detok_stream writes it);
 * piece[0..piece_n): that token spelled with control tokens, for Qwen3's <think> markers. */
int chat_display_push(struct chat_display *d, const char *text, size_t n, const char *piece, size_t piece_n);
/* The end of the answer: the last text (a detok_stream's finish), what the parser held decided,
 * the colour reset. Writes no newline. */
int chat_display_finish(struct chat_display *d, const char *text, size_t n);
void chat_display_free(struct chat_display *d);

#endif
