/* Kimi delta attention (KDA), as llama.cpp's kimi-linear.cpp computes it (docs/kda.md, the CPU
 * reference tests/ref/forward_ref_kda.c). For a chunk of n tokens of layer il, H heads of D:
 *
 *   h      = rms_norm(x) * attn_norm
 *   q|k|v  = W_q h, W_k h, W_v h            each [n][H D], then each through its own short conv + SiLU
 *                                           (op_gdn_conv three times into one [n][q | k | v])
 *   g      = softplus(W_fb (W_fa h) + dt_bias) * ssm_a[head]   [n][H][D]  the decay per channel
 *   beta   = sigmoid(W_beta h)                                 [n][H]     (op_kda_gates)
 *   o      = the delta rule with q, k L2-normed, S's key rows decayed by exp(g), o scaled 1/sqrt(D)
 *            (op_gdn_recurrent, or op_gdn_chunked for a prefill chunk on a GPU)
 *   o      = rms_norm(o per head) * ssm_norm * sigmoid(W_gb (W_ga h))   (op_gdn_gated_norm)
 *   x     += W_o o
 *
 * The same kernels as the gated DeltaNet (attn_gdn.c), with the per-channel gate; the state lives in
 * the same slots: k_cache[il] holds the three conv states (q, k, v, each [d_conv - 1][H D]) and
 * v_cache[il] S [H][D][D]. */
#include "graph/attn_kda.h"

#include "base/status.h"
#include "graph/attn_gdn.h"
#include "graph/forward_internal.h"
#include "ops/gdn.h"

/* A view from float `first` of b to its end: the conv's strided rows need the room to the last one. */
static struct gpu_view tail(const struct gpu_buffer *b, uint64_t first)
{
	return (struct gpu_view){(struct gpu_buffer *)b, (VkDeviceSize)first * 4, b->size - (VkDeviceSize)first * 4};
}

/* q, k, v projected and convolved into cv [n][q | k | v]. A decode step multiplies the fused q|k|v
 * matrix once ([1][q | k | v]); prefill writes q, k and v as three blocks of n rows. */
static int project_conv(struct fwd_state *s, struct gpu_rec *rec, const struct layer_weights *L, uint32_t il,
                        struct gpu_view in, uint32_t n)
{
	const struct hparams *hp = &s->m->hp;
	uint32_t HD = hp->ssm_d_state * s->m->layers[il].n_head, K = hp->ssm_d_conv;
	const struct weight *proj[3] = {&L->wq, &L->wk, &L->wv}, *conv[3] = {&L->kda_conv_q, &L->kda_conv_k, &L->kda_conv_v};
	bool fused = n == 1 && L->qkv.present;
	if (fused) TRY(fwd_linear(rec, fwd_rows(&s->gdn_qkv, 0, 1, 3 * HD), &L->qkv, in, 1, false));
	for (uint32_t j = 0; j < 3; j++) {
		/* fused: part j at column j HD of the one row; else block j of n rows of HD */
		uint64_t x0 = fused ? (uint64_t)j * HD : (uint64_t)j * n * HD;
		if (!fused) TRY(fwd_linear(rec, fwd_rows(&s->gdn_qkv, (uint64_t)j * n, n, HD), proj[j], in, n, false));
		struct gpu_view state = {&s->k_cache[il], (VkDeviceSize)j * (K - 1) * HD * 4, (VkDeviceSize)(K - 1) * HD * 4};
		TRY(op_gdn_conv(rec, tail(&s->gdn_conv, (uint64_t)j * HD), state, tail(&s->gdn_qkv, x0), fwd_whole(conv[j]), n, HD,
		                K, fused ? 3 * HD : HD, 3 * HD));
	}
	return VKLLM_OK;
}

int record_attn_kda(struct fwd_state *s, struct gpu_rec *rec, uint32_t il, uint32_t n)
{
	const struct hparams *hp = &s->m->hp;
	const struct layer_weights *L = &s->w->layers[il];
	uint32_t D = hp->ssm_d_state, H = s->m->layers[il].n_head, HD = H * D;
	struct gpu_view in, lr = fwd_rows(&s->kda_lr, 0, n, D), cv = fwd_rows(&s->gdn_conv, 0, n, 3 * HD);
	struct gpu_view a = fwd_rows(&s->gdn_a, 0, n, HD), b = fwd_rows(&s->gdn_b, 0, n, H);
	struct gpu_view g = fwd_rows(&s->gdn_g, 0, n, HD), beta = fwd_rows(&s->gdn_beta, 0, n, H);
	struct gpu_view z = fwd_rows(&s->gdn_z, 0, n, HD), o = fwd_rows(&s->gdn_o, 0, n, HD);
	TRY(fwd_block_input(s, rec, &L->attn_norm, n, &in));
	TRY(project_conv(s, rec, L, il, in, n));

	/* the decay per channel through its low rank, and beta */
	TRY(fwd_linear(rec, lr, &L->kda_f_a, in, n, false));
	TRY(fwd_linear(rec, a, &L->kda_f_b, lr, n, false));
	TRY(fwd_linear(rec, b, &L->gdn_beta, in, n, false));
	TRY(op_kda_gates(rec, g, beta, b, a, fwd_whole(&L->gdn_dt), fwd_whole(&L->gdn_a), n, H, D, H, HD));

	TRY(gdn_delta_rule(s, rec, il, n, cv, o, g, beta));

	/* the output gate through its low rank, sigmoid (not SiLU as Qwen3-Next's) */
	TRY(fwd_linear(rec, lr, &L->kda_g_a, in, n, false));
	TRY(fwd_linear(rec, z, &L->kda_g_b, lr, n, false));
	TRY(op_gdn_gated_norm(rec, o, o, z, fwd_whole(&L->gdn_norm), D, n * H, hp->norm_eps, true));
	return fwd_block_output(s, rec, &L->wo, &L->bo, &L->post_attn_norm, o, n);
}
