/* vkllm synth: the preset (or a tiny default) gives hyperparameters, the architecture's recipe
 * gives the tensor list, and each tensor is filled row by row with seeded random numbers,
 * quantized with the same reference quantizers llama.cpp uses, and streamed to the file. The
 * file is written under a temporary name and renamed at the end, so a failure leaves nothing. */
#include "model/synth.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/status.h"
#include "loader/gguf_write.h"
#include "loader/quant.h"
#include "loader/vocab.h"
#include "loader/vocab_hf.h"
#include "model/arch.h"
#include "model/model.h"
#include "model/tensors.h"

/* Real models' shapes (from their Hugging Face config.json files). */
static const struct synth_preset presets[] = {
	{"qwen3-0.6b", "qwen3", "Qwen3-0.6B", 1024, 28, 16, 8, 128, 3072, 151936, 40960, 0, 0, 0, 0, 1e6f, 1e-6f, true, 0, false, 0, {0}, {0}, {0}, false, {0}},
	{"qwen3-8b", "qwen3", "Qwen3-8B", 4096, 36, 32, 8, 128, 12288, 151936, 40960, 0, 0, 0, 0, 1e6f, 1e-6f, false, 0, false, 0, {0}, {0}, {0}, false, {0}},
	{"qwen3-30b-a3b", "qwen3moe", "Qwen3-30B-A3B", 2048, 48, 32, 4, 128, 6144, 151936, 40960, 128, 8, 768, 0, 1e6f, 1e-6f,
	 false, 0, false, 0, {0}, {0}, {0}, false, {0}},
	{"qwen1.5-moe-a2.7b", "qwen2moe", "Qwen1.5-MoE-A2.7B", 2048, 24, 16, 16, 128, 5632, 151936, 8192, 60, 4, 1408, 0,
	 1e6f, 1e-6f, false, 0, true, 5632, {0}, {0}, {0}, false, {0}},
	{"qwen2.5-0.5b", "qwen2", "Qwen2.5-0.5B", 896, 24, 14, 2, 64, 4864, 151936, 32768, 0, 0, 0, 0, 1e6f, 1e-6f, true, 0, true, 0, {0}, {0}, {0}, false, {0}},
	{"llama-3.1-8b", "llama", "Llama-3.1-8B", 4096, 32, 32, 8, 128, 14336, 128256, 131072, 0, 0, 0, 0, 5e5f, 1e-5f, false, 8,
	 false, 0, {0}, {0}, {0}, false, {0}},
	{"llama-3.2-1b", "llama", "Llama-3.2-1B", 2048, 16, 32, 8, 64, 8192, 128256, 131072, 0, 0, 0, 0, 5e5f, 1e-5f, true, 32, false, 0, {0}, {0}, {0}, false, {0}},
	{"mistral-small-3.1", "llama", "Mistral-Small-3.1-24B (text)", 5120, 40, 32, 8, 128, 32768, 131072, 131072, 0, 0, 0, 0, 1e9f,
	 1e-5f, false, 0, false, 0, {0}, {0}, {0}, false, {0}},
	{"smollm3-3b", "smollm3", "SmolLM3-3B", 2048, 36, 16, 4, 128, 11008, 128256, 65536, 0, 0, 0, 0, 5e6f, 1e-6f, true, 0, false, 0, {0}, {0}, {0}, false, {0}},
	{"olmo2-1b", "olmo2", "OLMo-2-0425-1B", 2048, 16, 16, 16, 128, 8192, 100352, 4096, 0, 0, 0, 0, 5e5f, 1e-6f, false, 0, false, 0, {0}, {0}, {0}, false, {0}},
	{"gemma3-1b", "gemma3", "Gemma-3-1B", 1152, 26, 4, 1, 256, 6912, 262144, 32768, 0, 0, 0, 512, 1e6f, 1e-6f, true, 0, false, 0, {0}, {0}, {0}, false, {0}},
	/* deepseek2: head_dim is the per-head key (qk_nope 128 + qk_rope 64); n_head_kv 1 is the MQA
	 * over the latent cache that the converter writes. n_ff is the dense layers' intermediate_size,
	 * n_ff_exp moe_intermediate_size. DeepSeek-V3 (deepseek-ai/DeepSeek-V3 config.json): YaRN
	 * factor 40 over 4096, mscale = mscale_all_dim = 1; 256 routed experts in 8 groups, 4 groups
	 * used, sigmoid scores, routed_scaling_factor 2.5; first_k_dense_replace 3. The file's 62nd
	 * layer (num_nextn_predict_layers 1, the MTP module) is not written. */
	{"deepseek-v3", "deepseek2", "DeepSeek-V3", 7168, 61, 128, 1, 192, 18432, 129280, 163840, 256, 8, 2048, 0, 1e4f, 1e-6f,
	 false, 0, false, 0,
	 {.q_lora = 1536, .kv_lora = 512, .rope = 64, .v_head = 128, .n_shared = 1, .n_dense_lead = 3, .n_group = 8,
	  .n_group_used = 4, .gating = 2, .norm = true, .scale = 2.5f, .yarn_factor = 40, .yarn_orig_ctx = 4096,
	  .mscale_all_dim = 1.0f}, {0}, {0}, false, {0}},
	/* Kimi K2 (moonshotai/Kimi-K2-Instruct config.json, model_type kimi_k2 on DeepseekV3ForCausalLM):
	 * V3's block with 64 heads, 384 experts in one group, 1 dense layer, routed_scaling_factor 2.827,
	 * rope_theta 50000, YaRN factor 32 over 4096 (131072), vocabulary 163840 */
	{"kimi-k2", "deepseek2", "Kimi-K2", 7168, 61, 64, 1, 192, 18432, 163840, 131072, 384, 8, 2048, 0, 5e4f, 1e-6f, false, 0,
	 false, 0,
	 {.q_lora = 1536, .kv_lora = 512, .rope = 64, .v_head = 128, .n_shared = 1, .n_dense_lead = 1, .n_group = 1,
	  .n_group_used = 1, .gating = 2, .norm = true, .scale = 2.827f, .yarn_factor = 32, .yarn_orig_ctx = 4096,
	  .mscale_all_dim = 1.0f}, {0}, {0}, false, {0}},
	/* DeepSeek-V2-Lite (deepseek-ai/DeepSeek-V2-Lite config.json): q_lora_rank null (a plain attn_q),
	 * 64 experts top-6 with softmax scores, 2 shared experts, no groups, norm_topk_prob false,
	 * routed_scaling_factor 1; YaRN factor 40 over 4096, mscale = mscale_all_dim = 0.707 */
	{"deepseek-v2-lite", "deepseek2", "DeepSeek-V2-Lite", 2048, 27, 16, 1, 192, 10944, 102400, 163840, 64, 6, 1408, 0, 1e4f,
	 1e-6f, false, 0, false, 0,
	 {.q_lora = 0, .kv_lora = 512, .rope = 64, .v_head = 128, .n_shared = 2, .n_dense_lead = 1, .n_group = 1,
	  .n_group_used = 1, .gating = 1, .norm = false, .scale = 1.0f, .yarn_factor = 40, .yarn_orig_ctx = 4096,
	  .mscale_all_dim = 0.707f}, {0}, {0}, false, {0}},
	/* Qwen3-Next-80B-A3B (Qwen/Qwen3-Next-80B-A3B-Instruct config.json, as transformers'
	 * Qwen3NextConfig defaults and /work/shared/reference/deltanet-notes.md 1.1 transcribe it):
	 * 48 layers, every 4th gated full attention (16 q heads, 2 KV heads of 256, partial_rotary_factor
	 * 0.25 -> 64 rotated dims), the other 36 gated DeltaNet (16 key heads and 32 value heads of 128,
	 * conv kernel 4); 512 experts of 512, top-10, one shared expert of 512; untied; 262144 context.
	 * rope_theta 1e7 as Qwen3-Next-derived configs carry it (not read from the official file). The
	 * file's MTP block (block 48) is not written. */
	{"qwen3-next-80b-a3b", "qwen3next", "Qwen3-Next-80B-A3B", 2048, 48, 16, 2, 256, 5120, 151936, 262144, 512, 10, 512, 0,
	 1e7f, 1e-6f, false, 0, false, 512, {0}, {.d_conv = 4, .n_k_heads = 16, .n_v_heads = 32, .head_dim = 128, .interval = 4, .n_rot = 64}, {0}, false, {0}},
	/* Kimi-Linear-48B-A3B (moonshotai/Kimi-Linear-48B-A3B-Instruct config.json, as llama.cpp's
	 * kimi-linear.cpp comments and torchtitan's KimiLinearModelArgs transcribe it): 27 layers,
	 * full_attn_layers 4, 8, ..., 24 and 27 (1-based: every 4th and the last) MLA without RoPE, the
	 * other 20 KDA (32 heads of 128, conv kernel 4); MLA q_lora_rank null, kv_lora 512, qk_nope 128 +
	 * qk_rope 64, v 128; 256 experts of 1024, top-8, sigmoid with the bias, renormalized,
	 * routed_scaling_factor 2.446, one shared expert; first_k_dense_replace 1 (dense 9216); rms eps
	 * 1e-5; vocabulary 163840; untied; 1M context. */
	{"kimi-linear-48b-a3b", "kimi-linear", "Kimi-Linear-48B-A3B", 2304, 27, 32, 1, 192, 9216, 163840, 1048576, 256, 8,
	 1024, 0, 1e4f, 1e-5f, false, 0, false, 0,
	 {.q_lora = 0, .kv_lora = 512, .rope = 64, .v_head = 128, .n_shared = 1, .n_dense_lead = 1, .gating = 2, .norm = true,
	  .scale = 2.446f},
	 {.d_conv = 4, .n_k_heads = 32, .n_v_heads = 32, .head_dim = 128, .interval = 4}, {0}, false, {0}},
	/* gpt-oss-20b and -120b (openai/gpt-oss-20b, -120b config.json): hidden 2880, 64 query heads and
	 * 8 KV heads of 64 (q 4096 wide), 32 or 128 experts of 2880, top-4, sliding window 128 on every
	 * other layer, rope_theta 150000 with YaRN factor 32 over 4096 (131072), rms eps 1e-5,
	 * vocabulary 201088, untied. The experts are MXFP4 (arch.experts_mxfp4). */
	{"gpt-oss-20b", "gpt-oss", "gpt-oss-20b", 2880, 24, 64, 8, 64, 2880, 201088, 131072, 32, 4, 2880, 128, 150000.0f,
	 1e-5f, false, 0, true, 0, {0}, {0}, {.factor = 32, .orig_ctx = 4096}, false, {0}},
	{"gpt-oss-120b", "gpt-oss", "gpt-oss-120b", 2880, 36, 64, 8, 64, 2880, 201088, 131072, 128, 4, 2880, 128, 150000.0f,
	 1e-5f, false, 0, true, 0, {0}, {0}, {.factor = 32, .orig_ctx = 4096}, false, {0}},
	/* GLM-4.5 and GLM-4.5-Air (zai-org/GLM-4.5, GLM-4.5-Air config.json): heads of 128 with
	 * partial_rotary_factor 0.5, attention_bias; 160 or 128 routed experts of 1536 or 1408, top-8,
	 * sigmoid with the bias, norm_topk_prob, routed_scaling_factor 2.5 or 1; one shared expert;
	 * first_k_dense_replace 3 or 1; rope_theta 1e6; rms eps 1e-5; vocabulary 151552; 131072 context;
	 * use_qk_norm true and false. The MTP layer (num_nextn_predict_layers 1) is not written. */
	{"glm-4.5", "glm4moe", "GLM-4.5", 5120, 92, 96, 8, 128, 12288, 151552, 131072, 160, 8, 1536, 0, 1e6f, 1e-5f, false, 0,
	 true, 0, {.n_shared = 1, .n_dense_lead = 3, .gating = 2, .norm = true, .scale = 2.5f}, {.n_rot = 64}, {0}, true, {0}},
	{"glm-4.5-air", "glm4moe", "GLM-4.5-Air", 4096, 46, 96, 8, 128, 10944, 151552, 131072, 128, 8, 1408, 0, 1e6f, 1e-5f,
	 false, 0, true, 0, {.n_shared = 1, .n_dense_lead = 1, .gating = 2, .norm = true, .scale = 1.0f}, {.n_rot = 64}, {0},
	 false, {0}},
	/* MiniMax-M2 (MiniMaxAI/MiniMax-M2 config.json): 62 layers, 48 heads and 8 KV heads of 128 with
	 * rotary_dim 64, whole-projection QK-norm; 256 experts of 1536, top-8, sigmoid scores with the
	 * correction bias, renormalized; rope_theta 5e6; rms eps 1e-6; vocabulary 200064; 196608 context */
	{"minimax-m2", "minimax-m2", "MiniMax-M2", 3072, 62, 48, 8, 128, 1536, 200064, 196608, 256, 8, 1536, 0, 5e6f, 1e-6f,
	 false, 0, false, 0, {.gating = 2, .norm = true, .scale = 1.0f}, {.n_rot = 64}, {0}, false, {0}},
	/* Ministral 3 (mistralai/Ministral-3-3B-Base-2512 and -14B-Base-2512, text_config of their
	 * config.json as NVIDIA Megatron-Bridge's megatron/bridge/models/ministral3/ministral3_provider.py
	 * transcribes it): 32 heads and 8 KV heads of 128 (q wider than n_embd on the 3B), rope_theta 1e6
	 * (14B: 1e9), rope_parameters yarn factor 16 over original_max_position_embeddings 16384 (262144),
	 * beta_fast 32, beta_slow 1, mscale = mscale_all_dim 1, llama_4_scaling_beta 0.1; rms eps 1e-5;
	 * vocabulary 131072 (Tekken); 3B: hidden 3072, 26 layers, intermediate 9216, tied embeddings;
	 * 14B: hidden 5120, 40 layers, intermediate 16384, untied. The model cards' sizes: 3.4 B and
	 * 13.5 B for the language model (beside a 0.4 B vision encoder, not written). Written as today's
	 * converter does (conversion/mistral3.py): arch mistral3 with the YaRN and temperature keys. */
	{"ministral-3", "mistral3", "Ministral-3-3B (text)", 3072, 26, 32, 8, 128, 9216, 131072, 262144, 0, 0, 0, 0, 1e6f, 1e-5f,
	 true, 0, false, 0, {0}, {0}, {.factor = 16, .orig_ctx = 16384, .beta_fast = 32, .beta_slow = 1, .log_mul = 1,
	 .temp_scale = 0.1f}, false, {0}},
	{"ministral-3-14b", "mistral3", "Ministral-3-14B (text)", 5120, 40, 32, 8, 128, 16384, 131072, 262144, 0, 0, 0, 0, 1e9f,
	 1e-5f, false, 0, false, 0, {0}, {0}, {.factor = 16, .orig_ctx = 16384, .beta_fast = 32, .beta_slow = 1, .log_mul = 1,
	 .temp_scale = 0.1f}, false, {0}},
	/* Llama 4 Scout and Maverick (meta-llama/Llama-4-Scout-17B-16E and -Maverick-17B-128E, text_config of
	 * their config.json): hidden 5120, 48 layers, 40 heads and 8 KV heads of 128, routed experts of 8192
	 * (intermediate_size) top-1 beside a shared one, dense layers of 16384 (intermediate_size_mlp),
	 * rope_theta 5e5, rms eps 1e-5, vocabulary 202048, untied. Scout: 16 experts on every layer,
	 * QK-norm, 10M context, rope_scaling llama3 x16 over 8192 (low and high freq factors 1: the
	 * converter's rope_freqs are 1 or 16). Maverick: 128 experts on every second layer, no QK-norm,
	 * 1M context, no rope scaling. Meta's sizes: 109B / 17B active and 400B / 17B (with the vision
	 * encoder, not written here). */
	{"llama4-scout", "llama4", "Llama-4-Scout-17B-16E (text)", 5120, 48, 40, 8, 128, 16384, 202048, 10485760, 16, 1, 8192,
	 0, 5e5f, 1e-5f, false, 16, false, 0, {.moe_step = 1}, {0}, {0}, false, {0}},
	{"llama4-maverick", "llama4", "Llama-4-Maverick-17B-128E (text)", 5120, 48, 40, 8, 128, 16384, 202048, 1048576, 128, 1,
	 8192, 0, 5e5f, 1e-5f, false, 0, false, 0, {.moe_step = 2}, {0}, {0}, false, {0}},
	/* Grok 2.5 (xai-org/grok-2 config.json): hidden 8192, 64 layers, 64 heads and 8 KV heads of 128, 8
	 * experts of 16384 (moe_intermediate_size) top-2 beside a dense FFN of 32768 (residual_moe),
	 * vocabulary 131072, 131072 context, rope_theta 208533496 with YaRN x16 over 8192 (extrapolation 1,
	 * attn_factor 1, beta_fast 8, beta_slow 1), rms eps 1e-5; embedding_multiplier_scale 90.50966799187809,
	 * output_multiplier_scale 0.5, attn_output_multiplier 0.08838834764831845 (1/sqrt(128)), softcaps
	 * 30 (attention) and 50 (final); untied. xAI's size: about 270B. */
	{"grok-2.5", "grok", "Grok 2.5", 8192, 64, 64, 8, 128, 32768, 131072, 131072, 8, 2, 16384, 0, 208533496.0f, 1e-5f,
	 false, 0, false, 0, {.gating = 1, .norm = true, .scale = 1.0f}, {0},
	 {.factor = 16, .orig_ctx = 8192, .beta_fast = 8, .beta_slow = 1}, false,
	 {.embed_scale = 90.50966799187809f, .logit_scale = 0.5f, .attn_scale = 0.08838834764831845f, .attn_softcap = 30,
	  .final_softcap = 50, .dense = true}},
	/* Gemma 3n E2B and E4B, text only (google/gemma-3n-E2B / -E4B text_config): hidden 2048, 8 heads and 2
	 * KV heads of 256, vocabulary 262400 (the converter pads the 262144 to it), per-layer inputs of 256,
	 * window 512 on 4 of every 5 layers, rope_theta 1e6 (1e4 sliding), rms eps 1e-6, tied, 32768 context.
	 * E2B: 30 layers with FFNs of 8192, the last 10 reading layers 18/19's KV; E4B: 35 layers of 16384,
	 * the last 15. Google's effective sizes leave out the two embedding tables (1.91B for E2B). */
	{"gemma-3n-e2b", "gemma3n", "Gemma-3n-E2B (text)", 2048, 30, 8, 2, 256, 8192, 262400, 32768, 0, 0, 0, 512, 1e6f, 1e-6f,
	 true, 0, false, 0, {0}, {0}, {0}, false, {0}},
	{"gemma-3n-e4b", "gemma3n", "Gemma-3n-E4B (text)", 2048, 35, 8, 2, 256, 16384, 262400, 32768, 0, 0, 0, 512, 1e6f, 1e-6f,
	 true, 0, false, 0, {0}, {0}, {0}, false, {0}},
	{0},
};

const struct synth_preset *synth_presets(void) { return presets; }

/* Tiny models for tests: every block of the arch, a few layers, small enough for a CPU reference.
 * gemma3 gets 6 layers so one is global; smollm3 4 so one is NoPE. */
static void tiny_preset(struct synth_preset *p, const char *arch)
{
	*p = (struct synth_preset){"tiny", arch, "tiny", 64, 2, 4, 2, 16, 128, 512, 4096, 0, 0, 0, 0, 1e4f, 1e-6f, true, 0, false, 0, {0}, {0}, {0}, false, {0}};
	if (!strcmp(arch, "gemma3")) p->n_layer = 6, p->n_swa = 8, p->rope_base = 1e6f; /* global base != local */
	if (!strcmp(arch, "smollm3")) p->n_layer = 4;
	if (!strcmp(arch, "qwen3moe")) p->n_expert = 8, p->n_expert_used = 2, p->n_ff_exp = 32;
	if (!strcmp(arch, "qwen2moe"))
		p->n_expert = 8, p->n_expert_used = 2, p->n_ff_exp = 32, p->n_ff_shexp = 96, p->qkv_bias = true, p->tied = false;
	if (!strcmp(arch, "olmo2")) p->tied = false;
	if (!strcmp(arch, "qwen2")) p->qkv_bias = true;
	if (!strncmp(arch, "qwen3next", 9) || !strncmp(arch, "qwen35", 6)) {
		/* 4 layers so the last is full attention; 2 key heads shared by 4 value heads (so qwen3next's
		 * interleaved and qwen35's tiled head sharing differ); every matmul's K a multiple of 32
		 * (64, 128 for ssm_out); attention heads of 16 with partial RoPE on a quarter, as the real ones */
		p->n_layer = 4, p->tied = !strcmp(arch, "qwen35");
		p->gdn = (struct synth_gdn){.d_conv = 4, .n_k_heads = 2, .n_v_heads = 4, .head_dim = 32, .interval = 4, .n_rot = 4};
		if (strncmp(arch, "qwen35", 6) == 0) /* IMROPE over the 2 rotated pairs: t, h */
			p->gdn.sections[0] = 1, p->gdn.sections[1] = 1;
		if (strcmp(arch, "qwen35")) p->n_expert = 8, p->n_expert_used = 2, p->n_ff_exp = 32, p->n_ff_shexp = 64;
	}
	if (!strcmp(arch, "deepseek2")) {
		/* DeepSeek V3's layout in small: a dense first layer, q through its low rank, sigmoid routing
		 * with a bias over groups, a shared expert, YaRN; head sizes unlike each other on purpose */
		p->n_layer = 3, p->n_head_kv = 1, p->head_dim = 40, p->n_expert = 8, p->n_expert_used = 2, p->n_ff_exp = 32;
		p->tied = false;
		p->mla = (struct synth_mla){.q_lora = 96, .kv_lora = 32, .rope = 8, .v_head = 24, .n_shared = 1, .n_dense_lead = 1,
		                            .n_group = 4, .n_group_used = 2, .gating = 2, .norm = true, .scale = 2.5f,
		                            .yarn_factor = 4.0f, .yarn_orig_ctx = 1024, .mscale_all_dim = 1.0f};
	}
	if (!strcmp(arch, "gpt-oss")) {
		/* gpt-oss in small: 4 layers (2 with a window of 8), q wider than n_embd (4 heads of 24), 2 KV
		 * heads, 8 experts top-4 with MXFP4 weights, YaRN x32 over 128 tokens */
		p->n_layer = 4, p->head_dim = 24, p->n_expert = 8, p->n_expert_used = 4, p->n_ff_exp = 32, p->n_swa = 8;
		p->tied = false, p->norm_eps = 1e-5f, p->rope_base = 150000.0f, p->qkv_bias = true;
		p->yarn = (struct synth_yarn){.factor = 32, .orig_ctx = 128};
	}
	if (!strcmp(arch, "glm4moe")) {
		/* GLM-4.5 in small: a dense first layer, q/k/v biases, per-head QK-norm, RoPE on half of
		 * each head of 32, 8 experts top-2 by sigmoid with the bias, scaled, one shared expert */
		p->n_layer = 3, p->head_dim = 32, p->n_expert = 8, p->n_expert_used = 2, p->n_ff_exp = 32, p->qk_norm = true;
		p->tied = false, p->qkv_bias = true, p->norm_eps = 1e-5f;
		p->mla = (struct synth_mla){.n_shared = 1, .n_dense_lead = 1, .gating = 2, .norm = true, .scale = 2.5f};
		p->gdn.n_rot = 16;
	}
	if (!strcmp(arch, "minimax-m2")) {
		/* MiniMax-M2 in small: heads of 32 (q wider than n_embd), whole-projection QK-norm, RoPE on
		 * half of each head, 8 experts (the FFN width) top-2 by sigmoid with the bias */
		p->n_layer = 2, p->head_dim = 32, p->n_expert = 8, p->n_expert_used = 2, p->n_ff = 32, p->n_ff_exp = 32;
		p->tied = false;
		p->mla = (struct synth_mla){.gating = 2, .norm = true, .scale = 1.0f};
		p->gdn.n_rot = 16;
	}
	if (!strcmp(arch, "mistral3")) {
		/* Ministral 3 in small: YaRN x16 over an original context of 8, with beta_fast 2 and
		 * beta_slow 0.25 (the ramp then spans pairs 0-2 instead of the defaults' 0-1), mscale_all_dim 1;
		 * the temperature 0.1 over that floor of 8, so a 24-token test sees factors 1, 1.069, 1.110 */
		p->tied = false, p->norm_eps = 1e-5f, p->n_layer = 2;
		p->yarn = (struct synth_yarn){.factor = 16, .orig_ctx = 8, .beta_fast = 2, .beta_slow = 0.25f, .log_mul = 1,
		                              .temp_scale = 0.1f};
	}
	if (!strcmp(arch, "grok")) {
		/* Grok 2 in small: 3 layers, 8 experts of 32 top-2 beside a dense FFN of 128, YaRN x16 over 8 with
		 * beta_fast 8; softcaps of 5 (attention) and 4 (final) instead of 30 and 50, so that these small
		 * random scores and logits reach the curved part of tanh; the embedding multiplier and the
		 * attention and logit scales as Grok 2's for heads of 16 (1/sqrt(16)) */
		p->n_layer = 3, p->n_expert = 8, p->n_expert_used = 2, p->n_ff_exp = 32, p->tied = false, p->norm_eps = 1e-5f;
		p->mla = (struct synth_mla){.gating = 1, .norm = true, .scale = 1.0f};
		p->yarn = (struct synth_yarn){.factor = 16, .orig_ctx = 8, .beta_fast = 8, .beta_slow = 1};
		p->grok = (struct synth_grok){.embed_scale = 90.50966799187809f, .logit_scale = 0.5f, .attn_scale = 0.25f,
		                              .attn_softcap = 5, .final_softcap = 4, .dense = true};
	}
	if (!strcmp(arch, "gemma3n")) {
		/* Gemma 3n in small: 25 layers, so that past llama.cpp's fixed 20 KV layers there are sliding
		 * (20-23) and full (24) layers reading layers 18 and 19's caches; the first 10 with the sparse
		 * gate; 4 sliding layers (window 8, base 1e4) to a full one (base 1e6); tied embeddings */
		p->n_layer = 25, p->n_swa = 8, p->rope_base = 1e6f;
	}
	if (!strcmp(arch, "llama4")) {
		/* Llama 4 in small: 4 layers (the 4th NoPE, the others chunked with the weightless QK-norm),
		 * MoE on every second layer (8 experts of 32, top-2 so each slot's input weight shows) beside
		 * dense ones of 128, Scout's rope_freqs (x16 beyond a wavelength of 8192) */
		p->n_layer = 4, p->n_expert = 8, p->n_expert_used = 2, p->n_ff_exp = 32, p->tied = false, p->norm_eps = 1e-5f;
		p->rope_base = 5e5f, p->llama3_rope_factor = 16;
		p->mla.moe_step = 2;
	}
	if (!strcmp(arch, "kimi-linear")) {
		/* Kimi Linear in small: 6 layers, KDA except the 4th and the last (MLA without RoPE, so KDA
		 * follows MLA once); a dense first layer; 4 heads everywhere, KDA heads of 32; MLA heads of
		 * nope 32 + pe 8, v 24 over a latent of 32; 8 experts top-2, sigmoid with the bias */
		p->n_layer = 6, p->n_head_kv = 1, p->head_dim = 40, p->n_expert = 8, p->n_expert_used = 2, p->n_ff_exp = 32;
		p->tied = false, p->norm_eps = 1e-5f;
		p->mla = (struct synth_mla){.kv_lora = 32, .rope = 8, .v_head = 24, .n_shared = 1, .n_dense_lead = 1, .gating = 2,
		                            .norm = true, .scale = 2.446f};
		p->gdn = (struct synth_gdn){.d_conv = 4, .n_k_heads = 4, .n_v_heads = 4, .head_dim = 32, .interval = 4};
	}
}

static void apply_overrides(struct synth_preset *p, const struct synth_options *o)
{
#define OVR(field) if (o->field) p->field = o->field
	OVR(n_embd); OVR(n_layer); OVR(n_head); OVR(n_head_kv); OVR(n_ff); OVR(n_vocab);
	OVR(n_expert); OVR(n_expert_used); OVR(n_ff_exp); OVR(n_swa); OVR(n_ff_shexp);
#undef OVR
	if (o->head_dim) p->head_dim = o->head_dim;
	/* archs that size Q by n_embd: a new width or head count keeps n_head * head_dim = n_embd
	 * unless the head size was given too */
	const struct arch *a = arch_find(p->arch);
	if (a && a->q_is_n_embd && !o->head_dim && p->n_head && p->n_embd % p->n_head == 0) p->head_dim = p->n_embd / p->n_head;
	if (o->n_ctx) p->n_ctx = o->n_ctx;
	if (o->tied >= 0) p->tied = o->tied;
	if (o->kv_lora_rank) p->mla.kv_lora = o->kv_lora_rank;
	if (o->q_lora_rank) p->mla.q_lora = o->q_lora_rank;
	if (o->no_q_lora) p->mla.q_lora = 0;
	if (o->rope_dim) p->mla.rope = o->rope_dim;
	if (o->v_head_dim) p->mla.v_head = o->v_head_dim;
	if (o->n_expert_shared) p->mla.n_shared = o->n_expert_shared;
	if (o->n_dense_lead) p->mla.n_dense_lead = o->n_dense_lead;
	if (o->legacy_kv_b) p->mla.legacy_kv_b = true;
	/* groups that no longer divide the experts are dropped rather than refused */
	if (p->mla.n_group > 1 && (p->n_expert % p->mla.n_group || p->mla.n_group >= p->n_expert))
		p->mla.n_group = p->mla.n_group_used = 0;
}

/* DeepSeek-style routing and layer split (deepseek2, kimi-linear, glm4moe, minimax-m2), from the
 * preset's synth_mla fields: shared experts, leading dense layers, groups, gating, norm, scale. */
static void deepseek_routing(struct hparams *hp, const struct synth_preset *p)
{
	const struct synth_mla *m = &p->mla;
	hp->n_expert_shared = m->n_shared;
	hp->n_layer_dense_lead = m->n_dense_lead < hp->n_layer ? m->n_dense_lead : hp->n_layer;
	hp->n_expert_groups = m->n_group;
	hp->n_group_used = m->n_group_used;
	hp->expert_gating = m->gating ? m->gating : 1;
	hp->expert_weights_norm = m->norm;
	hp->expert_weights_scale = m->scale;
}

/* deepseek2 as conversion/deepseek.py writes it: MLA files are MQA over the latent cache
 * (head_count_kv 1, key_length kv_lora + rope, value_length kv_lora, the per-head sizes in the
 * _mla keys); legacy files are MHA with the per-head sizes in key_length / value_length. */
static int mla_hparams(struct hparams *hp, const struct synth_preset *p)
{
	const struct synth_mla *m = &p->mla;
	if (!m->kv_lora || !m->rope || !m->v_head || m->rope % 2 || m->rope >= p->head_dim)
		return fail(VKLLM_E_ARG, "deepseek2: --kv-lora-rank %u, --rope-dim %u (even, below --head-dim %u) and "
		            "--v-head-dim %u must be positive", m->kv_lora, m->rope, p->head_dim, m->v_head);
	/* llama.cpp takes a deepseek2 file of 26 or 27 layers for a "lite" model and does not read its
	 * q_lora_rank (deepseek2.cpp load_arch_hparams): with a q low rank it could not load it */
	if (m->q_lora && (hp->n_layer == 26 || hp->n_layer == 27))
		return fail(VKLLM_E_ARG, "deepseek2 with %u layers and a q low rank: llama.cpp reads a 26- or 27-layer file as "
		            "a lite model without q_lora_rank; choose another --n-layer or --no-q-lora", hp->n_layer);
	hp->n_lora_q = m->q_lora;
	hp->n_lora_kv = m->kv_lora;
	hp->n_rot = m->rope;
	if (m->legacy_kv_b) {
		hp->head_dim_k = p->head_dim;
		hp->head_dim_v = m->v_head;
	} else {
		hp->head_dim_k_mla = p->head_dim;
		hp->head_dim_v_mla = m->v_head;
		hp->head_dim_k = m->kv_lora + m->rope;
		hp->head_dim_v = m->kv_lora;
	}
	for (uint32_t il = 0; il < hp->n_layer; il++) hp->n_head_kv[il] = m->legacy_kv_b ? p->n_head : 1;
	deepseek_routing(hp, p);
	if (m->yarn_factor > 0) {
		hp->rope_scaling = ROPE_SCALING_YARN;
		hp->rope_freq_scale = 1.0f / m->yarn_factor;
		hp->n_ctx_orig_yarn = m->yarn_orig_ctx;
		hp->rope_yarn_log_mul = 0.1f * m->mscale_all_dim;
	}
	return VKLLM_OK;
}

static int make_hparams(struct hparams *hp, const struct arch *a, const struct synth_preset *p)
{
	memset(hp, 0, sizeof *hp);
	snprintf(hp->arch, sizeof hp->arch, "%s", a->name);
	if (p->n_layer == 0 || p->n_layer > MODEL_MAX_LAYERS)
		return fail(VKLLM_E_ARG, "--n-layer %u is out of range (1 to %d)", p->n_layer, MODEL_MAX_LAYERS);
	if (!p->n_embd || !p->n_head || !p->n_head_kv || !p->head_dim || !p->n_ff || p->n_head % p->n_head_kv)
		return fail(VKLLM_E_ARG, "shape n_embd %u, n_head %u, n_head_kv %u, head_dim %u, n_ff %u: all must be positive and "
		            "n_head a multiple of n_head_kv", p->n_embd, p->n_head, p->n_head_kv, p->head_dim, p->n_ff);
	if (p->head_dim % 2) return fail(VKLLM_E_ARG, "--head-dim %u must be even (RoPE rotates pairs)", p->head_dim);
	hp->n_ctx_train = p->n_ctx;
	hp->n_embd = p->n_embd;
	hp->n_layer = p->n_layer;
	for (uint32_t il = 0; il < p->n_layer; il++) {
		hp->n_head[il] = p->n_head;
		hp->n_head_kv[il] = p->n_head_kv;
		hp->n_ff[il] = p->n_ff;
	}
	hp->head_dim_k = hp->head_dim_v = hp->n_rot = p->head_dim;
	hp->norm_eps = p->norm_eps;
	hp->rope_base = p->rope_base;
	hp->rope_freq_scale = 1.0f;
	hp->rope_scaling = ROPE_SCALING_LINEAR;
	hp->n_ctx_orig_yarn = p->n_ctx;
	hp->rope_attn_factor = 1.0f;
	hp->rope_base_swa = 10000.0f;
	hp->rope_freq_scale_swa = 1.0f;
	hp->yarn_ext_factor = -1.0f;
	hp->yarn_attn_factor = 1.0f;
	hp->n_swa = p->n_swa;
	hp->n_expert = p->n_expert;
	hp->n_expert_used = p->n_expert_used;
	hp->n_ff_exp = p->n_ff_exp;
	hp->n_ff_shexp = p->n_ff_shexp;
	if (hp->n_expert && (!hp->n_expert_used || hp->n_expert_used > hp->n_expert || !hp->n_ff_exp))
		return fail(VKLLM_E_ARG, "experts: %u used of %u with FFN size %u is not a valid MoE shape", hp->n_expert_used,
		            hp->n_expert, hp->n_ff_exp);
	if (hp->n_expert && strcmp(a->name, "qwen3moe") && strcmp(a->name, "qwen2moe") && strcmp(a->name, "llama") &&
	    strcmp(a->name, "deepseek2") && strcmp(a->name, "qwen3next") && strcmp(a->name, "qwen35moe") && strcmp(a->name, "kimi-linear") &&
	    strcmp(a->name, "gpt-oss") && strcmp(a->name, "glm4moe") && strcmp(a->name, "minimax-m2") && strcmp(a->name, "llama4") &&
	    strcmp(a->name, "grok"))
		return fail(VKLLM_E_ARG, "architecture %s has no experts (--n-expert)", a->name);
	hp->n_moe_layer_step = p->mla.moe_step;
	if (!strcmp(a->name, "grok")) {
		const struct synth_grok *g = &p->grok;
		hp->embed_scale = g->embed_scale, hp->logit_scale = g->logit_scale, hp->attn_scale = g->attn_scale;
		hp->attn_softcap = g->attn_softcap, hp->final_softcap = g->final_softcap, hp->moe_dense = g->dense;
		/* the converter writes every YaRN key: extrapolation 1, attn_factor 1, the betas */
		hp->yarn_beta_fast = p->yarn.beta_fast, hp->yarn_beta_slow = p->yarn.beta_slow;
		if (p->yarn.factor > 0) hp->yarn_ext_factor = 1.0f, hp->yarn_attn_factor = 1.0f;
	}
	if (p->yarn.factor > 0) {
		hp->rope_scaling = ROPE_SCALING_YARN;
		hp->rope_freq_scale = 1.0f / p->yarn.factor;
		hp->n_ctx_orig_yarn = p->yarn.orig_ctx;
	}
	if (!strcmp(a->name, "mistral3")) {
		hp->yarn_beta_fast = p->yarn.beta_fast;
		hp->yarn_beta_slow = p->yarn.beta_slow;
		hp->rope_yarn_log_mul = p->yarn.log_mul;
		hp->attn_temp_scale = p->yarn.temp_scale;
	}
	bool kimi = !strcmp(a->name, "kimi-linear");
	if (kimi && p->mla.legacy_kv_b)
		return fail(VKLLM_E_ARG, "--legacy-kv-b: kimi-linear files carry attn_k_b / attn_v_b (llama.cpp's legacy path "
		            "for it is not the model)");
	if (!strcmp(a->name, "deepseek2") || kimi) TRY(mla_hparams(hp, p));
	if (!strcmp(a->name, "glm4moe") || !strcmp(a->name, "minimax-m2")) deepseek_routing(hp, p);
	hp->qk_norm_head = p->qk_norm;
	if (!p->gdn.head_dim && p->gdn.n_rot) hp->n_rot = p->gdn.n_rot; /* partial RoPE (glm4moe, minimax-m2) */
	if (p->gdn.head_dim) {
		const struct synth_gdn *g = &p->gdn;
		hp->ssm_d_conv = g->d_conv;
		hp->ssm_d_state = g->head_dim;
		hp->ssm_n_group = g->n_k_heads;
		hp->ssm_dt_rank = g->n_v_heads;
		hp->ssm_d_inner = g->head_dim * g->n_v_heads;
		if (g->n_rot) hp->n_rot = g->n_rot;
		memcpy(hp->rope_sections, g->sections, sizeof hp->rope_sections);
		if (kimi) { /* full attention every interval-th layer and the last, as full_attn_layers; KDA: 0 KV heads */
			for (uint32_t il = 0; il < hp->n_layer; il++)
				hp->n_head_kv[il] = (il + 1) % g->interval == 0 || il + 1 == hp->n_layer ? 1 : 0;
		} else {
			hp->full_attn_interval = g->interval;
		}
	}
	return a->finish ? a->finish(hp, NULL) : VKLLM_OK;
}

/* ---- random numbers: a counter-based generator, so any row can be made on its own ---- */

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t hash_name(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h;
}

/* n standard normal numbers (Box-Muller in float, both outputs used: synth is bound by this) */
static void normal_row(float *out, uint64_t n, uint64_t state)
{
	for (uint64_t i = 0; i < n; i += 2) {
		uint64_t bits = splitmix(&state);
		float u1 = ((float)(bits >> 40) + 1.0f) * 0x1.0p-24f, u2 = (float)((bits >> 16) & 0xFFFFFF) * 0x1.0p-24f;
		float r = sqrtf(-2.0f * logf(u1)), s, c;
		sincosf(6.2831853f * u2, &s, &c);
		out[i] = r * c;
		if (i + 1 < n) out[i + 1] = r * s;
	}
}

/* Llama 3.1's rope_freqs (the converter's generate_extra_tensors): 1 for high frequencies,
 * `factor` for low ones, smooth in between; low_freq_factor 1, high_ff (Llama 3.1: 4; Llama 4
 * Scout: 1, so nothing lies in between), original context 8192. */
static void llama3_rope_freqs(float *out, uint32_t n, float base, uint32_t n_rot, float factor, double high_ff)
{
	const double low_ff = 1.0, old_ctx = 8192.0;
	double low_wavelen = old_ctx / low_ff, high_wavelen = old_ctx / high_ff;
	for (uint32_t i = 0; i < n; i++) {
		double freq = 1.0 / pow(base, 2.0 * i / n_rot), wavelen = 2 * M_PI / freq;
		if (wavelen < high_wavelen) out[i] = 1.0f;
		else if (wavelen > low_wavelen || high_ff == low_ff) out[i] = factor;
		else {
			double smooth = (old_ctx / wavelen - low_ff) / (high_ff - low_ff);
			out[i] = (float)(1.0 / ((1 - smooth) / factor + smooth));
		}
	}
}

/* Scales that keep a random network alive. Linear layers keep the variance of their input (std
 * 1/sqrt(n_in)), so every block adds a unit-scale update to the residual stream. Embeddings get
 * the same std 1/sqrt(n_embd) (0.03 for n_embd 1024, as trained models have): with unit-variance
 * embeddings the input token would dominate the residual stream and a tied LM head would
 * predict the input token again and again. Norms near 1, small biases. */
#define ATTN_GAIN 2.0f

static void fill_row(const struct tensor_spec *s, const struct hparams *hp, uint64_t row, uint64_t seed, float *out)
{
	uint64_t n = s->ne[0], state = seed ^ hash_name(s->name) ^ (row * 0xd1342543de82ef95ull);
	normal_row(out, n, state);
	float scale = 1.0f, shift = 0.0f;
	/* Query and key get a gain (through their projections, or through their norms where QK-norm
	 * rescales them): attention scores then spread over about +-ATTN_GAIN^2 instead of +-1, so
	 * a position attends to a few others rather than averaging the whole context, which would
	 * make every step see the same mix and repeat the same token. MLA: on q (attn_q_b, attn_q) and
	 * on the compressed KV, whose norm takes the gain back out of c but leaves it on the rope key. */
	bool qk = strstr(s->name, "attn_q.") || strstr(s->name, "attn_k.") || strstr(s->name, "attn_q_norm") ||
	          strstr(s->name, "attn_k_norm") || strstr(s->name, "attn_q_b.") || strstr(s->name, "attn_kv_a_mqa.");
	/* Gemma 3n scores q.k unscaled (no 1/sqrt(head_dim)): its normed q and k need no gain to spread
	 * their scores as far as the other archs' (with it, one f32 rounding moves its sharp softmax) */
	if (hp->n_altup && s->role == TR_NORM) qk = false;
	switch (s->role) {
	case TR_EMBED:
	case TR_OUTPUT:
	case TR_MATRIX:
	case TR_EXPERTS:
	case TR_HEADS:
	case TR_ROUTER: scale = (qk ? ATTN_GAIN : 1.0f) / sqrtf((float)n); break;
	/* Gemma 3n's AltUp coefficients mix the 4 streams every layer: at unit scale the streams would
	 * grow by about 3x a layer, so they get a tenth of it (trained ones are small: the checkpoint
	 * clamps them); the rest of TR_KEEP (projections, LAuReL) as matrices */
	case TR_KEEP: scale = (strstr(s->name, "_coef") ? 0.1f : 1.0f) / sqrtf((float)n); break;
	case TR_NORM:
		scale = 0.1f, shift = qk ? ATTN_GAIN : 1.0f;
		if (hp->n_altup && (strstr(s->name, "attn_q_norm") || strstr(s->name, "attn_k_norm"))) shift = 0.5f;
		break;
	case TR_BIAS: scale = 0.1f; break;
	case TR_ROPE_FREQS: break; /* not random: see llama3_rope_freqs */
	case TR_CONV: scale = 1.0f / sqrtf((float)n); break; /* a unit-scale sum over the window */
	case TR_SINKS: break; /* logits about the size of the attention scores: some mass goes to the sink */
	case TR_SSM_A:
		/* -exp(A_log) with A between about 0.1 and 1: with softplus(alpha + dt) near 0.7 the state
		 * decays by 0.5-0.95 a token, so it remembers a few tokens to a few dozen */
		for (uint64_t i = 0; i < n; i++) out[i] = -expf(0.5f * out[i] - 1.0f);
		return;
	}
	/* Gemma multiplies input embeddings by sqrt(n_embd): undo it, so the residual stream starts
	 * at the same scale as for the other architectures */
	if (s->role == TR_EMBED && hp->embed_scale > 0) scale /= hp->embed_scale;
	for (uint64_t i = 0; i < n; i++) out[i] = out[i] * scale + shift;
}

/* The type of each tensor, as llama.cpp's quantizer chooses: 1-D tensors and the router stay
 * f32; a K-quant that does not fit the row length falls back (Q4_K -> Q5_0, Q5_K -> Q5_1,
 * Q6_K -> Q8_0, Q2_K/Q3_K -> Q4_0, then f16). */
static uint32_t tensor_type(const struct arch *a, const struct tensor_spec *s, uint32_t wanted, const struct synth_options *o)
{
	if (s->n_dims == 1 || s->role == TR_ROUTER || s->role == TR_NORM || s->role == TR_BIAS || s->role == TR_CONV ||
	    s->role == TR_SSM_A || s->role == TR_SINKS)
		return QT_F32;
	/* left as converted by llama.cpp's quantizer (Gemma 3n's small AltUp/LAuReL matrices): f16 */
	if (s->role == TR_KEEP) return wanted == QT_F32 ? QT_F32 : QT_F16;
	/* gpt-oss's converter repacks the checkpoint's MXFP4 experts as they are */
	if (a->experts_mxfp4 && s->role == TR_EXPERTS && !o->expert_type_set && s->ne[0] % 32 == 0) return QT_MXFP4;
	if (a->experts_mxfp4 && s->role == TR_EXPERTS && o->expert_type_set) wanted = o->expert_type;
	uint32_t t = wanted;
	if (s->ne[0] % quant_type_info(t)->block_size) {
		switch (t) {
		case QT_Q4_K: t = QT_Q5_0; break;
		case QT_Q5_K: t = QT_Q5_1; break;
		case QT_Q6_K: t = QT_Q8_0; break;
		case QT_Q2_K: case QT_Q3_K: t = QT_Q4_0; break;
		default: break;
		}
		if (s->ne[0] % quant_type_info(t)->block_size) t = QT_F16;
	}
	return t;
}

/* llama.cpp's general.file_type (LLAMA_FTYPE_*) for a file whose matrices are `type`. */
static uint32_t file_type(uint32_t type)
{
	switch (type) {
	case QT_F32: return 0;
	case QT_F16: return 1;
	case QT_Q4_0: return 2;
	case QT_Q4_1: return 3;
	case QT_Q8_0: return 7;
	case QT_Q5_0: return 8;
	case QT_Q5_1: return 9;
	case QT_Q2_K: return 10;
	case QT_Q3_K: return 12; /* Q3_K_M */
	case QT_Q4_K: return 15; /* Q4_K_M */
	case QT_Q5_K: return 17; /* Q5_K_M */
	case QT_Q6_K: return 18;
	case QT_BF16: return 32;
	case QT_MXFP4: return 38;
	default: return 0;
	}
}

struct synth_state {
	const struct synth_options *o;
	struct synth_preset p;
	const struct arch *a;
	struct hparams hp;
	struct layer_desc layers[MODEL_MAX_LAYERS];
	struct tensor_list specs;
	struct vocab_data vocab;
	struct gguf_writer w;
	uint32_t type;
	char tmp_path[4096];
};

/* Rows are independent (the generator is counter-based), so a chunk's rows are split among
 * threads: the file is byte for byte the same on any core count, and a full-size 8B model is
 * made in a minute on a 16-core machine instead of ten (a lent GPU machine's minutes are few). */
struct fill_job {
	const struct synth_state *s;
	const struct tensor_spec *t;
	uint32_t type;
	uint64_t r0, nr, row_bytes;
	float *row; /* this thread's scratch row */
	uint8_t *out;
	int st;
};

static void *fill_rows(void *arg)
{
	struct fill_job *j = arg;
	const struct synth_state *s = j->s;
	uint64_t n = j->t->ne[0];
	for (uint64_t k = 0; k < j->nr && !j->st; k++) {
		if (j->t->role == TR_ROPE_FREQS)
			llama3_rope_freqs(j->row, (uint32_t)n, s->hp.rope_base, s->hp.n_rot, s->p.llama3_rope_factor,
			                  strcmp(s->a->name, "llama4") ? 4.0 : 1.0);
		else fill_row(j->t, &s->hp, j->r0 + k, s->o->seed, j->row);
		j->st = quant_quantize(j->type, j->row, j->out + k * j->row_bytes, n);
	}
	return NULL;
}

#define SYNTH_MAX_THREADS 32
#define SYNTH_ROWS_PER_THREAD 32

/* every core, or VKLLM_SYNTH_THREADS (the test that the file does not depend on it) */
static uint32_t synth_threads(void)
{
	const char *env = getenv("VKLLM_SYNTH_THREADS");
	long n = env && atol(env) > 0 ? atol(env) : sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > SYNTH_MAX_THREADS ? SYNTH_MAX_THREADS : (uint32_t)n;
}

/* rows [r0, r0 + nr) of tensor t into out, split among up to nt threads; a thread that cannot be
 * started leaves its rows to the calling thread */
static int fill_chunk(struct synth_state *s, const struct tensor_spec *t, uint32_t type, uint64_t r0, uint64_t nr,
                      uint64_t row_bytes, float *rows, uint8_t *out, uint32_t nt)
{
	struct fill_job jobs[SYNTH_MAX_THREADS];
	pthread_t tid[SYNTH_MAX_THREADS];
	bool started[SYNTH_MAX_THREADS] = {false};
	uint64_t per = (nr + nt - 1) / nt;
	uint32_t used = 0;
	for (uint64_t a = 0; a < nr; a += per, used++) {
		uint64_t b = a + per < nr ? a + per : nr;
		jobs[used] = (struct fill_job){s, t, type, r0 + a, b - a, row_bytes, rows + (uint64_t)used * t->ne[0],
		                               out + a * row_bytes, VKLLM_OK};
		if (used > 0) started[used] = pthread_create(&tid[used], NULL, fill_rows, &jobs[used]) == 0;
	}
	fill_rows(&jobs[0]);
	int st = jobs[0].st;
	for (uint32_t i = 1; i < used; i++) {
		if (started[i]) pthread_join(tid[i], NULL);
		else fill_rows(&jobs[i]);
		if (!st) st = jobs[i].st;
	}
	return st;
}

static int write_tensors(struct synth_state *s, FILE *f)
{
	uint64_t max_row = 0;
	for (uint32_t i = 0; i < s->specs.n; i++)
		if (s->specs.items[i].ne[0] > max_row) max_row = s->specs.items[i].ne[0];
	/* a chunk of rows at a time: large enough for fast writes and for every thread to have work,
	 * small enough for any machine */
	uint32_t nt = synth_threads();
	uint64_t chunk_rows_max = (uint64_t)SYNTH_ROWS_PER_THREAD * nt;
	float *rows = malloc((uint64_t)nt * max_row * sizeof *rows);
	uint8_t *buf = malloc(chunk_rows_max * max_row * 4);
	int st = rows && buf ? VKLLM_OK : fail(VKLLM_E_NOMEM, "out of host memory");
	for (uint32_t i = 0, wi = 0; i < s->specs.n && !st; i++) {
		const struct tensor_spec *t = &s->specs.items[i];
		if (!t->synth) continue;
		uint32_t type = s->w.tensors[wi++].type;
		uint64_t n = t->ne[0], rows_n = t->ne[1] * t->ne[2] * t->ne[3], row_bytes = quant_row_size(type, n);
		for (uint64_t r0 = 0; r0 < rows_n && !st; r0 += chunk_rows_max) {
			uint64_t nr = rows_n - r0 < chunk_rows_max ? rows_n - r0 : chunk_rows_max;
			st = fill_chunk(s, t, type, r0, nr, row_bytes, rows, buf, nt);
			if (!st) st = gguf_write_tensor_part(&s->w, f, buf, nr * row_bytes, s->tmp_path);
		}
		if (!s->o->quiet && !st && isatty(2)) fprintf(stderr, "\rsynth: %u/%u tensors", wi, s->w.n_tensors > 0 ? (uint32_t)s->w.n_tensors : 0);
	}
	if (!s->o->quiet && isatty(2)) fprintf(stderr, "\r\033[K");
	free(rows);
	free(buf);
	return st;
}

static int declare(struct synth_state *s, struct synth_result *r)
{
	struct gguf_writer *w = &s->w;
	char name[160];
	gguf_w_str(w, "general.architecture", s->a->name);
	snprintf(name, sizeof name, "%s-shaped, random weights (vkllm synth)", s->p.about);
	gguf_w_str(w, "general.name", name);
	gguf_w_u32(w, "general.file_type", file_type(s->type));
	gguf_w_u32(w, "general.quantization_version", 2);
	/* so that `vkllm run` and `inspect` can say plainly that the weights are random */
	gguf_w_str(w, "vkllm.synth.preset", s->p.name);
	char seed[32];
	snprintf(seed, sizeof seed, "%llu", (unsigned long long)s->o->seed);
	gguf_w_str(w, "vkllm.synth.seed", seed);
	hparams_write(&s->hp, w, s->a->keys);
	TRY(vocab_write_gguf(w, &s->vocab));
	for (uint32_t i = 0; i < s->specs.n; i++) {
		struct tensor_spec *t = &s->specs.items[i];
		if (t->role == TR_OUTPUT) t->synth = !s->p.tied || s->a->output_required;
		if (t->role == TR_ROPE_FREQS) t->synth = s->p.llama3_rope_factor > 0;
		if (t->role == TR_BIAS && strstr(t->name, "attn_") && strstr(t->name, "attn_output") == NULL)
			t->synth = s->a->qkv_bias || s->p.qkv_bias;
		if (!t->synth) continue;
		TRY(gguf_w_tensor(w, t->name, tensor_type(s->a, t, s->type, s->o), t->n_dims, t->ne));
		uint64_t n = t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
		r->n_params += n;
		/* a token reads its experts' slabs, and of per-expert biases (gpt-oss) their rows */
		bool per_expert = t->role == TR_EXPERTS || (t->role == TR_BIAS && strstr(t->name, "_exps.bias"));
		r->n_params_active += per_expert ? n / s->hp.n_expert * s->hp.n_expert_used : n;
	}
	return VKLLM_OK;
}

/* The preset with the options applied, its architecture, vocabulary and hyperparameters: all but
 * the tensors. */
static int plan(struct synth_state *s)
{
	const struct synth_options *o = s->o;
	if (o->preset) {
		const struct synth_preset *p = presets;
		while (p->name && strcmp(p->name, o->preset)) p++;
		if (!p->name) {
			char list[512] = "";
			for (p = presets; p->name; p++) snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", list[0] ? ", " : "", p->name);
			return fail(VKLLM_E_ARG, "unknown preset '%s' (presets: %s)", o->preset, list);
		}
		s->p = *p;
		if (o->arch && strcmp(o->arch, p->arch))
			return fail(VKLLM_E_ARG, "preset '%s' is architecture %s, not %s", p->name, p->arch, o->arch);
	} else {
		if (!o->arch) return fail(VKLLM_E_ARG, "say which model: --arch A or --preset NAME");
		tiny_preset(&s->p, o->arch);
	}
	s->a = arch_find(s->p.arch);
	if (!s->a) return fail(VKLLM_E_ARG, "unknown architecture '%s'", s->p.arch);
	apply_overrides(&s->p, o);
	if (o->vocab_path) TRY(vocab_hf_load(&s->vocab, o->vocab_path));
	else TRY(vocab_synthetic(&s->vocab, s->p.n_vocab, o->seed));
	s->p.n_vocab = s->vocab.n_tokens;
	TRY(make_hparams(&s->hp, s->a, &s->p));
	s->hp.n_vocab = s->p.n_vocab;
	model_describe_layers(s->a, &s->hp, s->layers);
	return VKLLM_OK;
}

static int run(struct synth_state *s, struct synth_result *r)
{
	const struct synth_options *o = s->o;
	s->type = o->type < 0 ? QT_F16 : (uint32_t)o->type;
	const struct quant_type *qt = quant_type_info(s->type);
	if (!qt || !qt->can_quantize) return fail(VKLLM_E_ARG, "vkllm synth cannot write type %s", qt ? qt->name : "?");
	TRY(plan(s));
	TRY(tensor_list_build(&s->specs, s->a, &s->hp, s->layers));
	TRY(declare(s, r));
	r->n_tensors = (uint32_t)s->w.n_tensors;
	r->n_vocab = s->hp.n_vocab;
	if (o->dry_run) {
		/* header: the serialized key-values plus about 100 bytes per tensor info */
		r->file_bytes = 24 + s->w.kv_len + 100 * s->w.n_tensors + s->w.data_size;
		return VKLLM_OK;
	}

	snprintf(s->tmp_path, sizeof s->tmp_path, "%s.partial", o->out);
	FILE *f = fopen(s->tmp_path, "wb");
	if (!f) return fail(VKLLM_E_IO, "cannot create '%s': %s", s->tmp_path, strerror(errno));
	int st = gguf_write_header(&s->w, f, s->tmp_path);
	if (!st) st = write_tensors(s, f);
	if (fclose(f) != 0 && !st) st = fail(VKLLM_E_IO, "writing '%s': %s", s->tmp_path, strerror(errno));
	if (!st && rename(s->tmp_path, o->out) != 0) st = fail(VKLLM_E_IO, "cannot rename to '%s': %s", o->out, strerror(errno));
	if (st) unlink(s->tmp_path);
	FILE *check = st ? NULL : fopen(o->out, "rb");
	if (check) {
		fseek(check, 0, SEEK_END);
		r->file_bytes = (uint64_t)ftell(check);
		fclose(check);
	}
	return st;
}

static struct synth_state *state_new(const struct synth_options *o)
{
	struct synth_state *s = calloc(1, sizeof *s);
	if (!s) return NULL;
	s->o = o;
	gguf_writer_init(&s->w);
	vocab_init(&s->vocab);
	return s;
}

static void state_free(struct synth_state *s)
{
	gguf_writer_free(&s->w);
	tensor_list_free(&s->specs);
	vocab_data_free(&s->vocab);
	free(s);
}

int synth_hparams(const struct synth_options *o, struct hparams *hp, struct layer_desc *layers)
{
	struct synth_state *s = state_new(o);
	if (!s) return fail(VKLLM_E_NOMEM, "out of host memory");
	int st = plan(s);
	if (!st) {
		*hp = s->hp;
		memcpy(layers, s->layers, sizeof s->layers[0] * s->hp.n_layer);
	}
	state_free(s);
	return st;
}

int synth_model(const struct synth_options *o, struct synth_result *r)
{
	memset(r, 0, sizeof *r);
	if (!o->out && !o->dry_run) return fail(VKLLM_E_ARG, "say where to write the model: -o FILE.gguf");
	struct synth_state *s = state_new(o);
	if (!s) return fail(VKLLM_E_NOMEM, "out of host memory");
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int st = run(s, r);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	r->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
	state_free(s);
	return st;
}
