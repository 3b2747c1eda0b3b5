/* Kimi delta attention (kimi-linear: Kimi Linear's KDA layers) in the recurrent form, one token at a
 * time, in float64, as llama.cpp's kimi-linear.cpp graph computes it (src/models/kimi-linear.cpp;
 * ggml-cpu ssm_conv and gated_delta_net with a per-channel gate). With H heads (attention.head_count;
 * hparams ssm_dt_rank = ssm_n_group = H), D = kda.head_dim (ssm_d_state; keys and values alike),
 * K = ssm.conv_kernel:
 *
 *   h = rms(x) * attn_norm
 *   q, k, v = attn_q h, attn_k h, attn_v h          (H*D each, head-major)
 *   q, k, v = silu(causal conv over the last K inputs)   each with its own ssm_conv1d_q/_k/_v
 *             {K, 1, H*D} (tap j of channel c at c*K + j, tap 0 the oldest); the state keeps the
 *             last K - 1 pre-conv inputs of each (llama.cpp: one buffer holding the Q, K, V states)
 *   g[h][c] = softplus((ssm_f_b (ssm_f_a h))[h*D + c] + ssm_dt.bias[h*D + c]) * ssm_a[h]
 *             (ssm_a holds -exp(A_log); softplus as ggml: x for x > 20, else log(1 + e^x))
 *   beta[h] = sigmoid(ssm_beta h)
 *   q, k per head: x / sqrt(sum x^2 + eps)   (eps = the rms eps, inside the sqrt, on the sum)
 *   per head h:  S = diag(exp(g[h])) S  (S[i][j]: key index i, value index j; the decay scales the
 *                KEY rows);  S += k (beta (v - S^T k))^T;  o_h = S^T q / sqrt(D)
 *   o_h = rms(o_h) * ssm_norm * SIGMOID((ssm_g_b (ssm_g_a h))_h)   per head (the rms eps; sigmoid,
 *         not the silu of Qwen3-Next's gated norm)
 *   x += attn_output o
 *
 * No GQA: every head has its own q, k and v. The conv states and S stay in the layer (struct
 * ref_layer) from token to token and batch to batch; a new context starts from zeros. The steps
 * are tests/ref/gdn_ref.c (short conv, l2 norm, delta rule with a per-channel gate, gated norm),
 * shared with the kernel tests and with forward_ref_gdn.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "forward_ref_internal.h"
#include "gdn_ref.h"

struct kda_dims {
	uint32_t H, D, K;
	uint64_t HD;
};

static struct kda_dims dims_of(const struct ref_forward *f, uint32_t il)
{
	struct kda_dims d = {.H = f->m->layers[il].n_head, .D = f->hp->ssm_d_state, .K = f->hp->ssm_d_conv};
	d.HD = (uint64_t)d.H * d.D;
	return d;
}

/* the three convs' taps, [q channels | k channels | v channels] x K: one conv over 3 H D channels
 * whose state is the Q | K | V states side by side */
static int load_convs(struct ref_forward *f, struct ref_layer *L, uint32_t il, const struct kda_dims *d)
{
	static const char *const names[3] = {"ssm_conv1d_q.weight", "ssm_conv1d_k.weight", "ssm_conv1d_v.weight"};
	uint64_t n = d->HD * d->K;
	L->conv_w = malloc(3 * n * sizeof *L->conv_w);
	if (!L->conv_w) return fail(VKLLM_E_NOMEM, "out of host memory for the reference KDA convs");
	for (int j = 0; j < 3; j++) {
		double *w;
		TRY(ref_load_vector(f, &w, (int)il, names[j]));
		if (!w) return fail(VKLLM_E_FORMAT, "%s: KDA layer %u has no %s", f->m->gguf.path, il, names[j]);
		memcpy(L->conv_w + j * n, w, n * sizeof *w);
		free(w);
	}
	return VKLLM_OK;
}

int ref_kda_load(struct ref_forward *f, uint32_t il)
{
	struct ref_layer *L = &f->layers[il];
	struct kda_dims d = dims_of(f, il);
	int i = (int)il;
	const char *path = f->m->gguf.path;
	if (!d.H || !d.D || d.K < 1)
		return fail(VKLLM_E_UNSUPPORTED, "%s: layer %u: the reference cannot run KDA with %u heads of %u, conv %u", path,
		            il, d.H, d.D, d.K);
	/* attn_q / attn_k / attn_v / attn_output are load_layer's wq, wk, wv, wo */
	TRY(ref_load_matrix(f, &L->ssm_f_a, i, "ssm_f_a.weight"));
	TRY(ref_load_matrix(f, &L->ssm_f_b, i, "ssm_f_b.weight"));
	TRY(ref_load_matrix(f, &L->ssm_g_a, i, "ssm_g_a.weight"));
	TRY(ref_load_matrix(f, &L->ssm_g_b, i, "ssm_g_b.weight"));
	TRY(ref_load_matrix(f, &L->ssm_beta, i, "ssm_beta.weight"));
	TRY(ref_load_vector(f, &L->dt_bias, i, "ssm_dt.bias"));
	TRY(ref_load_vector(f, &L->ssm_a, i, "ssm_a"));
	TRY(ref_load_vector(f, &L->ssm_norm, i, "ssm_norm.weight"));
	const char *missing = !L->wq.data || !L->wk.data || !L->wv.data ? "attn_q, attn_k or attn_v"
	                      : !L->wo.data                             ? "attn_output"
	                      : !L->ssm_f_a.data || !L->ssm_f_b.data    ? "ssm_f_a or ssm_f_b"
	                      : !L->ssm_g_a.data || !L->ssm_g_b.data    ? "ssm_g_a or ssm_g_b"
	                      : !L->ssm_beta.data                       ? "ssm_beta"
	                      : !L->dt_bias                             ? "ssm_dt.bias"
	                      : !L->ssm_a                               ? "ssm_a"
	                      : !L->ssm_norm                            ? "ssm_norm"
	                                                                : NULL;
	if (missing) return fail(VKLLM_E_FORMAT, "%s: KDA layer %u has no %s", path, il, missing);
	if (L->wq.n_out != d.HD || L->wk.n_out != d.HD || L->wv.n_out != d.HD || L->ssm_f_b.n_out != d.HD ||
	    L->ssm_g_b.n_out != d.HD || L->ssm_beta.n_out != d.H || L->wo.n_in != d.HD)
		return fail(VKLLM_E_FORMAT, "%s: KDA layer %u: projections unlike %u heads of %u", path, il, d.H, d.D);
	TRY(load_convs(f, L, il, &d));
	L->conv_state = calloc((uint64_t)(d.K > 1 ? d.K - 1 : 1) * 3 * d.HD, sizeof *L->conv_state);
	L->ssm_state = calloc((uint64_t)d.H * d.D * d.D, sizeof *L->ssm_state);
	if (!L->conv_state || !L->ssm_state) return fail(VKLLM_E_NOMEM, "out of host memory for the reference KDA state");
	return VKLLM_OK;
}

int ref_kda_scratch(struct ref_forward *f)
{
	uint64_t HD = 0, H = 0, D = 0;
	for (uint32_t il = 0; il < f->hp->n_layer; il++) {
		if (f->m->layers[il].attn != ATTN_KDA) continue;
		struct kda_dims d = dims_of(f, il);
		HD = d.HD > HD ? d.HD : HD, H = d.H > H ? d.H : H, D = d.D > D ? d.D : D;
	}
	if (!HD) return VKLLM_OK;
	f->kda_qkv = calloc(3 * HD, sizeof(double));
	f->kda_conv = calloc(3 * HD, sizeof(double));
	f->kda_g = calloc(HD, sizeof(double));
	f->kda_gate = calloc(HD, sizeof(double));
	f->kda_o = calloc(HD, sizeof(double));
	f->kda_beta = calloc(H, sizeof(double));
	f->kda_low = calloc(D, sizeof(double));
	bool ok = f->kda_qkv && f->kda_conv && f->kda_g && f->kda_gate && f->kda_o && f->kda_beta && f->kda_low;
	return ok ? VKLLM_OK : fail(VKLLM_E_NOMEM, "out of host memory for the reference KDA");
}

void ref_kda_free(struct ref_forward *f)
{
	double *v[] = {f->kda_qkv, f->kda_conv, f->kda_g, f->kda_gate, f->kda_o, f->kda_beta, f->kda_low};
	for (size_t i = 0; i < sizeof v / sizeof *v; i++) free(v[i]);
}

/* ggml's op_softplus */
static double softplus(double x) { return x > 20 ? x : log1p(exp(x)); }

int ref_kda_block(struct ref_forward *f, uint32_t il, double *x)
{
	const struct hparams *hp = f->hp;
	struct ref_layer *L = &f->layers[il];
	struct kda_dims d = dims_of(f, il);
	uint32_t E = hp->n_embd;
	double eps = hp->norm_eps, *h = f->h;
	ref_rms_norm(h, x, L->attn_norm, E, eps);

	/* q, k, v, each through its own conv and SiLU (one call: the three side by side) */
	double *qkv = f->kda_qkv;
	TRY(ref_matvec(f, qkv, &L->wq, 0, h));
	TRY(ref_matvec(f, qkv + d.HD, &L->wk, 0, h));
	TRY(ref_matvec(f, qkv + 2 * d.HD, &L->wv, 0, h));
	short_conv_step_ref(f->kda_conv, L->conv_state, qkv, L->conv_w, (uint32_t)(3 * d.HD), d.K);
	double *q = f->kda_conv, *k = q + d.HD, *v = k + d.HD;

	/* the per-channel log-decay g and beta */
	TRY(ref_matvec(f, f->kda_low, &L->ssm_f_a, 0, h));
	TRY(ref_matvec(f, f->kda_g, &L->ssm_f_b, 0, f->kda_low));
	for (uint64_t c = 0; c < d.HD; c++) f->kda_g[c] = softplus(f->kda_g[c] + L->dt_bias[c]) * L->ssm_a[c / d.D];
	TRY(ref_matvec(f, f->kda_beta, &L->ssm_beta, 0, h));
	for (uint32_t hh = 0; hh < d.H; hh++) f->kda_beta[hh] = 1.0 / (1.0 + exp(-f->kda_beta[hh]));

	/* q, k L2-normed per head; the delta rule, q's 1/sqrt(D) applied to the output as ggml does */
	for (uint32_t hh = 0; hh < d.H; hh++) {
		l2_norm_ref(q + (uint64_t)hh * d.D, q + (uint64_t)hh * d.D, d.D, eps);
		l2_norm_ref(k + (uint64_t)hh * d.D, k + (uint64_t)hh * d.D, d.D, eps);
	}
	gdn_step_ref(f->kda_o, L->ssm_state, q, k, v, f->kda_g, f->kda_beta, d.H, d.H, d.D, d.D, GDN_HEADS_INTERLEAVED, true,
	             1.0 / sqrt((double)d.D));

	/* the output gate g_b (g_a h), then RMSNorm per head times its sigmoid */
	TRY(ref_matvec(f, f->kda_low, &L->ssm_g_a, 0, h));
	TRY(ref_matvec(f, f->kda_gate, &L->ssm_g_b, 0, f->kda_low));
	for (uint32_t hh = 0; hh < d.H; hh++) {
		double *o = f->kda_o + (uint64_t)hh * d.D;
		gated_rms_norm_ref(o, o, f->kda_gate + (uint64_t)hh * d.D, L->ssm_norm, d.D, eps, true);
	}

	double *out = f->proj;
	TRY(ref_matvec(f, out, &L->wo, 0, f->kda_o));
	for (uint32_t i = 0; i < E; i++) x[i] += out[i];
	return VKLLM_OK;
}
