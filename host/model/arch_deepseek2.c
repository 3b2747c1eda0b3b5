/* deepseek2: DeepSeek V2/V2-Lite, V3/R1 and Kimi K2 as llama.cpp's converter writes them
 * (src/models/deepseek2.cpp load_arch_hparams / load_arch_tensors, conversion/deepseek.py).
 *
 * Every layer has multi-head latent attention (ATTN_MLA, host/graph/attn_mla.c): q through a
 * low-rank pair (attn_q_a, its norm, attn_q_b) or a plain attn_q (V2-Lite), one compressed KV
 * projection attn_kv_a_mqa = [c (kv_lora_rank) | k_pe (rope dims)] whose c is RMS-normed, and the
 * per-head up-projections attn_k_b / attn_v_b (or the legacy attn_kv_b they were split from).
 * RoPE is NORM (consecutive pairs) on the rope part only. The first leading_dense_block_count
 * layers have a dense SwiGLU; the rest route over experts (softmax or sigmoid, a selection bias,
 * expert groups, a scale) beside ungated shared experts. */
#include <math.h>
#include <stdio.h>

#include "base/status.h"
#include "loader/gguf.h"
#include "model/arch.h"

static const struct hp_key deepseek2_keys[] = {
	HP_KEY("leading_dense_block_count", HP_U32, n_layer_dense_lead, false),
	/* required unless lite (checked in finish); written as 0 for a plain attn_q, which llama.cpp
	 * reads as "no q low rank" at any layer count */
	HP_KEY_W0("attention.q_lora_rank", HP_U32, n_lora_q),
	HP_KEY("attention.kv_lora_rank", HP_U32, n_lora_kv, true),
	HP_KEY("attention.key_length_mla", HP_U32, head_dim_k_mla, false),
	HP_KEY("attention.value_length_mla", HP_U32, head_dim_v_mla, false),
	HP_KEY("expert_shared_count", HP_U32, n_expert_shared, true),
	HP_KEY("expert_weights_scale", HP_F32, expert_weights_scale, false),
	HP_KEY("expert_weights_norm", HP_BOOL, expert_weights_norm, false),
	HP_KEY("expert_gating_func", HP_U32, expert_gating, false),
	HP_KEY("rope.scaling.yarn_log_multiplier", HP_F32, rope_yarn_log_mul, false),
	{0},
};

static int check_mla_tensors(const struct hparams *hp, const struct gguf_file *f)
{
	uint32_t nope = hparams_mla_head_k(hp) - hp->n_rot;
	for (uint32_t il = 0; il < hp->n_layer; il++) {
		TRY(arch_check_dim(f, il, "attn_kv_a_norm.weight", 0, hp->n_lora_kv, "deepseek2.attention.kv_lora_rank"));
		TRY(arch_check_dim(f, il, "attn_kv_a_mqa.weight", 1, (uint64_t)hp->n_lora_kv + hp->n_rot,
		                "deepseek2.attention.kv_lora_rank + rope.dimension_count"));
		if (hp->n_lora_q) TRY(arch_check_dim(f, il, "attn_q_a_norm.weight", 0, hp->n_lora_q, "deepseek2.attention.q_lora_rank"));
		TRY(arch_check_dim(f, il, "attn_k_b.weight", 0, nope, "deepseek2.attention.key_length_mla - rope.dimension_count"));
		TRY(arch_check_dim(f, il, "attn_k_b.weight", 1, hp->n_lora_kv, "deepseek2.attention.kv_lora_rank"));
		TRY(arch_check_dim(f, il, "attn_v_b.weight", 0, hp->n_lora_kv, "deepseek2.attention.kv_lora_rank"));
		TRY(arch_check_dim(f, il, "attn_v_b.weight", 1, hparams_mla_head_v(hp), "deepseek2.attention.value_length_mla"));
		TRY(arch_check_dim(f, il, "attn_kv_b.weight", 0, hp->n_lora_kv, "deepseek2.attention.kv_lora_rank"));
	}
	return VKLLM_OK;
}

static int deepseek2_finish(struct hparams *hp, const struct gguf_file *f)
{
	const char *path = f ? f->path : "deepseek2";
	/* llama.cpp's "lite" variants (V2-Lite, GigaChat3, Kanana-2) may omit q_lora_rank */
	bool lite = hp->n_layer == 26 || hp->n_layer == 27 || (hp->n_layer == 48 && hp->n_vocab == 128256);
	if (f && !lite) {
		uint32_t v;
		char key[64];
		snprintf(key, sizeof key, "%s.attention.q_lora_rank", hp->arch);
		TRY(gguf_get_u32(f, key, false, &v));
	}
	if (lite) hp->n_lora_q = 0; /* llama.cpp does not read the key there: a plain attn_q */
	if (!hp->expert_gating) /* DeepSeek V2/V2.5 files carry no key: softmax (GLM 4.7 Lite: sigmoid) */
		hp->expert_gating = (hp->n_layer == 47 || hp->n_layer == 48) && hp->n_vocab == 154880 ? 2 : 1;
	if (hp->expert_gating != 1 && hp->expert_gating != 2)
		return fail(VKLLM_E_UNSUPPORTED, "%s: deepseek2.expert_gating_func %u is not softmax (1) or sigmoid (2)", path,
		            hp->expert_gating);
	if (!hp->head_dim_k_mla != !hp->head_dim_v_mla)
		return fail(VKLLM_E_FORMAT, "%s: deepseek2.attention.key_length_mla %u and value_length_mla %u: both or neither",
		            path, hp->head_dim_k_mla, hp->head_dim_v_mla);
	if (!hp->n_lora_kv) return fail(VKLLM_E_FORMAT, "%s: deepseek2.attention.kv_lora_rank is 0", path);
	if (hparams_is_mla(hp)) {
		/* the cache row is [c | k_pe]; the value is c */
		if (hp->head_dim_k != hp->n_lora_kv + hp->n_rot)
			return fail(VKLLM_E_FORMAT, "%s: deepseek2.attention.key_length %u disagrees with kv_lora_rank %u + "
			            "rope.dimension_count %u", path, hp->head_dim_k, hp->n_lora_kv, hp->n_rot);
		if (hp->head_dim_v != hp->n_lora_kv)
			return fail(VKLLM_E_FORMAT, "%s: deepseek2.attention.value_length %u disagrees with kv_lora_rank %u", path,
			            hp->head_dim_v, hp->n_lora_kv);
	}
	uint32_t k_head = hparams_mla_head_k(hp);
	if (hp->n_rot == 0 || hp->n_rot % 2 || hp->n_rot >= k_head)
		return fail(VKLLM_E_FORMAT, "%s: deepseek2.rope.dimension_count %u must be even, positive and below the key "
		            "length %u (it leaves the nope part)", path, hp->n_rot, k_head);
	if (hp->n_layer_dense_lead > hp->n_layer)
		return fail(VKLLM_E_FORMAT, "%s: deepseek2.leading_dense_block_count %u is past block_count %u", path,
		            hp->n_layer_dense_lead, hp->n_layer);
	if (hp->n_layer_dense_lead < hp->n_layer) {
		if (!hp->n_expert || !hp->n_expert_used || !hp->n_ff_exp)
			return fail(VKLLM_E_FORMAT, "%s: deepseek2 MoE layers need expert_count, expert_used_count and "
			            "expert_feed_forward_length (got %u, %u, %u)", path, hp->n_expert, hp->n_expert_used, hp->n_ff_exp);
		hp->n_ff_shexp = hp->n_ff_exp * hp->n_expert_shared;
	}
	if (hp->expert_weights_scale < 0 || !isfinite(hp->expert_weights_scale))
		return fail(VKLLM_E_FORMAT, "%s: deepseek2.expert_weights_scale %g is invalid", path, hp->expert_weights_scale);
	return f ? check_mla_tensors(hp, f) : VKLLM_OK;
}

static void deepseek2_layer(const struct hparams *hp, uint32_t il, struct layer_desc *d)
{
	layer_defaults(hp, il, d);
	d->attn = ATTN_MLA;
	d->ffn = il < hp->n_layer_dense_lead ? FFN_GLU : FFN_MOE;
	d->shexp = d->ffn == FFN_MOE && hp->n_expert_shared > 0;
}

const struct arch arch_deepseek2 = {
	.name = "deepseek2", .family = "DeepSeek V2/V3, Kimi K2", .rope = ROPE_NORM, .moe_bias = MOE_BIAS_OPTIONAL, .keys = deepseek2_keys,
	.finish = deepseek2_finish, .layer = deepseek2_layer,
};
