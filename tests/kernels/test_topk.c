/* op_argmax and op_topk against tests/ref/topk_ref.c: vocabularies of 262144 (several passes)
 * and 7 (one), rows that are not multiples of a tile, several rows at once, k = 1, 5, 40, 64
 * and k = n; heavy ties (values on a coarse grid: the lower index must win), NaN (counts as
 * -inf), a row of only -inf. Tolerance: none; selection moves values without arithmetic, so
 * indices and values must match exactly. */
#include "ref/topk_ref.h"
#include "small_ops_util.h"

enum fillk { RANDOM, TIES, SPECIAL };

static void fill(float *x, size_t n, enum fillk f, uint64_t *seed)
{
	for (size_t i = 0; i < n; i++) {
		float v = test_randf(seed) * 20;
		if (f == TIES) v = floorf(v); /* 40 levels: hundreds of copies of the maximum */
		x[i] = v;
	}
	if (f == SPECIAL) {
		x[n / 2] = NAN;
		x[0] = NAN;
		if (n > 10) x[n - 1] = 25.0f, x[n / 3] = 25.0f; /* tie at the top, the lower index wins */
	}
}

static int run_case(struct gpu *g, bool argmax, uint32_t n, uint32_t n_rows, uint32_t k, enum fillk f, uint64_t *seed)
{
	if (argmax) k = 1;
	size_t total = (size_t)n * n_rows;
	float *x = malloc(total * 4), *ref_v = malloc((size_t)n_rows * k * 4), *got_v = malloc((size_t)n_rows * k * 4);
	uint32_t *ref_i = malloc((size_t)n_rows * k * 4), *got_i = malloc((size_t)n_rows * k * 4);
	fill(x, total, f, seed);
	if (f == SPECIAL && n_rows > 1)
		for (uint32_t i = 0; i < n; i++) x[(size_t)(n_rows - 1) * n + i] = -INFINITY; /* the last row: only -inf */
	if (argmax)
		argmax_ref(ref_i, ref_v, x, n, n_rows);
	else
		topk_ref(ref_i, ref_v, x, n, n_rows, k);

	uint64_t scratch = argmax ? op_argmax_scratch_bytes(g, n, n_rows) : op_topk_scratch_bytes(g, n, n_rows, k);
	struct gpu_buffer xb, ib, vb, sb;
	REQUIRE_OK(buf_make(g, &xb, "logits", x, total * 4, 4));
	REQUIRE_OK(buf_make(g, &ib, "idx", NULL, (size_t)n_rows * k * 4, 8));
	REQUIRE_OK(buf_make(g, &vb, "val", NULL, (size_t)n_rows * k * 4, 12));
	REQUIRE_OK(buf_make(g, &sb, "scratch", NULL, scratch, 4));
	struct gpu_view xv = view_at(&xb, 4, total * 4), iv = view_at(&ib, 8, (size_t)n_rows * k * 4);
	struct gpu_view vv = view_at(&vb, 12, (size_t)n_rows * k * 4), sv = view_at(&sb, 4, scratch);
	struct gpu_rec rec;
	REQUIRE_OK(gpu_rec_begin(g, &rec));
	if (argmax)
		REQUIRE_OK(op_argmax(&rec, iv, vv, sv, xv, n, n_rows));
	else
		REQUIRE_OK(op_topk(&rec, iv, vv, sv, xv, n, n_rows, k));
	REQUIRE_OK(gpu_rec_end(&rec));
	REQUIRE_OK(gpu_rec_submit_wait(&rec));
	REQUIRE_OK(gpu_download(g, got_i, &ib, 8, (size_t)n_rows * k * 4));
	REQUIRE_OK(gpu_download(g, got_v, &vb, 12, (size_t)n_rows * k * 4));
	int bad = 0;
	for (size_t i = 0; i < (size_t)n_rows * k; i++)
		if (got_i[i] != ref_i[i] || memcmp(&got_v[i], &ref_v[i], 4)) {
			if (bad++ < 4)
				fprintf(stderr, "  row %zu rank %zu: got %u (%g), reference %u (%g)\n", i / k, i % k, got_i[i],
				        (double)got_v[i], ref_i[i], (double)ref_v[i]);
		}
	EXPECT(bad == 0, "%s n %u rows %u k %u fill %d (%u dispatches): %d entries differ", argmax ? "argmax" : "topk", n,
	       n_rows, k, f, rec.n_dispatches, bad);
	gpu_rec_destroy(&rec);
	gpu_buffer_destroy(g, &xb), gpu_buffer_destroy(g, &ib), gpu_buffer_destroy(g, &vb), gpu_buffer_destroy(g, &sb);
	free(x), free(ref_v), free(got_v), free(ref_i), free(got_i);
	return 0;
}

int main(void)
{
	struct gpu g;
	if (test_gpu_open(&g)) {
		fprintf(stderr, "no device: %s\n", vkllm_error());
		return 1;
	}
	uint64_t seed = 13;
	run_case(&g, true, 262144, 1, 1, RANDOM, &seed);
	run_case(&g, true, 262144, 1, 1, TIES, &seed);
	run_case(&g, true, 7, 1, 1, RANDOM, &seed);
	run_case(&g, true, 1, 1, 1, RANDOM, &seed);
	run_case(&g, true, 100003, 3, 1, SPECIAL, &seed);
	run_case(&g, true, 1048579, 1, 1, TIES, &seed); /* 257 chunks */
	run_case(&g, false, 262144, 1, 64, RANDOM, &seed);
	run_case(&g, false, 262144, 1, 40, TIES, &seed);
	run_case(&g, false, 262144, 1, 1, RANDOM, &seed);
	run_case(&g, false, 7, 1, 5, RANDOM, &seed);
	run_case(&g, false, 7, 1, 7, TIES, &seed);
	run_case(&g, false, 1, 1, 1, RANDOM, &seed);
	run_case(&g, false, 5003, 3, 64, SPECIAL, &seed);
	run_case(&g, false, 151936, 2, 20, TIES, &seed); /* Qwen's vocabulary, two rows */

	struct gpu_buffer b;
	REQUIRE_OK(gpu_buffer_create(&g, &b, 1 << 16, GPU_MEM_DEVICE, "b"));
	struct gpu_rec rec;
	REQUIRE_OK(gpu_rec_begin(&g, &rec));
	struct gpu_view v = gpu_whole(&b), small = view_at(&b, 0, 16);
	EXPECT(op_topk(&rec, v, v, v, v, 1000, 1, 0) == VKLLM_E_ARG, "k = 0 refused");
	EXPECT(op_topk(&rec, v, v, v, v, 1000, 1, 65) == VKLLM_E_ARG, "k = 65 refused");
	EXPECT(op_topk(&rec, v, v, v, v, 10, 1, 11) == VKLLM_E_ARG, "k > n refused");
	EXPECT(op_topk(&rec, small, v, v, v, 1000, 1, 8) == VKLLM_E_ARG, "short index output refused");
	EXPECT(op_topk(&rec, v, v, small, v, 10000, 1, 8) == VKLLM_E_ARG, "short scratch refused");
	EXPECT(op_topk(&rec, v, v, v, v, 100000, 1, 8) == VKLLM_E_ARG, "logits past the view refused");
	EXPECT(op_argmax(&rec, v, v, small, v, 10000, 1) == VKLLM_E_ARG, "short argmax scratch refused");
	EXPECT(op_argmax(&rec, v, small, v, v, 1000, 5) == VKLLM_E_ARG, "short value output refused");
	EXPECT(op_argmax(&rec, v, v, v, v, 0, 1) == VKLLM_E_ARG, "empty row refused");
	EXPECT(op_argmax(&rec, v, v, v, view_at(&b, 2, 64), 4, 1) == VKLLM_E_ARG, "misaligned logits refused");
	EXPECT(rec.n_dispatches == 0, "nothing recorded by refused calls");
	gpu_rec_end(&rec);
	gpu_rec_destroy(&rec);
	gpu_buffer_destroy(&g, &b);
	test_gpu_close(&g);
	return test_finish();
}
