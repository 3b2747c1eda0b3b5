/* op_mla_decompress (MLA's decompressed form: per head K and V from the latent cache) against a
 * plain CPU product in double, and end to end: decompress then op_attention against the absorbed
 * form's reference, mla_attention_ref (tests/ref/mla_ref.c), followed by W_UV.
 *
 * Shapes: 3 and 16 heads; kv_lora 32, 96 and 512 (V2-Lite and V3); rope dims 8 and 64; nope 32 and
 * 128; v_dim 24 and 128 (row tiles straddle the K/V boundary and the end); n_kv 1, 5, 37 and a full
 * cache, and a step value past n_ctx (clamped); every cache/output type pair; views at byte offsets
 * that are not multiples of minStorageBufferOffsetAlignment. Every case is one recording replayed at
 * two n_kv values, smaller first; before it the outputs (the whole buffers) are filled with a
 * sentinel, and after each replay every byte outside positions [0, n_kv) of the views must still be
 * the sentinel.
 *
 * Values: cache in [-1, 1] (f16-rounded for an f16 cache), weights in [-1, 1] * 2 / sqrt(C),
 * in f32 as the loader gives them (the reference reads the same values), so K and V entries are
 * about 0.7 rms.
 *
 * Tolerances, decompression: an output is a dot product of C terms summed in f32 in an order of the
 * kernel's choosing; any order is within (C + 2) 2^-24 sum_k |w_k c_k| of the exact value (Higham's
 * bound for recursive summation, +1 for the rounded products), used as is: an f32 output that is
 * off by more is wrong, never unlucky. An f16 output adds one f16 ulp of rounding (2^-10 relative,
 * or 2^-24 among subnormals; one ulp, not a half, because Vulkan leaves the f16 conversion's
 * rounding mode to the driver). Seen on lavapipe (printed at the end): 8% of the bound for f32
 * outputs, 49% for f16 (round to nearest: half of the ulp allowed). The k_pe copy is exact
 * but for that same ulp where an f32 cache goes to f16. A lost 32-value step of C, a wrong head or
 * position is off by ~0.1, hundreds of times the bound.
 * End to end, f32 cache and outputs: 1e-5 + 1e-4 |ref|, test_attention's bound for the same
 * flash attention (scores of nope + R terms, softmax, convex combination of values below ~2); the
 * two forms' different association (q . (W c) against (W^T q) . c, V = W c against W (sum p c)) adds
 * f32 rounding of relative size ~sqrt(C) 2^-24 ~ 1e-6, inside it. With f16 outputs, K and V are
 * each rounded by up to one ulp (u = 2^-10 relative): an output moves by at most u max|V| through
 * the values and, through the scores (|ds_j| <= scale u sum_i |q_i K_ji| =: e, and
 * |d out / d s_j| = p_j |V_j - out|), by at most 2 max|V| e; both are added per (token, head), with
 * max|V| and e taken over the visible positions. Seen: 3% (f32) and 4% (f16) of these bounds.
 */
#include "base/status.h"
#include "loader/half.h"
#include "ops/mla_decompress.h"
#include "ops/ops.h"
#include "ref/mla_ref.h"
#include "small_ops_util.h"
#include "test.h"

#define STEP_INDEX 5 /* step[5] = n_kv, step[6] = p0 (op_attention); the rest is junk */
#define ATOL 1e-5
#define RTOL 1e-4
#define F16_ULP 0x1p-10
#define SENTINEL 0xA5 /* every byte of the output buffers before a case */

static double worst_dec[2], worst_e2e[2]; /* by output type */

struct shape {
	uint32_t H, C, R, nope, Dv;
};

struct inputs {
	float *cache, *wk, *wv; /* as the device holds them (rounded), widened */
	struct gpu_buffer bc, bwk, bwv, bstep;
};

static float rounded(float x, enum attn_kv_type t) { return t == ATTN_KV_F16 ? half_to_f32(f32_to_half(x)) : x; }
static uint32_t esize(enum attn_kv_type t) { return t == ATTN_KV_F16 ? 2 : 4; }

static void *to_bytes(const float *src, size_t n, enum attn_kv_type t)
{
	void *dst = malloc(n * esize(t));
	for (size_t i = 0; i < n; i++) {
		if (t == ATTN_KV_F16) ((uint16_t *)dst)[i] = f32_to_half(src[i]);
		else ((float *)dst)[i] = src[i];
	}
	return dst;
}

static float widen(const void *raw, size_t i, enum attn_kv_type t)
{
	return t == ATTN_KV_F16 ? half_to_f32(((const uint16_t *)raw)[i]) : ((const float *)raw)[i];
}

/* byte offsets of the views: multiples of the element, not of any device's binding alignment */
#define C_PAD 12
#define WK_PAD 4
#define WV_PAD 12
#define K_PAD 20
#define V_PAD 4

static int make_inputs(struct gpu *g, const struct shape *s, uint32_t n_ctx, enum attn_kv_type kv, struct inputs *in,
                       uint64_t *seed)
{
	size_t nc = (size_t)n_ctx * (s->C + s->R), nwk = (size_t)s->H * s->nope * s->C, nwv = (size_t)s->H * s->Dv * s->C;
	in->cache = malloc(nc * 4), in->wk = malloc(nwk * 4), in->wv = malloc(nwv * 4);
	float ws = 2.0f / sqrtf((float)s->C);
	for (size_t i = 0; i < nc; i++) in->cache[i] = rounded(test_randf(seed), kv);
	for (size_t i = 0; i < nwk; i++) in->wk[i] = ws * test_randf(seed);
	for (size_t i = 0; i < nwv; i++) in->wv[i] = ws * test_randf(seed);
	void *rc = to_bytes(in->cache, nc, kv), *rk = to_bytes(in->wk, nwk, ATTN_KV_F32), *rv = to_bytes(in->wv, nwv, ATTN_KV_F32);
	TRY(buf_make(g, &in->bc, "cache", rc, nc * esize(kv), C_PAD));
	TRY(buf_make(g, &in->bwk, "w_uk", rk, nwk * 4, WK_PAD));
	TRY(buf_make(g, &in->bwv, "w_uv", rv, nwv * 4, WV_PAD));
	TRY(gpu_buffer_create(g, &in->bstep, 64, GPU_MEM_UPLOAD, "step"));
	free(rc), free(rk), free(rv);
	return VKLLM_OK;
}

static void free_inputs(struct gpu *g, struct inputs *in)
{
	gpu_buffer_destroy(g, &in->bc), gpu_buffer_destroy(g, &in->bwk), gpu_buffer_destroy(g, &in->bwv);
	gpu_buffer_destroy(g, &in->bstep);
	free(in->cache), free(in->wk), free(in->wv);
}

static void set_step(struct inputs *in, uint32_t n_kv, uint32_t p0)
{
	uint32_t step[16];
	for (int i = 0; i < 16; i++) step[i] = 0xdeadbeef;
	step[STEP_INDEX] = n_kv, step[STEP_INDEX + 1] = p0;
	memcpy(in->bstep.mapped, step, sizeof step);
}

/* w[row] . c_j in double, and its f32 summation bound (C + 2) 2^-24 sum |w c| */
static double dot_ref(const float *w, const float *c, uint32_t C, double *bound)
{
	double s = 0, a = 0;
	for (uint32_t k = 0; k < C; k++) s += (double)w[k] * c[k], a += fabs((double)w[k] * c[k]);
	*bound = (C + 2) * 0x1p-24 * a;
	return s;
}

/* The reference K and V of every position, with per-value tolerances for outputs of type out. */
static void decompress_ref(const struct shape *s, const struct inputs *in, uint32_t n_ctx, enum attn_kv_type kv,
                           enum attn_kv_type out, float *k, float *v, double *tk, double *tv)
{
	uint32_t H = s->H, C = s->C, R = s->R, KD = s->nope + R;
	for (uint32_t j = 0; j < n_ctx; j++) {
		const float *c = in->cache + (size_t)j * (C + R);
		for (uint32_t h = 0; h < H; h++) {
			size_t kb = ((size_t)j * H + h) * KD, vb = ((size_t)j * H + h) * s->Dv;
			for (uint32_t i = 0; i < KD; i++) {
				double e = 0, x = i < s->nope ? dot_ref(in->wk + ((size_t)h * s->nope + i) * C, c, C, &e) : c[C + i - s->nope];
				bool rounds = out == ATTN_KV_F16 && (i < s->nope || kv == ATTN_KV_F32);
				k[kb + i] = (float)x, tk[kb + i] = e + (rounds ? (fabs(x) + e) * F16_ULP + 0x1p-24 : 0);
			}
			for (uint32_t i = 0; i < s->Dv; i++) {
				double e, x = dot_ref(in->wv + ((size_t)h * s->Dv + i) * C, c, C, &e);
				v[vb + i] = (float)x, tv[vb + i] = e + (out == ATTN_KV_F16 ? (fabs(x) + e) * F16_ULP + 0x1p-24 : 0);
			}
		}
	}
}

/* Every byte of the buffer outside [pad, pad + written) must be the sentinel. */
static int untouched(struct gpu *g, const struct gpu_buffer *b, size_t pad, size_t written, const char *what)
{
	size_t n = b->size;
	uint8_t *raw = malloc(n);
	if (gpu_download(g, raw, b, 0, n)) return free(raw), -1;
	int bad = 0;
	for (size_t i = 0; i < n; i++)
		if ((i < pad || i >= pad + written) && raw[i] != SENTINEL && bad++ < 3)
			fprintf(stderr, "  %s: byte %zu (view from %zu, %zu written) is %#x, not the sentinel\n", what, i, pad, written, raw[i]);
	free(raw);
	return bad;
}

struct dcase {
	const char *what;
	struct shape s;
	uint32_t n_ctx, n_kv[2]; /* two replays of one recording; a step value past n_ctx means n_ctx */
	enum attn_kv_type kv, out;
};

static int decompress_case(struct gpu *g, const struct dcase *c, uint64_t *seed)
{
	const struct shape *s = &c->s;
	uint32_t H = s->H, KD = s->nope + s->R, oe = esize(c->out);
	size_t nk = (size_t)c->n_ctx * H * KD, nv = (size_t)c->n_ctx * H * s->Dv;
	struct inputs in;
	REQUIRE_OK(make_inputs(g, s, c->n_ctx, c->kv, &in, seed));
	float *k = malloc(nk * 4), *v = malloc(nv * 4), *got = malloc((nk > nv ? nk : nv) * 4);
	double *tk = malloc(nk * sizeof *tk), *tv = malloc(nv * sizeof *tv);
	decompress_ref(s, &in, c->n_ctx, c->kv, c->out, k, v, tk, tv);
	void *raw = malloc((nk > nv ? nk : nv) * 4);

	struct gpu_buffer bk, bv;
	REQUIRE_OK(buf_make(g, &bk, "k_out", NULL, nk * oe, K_PAD));
	REQUIRE_OK(buf_make(g, &bv, "v_out", NULL, nv * oe, V_PAD));
	uint8_t *fill = malloc(bk.size > bv.size ? bk.size : bv.size);
	memset(fill, SENTINEL, bk.size > bv.size ? bk.size : bv.size);
	REQUIRE_OK(gpu_upload(g, &bk, 0, fill, bk.size));
	REQUIRE_OK(gpu_upload(g, &bv, 0, fill, bv.size));
	struct mla_decompress_desc d = {.n_ctx = c->n_ctx, .n_head = H, .kv_lora = s->C, .n_pe = s->R, .nope = s->nope,
	                                .v_dim = s->Dv, .cache_type = c->kv, .out_type = c->out, .step_index = STEP_INDEX};
	struct gpu_rec rec;
	REQUIRE_OK(gpu_rec_begin(g, &rec));
	REQUIRE_OK(op_mla_decompress(&rec, view_at(&bk, K_PAD, nk * oe), view_at(&bv, V_PAD, nv * oe),
	                             view_at(&in.bc, C_PAD, (size_t)c->n_ctx * (s->C + s->R) * esize(c->kv)),
	                             view_at(&in.bwk, WK_PAD, (size_t)H * s->nope * s->C * 4),
	                             view_at(&in.bwv, WV_PAD, (size_t)H * s->Dv * s->C * 4), view_at(&in.bstep, 0, 64), &d));
	REQUIRE_OK(gpu_rec_end(&rec));
	for (int r = 0; r < 2; r++) {
		set_step(&in, c->n_kv[r], 0);
		REQUIRE_OK(gpu_rec_submit_wait(&rec));
		uint32_t n_kv = c->n_kv[r] < c->n_ctx ? c->n_kv[r] : c->n_ctx;
		size_t wk = (size_t)n_kv * H * KD, wv = (size_t)n_kv * H * s->Dv;
		double worst;
		int bad = 0;
		REQUIRE_OK(gpu_download(g, raw, &bk, K_PAD, wk * oe));
		for (size_t i = 0; i < wk; i++) got[i] = widen(raw, i, c->out);
		bad += check_close("K", got, k, tk, wk, &worst);
		worst_dec[c->out] = fmax(worst_dec[c->out], worst);
		REQUIRE_OK(gpu_download(g, raw, &bv, V_PAD, wv * oe));
		for (size_t i = 0; i < wv; i++) got[i] = widen(raw, i, c->out);
		bad += check_close("V", got, v, tv, wv, &worst);
		worst_dec[c->out] = fmax(worst_dec[c->out], worst);
		EXPECT(bad == 0, "mla_decompress %s at n_kv %u: %d values off", c->what, c->n_kv[r], bad);
		int stray = untouched(g, &bk, K_PAD, wk * oe, "K") + untouched(g, &bv, V_PAD, wv * oe, "V");
		EXPECT(stray == 0, "mla_decompress %s at n_kv %u: %d bytes written outside positions [0, n_kv)", c->what,
		       c->n_kv[r], stray);
	}
	gpu_rec_destroy(&rec);
	gpu_buffer_destroy(g, &bk), gpu_buffer_destroy(g, &bv);
	free_inputs(g, &in);
	free(k), free(v), free(got), free(tk), free(tv), free(raw), free(fill);
	return 0;
}

/* ---- end to end: decompress, then flash attention ---- */

struct ecase {
	const char *what;
	struct shape s;
	uint32_t n_q, p0, n_ctx;
	enum attn_kv_type kv, out;
};

static int e2e_case(struct gpu *g, const struct ecase *c, uint64_t *seed)
{
	const struct shape *s = &c->s;
	uint32_t H = s->H, C = s->C, R = s->R, nope = s->nope, Dv = s->Dv, KD = nope + R, oe = esize(c->out);
	uint32_t n_q = c->n_q, n_kv = c->p0 + n_q;
	REQUIRE(n_kv <= c->n_ctx, "case %s: queries past the cache", c->what);
	struct inputs in;
	REQUIRE_OK(make_inputs(g, s, c->n_ctx, c->kv, &in, seed));
	size_t nq = (size_t)n_q * H * KD, no = (size_t)n_q * H * Dv, nk = (size_t)c->n_ctx * H * KD, nv = (size_t)c->n_ctx * H * Dv;
	float *q = malloc(nq * 4), *got = malloc(no * 4), *ref = malloc(no * 4);
	for (size_t i = 0; i < nq; i++) q[i] = 2.0f * test_randf(seed); /* [q_nope | q_pe] per head */
	float scale = 1.0f / sqrtf((float)KD);

	/* the absorbed form: q_abs = W_UK[h]^T q_nope, attention over the latent cache, then W_UV[h] */
	float *qa = malloc((size_t)n_q * H * C * 4), *qp = malloc((size_t)n_q * H * R * 4), *lat = malloc((size_t)n_q * H * C * 4);
	for (uint32_t t = 0; t < n_q; t++)
		for (uint32_t h = 0; h < H; h++) {
			const float *qh = q + ((size_t)t * H + h) * KD;
			for (uint32_t k = 0; k < C; k++) {
				double a = 0;
				for (uint32_t i = 0; i < nope; i++) a += (double)in.wk[((size_t)h * nope + i) * C + k] * qh[i];
				qa[((size_t)t * H + h) * C + k] = (float)a;
			}
			memcpy(qp + ((size_t)t * H + h) * R, qh + nope, R * 4);
		}
	mla_attention_ref(lat, qa, qp, in.cache, n_q, H, C, R, n_kv, c->p0, scale);
	for (uint32_t t = 0; t < n_q; t++)
		for (uint32_t h = 0; h < H; h++)
			for (uint32_t d = 0; d < Dv; d++) {
				double e, x = dot_ref(in.wv + ((size_t)h * Dv + d) * C, lat + ((size_t)t * H + h) * C, C, &e);
				ref[((size_t)t * H + h) * Dv + d] = (float)x;
			}

	struct gpu_buffer bk, bv, bq, bo, bscr;
	struct attn_desc a = {.n_q = n_q, .n_head = H, .n_head_kv = H, .head_dim_k = KD, .head_dim_v = Dv, .n_ctx = c->n_ctx,
	                      .kv_type = c->out, .scale = scale, .step_index = STEP_INDEX};
	uint64_t sb = op_attention_scratch_bytes(g, &a);
	REQUIRE_OK(buf_make(g, &bk, "k", NULL, nk * oe, 0));
	REQUIRE_OK(buf_make(g, &bv, "v", NULL, nv * oe, 0));
	REQUIRE_OK(buf_make(g, &bq, "q", q, nq * 4, 0));
	REQUIRE_OK(buf_make(g, &bo, "out", NULL, no * 4, 0));
	REQUIRE_OK(buf_make(g, &bscr, "scratch", NULL, sb ? sb : 4, 0));
	struct mla_decompress_desc d = {.n_ctx = c->n_ctx, .n_head = H, .kv_lora = C, .n_pe = R, .nope = nope, .v_dim = Dv,
	                                .cache_type = c->kv, .out_type = c->out, .step_index = STEP_INDEX};
	struct gpu_view kview = view_at(&bk, 0, nk * oe), vview = view_at(&bv, 0, nv * oe);
	struct gpu_rec rec;
	REQUIRE_OK(gpu_rec_begin(g, &rec));
	REQUIRE_OK(op_mla_decompress(&rec, kview, vview, view_at(&in.bc, C_PAD, (size_t)c->n_ctx * (C + R) * esize(c->kv)),
	                             view_at(&in.bwk, WK_PAD, (size_t)H * nope * C * 4),
	                             view_at(&in.bwv, WV_PAD, (size_t)H * Dv * C * 4), view_at(&in.bstep, 0, 64), &d));
	REQUIRE_OK(op_attention(&rec, view_at(&bo, 0, no * 4), sb ? view_at(&bscr, 0, sb) : NO_VIEW, view_at(&bq, 0, nq * 4),
	                        kview, vview, NO_VIEW, view_at(&in.bstep, 0, 64), &a));
	REQUIRE_OK(gpu_rec_end(&rec));
	set_step(&in, n_kv, c->p0);
	REQUIRE_OK(gpu_rec_submit_wait(&rec));
	REQUIRE_OK(gpu_download(g, got, &bo, 0, no * 4));

	/* tolerance per (token, head): flash attention's own, plus the f16 rounding of K and V */
	double *tol = malloc(no * sizeof *tol);
	float *k = malloc(nk * 4), *v = malloc(nv * 4);
	double *tk = malloc(nk * sizeof *tk), *tv = malloc(nv * sizeof *tv);
	decompress_ref(s, &in, c->n_ctx, c->kv, c->out, k, v, tk, tv);
	for (uint32_t t = 0; t < n_q; t++)
		for (uint32_t h = 0; h < H; h++) {
			double vmax = 0, e = 0;
			if (c->out == ATTN_KV_F16)
				for (uint32_t j = 0; j <= c->p0 + t; j++) {
					const float *kj = k + ((size_t)j * H + h) * KD, *vj = v + ((size_t)j * H + h) * Dv;
					const float *qh = q + ((size_t)t * H + h) * KD;
					double ej = 0;
					for (uint32_t i = 0; i < KD; i++) ej += fabs((double)qh[i] * kj[i]);
					e = fmax(e, scale * F16_ULP * ej);
					for (uint32_t i = 0; i < Dv; i++) vmax = fmax(vmax, fabs(vj[i]));
				}
			for (uint32_t i = 0; i < Dv; i++) {
				size_t o = ((size_t)t * H + h) * Dv + i;
				tol[o] = ATOL + RTOL * fabs(ref[o]) + F16_ULP * vmax + 2 * vmax * e;
			}
		}
	double worst;
	int bad = check_close(c->what, got, ref, tol, no, &worst);
	worst_e2e[c->out] = fmax(worst_e2e[c->out], worst);
	EXPECT(bad == 0, "decompress + attention %s: %d values off the absorbed form", c->what, bad);

	gpu_rec_destroy(&rec);
	struct gpu_buffer *bufs[] = {&bk, &bv, &bq, &bo, &bscr};
	for (size_t i = 0; i < 5; i++) gpu_buffer_destroy(g, bufs[i]);
	free_inputs(g, &in);
	free(q), free(got), free(ref), free(qa), free(qp), free(lat), free(tol), free(k), free(v), free(tk), free(tv);
	return 0;
}

int main(void)
{
	struct gpu g;
	if (test_gpu_open(&g)) {
		fprintf(stderr, "no device: %s\n", vkllm_error());
		return 1;
	}
	uint64_t seed = 31;
	const struct shape tiny = {3, 32, 8, 32, 24}, mid = {16, 96, 64, 128, 24}, lite = {16, 512, 64, 128, 128},
	                   v3ish = {3, 512, 64, 128, 128}, odd = {16, 96, 8, 32, 24};
	const struct dcase dcases[] = {
		{"3 heads, C 32, f32 -> f32", tiny, 50, {1, 37}, ATTN_KV_F32, ATTN_KV_F32},
		{"3 heads, C 32, f16 -> f16, step past n_ctx", tiny, 50, {37, 1000}, ATTN_KV_F16, ATTN_KV_F16},
		{"16 heads, C 96, R 8, f16 -> f32", odd, 41, {1, 41}, ATTN_KV_F16, ATTN_KV_F32},
		{"16 heads, C 96, R 64, f32 -> f16", mid, 33, {5, 33}, ATTN_KV_F32, ATTN_KV_F16},
		{"3 heads, C 512, f32 -> f16", v3ish, 37, {5, 37}, ATTN_KV_F32, ATTN_KV_F16},
		{"V2-Lite shape, f16 -> f16", lite, 70, {37, 70}, ATTN_KV_F16, ATTN_KV_F16},
		{"V2-Lite shape, f32 -> f32", lite, 40, {1, 37}, ATTN_KV_F32, ATTN_KV_F32},
	};
	for (size_t i = 0; i < sizeof dcases / sizeof *dcases; i++) decompress_case(&g, &dcases[i], &seed);

	const struct ecase ecases[] = {
		{"3 heads, C 32, 5 tokens at 30, f32", tiny, 5, 30, 40, ATTN_KV_F32, ATTN_KV_F32},
		{"one token at 0, f16", odd, 1, 0, 8, ATTN_KV_F16, ATTN_KV_F16},
		{"V2-Lite shape, 7 tokens at 20, f32", lite, 7, 20, 40, ATTN_KV_F32, ATTN_KV_F32},
		{"V2-Lite shape, 7 tokens at 20, f16", lite, 7, 20, 40, ATTN_KV_F16, ATTN_KV_F16},
		{"16 heads, C 96, 9 tokens at 3, f32 cache, f16 K/V", mid, 9, 3, 16, ATTN_KV_F32, ATTN_KV_F16},
	};
	for (size_t i = 0; i < sizeof ecases / sizeof *ecases; i++) e2e_case(&g, &ecases[i], &seed);
	printf("# worst error / tolerance, f16 and f32 outputs: decompression %.3g, %.3g; end to end %.3g, %.3g\n",
	       worst_dec[ATTN_KV_F16], worst_dec[ATTN_KV_F32], worst_e2e[ATTN_KV_F16], worst_e2e[ATTN_KV_F32]);
	test_gpu_close(&g);
	return test_finish();
}
