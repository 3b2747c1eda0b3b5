/* One matmul case for test_matvec and test_gemm: random rows quantized by loader/quant.c
 * (llama.cpp's reference quantizers, so the blocks are the ones real files hold), views at odd
 * offsets inside padded buffers, the op recorded and run, the result against tests/ref/matmul_ref.
 *
 * Tolerance: the GPU decodes to the same f32 values the reference dequantizes to (every scale is
 * an f16 or an exact power of two), so the only difference is the order of f32 additions:
 * 1e-5 * sum_k |w*x| + 1e-6, about 100 f32 ulps of the largest partial sum.
 * The cooperative-matrix GEMM rounds each decoded weight and each activation to f16 (relative
 * error 2^-11 each, so at most about 2^-10 per product, summed exactly in f32): its tests set
 * matmul_tol_rel to 1.5e-3, the bound 2^-10 * sum_k |w*x| with room for the f32 sums. */
#ifndef VKLLM_TEST_MATMUL_CASE_H
#define VKLLM_TEST_MATMUL_CASE_H

#include "base/status.h"
#include "loader/quant.h"
#include "ops/ops.h"
#include "ref/matmul_ref.h"
#include "test.h"

static const uint32_t matmul_types[] = {QT_F32, QT_F16, QT_BF16, QT_Q4_0, QT_Q4_1, QT_Q5_0, QT_Q5_1,
                                        QT_Q8_0, QT_Q2_K, QT_Q3_K, QT_Q4_K, QT_Q5_K, QT_Q6_K, QT_MXFP4};

typedef int (*matmul_op)(struct gpu_rec *rec, struct gpu_view y, struct gpu_view w, uint32_t wtype, struct gpu_view x,
                         uint32_t n_rows, uint32_t n_k, uint32_t n_cols, bool accumulate);

static double matmul_tol_rel = 1e-5;

struct matmul_shape {
	uint32_t rows, k_blocks, cols; /* K in blocks of the type (32 values, 256 for K-quants) */
	bool accumulate;
	bool aligned_w; /* weights at offset 0 of their buffer, else at a 2-byte offset */
};

/* Runs op on weights wq (w_bytes, w_off bytes into their buffer), x and the starting y0 (x and y 12 and
 * 20 bytes into theirs), and compares y with ref within matmul_tol_rel * mag + 1e-6. Returns the
 * number of values off (printing the first three, labelled with label); *worst gets the largest
 * error / tolerance. */
static int matmul_run_check(struct gpu *g, const char *label, matmul_op op, uint32_t type, const uint8_t *wq,
                            uint64_t w_bytes, uint32_t w_off, const float *x, const float *y0, const double *ref,
                            const double *mag, uint32_t rows, uint32_t k, uint32_t cols, bool accumulate, double *worst)
{
	size_t nx = (size_t)cols * k, ny = (size_t)cols * rows;
	uint32_t x_pad = 12, y_pad = 20;
	float *y = malloc(ny * 4);
	struct gpu_buffer wb, xb, yb;
	REQUIRE_OK(gpu_buffer_create(g, &wb, w_bytes + w_off + 64, GPU_MEM_DEVICE, "w"));
	REQUIRE_OK(gpu_buffer_create(g, &xb, nx * 4 + x_pad, GPU_MEM_DEVICE, "x"));
	REQUIRE_OK(gpu_buffer_create(g, &yb, ny * 4 + y_pad, GPU_MEM_DEVICE, "y"));
	REQUIRE_OK(gpu_upload(g, &wb, w_off, wq, w_bytes));
	REQUIRE_OK(gpu_upload(g, &xb, x_pad, x, nx * 4));
	REQUIRE_OK(gpu_upload(g, &yb, y_pad, y0, ny * 4));
	struct gpu_rec rec;
	REQUIRE_OK(gpu_rec_begin(g, &rec));
	struct gpu_view wv = {&wb, w_off, w_bytes}, xv = {&xb, x_pad, nx * 4}, yv = {&yb, y_pad, ny * 4};
	REQUIRE_OK(op(&rec, yv, wv, type, xv, rows, k, cols, accumulate));
	REQUIRE_OK(gpu_rec_end(&rec));
	REQUIRE_OK(gpu_rec_submit_wait(&rec));
	REQUIRE_OK(gpu_download(g, y, &yb, y_pad, ny * 4));
	int bad = 0;
	*worst = 0;
	for (uint32_t c = 0; c < cols; c++)
		for (uint32_t r = 0; r < rows; r++) {
			size_t i = (size_t)c * rows + r;
			double tol = matmul_tol_rel * mag[i] + 1e-6, err = fabs(y[i] - ref[i]);
			if (err / tol > *worst) *worst = err / tol;
			if (!(err <= tol) && bad++ < 3)
				fprintf(stderr, "  %s %ux%u cols %u: y[%u][%u] = %.7g, reference %.7g (tolerance %.2g)\n", label, rows, k,
				        cols, c, r, y[i], ref[i], tol);
		}
	gpu_rec_destroy(&rec);
	gpu_buffer_destroy(g, &wb), gpu_buffer_destroy(g, &xb), gpu_buffer_destroy(g, &yb);
	free(y);
	return bad;
}

static int matmul_case(struct gpu *g, const char *op_name, matmul_op op, uint32_t type, struct matmul_shape s, uint64_t *seed)
{
	const struct quant_type *qt = quant_type_info(type);
	uint32_t bs = qt->block_size < 32 ? 32 : qt->block_size;
	uint32_t k = s.k_blocks * bs, rows = s.rows, cols = s.cols;
	uint64_t row_bytes = quant_row_size(type, k), w_bytes = row_bytes * rows;
	size_t nx = (size_t)cols * k, ny = (size_t)cols * rows;
	float *wf = malloc(k * sizeof *wf), *x = malloc(nx * 4), *y0 = malloc(ny * 4);
	double *ref = malloc(ny * sizeof *ref), *mag = malloc(ny * sizeof *mag);
	uint8_t *wq = malloc(w_bytes);
	for (uint32_t r = 0; r < rows; r++) {
		for (uint32_t i = 0; i < k; i++) wf[i] = test_randf(seed);
		REQUIRE_OK(quant_quantize(type, wf, wq + r * row_bytes, k));
	}
	for (size_t i = 0; i < nx; i++) x[i] = test_randf(seed);
	for (size_t i = 0; i < ny; i++) y0[i] = s.accumulate ? test_randf(seed) : 0.0f;
	REQUIRE(matmul_ref(ref, mag, type, wq, x, y0, rows, k, cols) == 0, "reference for %s", qt->name);

	/* odd placements: weights 2 bytes into their buffer (a valid placement for every 2-byte
	 * aligned type; f32 gets 4), x and y after a few floats */
	uint32_t w_pad = s.aligned_w ? 0 : type == QT_F32 ? 4 : (type == QT_MXFP4 ? 0 : 2);
	char label[64];
	snprintf(label, sizeof label, "%s %s", op_name, qt->name);
	double worst;
	int bad = matmul_run_check(g, label, op, type, wq, w_bytes, w_pad, x, y0, ref, mag, rows, k, cols, s.accumulate, &worst);
	EXPECT(bad == 0, "%s %s rows %u k %u cols %u acc %d: %d values off (worst %.2f x tolerance)", op_name, qt->name, rows, k,
	       cols, s.accumulate, bad, worst);
	free(wf), free(x), free(y0), free(ref), free(mag), free(wq);
	return 0;
}

/* MXFP4 from raw blocks, not from quantized floats: random E2M1 bytes (all 16 codes, both nibble
 * orders) under E8M0 scales 2^-12 .. 2^8 (e 116..136; e = 0 and 1, the subnormal scales, in a
 * few blocks), where quantized random floats would give one scale and few codes. Compared with
 * loader/quant.c's dequantization through matmul_ref; the decoded values are exact in f32 (a code
 * times a power of two), so the tolerance is matmul_case.h's f32-summation bound, 1e-5 * sum |w x|
 * + 1e-6, or matmul_tol_rel's 1.5e-3 * sum |w x| where the coopmat GEMM runs (f16 operands: every
 * MXFP4 value of these scales, 0.5 * 2^-12 to 12 * 2^8, is exact in f16, the activations are
 * not). w_off: the weights' byte offset in their buffer (even: op_matmul's rule); rows of an odd
 * number of blocks start at odd bytes. x and y sit 12 and 20 bytes into theirs. */
static double mxfp4_worst; /* the largest error / tolerance seen */

static int mxfp4_case(struct gpu *g, const char *op_name, matmul_op op, uint32_t rows, uint32_t k, uint32_t cols,
                      uint32_t w_off, bool accumulate, uint64_t *seed)
{
	uint64_t row_bytes = quant_row_size(QT_MXFP4, k), w_bytes = row_bytes * rows, n_blocks = w_bytes / 17;
	size_t nx = (size_t)cols * k, ny = (size_t)cols * rows;
	uint8_t *wq = malloc(w_bytes);
	float *x = malloc(nx * 4), *y0 = malloc(ny * 4);
	double *ref = malloc(ny * sizeof *ref), *mag = malloc(ny * sizeof *mag);
	for (uint64_t b = 0; b < n_blocks; b++) {
		uint8_t *blk = wq + b * 17;
		blk[0] = b % 97 == 13 ? (uint8_t)(b & 1) : (uint8_t)(116 + test_rand(seed) % 21);
		for (int j = 1; j < 17; j++) blk[j] = (uint8_t)test_rand(seed);
	}
	for (size_t i = 0; i < nx; i++) x[i] = test_randf(seed);
	for (size_t i = 0; i < ny; i++) y0[i] = accumulate ? test_randf(seed) : 0.0f;
	REQUIRE(matmul_ref(ref, mag, QT_MXFP4, wq, x, y0, rows, k, cols) == 0, "mxfp4 reference");
	char label[64];
	snprintf(label, sizeof label, "%s mxfp4", op_name);
	double worst;
	int bad = matmul_run_check(g, label, op, QT_MXFP4, wq, w_bytes, w_off, x, y0, ref, mag, rows, k, cols, accumulate, &worst);
	if (worst > mxfp4_worst) mxfp4_worst = worst;
	EXPECT(bad == 0, "%s mxfp4 raw blocks rows %u k %u cols %u acc %d w at %u: %d values off (worst %.2f x tolerance)",
	       op_name, rows, k, cols, accumulate, w_off, bad, worst);
	free(wq), free(x), free(y0), free(ref), free(mag);
	return 0;
}

#endif
