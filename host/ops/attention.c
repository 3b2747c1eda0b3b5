/* op_attention: causal flash attention for prefill and split-K (flash-decoding) attention for decode
 * (shaders/attention.comp, shaders/attention_combine.comp; the design is in docs/attention.md).
 *
 * Tuning from the device profile, all of it specialization constants:
 * - workgroup 128 invocations (a multiple of every subgroup size, 8 to 128);
 * - R rows per workgroup (a row is one (token, query head of the group) pair): up to 16, fewer
 *   when the chunk has fewer rows (decode: R = G, the query heads sharing one KV head);
 * - BC KV positions per tile: the largest of 64, 32, 16, 8 whose shared memory fits in
 *   min(maxComputeSharedMemorySize, 32 KiB) (32 KiB leaves room for two workgroups per core);
 * - TP invocations per score when R*BC is below the workgroup size (decode), so that no
 *   invocation idles while the scores are computed.
 * The split count is chosen from the cache capacity (record time), never from n_kv (run time).
 *
 * CPU devices (lavapipe) run decode-shaped chunks on attention_cpu.comp instead: one subgroup of 8
 * per workgroup, 64-bit K/V loads, no shared memory (docs/attention.md, "Decode on CPU devices").
 * It takes the same split count and partials layout, so the scratch size does not depend on which
 * kernel a call ends up with.
 *
 * GPUs run one-token chunks over an f16 cache on attention_decode.comp: K and V read straight into
 * registers 16 bytes a lane, one load serving the G query heads of a KV head, with more splits
 * (decode_split below). VKLLM_ATTN_DECODE=0 turns it off, =1 forces it on CPU devices (its test).
 *
 * Devices with cooperative matrices can run prefill chunks over an f16 cache on attention_cm.comp:
 * the same rows and masks, S = Q K^T and O += P V on the matrix units (cm_tune below). Opt-in
 * (VKLLM_ATTN_CM=1) until a GPU has checked its precision: on Mesa 26's lavapipe test_forward_gpu
 * moved some models' logits past their bound with it (docs/attention.md). */
#include "ops.h"
#include "view_util.h"

#include <stdlib.h>
#include <string.h>

#include "../../shaders/abi.h"

#define ATTN_WG 128
#define ATTN_MAX_R 16
#define ATTN_MAX_SPLIT 64
#define ATTN_SHARED_BUDGET 32768u
/* attention_cpu.comp: at most this many rows (token, query head) per workgroup, and chunks of at
 * most this many tokens: prefill chunks too, since on lavapipe it beat attention.comp there as
 * well (13 s against 66 s at 512 x 4096, 0.23 s against 2.8 s at 64 x 1024; docs/attention.md);
 * test_attention's prefill cases and test_forward_gpu's chunks run through it on lavapipe */
#define ATTN_CPU_MAX_R 8
#define ATTN_CPU_MAX_NQ 4096
/* and head dims up to this (tested; the per-lane query and accumulator slices grow with them) */
#define ATTN_CPU_MAX_DIM 256
/* CPU devices: split the KV range only while there are fewer workgroups than this (a few per
 * lavapipe thread); every split costs the combine pass, which on lavapipe (0.45 ms at 16 heads x 8
 * splits) costs more than the attention of a short cache */
#define ATTN_CPU_GROUPS 8
/* attention_decode.comp: query heads per KV head (registers: 16 floats a head per lane), positions
 * per tile, and the split rule: enough workgroups for a large GPU (~512), each split at least 128
 * positions of a full cache */
#define ATTN_DEC_MAX_G 8
#define ATTN_DEC_TILE 128
#define ATTN_DEC_GROUPS 512
#define ATTN_DEC_MIN_SPLIT_LEN 128


struct attn_tuning {
	uint32_t wg, r, bc, tp, n_split;
};

static uint32_t pow2_ceil(uint32_t x)
{
	uint32_t p = 1;
	while (p < x) p <<= 1;
	return p;
}

static uint32_t shared_bytes(uint32_t wg, uint32_t r, uint32_t bc, uint32_t d, uint32_t dv)
{
	uint32_t ts = (d > dv ? d : dv) + 1;
	return 4 * (r * d + bc * ts + r * bc + wg + 3 * r);
}

static bool is_pow2(uint32_t x) { return x && !(x & (x - 1)); }

/* Whether attention_decode.comp can take this call, from the description and the device alone (the
 * offsets are checked at record time): one token, f16 cache, head dims of 8-value words whose row
 * of lanes (dims / 8) fits a subgroup, at most ATTN_DEC_MAX_G heads per KV head, the subgroup
 * operations it uses. */
static bool decode_kernel(const struct gpu *g, const struct attn_desc *a)
{
	const uint32_t ops = VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT |
	                     VK_SUBGROUP_FEATURE_SHUFFLE_BIT;
	const char *env = getenv("VKLLM_ATTN_DECODE");
	if ((env && !strcmp(env, "0")) || (gpu_is_cpu(g) && !(env && !strcmp(env, "1")))) return false;
	uint32_t sg = g->profile.subgroup_size, wg = 4 * sg;
	uint32_t lk = a->head_dim_k / 8, lv = a->head_dim_v / 8;
	return a->n_q == 1 && a->kv_type == ATTN_KV_F16 && sg >= 4 && (g->profile.subgroup_ops & ops) == ops &&
	       wg <= g->profile.max_workgroup_invocations && wg <= g->profile.max_workgroup_size[0] &&
	       a->head_dim_k % 8 == 0 && a->head_dim_v % 8 == 0 && is_pow2(lk) && is_pow2(lv) && lk <= sg && lv <= sg &&
	       ATTN_DEC_TILE % (wg / lk) == 0 && a->n_head / a->n_head_kv <= ATTN_DEC_MAX_G;
}

/* attention_cm.comp's tile: rows R, key positions BC and the device's f16 x f16 + f32 subgroup
 * shape, the first that divides the subgroups' quarters (R/2 x BC/2 for S, R/2 x DV/2 for O) and
 * D and BC in K steps, with its shared memory within the device's; false when there is none. */
struct cm_tile {
	uint32_t wg, r, bc, m, n, k;
};

static uint32_t cm_shared_bytes(uint32_t r, uint32_t bc, uint32_t d, uint32_t dv)
{
	uint32_t dmax = d > dv ? d : dv;
	return 2 * 2 * r * (d + 8) + 2 * bc * (dmax + 8) + 4 * r * (bc + 4) + 2 * 2 * r * (bc + 8) + 4 * r * (dv + 4) + 12 * r;
}

static bool cm_tune(const struct gpu *g, const struct attn_desc *a, struct cm_tile *t)
{
	const struct gpu_profile *pr = &g->profile;
	const char *env = getenv("VKLLM_ATTN_CM");
	if (!(env && !strcmp(env, "1")) || shader_table[SH_ATTENTION_CM].n_words == 0 || !pr->coopmat || !pr->fp16 ||
	    !pr->storage16 || !pr->memory_model || a->kv_type != ATTN_KV_F16 || a->n_q < 2 || a->head_dim_k % 8 ||
	    a->head_dim_v % 8)
		return false;
	uint32_t wg = 4 * pr->subgroup_size;
	if (!pr->subgroup_size || wg > pr->max_workgroup_invocations || wg > pr->max_workgroup_size[0]) return false;
	static const uint32_t tiles[][2] = {{32, 32}, {32, 16}, {16, 16}};
	for (size_t ti = 0; ti < sizeof tiles / sizeof tiles[0]; ti++) {
		uint32_t r = tiles[ti][0], bc = tiles[ti][1];
		if (cm_shared_bytes(r, bc, a->head_dim_k, a->head_dim_v) > pr->max_shared_memory) continue;
		for (uint32_t i = 0; i < pr->n_coopmat; i++) {
			const struct gpu_coopmat_shape *s = &pr->coopmat_shapes[i];
			if (!gpu_coopmat_shape_is(s, 0, 1) || (r / 2) % s->m || (bc / 2) % s->n || (a->head_dim_v / 2) % s->n || a->head_dim_k % s->k || bc % s->k) continue;
			*t = (struct cm_tile){wg, r, bc, s->m, s->n, s->k};
			return true;
		}
	}
	return false;
}

static int attn_tune(const struct gpu *g, const struct attn_desc *a, struct attn_tuning *t)
{
	uint32_t wg = ATTN_WG;
	if (wg > g->profile.max_workgroup_invocations) wg = g->profile.max_workgroup_invocations;
	if (wg > g->profile.max_workgroup_size[0]) wg = g->profile.max_workgroup_size[0];
	uint32_t budget = g->profile.max_shared_memory < ATTN_SHARED_BUDGET ? g->profile.max_shared_memory : ATTN_SHARED_BUDGET;
	uint32_t rows = a->n_q * (a->n_head / a->n_head_kv);
	uint32_t r = pow2_ceil(rows < ATTN_MAX_R ? rows : ATTN_MAX_R), bc = 0;
	if (r > wg) r = wg;
	for (;; r /= 2) {
		for (bc = 64; bc >= 8; bc /= 2)
			if (shared_bytes(wg, r, bc, a->head_dim_k, a->head_dim_v) <= budget) break;
		if (bc >= 8 || r == 1) break;
	}
	if (bc < 8)
		return fail(VKLLM_E_UNSUPPORTED, "attention: head dims %u/%u need %u bytes of shared memory, device %s has %u",
		            a->head_dim_k, a->head_dim_v, shared_bytes(wg, 1, 8, a->head_dim_k, a->head_dim_v), g->profile.name,
		            g->profile.max_shared_memory);
	uint32_t tp = 1;
	while (r * bc * tp * 2 <= wg && tp * 2 <= a->head_dim_k) tp *= 2;

	uint32_t n_split = a->n_split;
	if (n_split == 0 && decode_kernel(g, a)) {
		/* one workgroup per (KV head, split): the splits alone must fill the GPU */
		n_split = (ATTN_DEC_GROUPS + a->n_head_kv - 1) / a->n_head_kv;
		if (n_split > a->n_ctx / ATTN_DEC_MIN_SPLIT_LEN) n_split = a->n_ctx / ATTN_DEC_MIN_SPLIT_LEN;
		if (n_split > ATTN_MAX_SPLIT) n_split = ATTN_MAX_SPLIT;
		if (n_split < 1) n_split = 1;
	} else if (n_split == 0) {
		/* enough workgroups to fill a large GPU (~256) or a CPU's threads (ATTN_CPU_GROUPS), each
		 * split still covering at least 512 positions of a full cache: splitting a short cache
		 * costs more in the combine than it gains */
		bool cpu = gpu_is_cpu(g);
		uint32_t groups = (rows + r - 1) / r * a->n_head_kv, target = cpu ? ATTN_CPU_GROUPS : 256;
		n_split = 1;
		if (groups < target) {
			n_split = (target + groups - 1) / groups;
			if (n_split > a->n_ctx / 512) n_split = a->n_ctx / 512;
			if (n_split > ATTN_MAX_SPLIT) n_split = ATTN_MAX_SPLIT;
			if (n_split < 1) n_split = 1;
		}
	}
	*t = (struct attn_tuning){wg, r, bc, tp, n_split};
	return VKLLM_OK;
}

static int attn_check_desc(const struct attn_desc *a)
{
	if (!a->n_q || !a->n_head || !a->n_head_kv || a->n_head % a->n_head_kv || !a->n_ctx || !a->head_dim_k ||
	    !a->head_dim_v || a->head_dim_k > 512 || a->head_dim_v > 512 || a->n_split > ATTN_MAX_SPLIT ||
	    (a->kv_type != ATTN_KV_F16 && a->kv_type != ATTN_KV_F32) || !(a->softcap >= 0.0f))
		return fail(VKLLM_E_ARG,
		            "attention: n_q %u, heads %u/%u (query/kv: kv must divide query), n_ctx %u, head dims %u/%u "
		            "(1..512), n_split %u (0..%d), softcap %g: invalid",
		            a->n_q, a->n_head, a->n_head_kv, a->n_ctx, a->head_dim_k, a->head_dim_v, a->n_split,
		            ATTN_MAX_SPLIT, a->softcap);
	if (a->n_swa && a->n_chunk)
		return fail(VKLLM_E_ARG, "attention: a sliding window (n_swa %u) and chunked attention (n_chunk %u) at once: "
		            "set at most one of them", a->n_swa, a->n_chunk);
	return VKLLM_OK;
}

/* attention_cpu.comp serves the call: a CPU device with 8-lane subgroups, 64-bit integers and the
 * subgroup operations it uses, a decode-shaped chunk, head dims up to 256 that 8 lanes split into
 * whole 64-bit words, and every K/V row starting on an 8-byte boundary (offsets, strides and the
 * aligned view's base). VKLLM_ATTN_CPU=0 turns it off (to compare). */
static bool cpu_kernel(const struct gpu *g, const struct attn_desc *a, uint64_t k_off, uint64_t v_off, uint32_t k_pos,
                       uint32_t k_head, uint32_t v_pos, uint32_t v_head)
{
	const uint32_t ops = VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT;
	const char *env = getenv("VKLLM_ATTN_CPU");
	if (!gpu_is_cpu(g) || (env && strcmp(env, "0") == 0) ||
	    g->profile.subgroup_size != 8 || !g->profile.int64 || (g->profile.subgroup_ops & ops) != ops ||
	    a->n_q > ATTN_CPU_MAX_NQ || g->profile.min_storage_offset_alignment % 8)
		return false;
	uint32_t es = a->kv_type == ATTN_KV_F16 ? 2 : 4, vpw = 8 / es;
	return a->head_dim_k % (8 * vpw) == 0 && a->head_dim_v % (8 * vpw) == 0 && a->head_dim_k <= ATTN_CPU_MAX_DIM &&
	       a->head_dim_v <= ATTN_CPU_MAX_DIM && k_off % 8 == 0 && v_off % 8 == 0 &&
	       (uint64_t)k_pos * es % 8 == 0 && (uint64_t)k_head * es % 8 == 0 && (uint64_t)v_pos * es % 8 == 0 &&
	       (uint64_t)v_head * es % 8 == 0;
}

bool op_attention_uses_cm(const struct gpu *g, const struct attn_desc *a)
{
	struct attn_tuning t;
	struct cm_tile ct;
	return !attn_check_desc(a) && !attn_tune(g, a, &t) && t.n_split == 1 && cm_tune(g, a, &ct);
}

uint64_t op_attention_scratch_bytes(const struct gpu *g, const struct attn_desc *a)
{
	struct attn_tuning t;
	if (attn_check_desc(a) || attn_tune(g, a, &t) || t.n_split <= 1) return 0;
	return (uint64_t)t.n_split * a->n_q * a->n_head * (a->head_dim_v + 2) * 4;
}

int op_attention(struct gpu_rec *rec, struct gpu_view out, struct gpu_view scratch, struct gpu_view q,
                 struct gpu_view k, struct gpu_view v, struct gpu_view sinks, struct gpu_view step,
                 const struct attn_desc *a)
{
	struct gpu *g = rec->g;
	TRY(attn_check_desc(a));
	struct attn_tuning t;
	TRY(attn_tune(g, a, &t));
	bool f16 = a->kv_type == ATTN_KV_F16;
	uint32_t kv_size = f16 ? 2 : 4, d = a->head_dim_k, dv = a->head_dim_v;
	enum shader_id sh = f16 ? SH_ATTENTION_F16 : SH_ATTENTION_F32;
	const char *name = shader_table[sh].name;
	if (f16 && !g->profile.storage16)
		return fail(VKLLM_E_UNSUPPORTED, "%s: device %s lacks storageBuffer16BitAccess", name, g->profile.name);

	/* default layout [n_ctx][n_head_kv][head_dim] (docs/attention.md) */
	uint32_t k_pos = a->kv_pos_stride ? a->kv_pos_stride : a->n_head_kv * d;
	uint32_t k_head = a->kv_pos_stride ? a->kv_head_stride : d;
	uint32_t v_pos = a->v_pos_stride ? a->v_pos_stride : a->n_head_kv * dv;
	uint32_t v_head = a->v_pos_stride ? a->v_head_stride : dv;
	uint32_t q_stride = a->q_stride ? a->q_stride : a->n_head * d;
	uint32_t o_stride = a->o_stride ? a->o_stride : a->n_head * dv;
	if (q_stride < a->n_head * d || o_stride < a->n_head * dv)
		return fail(VKLLM_E_ARG, "%s: token strides %u (q) and %u (out) are shorter than a token's heads", name,
		            q_stride, o_stride);

	/* every element the shader may touch lies inside its view */
	uint64_t q_need = ((uint64_t)(a->n_q - 1) * q_stride + (uint64_t)a->n_head * d) * 4;
	uint64_t k_need = ((uint64_t)(a->n_ctx - 1) * k_pos + (uint64_t)(a->n_head_kv - 1) * k_head + d) * kv_size;
	uint64_t v_need = ((uint64_t)(a->n_ctx - 1) * v_pos + (uint64_t)(a->n_head_kv - 1) * v_head + dv) * kv_size;
	uint64_t o_need = ((uint64_t)(a->n_q - 1) * o_stride + (uint64_t)a->n_head * dv) * 4;
	uint64_t s_need = sinks.buf ? (uint64_t)a->n_head * 4 : 0;
	uint64_t step_need = ((uint64_t)a->step_index + 2) * 4;
	uint64_t part_need = t.n_split > 1 ? (uint64_t)t.n_split * a->n_q * a->n_head * (dv + 2) * 4 : 0;
	if (!q.buf || !k.buf || !v.buf || !out.buf || !step.buf || (part_need && !scratch.buf))
		return fail(VKLLM_E_ARG, "%s: a view has no buffer (q, k, v, out, step%s)", name, part_need ? ", scratch" : "");
	if (q_need > ops_view_bytes(q) || k_need > ops_view_bytes(k) || v_need > ops_view_bytes(v) || o_need > ops_view_bytes(out) ||
	    (sinks.buf && s_need > ops_view_bytes(sinks)) || step_need > ops_view_bytes(step) ||
	    (part_need && part_need > ops_view_bytes(scratch)))
		return fail(VKLLM_E_ARG,
		            "%s: views too small: q %llu of %llu bytes, k %llu of %llu, v %llu of %llu, out %llu of %llu, "
		            "sinks %llu of %llu, step %llu of %llu, scratch %llu of %llu",
		            name, (unsigned long long)q_need, (unsigned long long)ops_view_bytes(q), (unsigned long long)k_need,
		            (unsigned long long)ops_view_bytes(k), (unsigned long long)v_need, (unsigned long long)ops_view_bytes(v),
		            (unsigned long long)o_need, (unsigned long long)ops_view_bytes(out), (unsigned long long)s_need,
		            (unsigned long long)(sinks.buf ? ops_view_bytes(sinks) : 0), (unsigned long long)step_need,
		            (unsigned long long)ops_view_bytes(step), (unsigned long long)part_need,
		            (unsigned long long)(scratch.buf ? ops_view_bytes(scratch) : 0));
	if (q.offset % 4 || out.offset % 4 || step.offset % 4 || (sinks.buf && sinks.offset % 4) || k.offset % kv_size ||
	    v.offset % kv_size || (part_need && scratch.offset % 4))
		return fail(VKLLM_E_ARG, "%s: a view's byte offset is not a multiple of its element size", name);

	uint32_t rows = a->n_q * (a->n_head / a->n_head_kv);
	uint32_t spec[8] = {t.wg, d, dv, t.r, t.bc, t.tp}, n_spec = 6;
	/* attention_decode.comp: every K and V row on 16 bytes, and the splits to combine */
	bool decode = decode_kernel(g, a) && t.n_split > 1 && k.offset % 16 == 0 && v.offset % 16 == 0 && k_pos % 8 == 0 &&
	              k_head % 8 == 0 && v_pos % 8 == 0 && v_head % 8 == 0;
	struct cm_tile ct;
	if (decode) {
		sh = SH_ATTENTION_DECODE;
		t.wg = 4 * g->profile.subgroup_size, t.r = rows; /* one workgroup per (KV head, split) */
		spec[0] = t.wg, spec[3] = a->n_head / a->n_head_kv, spec[4] = ATTN_DEC_TILE, n_spec = 5;
	} else if (t.n_split == 1 && cm_tune(g, a, &ct)) {
		sh = SH_ATTENTION_CM;
		t.wg = ct.wg, t.r = ct.r;
		spec[0] = ct.wg, spec[3] = ct.r, spec[4] = ct.bc, spec[5] = ct.m, spec[6] = ct.n, spec[7] = ct.k, n_spec = 8;
	} else if (cpu_kernel(g, a, k.offset, v.offset, k_pos, k_head, v_pos, v_head)) {
		sh = f16 ? SH_ATTENTION_CPU_F16 : SH_ATTENTION_CPU_F32;
		t.r = rows < ATTN_CPU_MAX_R ? rows : ATTN_CPU_MAX_R;
		spec[0] = g->profile.subgroup_size, spec[3] = t.r, n_spec = 4;
	}
	uint32_t gx = (rows + t.r - 1) / t.r;
	if (gx > g->profile.max_workgroup_count[0] || a->n_head_kv > g->profile.max_workgroup_count[1] ||
	    t.n_split > g->profile.max_workgroup_count[2])
		return fail(VKLLM_E_UNSUPPORTED, "%s: grid %u x %u x %u exceeds the device's workgroup counts", name, gx,
		            a->n_head_kv, t.n_split);

	const struct gpu_pipeline *p;
	TRY(gpu_pipeline_get(g, &p, sh, spec, n_spec));
	struct attn_params pc = {
		.n_q = a->n_q, .n_head = a->n_head, .n_head_kv = a->n_head_kv, .n_ctx = a->n_ctx,
		.q_stride = q_stride, .k_pos_stride = k_pos, .k_head_stride = k_head,
		.v_pos_stride = v_pos, .v_head_stride = v_head, .o_stride = o_stride,
		.has_sinks = sinks.buf != NULL, .step_offset = 0, .n_split = t.n_split, .n_swa = a->n_swa,
		.n_chunk = a->n_chunk,
		.scale = a->scale, .softcap = a->softcap,
	};
	/* no sinks: the binding still needs a buffer; q is read-only here too and never indexed */
	struct gpu_view sink_view = sinks.buf ? sinks : q;
	uint32_t step_rest, sink_rest;
	struct gpu_view views[6] = {
		ops_aligned(g, q, 4, &pc.q_offset),
		ops_aligned(g, k, kv_size, &pc.k_offset),
		ops_aligned(g, v, kv_size, &pc.v_offset),
		ops_aligned(g, sink_view, 4, &sink_rest),
		ops_aligned(g, step, 4, &step_rest),
		part_need ? ops_aligned(g, scratch, 4, &pc.o_offset) : ops_aligned(g, out, 4, &pc.o_offset),
	};
	pc.sink_offset = sinks.buf ? sink_rest : 0;
	pc.step_offset = step_rest + a->step_index;
	if (decode) CHECK(pc.k_offset % 8 == 0 && pc.v_offset % 8 == 0 && views[1].offset % 16 == 0 && views[2].offset % 16 == 0);
	TRY(gpu_dispatch(rec, p, views, 6, &pc, sizeof pc, gx, a->n_head_kv, t.n_split));
	if (t.n_split <= 1) return VKLLM_OK;

	/* the combine pass: one invocation per output value */
	uint32_t cspec[] = {t.wg};
	TRY(gpu_pipeline_get(g, &p, SH_ATTENTION_COMBINE, cspec, 1));
	struct attn_combine_params cc = {
		.n_rows = a->n_q * a->n_head, .n_head = a->n_head, .dv = dv, .n_split = t.n_split,
		.o_stride = o_stride, .has_sinks = sinks.buf != NULL,
	};
	struct gpu_view cviews[3] = {
		ops_aligned(g, scratch, 4, &cc.part_offset),
		ops_aligned(g, sink_view, 4, &sink_rest),
		ops_aligned(g, out, 4, &cc.o_offset),
	};
	cc.sink_offset = sinks.buf ? sink_rest : 0;
	uint32_t cgx, cgy;
	gpu_groups_1d(g, ((uint64_t)cc.n_rows * dv + t.wg - 1) / t.wg, &cgx, &cgy);
	return gpu_dispatch(rec, p, cviews, 3, &cc, sizeof cc, cgx, cgy, 1);
}
