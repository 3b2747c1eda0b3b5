/* gemm (and op_matmul's choice between matvec and gemm) against the CPU reference
 * (tests/ref/matmul_ref.c) for every weight type. Shapes are chosen against the tiles: a single
 * row; rows and token counts that are multiples of nothing (37 x 70); more tokens than one tile
 * in both directions with accumulate (130 x 129); K at the smallest block multiple and K longer
 * than the tile walk. Every shape runs with the device profile's tile and again with the other
 * profile's (the GPU tile on lavapipe, the CPU tile on a GPU) through VKLLM_GEMM_TILE, so both
 * layouts are checked wherever the tests run. On a device with cooperative matrices the profile
 * pass runs the coopmat GEMM (f16 operands, its own tolerance), and two more passes run it with
 * a 128 x 64 tile and the plain GEMM with coopmat off. Tolerance: see matmul_case.h.
 * MXFP4 (gpt-oss's experts) gets its own cases on top: raw blocks (mxfp4_case below), through
 * op_gemm and op_matmul, with the coopmat GEMM wherever the device has it. */
#include "kernels/matmul_case.h"

#include <math.h>
#include <stdlib.h>

int main(void)
{
	struct gpu g;
	int st = test_gpu_open(&g);
	if (st) {
		fprintf(stderr, "no device: %s\n", vkllm_error());
		return 1;
	}
	const struct matmul_shape shapes[] = {
		{1, 1, 9, false, true},      /* one row, the smallest K, just past matvec's columns */
		{37, 3, 70, false, false},   /* rows and tokens not multiples of any tile */
		{130, 2, 129, true, false},  /* more than one tile each way, accumulate */
		{16, 11, 33, false, false},  /* long K */
	};
	bool cpu = g.profile.type && strcmp(g.profile.type, "cpu") == 0;
	const char *tiles[] = {NULL, cpu ? "256,64,64,4,4" : "8,32,16,4,16", "64,32,32,2,8"};
	uint64_t seed = 7;
	bool coopmat = op_gemm_uses_coopmat(&g, QT_Q8_0);
	printf("# coopmat GEMM: %s\n", coopmat ? "yes" : "no");
	for (size_t ti = 0; ti < sizeof tiles / sizeof tiles[0]; ti++) {
		if (tiles[ti]) setenv("VKLLM_GEMM_TILE", tiles[ti], 1);
		/* the other plain tiles with coopmat off, so they are what runs */
		if (tiles[ti] && coopmat) setenv("VKLLM_COOPMAT", "0", 1);
		printf("# tile %s\n", tiles[ti] ? tiles[ti] : "(profile)");
		for (size_t t = 0; t < sizeof matmul_types / sizeof matmul_types[0]; t++)
			for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
				/* the other tiles on a few types only: the tile logic does not depend on the type */
				if (tiles[ti] && matmul_types[t] != QT_Q4_K && matmul_types[t] != QT_F32 && matmul_types[t] != QT_Q8_0)
					continue;
				matmul_tol_rel = op_gemm_uses_coopmat(&g, matmul_types[t]) ? 1.5e-3 : 1e-5;
				matmul_case(&g, "gemm", op_gemm, matmul_types[t], shapes[s], &seed);
			}
	}
	unsetenv("VKLLM_GEMM_TILE");
	unsetenv("VKLLM_COOPMAT");
	if (coopmat) {
		/* a 128 x 64 coopmat tile (two accumulators per subgroup along rows) */
		setenv("VKLLM_COOPMAT_TILE", "128,64", 1);
		printf("# coopmat tile 128,64\n");
		matmul_tol_rel = 1.5e-3;
		for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
			matmul_case(&g, "gemm", op_gemm, QT_Q4_K, shapes[s], &seed);
			matmul_case(&g, "gemm", op_gemm, QT_F16, shapes[s], &seed);
		}
		unsetenv("VKLLM_COOPMAT_TILE");
	}
	matmul_tol_rel = 1e-5;
	/* op_matmul on both sides of its threshold */
	for (uint32_t cols = MATMUL_MATVEC_MAX_COLS; cols <= MATMUL_MATVEC_MAX_COLS + 1; cols++) {
		matmul_tol_rel = cols > MATMUL_MATVEC_MAX_COLS && op_gemm_uses_coopmat(&g, QT_Q6_K) ? 1.5e-3 : 1e-5;
		matmul_case(&g, "matmul", op_matmul, QT_Q6_K, (struct matmul_shape){19, 1, cols, true, true}, &seed);
	}

	/* MXFP4 from raw blocks (mxfp4_case): one row; gpt-oss's width (K = 2880, 90 blocks: a
	 * multiple of 32 but not of 256) with tokens and rows off every tile; more than one tile each
	 * way with accumulate; long K (the tile walk over K is per invocation: llvmpipe's 65535-iteration
	 * loop guard); many rows. Plain GEMM with the profile's tile and the other profile's; coopmat
	 * where the device has it (the profile pass), and the plain GEMM again with coopmat off. */
	{
		struct {
			uint32_t rows, k, cols, w_off;
			bool acc;
		} mx[] = {
			{1, 32, 9, 0, false},       {37, 2880, 70, 2, false}, {130, 96, 129, 0, true},
			{64, 16384, 5, 0, false},   {1000, 2880, 20, 2, false}, {3, 544, 200, 0, true},
		};
		for (int pass = 0; pass < (coopmat ? 3 : 2); pass++) {
			if (pass == 1) setenv("VKLLM_GEMM_TILE", tiles[1], 1);
			if (pass >= 1 && coopmat) setenv("VKLLM_COOPMAT", "0", 1);
			if (pass == 2) unsetenv("VKLLM_GEMM_TILE");
			matmul_tol_rel = op_gemm_uses_coopmat(&g, QT_MXFP4) ? 1.5e-3 : 1e-5;
			printf("# mxfp4 pass %d: %s\n", pass, matmul_tol_rel > 1e-5 ? "coopmat" : "plain");
			for (size_t i = 0; i < sizeof mx / sizeof mx[0]; i++)
				mxfp4_case(&g, "gemm", op_gemm, mx[i].rows, mx[i].k, mx[i].cols, mx[i].w_off, mx[i].acc, &seed);
		}
		unsetenv("VKLLM_GEMM_TILE");
		unsetenv("VKLLM_COOPMAT");
		/* op_matmul on both sides of its matvec / GEMM threshold, and a prefill chunk */
		for (uint32_t cols = MATMUL_MATVEC_MAX_COLS; cols <= MATMUL_MATVEC_MAX_COLS + 1; cols++) {
			matmul_tol_rel = cols > MATMUL_MATVEC_MAX_COLS && op_gemm_uses_coopmat(&g, QT_MXFP4) ? 1.5e-3 : 1e-5;
			mxfp4_case(&g, "matmul", op_matmul, 45, 2880, cols, 2, true, &seed);
		}
		matmul_tol_rel = op_gemm_uses_coopmat(&g, QT_MXFP4) ? 1.5e-3 : 1e-5;
		mxfp4_case(&g, "matmul", op_matmul, 201, 2880, 64, 0, false, &seed);
		printf("# mxfp4 raw blocks: worst %.3f x tolerance\n", mxfp4_worst);
		matmul_tol_rel = 1e-5;
	}

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
