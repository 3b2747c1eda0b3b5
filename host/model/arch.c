/* The architecture registry. Each architecture lives in its own small file (arch_*.c). */
#include "model/arch.h"

#include <stdio.h>
#include <string.h>

#include "base/status.h"
#include "loader/gguf.h"

extern const struct arch arch_llama, arch_qwen2, arch_qwen2moe, arch_qwen3, arch_qwen3moe, arch_smollm3, arch_olmo2, arch_gemma3,
	arch_deepseek2, arch_qwen3next, arch_qwen35, arch_qwen35moe, arch_kimi_linear, arch_gpt_oss, arch_glm4moe, arch_minimax_m2,
	arch_mistral3, arch_llama4, arch_grok, arch_gemma3n;

static const struct arch *const all[] = {
	&arch_llama, &arch_qwen2, &arch_qwen2moe, &arch_qwen3, &arch_qwen3moe, &arch_smollm3, &arch_olmo2, &arch_gemma3,
	&arch_deepseek2, &arch_qwen3next, &arch_qwen35, &arch_qwen35moe, &arch_kimi_linear, &arch_gpt_oss, &arch_glm4moe, &arch_minimax_m2, &arch_mistral3,
	&arch_llama4, &arch_grok, &arch_gemma3n, NULL,
};

const struct arch *const *arch_all(void) { return all; }

const struct arch *arch_find(const char *name)
{
	for (const struct arch *const *a = all; *a; a++)
		if (strcmp((*a)->name, name) == 0) return *a;
	return NULL;
}

int arch_check_q_width(const struct hparams *hp, const struct gguf_file *f)
{
	for (uint32_t il = 0; il < hp->n_layer; il++)
		if (hp->n_head[il] * hp->head_dim_k != hp->n_embd || hp->n_head[il] * hp->head_dim_v != hp->n_embd)
			return fail(VKLLM_E_FORMAT, "%s: %s needs n_head * head_dim = n_embd, but layer %u has %u x %u/%u against %u",
			            f ? f->path : "synth", hp->arch, il, hp->n_head[il], hp->head_dim_k, hp->head_dim_v, hp->n_embd);
	return VKLLM_OK;
}

int arch_check_dim(const struct gguf_file *f, uint32_t il, const char *suffix, int d, uint64_t want, const char *what)
{
	char name[GGUF_MAX_NAME];
	snprintf(name, sizeof name, "blk.%u.%s", il, suffix);
	const struct gguf_tensor *t = gguf_tensor(f, name);
	if (!t || t->ne[d] == want) return VKLLM_OK;
	return fail(VKLLM_E_FORMAT, "%s: %s says %llu but tensor '%s' has %llu in dimension %d", f->path, what,
	            (unsigned long long)want, name, (unsigned long long)t->ne[d], d);
}

uint32_t rope_imrope_section(const uint32_t sections[4], uint32_t pair)
{
	/* ggml_mrope_cache_init with is_imrope: the sections interleave t, h, w pair by pair */
	uint32_t n = sections[0] + sections[1] + sections[2] + sections[3];
	uint32_t s = n ? pair % n : 0;
	if (s % 3 == 1 && s < 3 * sections[1]) return 1;
	if (s % 3 == 2 && s < 3 * sections[2]) return 2;
	if (s % 3 == 0 && s < 3 * sections[0]) return 0;
	return 3;
}

void layer_defaults(const struct hparams *hp, uint32_t il, struct layer_desc *d)
{
	memset(d, 0, sizeof *d);
	d->attn = ATTN_GQA;
	d->ffn = hp->n_expert ? FFN_MOE : FFN_GLU;
	d->norm = NORM_PRE;
	d->act = ACT_SILU;
	d->rope = true;
	d->rope_base = hp->rope_base;
	d->rope_freq_scale = hp->rope_freq_scale;
	d->n_head = hp->n_head[il];
	d->n_head_kv = hp->n_head_kv[il];
	d->n_ff = hp->n_ff[il];
}

void arch_moe_routing(const struct arch *a, const struct hparams *hp, struct moe_routing *r)
{
	/* Qwen MoE: softmax, renormalized or not by the arch, no scale; deepseek2 from its keys */
	r->sigmoid = hp->expert_gating == 2;
	r->softmax_weight = a->moe_softmax_weight;
	r->weight_input = a->moe_weight_input;
	r->norm = a->moe_renorm || hp->expert_weights_norm;
	r->scale = hp->expert_weights_scale > 0 ? hp->expert_weights_scale : 1.0f;
	r->n_group = hp->n_expert_groups;
	r->n_group_used = hp->n_group_used;
}
