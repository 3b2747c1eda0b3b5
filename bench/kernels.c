/* `vkllm bench --kernels`: the device's own peaks, measured with vkllm's shaders (as vkpeak does),
 * then each kernel on LLM-sized shapes as a share of them. Times are GPU timestamps around one
 * dispatch (or one op), the median of several replays of the same recording after a warm-up.
 *
 * Bytes counted (the figure a memory-bound kernel is judged by):
 *   copy:   reads n*4 + writes n*4
 *   matvec, gemm: read the weights (rows * row_bytes) + x (cols*k*4) + write y (cols*rows*4)
 *   moe-mv (op_moe_matvec, one token's chosen experts): each chosen expert's weights
 *        (k * rows * row_bytes; the other experts are not read) + x (k_dim*4, once) + y (k*rows*4)
 *   attention: reads K and V of the positions each query sees + q, writes out
 *   mla: reads the latent cache rows (kv_lora + rope f16 values) once + q_abs and q_pe, writes the
 *        latent outputs
 * Peaks: copy (peak_copy), f32 FMA (peak_fma) and, where the device has VK_KHR_cooperative_matrix,
 * the matrix units' f16 (f32 sums) and s8 (s32 sums) rates (peak_coopmat, the best listed shape).
 * FLOPs: matmul 2*rows*k*cols; attention 2*(head_dim_k + head_dim_v) per (query head, key) pair
 * the causal mask keeps; mla 2*((kv_lora + rope) + kv_lora) per (query head, key) pair. Memory-bound kernels (decode) are judged against the copy peak,
 * compute-bound ones (prefill) against the f16 matrix peak where there is one, else the FMA peak. */
#include "bench/kernels.h"

#include <stdlib.h>
#include <string.h>

#include "../shaders/abi.h"
#include "base/json.h"
#include "base/status.h"
#include "loader/quant.h"
#include "ops/gdn.h"
#include "ops/ops.h"

#define REPEATS 7

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Replays rec REPEATS times after one warm-up (3 times when one run takes over 200 ms, which
 * keeps the slow shapes on lavapipe to seconds); the median time between stamps 0 and 1. */
static int time_recording(struct gpu *g, struct gpu_rec *rec, struct gpu_timer *t, double *ns)
{
	double v[REPEATS], first = 0;
	TRY(gpu_rec_submit_wait(rec));
	TRY(gpu_timer_elapsed_ns(g, t, 0, 1, &first));
	int n = first > 200e6 ? 3 : REPEATS;
	for (int i = 0; i < n; i++) {
		TRY(gpu_rec_submit_wait(rec));
		TRY(gpu_timer_elapsed_ns(g, t, 0, 1, &v[i]));
	}
	qsort(v, (size_t)n, sizeof v[0], cmp_double);
	*ns = v[n / 2];
	return VKLLM_OK;
}

/* One timed recording: bench_begin opens it with a two-stamp timer; the caller records its fills,
 * a barrier, stamp 0, the op and stamp 1; bench_finish times the replays (when st is still OK) and
 * frees the recording and timer either way. */
struct bench_rec {
	struct gpu_rec rec;
	struct gpu_timer t;
};

static int bench_begin(struct gpu *g, struct bench_rec *b)
{
	memset(b, 0, sizeof *b);
	TRY(gpu_timer_create(g, &b->t, 2));
	TRY(gpu_rec_begin(g, &b->rec));
	gpu_timer_reset(&b->rec, &b->t);
	return VKLLM_OK;
}

static int bench_finish(struct gpu *g, struct bench_rec *b, int st, double *ns)
{
	if (!st) st = gpu_rec_end(&b->rec);
	if (!st) st = time_recording(g, &b->rec, &b->t, ns);
	gpu_rec_destroy(&b->rec);
	gpu_timer_destroy(g, &b->t);
	return st;
}

/* The fastest of op_copy (one float per invocation), peak_copy (one vec4) and peak_copy_texel
 * (one 16-byte texel: lavapipe's fastest loads), over 256 MiB buffers (or the largest binding),
 * well past any GPU's last-level cache. */
static int measure_copy(struct gpu *g, double *gbs)
{
	uint64_t bytes = 256ull << 20;
	if (bytes > g->profile.max_storage_buffer_range) bytes = g->profile.max_storage_buffer_range / 16 * 16;
	uint32_t n = (uint32_t)(bytes / 4);
	struct gpu_buffer a = {0}, b = {0};
	struct gpu_timer t = {0};
	const struct gpu_pipeline *vec4_copy = NULL, *texel_copy = NULL;
	uint32_t spec[] = {256};
	if (spec[0] > g->profile.max_workgroup_invocations) spec[0] = g->profile.max_workgroup_invocations;
	int st = gpu_buffer_create(g, &a, bytes, GPU_MEM_DEVICE, "bench.copy.src");
	if (!st) st = gpu_buffer_create(g, &b, bytes, GPU_MEM_DEVICE, "bench.copy.dst");
	if (!st) st = gpu_timer_create(g, &t, 2);
	if (!st) st = gpu_pipeline_get(g, &vec4_copy, SH_PEAK_COPY, spec, 1);
	if (!st && g->profile.texel_buffers) st = gpu_pipeline_get(g, &texel_copy, SH_PEAK_COPY_TEXEL, spec, 1);
	*gbs = 0;
	/* wide 0: op_copy, 1: vec4, 2: texels */
	for (int wide = 0; !st && wide < (texel_copy ? 3 : 2); wide++) {
		struct gpu_rec rec = {0};
		st = gpu_rec_begin(g, &rec);
		if (!st) {
			gpu_timer_reset(&rec, &t);
			st = op_fill(&rec, gpu_whole(&a), n, 1.0f);
			gpu_barrier(&rec);
			gpu_timestamp(&rec, &t, 0);
			if (!st && !wide) st = op_copy(&rec, gpu_whole(&b), gpu_whole(&a), n, COPY_OUT_F32);
			if (!st && wide) {
				struct peak_params pc = {n / 4, 0, 0};
				struct gpu_view v[2] = {gpu_whole(&a), gpu_whole(&b)};
				uint32_t gx, gy;
				gpu_groups_1d(g, (n / 4 + spec[0] - 1) / spec[0], &gx, &gy);
				st = gpu_dispatch(&rec, wide == 2 ? texel_copy : vec4_copy, v, 2, &pc, sizeof pc, gx, gy, 1);
			}
			gpu_timestamp(&rec, &t, 1);
		}
		if (!st) st = gpu_rec_end(&rec);
		double ns = 0;
		if (!st) st = time_recording(g, &rec, &t, &ns);
		gpu_rec_destroy(&rec);
		double v = ns > 0 ? 2.0 * (double)bytes / ns : 0;
		if (v > *gbs) *gbs = v;
	}
	gpu_timer_destroy(g, &t);
	gpu_buffer_destroy(g, &a);
	gpu_buffer_destroy(g, &b);
	return st;
}

/* Times one peak shader, doubling its rounds until one run takes 20 ms so the figure is not
 * launch overhead: *rate is ops_per_group_round * groups * rounds / ns (GFLOP/s for FLOPs). */
static int time_peak(struct gpu *g, const struct gpu_pipeline *p, struct gpu_buffer *out, uint32_t n, uint32_t groups,
                     float b, double ops_per_group_round, double *rate)
{
	struct gpu_timer t = {0};
	int st = gpu_timer_create(g, &t, 2);
	double ns = 0;
	*rate = 0;
	for (uint32_t iters = 16; !st && iters <= (1u << 20); iters *= 2) {
		struct gpu_rec rec = {0};
		struct peak_params pc = {n, iters, b};
		struct gpu_view v = gpu_whole(out);
		uint32_t gx, gy;
		gpu_groups_1d(g, groups, &gx, &gy);
		st = gpu_rec_begin(g, &rec);
		if (!st) {
			gpu_timer_reset(&rec, &t);
			gpu_timestamp(&rec, &t, 0);
			st = gpu_dispatch(&rec, p, &v, 1, &pc, sizeof pc, gx, gy, 1);
			gpu_timestamp(&rec, &t, 1);
		}
		if (!st) st = gpu_rec_end(&rec);
		if (!st) st = time_recording(g, &rec, &t, &ns);
		gpu_rec_destroy(&rec);
		*rate = ns > 0 ? ops_per_group_round * groups * iters / ns : 0;
		if (ns > 20e6) break;
	}
	gpu_timer_destroy(g, &t);
	return st;
}

static int measure_fma(struct gpu *g, double *gflops)
{
	uint32_t n = 1u << 18, wg = 256;
	if (wg > g->profile.max_workgroup_invocations) wg = g->profile.max_workgroup_invocations;
	struct gpu_buffer out;
	TRY(gpu_buffer_create(g, &out, (uint64_t)n * 4, GPU_MEM_DEVICE, "bench.fma"));
	const struct gpu_pipeline *p = NULL;
	uint32_t spec[] = {wg};
	int st = gpu_pipeline_get(g, &p, SH_PEAK_FMA, spec, 1);
	/* 8 vec4 FMA chains an invocation a round: 64 FLOPs */
	if (!st) st = time_peak(g, p, &out, n, n / wg, 0.999f, wg * 64.0, gflops);
	gpu_buffer_destroy(g, &out);
	return st;
}

/* What one dependent dispatch costs: 256 fills of the same 256 floats, each behind a barrier (the
 * recording inserts one where a dispatch writes what the previous wrote), per dispatch. Nearly all
 * of it is the GPU draining, syncing and refilling: a decode step pays it at each of its barriers
 * (bench -m counts them). */
static int measure_dispatch(struct gpu *g, double *us)
{
	enum { N_DISPATCH = 256 };
	struct gpu_buffer buf;
	TRY(gpu_buffer_create(g, &buf, 256 * 4, GPU_MEM_DEVICE, "bench.dispatch"));
	struct bench_rec b;
	int st = bench_begin(g, &b);
	if (!st) gpu_timestamp(&b.rec, &b.t, 0);
	for (int i = 0; !st && i < N_DISPATCH; i++) st = op_fill(&b.rec, gpu_whole(&buf), 256, (float)i);
	if (!st) gpu_timestamp(&b.rec, &b.t, 1);
	double ns = 0;
	st = bench_finish(g, &b, st, &ns);
	gpu_buffer_destroy(g, &buf);
	*us = ns / N_DISPATCH / 1e3;
	return st;
}

/* The matrix units' peak for one operand type (VkComponentTypeKHR: 0 f16 with f32 sums, 3 s8 with
 * s32 sums): the best of every subgroup-scope shape the device lists for it, with 4 subgroups a
 * workgroup and enough workgroups to fill any GPU. 0 where the device has no such shape (or the
 * build has no coopmat shaders). */
static int measure_matrix(struct gpu *g, uint32_t ab_type, double *rate, char *best, size_t best_size)
{
	const struct gpu_profile *pr = &g->profile;
	enum shader_id sh = ab_type == 0 ? SH_PEAK_COOPMAT_F16 : SH_PEAK_COOPMAT_S8;
	uint32_t sum_type = ab_type == 0 ? 1 : 5;
	*rate = 0;
	best[0] = 0;
	if (!pr->coopmat || shader_table[sh].n_words == 0 || (ab_type == 0 ? !pr->fp16 : !pr->int8)) return VKLLM_OK;
	uint32_t wg = 4 * pr->subgroup_size, groups = 4096;
	if (wg > pr->max_workgroup_invocations) return VKLLM_OK;
	for (uint32_t i = 0; i < pr->n_coopmat; i++) {
		const struct gpu_coopmat_shape *c = &pr->coopmat_shapes[i];
		if (!gpu_coopmat_shape_is(c, ab_type, sum_type)) continue;
		uint32_t n = groups * 4 * c->m * c->n;
		struct gpu_buffer out;
		TRY(gpu_buffer_create(g, &out, (uint64_t)n * 4, GPU_MEM_DEVICE, "bench.matrix"));
		const struct gpu_pipeline *p = NULL;
		uint32_t spec[] = {wg, c->m, c->n, c->k};
		double v = 0;
		int st = gpu_pipeline_get(g, &p, sh, spec, 4);
		/* 4 chains of M x N x K multiply-adds per subgroup a round */
		if (!st) st = time_peak(g, p, &out, n, groups, 1.0f / 256, 4.0 * 4 * 2.0 * c->m * c->n * c->k, &v);
		gpu_buffer_destroy(g, &out);
		TRY(st);
		if (v > *rate) *rate = v, snprintf(best, best_size, "%ux%ux%u", c->m, c->n, c->k);
	}
	return VKLLM_OK;
}

struct matmul_case {
	uint32_t rows, k, cols, type;
};

/* Weights: a few rows quantized from random numbers by the real quantizer, tiled over the
 * matrix (the quantizer is too slow for 60 M values and the kernel's speed does not depend on
 * which valid blocks it reads). */
static int fill_weights(struct gpu *g, struct gpu_buffer *w, uint32_t type, uint32_t rows, uint32_t k)
{
	uint64_t row_bytes = quant_row_size(type, k), tile_rows = 16;
	uint8_t *tile = malloc(tile_rows * row_bytes);
	float *row = malloc((size_t)k * 4);
	int st = tile && row ? VKLLM_OK : fail(VKLLM_E_NOMEM, "out of host memory");
	uint64_t seed = 1;
	for (uint64_t r = 0; !st && r < tile_rows; r++) {
		for (uint32_t i = 0; i < k; i++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			row[i] = (float)((int64_t)(seed >> 33) % 2001 - 1000) / 1000.0f;
		}
		st = quant_quantize(type, row, tile + r * row_bytes, k);
	}
	for (uint64_t r = 0; !st && r < rows; r += tile_rows) {
		uint64_t nr = rows - r < tile_rows ? rows - r : tile_rows;
		st = gpu_upload(g, w, r * row_bytes, tile, nr * row_bytes);
	}
	free(tile);
	free(row);
	return st;
}

/* One op_matmul (matvec up to MATMUL_MATVEC_MAX_COLS columns, gemm above): the path the model uses. */
static int measure_matmul(struct gpu *g, const struct matmul_case *c, double *ns)
{
	uint64_t row_bytes = quant_row_size(c->type, c->k), wbytes = row_bytes * c->rows;
	uint64_t xn = (uint64_t)c->k * c->cols;
	struct gpu_buffer w = {0}, x = {0}, y = {0};
	struct bench_rec b = {0};
	int st = gpu_buffer_create(g, &w, (wbytes + 255) / 256 * 256, GPU_MEM_DEVICE, "bench.w");
	if (!st) st = gpu_buffer_create(g, &x, xn * 4, GPU_MEM_DEVICE, "bench.x");
	if (!st) st = gpu_buffer_create(g, &y, (uint64_t)c->rows * c->cols * 4, GPU_MEM_DEVICE, "bench.y");
	if (!st) st = fill_weights(g, &w, c->type, c->rows, c->k);
	if (!st) st = bench_begin(g, &b);
	if (!st) {
		st = op_fill(&b.rec, gpu_whole(&x), (uint32_t)xn, 0.5f);
		gpu_barrier(&b.rec);
		gpu_timestamp(&b.rec, &b.t, 0);
		struct gpu_view wv = {&w, 0, wbytes};
		if (!st) st = op_matmul(&b.rec, gpu_whole(&y), wv, c->type, gpu_whole(&x), c->rows, c->k, c->cols, false);
		gpu_timestamp(&b.rec, &b.t, 1);
	}
	st = bench_finish(g, &b, st, ns);
	gpu_buffer_destroy(g, &w);
	gpu_buffer_destroy(g, &x);
	gpu_buffer_destroy(g, &y);
	return st;
}

/* One token's expert GEMV (op_moe_matvec, the decode path of a MoE layer): n_used distinct experts
 * of a stack of n_exp, each rows x k, read the token's x (the gate and up projections' x_div = k). */
struct moe_mv_case {
	const char *model;
	uint32_t n_exp, n_used, rows, k, type;
};

static int measure_moe_matvec(struct gpu *g, const struct moe_mv_case *c, double *ns)
{
	uint64_t row_bytes = quant_row_size(c->type, c->k), expert_bytes = row_bytes * c->rows;
	uint64_t wbytes = expert_bytes * c->n_exp;
	uint32_t ids[32];
	for (uint32_t j = 0; j < c->n_used && j < 32; j++) ids[j] = (j * 7 + 3) % c->n_exp; /* spread over the stack */
	struct gpu_buffer w = {0}, x = {0}, y = {0}, ib = {0};
	struct bench_rec b = {0};
	int st = c->n_used <= 32 ? VKLLM_OK : fail(VKLLM_E_ARG, "bench: more than 32 experts used");
	if (!st) st = gpu_buffer_create(g, &w, (wbytes + 255) / 256 * 256, GPU_MEM_DEVICE, "bench.experts");
	if (!st) st = gpu_buffer_create(g, &x, (uint64_t)c->k * 4, GPU_MEM_DEVICE, "bench.x");
	if (!st) st = gpu_buffer_create(g, &y, (uint64_t)c->n_used * c->rows * 4, GPU_MEM_DEVICE, "bench.y");
	if (!st) st = gpu_buffer_create(g, &ib, c->n_used * 4ull, GPU_MEM_DEVICE, "bench.ids");
	if (!st) st = gpu_upload(g, &ib, 0, ids, c->n_used * 4ull);
	if (!st) st = fill_weights(g, &w, c->type, c->rows * c->n_exp, c->k);
	if (!st) st = bench_begin(g, &b);
	if (!st) {
		st = op_fill(&b.rec, gpu_whole(&x), c->k, 0.5f);
		gpu_barrier(&b.rec);
		gpu_timestamp(&b.rec, &b.t, 0);
		struct moe_matvec_desc d = {.n_assign = c->n_used, .x_div = c->n_used, .n_rows = c->rows, .n_k = c->k,
		                            .n_exp = c->n_exp};
		struct gpu_view wv = {&w, 0, wbytes};
		if (!st) st = op_moe_matvec(&b.rec, gpu_whole(&y), wv, c->type, gpu_whole(&x), gpu_whole(&ib), &d);
		gpu_timestamp(&b.rec, &b.t, 1);
	}
	st = bench_finish(g, &b, st, ns);
	gpu_buffer_destroy(g, &w), gpu_buffer_destroy(g, &x), gpu_buffer_destroy(g, &y), gpu_buffer_destroy(g, &ib);
	return st;
}

/* The grouped expert GEMM of a MoE prefill chunk (op_moe_gemm): n_tok tokens routed to n_used of
 * n_exp experts, spread evenly (n_tok * n_used / n_exp rows per expert, in expert order), each
 * expert rows x k. */
struct moe_gemm_case {
	const char *name;
	uint32_t n_exp, n_used, n_tok, rows, k, type;
};

static int measure_moe_gemm(struct gpu *g, const struct moe_gemm_case *c, double *ns)
{
	uint64_t row_bytes = quant_row_size(c->type, c->k), expert_bytes = row_bytes * c->rows;
	uint64_t wbytes = expert_bytes * c->n_exp;
	uint32_t n_assign = c->n_tok * c->n_used;
	uint32_t *counts = malloc(c->n_exp * 4ull), *offsets = malloc((c->n_exp + 1) * 4ull);
	struct gpu_buffer w = {0}, x = {0}, y = {0}, cb = {0}, ob = {0};
	struct bench_rec b = {0};
	int st = counts && offsets && c->n_exp && n_assign % c->n_exp == 0 ? VKLLM_OK
	                                                                  : fail(VKLLM_E_ARG, "bench: moe-gemm case");
	for (uint32_t e = 0; !st && e <= c->n_exp; e++) {
		if (e < c->n_exp) counts[e] = n_assign / c->n_exp;
		offsets[e] = e * (n_assign / c->n_exp);
	}
	if (!st) st = gpu_buffer_create(g, &w, (wbytes + 255) / 256 * 256, GPU_MEM_DEVICE, "bench.experts");
	if (!st) st = gpu_buffer_create(g, &x, (uint64_t)n_assign * c->k * 4, GPU_MEM_DEVICE, "bench.x");
	if (!st) st = gpu_buffer_create(g, &y, (uint64_t)n_assign * c->rows * 4, GPU_MEM_DEVICE, "bench.y");
	if (!st) st = gpu_buffer_create(g, &cb, c->n_exp * 4ull, GPU_MEM_DEVICE, "bench.counts");
	if (!st) st = gpu_buffer_create(g, &ob, (c->n_exp + 1) * 4ull, GPU_MEM_DEVICE, "bench.offsets");
	if (!st) st = gpu_upload(g, &cb, 0, counts, c->n_exp * 4ull);
	if (!st) st = gpu_upload(g, &ob, 0, offsets, (c->n_exp + 1) * 4ull);
	if (!st) st = fill_weights(g, &w, c->type, c->rows * c->n_exp, c->k);
	if (!st) st = bench_begin(g, &b);
	if (!st) {
		st = op_fill(&b.rec, gpu_whole(&x), n_assign * c->k, 0.5f);
		gpu_barrier(&b.rec);
		gpu_timestamp(&b.rec, &b.t, 0);
		struct moe_gemm_desc d = {.n_assign = n_assign, .n_rows = c->rows, .n_k = c->k, .n_exp = c->n_exp};
		struct gpu_view wv = {&w, 0, wbytes};
		if (!st) st = op_moe_gemm(&b.rec, gpu_whole(&y), wv, c->type, gpu_whole(&x), gpu_whole(&cb), gpu_whole(&ob), &d);
		gpu_timestamp(&b.rec, &b.t, 1);
	}
	st = bench_finish(g, &b, st, ns);
	gpu_buffer_destroy(g, &w), gpu_buffer_destroy(g, &x), gpu_buffer_destroy(g, &y);
	gpu_buffer_destroy(g, &cb), gpu_buffer_destroy(g, &ob);
	free(counts), free(offsets);
	return st;
}

/* Llama-3-8B attention (32 query heads over 8 KV heads of 128, f16 cache) at 4096 context:
 * decode is one query against 4096 positions, prefill the last 512-token chunk of a 4096 prompt. */
struct attn_case {
	const char *name;
	uint32_t n_q, n_kv;
};
#define ATT_HEADS 32
#define ATT_KV_HEADS 8
#define ATT_DIM 128

/* Key positions the causal mask keeps for the chunk's queries, summed. */
static double attn_pairs(const struct attn_case *c)
{
	double p0 = c->n_kv - c->n_q, pairs = 0;
	for (uint32_t i = 0; i < c->n_q; i++) pairs += p0 + i + 1;
	return pairs;
}

static struct attn_desc attn_case_desc(const struct attn_case *c)
{
	return (struct attn_desc){.n_q = c->n_q, .n_head = ATT_HEADS, .n_head_kv = ATT_KV_HEADS, .head_dim_k = ATT_DIM,
	                          .head_dim_v = ATT_DIM, .n_ctx = c->n_kv, .kv_type = ATTN_KV_F16,
	                          .scale = 0.08838834764f, .step_index = 0};
}

static int measure_attention(struct gpu *g, const struct attn_case *c, double *ns)
{
	struct attn_desc a = attn_case_desc(c);
	uint64_t qn = (uint64_t)c->n_q * ATT_HEADS * ATT_DIM, kvn = (uint64_t)c->n_kv * ATT_KV_HEADS * ATT_DIM;
	uint64_t scratch_bytes = op_attention_scratch_bytes(g, &a);
	uint32_t step[2] = {c->n_kv, c->n_kv - c->n_q};
	struct gpu_buffer q = {0}, k = {0}, v = {0}, o = {0}, sb = {0}, stepb = {0};
	struct bench_rec b = {0};
	int st = gpu_buffer_create(g, &q, qn * 4, GPU_MEM_DEVICE, "bench.q");
	if (!st) st = gpu_buffer_create(g, &o, qn * 4, GPU_MEM_DEVICE, "bench.o");
	if (!st) st = gpu_buffer_create(g, &k, kvn * 2, GPU_MEM_DEVICE, "bench.k");
	if (!st) st = gpu_buffer_create(g, &v, kvn * 2, GPU_MEM_DEVICE, "bench.v");
	if (!st && scratch_bytes) st = gpu_buffer_create(g, &sb, scratch_bytes, GPU_MEM_DEVICE, "bench.scratch");
	if (!st) st = gpu_buffer_create(g, &stepb, sizeof step, GPU_MEM_DEVICE, "bench.step");
	if (!st) st = gpu_upload(g, &stepb, 0, step, sizeof step);
	if (!st) st = bench_begin(g, &b);
	if (!st) {
		/* The f16 caches are filled as f32 words whose bits are two halves 0x3400 (0.25 each). */
		union {
			uint32_t u;
			float f;
		} two_halves = {0x34003400u};
		st = op_fill(&b.rec, gpu_whole(&q), (uint32_t)qn, 0.01f);
		if (!st) st = op_fill(&b.rec, gpu_whole(&k), (uint32_t)(kvn / 2), two_halves.f);
		if (!st) st = op_fill(&b.rec, gpu_whole(&v), (uint32_t)(kvn / 2), two_halves.f);
		gpu_barrier(&b.rec);
		gpu_timestamp(&b.rec, &b.t, 0);
		struct gpu_view none = {0}, scratch = scratch_bytes ? gpu_whole(&sb) : none;
		if (!st) st = op_attention(&b.rec, gpu_whole(&o), scratch, gpu_whole(&q), gpu_whole(&k), gpu_whole(&v), none,
		                           gpu_whole(&stepb), &a);
		gpu_timestamp(&b.rec, &b.t, 1);
	}
	st = bench_finish(g, &b, st, ns);
	gpu_buffer_destroy(g, &q), gpu_buffer_destroy(g, &o), gpu_buffer_destroy(g, &k);
	gpu_buffer_destroy(g, &v), gpu_buffer_destroy(g, &sb), gpu_buffer_destroy(g, &stepb);
	return st;
}

/* DeepSeek V3's absorbed MLA decode: 128 heads over one latent cache of 512 + 64 f16 values a
 * position (op_mla_attention); the per-head absorptions around it are matvecs, measured above. */
#define MLA_HEADS 128
#define MLA_LORA 512
#define MLA_ROPE 64

static int measure_mla(struct gpu *g, const struct attn_case *c, double *ns)
{
	struct mla_attn_desc a = {.n_q = c->n_q, .n_head = MLA_HEADS, .kv_lora = MLA_LORA, .n_pe = MLA_ROPE, .n_ctx = c->n_kv,
	                          .cache_type = ATTN_KV_F16, .scale = 0.0721687836f /* 1/sqrt(192) */};
	uint64_t qa = (uint64_t)c->n_q * MLA_HEADS * MLA_LORA, qp = (uint64_t)c->n_q * MLA_HEADS * MLA_ROPE;
	uint64_t cn = (uint64_t)c->n_kv * (MLA_LORA + MLA_ROPE), scratch_bytes = op_mla_attention_scratch_bytes(g, &a);
	uint32_t step[2] = {c->n_kv, c->n_kv - c->n_q};
	struct gpu_buffer bqa = {0}, bqp = {0}, bc = {0}, bo = {0}, sb = {0}, stepb = {0};
	struct bench_rec b = {0};
	int st = gpu_buffer_create(g, &bqa, qa * 4, GPU_MEM_DEVICE, "bench.q_abs");
	if (!st) st = gpu_buffer_create(g, &bqp, qp * 4, GPU_MEM_DEVICE, "bench.q_pe");
	if (!st) st = gpu_buffer_create(g, &bo, qa * 4, GPU_MEM_DEVICE, "bench.o_lat");
	if (!st) st = gpu_buffer_create(g, &bc, cn * 2, GPU_MEM_DEVICE, "bench.latent");
	if (!st && scratch_bytes) st = gpu_buffer_create(g, &sb, scratch_bytes, GPU_MEM_DEVICE, "bench.scratch");
	if (!st) st = gpu_buffer_create(g, &stepb, sizeof step, GPU_MEM_DEVICE, "bench.step");
	if (!st) st = gpu_upload(g, &stepb, 0, step, sizeof step);
	if (!st) st = bench_begin(g, &b);
	if (!st) {
		union {
			uint32_t u;
			float f;
		} two_halves = {0x34003400u}; /* the f16 cache as pairs of 0.25 */
		st = op_fill(&b.rec, gpu_whole(&bqa), (uint32_t)qa, 0.01f);
		if (!st) st = op_fill(&b.rec, gpu_whole(&bqp), (uint32_t)qp, 0.01f);
		if (!st) st = op_fill(&b.rec, gpu_whole(&bc), (uint32_t)(cn / 2), two_halves.f);
		gpu_barrier(&b.rec);
		gpu_timestamp(&b.rec, &b.t, 0);
		struct gpu_view none = {0}, scratch = scratch_bytes ? gpu_whole(&sb) : none;
		if (!st)
			st = op_mla_attention(&b.rec, gpu_whole(&bo), scratch, gpu_whole(&bqa), gpu_whole(&bqp), gpu_whole(&bc),
			                      gpu_whole(&stepb), &a);
		gpu_timestamp(&b.rec, &b.t, 1);
	}
	st = bench_finish(g, &b, st, ns);
	gpu_buffer_destroy(g, &bqa), gpu_buffer_destroy(g, &bqp), gpu_buffer_destroy(g, &bo);
	gpu_buffer_destroy(g, &bc), gpu_buffer_destroy(g, &sb), gpu_buffer_destroy(g, &stepb);
	return st;
}

/* Gated DeltaNet in Qwen3-Next's shape (80B-A3B: 16 key heads, 32 value heads, Dk = Dv = 128, conv
 * over q | k | v = 2*16*128 + 32*128 = 8192 channels, kernel 4), laid out as the model runs it: q, k
 * and v read straight out of the conv output [T][8192], q and k L2-normed by the op, o [T][32*128].
 *
 * Bytes: the recurrent step reads and writes the state once (2 x 32 x 128 x 128 x 4 = 4 MiB) and per
 * token reads q, k (16 x 128 floats each), v (32 x 128), g and beta (32 each) and writes o (32 x 128);
 * the prefill rows count the same (state once, the scratch of the chunked form not counted); the
 * conv reads x and its weights [8192][4], reads and writes the state (3 x 8192), writes y.
 *
 * FLOPs, per token and value head (the exps, the L2 norms' square roots, scalars per row ignored):
 *   recurrent (gdn_recurrent.comp): S *= e^g (Dk Dv), S^T k (2 Dk Dv), S += k d^T (2 Dk Dv),
 *     o = S^T q (2 Dk Dv), the q and k norms (4 Dk): 7 Dk Dv + 4 Dk
 *   chunked, per chunk of C = 64 tokens and value head (a partial last chunk costs a whole one: the
 *   shaders pad it with zeros):
 *     gdn_chunk_prep.comp: the q and k norms 4 C Dk; k_i.k_j and q_i.k_j for j <= i, 2 x 2 Dk x
 *       C(C+1)/2 = 2 Dk C(C+1); the forward substitution (I + L) [U | W] = [beta v | beta e^G k]
 *       over Dv + Dk columns of C(C-1)/2 FMAs each: (Dk + Dv) C(C-1)
 *     gdn_chunk_scan.comp: Vn = U - W S (2 C Dk Dv), q S (2 C Dk Dv), P Vn with P lower
 *       triangular (Dv C(C+1)), S += (e^{..} k)^T Vn (2 C Dk Dv)
 *     6 C Dk Dv + (2 Dk + Dv) C(C+1) + (Dk + Dv) C(C-1) + 4 C Dk = 8.95 M at Qwen3-Next's shape,
 *     140 K per token and head against the recurrent form's 115 K (1.21x the work, but matmul-shaped)
 *   conv: 2 K per channel and token (and a SiLU)
 *
 * Kimi Linear's KDA (kda-* rows; 32 key = 32 value heads, Dk = Dv = 128, q | k | v 12288 wide): the
 * gate is per channel, g [T][32][128]. Here each exp counts as one FLOP, since the per-channel form
 * spends Dk of them where the scalar one spends one.
 *   Bytes: as above with Hk = 32, plus g's Dk floats per token and head: the decode step reads and
 *     writes the 4 MiB state and moves 4 (4 x 4096 + 32 x 128 + 32) = 80.1 KiB of q, k, v, o, g, beta.
 *   recurrent: 7 Dk Dv + 4 Dk as above, plus Dk exps: 7 Dk Dv + 5 Dk = 115.3 K per token and head.
 *   chunked, per chunk and value head:
 *     gdn_chunk_prep.comp: the norms 4 C Dk; the cumulative gates C Dk; QD = qf e^G o q and
 *       KD = kf e^{G_last - G} o k, 3 + 4 a channel: 7 C Dk; the pairwise L and P terms, for j <= i
 *       and every channel a subtraction, an exp, e k_j and two FMAs: 7 Dk C(C+1)/2 = 3.5 Dk C(C+1);
 *       the forward substitution (Dk + Dv) C(C-1) and the e^G of W's right side, C Dk
 *     gdn_chunk_scan.comp: as the scalar form (QD and KD replace q and e^.. k): 6 C Dk Dv + Dv C(C+1)
 *     6 C Dk Dv + (3.5 Dk + Dv) C(C+1) + (Dk + Dv) C(C-1) + 13 C Dk = 9.83 M, 154 K per token and
 *     head (1.33x the recurrent form; the pairwise exps are 0.27 M of it) */
#define GDN_HK 16
#define GDN_HV 32
#define GDN_D 128
#define GDN_C (2 * GDN_HK * GDN_D + GDN_HV * GDN_D)
#define GDN_KCONV 4
#define GDN_CHUNK_T 64

enum gdn_kernel { GDN_RECURRENT, GDN_CHUNKED, GDN_CONV };

#define KDA_H 32 /* Kimi Linear: key heads = value heads */

struct gdn_case {
	enum gdn_kernel kernel;
	const char *name;
	uint32_t n_tokens;
	bool cpu_skip; /* minutes on a CPU device */
	bool kda;      /* Kimi Linear's shape and per-channel gate (not the conv) */
};

static uint32_t gdn_hk(const struct gdn_case *c) { return c->kda ? KDA_H : GDN_HK; }
static uint32_t gdn_width(const struct gdn_case *c) { return 2 * gdn_hk(c) * GDN_D + GDN_HV * GDN_D; }

static double gdn_flops(const struct gdn_case *c)
{
	double T = c->n_tokens, Dk = GDN_D, Dv = GDN_D, C = GDN_CHUNK_T;
	if (c->kernel == GDN_CONV) return 2.0 * GDN_KCONV * GDN_C * T;
	if (c->kernel == GDN_RECURRENT) return T * GDN_HV * (7 * Dk * Dv + (c->kda ? 5 : 4) * Dk);
	double chunks = (c->n_tokens + GDN_CHUNK_T - 1) / GDN_CHUNK_T;
	if (c->kda)
		return chunks * GDN_HV * (6 * C * Dk * Dv + (3.5 * Dk + Dv) * C * (C + 1) + (Dk + Dv) * C * (C - 1) + 13 * C * Dk);
	return chunks * GDN_HV * (6 * C * Dk * Dv + (2 * Dk + Dv) * C * (C + 1) + (Dk + Dv) * C * (C - 1) + 4 * C * Dk);
}

static double gdn_bytes(const struct gdn_case *c)
{
	double T = c->n_tokens, gw = c->kda ? GDN_D : 1;
	if (c->kernel == GDN_CONV) return 4.0 * (2 * T * GDN_C + GDN_KCONV * GDN_C + 2.0 * (GDN_KCONV - 1) * GDN_C);
	return 4.0 * (2.0 * GDN_HV * GDN_D * GDN_D +
	              T * (2.0 * gdn_hk(c) * GDN_D + 2 * GDN_HV * GDN_D + GDN_HV * gw + GDN_HV));
}

static int measure_gdn(struct gpu *g, const struct gdn_case *c, double *ns)
{
	uint32_t T = c->n_tokens, out_n = c->kernel == GDN_CONV ? T * GDN_C : T * GDN_HV * GDN_D;
	uint32_t state_n = c->kernel == GDN_CONV ? (GDN_KCONV - 1) * GDN_C : GDN_HV * GDN_D * GDN_D;
	uint32_t hk = gdn_hk(c), xw = c->kernel == GDN_CONV ? GDN_C : gdn_width(c), g_n = T * GDN_HV * (c->kda ? GDN_D : 1);
	struct gdn_desc d = {.n_tokens = T, .n_head_k = hk, .n_head_v = GDN_HV, .head_dim_k = GDN_D,
	                     .head_dim_v = GDN_D, .gate_per_channel = c->kda, .qk_l2norm = true, .l2_eps = 1e-6f,
	                     .scale = 0.08838834764f, .q_stride = xw, .k_stride = xw, .v_stride = xw};
	uint64_t scratch_bytes = c->kernel == GDN_CHUNKED ? op_gdn_chunked_scratch_bytes(&d) : 0;
	uint64_t xb = (uint64_t)T * xw * 4;
	struct gpu_buffer x = {0}, o = {0}, st_b = {0}, gb = {0}, bb = {0}, w = {0}, sb = {0};
	struct bench_rec b = {0};
	int st = gpu_buffer_create(g, &x, xb, GPU_MEM_DEVICE, "bench.gdn.x");
	if (!st) st = gpu_buffer_create(g, &o, (uint64_t)out_n * 4, GPU_MEM_DEVICE, "bench.gdn.o");
	if (!st) st = gpu_buffer_create(g, &st_b, (uint64_t)state_n * 4, GPU_MEM_DEVICE, "bench.gdn.state");
	if (!st) st = gpu_buffer_create(g, &gb, (uint64_t)g_n * 4, GPU_MEM_DEVICE, "bench.gdn.g");
	if (!st) st = gpu_buffer_create(g, &bb, (uint64_t)T * GDN_HV * 4, GPU_MEM_DEVICE, "bench.gdn.beta");
	if (!st) st = gpu_buffer_create(g, &w, (uint64_t)GDN_C * GDN_KCONV * 4, GPU_MEM_DEVICE, "bench.gdn.w");
	if (!st && scratch_bytes) st = gpu_buffer_create(g, &sb, scratch_bytes, GPU_MEM_DEVICE, "bench.gdn.scratch");
	if (!st) st = bench_begin(g, &b);
	if (!st) {
		/* the state starts from zeros at every replay; a decay of e^-0.05 and beta 0.5 keep it bounded */
		st = op_fill(&b.rec, gpu_whole(&x), T * xw, 0.01f);
		if (!st) st = op_fill(&b.rec, gpu_whole(&st_b), state_n, 0.0f);
		if (!st) st = op_fill(&b.rec, gpu_whole(&gb), g_n, -0.05f);
		if (!st) st = op_fill(&b.rec, gpu_whole(&bb), T * GDN_HV, 0.5f);
		if (!st) st = op_fill(&b.rec, gpu_whole(&w), GDN_C * GDN_KCONV, 0.25f);
		gpu_barrier(&b.rec);
		gpu_timestamp(&b.rec, &b.t, 0);
		struct gpu_view q = {&x, 0, xb}, k = {&x, hk * GDN_D * 4, xb - hk * GDN_D * 4};
		struct gpu_view v = {&x, 2 * hk * GDN_D * 4, xb - 2 * hk * GDN_D * 4};
		if (!st && c->kernel == GDN_CONV)
			st = op_gdn_conv(&b.rec, gpu_whole(&o), gpu_whole(&st_b), gpu_whole(&x), gpu_whole(&w), T, GDN_C, GDN_KCONV, 0, 0);
		else if (!st && c->kernel == GDN_RECURRENT)
			st = op_gdn_recurrent(&b.rec, gpu_whole(&o), gpu_whole(&st_b), q, k, v, gpu_whole(&gb), gpu_whole(&bb), &d);
		else if (!st)
			st = op_gdn_chunked(&b.rec, gpu_whole(&o), gpu_whole(&st_b), gpu_whole(&sb), q, k, v, gpu_whole(&gb),
			                    gpu_whole(&bb), &d);
		gpu_timestamp(&b.rec, &b.t, 1);
	}
	st = bench_finish(g, &b, st, ns);
	gpu_buffer_destroy(g, &x), gpu_buffer_destroy(g, &o), gpu_buffer_destroy(g, &st_b), gpu_buffer_destroy(g, &gb);
	gpu_buffer_destroy(g, &bb), gpu_buffer_destroy(g, &w), gpu_buffer_destroy(g, &sb);
	return st;
}

struct report {
	bool as_json;
	struct json j;
	FILE *out;
	double copy_gbs, fma_gflops;
	double matrix_gflops, matrix_s8_gops; /* 0 without matrix units */
	double dispatch_us;
};

/* One row: achieved figures and the share of the peak the kernel is bound by. */
static void report_row(struct report *r, const char *kernel, const char *type, const char *shape, double ns,
                       double bytes, double flops, bool compute_bound)
{
	double gbs = bytes / ns, gflops = flops / ns;
	/* compute-bound kernels are judged against the matrix units where the device has them (a
	 * kernel that leaves them idle leaves most of the device idle), and against FMA otherwise */
	bool matrix = compute_bound && r->matrix_gflops > 0;
	double peak = !compute_bound ? r->copy_gbs : matrix ? r->matrix_gflops : r->fma_gflops;
	double pct = 100.0 * (compute_bound ? gflops : gbs) / peak;
	if (r->as_json) {
		struct json *j = &r->j;
		json_object_begin(j);
		json_key(j, "kernel"), json_string(j, kernel);
		json_key(j, "type"), json_string(j, type);
		json_key(j, "shape"), json_string(j, shape);
		json_key(j, "ms"), json_double(j, ns / 1e6);
		json_key(j, "gbs"), json_double(j, gbs);
		json_key(j, "gflops"), json_double(j, gflops);
		json_key(j, !compute_bound ? "pct_copy" : matrix ? "pct_matrix" : "pct_fma"), json_double(j, pct);
		if (matrix) json_key(j, "pct_fma"), json_double(j, 100.0 * gflops / r->fma_gflops);
		json_object_end(j);
	} else {
		fprintf(r->out, "%-10s %-6s %-20s %10.3f %10.2f %10.2f %6.1f%% %s\n", kernel, type, shape, ns / 1e6, gbs, gflops,
		        pct, !compute_bound ? "copy" : matrix ? "matrix" : "fma");
	}
	fflush(r->out);
}

int bench_kernels(struct gpu *g, bool as_json, const char *only, FILE *out)
{
	struct report r = {.as_json = as_json, .out = out};
	const char *slow = getenv("VKLLM_BENCH_SLOW");
	bool skip_slow = gpu_is_cpu(g) && !(slow && !strcmp(slow, "1"));
	TRY(measure_copy(g, &r.copy_gbs));
	TRY(measure_fma(g, &r.fma_gflops));
	char f16_shape[32], s8_shape[32];
	TRY(measure_matrix(g, 0, &r.matrix_gflops, f16_shape, sizeof f16_shape));
	TRY(measure_matrix(g, 3, &r.matrix_s8_gops, s8_shape, sizeof s8_shape));
	TRY(measure_dispatch(g, &r.dispatch_us));
	/* decode GEMVs of real models: attention/FFN of an 8B (4096 wide, FFN 14336), Qwen3's LM
	 * head (151936 x 1024) and Qwen3-0.6B's small projections (1024 wide, FFN 3072); then the same 4096x4096 weights against a 512-token prefill chunk */
	static const struct matmul_case cases[] = {
		{4096, 4096, 1, QT_Q8_0},   {4096, 4096, 1, QT_Q4_K},   {4096, 4096, 1, QT_F16},    {4096, 4096, 1, QT_Q6_K},
		{4096, 4096, 1, QT_Q4_0},   {14336, 4096, 1, QT_Q8_0},  {14336, 4096, 1, QT_Q4_K},  {4096, 14336, 1, QT_Q8_0},
		{151936, 1024, 1, QT_Q8_0}, {151936, 1024, 1, QT_Q4_K}, {1024, 1024, 1, QT_Q8_0},   {3072, 1024, 1, QT_Q8_0},
		{1024, 3072, 1, QT_Q8_0},   {4096, 4096, 512, QT_Q8_0}, {4096, 4096, 512, QT_Q4_K},
		{4096, 4096, 512, QT_F16},
		/* MXFP4 (gpt-oss's expert type): the same 8B shapes, and gpt-oss's own width (2880) */
		{4096, 4096, 1, QT_MXFP4},  {14336, 4096, 1, QT_MXFP4}, {4096, 14336, 1, QT_MXFP4}, {2880, 2880, 1, QT_MXFP4},
	};
	static const struct attn_case attn_cases[] = {{"decode", 1, 4096}, {"prefill", 512, 4096}};
	if (as_json) {
		json_init(&r.j, out);
		json_object_begin(&r.j);
		json_key(&r.j, "device"), json_string(&r.j, g->profile.name);
		json_key(&r.j, "driver"), json_string(&r.j, g->profile.driver_info);
		json_key(&r.j, "copy_gbs"), json_double(&r.j, r.copy_gbs);
		json_key(&r.j, "fma_gflops"), json_double(&r.j, r.fma_gflops);
		if (r.matrix_gflops > 0) {
			json_key(&r.j, "matrix_f16_gflops"), json_double(&r.j, r.matrix_gflops);
			json_key(&r.j, "matrix_f16_shape"), json_string(&r.j, f16_shape);
		}
		if (r.matrix_s8_gops > 0) {
			json_key(&r.j, "matrix_s8_gops"), json_double(&r.j, r.matrix_s8_gops);
			json_key(&r.j, "matrix_s8_shape"), json_string(&r.j, s8_shape);
		}
		json_key(&r.j, "dependent_dispatch_us"), json_double(&r.j, r.dispatch_us);
		json_key(&r.j, "kernels");
		json_array_begin(&r.j);
	} else {
		fprintf(out, "device: %s (%s %s)\n", g->profile.name, g->profile.driver_name, g->profile.driver_info);
		fprintf(out, "peaks measured with vkllm's shaders: copy %.1f GB/s, f32 FMA %.1f GFLOP/s", r.copy_gbs, r.fma_gflops);
		if (r.matrix_gflops > 0) fprintf(out, ", matrix f16 %.1f GFLOP/s (%s)", r.matrix_gflops, f16_shape);
		if (r.matrix_s8_gops > 0) fprintf(out, ", matrix s8 %.1f GOP/s (%s)", r.matrix_s8_gops, s8_shape);
		fprintf(out, r.matrix_gflops > 0 ? "\nprefill kernels are judged against the f16 matrix peak\n"
		                                 : "\n(no matrix units: prefill kernels are judged against the FMA peak)\n");
		fprintf(out, "a dependent dispatch (a tiny kernel behind a barrier) costs %.2f us\n\n", r.dispatch_us);
		fprintf(out, "%-10s %-6s %-20s %10s %10s %10s %7s\n", "kernel", "type", "shape", "time ms", "GB/s", "GFLOP/s",
		        "% peak");
	}
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct matmul_case *c = &cases[i];
		bool gemm = c->cols > MATMUL_MATVEC_MAX_COLS;
		if (only && strcmp(only, gemm ? "gemm" : "matvec")) continue;
		double ns = 0;
		TRY(measure_matmul(g, c, &ns));
		double bytes = (double)quant_row_size(c->type, c->k) * c->rows + 4.0 * c->k * c->cols + 4.0 * c->rows * c->cols;
		char shape[48];
		snprintf(shape, sizeof shape, "%ux%u x%u", c->rows, c->k, c->cols);
		report_row(&r, gemm ? (op_gemm_uses_coopmat(g, c->type) ? "gemm-cm" : "gemm") : "matvec", quant_type_info(c->type)->name, shape, ns, bytes,
		           2.0 * c->rows * c->k * c->cols, gemm);
	}
	/* expert GEMVs of one decode token (listed under --only matvec): gpt-oss-20b's experts, 32 of
	 * 2880 x 2880 in MXFP4 with 4 chosen (the stack is 141 MB: more than one binding on lavapipe,
	 * so op_moe_matvec runs it in parts) */
	static const struct moe_mv_case moe_cases[] = {{"gpt-oss-20b", 32, 4, 2880, 2880, QT_MXFP4}};
	for (size_t i = 0; i < sizeof moe_cases / sizeof moe_cases[0]; i++) {
		const struct moe_mv_case *c = &moe_cases[i];
		if (only && strcmp(only, "matvec")) continue;
		double ns = 0;
		TRY(measure_moe_matvec(g, c, &ns));
		double bytes = (double)quant_row_size(c->type, c->k) * c->rows * c->n_used + 4.0 * c->k + 4.0 * c->rows * c->n_used;
		char shape[48];
		snprintf(shape, sizeof shape, "%ux%ux%u top%u", c->n_exp, c->rows, c->k, c->n_used);
		report_row(&r, "moe-mv", quant_type_info(c->type)->name, shape, ns, bytes, 2.0 * c->rows * c->k * c->n_used, false);
	}
	/* the grouped expert GEMM of a 512-token prefill chunk (listed under --only gemm): Qwen3-30B-A3B's
	 * gate projection, 128 experts of 768 x 2048, 8 chosen a token (32 rows an expert); on a CPU
	 * device 64 tokens (the full chunk takes minutes there) */
	static const struct moe_gemm_case moe_gemm_cases[] = {{"qwen3-30b-a3b", 128, 8, 512, 768, 2048, QT_Q4_K}};
	for (size_t i = 0; i < sizeof moe_gemm_cases / sizeof moe_gemm_cases[0]; i++) {
		struct moe_gemm_case c = moe_gemm_cases[i];
		if (only && strcmp(only, "gemm")) continue;
		if (skip_slow) c.n_tok = 64;
		double ns = 0;
		TRY(measure_moe_gemm(g, &c, &ns));
		uint32_t n_assign = c.n_tok * c.n_used;
		double bytes = (double)quant_row_size(c.type, c.k) * c.rows * c.n_exp + 4.0 * n_assign * (c.k + c.rows);
		char shape[48];
		snprintf(shape, sizeof shape, "%ux%ux%u x%u top%u", c.n_exp, c.rows, c.k, c.n_tok, c.n_used);
		report_row(&r, op_moe_gemm_uses_coopmat(g, c.type) ? "moe-gemm-cm" : "moe-gemm", quant_type_info(c.type)->name, shape,
		           ns, bytes, 2.0 * c.rows * c.k * n_assign, true);
	}
	for (size_t i = 0; i < sizeof attn_cases / sizeof attn_cases[0]; i++) {
		const struct attn_case *c = &attn_cases[i];
		if (only && strcmp(only, "attention")) continue;
		double ns = 0;
		TRY(measure_attention(g, c, &ns));
		double pairs = attn_pairs(c), kv_bytes = (double)c->n_kv * ATT_KV_HEADS * ATT_DIM * 2 * 2;
		double bytes = kv_bytes + 2.0 * 4 * c->n_q * ATT_HEADS * ATT_DIM;
		char shape[48];
		snprintf(shape, sizeof shape, "%s %ux%u", c->name, c->n_q, c->n_kv);
		struct attn_desc ad = attn_case_desc(c);
		report_row(&r, op_attention_uses_cm(g, &ad) ? "attn-cm" : "attention", "f16", shape, ns, bytes,
		           pairs * ATT_HEADS * 2.0 * (2 * ATT_DIM), c->n_q > 1);
	}
	/* MLA decode at 4096 and 32768 cached positions, and a 128-token prefill chunk at the end of 4096
	 * (128 x 128 heads of 512 latent floats is 32 MiB of q_abs, within every device's binding) */
	static const struct attn_case mla_cases[] = {{"decode", 1, 4096}, {"decode", 1, 32768}, {"prefill", 128, 4096}};
	for (size_t i = 0; i < sizeof mla_cases / sizeof mla_cases[0]; i++) {
		const struct attn_case *c = &mla_cases[i];
		if (only && strcmp(only, "mla")) continue;
		/* the absorbed prefill is 2 x 10^11 FLOPs here: minutes on a CPU device, where a prefill
		 * chunk of MLA takes the decompressed form anyway (docs/mla.md); VKLLM_BENCH_SLOW=1 runs it */
		if (c->n_q > 1 && skip_slow) continue;
		double ns = 0;
		TRY(measure_mla(g, c, &ns));
		double pairs = attn_pairs(c), cache_bytes = (double)c->n_kv * (MLA_LORA + MLA_ROPE) * 2;
		double bytes = cache_bytes + 4.0 * c->n_q * MLA_HEADS * (2 * MLA_LORA + MLA_ROPE);
		char shape[48];
		snprintf(shape, sizeof shape, "%s %ux%u", c->name, c->n_q, c->n_kv);
		/* 128 heads make even decode compute-bound: 2 (2 x 512 + 64) x 128 FLOPs for each 1152-byte
		 * cache row, 242 FLOPs a byte, past the ridge of every device (H100 f32: ~11); judged by the
		 * peak the row's intensity meets first */
		double flops = pairs * MLA_HEADS * 2.0 * (2 * MLA_LORA + MLA_ROPE);
		report_row(&r, "mla", "f16", shape, ns, bytes, flops, flops / bytes > (r.matrix_gflops > 0 ? r.matrix_gflops : r.fma_gflops) / r.copy_gbs);
	}
	/* Gated DeltaNet (Qwen3-Next): the decode step and the conv are judged against the copy peak,
	 * prefill against the FMA peak; the recurrent prefill rows are the chunked form's comparison.
	 * The 4096-token rows take 30-55 s a run on lavapipe (2 vCPUs), minutes with the replays: skipped
	 * on CPU devices unless VKLLM_BENCH_SLOW=1 (the 512-token rows say the same per token there,
	 * where the work is linear in the chunks) */
	static const struct gdn_case gdn_cases[] = {
		{GDN_RECURRENT, "decode", 1, false, false},   {GDN_CONV, "decode", 1, false, false},
		{GDN_CONV, "prefill", 512, false, false},     {GDN_CHUNKED, "prefill", 512, false, false},
		{GDN_CHUNKED, "prefill", 4096, true, false},  {GDN_RECURRENT, "prefill", 512, false, false},
		{GDN_RECURRENT, "prefill", 4096, true, false},
		/* Kimi Linear's KDA: decode, chunked prefill and its recurrent comparison */
		{GDN_RECURRENT, "decode", 1, false, true},    {GDN_CHUNKED, "prefill", 512, false, true},
		{GDN_RECURRENT, "prefill", 512, false, true},
	};
	for (size_t i = 0; i < sizeof gdn_cases / sizeof gdn_cases[0]; i++) {
		const struct gdn_case *c = &gdn_cases[i];
		if (only && strcmp(only, "gdn")) continue;
		static const char *const names[] = {"gdn-rec", "gdn-chunk", "gdn-conv"};
		static const char *const kda_names[] = {"kda-rec", "kda-chunk", "kda-conv"};
		const char *name = (c->kda ? kda_names : names)[c->kernel];
		char shape[48];
		snprintf(shape, sizeof shape, "%s %u", c->name, c->n_tokens);
		if (c->cpu_skip && skip_slow) {
			if (!as_json)
				fprintf(out, "%-10s %-6s %-20s skipped on CPU devices (minutes; VKLLM_BENCH_SLOW=1 runs it)\n",
				        name, "f32", shape);
			continue;
		}
		double ns = 0;
		TRY(measure_gdn(g, c, &ns));
		report_row(&r, name, "f32", shape, ns, gdn_bytes(c), gdn_flops(c), c->n_tokens > 1 && c->kernel != GDN_CONV);
	}
	if (as_json) {
		json_array_end(&r.j);
		json_object_end(&r.j);
		fputc('\n', out);
	}
	return VKLLM_OK;
}
