/* What `vkllm chat` and `vkllm run --chat` share (chat_turn.h). */
#include "chat_turn.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/status.h"
#include "cli.h"
#include "loader/gguf.h"

void chat_turn_help(FILE *f, int width)
{
	static const char *const lines[][2] = {
		{"--system TEXT", "a system message that opens the conversation"},
		{"--chat-template NAME", "format the conversation as NAME instead of the model's own template:"},
		{"", NULL}, /* the names */
		{"--show-reasoning", "gpt-oss: show the reasoning (the analysis channel), dim on a terminal;"},
		{"", "by default only the answer (the final channel) is shown"},
		{"--reasoning-effort L", "gpt-oss: low, medium or high, set as gpt-oss's own template sets it"},
		{"", "(its system block; --system then becomes the developer message);"},
		{"", "without it, llama.cpp's built-in gpt-oss form with no system block"},
	};
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
		fprintf(f, "  %-*s%s\n", width - 2, lines[i][0], lines[i][1] ? lines[i][1] : chat_format_names());
}

int chat_turn_parse_flag(const char *verb, const char *a, const char *v, struct chat_turn_options *o)
{
	if (!strcmp(a, "--show-reasoning")) {
		o->show_reasoning = true;
		return 3;
	}
	bool system = !strcmp(a, "--system") || !strcmp(a, "-sys");
	if (!system && strcmp(a, "--chat-template") != 0 && strcmp(a, "--reasoning-effort") != 0) return 0;
	if (!v) return cli_bad_arg(verb, "missing value for", a);
	if (system) {
		o->system = v;
	} else if (!strcmp(a, "--chat-template")) {
		enum chat_format f;
		if (chat_format_from_name(v, &f) != VKLLM_OK) {
			char msg[256];
			snprintf(msg, sizeof msg, "--chat-template is one of %s; got", chat_format_names());
			return cli_bad_arg(verb, msg, v);
		}
		o->format = v;
	} else {
		if (!chat_gpt_oss_effort_valid(v))
			return cli_bad_arg(verb, "--reasoning-effort is low, medium or high (gpt-oss's levels); got", v);
		o->effort = v;
	}
	return 1;
}

const char *chat_turn_any_flag(const struct chat_turn_options *o)
{
	if (o->system) return "--system";
	if (o->format) return "--chat-template";
	if (o->effort) return "--reasoning-effort";
	if (o->show_reasoning) return "--show-reasoning";
	return NULL;
}

int chat_msgs_push(struct chat_msgs *l, const char *role, const char *content, size_t len)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		struct chat_msg *m = realloc(l->m, cap * sizeof *m);
		if (!m) return fail(VKLLM_E_NOMEM, "out of host memory");
		l->m = m, l->cap = cap;
	}
	char *copy = malloc(len + 1);
	if (!copy) return fail(VKLLM_E_NOMEM, "out of host memory");
	memcpy(copy, content, len);
	copy[len] = 0;
	l->m[l->n++] = (struct chat_msg){role, copy};
	return VKLLM_OK;
}

void chat_msgs_pop(struct chat_msgs *l)
{
	free((char *)l->m[--l->n].content);
}

void chat_msgs_free(struct chat_msgs *l)
{
	while (l->n) chat_msgs_pop(l);
	free(l->m);
	*l = (struct chat_msgs){0};
}

int chat_turn_format(const struct engine *e, const struct chat_turn_options *o, enum chat_format *out, const char **how)
{
	if (o->format) {
		*how = "--chat-template";
		return chat_format_from_name(o->format, out);
	}
	const struct gguf_kv *kv = gguf_find(&e->m.gguf, "tokenizer.chat_template");
	if (!kv || kv->type != GGUF_STRING) {
		*how = "the model has no chat template: llama.cpp's default";
		*out = CHAT_CHATML;
		return VKLLM_OK;
	}
	uint64_t len;
	memcpy(&len, kv->data, 8);
	*how = "the model's template";
	return chat_format_detect((const char *)kv->data + 8, (size_t)len, out);
}

int chat_turn_open(enum chat_format f, const struct chat_turn_options *o, struct chat_msgs *l)
{
	if (o->effort && f != CHAT_GPT_OSS)
		return fail(VKLLM_E_ARG, "--reasoning-effort is for gpt-oss (the gpt-oss chat format); this conversation is in %s",
		            chat_format_name(f));
	if (!o->effort) return o->system ? chat_msgs_push(l, "system", o->system, strlen(o->system)) : VKLLM_OK;
	char date[32];
	time_t now = time(NULL);
	struct tm tm;
	if (!localtime_r(&now, &tm) || !strftime(date, sizeof date, "%Y-%m-%d", &tm)) snprintf(date, sizeof date, "1970-01-01");
	struct tok_text block = {0};
	int st = chat_gpt_oss_system(o->effort, date, &block);
	if (!st) st = chat_msgs_push(l, "system", block.p, block.n);
	block.n = 0;
	if (!st && o->system && *o->system) st = chat_gpt_oss_developer(o->system, &block);
	if (!st && block.n) st = chat_msgs_push(l, "developer", block.p, block.n);
	tok_text_free(&block);
	return st;
}

const char *chat_turn_harmony_notice(const struct chat_turn_options *o, char *buf, size_t n)
{
	snprintf(buf, n, "gpt-oss: the answer is the final channel; the reasoning is %s; reasoning effort %s",
	         o->show_reasoning ? "shown (--show-reasoning)" : "hidden (--show-reasoning shows it)",
	         o->effort ? o->effort : "not set (no system block; --reasoning-effort low|medium|high sets it)");
	return buf;
}

/* ---- the display ---- */

static void set_colour(const struct chat_display *d, const char *code)
{
	if (d->out && d->colour) fputs(code, d->out);
}

static void write_out(const struct chat_display *d, const char *s, size_t n)
{
	if (d->out && n) fwrite(s, 1, n, d->out);
}

static int show_part(void *user, enum harmony_part part, const char *s, size_t n)
{
	struct chat_display *d = user;
	if (part == HARMONY_REASONING) {
		if (d->reasoning) TRY(tok_text_append(d->reasoning, s, n));
		if (!d->show_reasoning || !d->out) return VKLLM_OK;
		if (!d->reasoning_open) {
			set_colour(d, "\033[2m");
			fputs("[Start thinking]\n\n", d->out);
			d->reasoning_open = true;
		}
		write_out(d, s, n);
		d->last = s[n - 1];
		return VKLLM_OK;
	}
	if (d->reasoning_open) {
		fputs(d->last == '\n' ? "[End thinking]\n\n" : "\n[End thinking]\n\n", d->out);
		set_colour(d, "\033[0m");
		d->reasoning_open = false;
	}
	write_out(d, s, n);
	return tok_text_append(d->answer, s, n);
}

void chat_display_init(struct chat_display *d)
{
	harmony_init(&d->hp);
	d->reasoning_open = d->thinking = false;
	d->last = 0;
}

int chat_display_push(struct chat_display *d, const char *text, size_t n, const char *piece, size_t piece_n)
{
	if (d->harmony) return harmony_push(&d->hp, text, n, show_part, d);
	/* reasoning dim on a terminal, between Qwen3's <think> and </think> */
	if (piece_n == 7 && !memcmp(piece, "<think>", 7)) d->thinking = true, set_colour(d, "\033[2m");
	write_out(d, text, n);
	int st = tok_text_append(d->answer, text, n);
	if (piece_n == 8 && !memcmp(piece, "</think>", 8)) d->thinking = false, set_colour(d, "\033[0m");
	return st;
}

int chat_display_finish(struct chat_display *d, const char *text, size_t n)
{
	int st = chat_display_push(d, text, n, "", 0);
	if (!st && d->harmony) st = harmony_finish(&d->hp, show_part, d);
	if (d->thinking || d->reasoning_open) set_colour(d, "\033[0m");
	d->thinking = d->reasoning_open = false;
	return st;
}

void chat_display_free(struct chat_display *d)
{
	harmony_free(&d->hp);
}
