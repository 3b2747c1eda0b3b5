/* op_attn_prep against the separate ops it replaces (op_rms_norm per head on q and k, op_rope on
 * q and k in place, op_kv_store of k and v), each of which test_norm, test_rope and the model
 * tests check against the CPU reference. Cases: Qwen3 (QK-norm, NeoX), a prefill chunk, Llama
 * (no norm, normal pairs, rope_freqs factors, GQA 3:1), Gemma 3 head_dim 256, a NoPE layer
 * (neither norm nor RoPE), partial rotary with YaRN and a v head narrower than k, Gemma 3n's v norm, and a chunk
 * whose last token falls past the cache; f16 and f32 caches; a replay at a new position; the
 * attention temperature over 61 positions past its floor (temperature_case); Llama 4's weightless
 * norm after RoPE (l2_norm_case).
 *
 * Tolerance: the fused kernel does the same f32 operations in the same order (the sums of
 * squares with rms_norm's workgroup, the angle from common/rope.glsl). A driver may still
 * contract a multiply and an add into an FMA in one shader and not the other, which moves a
 * rotated value by about an ulp of its terms: 2^-21 (|a0| + |a1|) for the pair (a0, a1), and one
 * f16 ulp more where the cache is f16 (the two f32 values may round to neighbouring halves).
 * llvmpipe never contracts (it lowers fma to a multiply and an add), so on a CPU device the
 * results must be identical to the bit. */
#include "loader/half.h"
#include "small_ops_util.h"

struct pcase {
	const char *name;
	uint32_t n_tokens, n_head, n_head_kv, D, Dv;
	bool norm, rope, neox, ff;
	uint32_t n_rot;
	float freq_scale, ext_factor;
	enum attn_kv_type kv;
	uint32_t n_ctx, row0; /* the chunk's first cache row */
	bool v_norm;          /* Gemma 3n: v heads RMS-normed without weight (op_rms_norm on the separate side) */
};

/* a cache as f32 values for comparison */
static void cache_floats(float *out, const void *raw, size_t n, enum attn_kv_type kv)
{
	for (size_t i = 0; i < n; i++) out[i] = kv == ATTN_KV_F16 ? half_to_f32(((const uint16_t *)raw)[i]) : ((const float *)raw)[i];
}

/* the tolerance of each value of rows [n][D] (heads of D): 2^-21 of its pair's magnitude, plus
 * an f16 ulp (2^-10 relative, or the subnormal step) where stored as f16 */
static void pair_tolerances(double *tol, const float *a, size_t n_heads, uint32_t D, uint32_t half_rot, bool neox,
                            bool f16)
{
	for (size_t h = 0; h < n_heads; h++) {
		const float *x = a + h * D;
		for (uint32_t i = 0; i < D / 2; i++) {
			bool rot = i < half_rot;
			uint32_t j0 = rot ? (neox ? i : 2 * i) : 2 * half_rot + 2 * (i - half_rot);
			uint32_t j1 = rot ? (neox ? i + half_rot : 2 * i + 1) : j0 + 1;
			double m = (fabs(x[j0]) + fabs(x[j1])) * 0x1p-21;
			tol[h * D + j0] = m + (f16 ? fabs(x[j0]) * 0x1p-10 + 0x1p-24 : 0);
			tol[h * D + j1] = m + (f16 ? fabs(x[j1]) * 0x1p-10 + 0x1p-24 : 0);
		}
	}
}

/* values equal to the bit pass whatever they are (the caches' untouched rows hold a byte pattern,
 * NaNs included): zeroed on both sides before the tolerance check */
static void clear_identical(float *got, float *ref, double *tol, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(&got[i], &ref[i], 4) == 0) got[i] = ref[i] = 0, tol[i] = 0;
}

/* how many values differ in their bits */
static size_t bit_differences(const float *a, const float *b, size_t n)
{
	size_t d = 0;
	for (size_t i = 0; i < n; i++) d += memcmp(&a[i], &b[i], 4) != 0;
	return d;
}

/* one side's buffers; each cache holds n_ctx rows in its view and a guard row after it */
struct sides {
	struct gpu_buffer q, k, v, kc, vc;
	struct gpu_view kc_view, vc_view;
};

static int make_side(struct gpu *g, struct sides *s, const float *q, const float *k, const float *v, size_t nq,
                     size_t nk, size_t nv, size_t kc_bytes, size_t vc_bytes, const void *kc0, const void *vc0,
                     uint32_t n_ctx)
{
	TRY(buf_make(g, &s->q, "q", q, nq * 4, 0));
	TRY(buf_make(g, &s->k, "k", k, nk * 4, 0));
	TRY(buf_make(g, &s->v, "v", v, nv * 4, 0));
	TRY(buf_make(g, &s->kc, "k_cache", kc0, kc_bytes, 0));
	TRY(buf_make(g, &s->vc, "v_cache", vc0, vc_bytes, 0));
	s->kc_view = view_at(&s->kc, 0, kc_bytes / (n_ctx + 1) * n_ctx); /* all but the guard row */
	s->vc_view = view_at(&s->vc, 0, vc_bytes / (n_ctx + 1) * n_ctx);
	return VKLLM_OK;
}

static void free_side(struct gpu *g, struct sides *s)
{
	gpu_buffer_destroy(g, &s->q), gpu_buffer_destroy(g, &s->k), gpu_buffer_destroy(g, &s->v);
	gpu_buffer_destroy(g, &s->kc), gpu_buffer_destroy(g, &s->vc);
}

/* compares side b (fused) with side a (separate ops); returns the number of values out of tolerance */
static int compare(struct gpu *g, const struct pcase *c, struct sides *a, struct sides *b, const char *when)
{
	uint32_t half_rot = c->rope ? c->n_rot / 2 : 0;
	size_t nq = (size_t)c->n_tokens * c->n_head * c->D, nkc = (size_t)c->n_ctx * c->n_head_kv * c->D;
	size_t nvc = (size_t)c->n_ctx * c->n_head_kv * c->Dv, elem = c->kv == ATTN_KV_F16 ? 2 : 4;
	float *qa = malloc(nq * 4), *qb = malloc(nq * 4), *ka = malloc(nkc * 4), *kb = malloc(nkc * 4);
	float *va = malloc(nvc * 4), *vb = malloc(nvc * 4);
	void *raw = malloc(nkc * 4 + nvc * 4);
	double *tol = malloc((nq > nkc ? nq : nkc) * 8), worst;
	int bad = 0;
	REQUIRE_OK(gpu_download(g, qa, &a->q, 0, nq * 4));
	REQUIRE_OK(gpu_download(g, qb, &b->q, 0, nq * 4));
	REQUIRE_OK(gpu_download(g, raw, &a->kc, 0, nkc * elem));
	cache_floats(ka, raw, nkc, c->kv);
	REQUIRE_OK(gpu_download(g, raw, &b->kc, 0, nkc * elem));
	cache_floats(kb, raw, nkc, c->kv);
	REQUIRE_OK(gpu_download(g, raw, &a->vc, 0, nvc * elem));
	cache_floats(va, raw, nvc, c->kv);
	REQUIRE_OK(gpu_download(g, raw, &b->vc, 0, nvc * elem));
	cache_floats(vb, raw, nvc, c->kv);

	size_t vdiff = bit_differences(va, vb, nvc); /* a conversion of the same f32 values: exact */
	size_t diff = bit_differences(qa, qb, nq) + bit_differences(ka, kb, nkc) + vdiff;
	pair_tolerances(tol, qa, nq / c->D, c->D, half_rot, c->neox, false);
	clear_identical(qb, qa, tol, nq);
	bad += check_close("q", qb, qa, tol, nq, &worst);
	pair_tolerances(tol, ka, nkc / c->D, c->D, half_rot, c->neox, c->kv == ATTN_KV_F16);
	clear_identical(kb, ka, tol, nkc);
	bad += check_close("k_cache", kb, ka, tol, nkc, &worst);
	bad += (int)vdiff;
	EXPECT(bad == 0, "attn_prep %s (%s): %d values out of tolerance (%zu of v)", c->name, when, bad, vdiff);
	if (gpu_is_cpu(g)) EXPECT(diff == 0, "attn_prep %s (%s): %zu values differ from the separate ops on a CPU device", c->name, when, diff);
	printf("# %s (%s): %zu of %zu values differ in their bits\n", c->name, when, diff, nq + nkc + nvc);
	free(qa), free(qb), free(ka), free(kb), free(va), free(vb), free(raw), free(tol);
	return 0;
}

static int run_case(struct gpu *g, const struct pcase *c, uint64_t *seed)
{
	uint32_t D = c->D, Dv = c->Dv, H = c->n_head, Hk = c->n_head_kv, n = c->n_tokens;
	size_t nq = (size_t)n * H * D, nk = (size_t)n * Hk * D, nv = (size_t)n * Hk * Dv;
	size_t elem = c->kv == ATTN_KV_F16 ? 2 : 4;
	/* n_ctx rows and a guard row */
	size_t kc_bytes = (size_t)(c->n_ctx + 1) * Hk * D * elem, vc_bytes = (size_t)(c->n_ctx + 1) * Hk * Dv * elem;
	float *q = malloc(nq * 4), *k = malloc(nk * 4), *v = malloc(nv * 4), *qn = malloc(D * 4ull), *kn = malloc(D * 4ull);
	float *ff = malloc(D * 2ull);
	unsigned char *kc0 = malloc(kc_bytes), *vc0 = malloc(vc_bytes);
	/* projections of a few units, norm weights around 1, llama3-style factors; the caches start
	 * as a pattern, so a row written where it must not be shows */
	for (size_t i = 0; i < nq; i++) q[i] = test_randf(seed) * 3;
	for (size_t i = 0; i < nk; i++) k[i] = test_randf(seed) * 3;
	for (size_t i = 0; i < nv; i++) v[i] = test_randf(seed) * 3;
	for (uint32_t i = 0; i < D; i++) qn[i] = 1 + 0.5f * test_randf(seed), kn[i] = 1 + 0.5f * test_randf(seed);
	for (uint32_t i = 0; i < D / 2; i++) ff[i] = 1 + 7 * (float)i / (float)(D / 2);
	for (size_t i = 0; i < kc_bytes; i++) kc0[i] = (unsigned char)(i * 7 + 1);
	for (size_t i = 0; i < vc_bytes; i++) vc0[i] = (unsigned char)(i * 5 + 3);
	int32_t pos[8];
	uint32_t step[2] = {0, c->row0};
	for (uint32_t t = 0; t < n; t++) pos[t] = (int32_t)(c->row0 + t) * 37 + 11; /* positions need not be rows */

	struct sides a, b;
	struct gpu_buffer nb, stb, pb, fb;
	REQUIRE_OK(make_side(g, &a, q, k, v, nq, nk, nv, kc_bytes, vc_bytes, kc0, vc0, c->n_ctx));
	REQUIRE_OK(make_side(g, &b, q, k, v, nq, nk, nv, kc_bytes, vc_bytes, kc0, vc0, c->n_ctx));
	REQUIRE_OK(buf_make(g, &nb, "norms", NULL, 2 * D * 4ull, 0));
	REQUIRE_OK(gpu_upload(g, &nb, 0, qn, D * 4ull));
	REQUIRE_OK(gpu_upload(g, &nb, D * 4ull, kn, D * 4ull));
	REQUIRE_OK(buf_make(g, &stb, "step", step, 8, 0));
	REQUIRE_OK(buf_make(g, &pb, "pos", pos, n * 4ull, 0));
	REQUIRE_OK(buf_make(g, &fb, "ff", ff, D * 2ull, 0));
	struct gpu_view qnv = view_at(&nb, 0, D * 4ull), knv = view_at(&nb, D * 4ull, D * 4ull);
	struct gpu_view stv = view_at(&stb, 0, 8), posv = view_at(&pb, 0, n * 4ull);
	struct gpu_view ffv = c->ff ? view_at(&fb, 0, c->n_rot / 2 * 4ull) : NO_VIEW;
	struct rope_config rc = {c->neox, c->n_rot, 1e6f, c->freq_scale, c->ext_factor, 1.0f, 32.0f, 1.0f, 4096};

	/* side a: the separate ops, in forward.c's former order */
	struct gpu_rec ra, rb;
	REQUIRE_OK(gpu_rec_begin(g, &ra));
	struct gpu_view qa = gpu_whole(&a.q), ka = gpu_whole(&a.k);
	if (c->norm) {
		REQUIRE_OK(op_rms_norm(&ra, qa, qa, qnv, D, n * H, 0, 1e-6f));
		REQUIRE_OK(op_rms_norm(&ra, ka, ka, knv, D, n * Hk, 0, 1e-6f));
	}
	if (c->rope) {
		REQUIRE_OK(op_rope(&ra, qa, qa, posv, ffv, n, H, D, 0, 0, &rc));
		REQUIRE_OK(op_rope(&ra, ka, ka, posv, ffv, n, Hk, D, 0, 0, &rc));
	}
	REQUIRE_OK(op_kv_store(&ra, a.kc_view, c->kv, ka, stv, n, Hk * D, 0, 0, c->n_ctx, 0));
	if (c->v_norm) REQUIRE_OK(op_rms_norm(&ra, gpu_whole(&a.v), gpu_whole(&a.v), NO_VIEW, Dv, n * Hk, 0, 1e-6f));
	REQUIRE_OK(op_kv_store(&ra, a.vc_view, c->kv, gpu_whole(&a.v), stv, n, Hk * Dv, 0, 0, c->n_ctx, 0));
	REQUIRE_OK(gpu_rec_end(&ra));

	/* side b: one op_attn_prep */
	struct attn_prep_desc d = {
		.n_tokens = n, .n_head = H, .n_head_kv = Hk, .head_dim_k = D, .head_dim_v = Dv,
		.q_norm = c->norm ? qnv : NO_VIEW, .k_norm = c->norm ? knv : NO_VIEW, .eps = 1e-6f,
		.rope = c->rope ? &rc : NULL, .freq_factors = ffv, .pos = posv, .step = stv, .kv_type = c->kv, .n_ctx = c->n_ctx,
		.v_norm = c->v_norm,
	};
	REQUIRE_OK(gpu_rec_begin(g, &rb));
	REQUIRE_OK(op_attn_prep(&rb, gpu_whole(&b.q), gpu_whole(&b.k), gpu_whole(&b.v), b.kc_view, b.vc_view, &d));
	REQUIRE_OK(gpu_rec_end(&rb));

	REQUIRE_OK(gpu_rec_submit_wait(&ra));
	REQUIRE_OK(gpu_rec_submit_wait(&rb));
	compare(g, c, &a, &b, "first run");

	/* the guard rows after the caches keep their pattern: a token past n_ctx is dropped */
	size_t kg = kc_bytes / (c->n_ctx + 1), vg = vc_bytes / (c->n_ctx + 1);
	unsigned char *guard = malloc(kg > vg ? kg : vg);
	REQUIRE_OK(gpu_download(g, guard, &b.kc, kc_bytes - kg, kg));
	EXPECT(memcmp(guard, kc0 + kc_bytes - kg, kg) == 0, "attn_prep %s: wrote a k row past the cache", c->name);
	REQUIRE_OK(gpu_download(g, guard, &b.vc, vc_bytes - vg, vg));
	EXPECT(memcmp(guard, vc0 + vc_bytes - vg, vg) == 0, "attn_prep %s: wrote a v row past the cache", c->name);
	free(guard);

	/* replay both at a new cache row and new positions, from fresh inputs (q and k were rotated
	 * in place, and v normed in place on the separate side): the recordings read them on the device */
	step[1] = c->row0 > 0 ? c->row0 - 1 : 1;
	for (uint32_t t = 0; t < n; t++) pos[t] += 1000;
	struct sides *both[2] = {&a, &b};
	for (int s = 0; s < 2; s++) {
		REQUIRE_OK(gpu_upload(g, &both[s]->q, 0, q, nq * 4));
		REQUIRE_OK(gpu_upload(g, &both[s]->k, 0, k, nk * 4));
		REQUIRE_OK(gpu_upload(g, &both[s]->v, 0, v, nv * 4)); /* the separate side normed v in place */
	}
	REQUIRE_OK(gpu_upload(g, &stb, 0, step, 8));
	REQUIRE_OK(gpu_upload(g, &pb, 0, pos, n * 4ull));
	REQUIRE_OK(gpu_rec_submit_wait(&ra));
	REQUIRE_OK(gpu_rec_submit_wait(&rb));
	compare(g, c, &a, &b, "replayed");

	gpu_rec_destroy(&ra), gpu_rec_destroy(&rb);
	free_side(g, &a), free_side(g, &b);
	gpu_buffer_destroy(g, &nb), gpu_buffer_destroy(g, &stb), gpu_buffer_destroy(g, &pb), gpu_buffer_destroy(g, &fb);
	free(q), free(k), free(v), free(qn), free(kn), free(ff), free(kc0), free(vc0);
	return 0;
}

/* ---- the attention temperature (mistral3, Llama 4) ----
 * llama.cpp's llm_graph_input_attn_temp: q after RoPE times
 *   t(pos) = log(floor((pos + offset) / floor_scale) + 1) * scale + 1
 * computed on the host, the division in f32 and the log in double, stored as f32 and multiplied
 * into the f32 q (ggml_mul). The fused kernel computes it in f32 on the device from the position
 * buffer. Checked over positions 0..60 with floor 16 (factors 1, 1.069, 1.110, 1.139), against
 * the separate ops' q times that host factor:
 *  - below the floor the factor is exactly 1: q equals the separate ops' to the bit on a CPU device;
 *  - elsewhere within the rotation's tolerance (pair_tolerances) times the factor, plus 2^-21 of
 *    the value for the factor itself (an f32 log against a double one, rounded: an ulp or two);
 *  - k and v are untouched by it (the separate ops' caches, as in run_case).
 * Cases: Ministral 3's (RoPE NORM with YaRN, offset 0) and Llama 4's (a NoPE layer, offset 1). */
static double host_temp(uint32_t pos, float scale, uint32_t floor_scale, uint32_t offset)
{
	float q = ((float)pos + (float)offset) / (float)floor_scale;
	return (float)(log(floorf(q) + 1.0) * scale + 1.0);
}

static int temperature_case(struct gpu *g, bool rope, uint32_t offset, uint64_t *seed)
{
	const uint32_t n = 61, H = 4, Hk = 2, D = 64, n_ctx = 64, floor_scale = 16;
	const float scale = 0.1f;
	const char *name = rope ? "temperature, rope yarn" : "temperature, nope offset 1";
	size_t nq = (size_t)n * H * D, nk = (size_t)n * Hk * D, kc_bytes = (size_t)(n_ctx + 1) * Hk * D * 2;
	float *q = malloc(nq * 4), *k = malloc(nk * 4), *v = malloc(nk * 4), *qa = malloc(nq * 4), *qb = malloc(nq * 4);
	double *tol = malloc(nq * 8), worst;
	unsigned char *kc0 = calloc(kc_bytes, 1);
	int32_t pos[61];
	uint32_t step[2] = {0, 0};
	for (size_t i = 0; i < nq; i++) q[i] = test_randf(seed) * 3;
	for (size_t i = 0; i < nk; i++) k[i] = test_randf(seed) * 3, v[i] = test_randf(seed) * 3;
	for (uint32_t t = 0; t < n; t++) pos[t] = (int32_t)t;
	struct sides a, b;
	struct gpu_buffer stb, pb;
	REQUIRE_OK(make_side(g, &a, q, k, v, nq, nk, nk, kc_bytes, kc_bytes, kc0, kc0, n_ctx));
	REQUIRE_OK(make_side(g, &b, q, k, v, nq, nk, nk, kc_bytes, kc_bytes, kc0, kc0, n_ctx));
	REQUIRE_OK(buf_make(g, &stb, "step", step, 8, 0));
	REQUIRE_OK(buf_make(g, &pb, "pos", pos, n * 4ull, 0));
	struct gpu_view stv = view_at(&stb, 0, 8), posv = view_at(&pb, 0, n * 4ull);
	/* Ministral 3's RoPE in small: YaRN x16 over 16 with its betas 32 and 1 */
	struct rope_config rc = {false, D, 1e6f, 1.0f / 16, 1.0f, 0.78f, 32.0f, 1.0f, 16};

	struct gpu_rec ra, rb;
	REQUIRE_OK(gpu_rec_begin(g, &ra));
	if (rope) {
		REQUIRE_OK(op_rope(&ra, gpu_whole(&a.q), gpu_whole(&a.q), posv, NO_VIEW, n, H, D, 0, 0, &rc));
		REQUIRE_OK(op_rope(&ra, gpu_whole(&a.k), gpu_whole(&a.k), posv, NO_VIEW, n, Hk, D, 0, 0, &rc));
	}
	REQUIRE_OK(op_kv_store(&ra, a.kc_view, ATTN_KV_F16, gpu_whole(&a.k), stv, n, Hk * D, 0, 0, n_ctx, 0));
	REQUIRE_OK(op_kv_store(&ra, a.vc_view, ATTN_KV_F16, gpu_whole(&a.v), stv, n, Hk * D, 0, 0, n_ctx, 0));
	REQUIRE_OK(gpu_rec_end(&ra));
	struct attn_prep_desc d = {
		.n_tokens = n, .n_head = H, .n_head_kv = Hk, .head_dim_k = D, .head_dim_v = D, .eps = 1e-6f,
		.rope = rope ? &rc : NULL, .pos = posv, .step = stv, .kv_type = ATTN_KV_F16, .n_ctx = n_ctx,
		.temp_scale = scale, .temp_floor = floor_scale, .temp_offset = offset,
	};
	REQUIRE_OK(gpu_rec_begin(g, &rb));
	REQUIRE_OK(op_attn_prep(&rb, gpu_whole(&b.q), gpu_whole(&b.k), gpu_whole(&b.v), b.kc_view, b.vc_view, &d));
	REQUIRE_OK(gpu_rec_end(&rb));
	REQUIRE_OK(gpu_rec_submit_wait(&ra));
	REQUIRE_OK(gpu_rec_submit_wait(&rb));

	REQUIRE_OK(gpu_download(g, qa, &a.q, 0, nq * 4));
	REQUIRE_OK(gpu_download(g, qb, &b.q, 0, nq * 4));
	pair_tolerances(tol, qa, nq / D, D, rope ? D / 2 : 0, false, false);
	size_t below_diff = 0;
	double most = 1;
	for (uint32_t t = 0; t < n; t++) {
		double f = host_temp((uint32_t)pos[t] , scale, floor_scale, offset);
		most = fmax(most, f);
		for (size_t i = (size_t)t * H * D; i < (size_t)(t + 1) * H * D; i++) {
			if (f == 1.0) below_diff += memcmp(&qa[i], &qb[i], 4) != 0;
			qa[i] = (float)((double)qa[i] * f); /* ggml_mul: the f32 product */
			tol[i] = tol[i] * f + fabs(qa[i]) * 0x1p-21;
		}
	}
	int bad = check_close("q", qb, qa, tol, nq, &worst);
	double q_worst = worst;
	EXPECT(bad == 0, "attn_prep %s: %d q values out of tolerance (worst %.2f of it)", name, bad, worst);
	EXPECT(most > 1.13, "attn_prep %s: the largest factor %.4f (positions past the floor)", name, most);
	if (gpu_is_cpu(g)) EXPECT(below_diff == 0, "attn_prep %s: %zu q values below the floor differ from the separate ops", name, below_diff);
	/* the caches are the separate ops': the temperature is on q only */
	void *ra_raw = malloc(kc_bytes), *rb_raw = malloc(kc_bytes);
	size_t cache_bytes = (size_t)n_ctx * Hk * D * 2, cdiff = 0;
	float *ka = malloc(cache_bytes * 2), *kb = malloc(cache_bytes * 2);
	double *ktol = malloc(cache_bytes * 4);
	struct gpu_buffer *caches[2][2] = {{&a.kc, &b.kc}, {&a.vc, &b.vc}};
	for (int c = 0; c < 2; c++) {
		REQUIRE_OK(gpu_download(g, ra_raw, caches[c][0], 0, cache_bytes));
		REQUIRE_OK(gpu_download(g, rb_raw, caches[c][1], 0, cache_bytes));
		cache_floats(ka, ra_raw, cache_bytes / 2, ATTN_KV_F16);
		cache_floats(kb, rb_raw, cache_bytes / 2, ATTN_KV_F16);
		cdiff += bit_differences(ka, kb, cache_bytes / 2);
		pair_tolerances(ktol, ka, cache_bytes / 2 / D, D, rope && c == 0 ? D / 2 : 0, false, true);
		if (c == 1) memset(ktol, 0, cache_bytes / 2 * sizeof *ktol); /* v: a conversion of the same values */
		clear_identical(kb, ka, ktol, cache_bytes / 2);
		EXPECT(check_close(c ? "v_cache" : "k_cache", kb, ka, ktol, cache_bytes / 2, &worst) == 0, "attn_prep %s: %s",
		       name, c ? "v cache" : "k cache");
	}
	if (gpu_is_cpu(g)) EXPECT(cdiff == 0, "attn_prep %s: the caches differ from the separate ops' in %zu values", name, cdiff);
	printf("# %s: factors up to %.4f, q within %.2f of its tolerance, %zu q values below the floor differ\n", name, most,
	       q_worst, below_diff);
	gpu_rec_destroy(&ra), gpu_rec_destroy(&rb);
	free_side(g, &a), free_side(g, &b);
	gpu_buffer_destroy(g, &stb), gpu_buffer_destroy(g, &pb);
	free(q), free(k), free(v), free(qa), free(qb), free(tol), free(kc0), free(ra_raw), free(rb_raw), free(ka), free(kb), free(ktol);
	return 0;
}

/* ---- Llama 4's weightless QK-norm after RoPE (attn_prep_desc.l2_norm) ----
 * Against the separate ops in llama.cpp's order: op_rope on q and k, then op_rms_norm per head
 * without a weight, then the cache stores. The fused kernel sums the squares of the rotated pairs
 * pair by pair where op_rms_norm sums elements strided, so the 1/rms factors may differ by a few
 * f32 ulps: the tolerance is the rotation's (pair_tolerances) plus 2^-20 of each value. The order
 * itself is checked too: with YaRN's magnitude (mscale != 1) a norm before RoPE would leave every
 * head's rms at mscale; after RoPE it is 1 (within 1e-5, eps 1e-6 against squares near 1). */
static int l2_norm_case(struct gpu *g, enum attn_kv_type kv, uint64_t *seed)
{
	const uint32_t n = 5, H = 4, Hk = 2, D = 64, n_ctx = 8;
	size_t nq = (size_t)n * H * D, nk = (size_t)n * Hk * D, elem = kv == ATTN_KV_F16 ? 2 : 4;
	size_t kc_bytes = (size_t)(n_ctx + 1) * Hk * D * elem, nkc = (size_t)n_ctx * Hk * D;
	float *q = malloc(nq * 4), *k = malloc(nk * 4), *v = malloc(nk * 4), *ff = malloc(D * 2ull);
	unsigned char *kc0 = calloc(kc_bytes, 1);
	int32_t pos[5];
	uint32_t step[2] = {0, 2};
	for (size_t i = 0; i < nq; i++) q[i] = test_randf(seed) * 3;
	for (size_t i = 0; i < nk; i++) k[i] = test_randf(seed) * 3, v[i] = test_randf(seed) * 3;
	for (uint32_t i = 0; i < D / 2; i++) ff[i] = i < D / 4 ? 1.0f : 16.0f; /* Scout's rope_freqs: 1 or 16 */
	for (uint32_t t = 0; t < n; t++) pos[t] = (int32_t)(t * 977 + 3);
	struct sides a, b;
	struct gpu_buffer stb, pb, fb;
	REQUIRE_OK(make_side(g, &a, q, k, v, nq, nk, nk, kc_bytes, kc_bytes, kc0, kc0, n_ctx));
	REQUIRE_OK(make_side(g, &b, q, k, v, nq, nk, nk, kc_bytes, kc_bytes, kc0, kc0, n_ctx));
	REQUIRE_OK(buf_make(g, &stb, "step", step, 8, 0));
	REQUIRE_OK(buf_make(g, &pb, "pos", pos, n * 4ull, 0));
	REQUIRE_OK(buf_make(g, &fb, "ff", ff, D * 2ull, 0));
	struct gpu_view stv = view_at(&stb, 0, 8), posv = view_at(&pb, 0, n * 4ull), ffv = view_at(&fb, 0, D * 2ull);
	/* RoPE NORM with rope_freqs and a YaRN magnitude of 0.78, so the order shows */
	struct rope_config rc = {false, D, 5e5f, 1.0f / 16, 1.0f, 0.78f, 32.0f, 1.0f, 64};
	struct gpu_rec ra, rb;
	REQUIRE_OK(gpu_rec_begin(g, &ra));
	struct gpu_view qa = gpu_whole(&a.q), ka = gpu_whole(&a.k);
	REQUIRE_OK(op_rope(&ra, qa, qa, posv, ffv, n, H, D, 0, 0, &rc));
	REQUIRE_OK(op_rope(&ra, ka, ka, posv, ffv, n, Hk, D, 0, 0, &rc));
	REQUIRE_OK(op_rms_norm(&ra, qa, qa, NO_VIEW, D, n * H, 0, 1e-6f));
	REQUIRE_OK(op_rms_norm(&ra, ka, ka, NO_VIEW, D, n * Hk, 0, 1e-6f));
	REQUIRE_OK(op_kv_store(&ra, a.kc_view, kv, ka, stv, n, Hk * D, 0, 0, n_ctx, 0));
	REQUIRE_OK(op_kv_store(&ra, a.vc_view, kv, gpu_whole(&a.v), stv, n, Hk * D, 0, 0, n_ctx, 0));
	REQUIRE_OK(gpu_rec_end(&ra));
	struct attn_prep_desc d = {
		.n_tokens = n, .n_head = H, .n_head_kv = Hk, .head_dim_k = D, .head_dim_v = D, .l2_norm = true, .eps = 1e-6f,
		.rope = &rc, .freq_factors = ffv, .pos = posv, .step = stv, .kv_type = kv, .n_ctx = n_ctx,
	};
	REQUIRE_OK(gpu_rec_begin(g, &rb));
	REQUIRE_OK(op_attn_prep(&rb, gpu_whole(&b.q), gpu_whole(&b.k), gpu_whole(&b.v), b.kc_view, b.vc_view, &d));
	REQUIRE_OK(gpu_rec_end(&rb));
	REQUIRE_OK(gpu_rec_submit_wait(&ra));
	REQUIRE_OK(gpu_rec_submit_wait(&rb));

	float *qa_h = malloc(nq * 4), *qb_h = malloc(nq * 4), *ka_h = malloc(nkc * 4), *kb_h = malloc(nkc * 4);
	void *raw = malloc(nkc * 4);
	double *tol = malloc(nq * 8), worst, worst_rms = 0;
	REQUIRE_OK(gpu_download(g, qa_h, &a.q, 0, nq * 4));
	REQUIRE_OK(gpu_download(g, qb_h, &b.q, 0, nq * 4));
	REQUIRE_OK(gpu_download(g, raw, &a.kc, 0, nkc * elem));
	cache_floats(ka_h, raw, nkc, kv);
	REQUIRE_OK(gpu_download(g, raw, &b.kc, 0, nkc * elem));
	cache_floats(kb_h, raw, nkc, kv);
	const char *name = kv == ATTN_KV_F16 ? "l2 norm after rope, f16 cache" : "l2 norm after rope, f32 cache";
	pair_tolerances(tol, qa_h, nq / D, D, D / 2, false, false);
	for (size_t i = 0; i < nq; i++) tol[i] += fabs(qa_h[i]) * 0x1p-20;
	int bad = check_close("q", qb_h, qa_h, tol, nq, &worst);
	double q_worst = worst;
	/* the chunk's rows (2..6) of the k cache */
	size_t k0 = (size_t)step[1] * Hk * D, kn = nk;
	pair_tolerances(tol, ka_h + k0, kn / D, D, D / 2, false, kv == ATTN_KV_F16);
	for (size_t i = 0; i < kn; i++) tol[i] += fabs(ka_h[k0 + i]) * 0x1p-20;
	bad += check_close("k_cache", kb_h + k0, ka_h + k0, tol, kn, &worst);
	for (size_t h = 0; h < nq / D; h++) {
		double ss = 0;
		for (uint32_t i = 0; i < D; i++) ss += (double)qb_h[h * D + i] * qb_h[h * D + i];
		worst_rms = fmax(worst_rms, fabs(sqrt(ss / D) - 1));
	}
	EXPECT(bad == 0, "attn_prep %s: %d values out of tolerance", name, bad);
	EXPECT(worst_rms < 1e-5, "attn_prep %s: a q head's rms is %.3g away from 1 (normed after RoPE's magnitude?)", name,
	       worst_rms);
	printf("# %s: q within %.2f of its tolerance, k within %.2f, head rms within %.2g of 1\n", name, q_worst, worst,
	       worst_rms);
	gpu_rec_destroy(&ra), gpu_rec_destroy(&rb);
	free_side(g, &a), free_side(g, &b);
	gpu_buffer_destroy(g, &stb), gpu_buffer_destroy(g, &pb), gpu_buffer_destroy(g, &fb);
	free(q), free(k), free(v), free(ff), free(kc0), free(qa_h), free(qb_h), free(ka_h), free(kb_h), free(raw), free(tol);
	return 0;
}

/* bad arguments: a one-line error each, nothing recorded */
static int bad_arguments(struct gpu *g)
{
	struct gpu_buffer b;
	REQUIRE_OK(gpu_buffer_create(g, &b, 1 << 16, GPU_MEM_DEVICE, "b"));
	struct gpu_view all = gpu_whole(&b), small = view_at(&b, 0, 1024), w = view_at(&b, 0, 512);
	struct rope_config rc = {true, 128, 1e6f, 1, 0, 1, 32, 1, 4096};
	struct attn_prep_desc d = {.n_tokens = 1, .n_head = 4, .n_head_kv = 2, .head_dim_k = 128, .head_dim_v = 128,
	                           .q_norm = w, .k_norm = w, .eps = 1e-6f, .rope = &rc, .pos = small, .step = small,
	                           .kv_type = ATTN_KV_F16, .n_ctx = 8};
	struct gpu_rec rec;
	REQUIRE_OK(gpu_rec_begin(g, &rec));
	EXPECT(op_attn_prep(&rec, all, all, all, all, all, &d) == VKLLM_OK, "a valid call records: %s", vkllm_error());
	struct attn_prep_desc e = d;
	e.k_norm = NO_VIEW;
	EXPECT(op_attn_prep(&rec, all, all, all, all, all, &e) == VKLLM_E_ARG, "q_norm without k_norm refused");
	e = d, e.head_dim_k = 127;
	EXPECT(op_attn_prep(&rec, all, all, all, all, all, &e) == VKLLM_E_ARG, "odd head_dim_k refused");
	rc.n_rot = 130;
	EXPECT(op_attn_prep(&rec, all, all, all, all, all, &d) == VKLLM_E_ARG, "n_rot > head_dim refused");
	rc.n_rot = 128;
	EXPECT(op_attn_prep(&rec, all, all, all, small, all, &d) == VKLLM_E_ARG, "a short k cache refused");
	e = d, e.n_ctx = 0;
	EXPECT(op_attn_prep(&rec, all, all, all, all, all, &e) == VKLLM_E_ARG, "an empty context refused");
	e = d, e.q_norm = e.k_norm = view_at(&b, 0, 64);
	EXPECT(op_attn_prep(&rec, all, all, all, all, all, &e) == VKLLM_E_ARG, "short norm weights refused");
	e = d, e.temp_scale = 0.1f, e.temp_floor = 0;
	EXPECT(op_attn_prep(&rec, all, all, all, all, all, &e) == VKLLM_E_ARG, "a temperature without a floor refused");
	e = d, e.rope = NULL, e.temp_scale = 0.1f, e.temp_floor = 16, e.pos = NO_VIEW;
	EXPECT(op_attn_prep(&rec, all, all, all, all, all, &e) == VKLLM_E_ARG, "a temperature without positions refused");
	e = d, e.l2_norm = true;
	EXPECT(op_attn_prep(&rec, all, all, all, all, all, &e) == VKLLM_E_ARG, "the weightless norm with norm weights refused");
	REQUIRE_OK(gpu_rec_end(&rec));
	gpu_rec_destroy(&rec);
	gpu_buffer_destroy(g, &b);
	return 0;
}

int main(void)
{
	struct gpu g;
	if (test_gpu_open(&g)) {
		fprintf(stderr, "no device: %s\n", vkllm_error());
		return 1;
	}
	const struct pcase cases[] = {
		/* name, tokens, heads, kv heads, D, Dv, norm, rope, neox, ff, n_rot, freq_scale, ext, cache, n_ctx, row0 */
		{"qwen3 decode", 1, 4, 2, 128, 128, true, true, true, false, 128, 1, 0, ATTN_KV_F16, 16, 5, false},
		{"qwen3 prefill f32", 5, 4, 2, 128, 128, true, true, true, false, 128, 1, 0, ATTN_KV_F32, 16, 3, false},
		{"llama gqa factors", 3, 6, 2, 64, 64, false, true, false, true, 64, 1, 0, ATTN_KV_F16, 8, 2, false},
		{"gemma3 256", 2, 2, 1, 256, 256, true, true, true, false, 256, 1, 0, ATTN_KV_F16, 8, 0, false},
		{"nope layer", 2, 4, 4, 64, 64, false, false, false, false, 0, 1, 0, ATTN_KV_F16, 8, 1, false},
		{"partial yarn dv32", 3, 2, 1, 64, 32, true, true, true, false, 32, 0.25f, 1, ATTN_KV_F32, 8, 4, false},
		{"past the cache", 3, 2, 2, 64, 64, true, true, false, false, 64, 1, 0, ATTN_KV_F16, 4, 2, false},
		/* Gemma 3n: QK-norm, NeoX, v normed, heads of 256 (E2B's), f16 and f32 caches */
		{"gemma3n v norm", 3, 8, 2, 256, 256, true, true, true, false, 256, 1, 0, ATTN_KV_F16, 8, 1, true},
		{"gemma3n v norm f32", 2, 8, 2, 256, 256, true, true, true, false, 256, 1, 0, ATTN_KV_F32, 8, 0, true},
	};
	uint64_t seed = 17;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&g, &cases[i], &seed);
	temperature_case(&g, true, 0, &seed);
	temperature_case(&g, false, 1, &seed);
	l2_norm_case(&g, ATTN_KV_F16, &seed);
	l2_norm_case(&g, ATTN_KV_F32, &seed);
	bad_arguments(&g);
	test_gpu_close(&g);
	return test_finish();
}
