/* Invariants of the reference forward pass (tests/ref/forward_ref.h), on tiny models vkllm synth
 * writes into a temporary folder:
 *  - a prefill of N tokens, whole or in chunks, gives the logits of N single steps, and they are
 *    finite (every arch, f32; llama, deepseek2, qwen3next, kimi-linear and gpt-oss in q8_0 too);
 *  - sliding-window layers forget: in a gemma3 model whose layers are all local (window w, L
 *    layers), the token at position 0 reaches positions up to L*(w-1) and not one further; with a
 *    global layer it reaches every position;
 *  - REF_LLAMA_CPU numerics on f32 weights only round activations to f32: logits stay within 1e-5;
 *  - deepseek2's latent attention: the naive and absorbed forms give the same logits (V3 layout,
 *    V2-Lite's plain attn_q, the legacy attn_kv_b; f32 and q8_0; with and without the f16 latent
 *    cache), and a legacy file whose attn_kv_b is the split file's attn_k_b / attn_v_b put back
 *    together gives the split file's logits;
 *  - gated DeltaNet archs (qwen3next, qwen35, qwen35moe) and kimi-linear's KDA: the recurrent state
 *    (conv and delta rule) carries from batch to batch (prefill == steps == chunks above, two
 *    batches == one), a new context starts from zeros (the same logits again), a position already
 *    past is refused, and through DeltaNet / KDA layers only, token 0 still moves position 23 far
 *    beyond the conv windows;
 *  - kimi-linear's NoPE latent attention: naive == absorbed, as deepseek2's;
 *  - gpt-oss's attention sinks: the file's sinks move the logits (against sinks of -1e30, which
 *    take no mass), and sinks of +1e4 take all of it, so no position sees another: changing token
 *    0 leaves every later position's logits as they are, bit for bit;
 *  - bad tokens and positions are refused with a message.
 * The llama.cpp comparison itself is tests/oracle/forward_check.mjs. */
#include <stdio.h>
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

/* a tiny deepseek2 (synth's V3 layout) with V2-Lite's plain attn_q and/or the legacy attn_kv_b */
static int open_deepseek2(struct opened *o, int type, bool no_q_lora, bool legacy, bool open)
{
	snprintf(o->path, sizeof o->path, "%s/deepseek2-%d-%d-%d.gguf", dir, type, no_q_lora, legacy);
	struct synth_options so = {.arch = "deepseek2", .type = type, .seed = 5, .out = o->path, .tied = -1, .quiet = true,
	                           .no_q_lora = no_q_lora, .legacy_kv_b = legacy};
	struct synth_result r;
	int st = synth_model(&so, &r);
	if (!st && open) st = model_file_open(&o->m, o->path);
	o->open = open && st == VKLLM_OK;
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
static int run_chunks_as(const struct model_file *m, const uint32_t *ids, uint32_t n, uint32_t chunk, double *logits,
                         enum ref_mla_form form, bool kv_f16)
{
	struct ref_forward *f;
	TRY(ref_forward_create(&f, m, n));
	ref_forward_set_mla_form(f, form);
	ref_forward_set_kv_f16(f, kv_f16);
	uint32_t V = ref_forward_n_vocab(f);
	int st = VKLLM_OK;
	for (uint32_t p = 0; p < n && !st; p += chunk) {
		uint32_t c = n - p < chunk ? n - p : chunk;
		st = ref_forward_batch(f, ids + p, c, p, logits + (uint64_t)p * V, true);
	}
	ref_forward_destroy(f);
	return st;
}

static int run_chunks(const struct model_file *m, const uint32_t *ids, uint32_t n, uint32_t chunk, double *logits)
{
	return run_chunks_as(m, ids, n, chunk, logits, REF_MLA_AUTO, false);
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

/* MLA: naive == absorbed. Both are float64 and differ only in the order of their sums
 * (q_nope.(W_UK c) vs (W_UK^T q_nope).c, and W_UV applied per key or once after the weighted sum),
 * so they agree to double rounding: 1e-10 leaves room for growth through 3 layers and 12
 * positions and is still 7 orders below the f32 noise a wrong form would be hidden in. */
enum { MLA_N = 12 };
static const double MLA_TOL = 1e-10;

static int mla_forms_check(struct opened *o, const char *arch, const char *what, int type)
{
	uint32_t V = o->m.hp.n_vocab, ids[MLA_N];
	for (uint32_t i = 0; i < MLA_N; i++) ids[i] = token_at(i, V);
	uint64_t n = (uint64_t)MLA_N * V;
	double *nv = malloc(sizeof(double) * n), *ab = malloc(sizeof(double) * n), *nv16 = malloc(sizeof(double) * n),
	       *ab16 = malloc(sizeof(double) * n), *steps = malloc(sizeof(double) * n);
	REQUIRE(nv && ab && nv16 && ab16 && steps, "out of memory");
	REQUIRE_OK(run_chunks_as(&o->m, ids, MLA_N, MLA_N, nv, REF_MLA_NAIVE, false));
	REQUIRE_OK(run_chunks_as(&o->m, ids, MLA_N, MLA_N, ab, REF_MLA_ABSORBED, false));
	REQUIRE_OK(run_chunks_as(&o->m, ids, MLA_N, MLA_N, nv16, REF_MLA_NAIVE, true));
	REQUIRE_OK(run_chunks_as(&o->m, ids, MLA_N, MLA_N, ab16, REF_MLA_ABSORBED, true));
	REQUIRE_OK(run_chunks_as(&o->m, ids, MLA_N, 1, steps, REF_MLA_NAIVE, false));
	double d = max_rel_diff(nv, ab, n), d16 = max_rel_diff(nv16, ab16, n), f16 = max_rel_diff(ab, ab16, n);
	double ds = max_rel_diff(nv, steps, n);
	const char *tn = quant_type_info(type)->name;
	EXPECT(d <= MLA_TOL, "%s %s %s: naive vs absorbed logits differ by %g", arch, what, tn, d);
	EXPECT(d16 <= MLA_TOL, "%s %s %s, f16 latent cache: naive vs absorbed differ by %g", arch, what, tn, d16);
	/* the f16 cache must round something, and no more than f16 does (2^-11 per entry) */
	EXPECT(f16 > 0 && f16 < 1e-2, "%s %s %s: the f16 latent cache moves logits by %g", arch, what, tn, f16);
	EXPECT(ds <= 1e-12, "%s %s %s: naive prefill vs single steps differ by %g", arch, what, tn, ds);
	printf("# %-11s %-16s %-4s naive == absorbed (%.1e; f16 cache %.1e, which moves logits %.1e), "
	       "naive prefill == steps (%.1e)\n", arch, what, tn, d, d16, f16, ds);
	free(nv), free(ab), free(nv16), free(ab16), free(steps);
	return 0;
}

static int test_mla_forms(int type, bool no_q_lora, bool legacy)
{
	struct opened o;
	REQUIRE_OK(open_deepseek2(&o, type, no_q_lora, legacy, true));
	const char *what = legacy && no_q_lora ? "attn_q, attn_kv_b" : legacy ? "legacy attn_kv_b" : no_q_lora ? "plain attn_q"
	                                                                                                 : "V3 layout";
	int st = mla_forms_check(&o, "deepseek2", what, type);
	close_synth(&o);
	return st;
}

/* kimi-linear's MLA layers (no RoPE: q_pe and k_pe are plain dims), between KDA layers */
static int test_kimi_mla_forms(int type)
{
	struct opened o;
	REQUIRE_OK(open_synth(&o, "kimi-linear", type, 0, 0));
	int st = mla_forms_check(&o, "kimi-linear", "NoPE", type);
	close_synth(&o);
	return st;
}

/* f32 tensor `name` of a file (NULL: absent or not f32) */
static const float *f32_tensor(const struct model_file *m, const char *name, const struct gguf_tensor **t)
{
	*t = gguf_tensor(&m->gguf, name);
	return *t && (*t)->type == QT_F32 ? (*t)->data : NULL;
}

/* attn_kv_b from attn_k_b and attn_v_b: per head, nope rows of W_UK (k_b holds it transposed)
 * then Dv rows of W_UV, each row kv_lora wide */
static int join_kv_b(const struct model_file *split, uint32_t il, float *kv_b)
{
	char kn[GGUF_MAX_NAME], vn[GGUF_MAX_NAME];
	snprintf(kn, sizeof kn, "blk.%u.attn_k_b.weight", il);
	snprintf(vn, sizeof vn, "blk.%u.attn_v_b.weight", il);
	const struct gguf_tensor *kt, *vt;
	const float *k = f32_tensor(split, kn, &kt), *v = f32_tensor(split, vn, &vt);
	REQUIRE(k && v, "%s or %s missing or not f32", kn, vn);
	uint64_t nope = kt->ne[0], C = kt->ne[1], H = kt->ne[2], Dv = vt->ne[1], r = 0;
	for (uint64_t h = 0; h < H; h++) {
		for (uint64_t d = 0; d < nope; d++, r++)
			for (uint64_t c = 0; c < C; c++) kv_b[r * C + c] = k[(h * C + c) * nope + d];
		for (uint64_t j = 0; j < Dv; j++, r++)
			for (uint64_t c = 0; c < C; c++) kv_b[r * C + c] = v[(h * Dv + j) * C + c];
	}
	return 0;
}

/* The legacy file and the split one of the same seed share every tensor but the up-projections;
 * writing the split file's attn_k_b / attn_v_b into the legacy attn_kv_b (an exact rearrangement
 * in f32) must give the split file's logits, in either form, to double rounding. */
static int test_mla_legacy_is_split(void)
{
	struct opened split, legacy;
	REQUIRE_OK(open_deepseek2(&split, QT_F32, false, false, true));
	REQUIRE_OK(open_deepseek2(&legacy, QT_F32, false, true, false));
	struct gguf_file g;
	REQUIRE_OK(gguf_open(&g, legacy.path));
	FILE *fp = fopen(legacy.path, "r+b");
	REQUIRE(fp, "cannot open %s for writing", legacy.path);
	for (uint32_t il = 0; il < split.m.hp.n_layer; il++) {
		char name[GGUF_MAX_NAME];
		snprintf(name, sizeof name, "blk.%u.attn_kv_b.weight", il);
		const struct gguf_tensor *t = gguf_tensor(&g, name);
		REQUIRE(t && t->type == QT_F32, "%s: no f32 %s", legacy.path, name);
		float *kv_b = malloc(t->size);
		REQUIRE(kv_b, "out of memory");
		REQUIRE(join_kv_b(&split.m, il, kv_b) == 0, "layer %u: cannot join attn_k_b and attn_v_b", il);
		bool ok = fseek(fp, (long)(g.data_offset + t->offset), SEEK_SET) == 0 && fwrite(kv_b, 1, t->size, fp) == t->size;
		free(kv_b);
		REQUIRE(ok, "cannot write %s", name);
	}
	fclose(fp);
	gguf_close(&g);
	REQUIRE_OK(model_file_open(&legacy.m, legacy.path));
	legacy.open = true;

	uint32_t V = split.m.hp.n_vocab, ids[MLA_N];
	for (uint32_t i = 0; i < MLA_N; i++) ids[i] = token_at(i, V);
	uint64_t n = (uint64_t)MLA_N * V;
	double *a = malloc(sizeof(double) * n), *b = malloc(sizeof(double) * n), *c = malloc(sizeof(double) * n);
	REQUIRE(a && b && c, "out of memory");
	REQUIRE_OK(run_chunks_as(&split.m, ids, MLA_N, MLA_N, a, REF_MLA_ABSORBED, false));
	REQUIRE_OK(run_chunks_as(&legacy.m, ids, MLA_N, MLA_N, b, REF_MLA_ABSORBED, false));
	REQUIRE_OK(run_chunks_as(&legacy.m, ids, MLA_N, MLA_N, c, REF_MLA_NAIVE, false));
	double d1 = max_rel_diff(a, b, n), d2 = max_rel_diff(a, c, n);
	EXPECT(d1 <= MLA_TOL, "deepseek2: legacy attn_kv_b (absorbed) vs split attn_k_b/attn_v_b: logits differ by %g", d1);
	EXPECT(d2 <= MLA_TOL, "deepseek2: legacy attn_kv_b (naive) vs split attn_k_b/attn_v_b: logits differ by %g", d2);
	printf("# deepseek2 legacy attn_kv_b joined from the split file == split (absorbed %.1e, naive %.1e)\n", d1, d2);
	free(a), free(b), free(c);
	close_synth(&split);
	close_synth(&legacy);
	return 0;
}

/* The recurrent state of the DeltaNet archs and kimi-linear's KDA. A model of n_layer 3 has DeltaNet
 * layers only (every 4th layer is full attention), so what token 0 does to position p > 3 (K - 1)
 * goes through the delta rule's S: the conv windows alone reach 3 (K - 1) = 9 positions.
 * kimi-linear's last layer is always MLA, so there the witness is the residual stream after its
 * leading KDA layers (layers 0-2; ref_forward_hidden) at the last position. */
static int test_recurrent(const char *arch, int type)
{
	enum { N = 24, SPLIT = 7 };
	struct opened o, g;
	REQUIRE_OK(open_synth(&o, arch, type, 0, 0));
	uint32_t V = o.m.hp.n_vocab, ids[N], other[N];
	for (uint32_t i = 0; i < N; i++) ids[i] = other[i] = token_at(i, V);
	other[0] = (ids[0] + 1) % V;
	uint64_t n = (uint64_t)N * V;
	double *a = malloc(sizeof(double) * n), *b = malloc(sizeof(double) * n), *c = malloc(sizeof(double) * n);
	REQUIRE(a && b && c, "out of memory");
	const char *tn = quant_type_info(type)->name;
	/* one batch, two batches, and one batch again in a new context */
	REQUIRE_OK(run_chunks(&o.m, ids, N, N, a));
	struct ref_forward *f;
	REQUIRE_OK(ref_forward_create(&f, &o.m, N));
	REQUIRE_OK(ref_forward_batch(f, ids, SPLIT, 0, b, true));
	REQUIRE_OK(ref_forward_batch(f, ids + SPLIT, N - SPLIT, SPLIT, b + (uint64_t)SPLIT * V, true));
	/* a position the state has passed cannot be run again */
	int st = ref_forward_batch(f, ids, 1, SPLIT, NULL, false);
	EXPECT(st == VKLLM_E_ARG && strstr(vkllm_error(), "recurrent"), "%s: rerunning position %u accepted (%d: %s)", arch,
	       SPLIT, st, vkllm_error());
	ref_forward_destroy(f);
	REQUIRE_OK(run_chunks(&o.m, ids, N, N, c));
	double d_split = max_rel_diff(a, b, n), d_new = max_rel_diff(a, c, n);
	EXPECT(d_split <= 1e-12, "%s %s: batches of %u + %u vs one of %u: logits differ by %g", arch, tn, SPLIT, N - SPLIT, N,
	       d_split);
	EXPECT(d_new == 0, "%s %s: a new context does not start from a clean state (logits differ by %g)", arch, tn, d_new);

	/* memory through S in DeltaNet layers only */
	REQUIRE_OK(open_synth(&g, arch, type, 3, 0));
	uint32_t n_rec = 0;
	while (n_rec < g.m.hp.n_layer && attn_is_recurrent(g.m.layers[n_rec].attn)) n_rec++;
	double d_far;
	if (n_rec == g.m.hp.n_layer) {
		REQUIRE_OK(run_chunks(&g.m, ids, N, N, a));
		REQUIRE_OK(run_chunks(&g.m, other, N, N, b));
		d_far = max_rel_diff(a + (uint64_t)(N - 1) * V, b + (uint64_t)(N - 1) * V, V);
	} else {
		/* the stream after the leading recurrent layers of the full model, at the last position */
		n_rec = 0;
		while (n_rec < o.m.hp.n_layer && attn_is_recurrent(o.m.layers[n_rec].attn)) n_rec++;
		REQUIRE(n_rec >= 2, "%s: expected at least 2 leading recurrent layers, got %u", arch, n_rec);
		uint32_t E = o.m.hp.n_embd;
		struct ref_forward *fa, *fb;
		REQUIRE_OK(ref_forward_create(&fa, &o.m, N));
		REQUIRE_OK(ref_forward_create(&fb, &o.m, N));
		REQUIRE_OK(ref_forward_batch(fa, ids, N, 0, NULL, false));
		REQUIRE_OK(ref_forward_batch(fb, other, N, 0, NULL, false));
		d_far = max_rel_diff(ref_forward_hidden(fa, n_rec - 1), ref_forward_hidden(fb, n_rec - 1), E);
		ref_forward_destroy(fa);
		ref_forward_destroy(fb);
	}
	uint32_t reach = n_rec * (g.m.hp.ssm_d_conv - 1);
	EXPECT(d_far > 1e-9, "%s %s, %u recurrent layers: token 0 does not reach position %u (diff %g) beyond the conv "
	       "windows' %u: the state S is not carried", arch, tn, n_rec, N - 1, d_far, reach);
	printf("# %-11s %-4s two batches == one (%.1e), new context == fresh (%.1e), rerun refused; through %u recurrent "
	       "layers only: token 0 moves position %u by %.1e (conv reach %u)\n", arch, tn, d_split, d_new, n_rec, N - 1,
	       d_far, reach);
	free(a), free(b), free(c);
	close_synth(&o);
	close_synth(&g);
	return 0;
}

/* gpt-oss's sinks. synth (seed 5) writes the file; every blk.N.attn_sinks.weight (f32) is then
 * overwritten with `value` (NAN: left as synth wrote it). */
static int open_gpt_oss_sinks(struct opened *o, const char *tag, float value)
{
	snprintf(o->path, sizeof o->path, "%s/gpt-oss-sinks-%s.gguf", dir, tag);
	struct synth_options so = {.arch = "gpt-oss", .type = QT_F32, .seed = 5, .out = o->path, .tied = -1, .quiet = true};
	struct synth_result r;
	REQUIRE_OK(synth_model(&so, &r));
	if (!isnan(value)) {
		struct gguf_file g;
		REQUIRE_OK(gguf_open(&g, o->path));
		FILE *fp = fopen(o->path, "r+b");
		REQUIRE(fp, "cannot open %s for writing", o->path);
		for (uint32_t il = 0;; il++) {
			char name[GGUF_MAX_NAME];
			snprintf(name, sizeof name, "blk.%u.attn_sinks.weight", il);
			const struct gguf_tensor *t = gguf_tensor(&g, name);
			if (!t) {
				REQUIRE(il > 0, "%s: no %s", o->path, name);
				break;
			}
			REQUIRE(t->type == QT_F32, "%s is not f32", name);
			bool ok = fseek(fp, (long)(g.data_offset + t->offset), SEEK_SET) == 0;
			for (uint64_t i = 0; ok && i < t->ne[0]; i++) ok = fwrite(&value, sizeof value, 1, fp) == 1;
			REQUIRE(ok, "cannot write %s", name);
		}
		fclose(fp);
		gguf_close(&g);
	}
	REQUIRE_OK(model_file_open(&o->m, o->path));
	o->open = true;
	return 0;
}

static int test_gpt_oss_sinks(void)
{
	enum { N = 12 };
	struct opened file, none, all;
	REQUIRE(open_gpt_oss_sinks(&file, "file", NAN) == 0, "gpt-oss: cannot make the model");
	REQUIRE(open_gpt_oss_sinks(&none, "none", -1e30f) == 0, "gpt-oss: cannot rewrite the sinks");
	REQUIRE(open_gpt_oss_sinks(&all, "all", 1e4f) == 0, "gpt-oss: cannot rewrite the sinks");
	uint32_t V = file.m.hp.n_vocab, a[N], b[N];
	for (uint32_t i = 0; i < N; i++) a[i] = b[i] = token_at(i, V);
	b[0] = (a[0] + 1) % V;
	uint64_t n = (uint64_t)N * V;
	double *lf = malloc(sizeof(double) * n), *ln = malloc(sizeof(double) * n), *la = malloc(sizeof(double) * n),
	       *lb = malloc(sizeof(double) * n), *l16 = malloc(sizeof(double) * n);
	REQUIRE(lf && ln && la && lb && l16, "out of memory");
	REQUIRE_OK(run_chunks(&file.m, a, N, N, lf));
	REQUIRE_OK(run_chunks(&none.m, a, N, N, ln));
	REQUIRE_OK(run_chunks(&all.m, a, N, N, la));
	REQUIRE_OK(run_chunks(&all.m, b, N, N, lb));
	REQUIRE_OK(run_chunks_as(&file.m, a, N, N, l16, REF_MLA_AUTO, true));
	double d_sinks = max_rel_diff(lf, ln, n), d_later = max_rel_diff(la + V, lb + V, n - V), d_first = max_rel_diff(la, lb, V);
	double d_f16 = max_rel_diff(lf, l16, n);
	EXPECT(d_sinks > 1e-3, "gpt-oss: the file's sinks move the logits by only %g (against sinks that take no mass)", d_sinks);
	EXPECT(d_first > 0, "gpt-oss: changing token 0 does not change position 0");
	EXPECT(d_later == 0, "gpt-oss, sinks of 1e4: positions 1..%d still see token 0 (logits differ by %g)", N - 1, d_later);
	EXPECT(d_f16 > 0 && d_f16 < 1e-2, "gpt-oss: the f16 cache moves logits by %g", d_f16);
	printf("# gpt-oss   the file's sinks move logits by %.2f; sinks of 1e4 take all the mass (later positions "
	       "unmoved by token 0: %.1e); f16 cache moves logits %.1e\n", d_sinks, d_later, d_f16);
	free(lf), free(ln), free(la), free(lb), free(l16);
	close_synth(&file);
	close_synth(&none);
	close_synth(&all);
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
	const char *archs[] = {"llama",  "qwen2",  "qwen2moe",  "qwen3",     "qwen3moe", "smollm3",   "olmo2",
	                       "gemma3", "deepseek2", "qwen3next", "qwen35", "qwen35moe", "kimi-linear", "gpt-oss"};
	for (size_t i = 0; i < sizeof archs / sizeof *archs; i++)
		if (test_prefill_equals_steps(archs[i], QT_F32)) break;
	test_prefill_equals_steps("llama", QT_Q8_0);
	test_prefill_equals_steps("deepseek2", QT_Q8_0);
	test_prefill_equals_steps("qwen3next", QT_Q8_0);
	test_prefill_equals_steps("kimi-linear", QT_Q8_0);
	test_prefill_equals_steps("gpt-oss", QT_Q8_0); /* the experts MXFP4 in both */
	const char *gdn[] = {"qwen3next", "qwen35", "qwen35moe", "kimi-linear"};
	for (size_t i = 0; i < sizeof gdn / sizeof *gdn; i++) test_recurrent(gdn[i], QT_F32);
	test_mla_forms(QT_F32, false, false);
	test_mla_forms(QT_F32, true, false);
	test_mla_forms(QT_F32, false, true);
	test_mla_forms(QT_Q8_0, false, false);
	test_mla_forms(QT_Q8_0, true, true);
	test_mla_legacy_is_split();
	test_kimi_mla_forms(QT_F32);
	test_kimi_mla_forms(QT_Q8_0);
	test_window(5, 4); /* gemma3's pattern of 6: five local layers, no global one */
	test_window(6, 4); /* the sixth is global */
	test_gpt_oss_sinks();
	test_llama_cpu_numerics();
	rmdir(dir);
	return test_finish();
}
