/* op_rms_norm and op_rms_norm_add against tests/ref/norm_ref.c: one row of one value; hidden
 * sizes that are not multiples of the workgroup; per-head QK-norm rows (head_dim 64/128/256
 * inside [tokens][heads * head_dim]); strided rows; with and without weight; in place.
 * Tolerance 1e-5 * |ref| + 1e-7: the GPU sums squares in f32 (per invocation, then a tree), a
 * relative error of about (n / workgroup + log2 workgroup) ulp, under 1e-6 for n <= 8192; 1/sqrt
 * and the two products add a few ulp more. The fused sum a + b is one f32 add on both sides,
 * compared exactly. */
#include "ref/norm_ref.h"
#include "small_ops_util.h"

struct shape {
	uint32_t n, n_rows, stride;
	bool weight, fused, in_place;
	float eps;
};

static int run_case(struct gpu *g, struct shape s, uint64_t *seed)
{
	uint32_t stride = s.stride ? s.stride : s.n;
	size_t total = (size_t)(s.n_rows - 1) * stride + s.n;
	float *a = malloc(total * 4), *b = malloc(total * 4), *w = malloc(s.n * 4ull);
	float *ref = calloc(total, 4), *sum = calloc(total, 4), *got = malloc(total * 4), *got_sum = malloc(total * 4);
	double *tol = malloc(total * 8);
	for (size_t i = 0; i < total; i++) a[i] = test_randf(seed) * 4, b[i] = test_randf(seed);
	for (uint32_t i = 0; i < s.n; i++) w[i] = 1.0f + test_randf(seed) * 0.5f;
	/* the gaps between strided rows are never written: both sides keep the input there */
	memcpy(ref, a, total * 4);
	if (s.fused) {
		memcpy(sum, a, total * 4);
		rms_norm_add_ref(ref, sum, a, b, s.weight ? w : NULL, s.n, s.n_rows, stride, s.eps);
	} else {
		rms_norm_ref(ref, a, s.weight ? w : NULL, s.n, s.n_rows, stride, s.eps);
	}
	for (size_t i = 0; i < total; i++) tol[i] = 1e-5 * fabs(ref[i]) + 1e-7;

	struct gpu_buffer ab, bb, wb, yb, sb;
	REQUIRE_OK(buf_make(g, &ab, "a", a, total * 4, 4));
	REQUIRE_OK(buf_make(g, &bb, "b", b, total * 4, 12));
	REQUIRE_OK(buf_make(g, &wb, "w", w, s.n * 4ull, 8));
	REQUIRE_OK(buf_make(g, &yb, "y", a, total * 4, 20));
	REQUIRE_OK(buf_make(g, &sb, "sum", a, total * 4, 0));
	struct gpu_view av = view_at(&ab, 4, total * 4), bv = view_at(&bb, 12, total * 4), wv = view_at(&wb, 8, s.n * 4ull);
	struct gpu_view yv = s.in_place && !s.fused ? av : view_at(&yb, 20, total * 4);
	struct gpu_view sv = s.in_place ? av : view_at(&sb, 0, total * 4);
	struct gpu_rec rec;
	REQUIRE_OK(gpu_rec_begin(g, &rec));
	if (s.fused)
		REQUIRE_OK(op_rms_norm_add(&rec, yv, sv, av, bv, s.weight ? wv : NO_VIEW, s.n, s.n_rows, s.stride, s.eps));
	else
		REQUIRE_OK(op_rms_norm(&rec, yv, av, s.weight ? wv : NO_VIEW, s.n, s.n_rows, s.stride, s.eps));
	REQUIRE_OK(gpu_rec_end(&rec));
	REQUIRE_OK(gpu_rec_submit_wait(&rec));
	REQUIRE_OK(gpu_download(g, got, yv.buf, yv.offset, total * 4));
	double worst;
	int bad = check_close("y", got, ref, tol, total, &worst);
	EXPECT(bad == 0, "rms_norm n %u rows %u stride %u weight %d fused %d in place %d: %d values off (worst %.2f x tolerance)",
	       s.n, s.n_rows, stride, s.weight, s.fused, s.in_place, bad, worst);
	printf("# n %u rows %u stride %u weight %d fused %d in place %d: worst %.3f x tolerance\n", s.n, s.n_rows, stride,
	       s.weight, s.fused, s.in_place, worst);
	if (s.fused) {
		REQUIRE_OK(gpu_download(g, got_sum, sv.buf, sv.offset, total * 4));
		EXPECT(memcmp(got_sum, sum, total * 4) == 0, "rms_norm_add n %u rows %u: the residual sum differs", s.n, s.n_rows);
	}
	gpu_rec_destroy(&rec);
	gpu_buffer_destroy(g, &ab), gpu_buffer_destroy(g, &bb), gpu_buffer_destroy(g, &wb);
	gpu_buffer_destroy(g, &yb), gpu_buffer_destroy(g, &sb);
	free(a), free(b), free(w), free(ref), free(sum), free(got), free(got_sum), free(tol);
	return 0;
}

int main(void)
{
	struct gpu g;
	if (test_gpu_open(&g)) {
		fprintf(stderr, "no device: %s\n", vkllm_error());
		return 1;
	}
	const struct shape shapes[] = {
		{1, 1, 0, true, false, false, 1e-6f},        /* one value */
		{1, 1, 0, false, true, true, 1e-6f},         /* one value, fused, in place */
		{4097, 3, 0, true, false, false, 1e-5f},     /* a hidden size past a multiple of everything */
		{2560, 2, 0, true, false, true, 1e-6f},      /* in place */
		{2560, 2, 0, true, true, false, 1e-6f},      /* fused add */
		{8192, 1, 0, true, true, true, 1e-5f},       /* fused add, sum in place of a */
		{64, 5 * 3, 0, true, false, true, 1e-6f},    /* QK-norm: 5 tokens x 3 heads of 64 */
		{128, 7 * 4, 0, true, false, false, 1e-6f},  /* 7 tokens x 4 heads of 128 */
		{256, 2 * 8, 0, true, false, true, 1e-6f},   /* Gemma 3's 256 */
		{1000, 3, 1030, false, false, false, 1e-6f}, /* strided rows, no weight (Llama 4's L2 norm) */
		{512, 4, 576, true, true, false, 1e-6f},     /* strided, fused */
	};
	uint64_t seed = 3;
	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) run_case(&g, shapes[i], &seed);

	struct gpu_buffer b;
	REQUIRE_OK(gpu_buffer_create(&g, &b, 4096, GPU_MEM_DEVICE, "b"));
	struct gpu_rec rec;
	REQUIRE_OK(gpu_rec_begin(&g, &rec));
	struct gpu_view v = gpu_whole(&b);
	EXPECT(op_rms_norm(&rec, v, v, v, 1024, 2, 0, 1e-6f) == VKLLM_E_ARG, "rows past the views refused");
	EXPECT(op_rms_norm(&rec, v, v, view_at(&b, 4092, 4), 8, 1, 0, 1e-6f) == VKLLM_E_ARG, "short weight refused");
	EXPECT(op_rms_norm(&rec, v, v, v, 64, 2, 32, 1e-6f) == VKLLM_E_ARG, "overlapping rows refused");
	EXPECT(op_rms_norm(&rec, v, v, v, 0, 2, 0, 1e-6f) == VKLLM_E_ARG, "empty rows refused");
	EXPECT(op_rms_norm(&rec, v, v, v, 8, 2, 0, -1.0f) == VKLLM_E_ARG, "negative eps refused");
	EXPECT(op_rms_norm(&rec, v, view_at(&b, 2, 64), v, 8, 1, 0, 1e-6f) == VKLLM_E_ARG, "misaligned x refused");
	EXPECT(op_rms_norm_add(&rec, v, view_at(&b, 2048, 0), v, v, v, 600, 1, 0, 1e-6f) == VKLLM_E_ARG,
	       "short sum refused: %s", vkllm_error());
	EXPECT(rec.n_dispatches == 0, "nothing recorded by refused calls");
	gpu_rec_end(&rec);
	gpu_rec_destroy(&rec);
	gpu_buffer_destroy(&g, &b);
	test_gpu_close(&g);
	return test_finish();
}
