/* `vkllm bench -m MODEL [-p 512] [-n 128] [-r 5] [--json]`: whole-model speed in llama-bench's
 * manner. Prefill (pp): p tokens from an empty context, in chunks of -b; decode (tg): n tokens one
 * at a time from an empty context. Each test runs once to warm up (pipelines, caches, page
 * mappings), then r times; the table gives the mean and standard deviation of tokens per second.
 * Token ids are fixed (not sampled): speed does not depend on them.
 *
 * The decode loop's own cost: every graph carries two GPU timestamps (its first command and the end
 * of its last), so each decoded token's wall time splits into the GPU's time on the step and the
 * rest, when the GPU waits for the host (writing the step buffer, submitting, waking on the
 * fence). The step's dispatches and barriers are counted too: inside the step, the GPU idles at
 * each barrier while one kernel drains and the next fills the machine. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/status.h"
#include "cli.h"
#include "engine.h"
#include "loader/quant.h"

struct bench_stats {
	double mean, sd;
};

static struct bench_stats stats(const double *tps, int n)
{
	struct bench_stats s = {0, 0};
	for (int i = 0; i < n; i++) s.mean += tps[i] / n;
	for (int i = 0; n > 1 && i < n; i++) s.sd += (tps[i] - s.mean) * (tps[i] - s.mean) / (n - 1);
	s.sd = sqrt(s.sd);
	return s;
}

/* the decode loop over the measured repetitions, per token */
struct decode_loop {
	double wall_s, gpu_s; /* sums */
	uint64_t tokens;
	uint32_t dispatches, barriers; /* of one step */
};

/* tokens/s of each repetition (rep -1 is the warm-up) */
static int run_test(struct engine *e, const uint32_t *ids, uint32_t count, bool decode, int reps, double *tps,
                    struct decode_loop *loop)
{
	for (int r = -1; r < reps; r++) {
		TRY(session_rewind(&e->s, 0));
		double t0 = cli_now();
		if (decode)
			for (uint32_t i = 0; i < count; i++) {
				double ts = cli_now(), ns;
				TRY(session_eval(&e->s, &ids[i], 1, false, NULL));
				double wall = cli_now() - ts;
				TRY(session_last_span(&e->s, &ns, &loop->dispatches, &loop->barriers));
				if (r >= 0) loop->wall_s += wall, loop->gpu_s += ns * 1e-9, loop->tokens++;
			}
		else TRY(session_eval(&e->s, ids, count, false, NULL));
		double secs = cli_now() - t0;
		if (r >= 0) tps[r] = count / secs;
	}
	return VKLLM_OK;
}

int cmd_bench_model(int argc, char **argv)
{
	struct engine_options eo = {.device_index = -1, .session = {.kv_type = ATTN_KV_F16, .n_cand = 1, .span = true}};
	long p = 512, n = 128, reps = 5;
	bool json = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		long x;
		if (!strcmp(a, "--json")) {
			json = true;
			continue;
		}
		if (!v) return cli_bad_arg("bench", "missing value for", a);
		i++;
		if (!strcmp(a, "-m") || !strcmp(a, "--model")) eo.model = v;
		else if (!strcmp(a, "-p") || !strcmp(a, "-n") || !strcmp(a, "-r") || !strcmp(a, "-b") || !strcmp(a, "--device")) {
			if (!cli_parse_int(v, 1 << 20, &x)) return cli_bad_arg("bench", "expected a count after", a);
			if (!strcmp(a, "-p")) p = x;
			else if (!strcmp(a, "-n")) n = x;
			else if (!strcmp(a, "-r")) reps = x;
			else if (!strcmp(a, "-b")) eo.session.n_batch = (uint32_t)x;
			else eo.device_index = (int)x;
		} else if (!strcmp(a, "--cache-type") || !strcmp(a, "-ctk")) {
			if (!cli_parse_cache_type(v, &eo.session.kv_type)) return cli_bad_arg("bench", "--cache-type is f16 or f32, got", v);
		} else return cli_bad_arg("bench", a[0] == '-' ? "unknown option" : "unexpected argument", a);
	}
	if (reps < 1 || reps > 1000) return cli_bad_arg("bench", "-r needs 1 to 1000 repetitions, got", argv[argc - 1]);
	if (p == 0 && n == 0) return cli_bad_arg("bench", "nothing to measure:", "-p 0 -n 0");
	eo.session.n_ctx = (uint32_t)(p > n ? p : n);
	if (eo.session.n_batch == 0) eo.session.n_batch = p > 0 && p < 512 ? (uint32_t)p : 512;
	eo.quiet = json;

	struct engine e;
	int st = engine_open(&e, &eo);
	if (st) return cli_error(st);
	uint32_t V = e.m.hp.n_vocab, count = (uint32_t)(p > n ? p : n);
	uint32_t *ids = malloc((size_t)count * sizeof *ids);
	double *tps = calloc((size_t)reps * 2, sizeof *tps);
	if (!ids || !tps) st = fail(VKLLM_E_NOMEM, "out of host memory");
	for (uint32_t i = 0; !st && i < count; i++) ids[i] = (i * 7919u + 13u) % V;
	struct bench_stats pp = {0, 0}, tg = {0, 0};
	struct decode_loop loop = {0};
	if (!st && p > 0 && !(st = run_test(&e, ids, (uint32_t)p, false, (int)reps, tps, &loop))) pp = stats(tps, (int)reps);
	if (!st && n > 0 && !(st = run_test(&e, ids, (uint32_t)n, true, (int)reps, tps + reps, &loop)))
		tg = stats(tps + reps, (int)reps);
	double wall_us = loop.tokens ? 1e6 * loop.wall_s / loop.tokens : 0, gpu_us = loop.tokens ? 1e6 * loop.gpu_s / loop.tokens : 0;
	if (!st) {
		const char *name = e.m.hp.name[0] ? e.m.hp.name : e.m.arch->name;
		const char *type = quant_type_info(e.w.layers[0].wq.type)->name;
		/* decode is bound by the weight bytes each token reads: as a rate, against the device's copy peak */
		uint64_t decode_bytes = model_weights_decode_bytes(&e.w, e.m.hp.n_expert_used);
		if (json) {
			struct json j;
			json_init(&j, stdout);
			json_object_begin(&j);
			json_key(&j, "model"), json_string(&j, name);
			json_key(&j, "type"), json_string(&j, type);
			json_key(&j, "device"), json_string(&j, e.g.profile.name);
			json_key(&j, "driver"), json_string(&j, e.g.profile.driver_info);
			json_key(&j, "n_layer"), json_u64(&j, e.m.hp.n_layer);
			json_key(&j, "pp"), json_u64(&j, (uint64_t)p);
			json_key(&j, "tg"), json_u64(&j, (uint64_t)n);
			json_key(&j, "reps"), json_u64(&j, (uint64_t)reps);
			json_key(&j, "pp_tps"), json_double(&j, pp.mean);
			json_key(&j, "pp_sd"), json_double(&j, pp.sd);
			json_key(&j, "tg_tps"), json_double(&j, tg.mean);
			json_key(&j, "tg_sd"), json_double(&j, tg.sd);
			json_key(&j, "weights_bytes"), json_u64(&j, e.w.bytes);
			json_key(&j, "decode_bytes"), json_u64(&j, decode_bytes);
			json_key(&j, "tg_gbs"), json_double(&j, tg.mean * (double)decode_bytes / 1e9);
			if (loop.tokens) {
				json_key(&j, "tg_wall_us"), json_double(&j, wall_us);
				json_key(&j, "tg_gpu_us"), json_double(&j, gpu_us);
				json_key(&j, "tg_host_us"), json_double(&j, wall_us - gpu_us);
				json_key(&j, "tg_dispatches"), json_u64(&j, loop.dispatches);
				json_key(&j, "tg_barriers"), json_u64(&j, loop.barriers);
			}
			json_object_end(&j);
			fputc('\n', stdout);
		} else {
			printf("| model | type | layers | device | test | t/s |\n|---|---|---|---|---|---|\n");
			if (p > 0)
				printf("| %s | %s | %u | %s | pp%ld | %.2f ± %.2f |\n", name, type, e.m.hp.n_layer, e.g.profile.name, p, pp.mean, pp.sd);
			if (n > 0) {
				printf("| %s | %s | %u | %s | tg%ld | %.2f ± %.2f |\n", name, type, e.m.hp.n_layer, e.g.profile.name, n, tg.mean, tg.sd);
				printf("\ndecode reads %.3f GB of weights a token: %.1f GB/s at tg%ld (the KV cache not counted)\n",
				       (double)decode_bytes / 1e9, tg.mean * (double)decode_bytes / 1e9, n);
				printf("decode loop: %.1f us a token; the GPU's step %.1f us from first command to last (%u dispatches, "
				       "%u barriers); %.1f us (%.1f%%) the GPU waits on the host between steps\n",
				       wall_us, gpu_us, loop.dispatches, loop.barriers, wall_us - gpu_us,
				       wall_us > 0 ? 100.0 * (wall_us - gpu_us) / wall_us : 0.0);
			}
		}
	}
	free(ids);
	free(tps);
	char msg[1024];
	snprintf(msg, sizeof msg, "%s", vkllm_error());
	int cst = engine_close(&e);
	if (!st && cst) st = cst;
	else if (st) fail(st, "%s", msg);
	return st ? cli_error(st) : 0;
}
