/* gemma3n: Gemma 3n E2B and E4B, text only, as llama.cpp's converter writes them (conversion/gemma.py
 * Gemma3NModel; src/models/gemma3n.cpp). docs/gemma3n.md has the whole forward pass.
 *
 * Every layer is Gemma 3's (sandwich norms, per-head QK-norm, GeGLU, sliding layers with their own
 * RoPE base) inside AltUp: 4 streams of n_embd, predicted from each other by a router, the layer
 * computing on stream 0, the others corrected by its result; beside attention a LAuReL low-rank
 * branch; after it the layer's per-layer input (from the per-layer token embedding and a projection
 * of the input) gated into streams 1-3. Also: v through a weightless RMSNorm, a softmax scale of 1,
 * the first 10 layers' FFN gates cut at mean + 1.6449 std, the last layers (from 20 on) without a KV
 * cache of their own, reading layer 18's (sliding) or 19's (full), and the final softcap 30.
 * llama.cpp hard-codes 4 streams, stream 0, LAuReL rank 64, per-layer inputs of 256, 20 KV layers
 * and 10 sparse layers; the keys the converter writes are checked against those. */
#include <math.h>
#include <string.h>

#include "base/status.h"
#include "loader/gguf.h"
#include "model/arch.h"

static const struct hp_key gemma3n_keys[] = {
	HP_KEY("attention.sliding_window", HP_U32, n_swa, true),
	HP_KEY("rope.freq_base_swa", HP_F32, rope_base_swa, false),
	HP_KEY("altup.num_inputs", HP_U32, n_altup, false),
	HP_KEY("altup.active_idx", HP_U32, altup_active, false),
	HP_KEY("embedding_length_per_layer_input", HP_U32, n_embd_per_layer, false),
	{0},
};

#define GEMMA3N_ALTUP 4
#define GEMMA3N_PER_LAYER 256
#define GEMMA3N_LAUREL 64
#define GEMMA3N_KV_LAYERS 20
#define GEMMA3N_SPARSE_LAYERS 10

static int gemma3n_finish(struct hparams *hp, const struct gguf_file *f)
{
	const char *path = f ? f->path : "gemma3n";
	/* keys llama.cpp ignores in favour of its constants: a file that disagrees is not the model */
	if (f && ((gguf_find(f, "gemma3n.altup.num_inputs") && hp->n_altup != GEMMA3N_ALTUP) ||
	          (gguf_find(f, "gemma3n.altup.active_idx") && hp->altup_active != 0) ||
	          (gguf_find(f, "gemma3n.embedding_length_per_layer_input") && hp->n_embd_per_layer != GEMMA3N_PER_LAYER)))
		return fail(VKLLM_E_UNSUPPORTED, "%s: gemma3n with altup.num_inputs %u, altup.active_idx %u and "
		            "embedding_length_per_layer_input %u: llama.cpp (and vkllm) run 4, 0 and 256", path, hp->n_altup,
		            hp->altup_active, hp->n_embd_per_layer);
	hp->n_altup = GEMMA3N_ALTUP, hp->altup_active = 0, hp->n_embd_per_layer = GEMMA3N_PER_LAYER;
	hp->laurel_rank = GEMMA3N_LAUREL;
	hp->n_layer_kv = GEMMA3N_KV_LAYERS;
	hp->n_layer_sparse = GEMMA3N_SPARSE_LAYERS;
	if (hp->n_layer < hp->n_layer_kv)
		return fail(VKLLM_E_FORMAT, "%s: gemma3n with %u layers: llama.cpp gives the first %u a KV cache", path, hp->n_layer,
		            hp->n_layer_kv);
	if (f) {
		uint32_t shared = 0;
		TRY(gguf_get_u32(f, "gemma3n.attention.shared_kv_layers", true, &shared));
		if (gguf_find(f, "gemma3n.attention.shared_kv_layers") && hp->n_layer - shared != hp->n_layer_kv)
			return fail(VKLLM_E_UNSUPPORTED, "%s: gemma3n.attention.shared_kv_layers %u leaves %u layers with a KV cache; "
			            "llama.cpp runs %u", path, shared, hp->n_layer - shared, hp->n_layer_kv);
	}
	if (hp->head_dim_k != hp->head_dim_v || hp->n_rot != hp->head_dim_k)
		return fail(VKLLM_E_FORMAT, "%s: gemma3n needs attention.key_length (%u) = attention.value_length (%u) = "
		            "rope.dimension_count (%u)", path, hp->head_dim_k, hp->head_dim_v, hp->n_rot);
	if (hp->n_expert) return fail(VKLLM_E_FORMAT, "%s: gemma3n has no experts (expert_count %u)", path, hp->n_expert);
	TRY(hparams_load_swa_pattern(hp, f, 5));
	/* the sharing layers read layer 18 (sliding) or 19 (full): those must be of the same kind */
	if (hp->n_layer > hp->n_layer_kv && (!hp->is_swa[hp->n_layer_kv - 2] || hp->is_swa[hp->n_layer_kv - 1]))
		return fail(VKLLM_E_UNSUPPORTED, "%s: gemma3n's layer %u must be sliding and %u full: the later layers read their "
		            "KV caches", path, hp->n_layer_kv - 2, hp->n_layer_kv - 1);
	if (!hp->rope_base_swa) hp->rope_base_swa = 10000.0f;
	hp->rope_freq_scale_swa = 1.0f;
	hp->embed_scale = sqrtf((float)hp->n_embd);
	hp->attn_scale = 1.0f;     /* llama.cpp's f_attention_scale: q.k unscaled (q and k are normed) */
	hp->final_softcap = 30.0f; /* f_final_logit_softcapping's default; the file's key is not read */
	return VKLLM_OK;
}

static void gemma3n_layer(const struct hparams *hp, uint32_t il, struct layer_desc *d)
{
	gemma_layer(hp, il, d);
	d->altup = true;
	d->v_norm = true;
	d->act_sparsity = il < hp->n_layer_sparse;
	if (il >= hp->n_layer_kv) d->kv_shared = true, d->kv_from = hp->n_layer_kv - (hp->is_swa[il] ? 2 : 1);
}

const struct arch arch_gemma3n = {
	.name = "gemma3n", .family = "Gemma 3n", .rope = ROPE_NEOX,
	.keys = gemma3n_keys, .finish = gemma3n_finish, .layer = gemma3n_layer,
};
