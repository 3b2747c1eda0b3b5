/* fill_f32, copy_f32 and copy_f32_f16 against the CPU on odd sizes and unaligned offsets.
 * Tolerance: fill and copy_f32 are exact (they move bits). copy_f32_f16 is compared with the
 * CPU's round-to-nearest-even conversion; Vulkan lets an undecorated OpFConvert round toward zero
 * instead, so the other neighbour (1 ulp) is accepted and counted, never anything further. */
#include "loader/half.h"
#include "ops/ops.h"
#include "test.h"

static const uint32_t sizes[] = {1, 7, 255, 256, 257, 1000, 65537, 1000003};
static const uint32_t offsets[] = {0, 3, 61};

static int run_case(struct gpu *g, uint32_t n, uint32_t off, uint64_t *seed, uint32_t *rtz)
{
	size_t total = (size_t)n + off + 5; /* room past the end to catch overruns */
	float *src = malloc(total * 4), *out = malloc(total * 4);
	uint16_t *half = malloc(total * 2);
	struct gpu_buffer a = {0}, b = {0}, c = {0}, d = {0};
	struct gpu_rec rec = {0};
	int st = src && out && half ? VKLLM_OK : fail(VKLLM_E_NOMEM, "oom");
	for (size_t i = 0; src && i < total; i++) src[i] = test_randf(seed) * 1000.0f;
	if (!st) st = gpu_buffer_create(g, &a, total * 4, GPU_MEM_DEVICE, "a");
	if (!st) st = gpu_buffer_create(g, &b, total * 4, GPU_MEM_DEVICE, "b");
	if (!st) st = gpu_buffer_create(g, &c, total * 2, GPU_MEM_DEVICE, "c");
	if (!st) st = gpu_buffer_create(g, &d, total * 4, GPU_MEM_DEVICE, "d");
	if (!st) st = gpu_upload(g, &a, 0, src, total * 4);
	/* sentinels: what the kernels must not touch */
	for (size_t i = 0; out && i < total; i++) out[i] = -7.0f, half[i] = 0xdead;
	if (!st) st = gpu_upload(g, &b, 0, out, total * 4);
	if (!st) st = gpu_upload(g, &c, 0, half, total * 2);
	if (!st) st = gpu_upload(g, &d, 0, out, total * 4);
	if (!st) st = gpu_rec_begin(g, &rec);
	struct gpu_view va = {&a, off * 4, n * 4ull}, vb = {&b, off * 4, n * 4ull}, vc = {&c, off * 2, n * 2ull},
	                vd = {&d, off * 4, n * 4ull};
	if (!st) st = op_copy(&rec, vb, va, n, COPY_OUT_F32);
	if (!st) st = op_copy(&rec, vc, va, n, COPY_OUT_F16);
	if (!st) st = op_fill(&rec, vd, n, 0.375f);
	if (!st) st = gpu_rec_end(&rec);
	if (!st) st = gpu_rec_submit_wait(&rec);
	if (st) goto done;

	int bad = 0;
	if ((st = gpu_download(g, out, &b, 0, total * 4))) goto done;
	for (size_t i = 0; i < total; i++) {
		float want = i >= off && i < off + n ? src[i] : -7.0f;
		if (memcmp(&out[i], &want, 4) && bad++ < 5) fprintf(stderr, "copy_f32 n=%u off=%u [%zu] %g != %g\n", n, off, i, out[i], want);
	}
	if ((st = gpu_download(g, half, &c, 0, total * 2))) goto done;
	for (size_t i = 0; i < total; i++) {
		bool inside = i >= off && i < off + n;
		uint16_t want = inside ? f32_to_half(src[i]) : 0xdead;
		if (half[i] == want) continue;
		bool neighbour = inside && (half[i] ^ want) < 0x8000 && abs((int)half[i] - (int)want) == 1 &&
		                 fabsf(half_to_f32(half[i])) < fabsf(half_to_f32(want)); /* toward zero */
		if (neighbour)
			(*rtz)++;
		else if (bad++ < 5)
			fprintf(stderr, "copy_f32_f16 n=%u off=%u [%zu] 0x%04x != 0x%04x\n", n, off, i, half[i], want);
	}
	if ((st = gpu_download(g, out, &d, 0, total * 4))) goto done;
	for (size_t i = 0; i < total; i++) {
		float want = i >= off && i < off + n ? 0.375f : -7.0f;
		if (out[i] != want && bad++ < 5) fprintf(stderr, "fill_f32 n=%u off=%u [%zu] %g != %g\n", n, off, i, out[i], want);
	}
	EXPECT(bad == 0, "n=%u off=%u: %d wrong values", n, off, bad);
done:
	gpu_rec_destroy(&rec);
	gpu_buffer_destroy(g, &a);
	gpu_buffer_destroy(g, &b);
	gpu_buffer_destroy(g, &c);
	gpu_buffer_destroy(g, &d);
	free(src), free(out), free(half);
	return st;
}

int main(void)
{
	struct gpu g;
	REQUIRE_OK(test_gpu_open(&g));
	uint64_t seed = 42;
	uint32_t rtz = 0;
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
		for (size_t o = 0; o < sizeof offsets / sizeof offsets[0]; o++) {
			int st = run_case(&g, sizes[s], offsets[o], &seed, &rtz);
			EXPECT(st == VKLLM_OK, "n=%u off=%u: %s", sizes[s], offsets[o], vkllm_error());
		}
	printf("# copy_f32_f16: %u values rounded toward zero instead of to nearest even\n", rtz);

	/* A grid wider than maxComputeWorkGroupCount[0] folds into y: pretend the limit is 3. */
	uint32_t saved = g.profile.max_workgroup_count[0];
	g.profile.max_workgroup_count[0] = 3;
	int st = run_case(&g, 1000003 / 97, 1, &seed, &rtz);
	EXPECT(st == VKLLM_OK, "folded grid: %s", vkllm_error());
	g.profile.max_workgroup_count[0] = saved;

	/* Timestamps bracket real work: the interval is positive and finite. */
	struct gpu_buffer buf;
	struct gpu_rec rec;
	struct gpu_timer t;
	REQUIRE_OK(gpu_buffer_create(&g, &buf, 4u << 20, GPU_MEM_DEVICE, "timed"));
	REQUIRE_OK(gpu_timer_create(&g, &t, 2));
	REQUIRE_OK(gpu_rec_begin(&g, &rec));
	gpu_timer_reset(&rec, &t);
	gpu_timestamp(&rec, &t, 0);
	REQUIRE_OK(op_fill(&rec, gpu_whole(&buf), 1u << 20, 1.0f));
	gpu_timestamp(&rec, &t, 1);
	REQUIRE_OK(gpu_rec_end(&rec));
	double ns = -1;
	for (int rep = 0; rep < 2; rep++) { /* replaying a recording works and re-times it */
		REQUIRE_OK(gpu_rec_submit_wait(&rec));
		REQUIRE_OK(gpu_timer_elapsed_ns(&g, &t, 0, 1, &ns));
		EXPECT(ns > 0 && ns < 60e9, "fill of 4 MiB took %g ns by the timestamps", ns);
	}
	/* Bad views are refused with a message, not sent to the GPU. */
	struct gpu_view past_end = {&buf, 16, buf.size};
	gpu_rec_destroy(&rec);
	REQUIRE_OK(gpu_rec_begin(&g, &rec));
	EXPECT(op_fill(&rec, past_end, 16, 0) == VKLLM_E_ARG, "a view past the buffer's end was accepted");
	EXPECT(strstr(vkllm_error(), "timed") != NULL, "message names the buffer: %s", vkllm_error());
	EXPECT(op_fill(&rec, gpu_whole(&buf), (1u << 20) + 1, 0) == VKLLM_E_ARG, "a count past the view was accepted");
	REQUIRE_OK(gpu_rec_end(&rec));
	gpu_rec_destroy(&rec);
	gpu_timer_destroy(&g, &t);
	gpu_buffer_destroy(&g, &buf);
	test_gpu_close(&g);
	return test_finish();
}
