/* Gemma 3n's AltUp ops (shaders/altup.comp) and its activation sparsity (shaders/sparse_gate.comp);
 * docs/gemma3n.md. Streams are stream-major [4][n_tok][E] f32. */
#include <math.h>

#include "ops.h"
#include "view_util.h"

#include "../../shaders/abi.h"

#define ALTUP_STREAMS 4
#define NONE ((struct gpu_view){0})

static int dispatch(struct gpu_rec *rec, const char *op, enum shader_id id, bool per_token, uint64_t n_items,
                    struct gpu_view v[7], struct altup_params *pc)
{
	struct gpu *g = rec->g;
	uint32_t spec[] = {per_token ? ops_norm_workgroup(g, pc->E) : ops_elementwise_wg(g)};
	const struct gpu_pipeline *p;
	TRY(gpu_pipeline_get(g, &p, id, spec, 1));
	uint32_t *off[7] = {&pc->a_offset, &pc->b_offset, &pc->c_offset, &pc->d_offset, &pc->f_offset, &pc->out_offset,
	                    &pc->out2_offset};
	struct gpu_view views[7];
	for (int i = 0; i < 7; i++) {
		/* absent inputs bind the first view, which the mode never reads there */
		struct gpu_view b = v[i].buf ? v[i] : v[0];
		views[i] = ops_aligned(g, b, 4, off[i]);
	}
	if (n_items > UINT32_MAX) return fail(VKLLM_E_ARG, "%s: %llu items", op, (unsigned long long)n_items);
	uint32_t gx, gy;
	gpu_groups_1d(g, per_token ? (uint32_t)n_items : (uint32_t)((n_items + spec[0] - 1) / spec[0]), &gx, &gy);
	return gpu_dispatch(rec, p, views, 7, pc, sizeof *pc, gx, gy, 1);
}

static int check_sizes(const char *op, uint32_t n_tok, uint32_t E)
{
	if (n_tok == 0 || E == 0 || (uint64_t)ALTUP_STREAMS * n_tok * E > UINT32_MAX)
		return fail(VKLLM_E_ARG, "%s: %u tokens of %u: sizes must be positive and 4 streams of them below 2^32", op, n_tok, E);
	return VKLLM_OK;
}

int op_altup_predict(struct gpu_rec *rec, struct gpu_view pred, struct gpu_view x, struct gpu_view streams,
                     struct gpu_view mod, struct gpu_view coef, uint32_t n_tok, uint32_t E)
{
	const char *op = "altup_predict";
	TRY(check_sizes(op, n_tok, E));
	uint64_t plane = (uint64_t)n_tok * E;
	TRY(ops_check_view(op, "streams", streams, 4, ALTUP_STREAMS * plane * 4));
	TRY(ops_check_view(op, "pred", pred, 4, ALTUP_STREAMS * plane * 4));
	TRY(ops_check_view(op, "x", x, 4, plane * 4));
	TRY(ops_check_view(op, "mod", mod, 4, (uint64_t)n_tok * ALTUP_STREAMS * 4));
	TRY(ops_check_view(op, "coef", coef, 4, ALTUP_STREAMS * ALTUP_STREAMS * ALTUP_STREAMS * 4));
	struct altup_params pc = {.n_tok = n_tok, .E = E};
	struct gpu_view v[7] = {streams, mod, coef, NONE, NONE, pred, x};
	return dispatch(rec, op, SH_ALTUP_PREDICT, false, plane, v, &pc);
}

int op_altup_correct(struct gpu_rec *rec, struct gpu_view streams, struct gpu_view fp, struct gpu_view pred,
                     struct gpu_view mod, struct gpu_view coef, struct gpu_view y, struct gpu_view scale, uint32_t n_tok,
                     uint32_t E)
{
	const char *op = "altup_correct";
	TRY(check_sizes(op, n_tok, E));
	uint64_t plane = (uint64_t)n_tok * E;
	TRY(ops_check_view(op, "streams", streams, 4, ALTUP_STREAMS * plane * 4));
	TRY(ops_check_view(op, "pred", pred, 4, ALTUP_STREAMS * plane * 4));
	TRY(ops_check_view(op, "fp", fp, 4, plane * 4));
	TRY(ops_check_view(op, "y", y, 4, plane * 4));
	TRY(ops_check_view(op, "mod", mod, 4, (uint64_t)n_tok * ALTUP_STREAMS * 4));
	TRY(ops_check_view(op, "coef", coef, 4, ALTUP_STREAMS * ALTUP_STREAMS * 4));
	TRY(ops_check_view(op, "scale", scale, 4, (uint64_t)E * 4));
	struct altup_params pc = {.n_tok = n_tok, .E = E};
	struct gpu_view v[7] = {pred, mod, coef, y, scale, streams, fp};
	return dispatch(rec, op, SH_ALTUP_CORRECT, false, plane, v, &pc);
}

int op_altup_inject(struct gpu_rec *rec, struct gpu_view streams, struct gpu_view p, uint32_t n_tok, uint32_t E)
{
	const char *op = "altup_inject";
	TRY(check_sizes(op, n_tok, E));
	uint64_t plane = (uint64_t)n_tok * E;
	TRY(ops_check_view(op, "streams", streams, 4, ALTUP_STREAMS * plane * 4));
	TRY(ops_check_view(op, "p", p, 4, plane * 4));
	struct altup_params pc = {.n_tok = n_tok, .E = E};
	struct gpu_view v[7] = {p, NONE, NONE, NONE, NONE, streams, streams};
	return dispatch(rec, op, SH_ALTUP_INJECT, false, plane, v, &pc);
}

int op_altup_ple(struct gpu_rec *rec, struct gpu_view inp, struct gpu_view proj, struct gpu_view ple, uint32_t n_tok,
                 uint32_t P, uint32_t L)
{
	const char *op = "altup_ple";
	uint64_t n = (uint64_t)n_tok * P * L;
	if (n_tok == 0 || P == 0 || L == 0 || n > UINT32_MAX)
		return fail(VKLLM_E_ARG, "%s: %u tokens of %u layers of %u", op, n_tok, L, P);
	TRY(ops_check_view(op, "inp", inp, 4, n * 4));
	TRY(ops_check_view(op, "proj", proj, 4, n * 4));
	TRY(ops_check_view(op, "ple", ple, 4, n * 4));
	struct altup_params pc = {.n_tok = n_tok, .E = P, .P = P, .L = L, .scale = 1.0f / sqrtf(2.0f)};
	struct gpu_view v[7] = {proj, ple, NONE, NONE, NONE, inp, inp};
	return dispatch(rec, op, SH_ALTUP_PLE, false, n, v, &pc);
}

/* init and merge: one workgroup per token, rescaling three rows to another's L2 norm; ref [n][E], three
 * [3][E] per token (init: y) or [3][n][E] (merge: u), out the streams (init) or x (merge) */
static int rescale(struct gpu_rec *rec, const char *op, enum shader_id id, struct gpu_view out, struct gpu_view ref,
                   struct gpu_view three, uint32_t n_tok, uint32_t E, uint64_t out_rows)
{
	TRY(check_sizes(op, n_tok, E));
	uint64_t plane = (uint64_t)n_tok * E;
	TRY(ops_check_view(op, "out", out, 4, out_rows * E * 4));
	TRY(ops_check_view(op, "reference rows", ref, 4, plane * 4));
	TRY(ops_check_view(op, "rescaled rows", three, 4, (ALTUP_STREAMS - 1) * plane * 4));
	struct altup_params pc = {.n_tok = n_tok, .E = E};
	struct gpu_view v[7] = {ref, three, NONE, NONE, NONE, out, out};
	return dispatch(rec, op, id, true, n_tok, v, &pc);
}

int op_altup_init(struct gpu_rec *rec, struct gpu_view streams, struct gpu_view x0, struct gpu_view y, uint32_t n_tok,
                  uint32_t E)
{
	return rescale(rec, "altup_init", SH_ALTUP_INIT, streams, x0, y, n_tok, E, (uint64_t)ALTUP_STREAMS * n_tok);
}

int op_altup_merge(struct gpu_rec *rec, struct gpu_view x, struct gpu_view streams, struct gpu_view u, uint32_t n_tok,
                   uint32_t E)
{
	/* stream 0 is the reference row */
	return rescale(rec, "altup_merge", SH_ALTUP_MERGE, x, streams, u, n_tok, E, n_tok);
}

int op_sparse_gate(struct gpu_rec *rec, struct gpu_view gate, uint32_t n, uint32_t n_rows, float std_mul)
{
	struct gpu *g = rec->g;
	const char *op = "sparse_gate";
	if (n < 2 || n_rows == 0 || (uint64_t)n * n_rows > UINT32_MAX || !isfinite(std_mul))
		return fail(VKLLM_E_ARG, "%s: %u rows of %u (at least 2), std_mul %g", op, n_rows, n, (double)std_mul);
	TRY(ops_check_view(op, "gate", gate, 4, (uint64_t)n * n_rows * 4));
	uint32_t spec[] = {ops_norm_workgroup(g, n)};
	const struct gpu_pipeline *p;
	TRY(gpu_pipeline_get(g, &p, SH_SPARSE_GATE, spec, 1));
	struct sparse_gate_params pc = {.n = n, .n_rows = n_rows, .std_mul = std_mul};
	struct gpu_view views[] = {ops_aligned(g, gate, 4, &pc.g_offset)};
	uint32_t gx, gy;
	gpu_groups_1d(g, n_rows, &gx, &gy);
	return gpu_dispatch(rec, p, views, 1, &pc, sizeof pc, gx, gy, 1);
}
