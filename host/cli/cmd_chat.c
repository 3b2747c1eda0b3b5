/* `vkllm chat`: a conversation with a model, one line of standard input per user turn.
 *
 *   vkllm chat -m MODEL [--system TEXT] [--chat-template NAME] [-n N] [sampling] [-c CTX]
 *
 * The conversation stays in the context. Each turn formats the whole conversation with the chat
 * template (host/run/chat_template.h), compares that text with the text already in the context,
 * keeps the cached tokens up to where the two first differ and runs only the rest: with most
 * templates that is exactly the new turn; where a template renders earlier turns differently once
 * a new one follows (Qwen3 drops earlier reasoning, Llama 3 and Gemma trim what the model wrote),
 * the context is rewound to the first difference, as llama.cpp's server does with its prompt cache.
 *
 * Answers stream to stdout; notices and per-turn timings go to stderr. On a terminal there is a
 * "> " prompt and colour; from a pipe there is neither, so scripts and tests can drive it. /clear
 * forgets the conversation, /exit or end of input leaves, Ctrl-C stops the current answer.
 *
 * gpt-oss (the gpt-oss format) writes its answer in harmony channels: only the final channel is
 * shown and kept in the conversation (host/run/harmony.h); --show-reasoning shows the analysis
 * channel too, dim on a terminal, and --reasoning-effort opens the conversation with the system
 * block of gpt-oss's own template that sets it (host/cli/chat_turn.c, shared with `vkllm run --chat`).
 * docs/chat.md has the details. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/status.h"
#include "chat_turn.h"
#include "cli.h"
#include "engine.h"
#include "loader/quant.h"

#define NO_CUT ((size_t)-1)

struct chat_args {
	struct engine_options eo;
	struct sampler_params sp;
	struct chat_turn_options co; /* --system --chat-template --show-reasoning --reasoning-effort */
	long n_predict;         /* tokens per answer; -1: until end of generation or a full context */
};

/* The conversation and a mirror of the context: text[0..n) is what the cached tokens spell, and
 * cut[i] the length of text that tokens 0..i cover when the context can be cut after token i
 * (after a whole piece of the prompt or after a generated token), else NO_CUT. */
struct chat {
	struct engine *e;
	enum chat_format format;
	struct chat_msgs conv;
	size_t n_fixed;         /* the opening messages /clear keeps (system, gpt-oss's developer) */
	bool harmony;           /* the answer is in harmony channels (gpt-oss) */
	bool show_reasoning;
	struct tok_text text;
	size_t *cut;            /* [n_ctx] */
	int32_t *ids;           /* [n_ctx]: the cached tokens, for the repetition penalty after a rewind */
	struct sampler smp;
	bool tty_in, colour_out, colour_err;
};

static volatile sig_atomic_t interrupted;

/* First Ctrl-C: stop the answer (the loop checks the flag between tokens). A second one before
 * the loop has seen the first: leave now, as llama-cli does, for a prefill that takes too long. */
static void on_sigint(int sig)
{
	if (interrupted) {
		static const char reset[] = "\033[0m\n";
		if (write(STDOUT_FILENO, reset, sizeof reset - 1) < 0) { /* nothing to do */ }
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	interrupted = 1;
}

void cmd_chat_help(FILE *f)
{
	fprintf(f, "options:\n"
	           "  -m, --model FILE        GGUF model to talk to\n");
	chat_turn_help(f, 26);
	fprintf(f, "                          (the system message and gpt-oss's block are kept by /clear)\n"
	           "  -n, --n-predict N       at most N tokens per answer (default: until the model ends it)\n"
	           "  -c, --ctx-size N        context length in tokens (default: the model's, at most 4096)\n"
	           "  -b, --batch-size N      prompt tokens per chunk (default 512)\n"
	           "  --cache-type T          KV cache f16 (default) or f32\n"
	           "  --temp --top-k --top-p --min-p --repeat-penalty --repeat-last-n -s/--seed\n"
	           "                          sampling, as for `vkllm run` (default temp 0.8; 0 is greedy)\n"
	           "  --device N              use device N of `vkllm devices` (also VKLLM_DEVICE=N)\n"
	           "in the conversation (one line per message):\n"
	           "  /clear                  forget the conversation and start again\n"
	           "  a line ending in \\      continues the message on the next line\n"
	           "  /exit, Ctrl-D           leave (end of input leaves too)\n"
	           "  Ctrl-C                  stop the answer being written\n"
	           "From a pipe there is no prompt and no colour: each input line is a message, each answer\n"
	           "is written to stdout followed by a newline; notices and timings go to stderr.\n");
}

static int parse(int argc, char **argv, struct chat_args *r)
{
	memset(r, 0, sizeof *r);
	r->eo.device_index = -1;
	r->eo.session.kv_type = ATTN_KV_F16;
	r->n_predict = -1;
	sampler_defaults(&r->sp);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int shared = cli_parse_shared_flag("chat", a, v, &r->eo, &r->sp);
		if (shared == 1) {
			i++;
			continue;
		}
		if (shared) return shared;
		int ct = chat_turn_parse_flag("chat", a, v, &r->co);
		if (ct == 1) i++;
		if (ct == 1 || ct == 3) continue;
		if (ct) return ct;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			cli_usage(stdout, "chat");
			return -1;
		}
		bool takes_value = !strcmp(a, "-m") || !strcmp(a, "--model") || !strcmp(a, "-n") || !strcmp(a, "--n-predict");
		if (!takes_value) return cli_bad_arg("chat", a[0] == '-' ? "unknown option" : "unexpected argument", a);
		if (!v) return cli_bad_arg("chat", "missing value for", a);
		i++;
		if (!strcmp(a, "-m") || !strcmp(a, "--model")) r->eo.model = v;
		else {
			long n;
			if (!cli_parse_int(v, 1 << 30, &n) || n < 1) return cli_bad_arg("chat", "-n needs a positive token count, got", v);
			r->n_predict = n;
		}
	}
	if (!r->eo.model) {
		fprintf(stderr, "vkllm: error: chat needs a model: vkllm chat -m MODEL.gguf (`vkllm help chat` lists the options)\n");
		return 2;
	}
	return 0;
}

/* ---- notices: stderr, dim on a terminal ---- */

static void notice(const struct chat *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void notice(const struct chat *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fflush(stdout);
	if (c->colour_err) fputs("\033[2m", stderr);
	vfprintf(stderr, fmt, ap);
	if (c->colour_err) fputs("\033[0m", stderr);
	fputc('\n', stderr);
	va_end(ap);
}

/* ---- the conversation ---- */

/* /clear: the opening messages stay; the context is emptied (its cache is overwritten later) */
static int clear_conversation(struct chat *c)
{
	while (c->conv.n > c->n_fixed) chat_msgs_pop(&c->conv);
	TRY(session_rewind(&c->e->s, 0));
	c->text.n = 0;
	sampler_reset(&c->smp);
	return VKLLM_OK;
}

/* ---- the context mirror ---- */

/* How many cached tokens to keep so that the context spells a prefix of `want`: the last cut
 * point inside the common prefix, at a character boundary (tokenizing from the middle of a UTF-8
 * character would spell it as replacement characters). */
static uint32_t tokens_to_keep(const struct chat *c, const struct tok_text *want)
{
	size_t common = 0, n = c->text.n < want->n ? c->text.n : want->n;
	while (common < n && c->text.p[common] == want->p[common]) common++;
	for (uint32_t k = c->e->s.n_past; k > 0; k--) {
		size_t at = c->cut[k - 1];
		if (at != NO_CUT && at <= common && (at == want->n || (want->p[at] & 0xC0) != 0x80)) return k;
	}
	return 0;
}

/* Runs tokens at n_past, recording the text they spell (end: the length of text once they are
 * in; only the last one is a cut point). */
static int eval_tokens(struct chat *c, const int32_t *ids, size_t n, size_t end)
{
	struct session *s = &c->e->s;
	if (n == 0) return VKLLM_OK;
	uint32_t at = s->n_past;
	TRY(session_eval(s, (const uint32_t *)ids, (uint32_t)n, false, NULL));
	for (size_t i = 0; i < n; i++) {
		c->cut[at + i] = i + 1 == n ? end : NO_CUT;
		c->ids[at + i] = ids[i];
		sampler_accept(&c->smp, ids[i]);
	}
	return VKLLM_OK;
}

struct turn_stats {
	uint32_t kept, prompt, generated;
	double prompt_s, gen_s;
	const char *stop;
};

/* The conversation so far (ending with the user's new message) into the context: keep what
 * matches, run the rest. VKLLM_E_CONTEXT_FULL, with nothing changed, when it does not fit. */
static int prefill(struct chat *c, struct turn_stats *ts)
{
	struct engine *e = c->e;
	struct tok_text want = {0};
	struct tok_ids ids = {0};
	int st = chat_format_apply(c->format, c->conv.m, c->conv.n, true, &want);
	uint32_t keep = st ? 0 : tokens_to_keep(c, &want);
	size_t from = keep ? c->cut[keep - 1] : 0;
	bool bos = keep == 0 && tokenizer_adds_bos(e->tok);
	if (!st) st = tokenizer_encode(e->tok, want.p + from, want.n - from, false, true, &ids);
	/* room for the conversation and at least one token of the answer */
	uint32_t need = keep + (bos ? 1u : 0u) + (uint32_t)ids.n;
	if (!st && need >= e->s.fs.n_ctx)
		st = fail(VKLLM_E_CONTEXT_FULL, "with this message the conversation is %u tokens and the context holds %u", need,
		          e->s.fs.n_ctx);
	if (!st) {
		double t0 = cli_now();
		st = session_rewind(&e->s, keep);
		c->text.n = from;
		sampler_reset(&c->smp);
		for (uint32_t i = 0; i < keep; i++) sampler_accept(&c->smp, c->ids[i]);
		if (bos) {
			int32_t b = tokenizer_bos(e->tok);
			st = eval_tokens(c, &b, 1, 0);
		}
		if (!st) st = tok_text_append(&c->text, want.p + from, want.n - from);
		if (!st) st = eval_tokens(c, ids.ids, ids.n, c->text.n);
		ts->kept = keep;
		ts->prompt = (bos ? 1u : 0u) + (uint32_t)ids.n;
		ts->prompt_s = cli_now() - t0;
	}
	tok_text_free(&want);
	tok_ids_free(&ids);
	return st;
}

static void set_colour(const struct chat *c, const char *code)
{
	if (c->colour_out) fputs(code, stdout);
}

/* Samples the answer token by token, streaming it, until end of generation, -n, a full context or
 * Ctrl-C; what the conversation keeps of it (display) is appended to `answer`. */
static int generate(struct chat *c, long n_predict, struct tok_text *answer, struct turn_stats *ts)
{
	struct engine *e = c->e;
	struct session *s = &e->s;
	struct detok_stream ds;
	detok_stream_init(&ds, e->tok, false);
	/* what the user sees: the text, or gpt-oss's final channel (and the reasoning if asked) */
	struct chat_display d = {.out = stdout, .colour = c->colour_out, .harmony = c->harmony,
	                         .show_reasoning = c->show_reasoning, .answer = answer};
	chat_display_init(&d);
	struct tok_text chunk = {0}; /* the text of one token */
	double t0 = cli_now();
	int st = VKLLM_OK;
	ts->stop = "end of generation";
	while (!st) {
		if (interrupted) {
			ts->stop = "stopped (Ctrl-C)";
			break;
		}
		if (n_predict >= 0 && ts->generated >= n_predict) {
			ts->stop = "stopped after -n tokens";
			break;
		}
		const uint32_t *ids;
		const float *logits;
		session_candidates(s, &ids, &logits);
		int32_t next = sampler_sample(&c->smp, ids, logits, s->fs.n_cand);
		if (tokenizer_is_eog(e->tok, next)) break;
		ts->generated++;
		/* the text of the token as the context holds it (control tokens spelled out) */
		char piece[256];
		size_t len;
		if ((st = tokenizer_piece(e->tok, next, true, piece, sizeof piece, &len))) break;
		if (len >= sizeof piece) {
			st = fail(VKLLM_E_UNSUPPORTED, "token %d is %zu bytes long; vkllm chat handles up to %zu", next, len, sizeof piece - 1);
			break;
		}
		chunk.n = 0;
		if ((st = detok_stream_push(&ds, next, &chunk))) break;
		if ((st = chat_display_push(&d, chunk.p, chunk.n, piece, len))) break;
		fflush(stdout);
		if (s->n_past >= s->fs.n_ctx) {
			ts->stop = "the context is full: /clear starts a new conversation (or restart with a larger -c)";
			break;
		}
		sampler_accept(&c->smp, next);
		if ((st = session_eval(s, (const uint32_t *)&next, 1, false, NULL))) break;
		if ((st = tok_text_append(&c->text, piece, len))) break;
		c->cut[s->n_past - 1] = c->text.n;
		c->ids[s->n_past - 1] = next;
	}
	chunk.n = 0;
	if (!st) st = detok_stream_finish(&ds, &chunk);
	int fst = chat_display_finish(&d, chunk.p, st ? 0 : chunk.n); /* the colour is reset even after an error */
	if (!st) st = fst;
	chat_display_free(&d);
	tok_text_free(&chunk);
	fputc('\n', stdout);
	fflush(stdout);
	ts->gen_s = cli_now() - t0;
	return st;
}

/* One user message: format, prefill, answer. A context too full for the message is a notice, not
 * an error: the message is dropped and the user can /clear. */
static int turn(struct chat *c, const char *line, size_t len, long n_predict)
{
	TRY(chat_msgs_push(&c->conv, "user", line, len));
	struct turn_stats ts = {0};
	int st = prefill(c, &ts);
	if (st == VKLLM_E_CONTEXT_FULL) {
		chat_msgs_pop(&c->conv);
		notice(c, "vkllm: the context is full: %s; /clear starts a new conversation (this message is dropped), or "
		          "restart with a larger -c", vkllm_error());
		return VKLLM_OK;
	}
	TRY(st);
	struct tok_text answer = {0};
	st = generate(c, n_predict, &answer, &ts);
	if (!st) st = chat_msgs_push(&c->conv, "assistant", answer.p ? answer.p : "", answer.n);
	tok_text_free(&answer);
	TRY(st);
	if (strcmp(ts.stop, "end of generation") != 0) notice(c, "vkllm: %s", ts.stop);
	notice(c, "[ prompt %u tokens (%u cached) %.1f tokens/s | answer %u tokens %.1f tokens/s ]", ts.prompt, ts.kept,
	       ts.prompt_s > 0 ? ts.prompt / ts.prompt_s : 0.0, ts.generated, ts.gen_s > 0 ? ts.generated / ts.gen_s : 0.0);
	return VKLLM_OK;
}

static bool is_command(const char *line, const char *cmd)
{
	size_t n = strlen(cmd);
	if (strncmp(line, cmd, n) != 0) return false;
	for (line += n; *line; line++)
		if (*line != ' ' && *line != '\t') return false;
	return true;
}

/* Reads one message: a line, or several joined where each but the last ends with a backslash.
 * Returns false at the end of input. A Ctrl-C while typing drops what was typed. */
static bool read_message(struct chat *c, char **line, size_t *cap, struct tok_text *msg)
{
	msg->n = 0;
	for (bool more = true; more;) {
		if (c->tty_in) {
			set_colour(c, "\033[1m");
			fputs(msg->n ? "... " : "> ", stdout);
			set_colour(c, "\033[0m\033[32m");
			fflush(stdout);
		}
		interrupted = 0;
		ssize_t n = getline(line, cap, stdin);
		set_colour(c, "\033[0m");
		if (n < 0 && interrupted && !feof(stdin)) {
			clearerr(stdin);
			fputc('\n', stdout);
			notice(c, "(Ctrl-D or /exit leaves)");
			msg->n = 0;
			continue;
		}
		if (n < 0) {
			if (c->tty_in) fputc('\n', stdout);
			return msg->n > 0; /* a continued message cut by the end of input is still sent */
		}
		while (n > 0 && ((*line)[n - 1] == '\n' || (*line)[n - 1] == '\r')) n--;
		more = n > 0 && (*line)[n - 1] == '\\';
		if (more) n--;
		if (tok_text_append(msg, *line, (size_t)n) || (more && tok_text_append(msg, "\n", 1))) return false;
	}
	return true;
}

/* Reads messages until end of input or /exit. */
static int converse(struct chat *c, const struct chat_args *r)
{
	char *line = NULL;
	size_t cap = 0;
	struct tok_text msg = {0};
	int st = VKLLM_OK;
	while (!st && read_message(c, &line, &cap, &msg)) {
		if (msg.n == 0) continue;
		if (is_command(msg.p, "/exit") || is_command(msg.p, "/quit")) break;
		if (is_command(msg.p, "/clear")) {
			st = clear_conversation(c);
			if (st) break;
			notice(c, "vkllm: the conversation is cleared");
			continue;
		}
		if (is_command(msg.p, "/help")) {
			notice(c, "/clear forgets the conversation; /exit or Ctrl-D leaves; Ctrl-C stops an answer; "
			          "a line ending in \\ continues on the next");
			continue;
		}
		st = turn(c, msg.p, msg.n, r->n_predict);
	}
	free(line);
	tok_text_free(&msg);
	return st;
}

int cmd_chat(int argc, char **argv)
{
	struct chat_args r;
	int pr = parse(argc, argv, &r);
	if (pr) return pr < 0 ? 0 : pr;
	r.eo.session.n_cand = cli_n_candidates(&r.sp);

	struct engine e;
	int st = engine_open(&e, &r.eo);
	if (st) return cli_error(st);
	struct chat c = {.e = &e, .tty_in = isatty(STDIN_FILENO), .colour_out = isatty(STDOUT_FILENO), .colour_err = isatty(STDERR_FILENO)};
	const char *how = "";
	st = chat_turn_format(&e, &r.co, &c.format, &how);
	c.harmony = c.format == CHAT_GPT_OSS;
	c.show_reasoning = r.co.show_reasoning;
	if (!st) st = sampler_init(&c.smp, &r.sp);
	c.cut = malloc(e.s.fs.n_ctx * sizeof *c.cut);
	c.ids = malloc(e.s.fs.n_ctx * sizeof *c.ids);
	if (!st && (!c.cut || !c.ids)) st = fail(VKLLM_E_NOMEM, "out of host memory");
	if (!st) st = chat_turn_open(c.format, &r.co, &c.conv); /* the opening messages, kept by /clear */
	c.n_fixed = c.conv.n;
	if (!st) {
		notice(&c, "vkllm: %s (%s, %u layers, %s) on %s; context %u tokens; chat format %s (%s)", r.eo.model,
		       e.m.arch->family, e.m.hp.n_layer, quant_type_info(e.w.layers[0].wq.type)->name, e.g.profile.name,
		       e.s.fs.n_ctx, chat_format_name(c.format), how);
		char line[256];
		if (c.harmony) notice(&c, "vkllm: %s", chat_turn_harmony_notice(&r.co, line, sizeof line));
		if (c.tty_in) notice(&c, "type a message and Enter; /clear forgets the conversation, /exit or Ctrl-D leaves, "
		                         "Ctrl-C stops an answer");
		struct sigaction sa = {0};
		sa.sa_handler = on_sigint; /* no SA_RESTART: Ctrl-C at the prompt interrupts getline */
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		st = converse(&c, &r);
		signal(SIGINT, SIG_DFL);
	}
	char msg[1024];
	snprintf(msg, sizeof msg, "%s", vkllm_error());
	chat_msgs_free(&c.conv);
	free(c.cut);
	free(c.ids);
	tok_text_free(&c.text);
	sampler_free(&c.smp);
	int cst = engine_close(&e);
	if (!st && cst) st = cst;
	else if (st) fail(st, "%s", msg);
	return st ? cli_error(st) : 0;
}
