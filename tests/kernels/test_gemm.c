/* gemm (and op_matmul's choice between matvec and gemm) against the CPU reference
 * (tests/ref/matmul_ref.c) for every weight type. Shapes are chosen against the tiles: a single
 * row; rows and token counts that are multiples of nothing (37 x 70); more tokens than one tile
 * in both directions with accumulate (130 x 129); K at the smallest block multiple and K longer
 * than the tile walk. Every shape runs with the device profile's tile and again with the other
 * profile's (the GPU tile on lavapipe, the CPU tile on a GPU) through VKLLM_GEMM_TILE, so both
 * layouts are checked wherever the tests run. Tolerance: see matmul_case.h. */
#include "kernels/matmul_case.h"

int main(void)
{
	struct gpu g;
	int st = test_gpu_open(&g);
	if (st) {
		fprintf(stderr, "no device: %s\n", vkllm_error());
		return 1;
	}
	const struct matmul_shape shapes[] = {
		{1, 1, 9, false},     /* one row, the smallest K, just past matvec's columns */
		{37, 3, 70, false},   /* rows and tokens not multiples of any tile */
		{130, 2, 129, true},  /* more than one tile each way, accumulate */
		{16, 11, 33, false},  /* long K */
	};
	bool cpu = g.profile.type && strcmp(g.profile.type, "cpu") == 0;
	const char *tiles[] = {NULL, cpu ? "256,64,64,4,4" : "8,32,16,4,16", "64,32,32,2,8"};
	uint64_t seed = 7;
	for (size_t ti = 0; ti < sizeof tiles / sizeof tiles[0]; ti++) {
		if (tiles[ti]) setenv("VKLLM_GEMM_TILE", tiles[ti], 1);
		printf("# tile %s\n", tiles[ti] ? tiles[ti] : "(profile)");
		for (size_t t = 0; t < sizeof matmul_types / sizeof matmul_types[0]; t++)
			for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
				/* the other tiles on a few types only: the tile logic does not depend on the type */
				if (tiles[ti] && matmul_types[t] != QT_Q4_K && matmul_types[t] != QT_F32 && matmul_types[t] != QT_Q8_0)
					continue;
				matmul_case(&g, "gemm", op_gemm, matmul_types[t], shapes[s], &seed);
			}
	}
	unsetenv("VKLLM_GEMM_TILE");
	/* op_matmul on both sides of its threshold */
	for (uint32_t cols = MATMUL_MATVEC_MAX_COLS; cols <= MATMUL_MATVEC_MAX_COLS + 1; cols++)
		matmul_case(&g, "matmul", op_matmul, QT_Q6_K, (struct matmul_shape){19, 1, cols, true}, &seed);

	/* bad arguments are refused before anything is recorded */
	struct gpu_buffer b;
	REQUIRE_OK(gpu_buffer_create(&g, &b, 1 << 16, GPU_MEM_DEVICE, "b"));
	struct gpu_rec rec;
	REQUIRE_OK(gpu_rec_begin(&g, &rec));
	EXPECT(op_gemm(&rec, gpu_whole(&b), gpu_whole(&b), QT_Q4_K, gpu_whole(&b), 4, 128, 16, false) == VKLLM_E_ARG,
	       "q4_K with K = 128 refused");
	EXPECT(op_gemm(&rec, gpu_whole(&b), gpu_whole(&b), QT_Q8_0, gpu_whole(&b), 256, 256, 64, false) == VKLLM_E_ARG,
	       "views too small refused: %s", vkllm_error());
	EXPECT(op_gemm(&rec, gpu_whole(&b), gpu_whole(&b), QT_IQ2_XXS, gpu_whole(&b), 4, 256, 16, false) == VKLLM_E_UNSUPPORTED,
	       "iq2_xxs refused");
	EXPECT(op_gemm(&rec, gpu_whole(&b), gpu_whole(&b), QT_F32, gpu_whole(&b), 4, 64, 0, false) == VKLLM_E_ARG,
	       "no columns refused");
	gpu_rec_end(&rec);
	gpu_rec_destroy(&rec);
	gpu_buffer_destroy(&g, &b);
	test_gpu_close(&g);
	return test_finish();
}
