/* Gated DeltaNet layers (qwen3next: Qwen3-Next; qwen35, qwen35moe: Qwen3.5) in the recurrent form,
 * one token at a time, in float64, as llama.cpp's build_layer_attn_linear computes them
 * (src/models/qwen3next.cpp, qwen35.cpp, delta-net-base.cpp; ggml-cpu ssm_conv and gated_delta_net).
 * With Hk key heads (ssm.group_count), Hv value heads (ssm.time_step_rank, r = Hv / Hk), Dk =
 * ssm.state_size, Dv = ssm.inner_size / Hv, K = ssm.conv_kernel, C = 2 Hk Dk + Hv Dv:
 *
 *   h = rms(x) * attn_norm
 *   [q | k | v], z   qwen3next's ssm_in, per key head m: [q_m (Dk) | k_m (Dk) | v (r Dv) | z (r Dv)],
 *                    value heads m r .. m r + r - 1 (the legacy layout; llama.cpp's build_qkvz);
 *                    or attn_qkv h = [q (Hk Dk) | k (Hk Dk) | v (Hv Dv)] and z = attn_gate h
 *   b, a             qwen3next's ssm_ba h, per key head m: [b (r) | a (r)] of value heads m r ..;
 *                    qwen35's ssm_beta h and ssm_alpha h
 *   beta = sigmoid(b);  g = softplus(a + ssm_dt.bias) * ssm_a   (ssm_a holds -exp(A_log);
 *                    softplus as ggml: x for x > 20, else log(1 + e^x))
 *   [q | k | v] = silu(causal conv over the last K inputs of each channel)   z, b, a bypass it
 *   q, k per key head: x / sqrt(sum x^2 + eps)   (eps = the rms eps, inside the sqrt)
 *   per value head h, key head m (qwen3next h / r, interleaved; qwen35 h % Hk, tiled):
 *       S = e^g S;  S += k_m (beta (v_h - S^T k_m))^T;  o_h = S^T q_m / sqrt(Dk)
 *   o_h = rms(o_h) * ssm_norm * silu(z_h)   (per head, the rms eps)
 *   x += ssm_out o
 *
 * The conv's last K - 1 inputs and S stay in the layer (struct ref_layer) from token to token and
 * batch to batch; a new context starts from zeros. The steps are tests/ref/gdn_ref.c, shared with
 * the kernel tests. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "forward_ref_internal.h"
#include "gdn_ref.h"

struct gdn_dims {
	uint32_t Hk, Hv, Dk, Dv, K, C, r;
};

static struct gdn_dims dims_of(const struct hparams *hp)
{
	struct gdn_dims d = {.Hk = hp->ssm_n_group, .Hv = hp->ssm_dt_rank, .Dk = hp->ssm_d_state, .K = hp->ssm_d_conv};
	d.Dv = d.Hv ? hp->ssm_d_inner / d.Hv : 0;
	d.r = d.Hk ? d.Hv / d.Hk : 0;
	d.C = 2 * d.Hk * d.Dk + d.Hv * d.Dv;
	return d;
}

/* llama.cpp broadcasts key heads onto value heads by arch (llama-model.cpp's split segments):
 * qwen3next repeats each key head r times (HF's repeat_interleave), qwen35 and qwen35moe tile them
 * (the fused op's h % Hk; their converter reorders the value heads to match) */
static enum gdn_head_map head_map(const struct ref_forward *f)
{
	return f->m->arch->gdn_heads_tiled ? GDN_HEADS_TILED : GDN_HEADS_INTERLEAVED;
}

int ref_gdn_load(struct ref_forward *f, uint32_t il)
{
	struct ref_layer *L = &f->layers[il];
	struct gdn_dims d = dims_of(f->hp);
	int i = (int)il;
	const char *path = f->m->gguf.path;
	if (!d.Hk || !d.Hv || !d.Dk || !d.Dv || !d.K || d.Hv % d.Hk || d.Dv * d.Hv != f->hp->ssm_d_inner)
		return fail(VKLLM_E_UNSUPPORTED, "%s: layer %u: the reference cannot run a DeltaNet of %u key and %u value heads, "
		            "state %u, inner %u, conv %u", path, il, d.Hk, d.Hv, d.Dk, f->hp->ssm_d_inner, d.K);
	TRY(ref_load_matrix(f, &L->ssm_in, i, "ssm_in.weight"));
	TRY(ref_load_matrix(f, &L->wqkv, i, "attn_qkv.weight"));
	TRY(ref_load_matrix(f, &L->wgate, i, "attn_gate.weight"));
	TRY(ref_load_matrix(f, &L->ssm_ba, i, "ssm_ba.weight"));
	TRY(ref_load_matrix(f, &L->ssm_beta, i, "ssm_beta.weight"));
	TRY(ref_load_matrix(f, &L->ssm_alpha, i, "ssm_alpha.weight"));
	TRY(ref_load_matrix(f, &L->ssm_out, i, "ssm_out.weight"));
	TRY(ref_load_vector(f, &L->conv_w, i, "ssm_conv1d.weight"));
	TRY(ref_load_vector(f, &L->dt_bias, i, "ssm_dt.bias"));
	TRY(ref_load_vector(f, &L->ssm_a, i, "ssm_a"));
	TRY(ref_load_vector(f, &L->ssm_norm, i, "ssm_norm.weight"));
	const char *missing = !L->ssm_in.data && !(L->wqkv.data && L->wgate.data)       ? "ssm_in or attn_qkv + attn_gate"
	                      : !L->ssm_ba.data && !(L->ssm_beta.data && L->ssm_alpha.data) ? "ssm_ba or ssm_beta + ssm_alpha"
	                      : !L->ssm_out.data                                          ? "ssm_out"
	                      : !L->conv_w                                                ? "ssm_conv1d"
	                      : !L->dt_bias                                               ? "ssm_dt.bias"
	                      : !L->ssm_a                                                 ? "ssm_a"
	                      : !L->ssm_norm                                              ? "ssm_norm"
	                                                                                  : NULL;
	if (missing) return fail(VKLLM_E_FORMAT, "%s: DeltaNet layer %u has no %s", path, il, missing);
	uint64_t n_in = L->ssm_in.data ? L->ssm_in.n_out : L->wqkv.n_out + L->wgate.n_out;
	if (n_in != (uint64_t)d.C + (uint64_t)d.Hv * d.Dv || L->ssm_out.n_in != (uint64_t)d.Hv * d.Dv)
		return fail(VKLLM_E_FORMAT, "%s: DeltaNet layer %u: projections of %llu and %llu values for %u channels", path,
		            il, (unsigned long long)n_in, (unsigned long long)L->ssm_out.n_in, d.C);
	L->conv_state = calloc((uint64_t)(d.K > 1 ? d.K - 1 : 1) * d.C, sizeof *L->conv_state);
	L->ssm_state = calloc((uint64_t)d.Hv * d.Dk * d.Dv, sizeof *L->ssm_state);
	if (!L->conv_state || !L->ssm_state) return fail(VKLLM_E_NOMEM, "out of host memory for the reference DeltaNet state");
	return VKLLM_OK;
}

int ref_gdn_scratch(struct ref_forward *f)
{
	if (!f->recurrent) return VKLLM_OK;
	struct gdn_dims d = dims_of(f->hp);
	uint64_t HvDv = (uint64_t)d.Hv * d.Dv, mixed = d.C + HvDv;
	f->gdn_mixed = calloc(mixed > 2 * d.Hv ? mixed : 2 * d.Hv, sizeof(double));
	f->gdn_qkv = calloc(d.C, sizeof(double));
	f->gdn_conv = calloc(d.C, sizeof(double));
	f->gdn_z = calloc(HvDv, sizeof(double));
	f->gdn_o = calloc(HvDv, sizeof(double));
	double **hv[] = {&f->gdn_b, &f->gdn_a, &f->gdn_g, &f->gdn_beta};
	bool ok = f->gdn_mixed && f->gdn_qkv && f->gdn_conv && f->gdn_z && f->gdn_o;
	for (size_t i = 0; i < sizeof hv / sizeof *hv; i++) ok = (*hv[i] = calloc(d.Hv, sizeof(double))) && ok;
	return ok ? VKLLM_OK : fail(VKLLM_E_NOMEM, "out of host memory for the reference DeltaNet");
}

void ref_gdn_free(struct ref_forward *f)
{
	double *v[] = {f->gdn_mixed, f->gdn_qkv, f->gdn_conv, f->gdn_z, f->gdn_b, f->gdn_a, f->gdn_g, f->gdn_beta, f->gdn_o};
	for (size_t i = 0; i < sizeof v / sizeof *v; i++) free(v[i]);
}

/* ggml's op_softplus */
static double softplus(double x) { return x > 20 ? x : log1p(exp(x)); }

/* the input projections: qkv [C] = [q | k | v] (head-major, value head m r + j after key head m's
 * block in the grouped layout), z [Hv Dv], b and a [Hv] */
static int project(struct ref_forward *f, const struct ref_layer *L, const struct gdn_dims *d, const double *h)
{
	double *qkv = f->gdn_qkv, *z = f->gdn_z, *mixed = f->gdn_mixed;
	uint64_t rDv = (uint64_t)d->r * d->Dv, KD = (uint64_t)d->Hk * d->Dk;
	if (L->ssm_in.data) {
		TRY(ref_matvec(f, mixed, &L->ssm_in, 0, h));
		for (uint32_t m = 0; m < d->Hk; m++) {
			const double *g = mixed + m * (2 * d->Dk + 2 * rDv);
			memcpy(qkv + m * d->Dk, g, d->Dk * sizeof *g);
			memcpy(qkv + KD + m * d->Dk, g + d->Dk, d->Dk * sizeof *g);
			memcpy(qkv + 2 * KD + m * rDv, g + 2 * d->Dk, rDv * sizeof *g);
			memcpy(z + m * rDv, g + 2 * d->Dk + rDv, rDv * sizeof *g);
		}
	} else {
		TRY(ref_matvec(f, qkv, &L->wqkv, 0, h));
		TRY(ref_matvec(f, z, &L->wgate, 0, h));
	}
	if (L->ssm_ba.data) {
		TRY(ref_matvec(f, mixed, &L->ssm_ba, 0, h));
		for (uint32_t m = 0; m < d->Hk; m++)
			for (uint32_t j = 0; j < d->r; j++) {
				f->gdn_b[m * d->r + j] = mixed[m * 2 * d->r + j];
				f->gdn_a[m * d->r + j] = mixed[m * 2 * d->r + d->r + j];
			}
	} else {
		TRY(ref_matvec(f, f->gdn_b, &L->ssm_beta, 0, h));
		TRY(ref_matvec(f, f->gdn_a, &L->ssm_alpha, 0, h));
	}
	return VKLLM_OK;
}

int ref_gdn_block(struct ref_forward *f, uint32_t il, double *x)
{
	const struct hparams *hp = f->hp;
	struct ref_layer *L = &f->layers[il];
	struct gdn_dims d = dims_of(hp);
	uint32_t E = hp->n_embd;
	double eps = hp->norm_eps, *h = f->h;
	if (L->attn_norm) ref_rms_norm(h, x, L->attn_norm, E, eps);
	else memcpy(h, x, E * sizeof *h);
	TRY(project(f, L, &d, h));

	/* the gates: beta = sigmoid(b), g = softplus(a + dt_bias) * ssm_a (the log of the decay) */
	for (uint32_t v = 0; v < d.Hv; v++) {
		f->gdn_beta[v] = 1.0 / (1.0 + exp(-f->gdn_b[v]));
		f->gdn_g[v] = softplus(f->gdn_a[v] + L->dt_bias[v]) * L->ssm_a[v];
	}

	/* the short conv with SiLU over [q | k | v], its state advanced by this token; q, k L2-normed */
	short_conv_step_ref(f->gdn_conv, L->conv_state, f->gdn_qkv, L->conv_w, d.C, d.K);
	double *q = f->gdn_conv, *k = q + (uint64_t)d.Hk * d.Dk, *v = k + (uint64_t)d.Hk * d.Dk;
	for (uint32_t m = 0; m < d.Hk; m++) {
		l2_norm_ref(q + m * d.Dk, q + m * d.Dk, d.Dk, eps);
		l2_norm_ref(k + m * d.Dk, k + m * d.Dk, d.Dk, eps);
	}

	/* the delta rule, q scaled by 1/sqrt(Dk) (on the output, as ggml), then the gated norm per head */
	gdn_step_ref(f->gdn_o, L->ssm_state, q, k, v, f->gdn_g, f->gdn_beta, d.Hk, d.Hv, d.Dk, d.Dv, head_map(f), false,
	             1.0 / sqrt((double)d.Dk));
	for (uint32_t hv = 0; hv < d.Hv; hv++) {
		double *o = f->gdn_o + (uint64_t)hv * d.Dv;
		gated_rms_norm_ref(o, o, f->gdn_z + (uint64_t)hv * d.Dv, L->ssm_norm, d.Dv, eps, false);
	}

	double *out = f->proj;
	TRY(ref_matvec(f, out, &L->ssm_out, 0, f->gdn_o));
	for (uint32_t i = 0; i < E; i++) x[i] += out[i];
	return VKLLM_OK;
}
