/* Gated DeltaNet ops (gdn.h): op_gdn_conv (shaders/gdn_conv.comp), op_gdn_recurrent
 * (gdn_recurrent.comp), op_gdn_chunked (gdn_chunk_prep.comp + gdn_chunk_scan.comp),
 * op_gdn_gated_norm (gdn_gated_norm.comp), op_gdn_gates and op_kda_gates (gdn_gates.comp).
 * llvmpipe (Mesa 22.3) silently ends an invocation's loops after 65535 iterations counted over all
 * its loops: on CPU devices the recurrent and scan kernels get at most GDN_CPU_LOOP_BUDGET
 * iterations' worth of tokens or chunks per dispatch (the state goes through memory between them). */
#include "gdn.h"

#include "../../shaders/abi.h"
#include "view_util.h"

#include <math.h>

#define GDN_CPU_LOOP_BUDGET 40000u
#define GDN_CHUNK 64u
#define GDN_SCAN_BV 16u
#define GDN_CHUNK_GROUP 16u /* chunks per prep dispatch: bounds the scratch */
#define GDN_DIM_MAX 256u

static bool overlaps(struct gpu_view a, uint64_t a_bytes, struct gpu_view b, uint64_t b_bytes)
{
	return a.buf && a.buf == b.buf && a.offset < b.offset + b_bytes && b.offset < a.offset + a_bytes;
}

int op_gdn_conv(struct gpu_rec *rec, struct gpu_view y, struct gpu_view state, struct gpu_view x, struct gpu_view w,
                uint32_t n_tokens, uint32_t C, uint32_t K, uint32_t x_stride, uint32_t y_stride)
{
	struct gpu *g = rec->g;
	const char *op = "gdn_conv";
	if (x_stride == 0) x_stride = C;
	if (y_stride == 0) y_stride = C;
	if (n_tokens == 0 || C == 0 || K < 2 || K > 16)
		return fail(VKLLM_E_ARG, "%s: %u tokens of %u channels, kernel %u: sizes must be positive and 2 <= K <= 16", op,
		            n_tokens, C, K);
	if (x_stride < C || y_stride < C)
		return fail(VKLLM_E_ARG, "%s: token strides x %u, y %u are below the %u channels", op, x_stride, y_stride, C);
	uint64_t xb = ((uint64_t)(n_tokens - 1) * x_stride + C) * 4, yb = ((uint64_t)(n_tokens - 1) * y_stride + C) * 4;
	uint64_t sb = (uint64_t)(K - 1) * C * 4;
	TRY(ops_check_view(op, "x", x, 4, xb));
	TRY(ops_check_view(op, "y", y, 4, yb));
	TRY(ops_check_view(op, "weight", w, 4, (uint64_t)C * K * 4));
	TRY(ops_check_view(op, "state", state, 4, sb));
	if (overlaps(y, yb, x, xb) || overlaps(y, yb, state, sb))
		return fail(VKLLM_E_ARG, "%s: y overlaps x or the state (%u tokens of %u channels)", op, n_tokens, C);

	uint32_t wg = ops_elementwise_wg(g), spec[] = {wg};
	const struct gpu_pipeline *p;
	struct gdn_conv_params pc = {.n_tokens = n_tokens, .C = C, .K = K, .x_stride = x_stride, .y_stride = y_stride};
	TRY(gpu_pipeline_get(g, &p, SH_GDN_CONV, spec, 1));
	struct gpu_view views[] = {ops_aligned(g, x, 4, &pc.x_offset), ops_aligned(g, w, 4, &pc.w_offset),
	                           ops_aligned(g, state, 4, &pc.state_offset), ops_aligned(g, y, 4, &pc.y_offset)};
	uint64_t n_inv = (uint64_t)C * ((n_tokens + 15) / 16); /* TOKENS_PER_INV in gdn_conv.comp */
	uint32_t gx, gy;
	gpu_groups_1d(g, (n_inv + wg - 1) / wg, &gx, &gy);
	TRY(gpu_dispatch(rec, p, views, 4, &pc, sizeof pc, gx, gy, 1));

	TRY(gpu_pipeline_get(g, &p, SH_GDN_CONV_STATE, spec, 1));
	struct gpu_view sviews[] = {ops_aligned(g, x, 4, &pc.x_offset), ops_aligned(g, state, 4, &pc.state_offset)};
	gpu_groups_1d(g, (C + wg - 1) / wg, &gx, &gy);
	return gpu_dispatch(rec, p, sviews, 2, &pc, sizeof pc, gx, gy, 1);
}

/* Checks shared by the delta-rule ops; fills the push constants' sizes and strides and the byte
 * sizes of the token-major views. */
struct gdn_sizes {
	uint64_t q, k, v, o, g, beta, state;
};

static int gdn_check(const char *op, const struct gdn_desc *d, struct gdn_params *pc, struct gdn_sizes *s,
                     struct gpu_view o, struct gpu_view state, struct gpu_view q, struct gpu_view k, struct gpu_view v,
                     struct gpu_view g, struct gpu_view beta)
{
	uint32_t T = d->n_tokens, Hk = d->n_head_k, Hv = d->n_head_v, Dk = d->head_dim_k, Dv = d->head_dim_v;
	if (T == 0 || Hk == 0 || Hv == 0 || Hv % Hk)
		return fail(VKLLM_E_ARG, "%s: %u tokens, %u key heads, %u value heads: sizes must be positive and the key heads "
		            "must divide the value heads", op, T, Hk, Hv);
	if (Dk == 0 || Dv == 0 || Dk > GDN_DIM_MAX || Dv > GDN_DIM_MAX)
		return fail(VKLLM_E_UNSUPPORTED, "%s: head dims k %u, v %u: each must be 1..%u", op, Dk, Dv, GDN_DIM_MAX);
	if (!(d->l2_eps >= 0.0f) || !isfinite(d->scale))
		return fail(VKLLM_E_ARG, "%s: l2 eps %g must be >= 0 and scale %g finite", op, (double)d->l2_eps,
		            (double)d->scale);
	uint32_t qs = d->q_stride ? d->q_stride : Hk * Dk, ks = d->k_stride ? d->k_stride : Hk * Dk;
	uint32_t vs = d->v_stride ? d->v_stride : Hv * Dv, os = d->o_stride ? d->o_stride : Hv * Dv;
	if (qs < Hk * Dk || ks < Hk * Dk || vs < Hv * Dv || os < Hv * Dv)
		return fail(VKLLM_E_ARG, "%s: token strides q %u, k %u (need >= %u), v %u, o %u (need >= %u)", op, qs, ks,
		            Hk * Dk, vs, os, Hv * Dv);
	s->q = ((uint64_t)(T - 1) * qs + (uint64_t)Hk * Dk) * 4;
	s->k = ((uint64_t)(T - 1) * ks + (uint64_t)Hk * Dk) * 4;
	s->v = ((uint64_t)(T - 1) * vs + (uint64_t)Hv * Dv) * 4;
	s->o = ((uint64_t)(T - 1) * os + (uint64_t)Hv * Dv) * 4;
	s->g = (uint64_t)T * Hv * (d->gate_per_channel ? Dk : 1) * 4;
	s->beta = (uint64_t)T * Hv * 4;
	s->state = (uint64_t)Hv * Dk * Dv * 4;
	TRY(ops_check_view(op, "q", q, 4, s->q));
	TRY(ops_check_view(op, "k", k, 4, s->k));
	TRY(ops_check_view(op, "v", v, 4, s->v));
	TRY(ops_check_view(op, "g", g, 4, s->g));
	TRY(ops_check_view(op, "beta", beta, 4, s->beta));
	TRY(ops_check_view(op, "state", state, 4, s->state));
	TRY(ops_check_view(op, "o", o, 4, s->o));
	if (overlaps(o, s->o, q, s->q) || overlaps(o, s->o, k, s->k) || overlaps(o, s->o, v, s->v) ||
	    overlaps(o, s->o, g, s->g) || overlaps(o, s->o, beta, s->beta) || overlaps(o, s->o, state, s->state))
		return fail(VKLLM_E_ARG, "%s: o overlaps an input or the state (%u tokens x %u heads x %u)", op, T, Hv, Dv);
	*pc = (struct gdn_params){.n_tokens = T, .Hk = Hk, .Hv = Hv, .Dk = Dk, .Dv = Dv, .tiled = d->heads_tiled,
	                          .per_channel = d->gate_per_channel, .l2norm = d->qk_l2norm, .eps = d->l2_eps,
	                          .scale = d->scale, .q_stride = qs, .k_stride = ks, .v_stride = vs, .o_stride = os};
	return VKLLM_OK;
}

/* Moves the token-major offsets of pc on by t tokens. */
static void gdn_advance(struct gdn_params *pc, uint32_t t)
{
	pc->q_offset += t * pc->q_stride;
	pc->k_offset += t * pc->k_stride;
	pc->v_offset += t * pc->v_stride;
	pc->o_offset += t * pc->o_stride;
	pc->g_offset += t * pc->Hv * (pc->per_channel ? pc->Dk : 1);
	pc->beta_offset += t * pc->Hv;
}

int op_gdn_recurrent(struct gpu_rec *rec, struct gpu_view o, struct gpu_view state, struct gpu_view q,
                     struct gpu_view k, struct gpu_view v, struct gpu_view g, struct gpu_view beta,
                     const struct gdn_desc *d)
{
	struct gpu *gp = rec->g;
	const char *op = "gdn_recurrent";
	struct gdn_params pc;
	struct gdn_sizes s;
	TRY(gdn_check(op, d, &pc, &s, o, state, q, k, v, g, beta));
	uint32_t wg = ops_workgroup(gp, 1), spec[] = {wg};
	pc.n_slices = (pc.Dv + wg - 1) / wg;
	const struct gpu_pipeline *p;
	TRY(gpu_pipeline_get(gp, &p, SH_GDN_RECURRENT, spec, 1));
	struct gpu_view views[] = {ops_aligned(gp, q, 4, &pc.q_offset),       ops_aligned(gp, k, 4, &pc.k_offset),
	                           ops_aligned(gp, v, 4, &pc.v_offset),       ops_aligned(gp, g, 4, &pc.g_offset),
	                           ops_aligned(gp, beta, 4, &pc.beta_offset), ops_aligned(gp, state, 4, &pc.state_offset),
	                           ops_aligned(gp, o, 4, &pc.o_offset)};
	/* iterations an invocation runs per token: two passes over Dk, the q/k loads, the subgroup sums */
	uint32_t per_token = 2 * pc.Dk + 2 * ((pc.Dk + wg - 1) / wg) + 70;
	uint32_t step = d->n_tokens;
	if (gpu_is_cpu(gp)) {
		uint32_t budget = GDN_CPU_LOOP_BUDGET - 2 * pc.Dk;
		step = budget / per_token ? budget / per_token : 1;
	}
	uint32_t gx, gy;
	gpu_groups_1d(gp, (uint64_t)pc.Hv * pc.n_slices, &gx, &gy);
	for (uint32_t t0 = 0; t0 < d->n_tokens; t0 += step) {
		struct gdn_params part = pc;
		part.n_tokens = d->n_tokens - t0 < step ? d->n_tokens - t0 : step;
		gdn_advance(&part, t0);
		gpu_rec_hint_bytes(rec, 2 * s.state + (uint64_t)part.n_tokens * (2 * pc.Hk * pc.Dk + 2 * pc.Hv * pc.Dv) * 4);
		TRY(gpu_dispatch(rec, p, views, 7, &part, sizeof part, gx, gy, 1));
	}
	return VKLLM_OK;
}

/* Scratch floats per (chunk, value head), gdn_chunk_prep.comp's layout: W [64][Dk] | U [64][Dv] |
 * P [64][64] | coef [64][4], and per channel (KDA) the cumulative gates GC and the decayed rows
 * QD, KD, each [64][Dk] (64 x 128 gates do not fit shared memory beside L). */
static uint64_t chunk_floats(uint32_t Dk, uint32_t Dv, bool per_channel)
{
	return (uint64_t)GDN_CHUNK * (Dk + Dv + GDN_CHUNK + 4 + (per_channel ? 3ull * Dk : 0));
}

uint64_t op_gdn_chunked_scratch_bytes(const struct gdn_desc *d)
{
	uint32_t n_chunks = (d->n_tokens + GDN_CHUNK - 1) / GDN_CHUNK;
	if (n_chunks > GDN_CHUNK_GROUP) n_chunks = GDN_CHUNK_GROUP;
	return (uint64_t)n_chunks * d->n_head_v * chunk_floats(d->head_dim_k, d->head_dim_v, d->gate_per_channel) * 4;
}

int op_gdn_chunked(struct gpu_rec *rec, struct gpu_view o, struct gpu_view state, struct gpu_view scratch,
                   struct gpu_view q, struct gpu_view k, struct gpu_view v, struct gpu_view g, struct gpu_view beta,
                   const struct gdn_desc *d)
{
	struct gpu *gp = rec->g;
	const char *op = "gdn_chunked";
	struct gdn_params pc;
	struct gdn_sizes s;
	TRY(gdn_check(op, d, &pc, &s, o, state, q, k, v, g, beta));
	uint64_t sc = op_gdn_chunked_scratch_bytes(d);
	TRY(ops_check_view(op, "scratch", scratch, 4, sc));
	if (overlaps(scratch, sc, q, s.q) || overlaps(scratch, sc, k, s.k) || overlaps(scratch, sc, v, s.v) ||
	    overlaps(scratch, sc, o, s.o) || overlaps(scratch, sc, state, s.state) || overlaps(scratch, sc, g, s.g) ||
	    overlaps(scratch, sc, beta, s.beta))
		return fail(VKLLM_E_ARG, "%s: the scratch (%llu bytes) overlaps an input, o or the state", op,
		            (unsigned long long)sc);
	if (sc / 4 > UINT32_MAX)
		return fail(VKLLM_E_UNSUPPORTED, "%s: scratch of %llu bytes", op, (unsigned long long)sc);

	const struct gpu_pipeline *prep, *scan;
	uint32_t spec[] = {GDN_CHUNK};
	TRY(gpu_pipeline_get(gp, &prep, SH_GDN_CHUNK_PREP, spec, 1));
	TRY(gpu_pipeline_get(gp, &scan, SH_GDN_CHUNK_SCAN, spec, 1));
	pc.n_slices = (pc.Dv + GDN_SCAN_BV - 1) / GDN_SCAN_BV;
	pc.scratch_stride = (uint32_t)chunk_floats(pc.Dk, pc.Dv, d->gate_per_channel);
	struct gpu_view pviews[] = {ops_aligned(gp, q, 4, &pc.q_offset),       ops_aligned(gp, k, 4, &pc.k_offset),
	                            ops_aligned(gp, v, 4, &pc.v_offset),       ops_aligned(gp, g, 4, &pc.g_offset),
	                            ops_aligned(gp, beta, 4, &pc.beta_offset), ops_aligned(gp, scratch, 4, &pc.scratch_offset)};
	struct gpu_view sviews[] = {pviews[0], pviews[1], pviews[5], ops_aligned(gp, state, 4, &pc.state_offset),
	                            ops_aligned(gp, o, 4, &pc.o_offset)};

	/* scan iterations per chunk per invocation (64 invocations, BV columns, loops unrolled by 4): the
	 * per-channel form runs the same loops on QD and KD from the scratch, less the QE/KE one, so the
	 * estimate holds for both. The prep is not split: an invocation runs about 10.6 K iterations at
	 * Dk = Dv = 128 and 21 K at 256, mostly the forward substitution; the per-channel gates add 2 Dk
	 * (its pairwise exps sit in the same loops as the scalar form's dot products). */
	uint32_t Dk = pc.Dk, e_kv = (Dk * GDN_SCAN_BV + GDN_CHUNK - 1) / GDN_CHUNK;
	uint32_t per_chunk = GDN_SCAN_BV * (Dk / 4 + 5) + GDN_SCAN_BV * (Dk / 4 + GDN_CHUNK / 4 + 8) + e_kv * (GDN_CHUNK / 4 + 4) + 8;
	uint32_t chunks_per_scan = GDN_CHUNK_GROUP;
	if (gpu_is_cpu(gp)) {
		uint32_t budget = GDN_CPU_LOOP_BUDGET - 2 * e_kv;
		chunks_per_scan = budget / per_chunk ? budget / per_chunk : 1;
	}
	uint32_t gx, gy;
	for (uint32_t t0 = 0; t0 < d->n_tokens; t0 += GDN_CHUNK * GDN_CHUNK_GROUP) {
		struct gdn_params grp = pc;
		grp.n_tokens = d->n_tokens - t0 < GDN_CHUNK * GDN_CHUNK_GROUP ? d->n_tokens - t0 : GDN_CHUNK * GDN_CHUNK_GROUP;
		gdn_advance(&grp, t0);
		uint32_t n_chunks = (grp.n_tokens + GDN_CHUNK - 1) / GDN_CHUNK;
		grp.chunk0 = 0;
		grp.n_chunks = n_chunks;
		gpu_groups_1d(gp, (uint64_t)n_chunks * pc.Hv, &gx, &gy);
		TRY(gpu_dispatch(rec, prep, pviews, 6, &grp, sizeof grp, gx, gy, 1));
		gpu_groups_1d(gp, (uint64_t)pc.Hv * pc.n_slices, &gx, &gy);
		for (uint32_t c0 = 0; c0 < n_chunks; c0 += chunks_per_scan) {
			struct gdn_params part = grp;
			part.chunk0 = c0;
			part.n_chunks = n_chunks - c0 < chunks_per_scan ? n_chunks - c0 : chunks_per_scan;
			TRY(gpu_dispatch(rec, scan, sviews, 5, &part, sizeof part, gx, gy, 1));
		}
	}
	return VKLLM_OK;
}

int op_gdn_gated_norm(struct gpu_rec *rec, struct gpu_view y, struct gpu_view x, struct gpu_view z, struct gpu_view w,
                      uint32_t n, uint32_t n_rows, float eps, bool sigmoid_gate)
{
	struct gpu *g = rec->g;
	const char *op = "gdn_gated_norm";
	if (n == 0 || n_rows == 0) return fail(VKLLM_E_ARG, "%s: %u rows of %u values: sizes must be positive", op, n_rows, n);
	if (!(eps >= 0.0f)) return fail(VKLLM_E_ARG, "%s: eps %g must be >= 0", op, (double)eps);
	uint64_t need = (uint64_t)n * n_rows * 4;
	TRY(ops_check_view(op, "x", x, 4, need));
	TRY(ops_check_view(op, "z", z, 4, need));
	TRY(ops_check_view(op, "weight", w, 4, (uint64_t)n * 4));
	TRY(ops_check_view(op, "y", y, 4, need));
	uint32_t spec[] = {ops_norm_workgroup(g, n)};
	const struct gpu_pipeline *p;
	TRY(gpu_pipeline_get(g, &p, SH_GDN_GATED_NORM, spec, 1));
	struct gdn_norm_params pc = {.n = n, .n_rows = n_rows, .sigmoid_gate = sigmoid_gate, .eps = eps};
	struct gpu_view views[] = {ops_aligned(g, x, 4, &pc.x_offset), ops_aligned(g, z, 4, &pc.z_offset),
	                           ops_aligned(g, w, 4, &pc.w_offset), ops_aligned(g, y, 4, &pc.y_offset)};
	uint32_t gx, gy;
	gpu_groups_1d(g, n_rows, &gx, &gy);
	return gpu_dispatch(rec, p, views, 4, &pc, sizeof pc, gx, gy, 1);
}

/* The one dispatch of gdn_gates.comp, after the op's checks: n_tokens x n_head_v x width gates. */
static int gates_dispatch(struct gpu_rec *rec, struct gdn_gates_params *pc, struct gpu_view g, struct gpu_view beta,
                          struct gpu_view b, struct gpu_view a, struct gpu_view dt_bias, struct gpu_view ssm_a)
{
	struct gpu *gp = rec->g;
	uint32_t spec[] = {ops_elementwise_wg(gp)};
	const struct gpu_pipeline *p;
	TRY(gpu_pipeline_get(gp, &p, SH_GDN_GATES, spec, 1));
	struct gpu_view views[] = {ops_aligned(gp, b, 4, &pc->b_offset), ops_aligned(gp, a, 4, &pc->a_offset),
	                           ops_aligned(gp, dt_bias, 4, &pc->dt_offset), ops_aligned(gp, ssm_a, 4, &pc->sa_offset),
	                           ops_aligned(gp, g, 4, &pc->g_offset), ops_aligned(gp, beta, 4, &pc->beta_offset)};
	uint64_t n = (uint64_t)pc->n_tokens * pc->n_head_v * pc->width;
	uint32_t gx, gy;
	gpu_groups_1d(gp, (n + spec[0] - 1) / spec[0], &gx, &gy);
	return gpu_dispatch(rec, p, views, 6, pc, sizeof *pc, gx, gy, 1);
}

int op_gdn_gates(struct gpu_rec *rec, struct gpu_view g, struct gpu_view beta, struct gpu_view b, struct gpu_view a,
                 struct gpu_view dt_bias, struct gpu_view ssm_a, uint32_t n_tokens, uint32_t n_head_k, uint32_t n_head_v,
                 uint32_t stride, bool grouped)
{
	const char *op = "gdn_gates";
	uint64_t n = (uint64_t)n_tokens * n_head_v, row = grouped ? 2ull * n_head_v : n_head_v;
	if (!n_tokens || !n_head_k || !n_head_v || n_head_v % n_head_k || stride < row || n > UINT32_MAX)
		return fail(VKLLM_E_ARG, "%s: %u tokens, %u key heads, %u value heads (a multiple), row stride %u (at least "
		            "%llu): invalid", op, n_tokens, n_head_k, n_head_v, stride, (unsigned long long)row);
	uint64_t need = ((uint64_t)(n_tokens - 1) * stride + row) * 4;
	TRY(ops_check_view(op, "b", b, 4, need));
	TRY(ops_check_view(op, "a", a, 4, need));
	TRY(ops_check_view(op, "dt_bias", dt_bias, 4, (uint64_t)n_head_v * 4));
	TRY(ops_check_view(op, "ssm_a", ssm_a, 4, (uint64_t)n_head_v * 4));
	TRY(ops_check_view(op, "g", g, 4, n * 4));
	TRY(ops_check_view(op, "beta", beta, 4, n * 4));
	struct gdn_gates_params pc = {.n_tokens = n_tokens, .n_head_k = n_head_k, .n_head_v = n_head_v, .grouped = grouped,
	                              .width = 1, .stride = stride, .a_stride = stride};
	return gates_dispatch(rec, &pc, g, beta, b, a, dt_bias, ssm_a);
}

int op_kda_gates(struct gpu_rec *rec, struct gpu_view g, struct gpu_view beta, struct gpu_view b, struct gpu_view a,
                 struct gpu_view dt_bias, struct gpu_view ssm_a, uint32_t n_tokens, uint32_t n_head, uint32_t head_dim,
                 uint32_t b_stride, uint32_t a_stride)
{
	const char *op = "kda_gates";
	uint64_t row = (uint64_t)n_head * head_dim, n = (uint64_t)n_tokens * row;
	if (!n_tokens || !n_head || !head_dim || b_stride < n_head || a_stride < row || n > UINT32_MAX)
		return fail(VKLLM_E_ARG, "%s: %u tokens, %u heads of %u channels, token strides b %u (at least %u), a %u (at "
		            "least %llu): invalid", op, n_tokens, n_head, head_dim, b_stride, n_head, a_stride,
		            (unsigned long long)row);
	TRY(ops_check_view(op, "b", b, 4, ((uint64_t)(n_tokens - 1) * b_stride + n_head) * 4));
	TRY(ops_check_view(op, "a", a, 4, ((uint64_t)(n_tokens - 1) * a_stride + row) * 4));
	TRY(ops_check_view(op, "dt_bias", dt_bias, 4, row * 4));
	TRY(ops_check_view(op, "ssm_a", ssm_a, 4, (uint64_t)n_head * 4));
	TRY(ops_check_view(op, "g", g, 4, n * 4));
	TRY(ops_check_view(op, "beta", beta, 4, (uint64_t)n_tokens * n_head * 4));
	struct gdn_gates_params pc = {.n_tokens = n_tokens, .n_head_k = n_head, .n_head_v = n_head, .grouped = 0,
	                              .width = head_dim, .stride = b_stride, .a_stride = a_stride};
	return gates_dispatch(rec, &pc, g, beta, b, a, dt_bias, ssm_a);
}
