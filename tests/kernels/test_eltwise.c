/* op_add and op_scale against tests/ref/eltwise_ref.c: one element, counts that are not
 * multiples of the workgroup, views at offsets that are not multiples of the storage alignment,
 * in place. Tolerance: none. An f32 add or multiply is correctly rounded in Vulkan as in C (the
 * reference rounds the exact float64 result once), and the inputs hold no denormals. */
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
	EXPECT(rec.n_dispatches == 0, "nothing recorded by refused calls");
	gpu_rec_end(&rec);
	gpu_rec_destroy(&rec);
	gpu_buffer_destroy(&g, &b);
	test_gpu_close(&g);
	return test_finish();
}
