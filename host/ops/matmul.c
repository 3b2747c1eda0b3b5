/* op_matmul: the one matrix product the graph records, choosing the kernel by token count:
 * matvec (shaders/matvec.comp) for decode and a few tokens, where the weights are read once and
 * the product is bandwidth-bound, and the tiled gemm (shaders/gemm.comp) for prefill chunks,
 * where each decoded weight is reused across a tile of tokens. */
#include "matmul_util.h"

#include <stdio.h>

#include "loader/quant.h"
#include "view_util.h"

static const struct {
	uint32_t type;
	enum shader_id matvec, gemm, coopmat; /* coopmat SH_COUNT: none (F32, BF16 keep f32 precision) */
} variants[] = {
	{QT_F32, SH_MATVEC_F32, SH_GEMM_F32, SH_COUNT},
	{QT_F16, SH_MATVEC_F16, SH_GEMM_F16, SH_GEMM_COOPMAT_F16},
	{QT_BF16, SH_MATVEC_BF16, SH_GEMM_BF16, SH_COUNT},
	{QT_Q4_0, SH_MATVEC_Q4_0, SH_GEMM_Q4_0, SH_GEMM_COOPMAT_Q4_0},
	{QT_Q4_1, SH_MATVEC_Q4_1, SH_GEMM_Q4_1, SH_GEMM_COOPMAT_Q4_1},
	{QT_Q5_0, SH_MATVEC_Q5_0, SH_GEMM_Q5_0, SH_GEMM_COOPMAT_Q5_0},
	{QT_Q5_1, SH_MATVEC_Q5_1, SH_GEMM_Q5_1, SH_GEMM_COOPMAT_Q5_1},
	{QT_Q8_0, SH_MATVEC_Q8_0, SH_GEMM_Q8_0, SH_GEMM_COOPMAT_Q8_0},
	{QT_Q2_K, SH_MATVEC_Q2_K, SH_GEMM_Q2_K, SH_GEMM_COOPMAT_Q2_K},
	{QT_Q3_K, SH_MATVEC_Q3_K, SH_GEMM_Q3_K, SH_GEMM_COOPMAT_Q3_K},
	{QT_Q4_K, SH_MATVEC_Q4_K, SH_GEMM_Q4_K, SH_GEMM_COOPMAT_Q4_K},
	{QT_Q5_K, SH_MATVEC_Q5_K, SH_GEMM_Q5_K, SH_GEMM_COOPMAT_Q5_K},
	{QT_Q6_K, SH_MATVEC_Q6_K, SH_GEMM_Q6_K, SH_GEMM_COOPMAT_Q6_K},
	{QT_MXFP4, SH_MATVEC_MXFP4, SH_GEMM_MXFP4, SH_GEMM_COOPMAT_MXFP4},
};

enum shader_id matmul_shader(uint32_t wtype, bool gemm)
{
	for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++)
		if (variants[i].type == wtype) return gemm ? variants[i].gemm : variants[i].matvec;
	return SH_COUNT;
}

enum shader_id matmul_coopmat_shader(uint32_t wtype)
{
	for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++)
		if (variants[i].type == wtype) return variants[i].coopmat;
	return SH_COUNT;
}

int matmul_check(const char *op, uint32_t wtype, struct gpu_view y, struct gpu_view w, struct gpu_view x,
                 uint32_t n_rows, uint32_t n_k, uint32_t n_cols, uint32_t max_cols, uint64_t *row_bytes)
{
	const struct quant_type *qt = quant_type_info(wtype);
	if (matmul_shader(wtype, false) == SH_COUNT || !qt)
		return fail(VKLLM_E_UNSUPPORTED, "%s: weight type %s has no kernel", op, qt ? qt->name : "?");
	if (n_rows == 0 || n_cols == 0 || n_cols > max_cols || n_k == 0 || n_k % 32 || n_k % qt->block_size)
		return fail(VKLLM_E_ARG, "%s %s: %u rows x %u, %u columns: K must be a positive multiple of 32 and of the block size %u, "
		            "columns 1 to %u", op, qt->name, n_rows, n_k, n_cols, qt->block_size, max_cols);
	*row_bytes = quant_row_size(wtype, n_k);
	if ((uint64_t)n_rows * *row_bytes > ops_view_bytes(w) || (uint64_t)n_cols * n_k * 4 > ops_view_bytes(x) ||
	    (uint64_t)n_cols * n_rows * 4 > ops_view_bytes(y))
		return fail(VKLLM_E_ARG, "%s %s: %u x %u weights, %u columns do not fit their views (%llu, %llu, %llu bytes)", op,
		            qt->name, n_rows, n_k, n_cols, (unsigned long long)ops_view_bytes(w), (unsigned long long)ops_view_bytes(x),
		            (unsigned long long)ops_view_bytes(y));
	if (x.offset % 4 || y.offset % 4 || w.offset % (wtype == QT_F32 ? 4 : 2))
		return fail(VKLLM_E_ARG, "%s %s: misaligned view offsets", op, qt->name);
	return VKLLM_OK;
}

/* devices that run matvec_cpu.comp (lavapipe), for the weight types it has chunk layouts for */
static bool cpu_streams_columns(const struct gpu *g, uint32_t wtype)
{
	uint32_t chunk, load_bytes;
	enum shader_id moe;
	return matvec_cpu_device(g) && matvec_cpu_layout(wtype, &chunk, &load_bytes, &moe);
}

int op_matmul(struct gpu_rec *rec, struct gpu_view y, struct gpu_view w, uint32_t wtype, struct gpu_view x,
              uint32_t n_rows, uint32_t n_k, uint32_t n_cols, bool accumulate)
{
	/* what the product must move at least: the weights once, x, and y (twice when accumulating) */
	const struct quant_type *qt = quant_type_info(wtype);
	if (qt)
		gpu_rec_hint_bytes(rec, quant_row_size(wtype, n_k) * n_rows + (uint64_t)n_cols * n_k * 4 +
		                            (uint64_t)n_cols * n_rows * 4 * (accumulate ? 2 : 1));
	if (n_cols <= MATMUL_MATVEC_MAX_COLS) return op_matvec(rec, y, w, wtype, x, n_rows, n_k, n_cols, accumulate);
	if (cpu_streams_columns(rec->g, wtype)) {
		/* lavapipe: the types matvec_cpu.comp decodes stream through it a few tokens at a time;
		 * gemm.comp's shared-memory tiles and barriers cost llvmpipe more than the weight reuse
		 * saves (Qwen3-0.6B q8_0 prefill of 64 tokens: 10.9 tokens/s against 2.0) */
		for (uint32_t c0 = 0; c0 < n_cols; c0 += MATMUL_MATVEC_MAX_COLS) {
			uint32_t nc = n_cols - c0 < MATMUL_MATVEC_MAX_COLS ? n_cols - c0 : MATMUL_MATVEC_MAX_COLS;
			struct gpu_view yc = {y.buf, y.offset + (VkDeviceSize)c0 * n_rows * 4, (VkDeviceSize)nc * n_rows * 4};
			struct gpu_view xc = {x.buf, x.offset + (VkDeviceSize)c0 * n_k * 4, (VkDeviceSize)nc * n_k * 4};
			TRY(op_matvec(rec, yc, w, wtype, xc, n_rows, n_k, nc, accumulate));
		}
		return VKLLM_OK;
	}
	return op_gemm(rec, y, w, wtype, x, n_rows, n_k, n_cols, accumulate);
}
