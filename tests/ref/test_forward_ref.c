/* Invariants of the reference forward pass (tests/ref/forward_ref.h), on tiny models vkllm synth
 * writes into a temporary folder:
 *  - a prefill of N tokens, whole or in chunks, gives the logits of N single steps, and they are
 *    finite (every arch, f32; llama in q8_0 too);
 *  - sliding-window layers forget: in a gemma3 model whose layers are all local (window w, L
 *    layers), the token at position 0 reaches positions up to L*(w-1) and not one further; with a
 *    global layer it reaches every position;
 *  - REF_LLAMA_CPU numerics on f32 weights only round activations to f32: logits stay within 1e-5;
 *  - bad tokens and positions are refused with a message.
 * The llama.cpp comparison itself is tests/oracle/forward_check.mjs. */
#include <stdlib.h>
#include <unistd.h>

#include "base/status.h"
#include "loader/quant.h"
#include "model/model.h"
#include "model/synth.h"
#include "ref/forward_ref.h"
#include "test.h"

static char dir[64];

struct opened {
	char path[256];
	struct model_file m;
	bool open;
};

static int open_synth(struct opened *o, const char *arch, int type, uint32_t n_layer, uint32_t n_swa)
{
	snprintf(o->path, sizeof o->path, "%s/%s-%d-%u-%u.gguf", dir, arch, type, n_layer, n_swa);
	struct synth_options so = {.arch = arch, .type = type, .seed = 5, .out = o->path, .n_layer = n_layer,
	                           .n_swa = n_swa, .tied = -1, .quiet = true};
	struct synth_result r;
	int st = synth_model(&so, &r);
	if (!st) st = model_file_open(&o->m, o->path);
	o->open = st == VKLLM_OK;
	return st;
}

static void close_synth(struct opened *o)
{
	if (o->open) model_file_close(&o->m);
	unlink(o->path);
}

static double max_rel_diff(const double *a, const double *b, uint64_t n)
{
	double d = 0;
	for (uint64_t i = 0; i < n; i++) d = fmax(d, fabs(a[i] - b[i]) / (1.0 + fabs(a[i])));
	return d;
}

static uint32_t token_at(uint32_t i, uint32_t n_vocab) { return (i * 37u + 5u) % n_vocab; }

/* logits [n][V] of tokens 0..n-1, run in chunks of `chunk` (1: single steps) */
static int run_chunks(const struct model_file *m, const uint32_t *ids, uint32_t n, uint32_t chunk, double *logits)
{
	struct ref_forward *f;
	TRY(ref_forward_create(&f, m, n));
	uint32_t V = ref_forward_n_vocab(f);
	int st = VKLLM_OK;
	for (uint32_t p = 0; p < n && !st; p += chunk) {
		uint32_t c = n - p < chunk ? n - p : chunk;
		st = ref_forward_batch(f, ids + p, c, p, logits + (uint64_t)p * V, true);
	}
	ref_forward_destroy(f);
	return st;
}

static int test_prefill_equals_steps(const char *arch, int type)
{
	enum { N = 12 };
	struct opened o;
	REQUIRE_OK(open_synth(&o, arch, type, 0, 0));
	uint32_t V = o.m.hp.n_vocab, ids[N];
	for (uint32_t i = 0; i < N; i++) ids[i] = token_at(i, V);
	double *whole = malloc(sizeof(double) * N * V), *steps = malloc(sizeof(double) * N * V),
	       *chunks = malloc(sizeof(double) * N * V);
	REQUIRE(whole && steps && chunks, "out of memory");
	REQUIRE_OK(run_chunks(&o.m, ids, N, N, whole));
	REQUIRE_OK(run_chunks(&o.m, ids, N, 1, steps));
	REQUIRE_OK(run_chunks(&o.m, ids, N, 5, chunks));
	bool finite = true;
	double lo = INFINITY, hi = -INFINITY;
	for (uint64_t i = 0; i < (uint64_t)N * V; i++) {
		finite = finite && isfinite(whole[i]);
		lo = fmin(lo, whole[i]), hi = fmax(hi, whole[i]);
	}
	EXPECT(finite, "%s %s: a logit is not finite", arch, quant_type_info(type)->name);
	EXPECT(hi - lo > 1e-3, "%s: logits all alike (%g..%g): a dead model tests nothing", arch, lo, hi);
	double d1 = max_rel_diff(whole, steps, (uint64_t)N * V), d2 = max_rel_diff(whole, chunks, (uint64_t)N * V);
	EXPECT(d1 <= 1e-12, "%s %s: prefill of %d vs %d single steps: logits differ by %g", arch,
	       quant_type_info(type)->name, N, N, d1);
	EXPECT(d2 <= 1e-12, "%s %s: prefill in chunks of 5 vs whole: logits differ by %g", arch, quant_type_info(type)->name,
	       d2);
	printf("# %-8s %-4s prefill == steps (%.1e), == chunks (%.1e), logits %.2f..%.2f\n", arch,
	       quant_type_info(type)->name, d1, d2, lo, hi);
	free(whole);
	free(steps);
	free(chunks);
	close_synth(&o);
	return 0;
}

/* Two sequences that differ only at position 0: which positions' logits change? */
static int test_window(uint32_t n_layer, uint32_t n_swa)
{
	enum { N = 24 };
	struct opened o;
	REQUIRE_OK(open_synth(&o, "gemma3", QT_F32, n_layer, n_swa));
	uint32_t V = o.m.hp.n_vocab, a[N], b[N];
	for (uint32_t i = 0; i < N; i++) a[i] = b[i] = token_at(i, V);
	b[0] = (a[0] + 1) % V;
	double *la = malloc(sizeof(double) * N * V), *lb = malloc(sizeof(double) * N * V);
	REQUIRE(la && lb, "out of memory");
	REQUIRE_OK(run_chunks(&o.m, a, N, N, la));
	REQUIRE_OK(run_chunks(&o.m, b, N, N, lb));
	bool all_local = true;
	for (uint32_t il = 0; il < n_layer; il++) all_local = all_local && o.m.layers[il].swa;
	/* each local layer widens what a position sees by n_swa - 1 */
	uint32_t reach = n_layer * (n_swa - 1);
	for (uint32_t p = 1; p < N; p++) {
		double d = max_rel_diff(la + (uint64_t)p * V, lb + (uint64_t)p * V, V);
		if (!all_local || p <= reach)
			EXPECT(d > 0, "gemma3 %u layers, window %u: position %u does not see position 0 (it should)", n_layer, n_swa, p);
		else
			EXPECT(d == 0, "gemma3 %u local layers, window %u: position %u sees position 0 (diff %g), beyond the reach %u",
			       n_layer, n_swa, p, d, reach);
	}
	printf("# gemma3 %u layers (%s), window %u: position 0 reaches %s\n", n_layer, all_local ? "all local" : "one global",
	       n_swa, all_local ? "exactly its receptive field" : "every position");
	free(la);
	free(lb);
	close_synth(&o);
	return 0;
}

static int test_llama_cpu_numerics(void)
{
	struct opened o;
	REQUIRE_OK(open_synth(&o, "llama", QT_F32, 0, 0));
	uint32_t V = o.m.hp.n_vocab, ids[6];
	for (uint32_t i = 0; i < 6; i++) ids[i] = token_at(i, V);
	double *x = malloc(sizeof(double) * V), *y = malloc(sizeof(double) * V);
	struct ref_forward *f, *g;
	REQUIRE_OK(ref_forward_create(&f, &o.m, 6));
	REQUIRE_OK(ref_forward_create(&g, &o.m, 6));
	ref_forward_set_numerics(g, REF_LLAMA_CPU);
	REQUIRE_OK(ref_forward_batch(f, ids, 6, 0, x, false));
	REQUIRE_OK(ref_forward_batch(g, ids, 6, 0, y, false));
	double d = max_rel_diff(x, y, V);
	EXPECT(d > 0 && d < 1e-5, "f32 weights: llama-cpu numerics should round activations to f32 only (diff %g)", d);

	/* refusals */
	uint32_t bad = V;
	EXPECT(ref_forward_token(f, bad, 0, x) == VKLLM_E_ARG, "token %u past the vocabulary accepted", bad);
	EXPECT(ref_forward_token(f, ids[0], 6, x) == VKLLM_E_ARG, "position 6 past a context of 6 accepted");
	EXPECT(strstr(vkllm_error(), "context") != NULL, "message: %s", vkllm_error());
	ref_forward_destroy(f);
	ref_forward_destroy(g);
	free(x);
	free(y);
	close_synth(&o);
	return 0;
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/vkllm-forward-ref-XXXXXX");
	bool made = mkdtemp(dir) != NULL; /* REQUIRE evaluates its condition twice */
	REQUIRE(made, "cannot make a temporary folder");
	const char *archs[] = {"llama", "qwen2", "qwen3", "qwen3moe", "smollm3", "olmo2", "gemma3"};
	for (size_t i = 0; i < sizeof archs / sizeof *archs; i++)
		if (test_prefill_equals_steps(archs[i], QT_F32)) break;
	test_prefill_equals_steps("llama", QT_Q8_0);
	test_window(5, 4); /* gemma3's pattern of 6: five local layers, no global one */
	test_window(6, 4); /* the sixth is global */
	test_llama_cpu_numerics();
	rmdir(dir);
	return test_finish();
}
