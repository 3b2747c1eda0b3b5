/* Gemma 3n's forward pass in the reference (docs/gemma3n.md): AltUp's four streams around every
 * layer, LAuReL beside attention, the per-layer inputs, in float64, as src/models/gemma3n.cpp builds
 * it. The layer's own attention and FFN are ref_attention_block and ref_ffn_block (sandwich norms,
 * with the options Gemma 3n sets: v normed, KV read from an earlier layer, the sparse gate).
 *
 *   x0 = tok_embd[t] * sqrt(n_embd)
 *   inp_l = (rms(W_plm x0 / sqrt(n_embd))_l * per_layer_proj_norm + ple[t]_l * sqrt(256)) / sqrt(2)
 *   s_0 = x0, s_k = altup_proj[k-1] x0 rescaled to |x0| (L2), k = 1..3
 *   per layer:
 *     mod  = tanh(altup_router . (rms(s_0) * altup_router_norm / n_embd))
 *     pred_j = s_j + sum_k C[j][k] s_k,   C[j][k] = (altup_predict_coef . mod)[4j + k]
 *     a = pred_0;  cur = rms(a) * attn_norm
 *     laurel = rms(laurel_r (laurel_l cur)) * laurel_post_norm + cur
 *     o = a + rms(attn(cur)) * post_attention_norm                     (ref_attention_block on a)
 *     y = (o + laurel) / sqrt(2);  y += rms(ffn(rms(y) * ffn_norm)) * post_ffw_norm   (ref_ffn_block)
 *     s_j = pred_j + ((altup_correct_coef . mod(y)) + 1)_j * (y - pred_0)
 *     p = rms(proj (gelu(inp_gate (s_0 * altup_correct_scale)) * inp_l)) * post_norm;  s_j += p, j = 1..3
 *   x = (s_0 + sum_k unembd_k) / 4, unembd_k = altup_unembd_proj[k-1] s_k rescaled to |s_0|
 *   logits = 30 tanh(output . rms(x) * output_norm / 30) */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "forward_ref_internal.h"
#include "loader/quant.h"

struct ref_altup_layer {
	struct ref_matrix inp_gate, proj, correct_coef, predict_coef, router, laurel_l, laurel_r;
	double *post_norm, *correct_scale, *router_norm, *laurel_post_norm;
};

struct ref_altup {
	struct ref_matrix proj, unembd_proj;     /* {E, E, 3} */
	struct ref_matrix ple, ple_proj;         /* per_layer_token_embd {P L, V}, per_layer_model_proj {E, P L} */
	double *ple_proj_norm;                   /* [P] */
	struct ref_altup_layer *layers;
	/* scratch */
	double *streams;                         /* [n][A][E] */
	double *inp;                             /* [n][L][P] */
	double *pred, *tmp, *mod, *coef, *low, *laurel, *small;
	uint32_t n_cap;
	float *row;
};

int ref_altup_load(struct ref_forward *f)
{
	const struct hparams *hp = f->hp;
	struct ref_altup *u = calloc(1, sizeof *u);
	if (!u) return fail(VKLLM_E_NOMEM, "out of host memory");
	f->altup = u;
	TRY(ref_load_matrix(f, &u->proj, -1, "altup_proj.weight"));
	TRY(ref_load_matrix(f, &u->unembd_proj, -1, "altup_unembd_proj.weight"));
	TRY(ref_load_matrix(f, &u->ple, -1, "per_layer_token_embd.weight"));
	TRY(ref_load_matrix(f, &u->ple_proj, -1, "per_layer_model_proj.weight"));
	TRY(ref_load_vector(f, &u->ple_proj_norm, -1, "per_layer_proj_norm.weight"));
	u->layers = calloc(hp->n_layer, sizeof *u->layers);
	if (!u->layers) return fail(VKLLM_E_NOMEM, "out of host memory");
	for (uint32_t il = 0; il < hp->n_layer; il++) {
		struct ref_altup_layer *l = &u->layers[il];
		int i = (int)il;
		TRY(ref_load_matrix(f, &l->inp_gate, i, "inp_gate.weight"));
		TRY(ref_load_matrix(f, &l->proj, i, "proj.weight"));
		TRY(ref_load_matrix(f, &l->correct_coef, i, "altup_correct_coef.weight"));
		TRY(ref_load_matrix(f, &l->predict_coef, i, "altup_predict_coef.weight"));
		TRY(ref_load_matrix(f, &l->router, i, "altup_router.weight"));
		TRY(ref_load_matrix(f, &l->laurel_l, i, "laurel_l.weight"));
		TRY(ref_load_matrix(f, &l->laurel_r, i, "laurel_r.weight"));
		TRY(ref_load_vector(f, &l->post_norm, i, "post_norm.weight"));
		TRY(ref_load_vector(f, &l->correct_scale, i, "altup_correct_scale.weight"));
		TRY(ref_load_vector(f, &l->router_norm, i, "altup_router_norm.weight"));
		TRY(ref_load_vector(f, &l->laurel_post_norm, i, "laurel_post_norm.weight"));
	}
	uint64_t E = hp->n_embd, A = hp->n_altup, PL = (uint64_t)hp->n_embd_per_layer * hp->n_layer;
	u->pred = calloc(A * E, sizeof *u->pred);
	u->tmp = calloc(E > PL ? E : PL, sizeof *u->tmp);
	u->mod = calloc(A, sizeof *u->mod);
	u->coef = calloc(A * A, sizeof *u->coef);
	u->low = calloc(hp->laurel_rank > hp->n_embd_per_layer ? hp->laurel_rank : hp->n_embd_per_layer, sizeof *u->low);
	u->laurel = calloc(E, sizeof *u->laurel);
	u->small = calloc(E, sizeof *u->small);
	u->row = malloc(PL * sizeof *u->row);
	if (!u->pred || !u->tmp || !u->mod || !u->coef || !u->low || !u->laurel || !u->small || !u->row)
		return fail(VKLLM_E_NOMEM, "out of host memory");
	return VKLLM_OK;
}

void ref_altup_free(struct ref_forward *f)
{
	struct ref_altup *u = f->altup;
	if (!u) return;
	for (uint32_t il = 0; u->layers && il < f->hp->n_layer; il++) {
		struct ref_altup_layer *l = &u->layers[il];
		free(l->post_norm), free(l->correct_scale), free(l->router_norm), free(l->laurel_post_norm);
	}
	free(u->layers), free(u->ple_proj_norm), free(u->streams), free(u->inp), free(u->pred), free(u->tmp);
	free(u->mod), free(u->coef), free(u->low), free(u->laurel), free(u->small), free(u->row);
	free(u);
	f->altup = NULL;
}

static double l2(const double *x, uint32_t n)
{
	double s = 0;
	for (uint32_t i = 0; i < n; i++) s += x[i] * x[i];
	return sqrt(s);
}

/* mod = tanh(router . (rms(x) * router_norm / n_embd)) */
static int modalities(struct ref_forward *f, const struct ref_altup_layer *l, const double *x, double *mod)
{
	struct ref_altup *u = f->altup;
	uint32_t E = f->hp->n_embd;
	ref_rms_norm(u->small, x, l->router_norm, E, f->hp->norm_eps);
	for (uint32_t i = 0; i < E; i++) u->small[i] /= (double)E;
	TRY(ref_matvec(f, mod, &l->router, 0, u->small));
	for (uint32_t j = 0; j < f->hp->n_altup; j++) mod[j] = tanh(mod[j]);
	return VKLLM_OK;
}

/* the per-layer inputs of one token: inp [L][P] */
static int per_layer_inputs(struct ref_forward *f, uint32_t token, const double *x0, double *inp)
{
	struct ref_altup *u = f->altup;
	const struct hparams *hp = f->hp;
	uint32_t P = hp->n_embd_per_layer, L = hp->n_layer;
	uint64_t PL = (uint64_t)P * L;
	TRY(ref_matvec(f, u->tmp, &u->ple_proj, 0, x0));
	TRY(quant_dequantize(u->ple.type, u->ple.data + (uint64_t)token * u->ple.row_bytes, u->row, PL));
	double proj_scale = 1.0 / sqrt((double)hp->n_embd), ple_scale = sqrt((double)P);
	for (uint32_t il = 0; il < L; il++) {
		double *p = u->tmp + (uint64_t)il * P, *out = inp + (uint64_t)il * P;
		for (uint32_t i = 0; i < P; i++) p[i] *= proj_scale;
		ref_rms_norm(p, p, u->ple_proj_norm, P, hp->norm_eps);
		for (uint32_t i = 0; i < P; i++) out[i] = (p[i] + u->row[(uint64_t)il * P + i] * ple_scale) / sqrt(2.0);
	}
	return VKLLM_OK;
}

/* s_k = m_k x rescaled to |target| (L2) for k = 1..A-1: m the stacked projections */
static int project_streams(struct ref_forward *f, const struct ref_matrix *m, double *out_k1, const double *const *in,
                           double target)
{
	uint32_t E = f->hp->n_embd;
	for (uint32_t k = 0; k + 1 < f->hp->n_altup; k++) {
		double *o = out_k1 + (uint64_t)k * E;
		TRY(ref_matvec(f, o, m, k, in[k]));
		double mag = l2(o, E);
		for (uint32_t i = 0; i < E; i++) o[i] = o[i] * target / mag;
	}
	return VKLLM_OK;
}

static int layer(struct ref_forward *f, uint32_t il, double *s, const double *inp, uint32_t pos)
{
	struct ref_altup *u = f->altup;
	const struct hparams *hp = f->hp;
	const struct ref_altup_layer *l = &u->layers[il];
	const struct ref_layer *RL = &f->layers[il];
	uint32_t E = hp->n_embd, A = hp->n_altup, P = hp->n_embd_per_layer;
	double eps = hp->norm_eps;

	/* predict */
	TRY(modalities(f, l, s, u->mod));
	TRY(ref_matvec(f, u->coef, &l->predict_coef, 0, u->mod));
	for (uint32_t j = 0; j < A; j++)
		for (uint32_t i = 0; i < E; i++) {
			double v = s[(uint64_t)j * E + i];
			for (uint32_t k = 0; k < A; k++) v += u->coef[j * A + k] * s[(uint64_t)k * E + i];
			u->pred[(uint64_t)j * E + i] = v;
		}

	/* LAuReL on the normed active prediction */
	double *a = u->pred, *cur = u->small, *y = u->tmp;
	ref_rms_norm(cur, a, RL->attn_norm, E, eps);
	TRY(ref_matvec(f, u->low, &l->laurel_l, 0, cur));
	TRY(ref_matvec(f, u->laurel, &l->laurel_r, 0, u->low));
	ref_rms_norm(u->laurel, u->laurel, l->laurel_post_norm, E, eps);
	for (uint32_t i = 0; i < E; i++) u->laurel[i] += cur[i];

	/* attention (the block norms its input itself), then y = (o + laurel) / sqrt(2), then the FFN */
	memcpy(y, a, E * sizeof *y);
	TRY(ref_attention_block(f, il, y, pos));
	for (uint32_t i = 0; i < E; i++) y[i] = (y[i] + u->laurel[i]) / sqrt(2.0);
	TRY(ref_ffn_block(f, il, y));

	/* correct */
	TRY(modalities(f, l, y, u->mod));
	TRY(ref_matvec(f, u->coef, &l->correct_coef, 0, u->mod));
	for (uint32_t j = 0; j < A; j++)
		for (uint32_t i = 0; i < E; i++)
			s[(uint64_t)j * E + i] = u->pred[(uint64_t)j * E + i] + (u->coef[j] + 1.0) * (y[i] - u->pred[i]);

	/* the per-layer input, gated by the corrected active stream, into streams 1..A-1 */
	for (uint32_t i = 0; i < E; i++) cur[i] = s[i] * l->correct_scale[i];
	TRY(ref_matvec(f, u->low, &l->inp_gate, 0, cur));
	for (uint32_t i = 0; i < P; i++) u->low[i] = ref_gelu(f, u->low[i]) * inp[(uint64_t)il * P + i];
	TRY(ref_matvec(f, cur, &l->proj, 0, u->low));
	ref_rms_norm(cur, cur, l->post_norm, E, eps);
	for (uint32_t j = 1; j < A; j++)
		for (uint32_t i = 0; i < E; i++) s[(uint64_t)j * E + i] += cur[i];
	return VKLLM_OK;
}

int ref_altup_batch(struct ref_forward *f, double *x, const uint32_t *tokens, uint32_t n, uint32_t pos0, double *logits,
                    bool all_logits)
{
	struct ref_altup *u = f->altup;
	const struct hparams *hp = f->hp;
	uint32_t E = hp->n_embd, A = hp->n_altup;
	uint64_t SL = (uint64_t)A * E, PL = (uint64_t)hp->n_embd_per_layer * hp->n_layer;
	if (n > u->n_cap) {
		free(u->streams), free(u->inp);
		u->streams = malloc((uint64_t)n * SL * sizeof *u->streams);
		u->inp = malloc((uint64_t)n * PL * sizeof *u->inp);
		u->n_cap = u->streams && u->inp ? n : 0;
		if (!u->n_cap) return fail(VKLLM_E_NOMEM, "out of host memory");
	}
	for (uint32_t t = 0; t < n; t++) {
		double *s = u->streams + t * SL, *x0 = s;
		TRY(ref_embed(f, x0, tokens[t]));
		TRY(per_layer_inputs(f, tokens[t], x0, u->inp + t * PL));
		const double *in[3] = {x0, x0, x0};
		TRY(project_streams(f, &u->proj, s + E, in, l2(x0, E)));
	}
	/* layer by layer over the batch, as batch() does: later layers read earlier layers' caches */
	for (uint32_t il = 0; il < hp->n_layer; il++) {
		for (uint32_t t = 0; t < n; t++) TRY(layer(f, il, u->streams + t * SL, u->inp + t * PL, pos0 + t));
		memcpy(f->hidden + (uint64_t)il * E, u->streams + (uint64_t)(n - 1) * SL, E * sizeof *x);
	}
	for (uint32_t t = 0; t < n; t++) {
		double *s = u->streams + t * SL, *xt = x + (uint64_t)t * E;
		const double *in[3] = {s + E, s + 2 * E, s + 3 * E};
		double *un = u->pred; /* [A - 1][E] */
		TRY(project_streams(f, &u->unembd_proj, un, in, l2(s, E)));
		for (uint32_t i = 0; i < E; i++) {
			double v = s[i];
			for (uint32_t k = 0; k + 1 < A; k++) v += un[(uint64_t)k * E + i];
			xt[i] = v / A;
		}
	}
	if (!logits) return VKLLM_OK;
	for (uint32_t t = all_logits ? 0 : n - 1; t < n; t++)
		TRY(ref_head(f, all_logits ? logits + (uint64_t)t * hp->n_vocab : logits, x + (uint64_t)t * E));
	return VKLLM_OK;
}
