/* Multi-head latent attention (deepseek2: DeepSeek V2/V3, Kimi K2; kimi-linear's MLA layers) as
 * llama.cpp's src/models/deepseek2.cpp and kimi-linear.cpp compute it, in float64, in both of its
 * forms:
 *
 *   h = rms(x) * attn_norm
 *   q = W_q h, or W_qb (rms(W_qa h) * q_a_norm)           per head [q_nope (nope) | q_pe (rope)]
 *   [c | k_pe] = W_kv_a h;  c = rms(c) * kv_a_norm       k_pe is not normed
 *   q_pe, k_pe roped (NORM pairs; not at all on a layer without RoPE, kimi-linear's); one k_pe
 *   serves every head; the cache row is [c | k_pe]
 *
 *   naive     K_h = [W_UK[h] c | k_pe],  V_h = W_UV[h] c,  o_h = softmax(s Q_h.K_h) V_h
 *   absorbed  q_abs_h = W_UK[h]^T q_nope_h;  score = s (q_abs_h.c + q_pe_h.k_pe);
 *             o_lat_h = sum_j p_j c_j;  o_h = W_UV[h] o_lat_h
 *
 *   out = W_o [o_1 .. o_H]
 *
 * q_nope.(W_UK c) = (W_UK^T q_nope).c and sum_j p_j W_UV c_j = W_UV sum_j p_j c_j, so the two
 * forms differ only in the order of the sums (test_forward_ref shows them equal). s is
 * ref_mla_kq_scale, or 1/sqrt(Dk) on a layer without RoPE. W_UK[h] and W_UV[h] come from
 * attn_k_b / attn_v_b, or from the legacy attn_kv_b that was split into them; the functions below
 * hide which. */
#include <math.h>
#include <string.h>

#include "base/status.h"
#include "forward_ref_internal.h"
#include "loader/quant.h"
#include "mla_ref.h"

/* ---- the per-head up-projections, whichever tensor holds them ---- */

/* rows [first, first + n) of matrix mat of w, as a matrix of its own */
static struct ref_matrix rows(const struct ref_matrix *w, uint64_t mat, uint64_t first, uint64_t n)
{
	struct ref_matrix r = *w;
	r.data = w->data + (mat * w->n_out + first) * w->row_bytes;
	r.n_out = n;
	r.n_mat = 1;
	return r;
}

/* y = W^T x: y[i] = sum_r W[r][i] x[r] (y has n_in entries, x n_out). For the products llama.cpp
 * never forms (W_UK c from attn_k_b, W_UK^T q from attn_kv_b), so no llama-cpu activation rounding. */
static int matvec_t(struct ref_forward *f, double *y, const struct ref_matrix *w, const double *x)
{
	memset(y, 0, w->n_in * sizeof *y);
	for (uint64_t r = 0; r < w->n_out; r++) {
		TRY(quant_dequantize(w->type, w->data + r * w->row_bytes, f->row, w->n_in));
		for (uint64_t i = 0; i < w->n_in; i++) y[i] += (double)f->row[i] * x[r];
	}
	return VKLLM_OK;
}

struct heads {
	uint32_t H, nope, rope, Dk, Dv, kv_lora;
};

static struct heads heads_of(const struct ref_forward *f, const struct ref_layer *L)
{
	const struct hparams *hp = f->hp;
	struct heads s = {.H = L->d->n_head, .Dk = hparams_mla_head_k(hp), .Dv = hparams_mla_head_v(hp),
	                  .rope = hp->n_rot, .kv_lora = hp->n_lora_kv};
	s.nope = s.Dk - s.rope;
	return s;
}

/* k_nope = W_UK[h] c: attn_k_b holds W_UK[h] transposed ({nope, kv_lora}: kv_lora rows of nope);
 * attn_kv_b holds it as head h's first nope rows */
static int uk(struct ref_forward *f, const struct ref_layer *L, const struct heads *s, uint32_t h, double *k_nope,
              const double *c)
{
	if (L->wk_b.data) {
		struct ref_matrix m = rows(&L->wk_b, h, 0, s->kv_lora);
		return matvec_t(f, k_nope, &m, c);
	}
	struct ref_matrix m = rows(&L->wkv_b, 0, (uint64_t)h * (s->nope + s->Dv), s->nope);
	return ref_matvec(f, k_nope, &m, 0, c);
}

/* q_abs = W_UK[h]^T q_nope */
static int uk_t(struct ref_forward *f, const struct ref_layer *L, const struct heads *s, uint32_t h, double *q_abs,
                const double *q_nope)
{
	if (L->wk_b.data) {
		struct ref_matrix m = rows(&L->wk_b, h, 0, s->kv_lora);
		return ref_matvec(f, q_abs, &m, 0, q_nope);
	}
	struct ref_matrix m = rows(&L->wkv_b, 0, (uint64_t)h * (s->nope + s->Dv), s->nope);
	return matvec_t(f, q_abs, &m, q_nope);
}

/* v = W_UV[h] c: attn_v_b's matrix h ({kv_lora, Dv}), or head h's last Dv rows of attn_kv_b */
static int uv(struct ref_forward *f, const struct ref_layer *L, const struct heads *s, uint32_t h, double *v,
              const double *c)
{
	struct ref_matrix m = L->wv_b.data ? rows(&L->wv_b, h, 0, s->Dv)
	                                   : rows(&L->wkv_b, 0, (uint64_t)h * (s->nope + s->Dv) + s->nope, s->Dv);
	return ref_matvec(f, v, &m, 0, c);
}

/* ---- the two forms: o [H][Dv] from q [H][Dk] (roped) and the latent cache rows 0..pos ---- */

static int naive(struct ref_forward *f, const struct ref_layer *L, const struct heads *s, double *o, const double *q,
                 uint32_t pos, double scale)
{
	uint32_t row = s->kv_lora + s->rope;
	for (uint32_t h = 0; h < s->H; h++) {
		const double *qh = q + (uint64_t)h * s->Dk;
		double mx = -INFINITY, den = 0, *k = f->kd, *v = f->vd, *oh = o + (uint64_t)h * s->Dv;
		for (uint32_t j = 0; j <= pos; j++) {
			/* the head's key, decompressed: [W_UK[h] c_j | k_pe_j] */
			const double *c = L->lat_cache + (uint64_t)j * row;
			TRY(uk(f, L, s, h, k, c));
			memcpy(k + s->nope, c + s->kv_lora, s->rope * sizeof *k);
			double dot = 0;
			for (uint32_t i = 0; i < s->Dk; i++) dot += qh[i] * k[i];
			f->scores[j] = scale * dot;
			mx = fmax(mx, f->scores[j]);
		}
		memset(oh, 0, s->Dv * sizeof *oh);
		for (uint32_t j = 0; j <= pos; j++) {
			double p = exp(f->scores[j] - mx);
			den += p;
			TRY(uv(f, L, s, h, v, L->lat_cache + (uint64_t)j * row));
			for (uint32_t i = 0; i < s->Dv; i++) oh[i] += p * v[i];
		}
		for (uint32_t i = 0; i < s->Dv; i++) oh[i] /= den;
	}
	return VKLLM_OK;
}

static int absorbed(struct ref_forward *f, const struct ref_layer *L, const struct heads *s, double *o, const double *q,
                    uint32_t pos, double scale)
{
	for (uint32_t h = 0; h < s->H; h++) {
		const double *qh = q + (uint64_t)h * s->Dk;
		TRY(uk_t(f, L, s, h, f->q_abs + (uint64_t)h * s->kv_lora, qh));
		memcpy(f->q_pe + (uint64_t)h * s->rope, qh + s->nope, s->rope * sizeof *qh);
	}
	mla_attention_lat(f->o_lat, f->q_abs, f->q_pe, L->lat_cache, s->H, s->kv_lora, s->rope, pos + 1, scale, f->scores);
	for (uint32_t h = 0; h < s->H; h++)
		TRY(uv(f, L, s, h, o + (uint64_t)h * s->Dv, f->o_lat + (uint64_t)h * s->kv_lora));
	return VKLLM_OK;
}

/* ---- the block ---- */

/* deepseek2.cpp's kq_scale. llama_context gives the rope attn_factor = A / (1 + 0.1 ln s), with
 * A = 1 when the file has a yarn_log_multiplier (forward_ref.c yarn_params), and ggml's rope
 * multiplies that 1 + 0.1 ln s back in; the graph undoes the division too (attn_factor_org) and
 * scales the softmax by mscale^2, mscale = attn_factor_org (1 + 0.1 m_all ln s). In f32, as the
 * graph computes it. Without YaRN: s = 1 and this is rope.scaling.attn_factor^2 / sqrt(Dk). */
double ref_mla_kq_scale(const struct ref_forward *f)
{
	const struct hparams *hp = f->hp;
	float fs = hp->rope_freq_scale > 0 ? hp->rope_freq_scale : 1.0f;
	float m_all = hp->rope_yarn_log_mul / 0.1f; /* the loader's TAG_DEEPSEEK2_YARN_LOG_MUL_FIX */
	float attn_factor_org = (float)f->attn_factor * (1.0f + 0.1f * logf(1.0f / fs));
	float mscale = attn_factor_org * (1.0f + 0.1f * m_all * logf(1.0f / fs));
	return 1.0f * mscale * mscale / sqrtf((float)hparams_mla_head_k(hp));
}

int ref_mla_block(struct ref_forward *f, uint32_t il, double *x, uint32_t pos)
{
	const struct hparams *hp = f->hp;
	struct ref_layer *L = &f->layers[il];
	struct heads s = heads_of(f, L);
	uint32_t E = hp->n_embd, row = s.kv_lora + s.rope;
	double eps = hp->norm_eps, *h = f->h, *q = f->q, *kv = f->k;

	ref_rms_norm(h, x, L->attn_norm, E, eps);
	if (L->wq_a.data) {
		double *qa = f->v;
		TRY(ref_matvec(f, qa, &L->wq_a, 0, h));
		ref_rms_norm(qa, qa, L->q_a_norm, (uint32_t)L->wq_a.n_out, eps);
		TRY(ref_matvec(f, q, &L->wq_b, 0, qa));
	} else {
		TRY(ref_matvec(f, q, &L->wq, 0, h));
	}
	TRY(ref_matvec(f, kv, &L->wkv_a, 0, h));
	ref_rms_norm(kv, kv, L->kv_a_norm, s.kv_lora, eps);

	/* RoPE on the rope part only: q_pe at offset nope in each head, the one k_pe after c.
	 * kimi-linear's MLA has no RoPE (rope type NONE): q_pe and k_pe stay plain extra dims */
	if (L->d->rope) {
		struct ref_rope_params rp;
		ref_rope_params(f, L->d, &rp);
		ref_rope(q + s.nope, s.H, s.Dk, pos, &rp);
		ref_rope(kv + s.kv_lora, 1, s.rope, pos, &rp);
	}

	/* the latent cache row; an f16 cache (the GPU's) rounds c and the roped k_pe, and both forms
	 * read the rounded row */
	double *lc = L->lat_cache + (uint64_t)pos * row;
	for (uint32_t i = 0; i < row; i++) lc[i] = f->kv_f16 ? ref_f16(kv[i]) : kv[i];

	/* without RoPE there is no YaRN either: kimi-linear.cpp's kq_scale_mla is 1/sqrtf(key_length_mla),
	 * whatever rope.scaling keys the file has */
	double scale = L->d->rope ? f->mla_kq_scale : 1.0f / sqrtf((float)s.Dk);
	enum ref_mla_form form = f->mla_form;
	if (form == REF_MLA_AUTO) form = L->wk_b.data ? REF_MLA_ABSORBED : REF_MLA_NAIVE;
	double *o = f->att;
	if (form == REF_MLA_NAIVE) TRY(naive(f, L, &s, o, q, pos, scale));
	else TRY(absorbed(f, L, &s, o, q, pos, scale));

	double *out = f->proj;
	TRY(ref_matvec(f, out, &L->wo, 0, o));
	for (uint32_t i = 0; i < E; i++) x[i] += out[i];
	return VKLLM_OK;
}
