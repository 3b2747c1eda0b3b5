/* matvec against the CPU for every weight type, on odd shapes: one row; row counts that are not
 * multiples of anything; K at the smallest block multiple (32, or 256 for K-quants) and larger;
 * 1 to 8 columns; accumulate on and off; views at unaligned offsets inside shared buffers.
 *
 * Weights are random rows quantized by loader/quant.c (llama.cpp's reference quantizers), so the
 * blocks are the ones real files hold. The reference dequantizes with loader/quant.c and sums in
 * double. The GPU decodes to the same f32 values (every scale is an f16 or an exact power of two),
 * so the only difference is the order of f32 additions: tolerance 1e-5 * sum_k |w*x| + 1e-6,
 * about 100 f32 ulps of the largest partial sum. */
#include "base/status.h"
#include "loader/quant.h"
#include "ops/ops.h"
#include "test.h"

static const uint32_t types[] = {QT_F32, QT_F16, QT_BF16, QT_Q4_0, QT_Q4_1, QT_Q5_0, QT_Q5_1,
                                 QT_Q8_0, QT_Q2_K, QT_Q3_K, QT_Q4_K, QT_Q5_K, QT_Q6_K, QT_MXFP4};

struct shape {
	uint32_t rows, k_blocks, cols;
	bool accumulate;
};

static int run_case(struct gpu *g, uint32_t type, struct shape s, uint64_t *seed)
{
	const struct quant_type *qt = quant_type_info(type);
	uint32_t bs = qt->block_size < 32 ? 32 : qt->block_size;
	uint32_t k = s.k_blocks * bs, rows = s.rows, cols = s.cols;
	uint64_t row_bytes = quant_row_size(type, k), w_bytes = row_bytes * rows;
	float *wf = malloc((size_t)rows * k * 4), *wd = malloc((size_t)rows * k * 4);
	float *x = malloc((size_t)cols * k * 4), *y0 = malloc((size_t)cols * rows * 4), *y = malloc((size_t)cols * rows * 4);
	uint8_t *wq = malloc(w_bytes);
	for (size_t i = 0; i < (size_t)rows * k; i++) wf[i] = test_randf(seed);
	for (size_t i = 0; i < (size_t)cols * k; i++) x[i] = test_randf(seed);
	for (size_t i = 0; i < (size_t)cols * rows; i++) y0[i] = s.accumulate ? test_randf(seed) : 0.0f;
	for (uint32_t r = 0; r < rows; r++) {
		REQUIRE_OK(quant_quantize(type, wf + (size_t)r * k, wq + r * row_bytes, k));
		REQUIRE_OK(quant_dequantize(type, wq + r * row_bytes, wd + (size_t)r * k, k));
	}

	/* odd placements: weights 2 bytes into their buffer (a valid placement for every 2-byte
	 * aligned type; f32 gets 4), x and y after a few floats */
	uint32_t w_pad = type == QT_F32 ? 4 : (type == QT_MXFP4 ? 0 : 2), x_pad = 12, y_pad = 20;
	struct gpu_buffer wb, xb, yb;
	REQUIRE_OK(gpu_buffer_create(g, &wb, w_bytes + w_pad + 64, GPU_MEM_DEVICE, "w"));
	REQUIRE_OK(gpu_buffer_create(g, &xb, (size_t)cols * k * 4 + x_pad, GPU_MEM_DEVICE, "x"));
	REQUIRE_OK(gpu_buffer_create(g, &yb, (size_t)cols * rows * 4 + y_pad, GPU_MEM_DEVICE, "y"));
	REQUIRE_OK(gpu_upload(g, &wb, w_pad, wq, w_bytes));
	REQUIRE_OK(gpu_upload(g, &xb, x_pad, x, (size_t)cols * k * 4));
	REQUIRE_OK(gpu_upload(g, &yb, y_pad, y0, (size_t)cols * rows * 4));
	struct gpu_rec rec;
	REQUIRE_OK(gpu_rec_begin(g, &rec));
	struct gpu_view wv = {&wb, w_pad, w_bytes}, xv = {&xb, x_pad, (size_t)cols * k * 4}, yv = {&yb, y_pad, (size_t)cols * rows * 4};
	REQUIRE_OK(op_matvec(&rec, yv, wv, type, xv, rows, k, cols, s.accumulate));
	REQUIRE_OK(gpu_rec_end(&rec));
	REQUIRE_OK(gpu_rec_submit_wait(&rec));
	REQUIRE_OK(gpu_download(g, y, &yb, y_pad, (size_t)cols * rows * 4));

	int bad = 0;
	double worst = 0;
	for (uint32_t c = 0; c < cols; c++)
		for (uint32_t r = 0; r < rows; r++) {
			double ref = y0[(size_t)c * rows + r], mag = 0;
			for (uint32_t i = 0; i < k; i++) {
				double p = (double)wd[(size_t)r * k + i] * x[(size_t)c * k + i];
				ref += p;
				mag += fabs(p);
			}
			double got = y[(size_t)c * rows + r], tol = 1e-5 * mag + 1e-6, err = fabs(got - ref);
			if (err / tol > worst) worst = err / tol;
			if (err > tol && bad++ < 3)
				fprintf(stderr, "  %s %ux%u cols %u: y[%u][%u] = %.7g, reference %.7g (tolerance %.2g)\n", qt->name, rows,
				        k, cols, c, r, got, ref, tol);
		}
	EXPECT(bad == 0, "matvec %s rows %u k %u cols %u acc %d: %d values off (worst %.2f x tolerance)", qt->name, rows, k, cols,
	       s.accumulate, bad, worst);
	gpu_rec_destroy(&rec);
	gpu_buffer_destroy(g, &wb);
	gpu_buffer_destroy(g, &xb);
	gpu_buffer_destroy(g, &yb);
	free(wf), free(wd), free(x), free(y0), free(y), free(wq);
	return 0;
}

int main(void)
{
	struct gpu g;
	int st = test_gpu_open(&g);
	if (st) {
		fprintf(stderr, "no device: %s\n", vkllm_error());
		return 1;
	}
	const struct shape shapes[] = {
		{1, 1, 1, false},  /* one row, the smallest K */
		{37, 3, 1, false}, /* rows not a multiple of anything, K = 3 blocks */
		{64, 9, 2, true},  /* two columns, accumulate */
		{5, 17, 8, false}, /* the most columns, K longer than one pass of a workgroup */
	};
	uint64_t seed = 42;
	for (size_t t = 0; t < sizeof types / sizeof types[0]; t++)
		for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) run_case(&g, types[t], shapes[s], &seed);

	/* bad arguments are refused before anything is recorded */
	struct gpu_buffer b;
	REQUIRE_OK(gpu_buffer_create(&g, &b, 1 << 16, GPU_MEM_DEVICE, "b"));
	struct gpu_rec rec;
	REQUIRE_OK(gpu_rec_begin(&g, &rec));
	EXPECT(op_matvec(&rec, gpu_whole(&b), gpu_whole(&b), QT_Q4_K, gpu_whole(&b), 4, 128, 1, false) == VKLLM_E_ARG,
	       "q4_K with K = 128 refused");
	EXPECT(op_matvec(&rec, gpu_whole(&b), gpu_whole(&b), QT_Q8_0, gpu_whole(&b), 4096, 4096, 1, false) == VKLLM_E_ARG,
	       "views too small refused: %s", vkllm_error());
	EXPECT(op_matvec(&rec, gpu_whole(&b), gpu_whole(&b), QT_IQ2_XXS, gpu_whole(&b), 4, 256, 1, false) == VKLLM_E_UNSUPPORTED,
	       "iq2_xxs refused");
	EXPECT(op_matvec(&rec, gpu_whole(&b), gpu_whole(&b), QT_Q8_0, gpu_whole(&b), 4, 64, 9, false) == VKLLM_E_ARG,
	       "9 columns refused");
	gpu_rec_end(&rec);
	gpu_rec_destroy(&rec);
	gpu_buffer_destroy(&g, &b);
	test_gpu_close(&g);
	return test_finish();
}
