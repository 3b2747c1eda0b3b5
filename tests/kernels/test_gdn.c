/* Gated DeltaNet kernels (host/ops/gdn.h) against tests/ref/gdn_ref.c, and the chunked prefill
 * against the recurrent kernel on the GPU.
 *
 * Tolerances, and why:
 * - conv: |y - ref| <= 1e-5 |ref| + 1e-6. K f32 products summed in order plus one exp: a few ulp of the
 *   inputs' size (|x|, |w| <= 1). The carried state is a copy of inputs: compared exactly.
 * - gated norm: 1e-5 |ref| + 1e-6, as test_norm (an f32 sum of squares of <= 256 values, a rsqrt,
 *   three products and an exp).
 * - delta rule (recurrent vs gdn_step_ref, chunked vs the reference and vs the recurrent kernel):
 *   |err| <= 2e-5 (|ref| + rms(ref)), o and the final state each with its own rms. Every token's step
 *   is dot products of Dk <= 256 f32 terms (relative rounding ~ sqrt(Dk) 6e-8 ~ 1e-6); the state
 *   carries the rounding forward but the step is a contraction (exp(g) <= 1, I - beta k k^T with
 *   |k| = 1, 0 < beta < 1), so it does not grow with the number of tokens, and the chunked form
 *   (forward substitution over 64 rows, e^{G_i - G_j} <= 1) is as well conditioned. The rms term
 *   covers outputs near zero that come from sums of O(rms) terms.
 *   Measured worst ratios are printed per case (# lines): on lavapipe (Mesa 22.3) at most 0.22 of the
 *   tolerance (chunked vs recurrent, 1000 tokens, Dk 64 / Dv 128), recurrent vs reference at most 0.09.
 * - KDA (per-channel gates) under the same tolerance: the same argument holds channel by channel
 *   (every e^{G_i[c] - G_j[c]} <= 1, formed pairwise). The strong-decay cases put e^-3 .. e^-12 a
 *   token in a quarter of the channels, so a chunk's cumulative decay reaches e^-500 (printed), where
 *   a factored e^{G_i} e^{-G_j} would overflow f32; another quarter decays by at most e^-0.02 a
 *   token. Measured on lavapipe: at most 0.40 of the tolerance (chunked vs recurrent, Dk = Dv = 256,
 *   700 tokens, where the recurrent kernel itself is 0.39 from the reference and the chunked 0.10).
 * - gates: g within 2e-6 |ssm_a| (1 + |x|), x = a + dt_bias: the f32 sum rounds at 6e-8 |x| and
 *   softplus' slope is at most 1; Vulkan's exp is good to (3 + 2|x|) ulp and log to 2^-21 absolute
 *   near 1. beta within 1e-6 (1 + |b|) beta + 1e-7 (the exp of -b, then a division). a and b span
 *   [-30, 30]: both sides of softplus' x > 20 switch and sigmoid's tails.
 * `test_gdn --bench` (or VKLLM_GDN_BENCH=1) times the Qwen3-Next shape: one decode step, 512 tokens
 * chunked and recurrent.
 * Inputs: q, k, v in [-1, 1], g in [-0.6, 0] (exp(g) >= 0.55: a slow decay keeps 1000-token history
 * in play; KDA's strong-decay cases above differ), beta in [0.05, 0.95], the initial state in [-0.5, 0.5] (a state carried from earlier).
 * The kernels L2-normalise q, k themselves (qk_l2norm, eps 1e-6); the reference does it with
 * l2_norm_ref first. scale = 1/sqrt(Dk). */
#include "ref/gdn_ref.h"
#include "small_ops_util.h"
#include "ops/gdn.h"

#include <time.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static float *rand_array(size_t n, uint64_t *seed, float lo, float hi)
{
	float *a = malloc(n * 4 + 4);
	for (size_t i = 0; i < n; i++) a[i] = lo + (test_randf(seed) * 0.5f + 0.5f) * (hi - lo);
	return a;
}

/* err <= rel (|ref| + rms(ref)) + abs over n values; returns misses, *worst = max err / tol */
static int check_rel_rms(const char *what, const float *got, const double *ref, size_t n, double rel, double *worst)
{
	double ss = 0;
	for (size_t i = 0; i < n; i++) ss += ref[i] * ref[i];
	double rms = sqrt(ss / (double)n);
	int bad = 0;
	*worst = 0;
	for (size_t i = 0; i < n; i++) {
		double tol = rel * (fabs(ref[i]) + rms) + 1e-30, err = fabs((double)got[i] - ref[i]);
		if (!(err <= tol) && bad++ < 4)
			fprintf(stderr, "  %s[%zu] = %.9g, reference %.9g (tolerance %.3g)\n", what, i, got[i], ref[i], tol);
		if (!(err / tol <= *worst)) *worst = err / tol;
	}
	return bad;
}

/* ---------------------------------------------------------------- conv */

static int conv_case(struct gpu *g, uint32_t C, uint32_t K, uint32_t T1, uint32_t T2, uint64_t *seed)
{
	uint32_t T = T1 + T2, xs = C + 3; /* strided tokens in x */
	float *x = rand_array((size_t)T * xs, seed, -1, 1), *w = rand_array((size_t)C * K, seed, -1, 1);
	float *s0 = rand_array((size_t)(K - 1) * C, seed, -1, 1);
	double *st = malloc(sizeof(double) * (K - 1) * C), *xd = malloc(sizeof(double) * C), *yd = malloc(sizeof(double) * C);
	double *wd = malloc(sizeof(double) * C * K);
	float *yref = malloc((size_t)T * C * 4), *got = malloc((size_t)T * C * 4), *sref = malloc((size_t)(K - 1) * C * 4);
	for (size_t i = 0; i < (size_t)(K - 1) * C; i++) st[i] = s0[i];
	for (size_t i = 0; i < (size_t)C * K; i++) wd[i] = w[i];
	for (uint32_t t = 0; t < T; t++) {
		for (uint32_t c = 0; c < C; c++) xd[c] = x[(size_t)t * xs + c];
		short_conv_step_ref(yd, st, xd, wd, C, K);
		for (uint32_t c = 0; c < C; c++) yref[(size_t)t * C + c] = (float)yd[c];
	}
	for (size_t i = 0; i < (size_t)(K - 1) * C; i++) sref[i] = (float)st[i];

	struct gpu_buffer xb, wb, sb, yb;
	REQUIRE_OK(buf_make(g, &xb, "x", x, (size_t)T * xs * 4, 4));
	REQUIRE_OK(buf_make(g, &wb, "w", w, (size_t)C * K * 4, 0));
	REQUIRE_OK(buf_make(g, &sb, "state", s0, (size_t)(K - 1) * C * 4, 8));
	REQUIRE_OK(buf_make(g, &yb, "y", NULL, (size_t)T * C * 4, 0));
	struct gpu_rec rec;
	REQUIRE_OK(gpu_rec_begin(g, &rec));
	struct gpu_view sv = view_at(&sb, 8, (size_t)(K - 1) * C * 4), wv = view_at(&wb, 0, (size_t)C * K * 4);
	REQUIRE_OK(op_gdn_conv(&rec, view_at(&yb, 0, (size_t)T1 * C * 4), sv, view_at(&xb, 4, (size_t)T1 * xs * 4), wv, T1,
	                       C, K, xs, 0));
	if (T2)
		REQUIRE_OK(op_gdn_conv(&rec, view_at(&yb, (size_t)T1 * C * 4, (size_t)T2 * C * 4), sv,
		                       view_at(&xb, 4 + (size_t)T1 * xs * 4, (size_t)T2 * xs * 4), wv, T2, C, K, xs, 0));
	REQUIRE_OK(gpu_rec_end(&rec));
	REQUIRE_OK(gpu_rec_submit_wait(&rec));
	REQUIRE_OK(gpu_download(g, got, &yb, 0, (size_t)T * C * 4));
	double *tol = malloc(sizeof(double) * T * C), worst;
	for (size_t i = 0; i < (size_t)T * C; i++) tol[i] = 1e-5 * fabs(yref[i]) + 1e-6;
	int bad = check_close("y", got, yref, tol, (size_t)T * C, &worst);
	EXPECT(bad == 0, "gdn_conv C %u K %u tokens %u + %u: %d values off (worst %.2f x tolerance)", C, K, T1, T2, bad, worst);
	float *sgot = malloc((size_t)(K - 1) * C * 4);
	REQUIRE_OK(gpu_download(g, sgot, &sb, 8, (size_t)(K - 1) * C * 4));
	EXPECT(memcmp(sgot, sref, (size_t)(K - 1) * C * 4) == 0, "gdn_conv C %u K %u tokens %u + %u: carried state differs",
	       C, K, T1, T2);
	printf("# conv C %u K %u tokens %u + %u: worst %.3f x tolerance\n", C, K, T1, T2, worst);
	gpu_rec_destroy(&rec);
	gpu_buffer_destroy(g, &xb), gpu_buffer_destroy(g, &wb), gpu_buffer_destroy(g, &sb), gpu_buffer_destroy(g, &yb);
	free(x), free(w), free(s0), free(st), free(xd), free(yd), free(wd), free(yref), free(got), free(sref), free(tol);
	free(sgot);
	return 0;
}

/* ---------------------------------------------------------------- delta rule */

struct dcase {
	uint32_t T, Hk, Hv, Dk, Dv;
	bool tiled, per_channel;
	bool strong; /* per channel: strong decays in some channels (KDA_STRONG) */
};

struct dinputs {
	struct dcase c;
	uint32_t qs, vs; /* token strides of q/k and v/o (padded: strided views) */
	float *q, *k, *v, *g, *beta, *s0;
};

static void inputs_make(struct dinputs *in, struct dcase c, uint64_t *seed)
{
	in->c = c;
	in->qs = c.Hk * c.Dk + 1;
	in->vs = c.Hv * c.Dv;
	in->q = rand_array((size_t)c.T * in->qs, seed, -1, 1);
	in->k = rand_array((size_t)c.T * in->qs, seed, -1, 1);
	in->v = rand_array((size_t)c.T * in->vs, seed, -1, 1);
	in->g = rand_array((size_t)c.T * c.Hv * (c.per_channel ? c.Dk : 1), seed, -0.6f, 0);
	if (c.per_channel && c.strong)
		for (size_t i = 0; i < (size_t)c.T * c.Hv * c.Dk; i++) {
			float u = test_randf(seed) * 0.5f + 0.5f; /* [0, 1) */
			switch (i % c.Dk % 4) {
			case 0: in->g[i] = -3.0f - 9.0f * u; break; /* e^-3 .. e^-12 a step: a chunk sums to ~ -480 */
			case 1: in->g[i] = -0.02f * u; break;       /* almost no decay: long memory in these rows */
			default: break;                             /* the usual [-0.6, 0] */
			}
		}
	in->beta = rand_array((size_t)c.T * c.Hv, seed, 0.05f, 0.95f);
	in->s0 = rand_array((size_t)c.Hv * c.Dk * c.Dv, seed, -0.5f, 0.5f);
}

static void inputs_free(struct dinputs *in)
{
	free(in->q), free(in->k), free(in->v), free(in->g), free(in->beta), free(in->s0);
}

/* reference over all T tokens: o [T][Hv][Dv], S [Hv][Dk][Dv] */
static void run_ref(const struct dinputs *in, double *o, double *S)
{
	struct dcase c = in->c;
	size_t nq = (size_t)c.Hk * c.Dk, ng = (size_t)c.Hv * (c.per_channel ? c.Dk : 1);
	double *q = malloc(8 * nq), *k = malloc(8 * nq), *v = malloc(8 * (size_t)c.Hv * c.Dv), *gg = malloc(8 * ng);
	double *b = malloc(8 * (size_t)c.Hv);
	for (size_t i = 0; i < (size_t)c.Hv * c.Dk * c.Dv; i++) S[i] = in->s0[i];
	for (uint32_t t = 0; t < c.T; t++) {
		for (size_t i = 0; i < nq; i++) q[i] = in->q[t * in->qs + i], k[i] = in->k[t * in->qs + i];
		for (uint32_t h = 0; h < c.Hk; h++) {
			l2_norm_ref(q + h * c.Dk, q + h * c.Dk, c.Dk, 1e-6);
			l2_norm_ref(k + h * c.Dk, k + h * c.Dk, c.Dk, 1e-6);
		}
		for (size_t i = 0; i < (size_t)c.Hv * c.Dv; i++) v[i] = in->v[(size_t)t * in->vs + i];
		for (size_t i = 0; i < ng; i++) gg[i] = in->g[t * ng + i];
		for (uint32_t h = 0; h < c.Hv; h++) b[h] = in->beta[(size_t)t * c.Hv + h];
		gdn_step_ref(o + (size_t)t * c.Hv * c.Dv, S, q, k, v, gg, b, c.Hk, c.Hv, c.Dk, c.Dv,
		             c.tiled ? GDN_HEADS_TILED : GDN_HEADS_INTERLEAVED, c.per_channel, 1.0 / sqrt(c.Dk));
	}
	free(q), free(k), free(v), free(gg), free(b);
}

enum run_mode { RUN_RECURRENT, RUN_CHUNKED, RUN_CHUNKED_THEN_DECODE };

/* GPU run over all tokens; CHUNKED_THEN_DECODE: chunked over the first T - n_decode tokens, then
 * n_decode single-token recurrent calls, each its own op call in one recording. Returns seconds of
 * the best of `reps` submits (the state is re-uploaded before each). */
static double run_gpu(struct gpu *g, const struct dinputs *in, enum run_mode mode, uint32_t n_decode, float *o, float *S,
                      int reps)
{
	struct dcase c = in->c;
	size_t qb = (size_t)c.T * in->qs * 4, vb = (size_t)c.T * in->vs * 4;
	size_t gb = (size_t)c.T * c.Hv * (c.per_channel ? c.Dk : 1) * 4, bb = (size_t)c.T * c.Hv * 4;
	size_t sb = (size_t)c.Hv * c.Dk * c.Dv * 4;
	struct gpu_buffer Qb, Kb, Vb, Gb, Bb, Sb, Ob, Xb;
	REQUIRE_OK(buf_make(g, &Qb, "q", in->q, qb, 0));
	REQUIRE_OK(buf_make(g, &Kb, "k", in->k, qb, 4));
	REQUIRE_OK(buf_make(g, &Vb, "v", in->v, vb, 0));
	REQUIRE_OK(buf_make(g, &Gb, "g", in->g, gb, 0));
	REQUIRE_OK(buf_make(g, &Bb, "beta", in->beta, bb, 0));
	REQUIRE_OK(buf_make(g, &Sb, "state", in->s0, sb, 0));
	REQUIRE_OK(buf_make(g, &Ob, "o", NULL, vb, 0));
	struct gdn_desc d = {.n_tokens = c.T, .n_head_k = c.Hk, .n_head_v = c.Hv, .head_dim_k = c.Dk, .head_dim_v = c.Dv,
	                     .heads_tiled = c.tiled, .gate_per_channel = c.per_channel, .qk_l2norm = true,
	                     .l2_eps = 1e-6f, .scale = (float)(1.0 / sqrt(c.Dk)), .q_stride = in->qs, .k_stride = in->qs};
	uint32_t Tp = mode == RUN_CHUNKED_THEN_DECODE ? c.T - n_decode : c.T;
	struct gdn_desc dp = d;
	dp.n_tokens = Tp;
	REQUIRE_OK(buf_make(g, &Xb, "scratch", NULL, op_gdn_chunked_scratch_bytes(&dp) + 4, 0));
	struct gpu_rec rec;
	REQUIRE_OK(gpu_rec_begin(g, &rec));
	struct gpu_view sv = view_at(&Sb, 0, sb), xv = view_at(&Xb, 0, op_gdn_chunked_scratch_bytes(&dp));
/* a view from token t on (K's data starts 4 bytes in: an unaligned offset) */
#define TV(buf, t, per) view_at(&buf, (size_t)(t) * (per) * 4 + ((&buf == &Kb) ? 4 : 0), 0)
	if (mode == RUN_RECURRENT) {
		REQUIRE_OK(op_gdn_recurrent(&rec, TV(Ob, 0, 0), sv, TV(Qb, 0, 0), TV(Kb, 0, 0), TV(Vb, 0, 0), TV(Gb, 0, 0),
		                            TV(Bb, 0, 0), &d));
	} else {
		if (Tp)
			REQUIRE_OK(op_gdn_chunked(&rec, TV(Ob, 0, 0), sv, xv, TV(Qb, 0, 0), TV(Kb, 0, 0), TV(Vb, 0, 0), TV(Gb, 0, 0),
			                          TV(Bb, 0, 0), &dp));
		uint32_t gper = c.Hv * (c.per_channel ? c.Dk : 1);
		struct gdn_desc d1 = d;
		d1.n_tokens = 1;
		for (uint32_t t = Tp; t < c.T; t++)
			REQUIRE_OK(op_gdn_recurrent(&rec, TV(Ob, t, in->vs), sv, TV(Qb, t, in->qs), TV(Kb, t, in->qs),
			                            TV(Vb, t, in->vs), TV(Gb, t, gper), TV(Bb, t, c.Hv), &d1));
	}
#undef TV
	REQUIRE_OK(gpu_rec_end(&rec));
	double best = 1e30;
	for (int r = 0; r < reps; r++) {
		REQUIRE_OK(gpu_upload(g, &Sb, 0, in->s0, sb));
		double t0 = now_s();
		REQUIRE_OK(gpu_rec_submit_wait(&rec));
		double dt = now_s() - t0;
		if (dt < best) best = dt;
	}
	REQUIRE_OK(gpu_download(g, o, &Ob, 0, vb));
	REQUIRE_OK(gpu_download(g, S, &Sb, 0, sb));
	gpu_rec_destroy(&rec);
	gpu_buffer_destroy(g, &Qb), gpu_buffer_destroy(g, &Kb), gpu_buffer_destroy(g, &Vb), gpu_buffer_destroy(g, &Gb);
	gpu_buffer_destroy(g, &Bb), gpu_buffer_destroy(g, &Sb), gpu_buffer_destroy(g, &Ob), gpu_buffer_destroy(g, &Xb);
	return best;
}

#define DELTA_REL 2e-5

static int delta_case(struct gpu *g, struct dcase c, bool with_ref, bool chunked, uint32_t n_decode, uint64_t *seed)
{
	struct dinputs in;
	inputs_make(&in, c, seed);
	size_t no = (size_t)c.T * c.Hv * c.Dv, ns = (size_t)c.Hv * c.Dk * c.Dv;
	float *o_rec = malloc(no * 4), *s_rec = malloc(ns * 4), *o_chk = malloc(no * 4), *s_chk = malloc(ns * 4);
	double *o_ref = malloc(no * 8), *s_ref = malloc(ns * 8), *o_d = malloc(no * 8), *s_d = malloc(ns * 8);
	char name[160];
	snprintf(name, sizeof name, "T %u Hk %u Hv %u Dk %u Dv %u %s%s%s", c.T, c.Hk, c.Hv, c.Dk, c.Dv,
	         c.tiled ? "tiled" : "interleaved", c.per_channel ? " per-channel gate" : "", c.strong ? " (strong decays)" : "");
	if (c.per_channel && c.strong) {
		/* the deepest in-chunk cumulative decay: e^{-G_j} of a factored form would be e^{-min G} */
		double min_g = 0;
		for (uint32_t c0 = 0; c0 < c.T; c0 += 64)
			for (uint32_t h = 0; h < c.Hv; h++)
				for (uint32_t i = 0; i < c.Dk; i++) {
					double acc = 0;
					for (uint32_t t = c0; t < c.T && t < c0 + 64; t++) acc += in.g[((size_t)t * c.Hv + h) * c.Dk + i];
					if (acc < min_g) min_g = acc;
				}
		printf("# %s: deepest in-chunk decay e^%.0f (f32 overflows past e^88)\n", name, min_g);
	}
	run_gpu(g, &in, RUN_RECURRENT, 0, o_rec, s_rec, 1);
	double wo, ws;
	if (with_ref) {
		run_ref(&in, o_ref, s_ref);
		int bo = check_rel_rms("o", o_rec, o_ref, no, DELTA_REL, &wo), bs = check_rel_rms("S", s_rec, s_ref, ns, DELTA_REL, &ws);
		EXPECT(bo == 0 && bs == 0, "gdn_recurrent %s vs reference: %d outputs, %d state values off", name, bo, bs);
		printf("# recurrent vs ref %s: worst o %.3f, state %.3f x tolerance\n", name, wo, ws);
	}
	if (chunked) {
		run_gpu(g, &in, n_decode ? RUN_CHUNKED_THEN_DECODE : RUN_CHUNKED, n_decode, o_chk, s_chk, 1);
		for (size_t i = 0; i < no; i++) o_d[i] = o_rec[i];
		for (size_t i = 0; i < ns; i++) s_d[i] = s_rec[i];
		int bo = check_rel_rms("o", o_chk, o_d, no, DELTA_REL, &wo), bs = check_rel_rms("S", s_chk, s_d, ns, DELTA_REL, &ws);
		EXPECT(bo == 0 && bs == 0, "gdn_chunked%s %s vs recurrent: %d outputs, %d state values off",
		       n_decode ? " + decode" : "", name, bo, bs);
		printf("# chunked%s (+%u decode) vs recurrent %s: worst o %.3f, state %.3f x tolerance\n", n_decode ? " then decode" : "",
		       n_decode, name, wo, ws);
		if (with_ref) {
			bo = check_rel_rms("o", o_chk, o_ref, no, DELTA_REL, &wo), bs = check_rel_rms("S", s_chk, s_ref, ns, DELTA_REL, &ws);
			EXPECT(bo == 0 && bs == 0, "gdn_chunked %s vs reference: %d outputs, %d state values off", name, bo, bs);
			printf("# chunked vs ref %s: worst o %.3f, state %.3f x tolerance\n", name, wo, ws);
		}
	}
	inputs_free(&in);
	free(o_rec), free(s_rec), free(o_chk), free(s_chk), free(o_ref), free(s_ref), free(o_d), free(s_d);
	return 0;
}

/* ---------------------------------------------------------------- gated norm */

static int norm_case(struct gpu *g, uint32_t n, uint32_t rows, bool sigmoid_gate, bool in_place, uint64_t *seed)
{
	size_t N = (size_t)n * rows;
	float *x = rand_array(N, seed, -2, 2), *z = rand_array(N, seed, -4, 4), *w = rand_array(n, seed, 0.5f, 1.5f);
	float *ref = malloc(N * 4), *got = malloc(N * 4);
	double *xd = malloc(8 * n), *zd = malloc(8 * n), *wd = malloc(8 * n), *yd = malloc(8 * n), *tol = malloc(8 * N);
	for (uint32_t i = 0; i < n; i++) wd[i] = w[i];
	for (uint32_t r = 0; r < rows; r++) {
		for (uint32_t i = 0; i < n; i++) xd[i] = x[(size_t)r * n + i], zd[i] = z[(size_t)r * n + i];
		gated_rms_norm_ref(yd, xd, zd, wd, n, 1e-6, sigmoid_gate);
		for (uint32_t i = 0; i < n; i++) ref[(size_t)r * n + i] = (float)yd[i];
	}
	for (size_t i = 0; i < N; i++) tol[i] = 1e-5 * fabs(ref[i]) + 1e-6;
	struct gpu_buffer xb, zb, wb, yb;
	REQUIRE_OK(buf_make(g, &xb, "x", x, N * 4, 4));
	REQUIRE_OK(buf_make(g, &zb, "z", z, N * 4, 8));
	REQUIRE_OK(buf_make(g, &wb, "w", w, n * 4ull, 0));
	REQUIRE_OK(buf_make(g, &yb, "y", NULL, N * 4, 0));
	struct gpu_view xv = view_at(&xb, 4, N * 4), yv = in_place ? xv : view_at(&yb, 0, N * 4);
	struct gpu_rec rec;
	REQUIRE_OK(gpu_rec_begin(g, &rec));
	REQUIRE_OK(op_gdn_gated_norm(&rec, yv, xv, view_at(&zb, 8, N * 4), view_at(&wb, 0, n * 4ull), n, rows, 1e-6f,
	                             sigmoid_gate));
	REQUIRE_OK(gpu_rec_end(&rec));
	REQUIRE_OK(gpu_rec_submit_wait(&rec));
	REQUIRE_OK(gpu_download(g, got, yv.buf, yv.offset, N * 4));
	double worst;
	int bad = check_close("y", got, ref, tol, N, &worst);
	EXPECT(bad == 0, "gdn_gated_norm n %u rows %u sigmoid %d: %d values off (worst %.2f)", n, rows, sigmoid_gate, bad, worst);
	printf("# gated norm n %u rows %u sigmoid %d in place %d: worst %.3f x tolerance\n", n, rows, sigmoid_gate, in_place,
	       worst);
	gpu_rec_destroy(&rec);
	gpu_buffer_destroy(g, &xb), gpu_buffer_destroy(g, &zb), gpu_buffer_destroy(g, &wb), gpu_buffer_destroy(g, &yb);
	free(x), free(z), free(w), free(ref), free(got), free(xd), free(zd), free(wd), free(yd), free(tol);
	return 0;
}

/* ---------------------------------------------------------------- gates */

static double softplus_ref(double x) { return x > 20 ? x : log1p(exp(x)); } /* as ggml */

/* op_kda_gates (width = head_dim > 1) or op_gdn_gates (width 1, grouped or split) against a CPU
 * computation in double. Token strides are padded (b_stride, a_stride beyond the rows). */
static int gates_case(struct gpu *g, uint32_t T, uint32_t Hk, uint32_t Hv, uint32_t D, bool grouped, uint64_t *seed)
{
	bool kda = D > 1;
	uint32_t W = kda ? D : 1, row = Hv * W;
	/* op_gdn_gates has one token stride for b and a; grouped, a sits in b's rows */
	uint32_t bs = grouped ? 2 * Hv + 3 : kda ? Hv + 1 : row + 5, as = kda ? row + 5 : bs;
	/* a spans both sides of softplus' x > 20 switch and its flat negative end; b sigmoid's tails */
	float *b = rand_array((size_t)T * bs, seed, -30, 30);
	float *a = grouped ? b : rand_array((size_t)T * as, seed, -30, 30);
	float *dt = rand_array(row, seed, -1, 1), *sa = rand_array(Hv, seed, -8, -0.1f);
	size_t ng = (size_t)T * row, nb = (size_t)T * Hv;
	float *gref = malloc(ng * 4), *bref = malloc(nb * 4), *ggot = malloc(ng * 4), *bgot = malloc(nb * 4);
	double *gtol = malloc(ng * 8), *btol = malloc(nb * 8);
	uint32_t r = Hv / Hk;
	for (uint32_t t = 0; t < T; t++)
		for (uint32_t h = 0; h < Hv; h++) {
			uint32_t bi = grouped ? (h / r) * 2 * r + h % r : h;
			double bv = b[(size_t)t * bs + bi], beta = 1.0 / (1.0 + exp(-bv));
			bref[(size_t)t * Hv + h] = (float)beta;
			btol[(size_t)t * Hv + h] = 1e-6 * (1 + fabs(bv)) * beta + 1e-7;
			for (uint32_t c = 0; c < W; c++) {
				uint32_t ai = grouped ? bi + r : h * W + c;
				double x = (double)a[(size_t)t * as + ai] + dt[h * W + c];
				size_t i = (size_t)t * row + h * W + c;
				gref[i] = (float)(softplus_ref(x) * sa[h]);
				gtol[i] = 2e-6 * fabs(sa[h]) * (1 + fabs(x));
			}
		}
	struct gpu_buffer Bb, Ab, Db, Sb, Gb, Eb;
	REQUIRE_OK(buf_make(g, &Bb, "b", b, (size_t)T * bs * 4, 4));
	REQUIRE_OK(buf_make(g, &Ab, "a", a, (size_t)T * as * 4, 8));
	REQUIRE_OK(buf_make(g, &Db, "dt_bias", dt, (size_t)row * 4, 0));
	REQUIRE_OK(buf_make(g, &Sb, "ssm_a", sa, (size_t)Hv * 4, 0));
	REQUIRE_OK(buf_make(g, &Gb, "g", NULL, ng * 4, 0));
	REQUIRE_OK(buf_make(g, &Eb, "beta", NULL, nb * 4, 0));
	struct gpu_rec rec;
	REQUIRE_OK(gpu_rec_begin(g, &rec));
	struct gpu_view bv = view_at(&Bb, 4, 0), av = grouped ? bv : view_at(&Ab, 8, 0);
	if (kda)
		REQUIRE_OK(op_kda_gates(&rec, view_at(&Gb, 0, 0), view_at(&Eb, 0, 0), bv, av, view_at(&Db, 0, 0),
		                        view_at(&Sb, 0, 0), T, Hv, D, bs, as));
	else
		REQUIRE_OK(op_gdn_gates(&rec, view_at(&Gb, 0, 0), view_at(&Eb, 0, 0), bv, av, view_at(&Db, 0, 0),
		                        view_at(&Sb, 0, 0), T, Hk, Hv, bs, grouped));
	REQUIRE_OK(gpu_rec_end(&rec));
	REQUIRE_OK(gpu_rec_submit_wait(&rec));
	REQUIRE_OK(gpu_download(g, ggot, &Gb, 0, ng * 4));
	REQUIRE_OK(gpu_download(g, bgot, &Eb, 0, nb * 4));
	double wg, wb;
	int bad_g = check_close("g", ggot, gref, gtol, ng, &wg), bad_b = check_close("beta", bgot, bref, btol, nb, &wb);
	EXPECT(bad_g == 0 && bad_b == 0, "%s T %u Hk %u Hv %u D %u%s: %d gates, %d betas off", kda ? "kda_gates" : "gdn_gates",
	       T, Hk, Hv, D, grouped ? " grouped" : "", bad_g, bad_b);
	printf("# %s T %u Hk %u Hv %u width %u%s: worst g %.3f, beta %.3f x tolerance\n", kda ? "kda gates" : "gdn gates",
	       T, Hk, Hv, W, grouped ? " grouped" : "", wg, wb);
	gpu_rec_destroy(&rec);
	gpu_buffer_destroy(g, &Bb), gpu_buffer_destroy(g, &Ab), gpu_buffer_destroy(g, &Db), gpu_buffer_destroy(g, &Sb);
	gpu_buffer_destroy(g, &Gb), gpu_buffer_destroy(g, &Eb);
	if (a != b) free(a);
	free(b), free(dt), free(sa), free(gref), free(bref), free(ggot), free(bgot), free(gtol), free(btol);
	return 0;
}

/* ---------------------------------------------------------------- timings */

static int timings(struct gpu *g, uint64_t *seed)
{
	struct dcase dec = {1, 16, 32, 128, 128, false, false, false}, pre = {512, 16, 32, 128, 128, false, false, false};
	struct dinputs in;
	inputs_make(&in, dec, seed);
	float *o = malloc((size_t)512 * 32 * 128 * 4), *S = malloc((size_t)32 * 128 * 128 * 4);
	double t = run_gpu(g, &in, RUN_RECURRENT, 0, o, S, 5);
	printf("# timing: decode step (1 token, 16 key / 32 value heads, 128 x 128): %.3f ms (best of 5 submits)\n", t * 1e3);
	inputs_free(&in);
	inputs_make(&in, pre, seed);
	t = run_gpu(g, &in, RUN_CHUNKED, 0, o, S, 3);
	printf("# timing: chunked prefill 512 tokens, same shape: %.1f ms (best of 3)\n", t * 1e3);
	t = run_gpu(g, &in, RUN_RECURRENT, 0, o, S, 2);
	printf("# timing: recurrent prefill 512 tokens, same shape: %.1f ms (best of 2)\n", t * 1e3);
	inputs_free(&in);
	free(o), free(S);
	return 0;
}

int main(int argc, char **argv)
{
	struct gpu g;
	if (test_gpu_open(&g)) {
		fprintf(stderr, "no device: %s\n", vkllm_error());
		return 1;
	}
	uint64_t seed = 21;
	if (argc > 1 && strcmp(argv[1], "--bench") == 0) {
		timings(&g, &seed);
		test_gpu_close(&g);
		return test_finish();
	}
	conv_case(&g, 37, 4, 5, 1, &seed);      /* odd channels, then a decode token */
	conv_case(&g, 300, 4, 1, 2, &seed);     /* chunks shorter than the state: in-place shift */
	conv_case(&g, 64, 3, 100, 33, &seed);
	conv_case(&g, 8192, 4, 17, 1, &seed);   /* Qwen3-Next's conv width */
	conv_case(&g, 5, 2, 2000, 0, &seed);    /* a long chunk */

	norm_case(&g, 128, 7 * 32, false, false, &seed);
	norm_case(&g, 128, 5, true, true, &seed);
	norm_case(&g, 67, 9, false, true, &seed);

	/* recurrent and chunked against the reference, odd shapes and both head maps */
	const struct dcase odd[] = {
		{1, 1, 1, 8, 8, false, false, false},       {5, 2, 6, 17, 9, false, false, false},   {70, 2, 6, 17, 9, true, false, false},
		{65, 3, 3, 33, 47, false, false, false},    {9, 2, 4, 16, 16, false, true, false},   {40, 1, 3, 24, 40, true, true, false},
	};
	for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) delta_case(&g, odd[i], true, true, 0, &seed);
	/* chunked == recurrent for the lengths around the chunk size and long ones */
	const uint32_t lens[] = {1, 63, 64, 65, 200, 1000};
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		delta_case(&g, (struct dcase){lens[i], 2, 4, 128, 128, false, false, false}, lens[i] <= 200, true, 0, &seed);
		delta_case(&g, (struct dcase){lens[i], 2, 4, 64, 64, true, false, false}, lens[i] <= 200, true, 0, &seed);
	}
	delta_case(&g, (struct dcase){1000, 1, 2, 64, 128, false, false, false}, true, true, 0, &seed); /* Dk != Dv */
	delta_case(&g, (struct dcase){300, 2, 2, 256, 256, false, false, false}, false, true, 0, &seed);
	delta_case(&g, (struct dcase){700, 1, 1, 128, 128, false, true, false}, true, true, 0, &seed); /* KDA, long */
	/* prefill, then decode steps, equals one long run */
	delta_case(&g, (struct dcase){200 + 5, 2, 4, 128, 128, false, false, false}, true, true, 5, &seed);
	delta_case(&g, (struct dcase){130 + 3, 1, 2, 64, 32, true, false, false}, true, true, 3, &seed);
	/* 33 chunks: three prep groups of at most 16 chunks that reuse the scratch */
	delta_case(&g, (struct dcase){2100, 1, 2, 64, 64, true, false, false}, true, true, 0, &seed);

	/* KDA (per-channel gates, chunked since issue 22) at the same lengths; the Dk = 64 ones and the
	 * rest below with strong decays in a quarter of the channels (e^-3 .. e^-12 a token) */
	const struct dcase kda_odd[] = {{65, 3, 3, 33, 47, false, true, true}, {130, 1, 2, 17, 9, true, true, true}};
	for (size_t i = 0; i < sizeof kda_odd / sizeof kda_odd[0]; i++) delta_case(&g, kda_odd[i], true, true, 0, &seed);
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		delta_case(&g, (struct dcase){lens[i], 2, 4, 128, 128, false, true, false}, lens[i] <= 200, true, 0, &seed);
		delta_case(&g, (struct dcase){lens[i], 2, 4, 64, 64, true, true, true}, lens[i] <= 200, true, 0, &seed);
	}
	delta_case(&g, (struct dcase){1000, 1, 2, 64, 128, false, true, true}, true, true, 0, &seed); /* Dk != Dv */
	delta_case(&g, (struct dcase){200, 2, 2, 128, 32, true, true, true}, true, true, 0, &seed);
	/* 11 chunks at Dk 256: the scan is split into several dispatches on CPU devices */
	delta_case(&g, (struct dcase){700, 1, 2, 256, 256, false, true, true}, true, true, 0, &seed);
	delta_case(&g, (struct dcase){2100, 1, 2, 128, 128, false, true, true}, true, true, 0, &seed); /* 3 groups */
	delta_case(&g, (struct dcase){200 + 5, 2, 4, 128, 128, false, true, true}, true, true, 5, &seed);

	gates_case(&g, 7, 2, 6, 1, true, &seed);      /* qwen3next's grouped ssm_ba */
	gates_case(&g, 5, 4, 8, 1, false, &seed);     /* qwen35's ssm_beta / ssm_alpha */
	gates_case(&g, 9, 32, 32, 128, false, &seed); /* Kimi Linear's KDA: 32 heads x 128 channels */
	gates_case(&g, 3, 3, 3, 17, false, &seed);

	/* refusals */
	struct gpu_buffer b;
	REQUIRE_OK(gpu_buffer_create(&g, &b, 1 << 20, GPU_MEM_DEVICE, "b"));
	struct gpu_rec rec;
	REQUIRE_OK(gpu_rec_begin(&g, &rec));
	struct gpu_view v = gpu_whole(&b);
	struct gdn_desc d = {.n_tokens = 4, .n_head_k = 3, .n_head_v = 4, .head_dim_k = 16, .head_dim_v = 16, .scale = 1};
	EXPECT(op_gdn_recurrent(&rec, view_at(&b, 0, 4096), v, v, v, v, v, v, &d) == VKLLM_E_ARG,
	       "key heads not dividing value heads refused: %s", vkllm_error());
	d.n_head_k = 2, d.head_dim_k = 300;
	EXPECT(op_gdn_recurrent(&rec, view_at(&b, 0, 4096), v, v, v, v, v, v, &d) == VKLLM_E_UNSUPPORTED,
	       "head dim 300 refused: %s", vkllm_error());
	d.head_dim_k = 16;
	EXPECT(op_gdn_recurrent(&rec, v, v, v, v, v, v, v, &d) == VKLLM_E_ARG, "o overlapping the inputs refused: %s",
	       vkllm_error());
	EXPECT(op_gdn_chunked(&rec, view_at(&b, 0, 4096), view_at(&b, 4096, 0), view_at(&b, 8192, 64), view_at(&b, 8192, 0),
	                      view_at(&b, 8192, 0), view_at(&b, 8192, 0), view_at(&b, 8192, 0), view_at(&b, 8192, 0), &d) == VKLLM_E_ARG,
	       "short scratch refused: %s", vkllm_error());
	/* the per-channel form needs more scratch than the scalar one */
	struct gdn_desc dk = d;
	dk.n_head_k = dk.n_head_v = 1, dk.n_tokens = 64;
	uint64_t scalar_sc = op_gdn_chunked_scratch_bytes(&dk);
	dk.gate_per_channel = true;
	EXPECT(op_gdn_chunked_scratch_bytes(&dk) == scalar_sc + 3ull * 64 * 16 * 4, "per-channel scratch: %llu bytes",
	       (unsigned long long)op_gdn_chunked_scratch_bytes(&dk));
	EXPECT(op_gdn_chunked(&rec, view_at(&b, 0, 4096), view_at(&b, 4096, 4096), view_at(&b, 65536, scalar_sc),
	                      view_at(&b, 8192, 0), view_at(&b, 8192, 0), view_at(&b, 8192, 0), view_at(&b, 8192, 0),
	                      view_at(&b, 8192, 0), &dk) == VKLLM_E_ARG,
	       "per-channel chunked with the scalar form's scratch refused: %s", vkllm_error());
	EXPECT(op_kda_gates(&rec, view_at(&b, 0, 4096), view_at(&b, 4096, 64), v, v, v, v, 4, 2, 16, 2, 31) == VKLLM_E_ARG,
	       "kda_gates a stride below a row refused: %s", vkllm_error());
	EXPECT(op_kda_gates(&rec, view_at(&b, 0, 4096), view_at(&b, 4096, 64), v, v, view_at(&b, 0, 64), v, 4, 2, 16, 2,
	                    32) == VKLLM_E_ARG,
	       "kda_gates dt_bias of one value a head refused: %s", vkllm_error());
	EXPECT(op_gdn_conv(&rec, v, v, v, v, 4, 16, 1, 0, 0) == VKLLM_E_ARG, "conv kernel 1 refused: %s", vkllm_error());
	EXPECT(op_gdn_conv(&rec, view_at(&b, 0, 256), view_at(&b, 128, 64), view_at(&b, 4096, 0), view_at(&b, 8192, 0), 4, 16,
	                   3, 0, 0) == VKLLM_E_ARG,
	       "conv output overlapping the state refused: %s", vkllm_error());
	EXPECT(op_gdn_gated_norm(&rec, v, v, v, view_at(&b, 2, 64), 16, 2, 1e-6f, false) == VKLLM_E_ARG,
	       "misaligned weight refused: %s", vkllm_error());
	EXPECT(rec.n_dispatches == 0, "nothing recorded by refused calls");
	gpu_rec_end(&rec);
	gpu_rec_destroy(&rec);
	gpu_buffer_destroy(&g, &b);

	if (getenv("VKLLM_GDN_BENCH")) timings(&g, &seed);
	test_gpu_close(&g);
	return test_finish();
}
