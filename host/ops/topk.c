/* op_argmax and op_topk (shaders/argmax.comp, shaders/topk.comp): selection over vocabulary rows
 * for sampling, in passes. Pass 1 reduces chunks of each row to candidates, merge passes reduce
 * candidate lists, the last pass (one workgroup per row) writes the result. Candidates live in a
 * scratch view the caller owns (op_*_scratch_bytes), as two ping-pong regions of (values, indices).
 *
 * Tuning: argmax chunks are 16 values per invocation of a 256-invocation workgroup (4096: a
 * 262144 vocabulary is 64 workgroups, then one merge); top-k tiles are the largest power of two
 * up to 2048 whose (value, index) pairs fit in shared memory. */
#include "ops.h"

#include "../../shaders/abi.h"
#include "view_util.h"

/* ---- planning: how many candidates each pass leaves per row ---- */

#define MAX_PASSES 8

struct select_plan {
	uint32_t n_passes;
	uint32_t count[MAX_PASSES + 1]; /* count[0] = n; count[i+1] = outputs per row of pass i */
	uint64_t region_words[2];       /* per region: values + indices, all rows */
};

static uint32_t argmax_chunk(const struct gpu *g) { return ops_elementwise_wg(g) * 16; }

static uint32_t topk_kp(uint32_t k)
{
	uint32_t kp = 1;
	while (kp < k) kp <<= 1;
	return kp;
}

static uint32_t topk_tile(const struct gpu *g)
{
	uint32_t t = 2048;
	while (t > 128 && (uint64_t)t * 8 > g->profile.max_shared_memory) t >>= 1;
	return t;
}

/* chunk: inputs per workgroup; per_group: outputs per workgroup of a non-final pass; k: of the last */
static void plan(struct select_plan *pl, uint32_t n, uint32_t n_rows, uint32_t chunk, uint32_t per_group, uint32_t k)
{
	pl->n_passes = 0;
	pl->count[0] = n;
	pl->region_words[0] = pl->region_words[1] = 0;
	for (uint32_t c = n;;) {
		uint32_t groups = (uint32_t)(((uint64_t)c + chunk - 1) / chunk);
		uint32_t i = pl->n_passes++;
		if (groups == 1) {
			pl->count[i + 1] = k;
			break;
		}
		c = groups * per_group;
		pl->count[i + 1] = c;
		uint64_t w = 2ull * n_rows * c;
		if (w > pl->region_words[i % 2]) pl->region_words[i % 2] = w;
	}
}

uint64_t op_argmax_scratch_bytes(const struct gpu *g, uint32_t n, uint32_t n_rows)
{
	struct select_plan pl;
	plan(&pl, n ? n : 1, n_rows, argmax_chunk(g), 1, 1);
	return (pl.region_words[0] + pl.region_words[1]) * 4;
}

uint64_t op_topk_scratch_bytes(const struct gpu *g, uint32_t n, uint32_t n_rows, uint32_t k)
{
	struct select_plan pl;
	uint32_t kp = topk_kp(k ? k : 1);
	plan(&pl, n ? n : 1, n_rows, topk_tile(g), kp, k);
	return (pl.region_words[0] + pl.region_words[1]) * 4;
}

/* ---- recording ---- */

static int select_record(struct gpu_rec *rec, const char *op, enum shader_id first, enum shader_id merge,
                         const uint32_t *spec, uint32_t n_spec, const struct select_plan *pl, uint32_t chunk,
                         struct gpu_view out_idx, struct gpu_view out_val, struct gpu_view scratch, struct gpu_view logits,
                         uint32_t n_rows)
{
	struct gpu *g = rec->g;
	if (n_rows > g->profile.max_workgroup_count[2])
		return fail(VKLLM_E_ARG, "%s: %u rows, the device allows %u", op, n_rows, g->profile.max_workgroup_count[2]);
	uint32_t k = pl->count[pl->n_passes];
	uint64_t scratch_words = pl->region_words[0] + pl->region_words[1];
	TRY(ops_check_view(op, "logits", logits, 4, (uint64_t)n_rows * pl->count[0] * 4));
	TRY(ops_check_view(op, "out_idx", out_idx, 4, (uint64_t)n_rows * k * 4));
	TRY(ops_check_view(op, "out_val", out_val, 4, (uint64_t)n_rows * k * 4));
	if (scratch_words) TRY(ops_check_view(op, "scratch", scratch, 4, scratch_words * 4));

	const struct gpu_pipeline *p_first, *p_merge = NULL;
	TRY(gpu_pipeline_get(g, &p_first, first, spec, n_spec));
	if (pl->n_passes > 1) TRY(gpu_pipeline_get(g, &p_merge, merge, spec, n_spec));

	uint32_t lo, so = 0, vo, io;
	struct gpu_view lv = ops_aligned(g, logits, 4, &lo), ov = ops_aligned(g, out_val, 4, &vo),
	                iv = ops_aligned(g, out_idx, 4, &io), sv = {0};
	if (scratch_words) sv = ops_aligned(g, scratch, 4, &so);
	uint32_t region[2] = {so, so + (uint32_t)pl->region_words[0]};

	for (uint32_t i = 0; i < pl->n_passes; i++) {
		bool last = i + 1 == pl->n_passes;
		uint32_t n_in = pl->count[i], n_out = pl->count[i + 1];
		uint32_t groups = last ? 1 : (uint32_t)(((uint64_t)n_in + chunk - 1) / chunk);
		struct select_params pc = {.n = n_in, .n_rows = n_rows, .chunk = chunk, .k = last ? n_out : n_out / groups};
		struct gpu_view views[4];
		uint32_t nv = 0;
		if (i == 0) {
			views[nv++] = lv;
			pc.in_offset = lo, pc.in_stride = n_in;
		} else {
			uint32_t r = region[(i - 1) % 2];
			views[nv++] = sv, views[nv++] = sv;
			pc.in_offset = r, pc.idx_offset = r + n_rows * n_in, pc.in_stride = n_in;
		}
		if (last) {
			views[nv++] = ov, views[nv++] = iv;
			pc.out_val_offset = vo, pc.out_idx_offset = io, pc.out_stride = n_out;
		} else {
			uint32_t r = region[i % 2];
			views[nv++] = sv, views[nv++] = sv;
			pc.out_val_offset = r, pc.out_idx_offset = r + n_rows * n_out, pc.out_stride = n_out;
		}
		uint32_t gx, gy;
		gpu_groups_1d(g, groups, &gx, &gy);
		TRY(gpu_dispatch(rec, i == 0 ? p_first : p_merge, views, nv, &pc, sizeof pc, gx, gy, n_rows));
	}
	return VKLLM_OK;
}

int op_argmax(struct gpu_rec *rec, struct gpu_view out_idx, struct gpu_view out_val, struct gpu_view scratch,
              struct gpu_view logits, uint32_t n, uint32_t n_rows)
{
	struct gpu *g = rec->g;
	if (n == 0 || n_rows == 0 || (uint64_t)n * n_rows > UINT32_MAX)
		return fail(VKLLM_E_ARG, "argmax_f32: %u rows of %u values: sizes must be positive, the product below 2^32", n_rows, n);
	uint32_t spec[] = {ops_elementwise_wg(g)};
	struct select_plan pl;
	plan(&pl, n, n_rows, argmax_chunk(g), 1, 1);
	return select_record(rec, "argmax_f32", SH_ARGMAX_F32, SH_ARGMAX_MERGE_F32, spec, 1, &pl, argmax_chunk(g), out_idx,
	                     out_val, scratch, logits, n_rows);
}

int op_topk(struct gpu_rec *rec, struct gpu_view out_idx, struct gpu_view out_val, struct gpu_view scratch,
            struct gpu_view logits, uint32_t n, uint32_t n_rows, uint32_t k)
{
	struct gpu *g = rec->g;
	if (n == 0 || n_rows == 0 || (uint64_t)n * n_rows > UINT32_MAX)
		return fail(VKLLM_E_ARG, "topk_f32: %u rows of %u values: sizes must be positive, the product below 2^32", n_rows, n);
	if (k == 0 || k > TOPK_MAX_K || k > n)
		return fail(VKLLM_E_ARG, "topk_f32: k = %u must be in 1..%d and at most the row length %u", k, TOPK_MAX_K, n);
	uint32_t kp = topk_kp(k), tile = topk_tile(g);
	uint32_t spec[] = {ops_elementwise_wg(g), tile, kp};
	struct select_plan pl;
	plan(&pl, n, n_rows, tile, kp, k);
	return select_record(rec, "topk_f32", SH_TOPK_F32, SH_TOPK_MERGE_F32, spec, 3, &pl, tile, out_idx, out_val, scratch,
	                     logits, n_rows);
}
