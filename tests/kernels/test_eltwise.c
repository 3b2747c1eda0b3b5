/* op_add, op_add_bias, op_scale, op_softcap, op_add_gated and op_kv_store against tests/ref/eltwise_ref.c: one
 * element, counts that are not multiples of the workgroup, views at offsets that are not
 * multiples of the storage alignment, in place. Tolerance: none for add, bias, scale and the
 * store. An f32 add or multiply is correctly rounded in Vulkan as in C (the reference rounds the
 * exact float64 result once), the inputs hold no denormals, and the f16 store rounds to nearest
 * even as f32_to_half does. Soft-capping: 4 ulp of the cap plus 2^-20 relative, because GLSL's
 * tanh has no correctly rounded guarantee (the spec allows the error of its exp-based formula).
 * Gated add: the sigmoid's exp and division in f32, a few ulp: 2^-20 of |b| plus an ulp of the sum. */
#include "loader/half.h"
#include "ref/eltwise_ref.h"
#include "small_ops_util.h"

static int run_add(struct gpu *g, uint32_t n, bool in_place, uint64_t *seed)
{
	float *a = malloc(n * 4ull), *b = malloc(n * 4ull), *ref = malloc(n * 4ull), *got = malloc(n * 4ull);
	for (uint32_t i = 0; i < n; i++) a[i] = test_randf(seed) * 100, b[i] = test_randf(seed);
	add_ref(ref, a, b, n);
	struct gpu_buffer ab, bb, ob;
	REQUIRE_OK(buf_make(g, &ab, "a", a, n * 4ull, 4));
	REQUIRE_OK(buf_make(g, &bb, "b", b, n * 4ull, 12));
	REQUIRE_OK(buf_make(g, &ob, "out", NULL, n * 4ull, 8));
	struct gpu_view av = view_at(&ab, 4, n * 4ull), bv = view_at(&bb, 12, n * 4ull);
	struct gpu_view ov = in_place ? av : view_at(&ob, 8, n * 4ull);
	struct gpu_rec rec;
	REQUIRE_OK(gpu_rec_begin(g, &rec));
	REQUIRE_OK(op_add(&rec, ov, av, bv, n));
	REQUIRE_OK(gpu_rec_end(&rec));
	REQUIRE_OK(gpu_rec_submit_wait(&rec));
	REQUIRE_OK(gpu_download(g, got, ov.buf, ov.offset, n * 4ull));
	int bad = 0;
	for (uint32_t i = 0; i < n; i++) bad += got[i] != ref[i];
	EXPECT(bad == 0, "add n %u in place %d: %d values differ", n, in_place, bad);
	gpu_rec_destroy(&rec);
	gpu_buffer_destroy(g, &ab), gpu_buffer_destroy(g, &bb), gpu_buffer_destroy(g, &ob);
	free(a), free(b), free(ref), free(got);
	return 0;
}

static int run_scale(struct gpu *g, uint32_t n, float scale, bool in_place, uint64_t *seed)
{
	float *a = malloc(n * 4ull), *ref = malloc(n * 4ull), *got = malloc(n * 4ull);
	for (uint32_t i = 0; i < n; i++) a[i] = test_randf(seed) * 3;
	scale_ref(ref, a, n, scale);
	struct gpu_buffer ab, ob;
	REQUIRE_OK(buf_make(g, &ab, "in", a, n * 4ull, 20));
	REQUIRE_OK(buf_make(g, &ob, "out", NULL, n * 4ull, 0));
	struct gpu_view av = view_at(&ab, 20, n * 4ull), ov = in_place ? av : view_at(&ob, 0, n * 4ull);
	struct gpu_rec rec;
	REQUIRE_OK(gpu_rec_begin(g, &rec));
	REQUIRE_OK(op_scale(&rec, ov, av, n, scale));
	REQUIRE_OK(gpu_rec_end(&rec));
	REQUIRE_OK(gpu_rec_submit_wait(&rec));
	REQUIRE_OK(gpu_download(g, got, ov.buf, ov.offset, n * 4ull));
	int bad = 0;
	for (uint32_t i = 0; i < n; i++) bad += got[i] != ref[i];
	EXPECT(bad == 0, "scale n %u by %g in place %d: %d values differ", n, (double)scale, in_place, bad);
	gpu_rec_destroy(&rec);
	gpu_buffer_destroy(g, &ab), gpu_buffer_destroy(g, &ob);
	free(a), free(ref), free(got);
	return 0;
}

static int run_add_bias(struct gpu *g, uint32_t n, uint32_t n_rows, bool in_place, uint64_t *seed)
{
	uint64_t total = (uint64_t)n * n_rows;
	float *a = malloc(total * 4), *b = malloc(n * 4ull), *ref = malloc(total * 4), *got = malloc(total * 4);
	for (uint64_t i = 0; i < total; i++) a[i] = test_randf(seed) * 10;
	for (uint32_t i = 0; i < n; i++) b[i] = test_randf(seed);
	add_bias_ref(ref, a, b, n, n_rows);
	struct gpu_buffer ab, bb, ob;
	REQUIRE_OK(buf_make(g, &ab, "in", a, total * 4, 8));
	REQUIRE_OK(buf_make(g, &bb, "bias", b, n * 4ull, 4));
	REQUIRE_OK(buf_make(g, &ob, "out", NULL, total * 4, 0));
	struct gpu_view av = view_at(&ab, 8, total * 4), bv = view_at(&bb, 4, n * 4ull);
	struct gpu_view ov = in_place ? av : view_at(&ob, 0, total * 4);
	struct gpu_rec rec;
	REQUIRE_OK(gpu_rec_begin(g, &rec));
	REQUIRE_OK(op_add_bias(&rec, ov, av, bv, n, n_rows));
	REQUIRE_OK(gpu_rec_end(&rec));
	REQUIRE_OK(gpu_rec_submit_wait(&rec));
	REQUIRE_OK(gpu_download(g, got, ov.buf, ov.offset, total * 4));
	int bad = 0;
	for (uint64_t i = 0; i < total; i++) bad += got[i] != ref[i];
	EXPECT(bad == 0, "add_bias %u x %u in place %d: %d values differ", n_rows, n, in_place, bad);
	gpu_rec_destroy(&rec);
	gpu_buffer_destroy(g, &ab), gpu_buffer_destroy(g, &bb), gpu_buffer_destroy(g, &ob);
	free(a), free(b), free(ref), free(got);
	return 0;
}

static int run_softcap(struct gpu *g, uint32_t n, float cap, uint64_t *seed)
{
	float *a = malloc(n * 4ull), *got = malloc(n * 4ull), *reff = malloc(n * 4ull);
	double *ref = malloc(n * 8ull), *tol = malloc(n * 8ull);
	/* logits from -4 cap to 4 cap: the linear middle and both saturated ends */
	for (uint32_t i = 0; i < n; i++) a[i] = test_randf(seed) * 4 * cap;
	a[0] = 1e30f, a[n > 1 ? 1 : 0] = -1e30f;
	softcap_ref(ref, a, n, cap);
	for (uint32_t i = 0; i < n; i++) reff[i] = (float)ref[i], tol[i] = 4 * cap * 0x1p-23 + fabs(ref[i]) * 0x1p-20;
	struct gpu_buffer ab;
	REQUIRE_OK(buf_make(g, &ab, "logits", a, n * 4ull, 0));
	struct gpu_view av = view_at(&ab, 0, n * 4ull);
	struct gpu_rec rec;
	REQUIRE_OK(gpu_rec_begin(g, &rec));
	REQUIRE_OK(op_softcap(&rec, av, av, n, cap));
	REQUIRE_OK(gpu_rec_end(&rec));
	REQUIRE_OK(gpu_rec_submit_wait(&rec));
	REQUIRE_OK(gpu_download(g, got, &ab, 0, n * 4ull));
	double worst;
	int bad = check_close("softcap", got, reff, tol, n, &worst);
	EXPECT(bad == 0, "softcap n %u cap %g: %d values outside the tolerance (worst %.2f of it)", n, (double)cap, bad, worst);
	gpu_rec_destroy(&rec);
	gpu_buffer_destroy(g, &ab);
	free(a), free(got), free(reff), free(ref), free(tol);
	return 0;
}

/* a shared expert's output b added into a, scaled per row by sigmoid(gate): gates from -12 to 12
 * (both saturated ends) */
static int run_add_gated(struct gpu *g, uint32_t width, uint32_t n_rows, bool in_place, uint64_t *seed)
{
	size_t n = (size_t)width * n_rows;
	float *a = malloc(n * 4), *b = malloc(n * 4), *gate = malloc(n_rows * 4ull), *got = malloc(n * 4), *reff = malloc(n * 4);
	double *ref = malloc(n * 8), *tol = malloc(n * 8);
	for (size_t i = 0; i < n; i++) a[i] = test_randf(seed) * 2, b[i] = test_randf(seed) * 2;
	for (uint32_t r = 0; r < n_rows; r++) gate[r] = test_randf(seed) * 12;
	add_gated_ref(ref, a, b, gate, width, n_rows);
	for (size_t i = 0; i < n; i++) reff[i] = (float)ref[i], tol[i] = fabs(b[i]) * 0x1p-20 + fabs(ref[i]) * 0x1p-23;
	struct gpu_buffer ab, bb, gb, ob;
	REQUIRE_OK(buf_make(g, &ab, "a", a, n * 4, 4));
	REQUIRE_OK(buf_make(g, &bb, "b", b, n * 4, 8));
	REQUIRE_OK(buf_make(g, &gb, "gate", gate, n_rows * 4ull, 12));
	REQUIRE_OK(buf_make(g, &ob, "out", NULL, n * 4, 0));
	struct gpu_view av = view_at(&ab, 4, n * 4), ov = in_place ? av : view_at(&ob, 0, n * 4);
	struct gpu_rec rec;
	REQUIRE_OK(gpu_rec_begin(g, &rec));
	REQUIRE_OK(op_add_gated(&rec, ov, av, view_at(&bb, 8, n * 4), view_at(&gb, 12, n_rows * 4ull), width, n_rows));
	REQUIRE_OK(gpu_rec_end(&rec));
	REQUIRE_OK(gpu_rec_submit_wait(&rec));
	REQUIRE_OK(gpu_download(g, got, ov.buf, ov.offset, n * 4));
	double worst;
	int bad = check_close("add_gated", got, reff, tol, n, &worst);
	EXPECT(bad == 0, "add_gated %u x %u: %d values outside the tolerance (worst %.2f of it)", n_rows, width, bad, worst);
	gpu_rec_destroy(&rec);
	gpu_buffer_destroy(g, &ab), gpu_buffer_destroy(g, &bb), gpu_buffer_destroy(g, &gb), gpu_buffer_destroy(g, &ob);
	free(a), free(b), free(gate), free(got), free(reff), free(ref), free(tol);
	return 0;
}

/* n_tokens rows of width (in_stride apart) into a cache of n_ctx rows at p0, read from a step
 * buffer at step_index: rows before p0 and from p0 + n_tokens on must keep their old values */
static int run_kv_store(struct gpu *g, enum attn_kv_type type, uint32_t n_tokens, uint32_t width, uint32_t in_stride,
                        uint32_t cache_stride, uint32_t n_ctx, uint32_t p0, uint64_t *seed)
{
	bool f16 = type == ATTN_KV_F16;
	uint32_t elem = f16 ? 2 : 4, step_index = 3;
	uint64_t in_n = (uint64_t)(n_tokens - 1) * in_stride + width, cache_n = (uint64_t)n_ctx * cache_stride;
	float *in = malloc(in_n * 4), *ref = malloc(cache_n * 4), *got = malloc(cache_n * 4);
	void *raw = malloc(cache_n * elem), *init = malloc(cache_n * elem);
	for (uint64_t i = 0; i < in_n; i++) in[i] = test_randf(seed) * 8;
	for (uint64_t i = 0; i < cache_n; i++) {
		ref[i] = (float)(i % 7) - 3; /* the old contents */
		if (f16) ((uint16_t *)init)[i] = f32_to_half(ref[i]);
		else ((float *)init)[i] = ref[i];
	}
	kv_store_ref(ref, in, n_tokens, width, in_stride, cache_stride, p0, n_ctx, f16);
	uint32_t step[5] = {0, 0, 0, p0 + n_tokens, p0};
	struct gpu_buffer ib, cb, sb;
	REQUIRE_OK(buf_make(g, &ib, "k", in, in_n * 4, 12));
	REQUIRE_OK(buf_make(g, &cb, "cache", init, cache_n * elem, 2 * elem));
	REQUIRE_OK(buf_make(g, &sb, "step", step, sizeof step, 0));
	struct gpu_rec rec;
	REQUIRE_OK(gpu_rec_begin(g, &rec));
	REQUIRE_OK(op_kv_store(&rec, view_at(&cb, 2 * elem, cache_n * elem), type, view_at(&ib, 12, in_n * 4),
	                       view_at(&sb, 0, sizeof step), n_tokens, width, in_stride, cache_stride, n_ctx, step_index));
	REQUIRE_OK(gpu_rec_end(&rec));
	REQUIRE_OK(gpu_rec_submit_wait(&rec));
	REQUIRE_OK(gpu_download(g, raw, &cb, 2 * elem, cache_n * elem));
	for (uint64_t i = 0; i < cache_n; i++) got[i] = f16 ? half_to_f32(((uint16_t *)raw)[i]) : ((float *)raw)[i];
	int bad = 0;
	for (uint64_t i = 0; i < cache_n; i++) bad += got[i] != ref[i];
	EXPECT(bad == 0, "kv_store %s %u tokens of %u (strides %u/%u) at %u of %u: %d values differ", f16 ? "f16" : "f32",
	       n_tokens, width, in_stride, cache_stride, p0, n_ctx, bad);
	gpu_rec_destroy(&rec);
	gpu_buffer_destroy(g, &ib), gpu_buffer_destroy(g, &cb), gpu_buffer_destroy(g, &sb);
	free(in), free(ref), free(got), free(raw), free(init);
	return 0;
}

int main(void)
{
	struct gpu g;
	if (test_gpu_open(&g)) {
		fprintf(stderr, "no device: %s\n", vkllm_error());
		return 1;
	}
	uint64_t seed = 7;
	run_add(&g, 1, false, &seed);
	run_add(&g, 257, true, &seed);
	run_add(&g, 100003, false, &seed);
	run_scale(&g, 1, 0.5f, false, &seed);
	run_scale(&g, 2561, sqrtf(2560.0f), true, &seed); /* Gemma's sqrt(n_embd) */
	run_scale(&g, 70001, -3.25f, false, &seed);
	run_add_bias(&g, 1, 1, false, &seed);
	run_add_bias(&g, 128, 5, true, &seed);     /* Qwen2's K bias on a 5-token chunk */
	run_add_bias(&g, 896, 37, false, &seed);
	run_softcap(&g, 1, 30.0f, &seed);
	run_softcap(&g, 262147, 30.0f, &seed);     /* Gemma's final cap over a vocabulary */
	run_add_gated(&g, 1, 1, false, &seed);
	run_add_gated(&g, 2048, 1, true, &seed);   /* a qwen2moe decode step */
	run_add_gated(&g, 96, 37, false, &seed);
	run_kv_store(&g, ATTN_KV_F16, 1, 256, 256, 256, 40, 17, &seed);       /* decode */
	run_kv_store(&g, ATTN_KV_F32, 1, 256, 256, 256, 40, 39, &seed);       /* the last row */
	run_kv_store(&g, ATTN_KV_F16, 13, 96, 160, 100, 20, 9, &seed);        /* strided; 2 rows fall past n_ctx */
	run_kv_store(&g, ATTN_KV_F32, 64, 1024, 1024, 1024, 512, 0, &seed);   /* a prefill chunk */

	/* refusals */
	struct gpu_buffer b;
	REQUIRE_OK(gpu_buffer_create(&g, &b, 4096, GPU_MEM_DEVICE, "b"));
	struct gpu_rec rec;
	REQUIRE_OK(gpu_rec_begin(&g, &rec));
	struct gpu_view w = gpu_whole(&b);
	EXPECT(op_add(&rec, w, w, w, 1025) == VKLLM_E_ARG, "add past the views refused");
	EXPECT(op_add(&rec, w, view_at(&b, 2, 16), w, 4) == VKLLM_E_ARG, "add at a byte offset of 2 refused");
	EXPECT(op_add(&rec, w, w, w, 0) == VKLLM_E_ARG, "add of nothing refused");
	EXPECT(op_add(&rec, w, NO_VIEW, w, 4) == VKLLM_E_ARG, "add without a buffer refused");
	EXPECT(op_scale(&rec, w, view_at(&b, 4000, 0), 32, 1.0f) == VKLLM_E_ARG, "scale past the view refused: %s", vkllm_error());
	EXPECT(op_scale(&rec, w, w, 4, NAN) == VKLLM_E_ARG, "scale by NaN refused");
	EXPECT(op_add_bias(&rec, w, w, w, 0, 4) == VKLLM_E_ARG, "bias of nothing refused");
	EXPECT(op_add_bias(&rec, w, w, w, 64, 17) == VKLLM_E_ARG, "bias rows past the view refused");
	EXPECT(op_softcap(&rec, w, w, 4, 0.0f) == VKLLM_E_ARG, "softcap by 0 refused");
	EXPECT(op_add_gated(&rec, w, w, w, view_at(&b, 0, 8), 4, 3) == VKLLM_E_ARG, "add_gated with too few gates refused");
	EXPECT(op_add_gated(&rec, w, w, w, w, 0, 3) == VKLLM_E_ARG, "add_gated of nothing refused");
	EXPECT(op_kv_store(&rec, w, ATTN_KV_F16, w, w, 2, 8, 4, 8, 4, 0) == VKLLM_E_ARG, "kv_store stride shorter than a row refused");
	EXPECT(op_kv_store(&rec, w, ATTN_KV_F32, w, w, 1, 64, 64, 64, 17, 0) == VKLLM_E_ARG, "kv_store cache past the view refused");
	EXPECT(op_kv_store(&rec, w, ATTN_KV_F32, w, view_at(&b, 0, 8), 1, 8, 8, 8, 4, 1) == VKLLM_E_ARG,
	       "kv_store step index past the view refused");
	EXPECT(rec.n_dispatches == 0, "nothing recorded by refused calls");
	gpu_rec_end(&rec);
	gpu_rec_destroy(&rec);
	gpu_buffer_destroy(&g, &b);
	test_gpu_close(&g);
	return test_finish();
}
