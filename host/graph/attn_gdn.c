/* Gated DeltaNet, as llama.cpp's qwen3next.cpp / qwen35.cpp compute it (docs/deltanet.md, the CPU
 * reference tests/ref/forward_ref_gdn.c). For a chunk of n tokens of layer il:
 *
 *   h     = rms_norm(x) * attn_norm
 *   qkv   = W_qkv h   [n][q | k | v]      z = W_gate h   [n][value_dim]      b, a per value head
 *   g     = softplus(a + dt_bias) * ssm_a          beta = sigmoid(b)          (op_gdn_gates)
 *   qkv   = silu(conv(qkv)), the conv state carrying the last d_conv - 1 inputs  (op_gdn_conv)
 *   o     = delta rule over the state S, q and k L2-normed, o scaled 1/sqrt(Dk)  (op_gdn_recurrent,
 *           or op_gdn_chunked for a prefill chunk on a GPU)
 *   o     = rms_norm(o per head) * ssm_norm * silu(z)                    (op_gdn_gated_norm)
 *   x    += W_out o
 *
 * The layer's state lives in the session's cache slots: k_cache[il] the conv state, v_cache[il] S.
 * A sequence's state depends on every token so far: it cannot rewind (session.c says how a rewind
 * is done). */
#include "graph/attn_gdn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "graph/forward_internal.h"
#include "ops/gdn.h"

void gdn_widths(const struct model_file *m, struct gdn_widths *w)
{
	const struct hparams *hp = &m->hp;
	memset(w, 0, sizeof *w);
	uint32_t il = 0;
	while (il < hp->n_layer && !attn_is_recurrent(m->layers[il].attn)) il++;
	if (il == hp->n_layer) return;
	/* every DeltaNet layer has the model's one ssm.* shape (KDA: Hk = Hv heads of ssm_d_state) */
	w->value = hp->ssm_d_state * hp->ssm_dt_rank;
	w->conv = 2 * hp->ssm_d_state * hp->ssm_n_group + w->value;
	w->ba = 2 * hp->ssm_dt_rank;
	w->heads = hp->ssm_dt_rank;
	bool kda = m->layers[il].attn == ATTN_KDA;
	w->gate = kda ? w->value : w->heads;
	w->low_rank = kda ? hp->ssm_d_state : 0;
}

void gdn_state_bytes(const struct model_file *m, uint64_t *conv, uint64_t *delta)
{
	struct gdn_widths w;
	gdn_widths(m, &w);
	uint64_t D = m->hp.ssm_d_state;
	*conv = w.heads ? (uint64_t)(m->hp.ssm_d_conv - 1) * w.conv * 4 : 0;
	*delta = (uint64_t)w.heads * D * D * 4;
}

bool gdn_chunked_prefill(const struct gpu *g)
{
	const char *env = getenv("VKLLM_GDN_PREFILL");
	if (env && !strcmp(env, "chunked")) return true;
	if (env && !strcmp(env, "recurrent")) return false;
	return !gpu_is_cpu(g);
}

void gdn_delta_desc(const struct fwd_state *s, uint32_t n, struct gdn_desc *d)
{
	const struct hparams *hp = &s->m->hp;
	struct gdn_widths w;
	gdn_widths(s->m, &w);
	uint32_t D = hp->ssm_d_state;
	*d = (struct gdn_desc){
		.n_tokens = n, .n_head_k = hp->ssm_n_group, .n_head_v = hp->ssm_dt_rank, .head_dim_k = D, .head_dim_v = D,
		.heads_tiled = s->m->arch->gdn_heads_tiled, .gate_per_channel = w.gate > w.heads, .qk_l2norm = true,
		.l2_eps = hp->norm_eps, .scale = 1.0f / sqrtf((float)D), .q_stride = w.conv, .k_stride = w.conv, .v_stride = w.conv,
	};
}

uint64_t gdn_scratch_bytes(const struct fwd_state *s, uint32_t n)
{
	struct gdn_widths w;
	gdn_widths(s->m, &w);
	if (!w.heads || n < 2 || !gdn_chunked_prefill(s->g)) return 0;
	struct gdn_desc d;
	gdn_delta_desc(s, n, &d);
	return op_gdn_chunked_scratch_bytes(&d);
}

int gdn_delta_rule(struct fwd_state *s, struct gpu_rec *rec, uint32_t il, uint32_t n, struct gpu_view cv, struct gpu_view o,
                   struct gpu_view g, struct gpu_view beta)
{
	struct gdn_desc dd;
	gdn_delta_desc(s, n, &dd);
	VkDeviceSize key = (VkDeviceSize)dd.n_head_k * dd.head_dim_k * 4, value = (VkDeviceSize)dd.n_head_v * dd.head_dim_v * 4;
	struct gpu_view q = {cv.buf, cv.offset, cv.size - key - value};
	struct gpu_view k = {cv.buf, cv.offset + key, cv.size - key - value};
	struct gpu_view v = {cv.buf, cv.offset + 2 * key, cv.size - 2 * key};
	struct gpu_view state = gpu_whole(&s->v_cache[il]);
	if (n > 1 && s->gdn_scratch.buffer)
		return op_gdn_chunked(rec, o, state, gpu_whole(&s->gdn_scratch), q, k, v, g, beta, &dd);
	return op_gdn_recurrent(rec, o, state, q, k, v, g, beta, &dd);
}

int record_attn_gdn(struct fwd_state *s, struct gpu_rec *rec, uint32_t il, uint32_t n)
{
	const struct hparams *hp = &s->m->hp;
	const struct layer_weights *L = &s->w->layers[il];
	uint32_t D = hp->ssm_d_state, Hk = hp->ssm_n_group, Hv = hp->ssm_dt_rank;
	uint32_t key_dim = D * Hk, value_dim = D * Hv, conv = 2 * key_dim + value_dim;
	struct gpu_view in, qkv = fwd_rows(&s->gdn_qkv, 0, n, conv), z = fwd_rows(&s->gdn_z, 0, n, value_dim);
	struct gpu_view cv = fwd_rows(&s->gdn_conv, 0, n, conv), o = fwd_rows(&s->gdn_o, 0, n, value_dim);
	struct gpu_view g = fwd_rows(&s->gdn_g, 0, n, Hv), beta = fwd_rows(&s->gdn_beta, 0, n, Hv);
	TRY(fwd_block_input(s, rec, &L->attn_norm, n, &in));
	TRY(fwd_linear(rec, qkv, &L->gdn_qkv, in, n, false));
	TRY(fwd_linear(rec, z, &L->gdn_gate, in, n, false));
	if (L->gdn_ba.present) { /* qwen3next: b and a interleaved per key head in one product */
		struct gpu_view ba = fwd_rows(&s->gdn_b, 0, n, 2 * Hv);
		TRY(fwd_linear(rec, ba, &L->gdn_ba, in, n, false));
		TRY(op_gdn_gates(rec, g, beta, ba, ba, fwd_whole(&L->gdn_dt), fwd_whole(&L->gdn_a), n, Hk, Hv, 2 * Hv, true));
	} else {
		struct gpu_view b = fwd_rows(&s->gdn_b, 0, n, Hv), a = fwd_rows(&s->gdn_a, 0, n, Hv);
		TRY(fwd_linear(rec, b, &L->gdn_beta, in, n, false));
		TRY(fwd_linear(rec, a, &L->gdn_alpha, in, n, false));
		TRY(op_gdn_gates(rec, g, beta, b, a, fwd_whole(&L->gdn_dt), fwd_whole(&L->gdn_a), n, Hk, Hv, Hv, false));
	}
	TRY(op_gdn_conv(rec, cv, gpu_whole(&s->k_cache[il]), qkv, fwd_whole(&L->gdn_conv), n, conv, hp->ssm_d_conv, 0, 0));
	TRY(gdn_delta_rule(s, rec, il, n, cv, o, g, beta));
	TRY(op_gdn_gated_norm(rec, o, o, z, fwd_whole(&L->gdn_norm), D, n * Hv, hp->norm_eps, false));
	return fwd_block_output(s, rec, &L->gdn_out, &L->bo, &L->post_attn_norm, o, n);
}
