/* The mixture-of-experts ops against tests/ref/moe_ref.c, on the routers of 2025's MoE models
 * and the edge cases issue 8 names: every token to one expert, experts with no token, top-k equal
 * to the expert count, a single token, group-limited selection with a bias (DeepSeek V3).
 *
 * Tolerances. Expert ids: identical, except where two experts' selection scores are within 1e-6
 * of each other (f32 rounding of a softmax or sigmoid can order such a pair either way); such a
 * swap is counted and printed, and every case is built so it stays rare. Weights: 1e-5 relative
 * (f32 exp and division against double). The index (counts, offsets, perm, inv) and the gather
 * are exact; the scatter sums k products in f32: 1e-6 relative to the sum of magnitudes. The
 * expert matvec: 1e-5 of sum_k |w x| plus 1e-6, as test_matvec (f32 sums in any order).
 * MXFP4 experts (gpt-oss) come from raw blocks (fill_experts): the same bound, the decoded values
 * being exact in f32. The per-expert bias (op_moe_add_bias) is one f32 addition per value, correctly
 * rounded on every Vulkan device: compared bit for bit with the same addition on the host. */
#include "loader/quant.h"
#include "ref/matmul_ref.h"
#include "ref/moe_ref.h"
#include "small_ops_util.h"

struct route_case {
	const char *name;
	uint32_t n_tok, n_exp, k;
	enum moe_gating gating;
	bool bias, norm;
	uint32_t n_group, n_group_used;
	float scale;
	int one_expert; /* >= 0: every token's logits favour this expert by far */
	bool saturate;  /* logits 20 and up: their sigmoids all round to 1 in f32 (Llama 4 selects on the logits) */
	bool input_weighted; /* the gather scales each row by its weight and the scatter sums plainly (Llama 4) */
};

/* selection score of expert e for token t, in double, as the reference computes it */
static double sel_score(const float *l, const float *bias, uint32_t n_exp, uint32_t e, int gating)
{
	double mx = -INFINITY, sum = 0, p;
	for (uint32_t i = 0; i < n_exp; i++) mx = fmax(mx, l[i]);
	for (uint32_t i = 0; gating == 0 && i < n_exp; i++) sum += exp(l[i] - mx);
	p = gating == 0 ? exp(l[e] - mx) / sum : gating == 1 ? 1.0 / (1.0 + exp(-(double)l[e])) : l[e]; /* 2, 3: the logit */
	return p + (bias ? bias[e] : 0.0);
}

static int run_case(struct gpu *g, const struct route_case *c, uint64_t *seed)
{
	uint32_t T = c->n_tok, E = c->n_exp, K = c->k, A = T * K, D = 40; /* D: row length for gather/scatter */
	float *logits = malloc((size_t)T * E * 4), *bias = malloc(E * 4ull);
	uint32_t *ref_ids = malloc(A * 4ull), *ids = malloc(A * 4ull);
	double *ref_w = malloc(A * 8ull);
	float *w = malloc(A * 4ull);
	/* logits on a grid of 1/16 with random order: no two equal within a token */
	for (uint32_t t = 0; t < T; t++) {
		for (uint32_t e = 0; e < E; e++) logits[(size_t)t * E + e] = ((float)e - E / 2.0f) / 16.0f;
		for (uint32_t e = E - 1; e > 0; e--) {
			uint32_t j = (uint32_t)(test_rand(seed) % (e + 1));
			float tmp = logits[(size_t)t * E + e];
			logits[(size_t)t * E + e] = logits[(size_t)t * E + j], logits[(size_t)t * E + j] = tmp;
		}
		if (c->one_expert >= 0) logits[(size_t)t * E + c->one_expert] = 40.0f;
		if (c->saturate)
			for (uint32_t e = 0; e < E; e++) logits[(size_t)t * E + e] += 24.0f;
	}
	for (uint32_t e = 0; e < E; e++) bias[e] = (float)(test_rand(seed) % 64) / 1024.0f;
	const float *bias_or_null = c->bias ? bias : NULL;
	moe_route_ref(ref_ids, ref_w, logits, bias_or_null, T, E, K, (int)c->gating, c->n_group, c->n_group_used, c->norm,
	              c->scale);

	struct gpu_buffer lb, bb, ib, wb, cb, ob, pb, vb, xb, xpb, yb, outb;
	REQUIRE_OK(buf_make(g, &lb, "logits", logits, (size_t)T * E * 4, 4));
	REQUIRE_OK(buf_make(g, &bb, "bias", bias, E * 4ull, 0));
	REQUIRE_OK(buf_make(g, &ib, "ids", NULL, A * 4ull, 8));
	REQUIRE_OK(buf_make(g, &wb, "weights", NULL, A * 4ull, 0));
	struct moe_route_desc d = {.n_tok = T, .n_exp = E, .k = K, .gating = c->gating, .n_group = c->n_group,
	                           .n_group_used = c->n_group_used, .norm = c->norm, .scale = c->scale};
	struct gpu_view idv = view_at(&ib, 8, A * 4ull), wv = view_at(&wb, 0, A * 4ull);

	/* the index, gather and scatter run on the GPU's ids */
	REQUIRE_OK(buf_make(g, &cb, "counts", NULL, E * 4ull, 0));
	REQUIRE_OK(buf_make(g, &ob, "offsets", NULL, (E + 1) * 4ull, 0));
	REQUIRE_OK(buf_make(g, &pb, "perm", NULL, A * 4ull, 0));
	REQUIRE_OK(buf_make(g, &vb, "inv", NULL, A * 4ull, 0));
	float *x = malloc((size_t)T * D * 4), *y = malloc((size_t)A * D * 4);
	for (size_t i = 0; i < (size_t)T * D; i++) x[i] = test_randf(seed);
	for (size_t i = 0; i < (size_t)A * D; i++) y[i] = test_randf(seed);
	REQUIRE_OK(buf_make(g, &xb, "x", x, (size_t)T * D * 4, 0));
	REQUIRE_OK(buf_make(g, &xpb, "x by expert", NULL, (size_t)A * D * 4, 0));
	REQUIRE_OK(buf_make(g, &yb, "expert outputs", y, (size_t)A * D * 4, 0));
	REQUIRE_OK(buf_make(g, &outb, "out", NULL, (size_t)T * D * 4, 0));

	struct gpu_rec rec;
	REQUIRE_OK(gpu_rec_begin(g, &rec));
	REQUIRE_OK(op_moe_route(&rec, idv, wv, view_at(&lb, 4, (size_t)T * E * 4), c->bias ? gpu_whole(&bb) : NO_VIEW, &d));
	REQUIRE_OK(op_moe_index(&rec, gpu_whole(&cb), gpu_whole(&ob), gpu_whole(&pb), gpu_whole(&vb), idv, A, E));
	struct gpu_view gather_w = c->input_weighted ? wv : NO_VIEW, scatter_w = c->input_weighted ? NO_VIEW : wv;
	REQUIRE_OK(op_moe_gather_rows(&rec, gpu_whole(&xpb), gpu_whole(&xb), gpu_whole(&pb), gather_w, T, K, D));
	REQUIRE_OK(op_moe_scatter(&rec, gpu_whole(&outb), gpu_whole(&yb), gpu_whole(&vb), scatter_w, T, K, D, false));
	REQUIRE_OK(gpu_rec_end(&rec));
	REQUIRE_OK(gpu_rec_submit_wait(&rec));
	REQUIRE_OK(gpu_download(g, ids, &ib, 8, A * 4ull));
	REQUIRE_OK(gpu_download(g, w, &wb, 0, A * 4ull));

	int bad_ids = 0, ties = 0, bad_w = 0;
	for (uint32_t a = 0; a < A; a++) {
		uint32_t t = a / K;
		if (ids[a] != ref_ids[a]) {
			double s1 = ids[a] < E ? sel_score(logits + (size_t)t * E, bias_or_null, E, ids[a], (int)c->gating) : INFINITY;
			double s2 = sel_score(logits + (size_t)t * E, bias_or_null, E, ref_ids[a], (int)c->gating);
			if (fabs(s1 - s2) < 1e-6) ties++;
			else if (bad_ids++ < 4)
				fprintf(stderr, "  token %u slot %u: expert %u, reference %u\n", t, a % K, ids[a], ref_ids[a]);
		}
		if (!(fabs(w[a] - ref_w[a]) <= 1e-5 * fabs(ref_w[a]) + 1e-12) && bad_w++ < 4)
			fprintf(stderr, "  token %u slot %u: weight %.9g, reference %.9g\n", t, a % K, w[a], ref_w[a]);
	}
	EXPECT(bad_ids == 0 && bad_w == 0, "%s: %d expert ids and %d weights differ from the reference", c->name, bad_ids, bad_w);
	if (ties) printf("# %s: %d near-tie swaps (selection scores within 1e-6)\n", c->name, ties);

	/* index, gather and scatter from the GPU's own ids: exact, exact, 1e-6 */
	uint32_t *counts = malloc(E * 4ull), *offsets = malloc((E + 1) * 4ull), *perm = malloc(A * 4ull), *inv = malloc(A * 4ull);
	uint32_t *gc = malloc(E * 4ull), *go = malloc((E + 1) * 4ull), *gp = malloc(A * 4ull), *gi = malloc(A * 4ull);
	moe_index_ref(counts, offsets, perm, inv, ids, A, E);
	REQUIRE_OK(gpu_download(g, gc, &cb, 0, E * 4ull));
	REQUIRE_OK(gpu_download(g, go, &ob, 0, (E + 1) * 4ull));
	REQUIRE_OK(gpu_download(g, gp, &pb, 0, A * 4ull));
	REQUIRE_OK(gpu_download(g, gi, &vb, 0, A * 4ull));
	EXPECT(!memcmp(gc, counts, E * 4ull) && !memcmp(go, offsets, (E + 1) * 4ull) && !memcmp(gp, perm, A * 4ull) &&
	       !memcmp(gi, inv, A * 4ull), "%s: the expert index differs from the reference", c->name);
	float *xp = malloc((size_t)A * D * 4), *out = malloc((size_t)T * D * 4);
	double *ref_out = malloc((size_t)T * D * 8);
	REQUIRE_OK(gpu_download(g, xp, &xpb, 0, (size_t)A * D * 4));
	int bad_rows = 0;
	for (uint32_t pos = 0; pos < A; pos++)
		for (uint32_t i = 0; i < D; i++) {
			/* weighted: one f32 product, correctly rounded on every device, so bit for bit */
			float want = x[(size_t)(perm[pos] / K) * D + i], got = xp[(size_t)pos * D + i];
			if (c->input_weighted) want *= w[perm[pos]];
			bad_rows += memcmp(&got, &want, 4) != 0;
		}
	EXPECT(bad_rows == 0, "%s: %d gathered values are not their token's%s", c->name, bad_rows,
	       c->input_weighted ? " times its weight" : "");
	moe_scatter_ref(ref_out, y, inv, c->input_weighted ? NULL : w, T, K, D);
	REQUIRE_OK(gpu_download(g, out, &outb, 0, (size_t)T * D * 4));
	int bad_out = 0;
	for (uint32_t t = 0; t < T; t++)
		for (uint32_t i = 0; i < D; i++) {
			double mag = 0;
			for (uint32_t j = 0; j < K; j++)
				mag += fabs((c->input_weighted ? 1.0f : w[t * K + j]) * y[(size_t)inv[t * K + j] * D + i]);
			bad_out += !(fabs(out[(size_t)t * D + i] - ref_out[(size_t)t * D + i]) <= 1e-6 * mag + 1e-30);
		}
	EXPECT(bad_out == 0, "%s: %d scattered values differ", c->name, bad_out);
	if (c->one_expert >= 0 && K == 1)
		EXPECT(gc[c->one_expert] == T && go[E] == T, "%s: every token went to expert %d (%u of %u)", c->name, c->one_expert,
		       gc[c->one_expert], T);

	gpu_rec_destroy(&rec);
	struct gpu_buffer *bufs[] = {&lb, &bb, &ib, &wb, &cb, &ob, &pb, &vb, &xb, &xpb, &yb, &outb};
	for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) gpu_buffer_destroy(g, bufs[i]);
	free(logits), free(bias), free(ref_ids), free(ids), free(ref_w), free(w), free(x), free(y);
	free(counts), free(offsets), free(perm), free(inv), free(gc), free(go), free(gp), free(gi);
	free(xp), free(out), free(ref_out);
	return 0;
}

/* The stacked experts' weights: n_rows_all rows of n_k values of wtype, quantized from random floats
 * by loader/quant.c, except MXFP4, which is written as raw blocks: random E2M1 bytes (all 16 codes)
 * under E8M0 scales 2^-12 .. 2^8 (e 116..136), so every code and many scales meet the kernels, where
 * quantized random floats would give one scale per magnitude. */
static double mxfp4_worst; /* MXFP4 expert matmuls: the largest error / tolerance seen */

static int fill_experts(uint32_t wtype, uint8_t *w, uint64_t n_rows_all, uint32_t n_k, uint64_t *seed)
{
	uint64_t row_bytes = quant_row_size(wtype, n_k);
	if (wtype == QT_MXFP4) {
		for (uint64_t b = 0; b < n_rows_all * row_bytes / 17; b++) {
			w[b * 17] = (uint8_t)(116 + test_rand(seed) % 21);
			for (int j = 1; j < 17; j++) w[b * 17 + j] = (uint8_t)test_rand(seed);
		}
		return VKLLM_OK;
	}
	float *row = malloc(n_k * 4ull);
	int qst = VKLLM_OK;
	for (uint64_t r = 0; !qst && r < n_rows_all; r++) {
		for (uint32_t i = 0; i < n_k; i++) row[i] = test_randf(seed);
		qst = quant_quantize(wtype, row, w + r * row_bytes, n_k);
	}
	free(row);
	return qst;
}

/* op_moe_matvec: n_tok tokens, k slots each, over n_exp stacked experts of type wtype. down: each
 * assignment has its own input (x_div 1), else the token's (x_div k). sorted: op_moe_index's perm
 * and offsets given too (CPU devices then pair the assignments of an expert, odd ones alone). */
static int run_matvec_opt(struct gpu *g, uint32_t wtype, uint32_t n_exp, uint32_t n_rows, uint32_t n_k, uint32_t n_tok,
                          uint32_t k, bool down, bool sorted, uint64_t *seed)
{
	uint32_t A = n_tok * k, x_div = down ? 1 : k, n_x = A / x_div;
	uint64_t row_bytes = quant_row_size(wtype, n_k), expert_bytes = row_bytes * n_rows;
	uint8_t *w = malloc(expert_bytes * n_exp + 4);
	float *row = malloc(n_k * 4ull), *x = malloc((size_t)n_x * n_k * 4), *y = malloc((size_t)A * n_rows * 4);
	uint32_t *ids = malloc(A * 4ull);
	double *ref = malloc((size_t)n_rows * 8), *mag = malloc((size_t)n_rows * 8);
	REQUIRE_OK(fill_experts(wtype, w, (uint64_t)n_exp * n_rows, n_k, seed));
	for (size_t i = 0; i < (size_t)n_x * n_k; i++) x[i] = test_randf(seed);
	for (uint32_t t = 0; t < n_tok; t++)
		for (uint32_t j = 0; j < k; j++) {
			uint32_t e;
			bool again;
			do { /* distinct experts within a token, as the router gives */
				e = (uint32_t)(test_rand(seed) % n_exp);
				again = false;
				for (uint32_t i = 0; i < j; i++) again |= ids[t * k + i] == e;
			} while (again);
			ids[t * k + j] = e;
		}
	struct gpu_buffer wb, xb, yb, ib;
	REQUIRE_OK(buf_make(g, &wb, "experts", w, expert_bytes * n_exp, 0));
	REQUIRE_OK(buf_make(g, &xb, "x", x, (size_t)n_x * n_k * 4, 0));
	REQUIRE_OK(buf_make(g, &yb, "y", NULL, (size_t)A * n_rows * 4, 0));
	REQUIRE_OK(buf_make(g, &ib, "ids", ids, A * 4ull, 0));
	struct moe_matvec_desc d = {.n_assign = A, .x_div = x_div, .n_rows = n_rows, .n_k = n_k, .n_exp = n_exp};
	struct gpu_rec rec;
	REQUIRE_OK(gpu_rec_begin(g, &rec));
	struct gpu_buffer cb = {0}, ob = {0}, pb = {0}, vb = {0};
	uint32_t index_dispatches = 0;
	if (sorted) {
		REQUIRE_OK(buf_make(g, &cb, "counts", NULL, n_exp * 4ull, 0));
		REQUIRE_OK(buf_make(g, &ob, "offsets", NULL, (n_exp + 1) * 4ull, 0));
		REQUIRE_OK(buf_make(g, &pb, "perm", NULL, A * 4ull, 0));
		REQUIRE_OK(buf_make(g, &vb, "inv", NULL, A * 4ull, 0));
		REQUIRE_OK(op_moe_index(&rec, gpu_whole(&cb), gpu_whole(&ob), gpu_whole(&pb), gpu_whole(&vb),
		                        view_at(&ib, 0, A * 4ull), A, n_exp));
		index_dispatches = rec.n_dispatches;
		d.perm = view_at(&pb, 0, A * 4ull);
		d.offsets = view_at(&ob, 0, (n_exp + 1) * 4ull);
	}
	REQUIRE_OK(op_moe_matvec(&rec, view_at(&yb, 0, (size_t)A * n_rows * 4), view_at(&wb, 0, expert_bytes * n_exp), wtype,
	                         view_at(&xb, 0, (size_t)n_x * n_k * 4), view_at(&ib, 0, A * 4ull), &d));
	uint32_t dispatches = rec.n_dispatches - index_dispatches;
	REQUIRE_OK(gpu_rec_end(&rec));
	REQUIRE_OK(gpu_rec_submit_wait(&rec));
	REQUIRE_OK(gpu_download(g, y, &yb, 0, (size_t)A * n_rows * 4));
	int bad = 0;
	for (uint32_t a = 0; a < A; a++) {
		if (matmul_ref(ref, mag, wtype, w + ids[a] * expert_bytes, x + (size_t)(a / x_div) * n_k, NULL, n_rows, n_k, 1)) {
			bad++;
			continue;
		}
		for (uint32_t r = 0; r < n_rows; r++) {
			double err = fabs(y[(size_t)a * n_rows + r] - ref[r]);
			if (wtype == QT_MXFP4 && err / (1e-5 * mag[r] + 1e-6) > mxfp4_worst) mxfp4_worst = err / (1e-5 * mag[r] + 1e-6);
			if (!(err <= 1e-5 * mag[r] + 1e-6) && bad++ < 4)
				fprintf(stderr, "  assignment %u (expert %u) row %u: %.9g, reference %.9g\n", a, ids[a], r,
				        y[(size_t)a * n_rows + r], ref[r]);
		}
	}
	EXPECT(bad == 0, "moe_matvec %s %u experts of %ux%u, %u tokens x %u (%s%s): %d values differ (%u dispatches)",
	       quant_type_info(wtype)->name, n_exp, n_rows, n_k, n_tok, k, down ? "down" : "gate/up", sorted ? ", sorted" : "",
	       bad, dispatches);
	uint64_t per_part = (g->profile.max_storage_buffer_range - 256) / expert_bytes;
	uint32_t parts = (uint32_t)((n_exp + per_part - 1) / per_part);
	EXPECT(dispatches == parts, "moe_matvec: %u dispatches for a stack that needs %u binding(s)", dispatches, parts);
	gpu_rec_destroy(&rec);
	gpu_buffer_destroy(g, &wb), gpu_buffer_destroy(g, &xb), gpu_buffer_destroy(g, &yb), gpu_buffer_destroy(g, &ib);
	if (sorted) gpu_buffer_destroy(g, &cb), gpu_buffer_destroy(g, &ob), gpu_buffer_destroy(g, &pb), gpu_buffer_destroy(g, &vb);
	free(w), free(row), free(x), free(y), free(ids), free(ref), free(mag);
	return 0;
}

static int run_matvec(struct gpu *g, uint32_t wtype, uint32_t n_exp, uint32_t n_rows, uint32_t n_k, uint32_t n_tok,
                      uint32_t k, bool down, uint64_t *seed)
{
	return run_matvec_opt(g, wtype, n_exp, n_rows, n_k, n_tok, k, down, false, seed);
}

/* op_moe_index, op_moe_gather_rows and op_moe_gemm together, as a prefill records them: y[pos] must
 * be expert ids[perm[pos]]'s matrix times token perm[pos] / k's input. skew: every token's first
 * slot goes to expert 0 (a segment longer than a tile) and the top experts get none. */
static int run_gemm(struct gpu *g, uint32_t wtype, uint32_t n_exp, uint32_t n_rows, uint32_t n_k, uint32_t n_tok,
                    uint32_t k, bool skew, uint64_t *seed)
{
	uint32_t A = n_tok * k;
	uint64_t row_bytes = quant_row_size(wtype, n_k), expert_bytes = row_bytes * n_rows;
	uint8_t *w = malloc(expert_bytes * n_exp + 4);
	float *row = malloc(n_k * 4ull), *x = malloc((size_t)n_tok * n_k * 4), *y = malloc((size_t)A * n_rows * 4);
	uint32_t *ids = malloc(A * 4ull), *counts = malloc(n_exp * 4ull), *offsets = malloc((n_exp + 1) * 4ull);
	uint32_t *perm = malloc(A * 4ull), *inv = malloc(A * 4ull);
	double *ref = malloc((size_t)n_rows * 8), *mag = malloc((size_t)n_rows * 8);
	REQUIRE_OK(fill_experts(wtype, w, (uint64_t)n_exp * n_rows, n_k, seed));
	for (size_t i = 0; i < (size_t)n_tok * n_k; i++) x[i] = test_randf(seed);
	uint32_t span = skew ? n_exp / 2 : n_exp; /* skew: experts from n_exp / 2 up get no token */
	for (uint32_t t = 0; t < n_tok; t++)
		for (uint32_t j = 0; j < k; j++) {
			uint32_t e;
			bool again;
			do {
				e = skew && j == 0 ? 0 : (uint32_t)(test_rand(seed) % span);
				again = false;
				for (uint32_t i = 0; i < j; i++) again |= ids[t * k + i] == e;
			} while (again);
			ids[t * k + j] = e;
		}
	moe_index_ref(counts, offsets, perm, inv, ids, A, n_exp);
	struct gpu_buffer wb, xb, xpb, yb, ib, cb, ob, pb, vb;
	REQUIRE_OK(buf_make(g, &wb, "experts", w, expert_bytes * n_exp, 0));
	REQUIRE_OK(buf_make(g, &xb, "x", x, (size_t)n_tok * n_k * 4, 0));
	REQUIRE_OK(buf_make(g, &xpb, "x by expert", NULL, (size_t)A * n_k * 4, 0));
	REQUIRE_OK(buf_make(g, &yb, "y by expert", NULL, (size_t)A * n_rows * 4, 0));
	REQUIRE_OK(buf_make(g, &ib, "ids", ids, A * 4ull, 0));
	REQUIRE_OK(buf_make(g, &cb, "counts", NULL, n_exp * 4ull, 0));
	REQUIRE_OK(buf_make(g, &ob, "offsets", NULL, (n_exp + 1) * 4ull, 0));
	REQUIRE_OK(buf_make(g, &pb, "perm", NULL, A * 4ull, 0));
	REQUIRE_OK(buf_make(g, &vb, "inv", NULL, A * 4ull, 0));
	struct moe_gemm_desc d = {.n_assign = A, .n_rows = n_rows, .n_k = n_k, .n_exp = n_exp};
	struct gpu_rec rec;
	REQUIRE_OK(gpu_rec_begin(g, &rec));
	REQUIRE_OK(op_moe_index(&rec, gpu_whole(&cb), gpu_whole(&ob), gpu_whole(&pb), gpu_whole(&vb), gpu_whole(&ib), A, n_exp));
	REQUIRE_OK(op_moe_gather_rows(&rec, gpu_whole(&xpb), gpu_whole(&xb), gpu_whole(&pb), NO_VIEW, n_tok, k, n_k));
	REQUIRE_OK(op_moe_gemm(&rec, gpu_whole(&yb), view_at(&wb, 0, expert_bytes * n_exp), wtype, gpu_whole(&xpb),
	                       gpu_whole(&cb), gpu_whole(&ob), &d));
	REQUIRE_OK(gpu_rec_end(&rec));
	REQUIRE_OK(gpu_rec_submit_wait(&rec));
	REQUIRE_OK(gpu_download(g, y, &yb, 0, (size_t)A * n_rows * 4));
	int bad = 0;
	/* on matrix units the operands are rounded to f16: the coopmat tolerance of matmul_case.h */
	double rel = op_moe_gemm_uses_coopmat(g, wtype) ? 1.5e-3 : 1e-5;
	for (uint32_t pos = 0; pos < A; pos++) {
		uint32_t a = perm[pos];
		if (matmul_ref(ref, mag, wtype, w + ids[a] * expert_bytes, x + (size_t)(a / k) * n_k, NULL, n_rows, n_k, 1)) {
			bad++;
			continue;
		}
		for (uint32_t r = 0; r < n_rows; r++) {
			double err = fabs(y[(size_t)pos * n_rows + r] - ref[r]);
			if (wtype == QT_MXFP4 && err / (rel * mag[r] + 1e-6) > mxfp4_worst) mxfp4_worst = err / (rel * mag[r] + 1e-6);
			if (!(err <= rel * mag[r] + 1e-6) && bad++ < 4)
				fprintf(stderr, "  position %u (expert %u, token %u) row %u: %.9g, reference %.9g\n", pos, ids[a], a / k, r,
				        y[(size_t)pos * n_rows + r], ref[r]);
		}
	}
	EXPECT(bad == 0, "moe_gemm %s %u experts of %ux%u, %u tokens x %u%s: %d values differ", quant_type_info(wtype)->name,
	       n_exp, n_rows, n_k, n_tok, k, skew ? " (skewed)" : "", bad);
	gpu_rec_destroy(&rec);
	struct gpu_buffer *bufs[] = {&wb, &xb, &xpb, &yb, &ib, &cb, &ob, &pb, &vb};
	for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) gpu_buffer_destroy(g, bufs[i]);
	free(w), free(row), free(x), free(y), free(ids), free(counts), free(offsets), free(perm), free(inv), free(ref), free(mag);
	return 0;
}

/* op_moe_add_bias: y [A][n] += bias[ids[a]] with rows in assignment order (no perm: the matvec
 * path), or in expert order (op_moe_index's perm, recorded in the same command buffer: the grouped
 * path). bad_ids: one assignment's id is past the experts (its row must stay as it was). Views at
 * odd float offsets. Exact: y0 + bias in f32 on the host. */
static int run_add_bias(struct gpu *g, uint32_t n_tok, uint32_t k, uint32_t n, uint32_t n_exp, bool sorted, bool bad_ids,
                        uint64_t *seed)
{
	uint32_t A = n_tok * k;
	float *y0 = malloc((size_t)A * n * 4), *bias = malloc((size_t)n_exp * n * 4), *got = malloc((size_t)A * n * 4);
	float *want = malloc((size_t)A * n * 4);
	uint32_t *ids = malloc(A * 4ull), *counts = malloc(n_exp * 4ull), *offsets = malloc((n_exp + 1) * 4ull);
	uint32_t *perm = malloc(A * 4ull), *inv = malloc(A * 4ull);
	for (uint32_t t = 0; t < n_tok; t++)
		for (uint32_t j = 0; j < k; j++) {
			uint32_t e;
			bool again;
			do {
				e = (uint32_t)(test_rand(seed) % n_exp);
				again = false;
				for (uint32_t i = 0; i < j; i++) again |= ids[t * k + i] == e;
			} while (again);
			ids[t * k + j] = e;
		}
	if (bad_ids) ids[A / 2] = n_exp + 3;
	for (size_t i = 0; i < (size_t)A * n; i++) y0[i] = test_randf(seed) * 4.0f;
	for (size_t i = 0; i < (size_t)n_exp * n; i++) bias[i] = test_randf(seed);
	if (sorted) moe_index_ref(counts, offsets, perm, inv, ids, A, n_exp);
	for (uint32_t r = 0; r < A; r++) {
		uint32_t e = ids[sorted ? perm[r] : r];
		for (uint32_t i = 0; i < n; i++)
			want[(size_t)r * n + i] = e < n_exp ? y0[(size_t)r * n + i] + bias[(size_t)e * n + i] : y0[(size_t)r * n + i];
	}
	struct gpu_buffer yb, bb, ib, cb, ob, pb, vb;
	REQUIRE_OK(buf_make(g, &yb, "y", y0, (size_t)A * n * 4, 12));
	REQUIRE_OK(buf_make(g, &bb, "bias", bias, (size_t)n_exp * n * 4, 4));
	REQUIRE_OK(buf_make(g, &ib, "ids", ids, A * 4ull, 8));
	REQUIRE_OK(buf_make(g, &cb, "counts", NULL, n_exp * 4ull, 0));
	REQUIRE_OK(buf_make(g, &ob, "offsets", NULL, (n_exp + 1) * 4ull, 0));
	REQUIRE_OK(buf_make(g, &pb, "perm", NULL, A * 4ull, 20));
	REQUIRE_OK(buf_make(g, &vb, "inv", NULL, A * 4ull, 0));
	struct gpu_view yv = view_at(&yb, 12, (size_t)A * n * 4), iv = view_at(&ib, 8, A * 4ull), pv = view_at(&pb, 20, A * 4ull);
	struct gpu_rec rec;
	REQUIRE_OK(gpu_rec_begin(g, &rec));
	if (sorted) REQUIRE_OK(op_moe_index(&rec, gpu_whole(&cb), gpu_whole(&ob), pv, gpu_whole(&vb), iv, A, n_exp));
	REQUIRE_OK(op_moe_add_bias(&rec, yv, view_at(&bb, 4, (size_t)n_exp * n * 4), iv, sorted ? pv : NO_VIEW, A, n, n_exp));
	REQUIRE_OK(gpu_rec_end(&rec));
	REQUIRE_OK(gpu_rec_submit_wait(&rec));
	REQUIRE_OK(gpu_download(g, got, &yb, 12, (size_t)A * n * 4));
	int bad = 0;
	for (size_t i = 0; i < (size_t)A * n; i++)
		if (memcmp(&got[i], &want[i], 4) && bad++ < 4)
			fprintf(stderr, "  row %zu value %zu: %.9g, expected %.9g\n", i / n, i % n, got[i], want[i]);
	EXPECT(bad == 0, "moe_add_bias %u tokens x %u, %u wide, %u experts (%s%s): %d values differ", n_tok, k, n, n_exp,
	       sorted ? "expert order" : "assignment order", bad_ids ? ", a bad id" : "", bad);
	gpu_rec_destroy(&rec);
	struct gpu_buffer *bufs[] = {&yb, &bb, &ib, &cb, &ob, &pb, &vb};
	for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) gpu_buffer_destroy(g, bufs[i]);
	free(y0), free(bias), free(got), free(want), free(ids), free(counts), free(offsets), free(perm), free(inv);
	return 0;
}

int main(void)
{
	struct gpu g;
	if (test_gpu_open(&g)) {
		fprintf(stderr, "no device: %s\n", vkllm_error());
		return 1;
	}
	uint64_t seed = 17;
	const struct route_case cases[] = {
		{"qwen3-30b-a3b router", 37, 128, 8, MOE_GATING_SOFTMAX, false, true, 0, 0, 1.0f, -1, false, false},
		{"deepseek-v3 router (sigmoid, bias, 8 groups keep 4)", 5, 256, 8, MOE_GATING_SIGMOID, true, true, 8, 4, 2.5f, -1, false, false},
		{"kimi-k2 router (384 experts)", 3, 384, 8, MOE_GATING_SIGMOID, true, true, 1, 1, 2.827f, -1, false, false},
		{"gpt-oss router (softmax over the chosen)", 9, 32, 4, MOE_GATING_SOFTMAX_WEIGHT, false, false, 0, 0, 1.0f, -1, false, false},
		{"single token, top-k = all experts", 1, 8, 8, MOE_GATING_SOFTMAX, false, true, 0, 0, 1.0f, -1, false, false},
		{"every token to expert 5, others empty", 64, 16, 1, MOE_GATING_SOFTMAX, false, false, 0, 0, 1.0f, 5, false, false},
		{"a prefill chunk of 512 tokens, 128 experts", 512, 128, 8, MOE_GATING_SOFTMAX, false, true, 0, 0, 1.0f, -1, false, false},
		/* Llama 4: top-1 on the raw logits, sigmoid weight on the expert's input, no renormalization */
		{"llama4-scout router (16 experts, top-1, input-weighted)", 33, 16, 1, MOE_GATING_SIGMOID_LOGITS, false, false, 0, 0,
		 1.0f, -1, false, true},
		{"llama4-maverick router (128 experts, top-1)", 7, 128, 1, MOE_GATING_SIGMOID_LOGITS, false, false, 0, 0, 1.0f, -1,
		 false, true},
		{"sigmoid-by-logit router, top-4, saturated sigmoids", 9, 64, 4, MOE_GATING_SIGMOID_LOGITS, false, false, 0, 0, 1.0f,
		 -1, true, true},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) run_case(&g, &cases[i], &seed);

	/* expert matvecs: Qwen3-30B-A3B's decode shapes made small (768-wide experts, 8 of 128), every
	 * type family, rows not a multiple of the workgroup's, and a stack larger than one binding */
	run_matvec(&g, QT_Q8_0, 128, 96, 256, 1, 8, false, &seed);
	run_matvec(&g, QT_Q8_0, 128, 256, 96, 1, 8, true, &seed);
	run_matvec(&g, QT_Q4_K, 16, 37, 512, 2, 4, false, &seed);
	run_matvec(&g, QT_Q6_K, 16, 64, 256, 3, 2, true, &seed);
	run_matvec(&g, QT_F16, 8, 33, 64, 1, 8, false, &seed);
	run_matvec(&g, QT_MXFP4, 32, 40, 64, 1, 4, false, &seed);
	run_matvec(&g, QT_F32, 48, 1024, 1024, 1, 8, false, &seed); /* 201 MB: parts on devices with 128 MiB bindings */
	/* the GPUs' wide-load kernel (matvec_vec.comp -D MOE), forced on: gate/up (x per token) and
	 * down (x per assignment) shapes, rows not a multiple of a workgroup's, K past one lane pass */
	setenv("VKLLM_MATVEC_VEC", "1", 1);
	run_matvec(&g, QT_Q4_K, 16, 37, 512, 2, 4, false, &seed);
	run_matvec(&g, QT_Q4_K, 32, 70, 256, 3, 8, true, &seed);
	run_matvec(&g, QT_Q4_K, 8, 13, 8192, 1, 2, false, &seed);
	run_matvec(&g, QT_Q8_0, 16, 37, 512, 2, 4, false, &seed);
	run_matvec(&g, QT_Q8_0, 32, 70, 192, 3, 8, true, &seed);
	run_matvec(&g, QT_Q8_0, 8, 13, 2880, 1, 2, false, &seed);
	unsetenv("VKLLM_MATVEC_VEC");
	/* K a whole number of matvec_cpu chunks: the CPU-device kernel's shapes (lavapipe) */
	run_matvec(&g, QT_Q8_0, 32, 100, 1024, 2, 4, false, &seed);
	run_matvec(&g, QT_Q8_0, 32, 64, 512, 1, 8, true, &seed);
	run_matvec(&g, QT_Q6_K, 8, 40, 1024, 1, 4, false, &seed);
	run_matvec(&g, QT_F16, 16, 24, 384, 3, 2, true, &seed);
	run_matvec(&g, QT_Q4_0, 16, 17, 512, 1, 8, false, &seed);
	/* sorted by expert: on CPU devices two assignments of an expert share a workgroup; several
	 * tokens over few experts give pairs and odd ones out, an expert with none, one with many */
	run_matvec_opt(&g, QT_Q4_K, 8, 37, 512, 7, 2, false, true, &seed);
	run_matvec_opt(&g, QT_Q8_0, 4, 100, 256, 16, 1, true, true, &seed);
	run_matvec_opt(&g, QT_F32, 16, 24, 128, 9, 4, false, true, &seed);
	run_matvec_opt(&g, QT_Q6_K, 8, 40, 1024, 5, 3, true, true, &seed);

	/* grouped expert GEMMs: a prefill chunk of a small Qwen3-MoE, a skewed one (one long segment,
	 * empty experts), a single token, rows and tokens not multiples of the tile, K-quants; on
	 * matrix units where the device has them (tests/coopmat_next.sh looks for this line) */
	printf("# grouped expert gemm on matrix units: %s\n", op_moe_gemm_uses_coopmat(&g, QT_Q8_0) ? "yes" : "no");
	run_gemm(&g, QT_Q8_0, 16, 96, 128, 40, 4, false, &seed);
	run_gemm(&g, QT_Q8_0, 16, 70, 64, 100, 2, true, &seed);
	run_gemm(&g, QT_Q4_K, 8, 33, 256, 1, 8, false, &seed);
	run_gemm(&g, QT_F16, 32, 64, 96, 37, 8, false, &seed);
	run_gemm(&g, QT_Q6_K, 8, 48, 256, 19, 3, true, &seed);

	/* MXFP4 experts (gpt-oss: 32 experts of 2880 x 2880, top 4; K = 2880 is 90 blocks, a multiple of
	 * 32 but not of 256), raw blocks (fill_experts). Expert GEMV: gate/up and down, one row per
	 * expert, rows not a multiple of any workgroup's, experts of an odd byte count (37 rows of 3
	 * blocks: every other expert starts on an odd byte), long K, sorted, and gpt-oss-20b's whole
	 * stack (141 MB: more than one binding on lavapipe, so parts). */
	run_matvec(&g, QT_MXFP4, 32, 90, 2880, 1, 4, false, &seed);
	run_matvec(&g, QT_MXFP4, 32, 37, 2880, 3, 4, true, &seed);
	run_matvec(&g, QT_MXFP4, 4, 1, 32, 1, 2, false, &seed);
	run_matvec(&g, QT_MXFP4, 16, 37, 96, 2, 4, false, &seed);
	run_matvec(&g, QT_MXFP4, 4, 9, 32768, 1, 2, true, &seed);
	run_matvec_opt(&g, QT_MXFP4, 8, 45, 544, 7, 2, false, true, &seed);
	run_matvec(&g, QT_MXFP4, 32, 2880, 2880, 1, 4, false, &seed);
	/* grouped expert GEMM: a chunk at gpt-oss's width, skewed with odd-sized experts, one row and
	 * one token, long K, and the whole gpt-oss-20b stack (parts) for a few tokens */
	run_gemm(&g, QT_MXFP4, 32, 90, 2880, 40, 4, false, &seed);
	run_gemm(&g, QT_MXFP4, 16, 37, 96, 100, 2, true, &seed);
	run_gemm(&g, QT_MXFP4, 8, 1, 32, 1, 8, false, &seed);
	run_gemm(&g, QT_MXFP4, 4, 20, 16384, 9, 2, false, &seed);
	run_gemm(&g, QT_MXFP4, 32, 2880, 2880, 5, 4, false, &seed);
	printf("# mxfp4 expert matvec and grouped gemm: worst %.3f x tolerance\n", mxfp4_worst);

	/* per-expert biases: gpt-oss's decode (1 token, top 4, 2880 wide), a prefill chunk in expert
	 * order, rows not a multiple of the workgroup, a bad id left alone */
	run_add_bias(&g, 1, 4, 2880, 32, false, false, &seed);
	run_add_bias(&g, 37, 4, 2880, 32, true, false, &seed);
	run_add_bias(&g, 5, 3, 77, 8, false, true, &seed);
	run_add_bias(&g, 64, 2, 33, 16, true, false, &seed);

	/* refusals */
	struct gpu_buffer b;
	REQUIRE_OK(gpu_buffer_create(&g, &b, 4096, GPU_MEM_DEVICE, "b"));
	struct gpu_rec rec;
	REQUIRE_OK(gpu_rec_begin(&g, &rec));
	struct gpu_view v = gpu_whole(&b);
	struct moe_route_desc d = {.n_tok = 1, .n_exp = 8, .k = 9, .scale = 1};
	EXPECT(op_moe_route(&rec, v, v, v, NO_VIEW, &d) == VKLLM_E_ARG, "k above the expert count refused");
	d.k = 2, d.n_group = 3, d.n_group_used = 1;
	EXPECT(op_moe_route(&rec, v, v, v, NO_VIEW, &d) == VKLLM_E_ARG, "groups that do not divide the experts refused");
	d.n_group = 4, d.n_group_used = 1, d.k = 3;
	EXPECT(op_moe_route(&rec, v, v, v, NO_VIEW, &d) == VKLLM_E_ARG, "groups too few for k refused");
	d = (struct moe_route_desc){.n_tok = 2000, .n_exp = 8, .k = 2, .scale = 1};
	EXPECT(op_moe_route(&rec, v, v, v, NO_VIEW, &d) == VKLLM_E_ARG, "logits past the view refused");
	EXPECT(op_moe_index(&rec, v, v, v, v, v, 16, 2000) == VKLLM_E_ARG, "more than 1024 experts refused");
	EXPECT(op_moe_scatter(&rec, v, v, v, v, 100, 8, 64, false) == VKLLM_E_ARG, "scatter past the views refused");
	EXPECT(op_moe_gather_rows(&rec, v, v, v, v, 100, 8, 64) == VKLLM_E_ARG, "gather past the views refused");
	d = (struct moe_route_desc){.n_tok = 1, .n_exp = 8, .k = 2, .scale = 1, .gating = (enum moe_gating)4};
	EXPECT(op_moe_route(&rec, v, v, v, NO_VIEW, &d) == VKLLM_E_ARG, "an unknown gating refused");
	EXPECT(op_moe_add_bias(&rec, v, v, v, NO_VIEW, 4, 1000, 8) == VKLLM_E_ARG, "bias past the views refused");
	EXPECT(op_moe_add_bias(&rec, v, v, v, NO_VIEW, 0, 16, 8) == VKLLM_E_ARG, "no rows refused");
	EXPECT(op_moe_add_bias(&rec, v, v, view_at(&b, 2, 64), NO_VIEW, 4, 16, 8) == VKLLM_E_ARG, "misaligned ids refused");
	EXPECT(rec.n_dispatches == 0, "nothing recorded by refused calls");
	gpu_rec_end(&rec);
	gpu_rec_destroy(&rec);
	gpu_buffer_destroy(&g, &b);
	test_gpu_close(&g);
	return test_finish();
}
