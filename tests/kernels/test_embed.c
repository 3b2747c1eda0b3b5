/* op_embed against tests/ref/embed_ref.c for every weight type: rows quantized by loader/quant.c
 * (llama.cpp's reference quantizers), ids hitting the first and last rows, a table split over
 * two buffers (one call per part), ids outside the table (their rows stay untouched), Gemma's
 * sqrt(n_embd) scale, tables at byte offsets that are not multiples of the storage alignment.
 * Tolerance: 2 f32 ulp of the reference (|ref| * 2^-22). The GPU decodes to the same f32 values
 * as loader/quant.c up to the order of the f32 products inside a K-quant's scale (d * sc * q),
 * then one correctly rounded multiply by the scale.
 * MXFP4 also runs from raw blocks at gpt-oss's width (2880 = 90 blocks, not a multiple of 256):
 * random E2M1 bytes under E8M0 scales 2^-12 .. 2^8, and in a few blocks the subnormal scales
 * e = 0 and 1 (2^-128, 2^-127), which a device that flushes denormals (llvmpipe does) decodes as 0:
 * those values get an absolute tolerance of 1e-35 (12 * 2^-127 times the largest scale used). */
#include "loader/quant.h"
#include "ref/embed_ref.h"
#include "small_ops_util.h"

static const uint32_t types[] = {QT_F32, QT_F16, QT_BF16, QT_Q4_0, QT_Q4_1, QT_Q5_0, QT_Q5_1,
                                 QT_Q8_0, QT_Q2_K, QT_Q3_K, QT_Q4_K, QT_Q5_K, QT_Q6_K, QT_MXFP4};

#define MARK 12345.0f /* what untouched output rows hold */

static bool raw_mxfp4; /* MXFP4 tables from raw random blocks instead of quantized floats */

static int run_case(struct gpu *g, uint32_t type, uint32_t n_embd, uint32_t n_vocab, uint32_t split, float scale,
                    uint64_t *seed)
{
	const struct quant_type *qt = quant_type_info(type);
	uint64_t row_bytes = quant_row_size(type, n_embd), t_bytes = row_bytes * n_vocab;
	const uint32_t n_tokens = 6;
	uint32_t ids[6] = {0, n_vocab - 1, (uint32_t)(test_rand(seed) % n_vocab), split, n_vocab + 5, 0xFFFFFFFFu};
	float *wf = malloc((size_t)n_embd * 4);
	uint8_t *table = malloc(t_bytes);
	for (uint32_t r = 0; r < n_vocab; r++) {
		for (uint32_t i = 0; i < n_embd; i++) wf[i] = test_randf(seed) * 0.1f;
		REQUIRE_OK(quant_quantize(type, wf, table + r * row_bytes, n_embd));
	}
	if (type == QT_MXFP4 && raw_mxfp4)
		for (uint64_t b = 0; b < t_bytes / 17; b++) {
			table[b * 17] = b % 29 == 7 ? (uint8_t)(b & 1) : (uint8_t)(116 + test_rand(seed) % 21);
			for (int j = 1; j < 17; j++) table[b * 17 + j] = (uint8_t)test_rand(seed);
		}
	size_t out_n = (size_t)n_tokens * n_embd;
	float *ref = malloc(out_n * 4), *got = malloc(out_n * 4);
	double *tol = malloc(out_n * 8);
	for (size_t i = 0; i < out_n; i++) ref[i] = MARK;
	REQUIRE_OK(embed_ref(ref, table, type, ids, n_tokens, n_embd, 0, n_vocab, scale));
	for (size_t i = 0; i < out_n; i++) tol[i] = fabs(ref[i]) * 0x1p-22 + (raw_mxfp4 ? 1e-35 : 0.0);

	/* two parts: rows [0, split) and [split, n_vocab), each at an odd placement in its buffer */
	uint32_t pad0 = type == QT_F32 ? 4 : (type == QT_MXFP4 ? 1 : 2), pad1 = type == QT_F32 ? 12 : (type == QT_MXFP4 ? 3 : 6);
	uint64_t bytes0 = row_bytes * split, bytes1 = t_bytes - bytes0;
	struct gpu_buffer t0, t1, ib, ob;
	REQUIRE_OK(buf_make(g, &t0, "table0", table, bytes0, pad0));
	REQUIRE_OK(buf_make(g, &t1, "table1", table + bytes0, bytes1, pad1));
	REQUIRE_OK(buf_make(g, &ib, "ids", ids, sizeof ids, 8));
	REQUIRE_OK(buf_make(g, &ob, "out", NULL, out_n * 4, 4));
	for (size_t i = 0; i < out_n; i++) got[i] = MARK;
	REQUIRE_OK(gpu_upload(g, &ob, 4, got, out_n * 4));
	struct gpu_view ov = view_at(&ob, 4, out_n * 4), iv = view_at(&ib, 8, sizeof ids);
	struct gpu_rec rec;
	REQUIRE_OK(gpu_rec_begin(g, &rec));
	REQUIRE_OK(op_embed(&rec, ov, view_at(&t0, pad0, bytes0), type, iv, n_tokens, n_embd, 0, split, scale));
	REQUIRE_OK(op_embed(&rec, ov, view_at(&t1, pad1, bytes1), type, iv, n_tokens, n_embd, split, n_vocab - split, scale));
	REQUIRE_OK(gpu_rec_end(&rec));
	REQUIRE_OK(gpu_rec_submit_wait(&rec));
	REQUIRE_OK(gpu_download(g, got, &ob, 4, out_n * 4));
	double worst;
	int bad = check_close("out", got, ref, tol, out_n, &worst);
	EXPECT(bad == 0, "embed %s n_embd %u vocab %u split %u scale %g: %d values off (worst %.2f x tolerance)", qt->name,
	       n_embd, n_vocab, split, (double)scale, bad, worst);
	gpu_rec_destroy(&rec);
	gpu_buffer_destroy(g, &t0), gpu_buffer_destroy(g, &t1), gpu_buffer_destroy(g, &ib), gpu_buffer_destroy(g, &ob);
	free(wf), free(table), free(ref), free(got), free(tol);
	return 0;
}

int main(void)
{
	struct gpu g;
	if (test_gpu_open(&g)) {
		fprintf(stderr, "no device: %s\n", vkllm_error());
		return 1;
	}
	uint64_t seed = 5;
	for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
		const struct quant_type *qt = quant_type_info(types[t]);
		uint32_t bs = qt->block_size < 32 ? 32 : qt->block_size;
		run_case(&g, types[t], bs, 7, 3, 1.0f, &seed);               /* one block per row, vocab 7 */
		run_case(&g, types[t], bs * 9, 37, 20, sqrtf(bs * 9.0f), &seed); /* Gemma's scale */
	}
	/* MXFP4 from raw blocks: gpt-oss's n_embd (2880), a one-block row, a split at an odd row (the
	 * second part then starts at an odd byte of the table too) */
	raw_mxfp4 = true;
	run_case(&g, QT_MXFP4, 2880, 50, 17, 1.0f, &seed);
	run_case(&g, QT_MXFP4, 2880, 9, 4, sqrtf(2880.0f), &seed);
	run_case(&g, QT_MXFP4, 32, 101, 51, 1.0f, &seed);
	raw_mxfp4 = false;

	struct gpu_buffer b;
	REQUIRE_OK(gpu_buffer_create(&g, &b, 1 << 16, GPU_MEM_DEVICE, "b"));
	struct gpu_rec rec;
	REQUIRE_OK(gpu_rec_begin(&g, &rec));
	struct gpu_view v = gpu_whole(&b);
	EXPECT(op_embed(&rec, v, v, QT_Q4_K, v, 4, 128, 0, 10, 1.0f) == VKLLM_E_ARG, "q4_K rows of 128 refused");
	EXPECT(op_embed(&rec, v, v, QT_Q8_0, v, 4, 4096, 0, 100, 1.0f) == VKLLM_E_ARG, "table past its view refused");
	EXPECT(op_embed(&rec, v, v, QT_Q8_0, v, 1 << 15, 32, 0, 10, 1.0f) == VKLLM_E_ARG, "output past its view refused");
	EXPECT(op_embed(&rec, v, v, QT_IQ2_XXS, v, 4, 256, 0, 10, 1.0f) == VKLLM_E_UNSUPPORTED, "iq2_xxs refused");
	EXPECT(op_embed(&rec, v, view_at(&b, 1, 1000), QT_Q8_0, v, 1, 32, 0, 10, 1.0f) == VKLLM_E_ARG, "odd q8_0 offset refused");
	EXPECT(op_embed(&rec, v, v, QT_F32, v, 0, 32, 0, 10, 1.0f) == VKLLM_E_ARG, "no tokens refused");
	EXPECT(rec.n_dispatches == 0, "nothing recorded by refused calls");
	gpu_rec_end(&rec);
	gpu_rec_destroy(&rec);
	gpu_buffer_destroy(&g, &b);
	test_gpu_close(&g);
	return test_finish();
}
