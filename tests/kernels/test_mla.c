/* Multi-head latent attention's kernels against their CPU references: op_mla_prep (the latent
 * projection's norm, RoPE and cache store, and the query split) against RMSNorm and rope_ref written
 * out here, and op_mla_attention (absorbed attention over the latent cache) against
 * mla_attention_ref (tests/ref/mla_ref.c, the function the forward reference's absorbed form uses).
 *
 * Shapes: one token at position 0; decode deep in a cache long enough to split (auto split and
 * forced splits of 3 and 7, against no split); prefill chunks whose (token, head) rows are not a
 * multiple of the workgroup's 16; kv_lora 32, 64, 96 and DeepSeek V3's 512 with rope dims 8, 16,
 * 32 and 64; 3, 4, 7 and 128 heads; f16 and f32 caches; a chunk at a token offset (t_offset, the
 * passes of attn_mla.c); one recorded decode step replayed at three positions; long contexts (4096
 * and 8192 positions with fewer splits asked than a CPU device needs: llvmpipe ends an invocation's
 * loops after 65535 iterations, and op_mla_attention must split below that or be silently wrong).
 *
 * Values: q_abs and q_pe in [-1, 1], cache rows in [-1, 1] (f16-rounded for an f16 cache; the
 * reference reads the same values), scale 1/sqrt(nope + rope) with nope = 128 as in DeepSeek:
 * scores spread over a few units, a softmax neither flat nor one-hot.
 * Tolerance |got - ref| <= 1e-5 + 1e-4 |ref| (test_attention's, for the same reason: f32 rounding of
 * scores of up to 576 terms, ~sqrt(576) 2^-24 ~ 2e-6 relative, then a convex combination of values
 * in [-1, 1]). A lost tile, a wrong mask or split, or a head reading another head's query is off
 * by 1e-2 or more.
 * op_mla_prep: the norm is a few f32 operations per value (4e-6 + 1e-6 relative); a rotated pair
 * takes test_rope's bound, m (|x0| + |x1|) (|theta| 2^-19 + 4e-6) + 1e-6 |ref| (the angle formed in
 * f32 at large positions; m the YaRN magnitude); the cache adds one f16 ulp where it is f16; the
 * q_nope copy is exact. */
#include "base/status.h"
#include "loader/half.h"
#include "ops/ops.h"
#include "ref/mla_ref.h"
#include "ref/rope_ref.h"
#include "small_ops_util.h"
#include "test.h"

#define ATOL 1e-5
#define RTOL 1e-4
#define STEP_INDEX 2 /* step[2] = n_kv, step[3] = p0; the rest is junk */

static double worst_attn, worst_prep;

struct acase {
	const char *what;
	uint32_t n_q, H, C, R, p0, n_ctx;
	enum attn_kv_type kv;
	uint32_t n_split; /* 0 auto */
	uint32_t t_offset;
};

static float rounded(float x, enum attn_kv_type kv) { return kv == ATTN_KV_F16 ? half_to_f32(f32_to_half(x)) : x; }

static void cache_bytes(void *dst, const float *src, size_t n, enum attn_kv_type kv)
{
	for (size_t i = 0; i < n; i++) {
		if (kv == ATTN_KV_F16) ((uint16_t *)dst)[i] = f32_to_half(src[i]);
		else ((float *)dst)[i] = src[i];
	}
}

/* Runs one case (several step values when replays > 1: one recording, each replay at p0 + r). */
static int attn_case(struct gpu *g, const struct acase *c, uint32_t replays, uint64_t *seed)
{
	uint32_t C = c->C, R = c->R, H = c->H, D = C + R, es = c->kv == ATTN_KV_F16 ? 2 : 4;
	uint32_t last = c->p0 + replays - 1 + c->t_offset + c->n_q; /* the n_kv of the last replay */
	REQUIRE(last <= c->n_ctx, "case %s: positions past the cache", c->what);
	size_t nqa = (size_t)c->n_q * H * C, nqp = (size_t)c->n_q * H * R, nc = (size_t)c->n_ctx * D;
	float *qa = malloc(nqa * 4), *qp = malloc(nqp * 4), *cache = malloc(nc * 4), *ref = malloc(nqa * 4), *got = malloc(nqa * 4);
	void *raw = malloc(nc * es);
	for (size_t i = 0; i < nqa; i++) qa[i] = test_randf(seed);
	for (size_t i = 0; i < nqp; i++) qp[i] = test_randf(seed);
	for (size_t i = 0; i < nc; i++) cache[i] = rounded(test_randf(seed), c->kv);
	cache_bytes(raw, cache, nc, c->kv);

	struct mla_attn_desc a = {.n_q = c->n_q, .n_head = H, .kv_lora = C, .n_pe = R, .n_ctx = c->n_ctx,
	                          .cache_type = c->kv, .scale = 1.0f / sqrtf(128.0f + (float)R), .n_split = c->n_split,
	                          .step_index = STEP_INDEX, .t_offset = c->t_offset};
	uint64_t sb = op_mla_attention_scratch_bytes(g, &a);
	struct gpu_buffer bqa, bqp, bc, bstep, bout, bscr;
	/* views at byte offsets 12 and 20: not multiples of any device's binding alignment */
	REQUIRE_OK(buf_make(g, &bqa, "q_abs", qa, nqa * 4, 12));
	REQUIRE_OK(buf_make(g, &bqp, "q_pe", qp, nqp * 4, 20));
	REQUIRE_OK(buf_make(g, &bc, "cache", raw, nc * es, 8));
	REQUIRE_OK(gpu_buffer_create(g, &bstep, 64, GPU_MEM_UPLOAD, "step"));
	REQUIRE_OK(buf_make(g, &bout, "out", NULL, nqa * 4, 20));
	REQUIRE_OK(buf_make(g, &bscr, "scratch", NULL, sb ? sb : 4, 0));
	struct gpu_rec rec;
	REQUIRE_OK(gpu_rec_begin(g, &rec));
	REQUIRE_OK(op_mla_attention(&rec, view_at(&bout, 20, nqa * 4), sb ? view_at(&bscr, 0, sb) : NO_VIEW,
	                            view_at(&bqa, 12, nqa * 4), view_at(&bqp, 20, nqp * 4), view_at(&bc, 8, nc * es),
	                            view_at(&bstep, 0, 64), &a));
	REQUIRE_OK(gpu_rec_end(&rec));
	int bad = 0;
	for (uint32_t r = 0; r < replays; r++) {
		uint32_t p0 = c->p0 + r, step[16];
		for (int i = 0; i < 16; i++) step[i] = 0xdeadbeef;
		step[STEP_INDEX] = p0 + c->t_offset + c->n_q, step[STEP_INDEX + 1] = p0; /* the chunk ends at our last query */
		memcpy(bstep.mapped, step, sizeof step);
		REQUIRE_OK(gpu_rec_submit_wait(&rec));
		REQUIRE_OK(gpu_download(g, got, &bout, 20, nqa * 4));
		uint32_t qpos = p0 + c->t_offset, n_kv = qpos + c->n_q;
		mla_attention_ref(ref, qa, qp, cache, c->n_q, H, C, R, n_kv, qpos, a.scale);
		double *tol = malloc(nqa * sizeof *tol), worst;
		for (size_t i = 0; i < nqa; i++) tol[i] = ATOL + RTOL * fabs(ref[i]);
		bad += check_close(c->what, got, ref, tol, nqa, &worst);
		if (worst > worst_attn) worst_attn = worst;
		free(tol);
	}
	EXPECT(bad == 0, "mla_attention %s: %d values off (split scratch %llu bytes)", c->what, bad, (unsigned long long)sb);
	gpu_rec_destroy(&rec);
	struct gpu_buffer *bufs[] = {&bqa, &bqp, &bc, &bstep, &bout, &bscr};
	for (size_t i = 0; i < 6; i++) gpu_buffer_destroy(g, bufs[i]);
	free(qa), free(qp), free(cache), free(ref), free(got), free(raw);
	return 0;
}

/* ---- the latent projection ---- */

struct pcase {
	const char *what;
	uint32_t n_tokens, H, C, R, nope, n_ctx, row0, t_offset;
	bool rope, yarn;
	enum attn_kv_type kv;
};

/* test_rope's tolerance for NORM pairs (2i, 2i+1) of R values x rotated into ref by angles theta */
static void pe_tolerance(double *tol, const float *x, const float *ref, const double *theta, uint32_t R, double m, bool f16)
{
	for (uint32_t i = 0; i < R / 2; i++) {
		double mag = m * (fabs(x[2 * i]) + fabs(x[2 * i + 1])) * (theta[i] * 0x1p-19 + 4e-6);
		for (uint32_t k = 0; k < 2; k++) {
			double v = fabs(ref[2 * i + k]);
			tol[2 * i + k] = mag + 1e-6 * v + (f16 ? v * 0x1p-10 + 0x1p-24 : 0);
		}
	}
}

static int prep_case(struct gpu *g, const struct pcase *c, uint64_t *seed)
{
	uint32_t n = c->n_tokens, H = c->H, C = c->C, R = c->R, nope = c->nope, D = C + R, es = c->kv == ATTN_KV_F16 ? 2 : 4;
	size_t nq = (size_t)n * H * (nope + R), nkv = (size_t)n * D, nc = (size_t)c->n_ctx * D;
	float *q = malloc(nq * 4), *kv = malloc(nkv * 4), *norm = malloc(C * 4);
	int32_t *pos = malloc(n * 4);
	for (size_t i = 0; i < nq; i++) q[i] = 3.0f * test_randf(seed);
	for (size_t i = 0; i < nkv; i++) kv[i] = 3.0f * test_randf(seed);
	for (uint32_t i = 0; i < C; i++) norm[i] = 1.0f + 0.2f * test_randf(seed);
	for (uint32_t t = 0; t < n; t++) pos[t] = (int32_t)(c->row0 + c->t_offset + t) * 37; /* far apart: large angles */

	/* the reference: rms_norm(c) * norm, rope_ref on the pe parts (ggml's NORM pairs), q split */
	struct rope_config rc = {.neox = false, .n_rot = R, .freq_base = 10000.0f, .freq_scale = c->yarn ? 0.025f : 1.0f,
	                         .ext_factor = c->yarn ? 1.0f : 0.0f, .attn_factor = c->yarn ? 0.7f : 1.0f,
	                         .beta_fast = 32.0f, .beta_slow = 1.0f, .n_ctx_orig = 4096};
	struct rope_ref_config rr = {.neox = 0, .n_rot = R, .freq_base = rc.freq_base, .freq_scale = rc.freq_scale,
	                             .ext_factor = rc.ext_factor, .attn_factor = rc.attn_factor, .beta_fast = 32.0f,
	                             .beta_slow = 1.0f, .n_ctx_orig = 4096};
	float *want_c = malloc(nkv * 4), *want_qn = malloc((size_t)n * H * nope * 4), *want_qp = malloc((size_t)n * H * R * 4);
	float *pe_in = malloc((size_t)n * H * R * 4);
	double *tol_c = malloc(nkv * sizeof(double)), *tol_qp = malloc((size_t)n * H * R * sizeof(double));
	double *theta = malloc((size_t)H * R * sizeof(double));
	double m = c->yarn ? rc.attn_factor * (1.0 + 0.1 * log(1.0 / rc.freq_scale)) : 1.0;
	bool f16 = c->kv == ATTN_KV_F16;
	for (uint32_t t = 0; t < n; t++) {
		const float *x = kv + (size_t)t * D;
		float *wc = want_c + (size_t)t * D;
		double ss = 0;
		for (uint32_t i = 0; i < C; i++) ss += (double)x[i] * x[i];
		double s = 1.0 / sqrt(ss / C + 1e-6);
		for (uint32_t i = 0; i < C; i++) {
			wc[i] = (float)(x[i] * s * norm[i]);
			tol_c[(size_t)t * D + i] = 4e-6 + 1e-6 * fabs(wc[i]) + (f16 ? fabs(wc[i]) * 0x1p-10 + 0x1p-24 : 0);
		}
		for (uint32_t h = 0; h < H; h++) {
			const float *qh = q + ((size_t)t * H + h) * (nope + R);
			memcpy(want_qn + ((size_t)t * H + h) * nope, qh, nope * 4);
			memcpy(pe_in + ((size_t)t * H + h) * R, qh + nope, R * 4);
		}
		float *wq = want_qp + (size_t)t * H * R;
		if (c->rope) {
			rope_ref(wc + C, x + C, &pos[t], NULL, 1, 1, R, &rr, theta);
			pe_tolerance(tol_c + (size_t)t * D + C, x + C, wc + C, theta, R, m, f16);
			rope_ref(wq, pe_in + (size_t)t * H * R, &pos[t], NULL, 1, H, R, &rr, theta);
			for (uint32_t h = 0; h < H; h++)
				pe_tolerance(tol_qp + ((size_t)t * H + h) * R, pe_in + ((size_t)t * H + h) * R, wq + (size_t)h * R, theta,
				             R, m, false);
		} else {
			memcpy(wc + C, x + C, R * 4);
			memcpy(wq, pe_in + (size_t)t * H * R, (size_t)H * R * 4);
			for (uint32_t i = 0; i < R; i++) tol_c[(size_t)t * D + C + i] = f16 ? fabs(wc[C + i]) * 0x1p-10 + 0x1p-24 : 0;
			for (uint32_t i = 0; i < H * R; i++) tol_qp[(size_t)t * H * R + i] = 0;
		}
	}

	struct gpu_buffer bq, bkv, bn, bstep, bpos, bc, bqn, bqp;
	REQUIRE_OK(buf_make(g, &bq, "q", q, nq * 4, 4));
	REQUIRE_OK(buf_make(g, &bkv, "kv", kv, nkv * 4, 8));
	REQUIRE_OK(buf_make(g, &bn, "norm", norm, C * 4, 0));
	REQUIRE_OK(gpu_buffer_create(g, &bstep, 64, GPU_MEM_UPLOAD, "step"));
	REQUIRE_OK(buf_make(g, &bpos, "pos", pos, n * 4, 12));
	REQUIRE_OK(buf_make(g, &bc, "cache", NULL, nc * es, 0));
	REQUIRE_OK(buf_make(g, &bqn, "q_nope", NULL, (size_t)n * H * nope * 4, 0));
	REQUIRE_OK(buf_make(g, &bqp, "q_pe", NULL, (size_t)n * H * R * 4, 0));
	uint32_t step[16] = {0};
	step[STEP_INDEX] = c->row0 + c->t_offset + n, step[STEP_INDEX + 1] = c->row0;
	memcpy(bstep.mapped, step, sizeof step);
	struct mla_prep_desc d = {.n_tokens = n, .n_head = H, .kv_lora = C, .n_pe = R, .nope = nope, .eps = 1e-6f,
	                          .rope = c->rope ? &rc : NULL, .pos = view_at(&bpos, 12, n * 4), .step = view_at(&bstep, 0, 64),
	                          .step_index = STEP_INDEX, .t_offset = c->t_offset, .cache_type = c->kv, .n_ctx = c->n_ctx};
	struct gpu_rec rec;
	REQUIRE_OK(gpu_rec_begin(g, &rec));
	REQUIRE_OK(op_mla_prep(&rec, view_at(&bc, 0, nc * es), view_at(&bqn, 0, (size_t)n * H * nope * 4),
	                       view_at(&bqp, 0, (size_t)n * H * R * 4), view_at(&bq, 4, nq * 4), view_at(&bkv, 8, nkv * 4),
	                       view_at(&bn, 0, C * 4), &d));
	REQUIRE_OK(gpu_rec_end(&rec));
	REQUIRE_OK(gpu_rec_submit_wait(&rec));

	void *raw = malloc(nc * es);
	float *got_c = malloc(nkv * 4), *got_qn = malloc((size_t)n * H * nope * 4), *got_qp = malloc((size_t)n * H * R * 4);
	REQUIRE_OK(gpu_download(g, raw, &bc, 0, nc * es));
	uint32_t row = c->row0 + c->t_offset, rows = row + n <= c->n_ctx ? n : c->n_ctx - row;
	for (size_t i = 0; i < (size_t)rows * D; i++) {
		size_t at = (size_t)row * D + i;
		got_c[i] = c->kv == ATTN_KV_F16 ? half_to_f32(((uint16_t *)raw)[at]) : ((float *)raw)[at];
	}
	REQUIRE_OK(gpu_download(g, got_qn, &bqn, 0, (size_t)n * H * nope * 4));
	REQUIRE_OK(gpu_download(g, got_qp, &bqp, 0, (size_t)n * H * R * 4));
	double worst, *tol_q = malloc((size_t)n * H * (nope > R ? nope : R) * sizeof(double));
	int bad = check_close("cache", got_c, want_c, tol_c, (size_t)rows * D, &worst);
	if (worst > worst_prep) worst_prep = worst;
	for (size_t i = 0; i < (size_t)n * H * nope; i++) tol_q[i] = 0; /* a copy: exact */
	bad += check_close("q_nope", got_qn, want_qn, tol_q, (size_t)n * H * nope, &worst);
	bad += check_close("q_pe", got_qp, want_qp, tol_qp, (size_t)n * H * R, &worst);
	if (worst > worst_prep) worst_prep = worst;
	/* rows past the cache are not written: the guard beyond n_ctx rows is the buffer's slack */
	EXPECT(bad == 0, "mla_prep %s: %d values off", c->what, bad);

	gpu_rec_destroy(&rec);
	struct gpu_buffer *bufs[] = {&bq, &bkv, &bn, &bstep, &bpos, &bc, &bqn, &bqp};
	for (size_t i = 0; i < 8; i++) gpu_buffer_destroy(g, bufs[i]);
	free(q), free(kv), free(norm), free(pos), free(want_c), free(want_qn), free(want_qp), free(pe_in), free(tol_c), free(tol_qp), free(theta);
	free(raw), free(got_c), free(got_qn), free(got_qp), free(tol_q);
	return 0;
}

int main(void)
{
	struct gpu g;
	if (test_gpu_open(&g)) {
		fprintf(stderr, "no device: %s\n", vkllm_error());
		return 1;
	}
	uint64_t seed = 20;
	const struct acase acases[] = {
		{"one token at 0", 1, 4, 32, 8, 0, 16, ATTN_KV_F16, 0, 0},
		{"decode deep, auto split, f16", 1, 4, 32, 8, 900, 1024, ATTN_KV_F16, 0, 0},
		{"decode deep, auto split, f32", 1, 7, 96, 32, 700, 1024, ATTN_KV_F32, 0, 0},
		{"decode, 3 splits", 1, 3, 64, 16, 300, 512, ATTN_KV_F16, 3, 0},
		{"decode, 7 splits (some see nothing)", 1, 3, 64, 16, 5, 512, ATTN_KV_F32, 7, 0},
		{"decode, no split", 1, 3, 64, 16, 300, 512, ATTN_KV_F16, 1, 0},
		{"prefill 5 x 3 heads at 10", 5, 3, 64, 16, 10, 64, ATTN_KV_F16, 0, 0},
		{"prefill 9 x 7 heads from 0", 9, 7, 32, 8, 0, 16, ATTN_KV_F32, 1, 0},
		{"prefill pass at token offset 6", 4, 4, 32, 8, 3, 32, ATTN_KV_F16, 0, 6},
		{"DeepSeek V3 decode, 128 heads, 512 + 64", 1, 128, 512, 64, 299, 600, ATTN_KV_F16, 0, 0},
		{"DeepSeek V3 decode at 4096, no split asked", 1, 128, 512, 64, 4000, 4096, ATTN_KV_F16, 1, 0},
		{"16 heads of 512 + 64 at 8192, 2 splits asked", 1, 16, 512, 64, 8100, 8192, ATTN_KV_F32, 2, 0},
		{"DeepSeek V3 prefill 3 tokens", 3, 128, 512, 64, 40, 64, ATTN_KV_F16, 0, 0},
	};
	for (size_t i = 0; i < sizeof acases / sizeof *acases; i++) attn_case(&g, &acases[i], 1, &seed);
	struct acase replay = {"one recording replayed at 3 positions", 1, 4, 32, 8, 500, 1024, ATTN_KV_F16, 0, 0};
	attn_case(&g, &replay, 3, &seed);

	const struct pcase pcases[] = {
		{"one token, f16", 1, 4, 32, 8, 32, 16, 0, 0, true, false, ATTN_KV_F16},
		{"chunk of 5 with YaRN, f32", 5, 3, 64, 16, 128, 32, 7, 0, true, true, ATTN_KV_F32},
		{"V3 shape, 2 tokens", 2, 128, 512, 64, 128, 8, 3, 0, true, true, ATTN_KV_F16},
		{"NoPE (Kimi Linear)", 3, 2, 32, 8, 32, 16, 1, 0, false, false, ATTN_KV_F16},
		{"at token offset 4, last row past the cache", 3, 2, 32, 8, 32, 10, 4, 4, true, false, ATTN_KV_F32},
	};
	for (size_t i = 0; i < sizeof pcases / sizeof *pcases; i++) prep_case(&g, &pcases[i], &seed);
	printf("# worst error / tolerance: mla_attention %.3g, mla_prep %.3g\n", worst_attn, worst_prep);
	test_gpu_close(&g);
	return test_finish();
}
