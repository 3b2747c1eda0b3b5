/* Gemma 3n's AltUp on the GPU (docs/gemma3n.md; the reference is tests/ref/forward_ref_altup.c):
 * the 4 streams around every layer, LAuReL beside attention, the per-layer inputs. The layer's own
 * attention and FFN are forward.c's blocks, run on x = the active prediction; these functions
 * record what comes before, between and after them. Per chunk of n tokens the state is
 * stream-major: streams and pred [4][n][E], the per-layer inputs [L][n][P]. */
#include <math.h>

#include "graph/altup.h"
#include "graph/forward_internal.h"

/* mod [n][4] = tanh(altup_router . (rms(src) * altup_router_norm / E)) */
static int modalities(struct fwd_state *s, struct gpu_rec *rec, const struct layer_weights *L, struct gpu_view src,
                      uint32_t n)
{
	uint32_t E = s->m->hp.n_embd;
	struct gpu_view t = fwd_rows(&s->altup_tmp, 0, n, E), mod = fwd_rows(&s->altup_mod, 0, n, 4);
	TRY(op_rms_norm(rec, t, src, fwd_whole(&L->altup_router_norm), E, n, 0, s->m->hp.norm_eps));
	TRY(op_scale(rec, t, t, n * E, 1.0f / (float)E));
	TRY(fwd_linear(rec, mod, &L->altup_router, t, n, false));
	return op_softcap(rec, mod, mod, n * 4, 1.0f); /* 1 tanh(x / 1) */
}

static struct gpu_view stream(const struct gpu_buffer *b, uint32_t k, uint32_t n, uint32_t E)
{
	struct gpu_view v = {b, (VkDeviceSize)k * n * E * 4, (VkDeviceSize)n * E * 4};
	return v;
}

int altup_record_embed(struct fwd_state *s, struct gpu_rec *rec, uint32_t n)
{
	const struct hparams *hp = &s->m->hp;
	const struct model_weights *w = s->w;
	uint32_t E = hp->n_embd, P = hp->n_embd_per_layer, L = hp->n_layer;
	struct gpu_view x0 = fwd_rows(&s->x, 0, n, E);
	/* the per-layer inputs: rms(W_plm x0 / sqrt(E)) per layer's 256 * norm, plus the per-layer token
	 * embedding times sqrt(256), over sqrt(2); into [L][n][P] */
	struct gpu_view proj = fwd_rows(&s->altup_big, 0, n, (uint64_t)L * P), ple = fwd_rows(&s->altup_big2, 0, n, (uint64_t)L * P);
	TRY(fwd_linear(rec, proj, &w->ple_model_proj, x0, n, false));
	TRY(op_scale(rec, proj, proj, n * L * P, 1.0f / sqrtf((float)E)));
	TRY(op_rms_norm(rec, proj, proj, fwd_whole(&w->ple_model_norm), P, n * L, 0, hp->norm_eps));
	TRY(fwd_embed_table(s, rec, ple, &w->ple_embd, n, L * P, sqrtf((float)P)));
	TRY(op_altup_ple(rec, fwd_rows(&s->altup_inp, 0, (uint64_t)L * n, P), proj, ple, n, P, L));
	/* the streams: x0, and altup_proj[k] x0 rescaled to |x0| (the three projections as one matrix) */
	struct weight all = w->altup_proj;
	all.n_out *= all.n_mat, all.n_mat = 1;
	struct gpu_view y = fwd_rows(&s->altup_big, 0, n, 3ull * E);
	TRY(fwd_linear(rec, y, &all, x0, n, false));
	return op_altup_init(rec, fwd_rows(&s->altup_s, 0, 4ull * n, E), x0, y, n, E);
}

int altup_record_pre(struct fwd_state *s, struct gpu_rec *rec, uint32_t il, uint32_t n)
{
	const struct hparams *hp = &s->m->hp;
	const struct layer_weights *L = &s->w->layers[il];
	uint32_t E = hp->n_embd, R = hp->laurel_rank;
	struct gpu_view streams = fwd_rows(&s->altup_s, 0, 4ull * n, E), pred = fwd_rows(&s->altup_pred, 0, 4ull * n, E);
	struct gpu_view x = fwd_rows(&s->x, 0, n, E);
	TRY(modalities(s, rec, L, stream(&s->altup_s, 0, n, E), n));
	TRY(op_altup_predict(rec, pred, x, streams, fwd_rows(&s->altup_mod, 0, n, 4), fwd_whole(&L->altup_predict), n, E));
	/* LAuReL on the normed active prediction: rms(laurel_r (laurel_l cur)) * norm + cur */
	struct gpu_view cur = fwd_rows(&s->altup_tmp, 0, n, E), low = fwd_rows(&s->altup_low, 0, n, R);
	struct gpu_view laurel = fwd_rows(&s->altup_laurel, 0, n, E);
	TRY(op_rms_norm(rec, cur, x, fwd_whole(&L->attn_norm), E, n, 0, hp->norm_eps));
	TRY(fwd_linear(rec, low, &L->laurel_l, cur, n, false));
	TRY(fwd_linear(rec, laurel, &L->laurel_r, low, n, false));
	TRY(op_rms_norm(rec, laurel, laurel, fwd_whole(&L->laurel_norm), E, n, 0, hp->norm_eps));
	return op_add(rec, laurel, laurel, cur, n * E);
}

int altup_record_mid(struct fwd_state *s, struct gpu_rec *rec, uint32_t il, uint32_t n)
{
	(void)il;
	uint32_t E = s->m->hp.n_embd;
	struct gpu_view x = fwd_rows(&s->x, 0, n, E);
	TRY(op_add(rec, x, x, fwd_rows(&s->altup_laurel, 0, n, E), n * E));
	return op_scale(rec, x, x, n * E, 1.0f / sqrtf(2.0f));
}

int altup_record_post(struct fwd_state *s, struct gpu_rec *rec, uint32_t il, uint32_t n)
{
	const struct hparams *hp = &s->m->hp;
	const struct layer_weights *L = &s->w->layers[il];
	uint32_t E = hp->n_embd, P = hp->n_embd_per_layer;
	struct gpu_view streams = fwd_rows(&s->altup_s, 0, 4ull * n, E), pred = fwd_rows(&s->altup_pred, 0, 4ull * n, E);
	struct gpu_view x = fwd_rows(&s->x, 0, n, E), fp = fwd_rows(&s->proj, 0, n, E);
	TRY(modalities(s, rec, L, x, n));
	TRY(op_altup_correct(rec, streams, fp, pred, fwd_rows(&s->altup_mod, 0, n, 4), fwd_whole(&L->altup_correct), x,
	                     fwd_whole(&L->altup_scale), n, E));
	/* the per-layer input: rms(proj (gelu(inp_gate fp) * inp[il])) * post_norm into streams 1..3 */
	struct gpu_view g = fwd_rows(&s->altup_low, 0, n, P), p = fwd_rows(&s->altup_tmp, 0, n, E);
	struct gpu_view inp = {&s->altup_inp, (VkDeviceSize)il * n * P * 4, (VkDeviceSize)n * P * 4};
	TRY(fwd_linear(rec, g, &L->ple_gate, fp, n, false));
	TRY(op_glu(rec, g, g, inp, P, n, GLU_GEGLU));
	TRY(fwd_linear(rec, p, &L->ple_proj, g, n, false));
	TRY(op_rms_norm(rec, p, p, fwd_whole(&L->ple_norm), E, n, 0, hp->norm_eps));
	return op_altup_inject(rec, streams, p, n, E);
}

int altup_record_merge(struct fwd_state *s, struct gpu_rec *rec, uint32_t n)
{
	const struct model_weights *w = s->w;
	uint32_t E = s->m->hp.n_embd;
	for (uint32_t k = 0; k < 3; k++) {
		struct weight uk = w->altup_unembd;
		uk.view.offset += (VkDeviceSize)k * E * uk.row_bytes;
		uk.view.size = (VkDeviceSize)E * uk.row_bytes;
		uk.n_mat = 1;
		TRY(fwd_linear(rec, stream(&s->altup_big, k, n, E), &uk, stream(&s->altup_s, k + 1, n, E), n, false));
	}
	return op_altup_merge(rec, fwd_rows(&s->x, 0, n, E), stream(&s->altup_s, 0, n, E), fwd_rows(&s->altup_big, 0, 3ull * n, E),
	                      n, E);
}

void altup_widths(const struct model_file *m, uint32_t n_batch, struct altup_widths *w)
{
	const struct hparams *hp = &m->hp;
	uint64_t E = hp->n_embd, P = hp->n_embd_per_layer, L = hp->n_layer, B = n_batch;
	w->streams = 4 * B * E * 4;
	w->inp = L * B * P * 4;
	w->big = B * (L * P > 3 * E ? L * P : 3 * E) * 4;
	w->low = B * (P > hp->laurel_rank ? P : hp->laurel_rank) * 4;
	w->row = B * E * 4;
	w->mod = B * 4 * 4;
}
