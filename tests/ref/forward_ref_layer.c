/* The blocks of a layer, written as the math, in float64: RMSNorm, linear layers, RoPE, causal
 * GQA attention over the cache (sliding window where the recipe says, gpt-oss's sinks; latent
 * attention is in forward_ref_mla.c), the GLU feed-forward and the MoE feed-forward. Each follows
 * the llama.cpp function named beside it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "forward_ref_internal.h"
#include "glu_ref.h"
#include "moe_ref.h"
#include "loader/half.h"
#include "loader/quant.h"

/* ---- building blocks ---- */

int ref_matvec(struct ref_forward *f, double *y, const struct ref_matrix *w, uint64_t mat, const double *x)
{
	const uint8_t *base = w->data + mat * w->n_out * w->row_bytes;
	if (f->numerics == REF_LLAMA_CPU) {
		ref_llama_cpu_activations(f->xq, f->xtmp, x, w->n_in, w->type);
		x = f->xq;
	}
	for (uint64_t r = 0; r < w->n_out; r++) {
		TRY(quant_dequantize(w->type, base + r * w->row_bytes, f->row, w->n_in));
		double sum = 0;
		for (uint64_t i = 0; i < w->n_in; i++) sum += (double)f->row[i] * x[i];
		y[r] = sum;
	}
	return VKLLM_OK;
}

/* ggml_rms_norm, then build_norm's multiply by the weight */
void ref_rms_norm(double *y, const double *x, const double *w, uint32_t n, double eps)
{
	double ss = 0;
	for (uint32_t i = 0; i < n; i++) ss += x[i] * x[i];
	double scale = 1.0 / sqrt(ss / n + eps);
	for (uint32_t i = 0; i < n; i++) y[i] = x[i] * scale * (w ? w[i] : 1.0);
}

static void add_bias(double *y, const double *b, uint64_t n)
{
	if (b)
		for (uint64_t i = 0; i < n; i++) y[i] += b[i];
}

/* ---- RoPE (ggml_rope_ext: ggml-cpu/ops.cpp rope_yarn and rotate_pairs) ---- */

/* ggml_rope_yarn_corr_dims, in f32 as ggml computes it: floor and ceil make it a step function,
 * so the reference takes ggml's exact f32 values (beta_fast and beta_slow: llama.cpp's 32 and 1,
 * or the file's rope.scaling.yarn_beta_* where the arch reads them, mistral3) */
static void yarn_corr_dims(float dims[2], uint32_t n_rot, uint32_t n_ctx_orig, float base, float beta_fast, float beta_slow)
{
	float start = floorf((float)n_rot * logf((float)n_ctx_orig / (beta_fast * 2 * (float)M_PI)) / (2 * logf(base)));
	float end = ceilf((float)n_rot * logf((float)n_ctx_orig / (beta_slow * 2 * (float)M_PI)) / (2 * logf(base)));
	dims[0] = fmaxf(0, start);
	dims[1] = fminf((float)n_rot - 1, end);
}

void ref_rope_params(const struct ref_forward *f, const struct layer_desc *d, struct ref_rope_params *p)
{
	/* a plain layer (OLMo 3's sliding ones) has no YaRN ramp and magnitude 1 */
	bool plain = d->rope_plain;
	enum rope_kind kind = f->m->arch->rope;
	*p = (struct ref_rope_params){
		.neox = kind != ROPE_NORM, .sections = kind == ROPE_IMROPE ? f->hp->rope_sections : NULL,
		.n_rot = f->hp->n_rot, .n_ctx_orig = f->hp->n_ctx_orig_yarn,
		.base = d->rope_base, .freq_scale = d->rope_freq_scale,
		.ext_factor = plain ? 0.0 : f->ext_factor, .attn_factor = plain ? 1.0 : f->attn_factor, .ff = f->rope_freqs,
		.beta_fast = f->hp->yarn_beta_fast > 0 ? f->hp->yarn_beta_fast : 32.0f,
		.beta_slow = f->hp->yarn_beta_slow > 0 ? f->hp->yarn_beta_slow : 1.0f,
	};
}

void ref_rope(double *x, uint32_t n_heads, uint32_t head_dim, uint32_t pos, const struct ref_rope_params *p)
{
	float corr[2] = {0, 0};
	if (p->ext_factor != 0) yarn_corr_dims(corr, p->n_rot, p->n_ctx_orig, (float)p->base, p->beta_fast, p->beta_slow);
	double mscale = p->attn_factor;
	if (p->ext_factor != 0) mscale *= 1.0 + 0.1 * log(1.0 / p->freq_scale);
	uint32_t half = p->n_rot / 2;
	for (uint32_t i = 0; i < half; i++) {
		/* theta_i = pos * base^(-2i/n_rot) / ff_i, interpolated (freq_scale) and, for YaRN,
		 * ramped back to the extrapolated angle on the high-frequency pairs */
		/* IMROPE (qwen35): pair i takes its position from section rope_imrope_section(i) of the
		 * token's (pos, pos, pos, 0) (ggml_mrope_cache_init, llm_graph_input_pos::set_input) */
		uint32_t pi = p->sections && rope_imrope_section(p->sections, i) == 3 ? 0 : pos;
		double theta_extrap = pi * pow(p->base, -2.0 * i / p->n_rot) / (p->ff ? p->ff[i] : 1.0);
		double theta_interp = p->freq_scale * theta_extrap, theta = theta_interp;
		if (p->ext_factor != 0) {
			double ramp_y = (i - corr[0]) / fmax(0.001, corr[1] - corr[0]);
			double ramp_mix = (1 - fmin(1, fmax(0, ramp_y))) * p->ext_factor;
			theta = theta_interp * (1 - ramp_mix) + theta_extrap * ramp_mix;
		}
		double cs = cos(theta) * mscale, sn = sin(theta) * mscale;
		uint32_t j0 = p->neox ? i : 2 * i, j1 = p->neox ? i + half : 2 * i + 1;
		for (uint32_t h = 0; h < n_heads; h++) {
			double *xh = x + (uint64_t)h * head_dim, x0 = xh[j0], x1 = xh[j1];
			xh[j0] = x0 * cs - x1 * sn;
			xh[j1] = x0 * sn + x1 * cs;
		}
	}
}

/* llm_graph_input_attn_temp::set_input: the position is a float, (pos + offset) / floor divides in
 * f32 and floors, the log and the rest are double, and the factor is stored as f32 */
double ref_attn_temp(const struct hparams *hp, uint32_t pos)
{
	if (hp->attn_temp_scale == 0 || hp->attn_temp_floor == 0) return 1.0;
	float q = ((float)pos + (float)hp->attn_temp_offset) / (float)hp->attn_temp_floor;
	return (float)(log(floorf(q) + 1.0) * hp->attn_temp_scale + 1.0);
}

/* an f16 cache: the f32 value the GPU has, rounded once more to f16 */
double ref_f16(double x) { return half_to_f32(f32_to_half((float)x)); }

/* ---- attention (build_qkv, the arch's q/k norm and RoPE, build_attn_mha) ---- */

/* llama_hparams::is_masked_swa. LLAMA_SWA_TYPE_STANDARD: the query sees itself and the n_swa - 1
 * keys before it; LLAMA_SWA_TYPE_CHUNKED (Llama 4): the keys of its own n_chunk-token chunk */
static bool visible(uint32_t pq, uint32_t pk, uint32_t n_swa, uint32_t n_chunk)
{
	if (pk > pq) return false;
	if (n_chunk) return pk >= pq / n_chunk * n_chunk;
	return n_swa == 0 || pq - pk < n_swa;
}

int ref_attention_block(struct ref_forward *f, uint32_t il, double *x, uint32_t pos)
{
	const struct hparams *hp = f->hp;
	struct ref_layer *L = &f->layers[il];
	const struct layer_desc *d = L->d;
	if (d->attn == ATTN_MLA) return ref_mla_block(f, il, x, pos);
	if (d->attn == ATTN_GDN) return ref_gdn_block(f, il, x);
	if (d->attn == ATTN_KDA) return ref_kda_block(f, il, x);
	uint32_t E = hp->n_embd, D = hp->head_dim_k, Dv = hp->head_dim_v, H = d->n_head, Hkv = d->n_head_kv;
	uint32_t nq = H * D, nk = Hkv * D, nv = Hkv * Dv;
	double eps = hp->norm_eps;

	/* input norm: pre-norm archs; OLMo 2 feeds the residual stream in as it is */
	double *h = f->h;
	if (L->attn_norm) ref_rms_norm(h, x, L->attn_norm, E, eps);
	else memcpy(h, x, E * sizeof *h);

	double *q = f->q, *k = f->k, *v = f->v;
	/* Gemma 3n's last layers compute q only and read an earlier layer's keys and values */
	const struct ref_layer *KV = d->kv_shared ? &f->layers[d->kv_from] : L;
	TRY(ref_matvec(f, q, &L->wq, 0, h));
	if (!d->kv_shared) {
		TRY(ref_matvec(f, k, &L->wk, 0, h));
		TRY(ref_matvec(f, v, &L->wv, 0, h));
	}
	add_bias(q, L->bq, nq);
	add_bias(k, L->bk, nk);
	add_bias(v, L->bv, nv);
	/* gated attention (qwen3next, qwen35): attn_q's rows per head are [query (D) | gate (D)] */
	if (d->attn_out_gate) {
		for (uint32_t hh = 0; hh < H; hh++) {
			memcpy(f->gate + hh * D, q + (uint64_t)hh * 2 * D + D, D * sizeof *q);
			memmove(q + hh * D, q + (uint64_t)hh * 2 * D, D * sizeof *q);
		}
	}

	/* QK-norm: OLMo 2 over the whole projection, Qwen 3 and Gemma 3 per head; before RoPE */
	if (d->qk_norm == QK_NORM_FULL) {
		ref_rms_norm(q, q, L->q_norm, nq, eps);
		ref_rms_norm(k, k, L->k_norm, nk, eps);
	} else if (d->qk_norm == QK_NORM_HEAD) {
		for (uint32_t hh = 0; hh < H; hh++) ref_rms_norm(q + hh * D, q + hh * D, L->q_norm, D, eps);
		for (uint32_t hh = 0; hh < Hkv; hh++) ref_rms_norm(k + hh * D, k + hh * D, L->k_norm, D, eps);
	}

	if (d->rope) {
		struct ref_rope_params rp;
		ref_rope_params(f, d, &rp);
		ref_rope(q, H, D, pos, &rp);
		ref_rope(k, Hkv, D, pos, &rp);
	}
	/* Llama 4's "L2 norm": a weightless RMSNorm per head, after RoPE */
	if (d->qk_norm == QK_NORM_L2) {
		for (uint32_t hh = 0; hh < H; hh++) ref_rms_norm(q + hh * D, q + hh * D, NULL, D, eps);
		for (uint32_t hh = 0; hh < Hkv; hh++) ref_rms_norm(k + hh * D, k + hh * D, NULL, D, eps);
	}
	/* the attention temperature (mistral3; Llama 4's NoPE layers): q times the position's factor,
	 * after RoPE (ggml_mul(Qcur, inp_attn_scale)) */
	if (d->attn_temp) {
		double t = ref_attn_temp(hp, pos);
		for (uint32_t i = 0; i < nq; i++) q[i] *= t;
	}

	/* Gemma 3n: v through a weightless RMSNorm per head */
	if (d->v_norm)
		for (uint32_t hh = 0; hh < Hkv; hh++) ref_rms_norm(v + hh * Dv, v + hh * Dv, NULL, Dv, eps);
	if (!d->kv_shared) {
		double *kc = L->k_cache + (uint64_t)pos * nk, *vc = L->v_cache + (uint64_t)pos * nv;
		memcpy(kc, k, nk * sizeof *k);
		memcpy(vc, v, nv * sizeof *v);
		if (f->kv_f16) {
			for (uint32_t i = 0; i < nk; i++) kc[i] = ref_f16(kc[i]);
			for (uint32_t i = 0; i < nv; i++) vc[i] = ref_f16(vc[i]);
		}
	}

	/* softmax(scale * q.k) v over the visible keys, head h reading kv head h / (H / Hkv).
	 * Gemma 3 scales q by f_attention_scale and passes kq_scale 1: the same product. */
	double scale = hp->attn_scale > 0 ? hp->attn_scale : 1.0 / sqrt((double)D);
	uint32_t n_swa = d->swa ? hp->n_swa : 0, n_chunk = d->chunked ? hp->n_chunk : 0;
	for (uint32_t hh = 0; hh < H; hh++) {
		const double *qh = q + hh * D;
		uint32_t hk = hh / (H / Hkv);
		double mx = -INFINITY;
		for (uint32_t pk = 0; pk <= pos; pk++) {
			if (!visible(pos, pk, n_swa, n_chunk)) continue;
			const double *kr = KV->k_cache + (uint64_t)pk * nk + hk * D;
			double dot = 0;
			for (uint32_t i = 0; i < D; i++) dot += qh[i] * kr[i];
			f->scores[pk] = scale * dot;
			/* grok: c tanh(s / c) on the scaled score (llama-graph.cpp's grok branch) */
			if (hp->attn_softcap > 0) f->scores[pk] = hp->attn_softcap * tanh(f->scores[pk] / hp->attn_softcap);
			if (f->scores[pk] > mx) mx = f->scores[pk];
		}
		/* gpt-oss's sink (ggml_soft_max_add_sinks): one more logit in the softmax, as it is (no kq
		 * scale), with no value row: it joins the max and the denominator only */
		double den = 0;
		if (L->sinks) {
			mx = fmax(mx, L->sinks[hh]);
			den = exp(L->sinks[hh] - mx);
		}
		double *o = f->att + hh * Dv;
		memset(o, 0, Dv * sizeof *o);
		for (uint32_t pk = 0; pk <= pos; pk++) {
			if (!visible(pos, pk, n_swa, n_chunk)) continue;
			double p = exp(f->scores[pk] - mx);
			den += p;
			const double *vr = KV->v_cache + (uint64_t)pk * nv + hk * Dv;
			for (uint32_t i = 0; i < Dv; i++) o[i] += p * vr[i];
		}
		for (uint32_t i = 0; i < Dv; i++) o[i] /= den;
	}

	/* the output gate, elementwise: o *= sigmoid(gate) (ggml_sigmoid) */
	if (d->attn_out_gate)
		for (uint32_t i = 0; i < H * Dv; i++) f->att[i] *= 1.0 / (1.0 + exp(-f->gate[i]));

	double *out = f->proj;
	TRY(ref_matvec(f, out, &L->wo, 0, f->att));
	add_bias(out, L->bo, E);
	/* post-norm (OLMo 2) and sandwich (Gemma 3): the block's output is normed before the add */
	if (L->post_attn_norm) ref_rms_norm(out, out, L->post_attn_norm, E, eps);
	for (uint32_t i = 0; i < E; i++) x[i] += out[i];
	return VKLLM_OK;
}

/* ---- feed-forward (build_ffn with LLM_FFN_PAR, build_moe_ffn) ---- */

double ref_gelu(const struct ref_forward *f, double x)
{
	return f->numerics == REF_LLAMA_CPU ? ref_llama_cpu_gelu(x) : gelu_tanh_ref(x);
}

/* act(g) * u; gpt-oss's clamped SwiGLU clamps u as well (ggml_swiglu_oai, alpha 1.702, limit 7) */
static double glu_act(const struct ref_forward *f, enum glu_act act, double g, double u)
{
	switch (act) {
	case ACT_SILU: return silu_ref(g) * u;
	case ACT_GELU_TANH: return ref_gelu(f, g) * u;
	case ACT_SWIGLU_OAI: return swiglu_oai_ref(g, u);
	}
	return NAN;
}

/* out = W_down (act(W_gate h + b) * (W_up h + b)) + b, for matrix `mat` of the stacks */
static int glu(struct ref_forward *f, double *out, const struct ref_matrix *gate, const struct ref_matrix *up,
               const struct ref_matrix *down, const double *gate_b, const double *up_b, const double *down_b,
               uint64_t mat, enum glu_act act, bool sparse, const double *h)
{
	uint64_t F = gate->n_out;
	TRY(ref_matvec(f, f->ff_gate, gate, mat, h));
	TRY(ref_matvec(f, f->ff_up, up, mat, h));
	add_bias(f->ff_gate, gate_b, F);
	add_bias(f->ff_up, up_b, F);
	if (sparse) { /* Gemma 3n: relu(g - (mean(g) + 1.6449 std(g))), std with n - 1 (gemma3n.cpp gaussian_topk) */
		double mean = 0, var = 0;
		for (uint64_t i = 0; i < F; i++) mean += f->ff_gate[i];
		mean /= (double)F;
		for (uint64_t i = 0; i < F; i++) var += (f->ff_gate[i] - mean) * (f->ff_gate[i] - mean);
		double cut = mean + 1.6448533535003662 * sqrt(var / (double)(F - 1));
		for (uint64_t i = 0; i < F; i++) f->ff_gate[i] = fmax(f->ff_gate[i] - cut, 0.0);
	}
	for (uint64_t i = 0; i < F; i++) f->ff_gate[i] = glu_act(f, act, f->ff_gate[i], f->ff_up[i]);
	TRY(ref_matvec(f, out, down, mat, f->ff_gate));
	add_bias(out, down_b, down->n_out);
	return VKLLM_OK;
}

/* build_moe_ffn: the router's logits (plus ffn_gate_inp.bias: gpt-oss), the routing
 * arch_moe_routing describes (moe_ref.c: Qwen's softmax over all experts, the top k, renormalized
 * where the arch says so; DeepSeek's softmax or sigmoid, the selection bias, expert groups,
 * renormalization and scale; kimi-linear is DeepSeek's sigmoid routing, renormalized by
 * arch_moe_routing; gpt-oss's top k on the biased logits, then a softmax over the k chosen), then
 * out = sum_k w_k FFN_{e_k}(h), expert e's gate, up and down adding row e of their bias tensors
 * where the file has them (ggml_add_id: gpt-oss). A shared
 * expert adds its dense GLU of h: ungated (deepseek2, kimi-linear), or times sigmoid(g . h)
 * (qwen2moe; llama.cpp forms that sigmoid as silu(x) / x, the same value for x != 0). */
static int moe(struct ref_forward *f, struct ref_layer *L, double *out, const double *h)
{
	const struct hparams *hp = f->hp;
	uint32_t X = hp->n_expert, K = hp->n_expert_used, E = hp->n_embd;
	struct moe_routing r;
	arch_moe_routing(f->m->arch, hp, &r);
	TRY(ref_matvec(f, f->router, &L->router, 0, h));
	add_bias(f->router, L->router_b, X);
	uint32_t sel[256];
	double w[256];
	int gating = r.weight_input ? 3 : r.softmax_weight ? 2 : r.sigmoid ? 1 : 0;
	moe_route_one_ref(sel, w, f->router, L->exp_probs_b, X, K, gating, r.n_group, r.n_group_used, r.norm, r.scale);
	memset(out, 0, E * sizeof *out);
	uint64_t F = L->gate_exps.n_out;
	for (uint32_t k = 0; k < K; k++) {
		uint64_t e = sel[k];
		/* Llama 4: the weight scales the expert's input, the output adds as it is */
		const double *in = h;
		if (r.weight_input) {
			for (uint32_t i = 0; i < E; i++) f->moe_in[i] = h[i] * w[k];
			in = f->moe_in;
		}
		TRY(glu(f, f->ff_out, &L->gate_exps, &L->up_exps, &L->down_exps, L->gate_exps_b ? L->gate_exps_b + e * F : NULL,
		        L->up_exps_b ? L->up_exps_b + e * F : NULL, L->down_exps_b ? L->down_exps_b + e * E : NULL, e, L->d->act,
		        false, in));
		double wk = r.weight_input ? 1.0 : w[k];
		for (uint32_t i = 0; i < E; i++) out[i] += wk * f->ff_out[i];
	}
	if (L->d->shexp) {
		double gate = 1;
		if (L->gate_inp_shexp) {
			double g = 0;
			for (uint32_t i = 0; i < E; i++) g += L->gate_inp_shexp[i] * h[i];
			gate = 1 / (1 + exp(-g));
		}
		TRY(glu(f, f->ff_out, &L->gate_shexp, &L->up_shexp, &L->down_shexp, NULL, NULL, NULL, 0, L->d->act, false, h));
		for (uint32_t i = 0; i < E; i++) out[i] += gate * f->ff_out[i];
	}
	return VKLLM_OK;
}

int ref_ffn_block(struct ref_forward *f, uint32_t il, double *x)
{
	const struct hparams *hp = f->hp;
	struct ref_layer *L = &f->layers[il];
	uint32_t E = hp->n_embd;
	double eps = hp->norm_eps, *h = f->h, *out = f->proj;
	if (L->ffn_norm) ref_rms_norm(h, x, L->ffn_norm, E, eps);
	else memcpy(h, x, E * sizeof *h);
	if (L->d->ffn == FFN_MOE) TRY(moe(f, L, out, h));
	else TRY(glu(f, out, &L->gate, &L->up, &L->down, L->gate_b, L->up_b, L->down_b, 0, L->d->act, L->d->act_sparsity, h));
	/* grok: the dense GLU beside the experts, (dense + moe) * sqrt(2) / 2 */
	if (L->d->ffn == FFN_MOE && L->d->moe_dense) {
		TRY(glu(f, f->ff_out, &L->gate, &L->up, &L->down, NULL, NULL, NULL, 0, L->d->act, false, h));
		for (uint32_t i = 0; i < E; i++) out[i] = (out[i] + f->ff_out[i]) * (M_SQRT2 / 2);
	}
	if (L->post_ffw_norm) ref_rms_norm(out, out, L->post_ffw_norm, E, eps);
	for (uint32_t i = 0; i < E; i++) x[i] += out[i];
	return VKLLM_OK;
}
