/* The Qwen family: qwen2 (Qwen2.5: QKV bias), qwen2moe (Qwen1.5-MoE-A2.7B, Qwen2-57B-A14B: Qwen2's
 * attention, 60-64 experts, top-4 or 8 by softmax without renormalizing, and a shared expert scaled
 * by a sigmoid gate), qwen3 (per-head QK RMSNorm), qwen3moe (Qwen3 30B-A3B / 235B-A22B: 128 experts,
 * top-8, softmax then renormalized, no shared expert). All NEOX RoPE. */
#include "base/status.h"
#include "loader/gguf.h"
#include "model/arch.h"

static int qwen2_finish(struct hparams *hp, const struct gguf_file *f) { return arch_check_q_width(hp, f); }

static void qwen2_layer(const struct hparams *hp, uint32_t il, struct layer_desc *d) { layer_defaults(hp, il, d); }

static void qwen3_layer(const struct hparams *hp, uint32_t il, struct layer_desc *d)
{
	layer_defaults(hp, il, d);
	d->qk_norm = QK_NORM_HEAD;
}

static int qwen3moe_finish(struct hparams *hp, const struct gguf_file *f)
{
	const char *path = f ? f->path : "qwen3moe";
	if (!hp->n_expert || !hp->n_expert_used)
		return fail(VKLLM_E_FORMAT, "%s: qwen3moe needs qwen3moe.expert_count and expert_used_count", path);
	/* llama.cpp's fallback when the key is absent */
	if (!hp->n_ff_exp) hp->n_ff_exp = hp->n_ff[0] / hp->n_expert_used;
	if (!hp->n_ff_exp) return fail(VKLLM_E_FORMAT, "%s: qwen3moe.expert_feed_forward_length is missing", path);
	return VKLLM_OK;
}

/* llama.cpp's qwen2moe loader: the expert FFN falls back to n_ff / n_expert_used, the shared one to n_ff */
static int qwen2moe_finish(struct hparams *hp, const struct gguf_file *f)
{
	const char *path = f ? f->path : "qwen2moe";
	TRY(arch_check_q_width(hp, f));
	if (!hp->n_expert || !hp->n_expert_used)
		return fail(VKLLM_E_FORMAT, "%s: qwen2moe needs qwen2moe.expert_count and expert_used_count", path);
	if (!hp->n_ff_exp) hp->n_ff_exp = hp->n_ff[0] / hp->n_expert_used;
	if (!hp->n_ff_shexp) hp->n_ff_shexp = hp->n_ff[0];
	if (!hp->n_ff_exp || !hp->n_ff_shexp)
		return fail(VKLLM_E_FORMAT, "%s: qwen2moe's expert FFN sizes are missing (feed_forward_length is 0)", path);
	return VKLLM_OK;
}

static void qwen2moe_layer(const struct hparams *hp, uint32_t il, struct layer_desc *d)
{
	layer_defaults(hp, il, d);
	d->shexp = d->shexp_gate = true;
}

const struct arch arch_qwen2 = {
	.name = "qwen2", .family = "Qwen2.5", .rope = ROPE_NEOX, .qkv_bias = true, .q_is_n_embd = true,
	.finish = qwen2_finish, .layer = qwen2_layer,
};

const struct arch arch_qwen3 = {
	.name = "qwen3", .family = "Qwen3", .rope = ROPE_NEOX, .layer = qwen3_layer,
};

const struct arch arch_qwen2moe = {
	.name = "qwen2moe", .family = "Qwen2 MoE", .rope = ROPE_NEOX, .qkv_bias = true, .q_is_n_embd = true,
	.output_required = true, .finish = qwen2moe_finish, .layer = qwen2moe_layer,
};

const struct arch arch_qwen3moe = {
	.name = "qwen3moe", .family = "Qwen3 MoE", .rope = ROPE_NEOX, .moe_renorm = true, .finish = qwen3moe_finish,
	.layer = qwen3_layer,
};
