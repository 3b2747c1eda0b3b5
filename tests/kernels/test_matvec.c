/* matvec against the CPU reference (tests/ref/matmul_ref.c) for every weight type, on odd
 * shapes: one row; row counts that are not multiples of anything; K at the smallest block
 * multiple (32, or 256 for K-quants) and larger; 1 to 8 columns; accumulate on and off; views at
 * unaligned offsets inside shared buffers; and aligned views with K a multiple of 512, the
 * products lavapipe's own kernel (matvec_cpu.comp) takes. Tolerance: see matmul_case.h.
 * The GPUs' one-column Q4_K and Q8_0 kernel (matvec_vec.comp, wide loads) is forced on with
 * VKLLM_MATVEC_VEC=1 for the aligned cases, in three tilings.
 * MXFP4 (gpt-oss's experts) gets its own cases on top: raw blocks (mxfp4_case below). */
#include "kernels/matmul_case.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* matmul_case places x 12 bytes into its buffer; the CPU-device kernel (matvec_cpu.comp) takes
 * only x on whole 32-byte words, as the model's activations are. The same check (tolerance of
 * matmul_case.h) with weights, x and y at offset 0 and the last x value ending its buffer. */
static int aligned_case(struct gpu *g, uint32_t type, struct matmul_shape s, uint64_t *seed)
{
	const struct quant_type *qt = quant_type_info(type);
	uint32_t bs = qt->block_size < 32 ? 32 : qt->block_size;
	uint32_t rows = s.rows, k = s.k_blocks * bs, cols = s.cols;
	uint64_t row_bytes = quant_row_size(type, k), w_bytes = row_bytes * rows;
	size_t nx = (size_t)cols * k, ny = (size_t)cols * rows;
	float *wf = malloc(k * sizeof *wf), *x = malloc(nx * 4), *y0 = malloc(ny * 4), *y = malloc(ny * 4);
	double *ref = malloc(ny * sizeof *ref), *mag = malloc(ny * sizeof *mag);
	uint8_t *wq = malloc(w_bytes);
	for (uint32_t r = 0; r < rows; r++) {
		for (uint32_t i = 0; i < k; i++) wf[i] = test_randf(seed);
		REQUIRE_OK(quant_quantize(type, wf, wq + r * row_bytes, k));
	}
	for (size_t i = 0; i < nx; i++) x[i] = test_randf(seed);
	for (size_t i = 0; i < ny; i++) y0[i] = s.accumulate ? test_randf(seed) : 0.0f;
	REQUIRE(matmul_ref(ref, mag, type, wq, x, y0, rows, k, cols) == 0, "reference for %s", qt->name);
	struct gpu_buffer wb, xb, yb;
	REQUIRE_OK(gpu_buffer_create(g, &wb, w_bytes + 64, GPU_MEM_DEVICE, "w"));
	REQUIRE_OK(gpu_buffer_create(g, &xb, nx * 4, GPU_MEM_DEVICE, "x"));
	REQUIRE_OK(gpu_buffer_create(g, &yb, ny * 4, GPU_MEM_DEVICE, "y"));
	REQUIRE_OK(gpu_upload(g, &wb, 0, wq, w_bytes));
	REQUIRE_OK(gpu_upload(g, &xb, 0, x, nx * 4));
	REQUIRE_OK(gpu_upload(g, &yb, 0, y0, ny * 4));
	struct gpu_rec rec;
	REQUIRE_OK(gpu_rec_begin(g, &rec));
	struct gpu_view wv = {&wb, 0, w_bytes};
	REQUIRE_OK(op_matvec(&rec, gpu_whole(&yb), wv, type, gpu_whole(&xb), rows, k, cols, s.accumulate));
	REQUIRE_OK(gpu_rec_end(&rec));
	REQUIRE_OK(gpu_rec_submit_wait(&rec));
	REQUIRE_OK(gpu_download(g, y, &yb, 0, ny * 4));
	int bad = 0;
	for (size_t i = 0; i < ny; i++)
		if (!(fabs(y[i] - ref[i]) <= matmul_tol_rel * mag[i] + 1e-6)) bad++;
	EXPECT(bad == 0, "matvec %s rows %u k %u cols %u acc %d, aligned x: %d values off", qt->name, rows, k, cols,
	       s.accumulate, bad);
	gpu_rec_destroy(&rec);
	gpu_buffer_destroy(g, &wb);
	gpu_buffer_destroy(g, &xb);
	gpu_buffer_destroy(g, &yb);
	free(wf), free(x), free(y0), free(y), free(ref), free(mag), free(wq);
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
	const struct matmul_shape shapes[] = {
		{1, 1, 1, false, false},  /* one row, the smallest K */
		{37, 3, 1, false, false}, /* rows not a multiple of anything, K = 3 blocks */
		{64, 9, 2, true, false},  /* two columns, accumulate */
		{5, 17, 8, false, false}, /* the most columns, K longer than one pass of a workgroup */
		{3, 140, 1, true, false}, /* K over 4096 */
		{9, 3, 1, false, true},  /* weights at offset 0 of their buffer */
		{33, 17, 3, true, true}, /* the same, several columns and workgroups */
	};
	uint64_t seed = 42;
	/* both tunings on every device: the profile's, then the other profile's (the GPU shape on
	 * lavapipe, the CPU shape on a GPU) */
	bool cpu = g.profile.type && strcmp(g.profile.type, "cpu") == 0;
	char other[32];
	snprintf(other, sizeof other, "%u,%u", cpu ? 4 * g.profile.subgroup_size : g.profile.subgroup_size, cpu ? 8 : 16);
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1) setenv("VKLLM_MATVEC_TILE", other, 1);
		printf("# tile %s\n", pass == 0 ? "(profile)" : other);
		for (size_t t = 0; t < sizeof matmul_types / sizeof matmul_types[0]; t++)
			for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
				matmul_case(&g, "matvec", op_matvec, matmul_types[t], shapes[s], &seed);
	}
	unsetenv("VKLLM_MATVEC_TILE");
	/* K a multiple of 512 values (16 blocks; 16 super-blocks for K-quants): the CPU kernel's
	 * chunks, one to eight of them, so one to eight lanes share a row */
	const struct matmul_shape aligned[] = {
		{133, 16, 1, false, true}, /* rows not a multiple of what a workgroup owns */
		{70, 32, 3, true, true},   /* three columns (two dispatches), accumulate */
		{300, 128, 1, true, true}, /* K = 4096 (32768 for K-quants): 8 lanes per row */
		{9, 16, 8, false, true},   /* the most columns, fewer rows than lanes */
	};
	for (size_t t = 0; t < sizeof matmul_types / sizeof matmul_types[0]; t++)
		for (size_t s = 0; s < sizeof aligned / sizeof aligned[0]; s++) aligned_case(&g, matmul_types[t], aligned[s], &seed);

	/* matvec_vec.comp: K of one piece or a few (most lanes idle), rows that are not a multiple of a
	 * workgroup's, long K (Q4_K: 4096 and 32768, lanes striding over 64 and 512 pieces), accumulate;
	 * in the default tiling, one subgroup on one row, and 4 subgroups on 4 rows each; Q8_0's K
	 * in blocks of 32 (2, 6, 16, 90 and 128 blocks: pairs of blocks a lane) */
	setenv("VKLLM_MATVEC_VEC", "1", 1);
	EXPECT(op_matvec_vec(&g, QT_Q4_K, 1) && op_matvec_vec(&g, QT_Q8_0, 1) && !op_matvec_vec(&g, QT_Q4_K, 2) &&
	       !op_matvec_vec(&g, QT_Q6_K, 1),
	       "matvec_vec chosen for one column of Q4_K and Q8_0 only");
	const struct matmul_shape vec_shapes[] = {
		{1, 1, 1, false, true}, {13, 1, 1, true, true}, {133, 16, 1, false, true}, {70, 3, 1, true, true},
		{300, 128, 1, true, true},
	};
	const struct matmul_shape vec_q8_shapes[] = {
		{1, 2, 1, false, true}, {13, 6, 1, true, true}, {133, 128, 1, false, true}, {70, 16, 1, true, true},
		{37, 90, 1, false, true},
	};
	char tiles[3][32] = {"", "", ""};
	snprintf(tiles[1], sizeof tiles[1], "%u,1", g.profile.subgroup_size);
	snprintf(tiles[2], sizeof tiles[2], "%u,16", 4 * g.profile.subgroup_size);
	for (int t = 0; t < 3; t++) {
		if (t) setenv("VKLLM_MATVEC_TILE", tiles[t], 1);
		for (size_t s = 0; s < sizeof vec_shapes / sizeof vec_shapes[0]; s++) aligned_case(&g, QT_Q4_K, vec_shapes[s], &seed);
		for (size_t s = 0; s < sizeof vec_q8_shapes / sizeof vec_q8_shapes[0]; s++)
			aligned_case(&g, QT_Q8_0, vec_q8_shapes[s], &seed);
	}
	unsetenv("VKLLM_MATVEC_TILE");
	unsetenv("VKLLM_MATVEC_VEC");

	/* MXFP4 from raw blocks (mxfp4_case): gpt-oss's width (K = 2880: 90 blocks, a multiple of 32
	 * but not of 256), one row, rows that are not a multiple of any workgroup's, many rows, 1 to 8
	 * columns, and long K (past a lane's share of llvmpipe's 65535 loop iterations if the walk
	 * over K were not split across the workgroup). op_matmul with one column is the decode path. */
	struct {
		uint32_t rows, k, cols, w_off;
		bool acc;
	} mx[] = {
		{1, 32, 1, 0, false},     {1, 2880, 1, 2, true},   {37, 96, 1, 2, false},   {201, 2880, 3, 0, true},
		{2880, 2880, 1, 0, false}, {13, 2880, 8, 2, false}, {5, 32768, 2, 0, true},  {77, 544, 4, 2, false},
	};
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1) setenv("VKLLM_MATVEC_TILE", other, 1);
		for (size_t i = 0; i < sizeof mx / sizeof mx[0]; i++)
			mxfp4_case(&g, "matvec", op_matvec, mx[i].rows, mx[i].k, mx[i].cols, mx[i].w_off, mx[i].acc, &seed);
	}
	unsetenv("VKLLM_MATVEC_TILE");
	for (size_t i = 0; i < sizeof mx / sizeof mx[0]; i++)
		if (mx[i].cols == 1) mxfp4_case(&g, "matmul", op_matmul, mx[i].rows, mx[i].k, 1, mx[i].w_off, mx[i].acc, &seed);
	printf("# mxfp4 raw blocks: worst %.3f x tolerance\n", mxfp4_worst);

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
