/* matvec against the CPU reference (tests/ref/matmul_ref.c) for every weight type, on odd
 * shapes: one row; row counts that are not multiples of anything; K at the smallest block
 * multiple (32, or 256 for K-quants) and larger; 1 to 8 columns; accumulate on and off; views at
 * unaligned offsets inside shared buffers. Tolerance: see matmul_case.h. */
#include "kernels/matmul_case.h"

#include <stdlib.h>
#include <string.h>

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
