/* Gemma 3n's AltUp ops (host/ops/altup.c, shaders/altup.comp) and the sparse gate
 * (sparse_gate.comp) against the same arithmetic in double on the host, the formulas of
 * tests/ref/forward_ref_altup.c and gemma3n.cpp. Shapes: the tiny model's E = 64 and real Gemma 3n
 * E2B's 2048 (and its 8192-wide FFN gate), 1 token (decode) and 7 (a chunk).
 *
 * Tolerances, relative to the magnitudes that enter each value (f32 against double):
 *  - predict: s_j + sum_k c_jk s_k with c_jk itself a 4-term sum: 1e-6 of sum |terms| + |s_j|;
 *  - correct: pred_j + (c_j + 1)(y - pred_0): 1e-6 of |pred_j| + |c_j + 1| (|y| + |pred_0|); fp one
 *    more product;
 *  - inject and ple: one add (and one multiply): 1e-6 relative;
 *  - init and merge: a sum of E squares, a sqrt and a division: 1e-5 relative to the row's scale;
 *  - sparse gate: mean and variance over n in f32: 1e-5 of the row's largest |g| (values near the
 *    cut move by that much; a wrong cut moves them by std). */
#include "small_ops_util.h"

static int check(const char *what, const float *got, const double *want, const double *mag, size_t n, double rel)
{
	int bad = 0;
	for (size_t i = 0; i < n; i++)
		if (!(fabs(got[i] - want[i]) <= rel * mag[i] + 1e-30) && bad++ < 4)
			fprintf(stderr, "  %s[%zu] = %.9g, reference %.9g\n", what, i, got[i], want[i]);
	return bad;
}

static void fill(float *x, size_t n, float scale, uint64_t *seed)
{
	for (size_t i = 0; i < n; i++) x[i] = test_randf(seed) * scale;
}

static int run_mixing(struct gpu *g, uint32_t n, uint32_t E, uint64_t *seed)
{
	size_t plane = (size_t)n * E, S = 4 * plane;
	float *s = malloc(S * 4), *mod = malloc(n * 16), *wp = malloc(64 * 4), *wc = malloc(16 * 4), *y = malloc(plane * 4);
	float *scale = malloc(E * 4), *p = malloc(plane * 4), *got = malloc(S * 4), *got2 = malloc(plane * 4);
	double *want = malloc(S * 8), *mag = malloc(S * 8), *want2 = malloc(plane * 8), *mag2 = malloc(plane * 8);
	fill(s, S, 2, seed), fill(mod, n * 4, 1, seed), fill(wp, 64, 0.5f, seed), fill(wc, 16, 0.5f, seed);
	fill(y, plane, 2, seed), fill(scale, E, 1, seed), fill(p, plane, 1, seed);
	struct gpu_buffer bs, bm, bwp, bwc, by, bsc, bp, bpred, bx, bout, bfp;
	REQUIRE_OK(buf_make(g, &bs, "streams", s, S * 4, 0));
	REQUIRE_OK(buf_make(g, &bm, "mod", mod, n * 16, 0));
	REQUIRE_OK(buf_make(g, &bwp, "predict coef", wp, 64 * 4, 0));
	REQUIRE_OK(buf_make(g, &bwc, "correct coef", wc, 16 * 4, 0));
	REQUIRE_OK(buf_make(g, &by, "y", y, plane * 4, 0));
	REQUIRE_OK(buf_make(g, &bsc, "scale", scale, E * 4, 0));
	REQUIRE_OK(buf_make(g, &bp, "p", p, plane * 4, 0));
	REQUIRE_OK(buf_make(g, &bpred, "pred", NULL, S * 4, 0));
	REQUIRE_OK(buf_make(g, &bx, "x", NULL, plane * 4, 0));
	REQUIRE_OK(buf_make(g, &bout, "corrected", NULL, S * 4, 0));
	REQUIRE_OK(buf_make(g, &bfp, "fp", NULL, plane * 4, 0));
	struct gpu_rec rec;
	REQUIRE_OK(gpu_rec_begin(g, &rec));
	REQUIRE_OK(op_altup_predict(&rec, gpu_whole(&bpred), view_at(&bx, 0, plane * 4), view_at(&bs, 0, S * 4),
	                            view_at(&bm, 0, n * 16), view_at(&bwp, 0, 256), n, E));
	REQUIRE_OK(op_altup_correct(&rec, view_at(&bout, 0, S * 4), view_at(&bfp, 0, plane * 4), view_at(&bpred, 0, S * 4),
	                            view_at(&bm, 0, n * 16), view_at(&bwc, 0, 64), view_at(&by, 0, plane * 4),
	                            view_at(&bsc, 0, E * 4), n, E));
	REQUIRE_OK(gpu_rec_end(&rec));
	REQUIRE_OK(gpu_rec_submit_wait(&rec));
	gpu_rec_destroy(&rec);

	/* predict, from the host's streams */
	double *pred = malloc(S * 8);
	for (uint32_t t = 0; t < n; t++)
		for (uint32_t i = 0; i < E; i++)
			for (uint32_t j = 0; j < 4; j++) {
				size_t o = j * plane + (size_t)t * E + i;
				double v = s[o], m = fabs(s[o]);
				for (uint32_t k = 0; k < 4; k++) {
					double c = 0, cm = 0;
					for (uint32_t q = 0; q < 4; q++) c += (double)wp[(4 * j + k) * 4 + q] * mod[t * 4 + q], cm += fabs(wp[(4 * j + k) * 4 + q] * mod[t * 4 + q]);
					v += c * s[k * plane + (size_t)t * E + i];
					m += cm * fabs(s[k * plane + (size_t)t * E + i]);
				}
				pred[o] = want[o] = v, mag[o] = m;
			}
	REQUIRE_OK(gpu_download(g, got, &bpred, 0, S * 4));
	REQUIRE_OK(gpu_download(g, got2, &bx, 0, plane * 4));
	int bad = check("pred", got, want, mag, S, 1e-6) + check("x", got2, want, mag, plane, 1e-6);
	EXPECT(bad == 0, "altup_predict %u x %u: %d values out of tolerance", n, E, bad);
	/* correct, from the GPU's predictions (so the check is of correct alone) */
	for (size_t o = 0; o < S; o++) pred[o] = got[o];
	for (uint32_t t = 0; t < n; t++)
		for (uint32_t i = 0; i < E; i++) {
			size_t e = (size_t)t * E + i;
			for (uint32_t j = 0; j < 4; j++) {
				double c = 1;
				for (uint32_t q = 0; q < 4; q++) c += (double)wc[j * 4 + q] * mod[t * 4 + q];
				size_t o = j * plane + e;
				want[o] = pred[o] + c * (y[e] - pred[e]);
				mag[o] = fabs(pred[o]) + fabs(c) * (fabs(y[e]) + fabs(pred[e])) + 4;
				if (j == 0) want2[e] = want[o] * scale[i], mag2[e] = mag[o] * fabs(scale[i]);
			}
		}
	REQUIRE_OK(gpu_download(g, got, &bout, 0, S * 4));
	REQUIRE_OK(gpu_download(g, got2, &bfp, 0, plane * 4));
	bad = check("corrected", got, want, mag, S, 1e-6) + check("fp", got2, want2, mag2, plane, 2e-6);
	EXPECT(bad == 0, "altup_correct %u x %u: %d values out of tolerance", n, E, bad);

	/* inject into the corrected streams */
	for (size_t o = 0; o < S; o++) want[o] = got[o] + (o >= plane ? p[o % plane] : 0.0), mag[o] = fabs(got[o]) + fabs(p[o % plane]);
	REQUIRE_OK(gpu_rec_begin(g, &rec));
	REQUIRE_OK(op_altup_inject(&rec, view_at(&bout, 0, S * 4), view_at(&bp, 0, plane * 4), n, E));
	REQUIRE_OK(gpu_rec_end(&rec));
	REQUIRE_OK(gpu_rec_submit_wait(&rec));
	gpu_rec_destroy(&rec);
	REQUIRE_OK(gpu_download(g, got, &bout, 0, S * 4));
	bad = check("injected", got, want, mag, S, 1e-6);
	EXPECT(bad == 0, "altup_inject %u x %u: %d values out of tolerance (stream 0 untouched)", n, E, bad);

	struct gpu_buffer *bufs[] = {&bs, &bm, &bwp, &bwc, &by, &bsc, &bp, &bpred, &bx, &bout, &bfp};
	for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) gpu_buffer_destroy(g, bufs[i]);
	free(s), free(mod), free(wp), free(wc), free(y), free(scale), free(p), free(got), free(got2);
	free(want), free(mag), free(want2), free(mag2), free(pred);
	return 0;
}

static double l2(const float *x, uint32_t n)
{
	double s = 0;
	for (uint32_t i = 0; i < n; i++) s += (double)x[i] * x[i];
	return sqrt(s);
}

/* init, merge and the per-layer inputs' transposition */
static int run_norms(struct gpu *g, uint32_t n, uint32_t E, uint64_t *seed)
{
	size_t plane = (size_t)n * E;
	const uint32_t P = 256, L = 5;
	size_t lp = (size_t)n * L * P;
	float *x0 = malloc(plane * 4), *y = malloc(3 * plane * 4), *got = malloc(4 * plane * 4);
	float *pa = malloc(lp * 4), *pb = malloc(lp * 4), *gp = malloc(lp * 4);
	double *want = malloc(4 * plane * 8), *mag = malloc(4 * plane * 8), *wp = malloc(lp * 8), *mp = malloc(lp * 8);
	fill(x0, plane, 2, seed), fill(y, 3 * plane, 3, seed), fill(pa, lp, 1, seed), fill(pb, lp, 1, seed);
	struct gpu_buffer bx0, by, bs, bx, bpa, bpb, binp;
	REQUIRE_OK(buf_make(g, &bx0, "x0", x0, plane * 4, 0));
	REQUIRE_OK(buf_make(g, &by, "y", y, 3 * plane * 4, 0));
	REQUIRE_OK(buf_make(g, &bs, "streams", NULL, 4 * plane * 4, 0));
	REQUIRE_OK(buf_make(g, &bx, "x", NULL, plane * 4, 0));
	REQUIRE_OK(buf_make(g, &bpa, "proj", pa, lp * 4, 0));
	REQUIRE_OK(buf_make(g, &bpb, "ple", pb, lp * 4, 0));
	REQUIRE_OK(buf_make(g, &binp, "inp", NULL, lp * 4, 0));
	struct gpu_rec rec;
	REQUIRE_OK(gpu_rec_begin(g, &rec));
	/* init from y [n][3][E]; merge of the result with u = y read as [3][n][E] */
	REQUIRE_OK(op_altup_init(&rec, view_at(&bs, 0, 4 * plane * 4), view_at(&bx0, 0, plane * 4), view_at(&by, 0, 3 * plane * 4), n, E));
	REQUIRE_OK(op_altup_merge(&rec, view_at(&bx, 0, plane * 4), view_at(&bs, 0, plane * 4), view_at(&by, 0, 3 * plane * 4), n, E));
	REQUIRE_OK(op_altup_ple(&rec, view_at(&binp, 0, lp * 4), view_at(&bpa, 0, lp * 4), view_at(&bpb, 0, lp * 4), n, P, L));
	REQUIRE_OK(gpu_rec_end(&rec));
	REQUIRE_OK(gpu_rec_submit_wait(&rec));
	gpu_rec_destroy(&rec);
	for (uint32_t t = 0; t < n; t++) {
		double target = l2(x0 + (size_t)t * E, E);
		for (uint32_t i = 0; i < E; i++) want[(size_t)t * E + i] = x0[(size_t)t * E + i], mag[(size_t)t * E + i] = target;
		for (uint32_t k = 0; k < 3; k++) {
			const float *yk = y + ((size_t)t * 3 + k) * E;
			double m = l2(yk, E);
			for (uint32_t i = 0; i < E; i++) {
				size_t o = (k + 1) * plane + (size_t)t * E + i;
				want[o] = yk[i] * target / m, mag[o] = target;
			}
		}
	}
	REQUIRE_OK(gpu_download(g, got, &bs, 0, 4 * plane * 4));
	int bad = check("streams", got, want, mag, 4 * plane, 1e-5);
	EXPECT(bad == 0, "altup_init %u x %u: %d values out of tolerance", n, E, bad);
	float *s0 = got; /* the GPU's stream 0 (= x0) */
	for (uint32_t t = 0; t < n; t++) {
		double target = l2(s0 + (size_t)t * E, E), m[3];
		for (uint32_t k = 0; k < 3; k++) m[k] = l2(y + k * plane + (size_t)t * E, E);
		for (uint32_t i = 0; i < E; i++) {
			double v = s0[(size_t)t * E + i];
			for (uint32_t k = 0; k < 3; k++) v += y[k * plane + (size_t)t * E + i] * target / m[k];
			want[(size_t)t * E + i] = v / 4, mag[(size_t)t * E + i] = target;
		}
	}
	REQUIRE_OK(gpu_download(g, got, &bx, 0, plane * 4));
	bad = check("merged", got, want, mag, plane, 1e-5);
	EXPECT(bad == 0, "altup_merge %u x %u: %d values out of tolerance", n, E, bad);
	for (uint32_t l = 0; l < L; l++)
		for (uint32_t t = 0; t < n; t++)
			for (uint32_t i = 0; i < P; i++) {
				size_t src = (size_t)t * L * P + (size_t)l * P + i, dst = ((size_t)l * n + t) * P + i;
				wp[dst] = ((double)pa[src] + pb[src]) / sqrt(2.0), mp[dst] = fabs(pa[src]) + fabs(pb[src]);
			}
	REQUIRE_OK(gpu_download(g, gp, &binp, 0, lp * 4));
	bad = check("inp", gp, wp, mp, lp, 1e-6);
	EXPECT(bad == 0, "altup_ple %u tokens: %d values out of tolerance ([n][L][P] into [L][n][P])", n, bad);
	struct gpu_buffer *bufs[] = {&bx0, &by, &bs, &bx, &bpa, &bpb, &binp};
	for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) gpu_buffer_destroy(g, bufs[i]);
	free(x0), free(y), free(got), free(pa), free(pb), free(gp), free(want), free(mag), free(wp), free(mp);
	return 0;
}

static int run_sparse(struct gpu *g, uint32_t rows, uint32_t n, uint64_t *seed)
{
	size_t N = (size_t)rows * n;
	float *x = malloc(N * 4), *got = malloc(N * 4);
	double *want = malloc(N * 8), *mag = malloc(N * 8);
	fill(x, N, 3, seed);
	for (size_t i = 0; i < N; i++) x[i] += 0.5f; /* a mean away from 0 */
	int kept = 0;
	for (uint32_t r = 0; r < rows; r++) {
		const float *g0 = x + (size_t)r * n;
		double mean = 0, var = 0, big = 0;
		for (uint32_t i = 0; i < n; i++) mean += g0[i], big = fmax(big, fabs(g0[i]));
		mean /= n;
		for (uint32_t i = 0; i < n; i++) var += (g0[i] - mean) * (g0[i] - mean);
		double cut = mean + 1.6448533535003662 * sqrt(var / (n - 1));
		for (uint32_t i = 0; i < n; i++) {
			want[(size_t)r * n + i] = fmax(g0[i] - cut, 0.0), mag[(size_t)r * n + i] = big;
			kept += g0[i] > cut;
		}
	}
	struct gpu_buffer b;
	REQUIRE_OK(buf_make(g, &b, "gate", x, N * 4, 0));
	struct gpu_rec rec;
	REQUIRE_OK(gpu_rec_begin(g, &rec));
	REQUIRE_OK(op_sparse_gate(&rec, view_at(&b, 0, N * 4), n, rows, 1.6448533535003662f));
	REQUIRE_OK(gpu_rec_end(&rec));
	REQUIRE_OK(gpu_rec_submit_wait(&rec));
	gpu_rec_destroy(&rec);
	REQUIRE_OK(gpu_download(g, got, &b, 0, N * 4));
	int bad = check("gate", got, want, mag, N, 1e-5);
	EXPECT(bad == 0, "sparse_gate %u rows of %u: %d values out of tolerance", rows, n, bad);
	printf("# sparse_gate %u rows of %u: %.1f%% kept (uniform inputs: 2.5%% expected)\n", rows, n, 100.0 * kept / N);
	gpu_buffer_destroy(g, &b);
	free(x), free(got), free(want), free(mag);
	return 0;
}

int main(void)
{
	struct gpu g;
	if (test_gpu_open(&g)) {
		fprintf(stderr, "no device: %s\n", vkllm_error());
		return 1;
	}
	uint64_t seed = 23;
	run_mixing(&g, 1, 64, &seed);
	run_mixing(&g, 7, 2048, &seed);
	run_norms(&g, 1, 64, &seed);
	run_norms(&g, 7, 2048, &seed);
	run_sparse(&g, 6, 128, &seed);
	run_sparse(&g, 5, 8192, &seed);
	/* bad arguments: one line each, nothing recorded */
	struct gpu_buffer b;
	REQUIRE_OK(gpu_buffer_create(&g, &b, 1 << 12, GPU_MEM_DEVICE, "b"));
	struct gpu_view v = gpu_whole(&b);
	struct gpu_rec rec;
	REQUIRE_OK(gpu_rec_begin(&g, &rec));
	EXPECT(op_altup_predict(&rec, v, v, v, v, v, 64, 64) == VKLLM_E_ARG, "predict past the views refused");
	EXPECT(op_altup_merge(&rec, v, v, v, 0, 64) == VKLLM_E_ARG, "no tokens refused");
	EXPECT(op_sparse_gate(&rec, v, 1, 4, 1.6f) == VKLLM_E_ARG, "a row of 1 refused (std divides by n - 1)");
	EXPECT(rec.n_dispatches == 0, "nothing recorded by refused calls");
	REQUIRE_OK(gpu_rec_end(&rec));
	gpu_rec_destroy(&rec);
	gpu_buffer_destroy(&g, &b);
	test_gpu_close(&g);
	return test_finish();
}
