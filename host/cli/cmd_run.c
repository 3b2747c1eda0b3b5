/* `vkllm run`: generate text from a GGUF model.
 *
 *   vkllm run -m MODEL (-p TEXT | -f FILE) [-n N] [sampling] [-c CTX] [-b BATCH] [--json]
 *   vkllm run -m MODEL --chat -p MESSAGE [--system TEXT] [--chat-template NAME] [--show-reasoning]
 *             [--reasoning-effort L] ...
 *
 * The prompt is tokenized as llama.cpp does (BOS as the metadata says, special tokens written in
 * the text recognized), run through the model in chunks, then tokens are drawn one at a time and
 * streamed to stdout as whole UTF-8 characters; timings go to stderr. With --json nothing streams:
 * one object on stdout at the end. Generation stops at an end-of-generation token, after -n
 * tokens, or when the context is full (said plainly, not an error).
 *
 * With --chat the prompt is one user message: formatted as `vkllm chat` formats a first message
 * (the model's chat template or --chat-template, --system, gpt-oss's --reasoning-effort; the code
 * is shared, host/cli/chat_turn.c), with the opening of the answer, and what is written is the
 * answer as chat shows it: for gpt-oss the final channel, the reasoning only with --show-reasoning.
 * --json then also carries the answer and the reasoning apart from the generated text and tokens.
 *
 * Without -m a Qwen3-0.6B-shaped model with random weights is synthesized once into the cache
 * folder and run, so the command shows the engine working on a fresh machine; it says so, because
 * its text is noise. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/json.h"
#include "base/status.h"
#include "chat_turn.h"
#include "cli.h"
#include "engine.h"
#include "loader/quant.h"
#include "model/synth.h"
#include "run/sampler.h"

#define DEFAULT_PROMPT "Once upon a time"
#define DEFAULT_N_PREDICT 128
#define DEMO_N_PREDICT 32 /* the random-weight demo: enough to show the speed */

struct run_args {
	struct engine_options eo;
	const char *prompt, *file;
	long n_predict;
	struct sampler_params sp;
	bool json, synthesized, n_given;
	bool chat;                   /* --chat: the prompt is one user message in the chat format */
	struct chat_turn_options co; /* --system --chat-template --show-reasoning --reasoning-effort (with --chat) */
};

void cmd_run_help(FILE *f)
{
	fprintf(f, "options:\n"
	           "  -m, --model FILE     GGUF model to run; without it a Qwen3-0.6B-shaped model with random\n"
	           "                       weights is synthesized once (into ~/.cache/vkllm) to show the engine\n"
	           "  -p, --prompt TEXT    the prompt (default \"" DEFAULT_PROMPT "\")\n"
	           "  -f, --file FILE      read the prompt from FILE (- for standard input)\n"
	           "  -n, --n-predict N    tokens to generate (default %d, with --chat until the model ends its\n"
	           "                       answer; the random-weight demo %d)\n"
	           "  -c, --ctx-size N     context length in tokens (default: the model's, at most 4096)\n"
	           "  -b, --batch-size N   prompt tokens per chunk (default 512)\n"
	           "  --cache-type T       KV cache f16 (default) or f32\n"
	           "  --temp T             temperature (default 0.8; 0 is greedy)\n"
	           "  --top-k N            keep the N most likely tokens (default 40; 0 off, at most 64)\n"
	           "  --top-p P            keep the smallest set with probability P (default 0.95; 1 off)\n"
	           "  --min-p P            drop tokens below P times the best's probability (default 0.05)\n"
	           "  --repeat-penalty F   penalize the last --repeat-last-n tokens (default 1.0, off)\n"
	           "  --repeat-last-n N    (default 64; -1 the whole context)\n"
	           "  -s, --seed N         random seed: the same seed gives the same text\n"
	           "  --json               one JSON object on stdout instead of streamed text:\n"
	           "                       {\"prompt_tokens\":[...],\"tokens\":[...],\"text\":\"...\",\"timings\":{...}}\n"
	           "                       (with --chat also \"chat_format\", \"prompt\", \"answer\", \"reasoning\")\n"
	           "  --profile            GPU time per kernel and per part of the model, after the run\n"
	           "  --device N           use device N of `vkllm devices` (also VKLLM_DEVICE=N)\n"
	           "  --chat, -st, --single-turn\n"
	           "                       the prompt is one user message: formatted with the model's chat template\n"
	           "                       (as `vkllm chat` formats a first message), and the answer is written as\n"
	           "                       chat shows it (gpt-oss: the final channel); with --chat only:\n",
	        DEFAULT_N_PREDICT, DEMO_N_PREDICT);
	chat_turn_help(f, 23);
}

static int parse(int argc, char **argv, struct run_args *r)
{
	memset(r, 0, sizeof *r);
	r->eo.device_index = -1;
	r->eo.session.kv_type = ATTN_KV_F16;
	r->n_predict = DEFAULT_N_PREDICT;
	sampler_defaults(&r->sp);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		long n;
		int shared = cli_parse_shared_flag("run", a, v, &r->eo, &r->sp);
		if (shared == 1) {
			i++;
			continue;
		}
		if (shared) return shared;
		int ct = chat_turn_parse_flag("run", a, v, &r->co);
		if (ct == 1) i++;
		if (ct == 1 || ct == 3) continue;
		if (ct) return ct;
#define NEED_VALUE() \
	if (!v) return cli_bad_arg("run", "missing value for", a); \
	i++
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			cli_usage(stdout, "run");
			return -1;
		} else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
			NEED_VALUE();
			r->eo.model = v;
		} else if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) {
			NEED_VALUE();
			r->prompt = v;
		} else if (!strcmp(a, "-f") || !strcmp(a, "--file")) {
			NEED_VALUE();
			r->file = v;
		} else if (!strcmp(a, "-n") || !strcmp(a, "--n-predict")) {
			NEED_VALUE();
			if (!cli_parse_int(v, 1 << 30, &n)) return cli_bad_arg("run", "-n needs a token count, got", v);
			r->n_predict = n;
			r->n_given = true;
		} else if (!strcmp(a, "--chat") || !strcmp(a, "-st") || !strcmp(a, "--single-turn")) {
			r->chat = true;
		} else if (!strcmp(a, "-cnv") || !strcmp(a, "--conversation")) {
			return cli_bad_arg("run", "run answers one message (--chat); for a conversation use `vkllm chat`, not", a);
		} else if (!strcmp(a, "--json")) {
			r->json = true;
		} else if (!strcmp(a, "--profile")) {
			r->eo.session.profile = true;
		} else {
			return cli_bad_arg("run", a[0] == '-' ? "unknown option" : "unexpected argument", a);
		}
#undef NEED_VALUE
	}
	if (r->prompt && r->file) return cli_bad_arg("run", "give the prompt once: -p or -f, not both; got", "-f");
	const char *chat_flag = chat_turn_any_flag(&r->co);
	if (chat_flag && !r->chat)
		return cli_bad_arg("run", "this is a chat flag: add --chat (without it run is a raw completion); got", chat_flag);
	if (r->chat && !r->n_given) r->n_predict = -1; /* until the model ends its answer, as chat */
	return 0;
}

/* mkdir -p */
static void make_dirs(const char *path)
{
	char p[1024];
	snprintf(p, sizeof p, "%s", path);
	for (char *c = p + 1; *c; c++)
		if (*c == '/') {
			*c = 0;
			mkdir(p, 0755);
			*c = '/';
		}
	mkdir(p, 0755);
}

/* ~/.cache/vkllm/synth/qwen3-0.6b-q8_0.gguf, written on first use */
static int default_model(char *path, size_t n, bool quiet)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char dir[900];
	if (xdg && *xdg) snprintf(dir, sizeof dir, "%s/vkllm", xdg);
	else if (home && *home) snprintf(dir, sizeof dir, "%s/.cache/vkllm", home);
	else snprintf(dir, sizeof dir, "/tmp/vkllm-cache");
	char sub[960];
	snprintf(sub, sizeof sub, "%s/synth", dir);
	make_dirs(sub);
	snprintf(path, n, "%s/qwen3-0.6b-q8_0.gguf", sub);
	if (access(path, R_OK) == 0) return VKLLM_OK;
	if (!quiet)
		fprintf(stderr, "vkllm: no model given (-m); synthesizing a Qwen3-0.6B-shaped model with RANDOM weights\n"
		                "       into %s (once, about 10 s): its text is noise, its speed is real\n", path);
	char tmp[1100];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	struct synth_options so = {.preset = "qwen3-0.6b", .type = QT_Q8_0, .seed = 1, .out = tmp, .tied = -1, .quiet = true};
	struct synth_result sr;
	TRY(synth_model(&so, &sr));
	if (rename(tmp, path) != 0) return fail(VKLLM_E_IO, "%s: cannot rename the synthesized model into place", path);
	return VKLLM_OK;
}

struct timings {
	double prompt_s, gen_s, first_token_s;
	double gen_host_cpu_s;   /* this thread's CPU time while generating: the host's own work */
	uint32_t n_prompt, n_gen;
};

/* CPU time of the calling thread. The device's work runs elsewhere (on a GPU, or on lavapipe's
 * own worker threads), and waiting on a fence sleeps, so this is the host's share of a token. */
static double thread_cpu_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void print_timings(const struct engine *e, const struct timings *t, const char *stop)
{
	fprintf(stderr, "\n\nvkllm: %s\n", stop);
	fprintf(stderr, "  prompt      %5u tokens in %8.3f s  %8.2f tokens/s\n", t->n_prompt, t->prompt_s,
	        t->prompt_s > 0 ? t->n_prompt / t->prompt_s : 0.0);
	fprintf(stderr, "  generation  %5u tokens in %8.3f s  %8.2f tokens/s\n", t->n_gen, t->gen_s,
	        t->gen_s > 0 ? t->n_gen / t->gen_s : 0.0);
	fprintf(stderr, "  first token after %.3f s; load %.2f s; %u graphs recorded in %.3f s\n", t->first_token_s,
	        e->load_seconds, e->s.n_graphs, e->s.record_seconds);
	if (t->n_gen)
		fprintf(stderr, "  host CPU per generated token %.3f ms (%.2f%% of its wall time)\n", 1e3 * t->gen_host_cpu_s / t->n_gen,
		        t->gen_s > 0 ? 100.0 * t->gen_host_cpu_s / t->gen_s : 0.0);
	fprintf(stderr, "  device %s; weights %.1f MiB, KV cache %.1f MiB, scratch %.1f MiB\n", e->g.profile.name,
	        e->w.bytes / 1048576.0, e->s.kv_bytes / 1048576.0, e->s.scratch_bytes / 1048576.0);
}

/* What --chat adds to the output: the format, the prompt text it wrote, the answer as chat shows
 * it and the reasoning (gpt-oss's analysis channel) apart. */
struct chat_out {
	const char *format, *how;
	struct tok_text prompt, answer, reasoning;
};

static void print_json(const struct tok_ids *prompt, const struct tok_ids *gen, const struct tok_text *text,
                       const struct chat_out *chat, const struct timings *t, const char *stop)
{
	struct json j;
	json_init(&j, stdout);
	json_object_begin(&j);
	json_key(&j, "prompt_tokens");
	json_array_begin(&j);
	for (size_t i = 0; i < prompt->n; i++) json_u64(&j, (uint64_t)prompt->ids[i]);
	json_array_end(&j);
	json_key(&j, "tokens");
	json_array_begin(&j);
	for (size_t i = 0; i < gen->n; i++) json_u64(&j, (uint64_t)gen->ids[i]);
	json_array_end(&j);
	json_key(&j, "text"), json_string(&j, text->p ? text->p : "");
	if (chat) {
		json_key(&j, "chat_format"), json_string(&j, chat->format);
		json_key(&j, "prompt"), json_string(&j, chat->prompt.p ? chat->prompt.p : "");
		json_key(&j, "answer"), json_string(&j, chat->answer.p ? chat->answer.p : "");
		json_key(&j, "reasoning"), json_string(&j, chat->reasoning.p ? chat->reasoning.p : "");
	}
	json_key(&j, "stop"), json_string(&j, stop);
	json_key(&j, "timings");
	json_object_begin(&j);
	json_key(&j, "prompt_tps"), json_double(&j, t->prompt_s > 0 ? t->n_prompt / t->prompt_s : 0.0);
	json_key(&j, "gen_tps"), json_double(&j, t->gen_s > 0 ? t->n_gen / t->gen_s : 0.0);
	json_key(&j, "prompt_s"), json_double(&j, t->prompt_s);
	json_key(&j, "gen_s"), json_double(&j, t->gen_s);
	json_key(&j, "first_token_s"), json_double(&j, t->first_token_s);
	json_key(&j, "host_cpu_per_token_s"), json_double(&j, t->n_gen ? t->gen_host_cpu_s / t->n_gen : 0.0);
	json_object_end(&j);
	json_object_end(&j);
	fputc('\n', stdout);
}

static int ids_push(struct tok_ids *v, int32_t id)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 256;
		int32_t *p = realloc(v->ids, cap * sizeof *p);
		if (!p) return fail(VKLLM_E_NOMEM, "out of host memory");
		v->ids = p, v->cap = cap;
	}
	v->ids[v->n++] = id;
	return VKLLM_OK;
}

/* Runs the prompt and samples. The generated text goes to `text`; it streams to stdout after the
 * prompt's echo, or, with a chat display (--chat), through it: the answer as chat shows it. */
static int generate(struct engine *e, struct run_args *r, const struct tok_text *prompt_text, const struct tok_ids *prompt,
                    struct chat_display *chat, struct tok_ids *gen, struct tok_text *text, struct timings *t,
                    const char **stop)
{
	struct session *s = &e->s;
	struct sampler smp;
	TRY(sampler_init(&smp, &r->sp));
	for (size_t i = 0; i < prompt->n; i++) sampler_accept(&smp, prompt->ids[i]);
	struct detok_stream ds;
	detok_stream_init(&ds, e->tok, false);
	t->n_prompt = (uint32_t)prompt->n;
	/* on a terminal, say what the wait is for (a first run also compiles the device's shaders) */
	bool status = !r->json && isatty(2);
	if (status) fprintf(stderr, "\033[2m[reading the prompt: %zu tokens]\033[0m", prompt->n);
	double t0 = cli_now();
	int st = session_eval(s, (const uint32_t *)prompt->ids, (uint32_t)prompt->n, false, NULL);
	t->prompt_s = cli_now() - t0;
	if (status) fprintf(stderr, "\r\033[K");
	if (!r->json && !chat) {
		fwrite(prompt_text->p, 1, prompt_text->n, stdout);
		fflush(stdout);
	}
	double tg = cli_now(), cpu0 = thread_cpu_seconds();
	*stop = "stopped after -n tokens";
	while (!st && gen->n < (size_t)r->n_predict) {
		const uint32_t *ids;
		const float *logits;
		session_candidates(s, &ids, &logits);
		int32_t next = sampler_sample(&smp, ids, logits, s->fs.n_cand);
		if (gen->n == 0) t->first_token_s = cli_now() - t0;
		if (tokenizer_is_eog(e->tok, next)) {
			*stop = "end of generation";
			break;
		}
		sampler_accept(&smp, next);
		if ((st = ids_push(gen, next))) break;
		size_t before = text->n;
		if ((st = detok_stream_push(&ds, next, text))) break;
		if (chat) {
			/* the token spelled with control tokens, for Qwen3's <think> markers */
			char piece[64];
			size_t len;
			if ((st = tokenizer_piece(e->tok, next, true, piece, sizeof piece, &len))) break;
			if ((st = chat_display_push(chat, text->p + before, text->n - before, piece, len < sizeof piece ? len : 0))) break;
			fflush(stdout);
		} else if (!r->json && text->n > before) {
			fwrite(text->p + before, 1, text->n - before, stdout);
			fflush(stdout);
		}
		if (gen->n == (size_t)r->n_predict) break;
		if (s->n_past >= s->fs.n_ctx) {
			*stop = "the context is full (-c); generation stopped";
			break;
		}
		st = session_eval(s, (const uint32_t *)&next, 1, false, NULL);
	}
	t->gen_s = cli_now() - tg;
	t->gen_host_cpu_s = thread_cpu_seconds() - cpu0;
	t->n_gen = (uint32_t)gen->n;
	size_t before_finish = text->n;
	if (!st) {
		size_t before = text->n;
		st = detok_stream_finish(&ds, text);
		if (!st && !chat && !r->json && text->n > before) fwrite(text->p + before, 1, text->n - before, stdout);
	}
	if (chat) {
		int fst = chat_display_finish(chat, text->p ? text->p + before_finish : "", st ? 0 : text->n - before_finish);
		if (!st) st = fst;
		if (chat->out) fputc('\n', stdout);
	}
	sampler_free(&smp);
	return st;
}

/* --chat: the message as the first user turn of a conversation, formatted as `vkllm chat` formats
 * it (the same opening messages, BOS where the tokenizer asks, the rest tokenized with special
 * tokens recognized), so the prompt's tokens are the ones chat runs for the same first message. */
static int chat_prompt(struct engine *e, const struct run_args *r, const struct tok_text *message, struct chat_out *co,
                       struct chat_display *d, struct tok_ids *prompt)
{
	enum chat_format f;
	const char *how = "";
	struct chat_msgs conv = {0};
	int st = chat_turn_format(e, &r->co, &f, &how);
	if (!st) st = chat_turn_open(f, &r->co, &conv);
	if (!st) st = chat_msgs_push(&conv, "user", message->p ? message->p : "", message->n);
	if (!st) st = chat_format_apply(f, conv.m, conv.n, true, &co->prompt);
	chat_msgs_free(&conv);
	if (!st && tokenizer_adds_bos(e->tok)) st = ids_push(prompt, tokenizer_bos(e->tok));
	if (!st) st = tokenizer_encode(e->tok, co->prompt.p ? co->prompt.p : "", co->prompt.n, false, true, prompt);
	if (st) return st;
	co->format = chat_format_name(f);
	co->how = how;
	*d = (struct chat_display){.out = r->json ? NULL : stdout, .colour = !r->json && isatty(STDOUT_FILENO),
	                           .harmony = f == CHAT_GPT_OSS, .show_reasoning = r->co.show_reasoning,
	                           .answer = &co->answer, .reasoning = &co->reasoning};
	chat_display_init(d);
	return VKLLM_OK;
}

int cmd_run(int argc, char **argv)
{
	struct run_args r;
	int pr = parse(argc, argv, &r);
	if (pr) return pr < 0 ? 0 : pr;
	char synth_path[1024];
	if (!r.eo.model) {
		int st = default_model(synth_path, sizeof synth_path, r.json);
		if (st) return cli_error(st);
		r.eo.model = synth_path;
		r.synthesized = true;
		if (!r.n_given) r.n_predict = DEMO_N_PREDICT;
	}
	r.eo.quiet = r.json;
	r.eo.session.n_cand = cli_n_candidates(&r.sp);

	struct tok_text prompt_text = {0}, text = {0};
	struct tok_ids prompt = {0}, gen = {0};
	int st = VKLLM_OK;
	if (r.file) st = cli_read_file(r.file, &prompt_text);
	else st = tok_text_append(&prompt_text, r.prompt ? r.prompt : DEFAULT_PROMPT, strlen(r.prompt ? r.prompt : DEFAULT_PROMPT));
	if (st) return cli_error(st);

	struct engine e;
	st = engine_open(&e, &r.eo);
	if (st) {
		tok_text_free(&prompt_text);
		return cli_error(st);
	}
	struct chat_out co = {0};
	struct chat_display display = {0};
	if (r.chat) st = chat_prompt(&e, &r, &prompt_text, &co, &display, &prompt);
	else st = tokenizer_encode(e.tok, prompt_text.p ? prompt_text.p : "", prompt_text.n, true, true, &prompt);
	if (!st && !r.json) {
		fprintf(stderr, "vkllm: %s (%s, %u layers, %s) on %s%s\n", r.eo.model, e.m.arch->family, e.m.hp.n_layer,
		        quant_type_info(e.w.layers[0].wq.type)->name, e.g.profile.name,
		        r.synthesized ? "\nvkllm: RANDOM weights: the text below is noise; the timings are real" : "");
		char line[256];
		if (r.chat) fprintf(stderr, "vkllm: chat format %s (%s); the prompt is one user message\n", co.format, co.how);
		if (display.harmony) fprintf(stderr, "vkllm: %s\n", chat_turn_harmony_notice(&r.co, line, sizeof line));
	}
	if (!st && prompt.n == 0) st = fail(VKLLM_E_ARG, "the prompt gives no tokens; give some text with -p or -f");
	if (!st && prompt.n > e.s.fs.n_ctx)
		st = fail(VKLLM_E_CONTEXT_FULL, "the prompt is %zu tokens, more than the context of %u; raise -c or shorten it",
		          prompt.n, e.s.fs.n_ctx);
	struct timings t = {0};
	const char *stop = "";
	if (!st) st = generate(&e, &r, &prompt_text, &prompt, r.chat ? &display : NULL, &gen, &text, &t, &stop);
	if (!st) {
		if (r.json) print_json(&prompt, &gen, &text, r.chat ? &co : NULL, &t, stop);
		else print_timings(&e, &t, stop);
		if (r.eo.session.profile) session_profile_print(&e.s, stderr);
	}
	char msg[1024];
	snprintf(msg, sizeof msg, "%s", vkllm_error());
	int cst = engine_close(&e);
	if (!st && cst) st = cst;
	else if (st) fail(st, "%s", msg);
	tok_text_free(&prompt_text), tok_text_free(&text);
	tok_ids_free(&prompt), tok_ids_free(&gen);
	chat_display_free(&display);
	tok_text_free(&co.prompt), tok_text_free(&co.answer), tok_text_free(&co.reasoning);
	return st ? cli_error(st) : 0;
}
