/* `vkllm bench --kernels`: the device's own peaks, measured with vkllm's shaders (as vkpeak does),
 * then each kernel on LLM-sized shapes as a share of them. Times are GPU timestamps around one
 * dispatch (or one op), the median of several replays of the same recording after a warm-up.
 *
 * Bytes counted (the figure a memory-bound kernel is judged by):
 *   copy:   reads n*4 + writes n*4
 *   matvec: reads the weights (rows * row_bytes) + x (k*4) + writes y (rows*4) */
#include "bench/kernels.h"

#include <stdlib.h>
#include <string.h>

#include "../shaders/abi.h"
#include "base/json.h"
#include "base/status.h"
#include "loader/quant.h"
#include "ops/ops.h"

#define REPEATS 7

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Replays rec REPEATS times after one warm-up; the median time between stamps 0 and 1. */
static int time_recording(struct gpu *g, struct gpu_rec *rec, struct gpu_timer *t, double *ns)
{
	double v[REPEATS];
	TRY(gpu_rec_submit_wait(rec));
	for (int i = 0; i < REPEATS; i++) {
		TRY(gpu_rec_submit_wait(rec));
		TRY(gpu_timer_elapsed_ns(g, t, 0, 1, &v[i]));
	}
	qsort(v, REPEATS, sizeof v[0], cmp_double);
	*ns = v[REPEATS / 2];
	return VKLLM_OK;
}

static int measure_copy(struct gpu *g, double *gbs)
{
	uint64_t bytes = 64ull << 20;
	if (bytes > g->profile.max_storage_buffer_range) bytes = g->profile.max_storage_buffer_range / 4 * 4;
	uint32_t n = (uint32_t)(bytes / 4);
	struct gpu_buffer a, b;
	struct gpu_rec rec = {0};
	struct gpu_timer t = {0};
	int st = gpu_buffer_create(g, &a, bytes, GPU_MEM_DEVICE, "bench.copy.src");
	if (!st) st = gpu_buffer_create(g, &b, bytes, GPU_MEM_DEVICE, "bench.copy.dst");
	if (!st) st = gpu_timer_create(g, &t, 2);
	if (!st) st = gpu_rec_begin(g, &rec);
	if (!st) {
		gpu_timer_reset(&rec, &t);
		st = op_fill(&rec, gpu_whole(&a), n, 1.0f);
		gpu_barrier(&rec);
		gpu_timestamp(&rec, &t, 0);
		if (!st) st = op_copy(&rec, gpu_whole(&b), gpu_whole(&a), n, COPY_OUT_F32);
		gpu_timestamp(&rec, &t, 1);
	}
	if (!st) st = gpu_rec_end(&rec);
	double ns = 0;
	if (!st) st = time_recording(g, &rec, &t, &ns);
	*gbs = ns > 0 ? 2.0 * (double)bytes / ns : 0;
	gpu_rec_destroy(&rec);
	gpu_timer_destroy(g, &t);
	gpu_buffer_destroy(g, &a);
	gpu_buffer_destroy(g, &b);
	return st;
}

/* Doubles the work until one run takes 20 ms, so the figure is not launch overhead. */
static int measure_fma(struct gpu *g, double *gflops)
{
	uint32_t n = 1u << 18, wg = 256;
	if (wg > g->profile.max_workgroup_invocations) wg = g->profile.max_workgroup_invocations;
	struct gpu_buffer out;
	TRY(gpu_buffer_create(g, &out, (uint64_t)n * 4, GPU_MEM_DEVICE, "bench.fma"));
	struct gpu_timer t = {0};
	int st = gpu_timer_create(g, &t, 2);
	const struct gpu_pipeline *p = NULL;
	uint32_t spec[] = {wg};
	if (!st) st = gpu_pipeline_get(g, &p, SH_PEAK_FMA, spec, 1);
	double ns = 0;
	for (uint32_t iters = 16; !st && iters <= (1u << 20); iters *= 2) {
		struct gpu_rec rec = {0};
		struct peak_params pc = {n, iters, 0.999f};
		struct gpu_view v = gpu_whole(&out);
		uint32_t gx, gy;
		gpu_groups_1d(g, n / wg, &gx, &gy);
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
		*gflops = ns > 0 ? (double)n * iters * 64.0 / ns : 0;
		if (ns > 20e6) break;
	}
	gpu_timer_destroy(g, &t);
	gpu_buffer_destroy(g, &out);
	return st;
}

struct matvec_case {
	uint32_t rows, k, type;
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

static int measure_matvec(struct gpu *g, const struct matvec_case *c, double *ns)
{
	uint64_t row_bytes = quant_row_size(c->type, c->k), wbytes = row_bytes * c->rows;
	struct gpu_buffer w = {0}, x = {0}, y = {0};
	struct gpu_rec rec = {0};
	struct gpu_timer t = {0};
	int st = gpu_buffer_create(g, &w, (wbytes + 255) / 256 * 256, GPU_MEM_DEVICE, "bench.w");
	if (!st) st = gpu_buffer_create(g, &x, (uint64_t)c->k * 4, GPU_MEM_DEVICE, "bench.x");
	if (!st) st = gpu_buffer_create(g, &y, (uint64_t)c->rows * 4, GPU_MEM_DEVICE, "bench.y");
	if (!st) st = fill_weights(g, &w, c->type, c->rows, c->k);
	if (!st) st = gpu_timer_create(g, &t, 2);
	if (!st) st = gpu_rec_begin(g, &rec);
	if (!st) {
		gpu_timer_reset(&rec, &t);
		st = op_fill(&rec, gpu_whole(&x), c->k, 0.5f);
		gpu_barrier(&rec);
		gpu_timestamp(&rec, &t, 0);
		struct gpu_view wv = {&w, 0, wbytes};
		if (!st) st = op_matvec(&rec, gpu_whole(&y), wv, c->type, gpu_whole(&x), c->rows, c->k, 1, false);
		gpu_timestamp(&rec, &t, 1);
	}
	if (!st) st = gpu_rec_end(&rec);
	if (!st) st = time_recording(g, &rec, &t, ns);
	gpu_rec_destroy(&rec);
	gpu_timer_destroy(g, &t);
	gpu_buffer_destroy(g, &w);
	gpu_buffer_destroy(g, &x);
	gpu_buffer_destroy(g, &y);
	return st;
}

int bench_kernels(struct gpu *g, bool as_json, FILE *out)
{
	double copy_gbs = 0, fma_gflops = 0;
	TRY(measure_copy(g, &copy_gbs));
	TRY(measure_fma(g, &fma_gflops));
	/* decode GEMVs of real models: attention/FFN of an 8B (4096 wide, FFN 14336) and Qwen3's
	 * LM head (151936 x 1024) */
	static const struct matvec_case cases[] = {
		{4096, 4096, QT_Q8_0},   {4096, 4096, QT_Q4_K},   {4096, 4096, QT_F16},  {4096, 4096, QT_Q6_K},
		{4096, 4096, QT_Q4_0},   {14336, 4096, QT_Q8_0},  {14336, 4096, QT_Q4_K}, {4096, 14336, QT_Q8_0},
		{151936, 1024, QT_Q8_0}, {151936, 1024, QT_Q4_K},
	};
	struct json j;
	if (as_json) {
		json_init(&j, out);
		json_object_begin(&j);
		json_key(&j, "device"), json_string(&j, g->profile.name);
		json_key(&j, "driver"), json_string(&j, g->profile.driver_info);
		json_key(&j, "copy_gbs"), json_double(&j, copy_gbs);
		json_key(&j, "fma_gflops"), json_double(&j, fma_gflops);
		json_key(&j, "kernels");
		json_array_begin(&j);
	} else {
		fprintf(out, "device: %s (%s %s)\n", g->profile.name, g->profile.driver_name, g->profile.driver_info);
		fprintf(out, "peaks measured with vkllm's shaders: copy %.1f GB/s, f32 FMA %.1f GFLOP/s\n\n", copy_gbs, fma_gflops);
		fprintf(out, "%-8s %-8s %-16s %10s %10s %10s %8s\n", "kernel", "type", "shape", "time ms", "GB/s", "GFLOP/s", "% copy");
	}
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct matvec_case *c = &cases[i];
		double ns = 0;
		TRY(measure_matvec(g, c, &ns));
		double bytes = (double)quant_row_size(c->type, c->k) * c->rows + 4.0 * c->k + 4.0 * c->rows;
		double gbs = bytes / ns, gflops = 2.0 * c->rows * c->k / ns, pct = 100.0 * gbs / copy_gbs;
		char shape[32];
		snprintf(shape, sizeof shape, "%ux%u", c->rows, c->k);
		const char *tname = quant_type_info(c->type)->name;
		if (as_json) {
			json_object_begin(&j);
			json_key(&j, "kernel"), json_string(&j, "matvec");
			json_key(&j, "type"), json_string(&j, tname);
			json_key(&j, "rows"), json_u64(&j, c->rows);
			json_key(&j, "k"), json_u64(&j, c->k);
			json_key(&j, "ms"), json_double(&j, ns / 1e6);
			json_key(&j, "gbs"), json_double(&j, gbs);
			json_key(&j, "gflops"), json_double(&j, gflops);
			json_key(&j, "pct_copy"), json_double(&j, pct);
			json_object_end(&j);
		} else {
			fprintf(out, "%-8s %-8s %-16s %10.3f %10.2f %10.2f %7.1f%%\n", "matvec", tname, shape, ns / 1e6, gbs, gflops, pct);
		}
	}
	if (as_json) {
		json_array_end(&j);
		json_object_end(&j);
		fputc('\n', out);
	}
	return VKLLM_OK;
}
