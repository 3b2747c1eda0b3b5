/* The cooperative-matrix kernels where a device has VK_KHR_cooperative_matrix, kept short enough
 * for lavapipe's compiler (Mesa 26's lavapipe has the extension: tests/coopmat_next.sh runs this
 * under it; llvmpipe takes about 4 s to compile a 32 x 32 coopmat GEMM variant and over a minute
 * for the 128 x 128 one, so the tiles here are small). Without the extension it exits 77, which
 * CTest reports as skipped, not passed. gemm_coopmat.comp on the weight types of real models
 * (f16, q8_0, q4_0, q4_K, q6_K, mxfp4), on shapes against the 32 x 32 tile (partial tiles in both
 * directions, accumulate, long K), and one type on 64 x 64; tolerance of matmul_case.h for f16
 * operands (1.5e-3 of sum |w x|). The matrix peaks (peak_coopmat.comp) are checked through the
 * CLI by tests/coopmat_next.sh. */
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
	if (!op_gemm_uses_coopmat(&g, QT_Q8_0)) {
		printf("# %s has no cooperative matrices for the GEMM: skipped\n", g.profile.name);
		test_gpu_close(&g);
		return 77;
	}
	const struct matmul_shape shapes[] = {
		{37, 3, 45, false, false}, /* partial tiles both ways */
		{70, 2, 33, true, false},  /* accumulate */
		{16, 11, 9, false, true},  /* long K, few tokens (past matvec's columns) */
	};
	const uint32_t types[] = {QT_F16, QT_Q8_0, QT_Q4_0, QT_Q4_K, QT_Q6_K, QT_MXFP4};
	uint64_t seed = 11;
	setenv("VKLLM_COOPMAT_TILE", "32,32", 1);
	for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
		EXPECT(op_gemm_uses_coopmat(&g, types[t]), "%s: coopmat GEMM expected", quant_type_info(types[t])->name);
		matmul_tol_rel = 1.5e-3;
		for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
			matmul_case(&g, "gemm", op_gemm, types[t], shapes[s], &seed);
	}
	/* MXFP4 from raw blocks (gpt-oss's experts: K = 2880 is 90 blocks), weights at a 2-byte offset */
	mxfp4_case(&g, "gemm", op_gemm, 37, 2880, 45, 2, true, &seed);
	setenv("VKLLM_COOPMAT_TILE", "64,64", 1);
	const struct matmul_shape big = {130, 4, 70, true, false};
	matmul_case(&g, "gemm", op_gemm, QT_Q4_K, big, &seed);
	unsetenv("VKLLM_COOPMAT_TILE");
	test_gpu_close(&g);
	return test_finish();
}
