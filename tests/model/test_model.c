/* Architectures, synth and the model check.
 *  - presets: parameter counts from the tensor lists against the exact formula and against the
 *    published sizes of the real models (within 2%: model cards round, e.g. "8.2B"; the deepseek2
 *    presets with their own tolerances, explained at test_deepseek2_presets), and the card's MLA
 *    KV cache on their full-size hyperparameters;
 *  - every architecture: a tiny synthesized model opens, its hyperparameters and layer recipes
 *    are the ones the arch defines (Gemma 3's 5:1 windows, SmolLM3's NoPE layers), weights have
 *    the scales synth promises, and the same seed writes the same bytes;
 *  - bad models: each rewritten from a good one with one thing wrong, refused with a message
 *    naming the tensor or key and what was expected. */
#include <math.h>
#include <unistd.h>

#include "base/status.h"
#include "loader/gguf.h"
#include "loader/gguf_write.h"
#include "loader/quant.h"
#include "model/arch.h"
#include "model/card.h"
#include "model/model.h"
#include "model/synth.h"
#include "test.h"
#include "model/rewrite.h"

static char tmpdir[] = "/tmp/vkllm-test-model-XXXXXX";

static void path_in_tmp(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", tmpdir, name); }

/* ---- presets ---- */

struct published {
	const char *preset;
	double total, active; /* billions, as the model cards give them */
};

/* DeepSeek V2/V3-style models by hand from their config.json numbers: per layer the attention (q
 * through its low rank and norm, or plain; the compressed KV [c | k_pe] and c's norm; the per-head
 * k_b {nope, kv_lora} and v_b {kv_lora, v}; the output), two norms, then either a dense SwiGLU or
 * the router, the routed experts, the shared experts (one SwiGLU n_shared times as wide) and, with
 * sigmoid routing, the selection bias. Embedding, output and the final norm once. */
struct ds_config {
	uint64_t E, L, H, q_lora, kv_lora, nope, rope, v, ff, ff_exp, X, k, shared, dense, vocab;
	bool bias;
};

static void ds_count(const struct ds_config *c, uint64_t *total, uint64_t *active)
{
	uint64_t Dk = c->nope + c->rope;
	uint64_t q = c->q_lora ? c->E * c->q_lora + c->q_lora + c->q_lora * c->H * Dk : c->E * c->H * Dk;
	uint64_t attn = q + c->E * (c->kv_lora + c->rope) + c->kv_lora + c->H * c->nope * c->kv_lora +
	                c->H * c->kv_lora * c->v + c->H * c->v * c->E;
	uint64_t dense = attn + 2 * c->E + 3 * c->E * c->ff, expert = 3 * c->E * c->ff_exp;
	uint64_t moe = attn + 2 * c->E + c->E * c->X + c->shared * expert + (c->bias ? c->X : 0);
	uint64_t rest = 2 * c->vocab * c->E + c->E + c->dense * dense;
	*total = rest + (c->L - c->dense) * (moe + c->X * expert);
	*active = rest + (c->L - c->dense) * (moe + c->k * expert);
}

/* deepseek2 presets: the exact count, the published sizes, and --n-layer. DeepSeek and Moonshot
 * count the activated parameters without the input embedding (a table lookup, no compute): V2-Lite's
 * "2.4B" is 2.66B with it and 2.45B without, V3's "37B" 37.55B and 36.63B, K2's "32B" 32.86B and
 * 31.69B. Tolerances: V3's 671B and V2-Lite's 15.7B are exact to the digits given (0.1%); the
 * active figures are rounded to two digits (2.5% covers V2-Lite's 2.45 -> "2.4"); Kimi K2's
 * "1.04T" (tech report; the model card says "1T") is 1.3% above the 1026.4B its tensors hold
 * (1026.5B on Hugging Face with the FP8 block scales), so 1.5%. V3's Hugging Face total, 685B,
 * adds the multi-token-prediction layer (14B) that synth does not write. */
static void test_deepseek2_presets(void)
{
	static const struct {
		const char *preset;
		struct ds_config c;
		double total, active, tol_total, tol_active;
	} m[] = {
		{"deepseek-v3", {7168, 61, 128, 1536, 512, 128, 64, 128, 18432, 2048, 256, 8, 1, 3, 129280, true}, 671, 37, 0.001, 0.015},
		{"kimi-k2", {7168, 61, 64, 1536, 512, 128, 64, 128, 18432, 2048, 384, 8, 1, 1, 163840, true}, 1040, 32, 0.015, 0.015},
		{"deepseek-v2-lite", {2048, 27, 16, 0, 512, 128, 64, 128, 10944, 1408, 64, 6, 2, 1, 102400, false}, 15.7, 2.4, 0.001, 0.025},
	};
	for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
		struct synth_options o = {.type = -1, .seed = 1, .tied = -1, .dry_run = true, .preset = m[i].preset};
		struct synth_result r;
		uint64_t total, active;
		ds_count(&m[i].c, &total, &active);
		int st = synth_model(&o, &r);
		EXPECT(st == VKLLM_OK && r.n_params == total && r.n_params_active == active,
		       "%s: %llu / %llu params, formula %llu / %llu (%s)", m[i].preset, (unsigned long long)r.n_params,
		       (unsigned long long)r.n_params_active, (unsigned long long)total, (unsigned long long)active,
		       st ? vkllm_error() : "");
		double t = (double)r.n_params / 1e9, a = (double)(r.n_params_active - m[i].c.vocab * m[i].c.E) / 1e9;
		EXPECT(fabs(t / m[i].total - 1) < m[i].tol_total && fabs(a / m[i].active - 1) < m[i].tol_active,
		       "%s: %.3f B total, %.3f B active without the embedding; published %g / %g", m[i].preset, t, a, m[i].total,
		       m[i].active);
		printf("# %-18s %8.3f B total %7.3f B active (%.3f B without the input embedding), published %g / %g\n",
		       m[i].preset, t, (double)r.n_params_active / 1e9, a, m[i].total, m[i].active);

		/* --n-layer keeps full-size layers; the leading dense layers stay at most all of them */
		for (uint32_t L = 1; L <= 4; L++) {
			struct ds_config c = m[i].c;
			c.L = L;
			c.dense = c.dense < L ? c.dense : L;
			ds_count(&c, &total, &active);
			o.n_layer = L;
			st = synth_model(&o, &r);
			EXPECT(st == VKLLM_OK && r.n_params == total && r.n_params_active == active,
			       "%s --n-layer %u: %llu params, formula %llu (%s)", m[i].preset, L, (unsigned long long)r.n_params,
			       (unsigned long long)total, st ? vkllm_error() : "");
		}
	}
	/* llama.cpp reads a 26- or 27-layer deepseek2 file as "lite" and ignores q_lora_rank */
	struct synth_options o = {.type = -1, .seed = 1, .tied = -1, .dry_run = true, .preset = "deepseek-v3", .n_layer = 27};
	struct synth_result r;
	EXPECT(synth_model(&o, &r) == VKLLM_E_ARG && strstr(vkllm_error(), "lite"), "V3 with 27 layers: %s", vkllm_error());
	o.no_q_lora = true;
	EXPECT(synth_model(&o, &r) == VKLLM_OK, "V3 with 27 layers and no q low rank: %s", vkllm_error());
}

/* The card's KV cache for MLA, on the full-size presets' hyperparameters: the latent row
 * (kv_lora + rope, f16) per layer, beside MHA (every head its key nope+rope and value) and GQA
 * with 8 KV heads of the same sizes. */
static void test_mla_kv_card(void)
{
	static const struct {
		const char *preset;
		uint64_t L, H, kv_lora, rope, dk, dv, ctx;
	} m[] = {
		{"deepseek-v3", 61, 128, 512, 64, 192, 128, 163840},
		{"kimi-k2", 61, 64, 512, 64, 192, 128, 131072},
		{"deepseek-v2-lite", 27, 16, 512, 64, 192, 128, 163840},
	};
	static struct hparams hp;
	static struct layer_desc layers[MODEL_MAX_LAYERS];
	for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
		struct synth_options o = {.type = -1, .seed = 1, .tied = -1, .preset = m[i].preset};
		int st = synth_hparams(&o, &hp, layers);
		EXPECT(st == VKLLM_OK, "%s: %s", m[i].preset, vkllm_error());
		if (st) continue;
		struct card c;
		memset(&c, 0, sizeof c);
		card_kv(&hp, layers, &c);
		uint64_t latent = m[i].L * 2 * (m[i].kv_lora + m[i].rope), mha = m[i].L * 2 * m[i].H * (m[i].dk + m[i].dv),
		         gqa = m[i].L * 2 * 8 * (m[i].dk + m[i].dv);
		EXPECT(c.kv_mla && c.kv_bytes_per_token == latent && c.kv_bytes_full == latent * m[i].ctx,
		       "%s: latent %llu B/token, %llu full; want %llu, %llu", m[i].preset, (unsigned long long)c.kv_bytes_per_token,
		       (unsigned long long)c.kv_bytes_full, (unsigned long long)latent, (unsigned long long)(latent * m[i].ctx));
		EXPECT(c.kv_mha_per_token == mha && c.kv_mha_full == mha * m[i].ctx && c.kv_gqa_heads == 8 &&
		           c.kv_gqa_per_token == gqa && c.kv_gqa_full == gqa * m[i].ctx,
		       "%s: MHA %llu, GQA(%u) %llu B/token; want %llu, %llu", m[i].preset, (unsigned long long)c.kv_mha_per_token,
		       c.kv_gqa_heads, (unsigned long long)c.kv_gqa_per_token, (unsigned long long)mha, (unsigned long long)gqa);
		printf("# %-18s KV per token: MLA %llu B, MHA %llu B (%.1fx), GQA-8 %llu B (%.1fx); at %llu tokens %.2f / %.1f / %.2f GiB\n",
		       m[i].preset, (unsigned long long)latent, (unsigned long long)mha, (double)mha / (double)latent,
		       (unsigned long long)gqa, (double)gqa / (double)latent, (unsigned long long)m[i].ctx,
		       (double)(latent * m[i].ctx) / (1 << 30), (double)(mha * m[i].ctx) / (1 << 30),
		       (double)(gqa * m[i].ctx) / (1 << 30));
	}
	/* V3's numbers in full, as the card prints them: 70272 B a token (10.72 GiB at 163840) against
	 * 4997120 B (762.5 GiB) as MHA and 312320 B (47.66 GiB) as GQA-8 */
	EXPECT(61ull * 2 * 576 == 70272 && 61ull * 2 * 128 * 320 == 4997120 && 61ull * 2 * 8 * 320 == 312320, "V3 by hand");
}

static void test_presets(void)
{
	/* Qwen3-0.6B by hand: embedding 151936*1024; per layer q,o 1024*2048, k,v 1024*1024, FFN
	 * 3*1024*3072, norms 2*1024 + 2*128; 28 layers; final norm 1024; output tied. */
	uint64_t layer = 2ull * 1024 * 2048 + 2ull * 1024 * 1024 + 3ull * 1024 * 3072 + 2 * 1024 + 2 * 128;
	uint64_t qwen3_06b = 151936ull * 1024 + 28 * layer + 1024;
	struct synth_options o = {.type = -1, .seed = 1, .tied = -1, .dry_run = true, .preset = "qwen3-0.6b"};
	struct synth_result r;
	int st = synth_model(&o, &r);
	EXPECT(st == VKLLM_OK && r.n_params == qwen3_06b, "qwen3-0.6b: %llu params, formula %llu (%s)",
	       (unsigned long long)r.n_params, (unsigned long long)qwen3_06b, st ? vkllm_error() : "");

	const struct published pub[] = {
		{"qwen3-0.6b", 0.596, 0.596}, {"qwen3-8b", 8.19, 8.19},         {"qwen3-30b-a3b", 30.5, 3.3},
		{"qwen2.5-0.5b", 0.494, 0.494}, {"llama-3.1-8b", 8.03, 8.03},    {"llama-3.2-1b", 1.24, 1.24},
		{"smollm3-3b", 3.08, 3.08},     {"olmo2-1b", 1.48, 1.48},        {"gemma3-1b", 1.0, 1.0},
		{"mistral-small-3.1", 23.6, 23.6}, {"qwen1.5-moe-a2.7b", 14.3, 2.7}, /* its model card's figures */
	};
	for (size_t i = 0; i < sizeof pub / sizeof pub[0]; i++) {
		o.preset = pub[i].preset;
		st = synth_model(&o, &r);
		double total = (double)r.n_params / 1e9, active = (double)r.n_params_active / 1e9;
		EXPECT(st == VKLLM_OK, "%s: %s", pub[i].preset, vkllm_error());
		EXPECT(fabs(total / pub[i].total - 1) < 0.02 && fabs(active / pub[i].active - 1) < 0.02,
		       "%s: %.3f B total / %.3f B active, published %.3f / %.3f", pub[i].preset, total, active, pub[i].total,
		       pub[i].active);
		printf("# %-18s %7.3f B total %7.3f B active\n", pub[i].preset, total, active);
	}
	o.preset = "qwen4-1t";
	EXPECT(synth_model(&o, &r) == VKLLM_E_ARG && strstr(vkllm_error(), "qwen3-0.6b"), "unknown preset lists the presets");
	o.preset = "qwen3-0.6b";
	o.arch = "llama";
	EXPECT(synth_model(&o, &r) == VKLLM_E_ARG && strstr(vkllm_error(), "qwen3"), "preset/arch mismatch: %s", vkllm_error());
}

/* ---- tiny models of every architecture ---- */

static int synth_tiny(const char *arch, int type, uint64_t seed, const char *name, char *path, size_t n)
{
	path_in_tmp(path, n, name);
	struct synth_options o = {.arch = arch, .type = type, .seed = seed, .tied = -1, .out = path, .quiet = true};
	struct synth_result r;
	return synth_model(&o, &r);
}

static bool files_equal(const char *a, const char *b)
{
	FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
	bool same = fa && fb;
	while (same) {
		int ca = fgetc(fa), cb = fgetc(fb);
		if (ca != cb) same = false;
		if (ca == EOF || cb == EOF) break;
	}
	if (fa) fclose(fa);
	if (fb) fclose(fb);
	return same;
}

/* mean and standard deviation of a tensor's values */
static void tensor_stats(const struct gguf_tensor *t, double *mean, double *sd)
{
	uint64_t n = t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
	float *v = malloc(n * sizeof *v);
	double s = 0, s2 = 0;
	if (v && quant_dequantize(t->type, t->data, v, n) == VKLLM_OK)
		for (uint64_t i = 0; i < n; i++) s += v[i], s2 += (double)v[i] * v[i];
	*mean = s / (double)n;
	*sd = sqrt(s2 / (double)n - *mean * *mean);
	free(v);
}

static void check_arch_specifics(const struct model_file *m)
{
	const char *a = m->arch->name;
	const struct hparams *hp = &m->hp;
	if (!strcmp(a, "gemma3")) {
		/* 6 layers: 0-4 sliding (base 10000), 5 global (base 1e6); sandwich norms; GeGLU */
		for (uint32_t il = 0; il < 6; il++) {
			const struct layer_desc *d = &m->layers[il];
			EXPECT(d->swa == (il != 5) && d->rope_base == (il != 5 ? 10000.0f : 1e6f), "gemma3 layer %u: swa %d base %g", il,
			       d->swa, d->rope_base);
			EXPECT(d->norm == NORM_SANDWICH && d->act == ACT_GELU_TANH && d->qk_norm == QK_NORM_HEAD, "gemma3 recipe");
		}
		EXPECT(fabsf(hp->embed_scale - 8.0f) < 1e-6f && fabsf(hp->attn_scale - 0.25f) < 1e-6f, "gemma3 scales %g %g",
		       hp->embed_scale, hp->attn_scale);
		EXPECT(hp->n_swa == 8, "gemma3 window %u", hp->n_swa);
	}
	if (!strcmp(a, "smollm3"))
		for (uint32_t il = 0; il < hp->n_layer; il++)
			EXPECT(m->layers[il].rope == (il != 3), "smollm3 layer %u rope %d", il, m->layers[il].rope);
	if (!strcmp(a, "olmo2"))
		EXPECT(m->layers[0].norm == NORM_POST && m->layers[0].qk_norm == QK_NORM_FULL && !m->tied_output, "olmo2 recipe");
	if (!strcmp(a, "qwen3moe"))
		EXPECT(m->layers[0].ffn == FFN_MOE && hp->n_expert == 8 && hp->n_expert_used == 2 && hp->n_ff_exp == 32, "qwen3moe");
	if (!strcmp(a, "qwen2")) EXPECT(gguf_tensor(&m->gguf, "blk.0.attn_q.bias") != NULL, "qwen2 has QKV bias");
	if (!strcmp(a, "qwen3")) EXPECT(m->layers[1].qk_norm == QK_NORM_HEAD && m->tied_output, "qwen3 recipe");
	if (!strcmp(a, "kimi-linear")) {
		/* 6 layers: KDA but the 4th and the last (MLA without RoPE); layer 0 dense; KDA 4 heads of 32 */
		for (uint32_t il = 0; il < 6; il++) {
			const struct layer_desc *d = &m->layers[il];
			bool full = il == 3 || il == 5;
			EXPECT(d->attn == (full ? ATTN_MLA : ATTN_KDA) && !d->rope && hp->n_head_kv[il] == (full ? 1u : 0u) &&
			           d->ffn == (il ? FFN_MOE : FFN_GLU) && d->shexp == (il > 0),
			       "kimi-linear layer %u recipe", il);
		}
		EXPECT(hp->ssm_d_state == 32 && hp->ssm_dt_rank == 4 && hp->ssm_n_group == 4 && hp->ssm_d_conv == 4 && !hp->n_lora_q &&
		           hp->n_lora_kv == 32 && hp->head_dim_k_mla == 40 && hp->expert_gating == 2 && hp->expert_weights_scale == 2.446f,
		       "kimi-linear sizes");
		EXPECT(gguf_tensor(&m->gguf, "blk.0.ssm_conv1d_q.weight")->n_dims == 4 && gguf_tensor(&m->gguf, "blk.1.exp_probs_b.bias") &&
		           !gguf_tensor(&m->gguf, "kimi-linear.attention.recurrent_layers"),
		       "kimi-linear tensors");
	}
}

/* deepseek2's tiny model: V3's layout in small (synth.c tiny_preset) */
static void check_deepseek2(const struct model_file *m)
{
	const struct hparams *hp = &m->hp;
	EXPECT(hp->n_lora_q == 96 && hp->n_lora_kv == 32 && hp->n_rot == 8 && hp->head_dim_k_mla == 40 && hp->head_dim_v_mla == 24,
	       "deepseek2 MLA sizes: q_lora %u kv_lora %u rope %u k %u v %u", hp->n_lora_q, hp->n_lora_kv, hp->n_rot,
	       hp->head_dim_k_mla, hp->head_dim_v_mla);
	EXPECT(hp->expert_gating == 2 && hp->n_expert_groups == 4 && hp->n_group_used == 2 && hp->expert_weights_norm &&
	           hp->expert_weights_scale == 2.5f && hp->n_expert_shared == 1 && hp->n_ff_shexp == 32,
	       "deepseek2 routing");
	EXPECT(hp->rope_scaling == ROPE_SCALING_YARN && hp->rope_freq_scale == 0.25f && fabsf(hp->rope_yarn_log_mul - 0.1f) < 1e-7f,
	       "deepseek2 YaRN");
	for (uint32_t il = 0; il < hp->n_layer; il++)
		EXPECT(m->layers[il].attn == ATTN_MLA && m->layers[il].ffn == (il == 0 ? FFN_GLU : FFN_MOE) &&
		           m->layers[il].shexp == (il > 0) && !m->layers[il].shexp_gate,
		       "deepseek2 layer %u recipe", il);
	EXPECT(gguf_tensor(&m->gguf, "blk.1.exp_probs_b.bias") && gguf_tensor(&m->gguf, "blk.0.attn_k_b.weight") &&
	           !gguf_tensor(&m->gguf, "blk.0.exp_probs_b.bias"),
	       "deepseek2 tensors");
}

static void test_tiny_models(void)
{
	for (const struct arch *const *a = arch_all(); *a; a++) {
		char path[256], again[256], other[256], name[64];
		snprintf(name, sizeof name, "%s-f32.gguf", (*a)->name);
		int st = synth_tiny((*a)->name, QT_F32, 7, name, path, sizeof path);
		EXPECT(st == VKLLM_OK, "synth %s: %s", (*a)->name, vkllm_error());
		if (st) continue;
		static struct model_file m;
		st = model_file_open(&m, path);
		EXPECT(st == VKLLM_OK, "open %s: %s", (*a)->name, vkllm_error());
		if (st) continue;
		/* MLA files are MQA over the latent row: one KV "head" of kv_lora 32 + rope 8, value 32 */
		/* kimi-linear: layer 0 is KDA (no KV heads), its MLA layers as deepseek2's */
		bool kda = m.layers[0].attn == ATTN_KDA, mla = m.layers[0].attn == ATTN_MLA || kda;
		uint32_t oss = !strcmp((*a)->name, "gpt-oss"); /* heads of 24: q wider than n_embd */
		bool wide = !strcmp((*a)->name, "glm4moe") || !strcmp((*a)->name, "minimax-m2"); /* heads of 32, partial RoPE */
		uint32_t want_kv = kda ? 0 : mla ? 1 : 2, want_dk = mla ? 40 : oss ? 24 : wide ? 32 : 16, n_mla = 0;
		EXPECT(m.arch == *a && m.hp.n_embd == 64 && m.hp.n_head[0] == 4 && m.hp.n_head_kv[0] == want_kv &&
		           m.hp.head_dim_k == want_dk && m.hp.n_vocab == m.vocab.n_tokens,
		       "%s hparams", (*a)->name);
		check_arch_specifics(&m);
		if (mla && !kda) check_deepseek2(&m);
		/* weight scales: projections and embeddings N(0, 1/sqrt(n_in)), norms about 1; the output
		 * projection has no attention gain on any arch. Tolerance 10%: 4096 or more samples, so
		 * the sd is known to about 1%. */
		double mean, sd;
		const struct gguf_tensor *wo = gguf_tensor(&m.gguf, m.layers[0].attn == ATTN_GDN ? "blk.0.ssm_out.weight"
		                                                                                 : "blk.0.attn_output.weight");
		tensor_stats(wo, &mean, &sd);
		EXPECT(fabs(mean) < 0.02 && fabs(sd * sqrt((double)wo->ne[0]) - 1.0) < 0.1, "%s attn_output: mean %g sd %g (want 0, %g)",
		       (*a)->name, mean, sd, 1 / sqrt((double)wo->ne[0]));
		tensor_stats(gguf_tensor(&m.gguf, "token_embd.weight"), &mean, &sd);
		/* gemma3 scales input embeddings by sqrt(n_embd) = 8: synth divides it back out */
		double want = m.hp.embed_scale > 0 ? 0.125 / m.hp.embed_scale : 0.125;
		EXPECT(fabs(mean) < 0.02 && fabs(sd / want - 1.0) < 0.1, "%s token_embd: mean %g sd %g (want %g)", (*a)->name, mean,
		       sd, want);
		tensor_stats(gguf_tensor(&m.gguf, "output_norm.weight"), &mean, &sd);
		EXPECT(fabs(mean - 1.0) < 0.05 && sd > 0.05 && sd < 0.15, "%s output_norm: mean %g sd %g", (*a)->name, mean, sd);
		struct card c;
		card_compute(&m, &c);
		EXPECT(c.params_total > 0 && c.params_active <= c.params_total, "card");
		/* KV cache per token: f16 K and V for every layer (but Gemma 3n's that read an earlier layer's);
		 * MLA: the latent row of 32 + 8 */
		uint64_t kv = 0;
		for (uint32_t il = 0; il < m.hp.n_layer; il++) {
			n_mla += m.layers[il].attn == ATTN_MLA;
			if (m.layers[il].kv_shared) continue;
			kv += attn_is_recurrent(m.layers[il].attn) ? 0 : mla ? 2 * 40 : 2ull * 2 * m.layers[il].n_head_kv * want_dk;
		}
		EXPECT(c.kv_bytes_per_token == kv, "%s kv bytes %llu, expected %llu", (*a)->name,
		       (unsigned long long)c.kv_bytes_per_token, (unsigned long long)kv);
		/* beside it, 4 heads of key 40 and value 24 as MHA; GQA with 8 heads is no smaller */
		EXPECT(c.kv_mla == mla && (!mla || (c.kv_mha_per_token == n_mla * 2 * 4 * 64 && c.kv_gqa_heads == 4 &&
		                                     c.kv_mha_full == c.kv_mha_per_token * 4096)),
		       "%s: MLA comparison %llu", (*a)->name, (unsigned long long)c.kv_mha_per_token);
		model_file_close(&m);

		/* determinism: the same seed writes the same bytes, another seed does not */
		snprintf(name, sizeof name, "%s-f32-again.gguf", (*a)->name);
		EXPECT(synth_tiny((*a)->name, QT_F32, 7, name, again, sizeof again) == VKLLM_OK && files_equal(path, again),
		       "%s: same seed, same file", (*a)->name);
		snprintf(name, sizeof name, "%s-f32-other.gguf", (*a)->name);
		EXPECT(synth_tiny((*a)->name, QT_F32, 8, name, other, sizeof other) == VKLLM_OK && !files_equal(path, other),
		       "%s: another seed, another file", (*a)->name);
		unlink(again);
		unlink(other);
	}
}

/* Quantized synth: matrices in the asked type, norms in f32, K-quants falling back on rows that
 * are not multiples of 256 exactly as llama.cpp's quantizer does. */
static void test_types(void)
{
	struct {
		int type, expect_matrix;
	} cases[] = {{QT_Q8_0, QT_Q8_0}, {QT_Q4_0, QT_Q4_0}, {QT_F16, QT_F16}, {QT_BF16, QT_BF16},
	             {QT_Q4_K, QT_Q5_0}, {QT_Q6_K, QT_Q8_0}, {QT_Q5_K, QT_Q5_1}, {QT_Q2_K, QT_Q4_0}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char path[256], name[64];
		snprintf(name, sizeof name, "qwen3-%d.gguf", cases[i].type);
		int st = synth_tiny("qwen3", cases[i].type, 3, name, path, sizeof path);
		EXPECT(st == VKLLM_OK, "synth type %d: %s", cases[i].type, vkllm_error());
		static struct model_file m;
		if (st || model_file_open(&m, path)) {
			EXPECT(0, "open: %s", vkllm_error());
			continue;
		}
		EXPECT(gguf_tensor(&m.gguf, "blk.0.ffn_up.weight")->type == (uint32_t)cases[i].expect_matrix, "type %d: matrix is %s",
		       cases[i].type, quant_type_info(gguf_tensor(&m.gguf, "blk.0.ffn_up.weight")->type)->name);
		EXPECT(gguf_tensor(&m.gguf, "blk.0.attn_norm.weight")->type == QT_F32, "norms stay f32");
		model_file_close(&m);
		unlink(path);
	}
	/* a K-quant that fits: n_embd 256 keeps q4_K */
	char path[256];
	path_in_tmp(path, sizeof path, "qwen3-q4k-256.gguf");
	struct synth_options o = {.arch = "qwen3", .type = QT_Q4_K, .seed = 1, .tied = -1, .out = path, .quiet = true,
	                          .n_embd = 256, .n_ff = 512};
	struct synth_result r;
	static struct model_file m;
	EXPECT(synth_model(&o, &r) == VKLLM_OK && model_file_open(&m, path) == VKLLM_OK, "q4_K 256: %s", vkllm_error());
	if (m.arch) {
		EXPECT(gguf_tensor(&m.gguf, "blk.0.ffn_up.weight")->type == QT_Q4_K, "q4_K kept where rows fit");
		EXPECT(gguf_tensor(&m.gguf, "blk.0.ffn_down.weight")->type == QT_Q4_K, "ffn_down rows are 512");
		model_file_close(&m);
	}
	unlink(path);
}

/* ---- bad models: rewrite a good file with one change ---- */

static void expect_bad(const char *good, const struct edit *e, int status, const char *needle, const char *what)
{
	char bad[256];
	path_in_tmp(bad, sizeof bad, "bad.gguf");
	int st = rewrite(good, bad, e);
	EXPECT(st == VKLLM_OK, "%s: rewrite: %s", what, vkllm_error());
	static struct model_file m;
	st = model_file_open(&m, bad);
	EXPECT(st == status && strstr(vkllm_error(), needle), "%s: status %d, message '%s' (want '%s')", what, st,
	       st ? vkllm_error() : "accepted", needle);
	if (!st) model_file_close(&m);
	unlink(bad);
}

static void test_bad_models(void)
{
	char good[256];
	if (synth_tiny("qwen3", QT_F32, 1, "good-qwen3.gguf", good, sizeof good)) {
		EXPECT(0, "synth: %s", vkllm_error());
		return;
	}
	/* the rewrite itself is faithful */
	struct edit none = {0};
	char copy[256];
	path_in_tmp(copy, sizeof copy, "copy.gguf");
	EXPECT(rewrite(good, copy, &none) == VKLLM_OK && files_equal(good, copy), "identity rewrite");
	unlink(copy);

	expect_bad(good, &(struct edit){.drop_tensor = "blk.1.attn_q.weight"}, VKLLM_E_FORMAT,
	           "missing tensor 'blk.1.attn_q.weight' (expected shape [64, 64])", "missing tensor");
	expect_bad(good, &(struct edit){.drop_tensor = "blk.0.attn_k_norm.weight"}, VKLLM_E_FORMAT,
	           "missing tensor 'blk.0.attn_k_norm.weight' (expected shape [16])", "missing QK norm");
	expect_bad(good, &(struct edit){.grow_tensor = "blk.0.ffn_up.weight"}, VKLLM_E_FORMAT,
	           "tensor 'blk.0.ffn_up.weight' has shape [64, 160], expected [64, 128]", "misshapen tensor");
	expect_bad(good, &(struct edit){.extra_tensor = "blk.0.mystery.weight"}, VKLLM_E_FORMAT,
	           "unexpected tensor 'blk.0.mystery.weight'", "unexpected tensor");
	expect_bad(good, &(struct edit){.set_arch = "mamba9"}, VKLLM_E_UNSUPPORTED, "architecture 'mamba9' is not supported",
	           "unknown arch");
	expect_bad(good, &(struct edit){.drop_key = "qwen3.embedding_length"}, VKLLM_E_FORMAT,
	           "key 'qwen3.embedding_length' is missing", "missing key");
	expect_bad(good, &(struct edit){.f32_key = "qwen3.block_count"}, VKLLM_E_FORMAT,
	           "key 'qwen3.block_count' has type f32, expected u32", "wrong key type");
	expect_bad(good, &(struct edit){.u32_key = "qwen3.attention.head_count_kv", .u32_value = 3}, VKLLM_E_FORMAT,
	           "not a multiple of head_count_kv 3", "bad GQA ratio");
	expect_bad(good, &(struct edit){.u32_key = "qwen3.block_count", .u32_value = 3}, VKLLM_E_FORMAT,
	           "missing tensor 'blk.2.", "more layers than tensors");
	expect_bad(good, &(struct edit){.u32_key = "qwen3.block_count", .u32_value = 1}, VKLLM_E_FORMAT,
	           "unexpected tensor 'blk.1.", "fewer layers than tensors");
	expect_bad(good, &(struct edit){.drop_key = "tokenizer.ggml.tokens"}, VKLLM_E_FORMAT, "tokenizer.ggml.tokens",
	           "no vocabulary");
	expect_bad(good, &(struct edit){.drop_key = "tokenizer.ggml.merges"}, VKLLM_E_FORMAT, "tokenizer.ggml.merges",
	           "BPE without merges");
	/* olmo2 needs output.weight: drop it */
	char olmo[256];
	if (synth_tiny("olmo2", QT_F32, 1, "good-olmo2.gguf", olmo, sizeof olmo) == VKLLM_OK)
		expect_bad(olmo, &(struct edit){.drop_tensor = "output.weight"}, VKLLM_E_FORMAT, "missing tensor 'output.weight'",
		           "olmo2 without output");
	unlink(olmo);
	/* deepseek2: MLA keys that disagree with the tensors are refused naming the key, the tensor and
	 * both numbers; key_length must be the latent row; a half-given MLA pair is refused */
	char ds[256];
	if (synth_tiny("deepseek2", QT_F32, 1, "good-deepseek2.gguf", ds, sizeof ds) == VKLLM_OK) {
		expect_bad(ds, &(struct edit){.u32_key = "deepseek2.attention.kv_lora_rank", .u32_value = 64}, VKLLM_E_FORMAT,
		           "key_length 40 disagrees with kv_lora_rank 64 + rope.dimension_count 8", "kv_lora_rank against key_length");
		expect_bad(ds, &(struct edit){.u32_key = "deepseek2.attention.q_lora_rank", .u32_value = 128}, VKLLM_E_FORMAT,
		           "deepseek2.attention.q_lora_rank says 128 but tensor 'blk.0.attn_q_a_norm.weight' has 96 in dimension 0",
		           "q_lora_rank against its norm");
		expect_bad(ds, &(struct edit){.u32_key = "deepseek2.attention.value_length_mla", .u32_value = 32}, VKLLM_E_FORMAT,
		           "value_length_mla says 32 but tensor 'blk.0.attn_v_b.weight' has 24 in dimension 1", "value_length_mla");
		expect_bad(ds, &(struct edit){.drop_key = "deepseek2.attention.key_length_mla"}, VKLLM_E_FORMAT,
		           "key_length_mla 0 and value_length_mla 24: both or neither", "half an MLA pair");
		expect_bad(ds, &(struct edit){.grow_tensor = "blk.1.attn_kv_a_mqa.weight"}, VKLLM_E_FORMAT,
		           "kv_lora_rank + rope.dimension_count says 40 but tensor 'blk.1.attn_kv_a_mqa.weight' has 72",
		           "compressed KV width");
		/* one more block counted as multi-token prediction: its tensors load and are skipped */
		expect_bad(ds, &(struct edit){.u32_key = "deepseek2.block_count", .u32_value = 4}, VKLLM_E_FORMAT,
		           "missing tensor 'blk.3.", "a fourth trunk block");
	}
	unlink(ds);
	unlink(good);
}

/* A deepseek2 file whose last block is a multi-token-prediction block (nextn_predict_layers 1): it
 * opens with that block loaded and skipped (n_layer is the trunk), as llama.cpp loads such files. */
static void test_mtp_skipped(void)
{
	char path[256], mtp[256];
	struct synth_options o = {.arch = "deepseek2", .type = QT_F32, .seed = 1, .n_layer = 3, .tied = -1, .quiet = true};
	path_in_tmp(path, sizeof path, "ds-3layers.gguf");
	o.out = path;
	struct synth_result r;
	if (synth_model(&o, &r)) {
		EXPECT(0, "synth: %s", vkllm_error());
		return;
	}
	/* declare block 2 a multi-token-prediction block: block_count stays 3, one of them nextn */
	path_in_tmp(mtp, sizeof mtp, "ds-mtp.gguf");
	EXPECT(rewrite(path, mtp, &(struct edit){.extra_u32_key = "deepseek2.nextn_predict_layers", .u32_value = 1}) == VKLLM_OK,
	       "rewrite: %s", vkllm_error());
	static struct model_file m;
	int st = model_file_open(&m, mtp);
	EXPECT(st == VKLLM_OK && m.hp.n_layer == 2 && m.hp.n_layer_nextn == 1, "MTP block loaded and skipped: %s, %u layers",
	       st ? vkllm_error() : "ok", st ? 0 : m.hp.n_layer);
	if (!st) model_file_close(&m);
	unlink(path);
	unlink(mtp);
}

/* qwen3next / qwen35*: the Qwen3-Next preset's exact count and its published 80B / 3B; the card's
 * state and KV numbers; files whose ssm.* keys disagree with their tensors. */
static void test_gdn(void)
{
	/* Qwen3-Next-80B-A3B by hand: 12 gated attention layers (q with its gate 2048 x 2*16*256, k and
	 * v 2048 x 2*256, o 4096 x 2048, q/k norms 256), 36 DeltaNet layers (attn_qkv 2048 x 8192,
	 * attn_gate 2048 x 4096, ssm_ba 2048 x 64, conv 4 x 8192, dt bias and a 32 each, norm 128,
	 * ssm_out 4096 x 2048), on every layer two norms and the MoE (router 2048 x 512, 512 experts
	 * 3 x 2048 x 512, shared 3 x 2048 x 512 and its gate 2048); embedding and output 151936 x 2048,
	 * final norm. */
	uint64_t E = 2048, attn = E * 8192 + 2 * E * 512 + 4096 * E + 2 * 256;
	uint64_t gdn = E * 8192 + E * 4096 + E * 64 + 4 * 8192 + 32 + 32 + 128 + 4096 * E;
	uint64_t expert = 3 * E * 512, ffn = E * 512 + expert + E + 2 * E;
	uint64_t rest = 2 * 151936 * E + E, total = rest + 12 * attn + 36 * gdn + 48 * (ffn + 512 * expert),
	         active = rest + 12 * attn + 36 * gdn + 48 * (ffn + 10 * expert);
	struct synth_options o = {.type = -1, .seed = 1, .tied = -1, .dry_run = true, .preset = "qwen3-next-80b-a3b"};
	struct synth_result r;
	int st = synth_model(&o, &r);
	EXPECT(st == VKLLM_OK && r.n_params == total && r.n_params_active == active,
	       "qwen3-next-80b-a3b: %llu / %llu params, formula %llu / %llu (%s)", (unsigned long long)r.n_params,
	       (unsigned long long)r.n_params_active, (unsigned long long)total, (unsigned long long)active, st ? vkllm_error() : "");
	/* the model card: "80B in total and 3B activated". The count here is 79.67 B and 3.875 B active
	 * (3.56 B without the input embedding, which a token reads one row of): the card rounds the
	 * active figure down, so it is held to 3 to 4 B */
	EXPECT(fabs((double)r.n_params / 80e9 - 1) < 0.02 && r.n_params_active > 3e9 && r.n_params_active < 4e9,
	       "qwen3-next-80b-a3b: %.3f B / %.3f B against 80 / 3", r.n_params / 1e9, r.n_params_active / 1e9);
	printf("# %-18s %7.3f B total %7.3f B active\n", o.preset, r.n_params / 1e9, r.n_params_active / 1e9);
	o.n_layer = 4;
	EXPECT(synth_model(&o, &r) == VKLLM_OK && r.n_params == rest + attn + 3 * gdn + 4 * (ffn + 512 * expert),
	       "qwen3-next-80b-a3b --n-layer 4: %llu", (unsigned long long)r.n_params);
	o.n_layer = 0;

	/* the card: 36 DeltaNet layers of conv 3 x 8192 and 32 heads of 128 x 128, f32; 12 attention
	 * layers of 2 KV heads x (256 + 256) f16 */
	static struct hparams hp;
	static struct layer_desc layers[MODEL_MAX_LAYERS];
	struct card c;
	EXPECT(synth_hparams(&o, &hp, layers) == VKLLM_OK, "qwen3-next hparams: %s", vkllm_error());
	card_kv(&hp, layers, &c);
	EXPECT(c.n_gdn_layers == 36 && c.gdn_conv_bytes == 36ull * 3 * 8192 * 4 && c.gdn_delta_bytes == 36ull * 32 * 128 * 128 * 4,
	       "qwen3-next state: %u layers, conv %llu, delta %llu", c.n_gdn_layers, (unsigned long long)c.gdn_conv_bytes,
	       (unsigned long long)c.gdn_delta_bytes);
	EXPECT(c.kv_bytes_per_token == 12 * 2048 && c.kv_at[0] == 12ull * 2048 * 4096 && c.kv_at[1] == 12ull * 2048 * 131072 &&
	           c.kv_all_attn_at[0] == 48ull * 2048 * 4096 && c.kv_all_attn_at[1] == 48ull * 2048 * 131072,
	       "qwen3-next KV: %llu a token, %llu / %llu, all-attention %llu / %llu", (unsigned long long)c.kv_bytes_per_token,
	       (unsigned long long)c.kv_at[0], (unsigned long long)c.kv_at[1], (unsigned long long)c.kv_all_attn_at[0],
	       (unsigned long long)c.kv_all_attn_at[1]);
	for (uint32_t il = 0; il < hp.n_layer; il++)
		EXPECT(layers[il].attn == ((il + 1) % 4 ? ATTN_GDN : ATTN_GQA) && layers[il].attn_out_gate == !((il + 1) % 4),
		       "qwen3-next layer %u kind", il);

	/* tiny files: keys against tensors, naming both; the interval rule when recurrent_layers is absent */
	const char *archs[] = {"qwen3next", "qwen35", "qwen35moe"};
	for (int i = 0; i < 3; i++) {
		char good[256], name[64], key[96], want[256];
		snprintf(name, sizeof name, "good-%s.gguf", archs[i]);
		if (synth_tiny(archs[i], QT_F32, 1, name, good, sizeof good) != VKLLM_OK) {
			EXPECT(0, "synth %s: %s", archs[i], vkllm_error());
			continue;
		}
		snprintf(key, sizeof key, "%s.ssm.group_count", archs[i]);
		snprintf(want, sizeof want, "%s.ssm.group_count x ssm.state_size x 2 + ssm.time_step_rank x ssm.state_size (the conv "
		         "channels q|k|v) says 192 but tensor 'blk.0.ssm_conv1d.weight' has 256 in dimension 1", archs[i]);
		expect_bad(good, &(struct edit){.u32_key = key, .u32_value = 1}, VKLLM_E_FORMAT, want, "group_count vs conv channels");
		snprintf(key, sizeof key, "%s.ssm.conv_kernel", archs[i]);
		snprintf(want, sizeof want, "%s says 3 but tensor 'blk.0.ssm_conv1d.weight' has 4 in dimension 0", key);
		expect_bad(good, &(struct edit){.u32_key = key, .u32_value = 3}, VKLLM_E_FORMAT, want, "conv_kernel");
		snprintf(key, sizeof key, "%s.ssm.inner_size", archs[i]);
		snprintf(want, sizeof want, "%s 64 disagrees with ssm.state_size 32 x ssm.time_step_rank 4 = 128", key);
		expect_bad(good, &(struct edit){.u32_key = key, .u32_value = 64}, VKLLM_E_FORMAT, want, "inner_size");
		snprintf(key, sizeof key, "%s.full_attention_interval", archs[i]);
		expect_bad(good, &(struct edit){.u32_key = key, .u32_value = 2}, VKLLM_OK, "", "recurrent_layers wins over the interval");
		char noarr[256];
		path_in_tmp(noarr, sizeof noarr, "gdn-noarr.gguf");
		snprintf(key, sizeof key, "%s.attention.recurrent_layers", archs[i]);
		static struct model_file m;
		EXPECT(rewrite(good, noarr, &(struct edit){.drop_key = key}) == VKLLM_OK && model_file_open(&m, noarr) == VKLLM_OK,
		       "%s without recurrent_layers: %s", archs[i], vkllm_error());
		if (m.arch) {
			EXPECT(m.hp.full_attn_interval == 4 && m.hp.is_recurrent[2] && !m.hp.is_recurrent[3], "%s interval rule", archs[i]);
			model_file_close(&m);
		}
		unlink(noarr);
		unlink(good);
	}
}

/* kimi-linear: the preset's exact count against the published 48B / 3B, --n-layer, the card's state
 * and latent cache at 128k and 1M against an all-MLA twin, and files whose keys disagree with
 * their tensors. */
struct kimi_config {
	uint64_t E, L, H, D, K, kv_lora, nope, rope, v, ff, ff_exp, X, k, shared, dense, vocab;
};

static bool kimi_full(uint64_t il, uint64_t L) { return (il + 1) % 4 == 0 || il + 1 == L; }

static void kimi_count(const struct kimi_config *c, uint64_t *total, uint64_t *active)
{
	uint64_t HD = c->H * c->D, Dk = c->nope + c->rope;
	uint64_t kda = 3 * c->E * HD + 3 * c->K * HD + 2 * (c->E * c->D + c->D * HD) + c->E * c->H + c->H + HD + c->D + HD * c->E;
	uint64_t mla = c->E * c->H * Dk + c->E * (c->kv_lora + c->rope) + c->kv_lora + c->H * c->nope * c->kv_lora +
	               c->H * c->kv_lora * c->v + c->H * c->v * c->E;
	uint64_t expert = 3 * c->E * c->ff_exp, moe = c->E * c->X + c->shared * expert + c->X;
	*total = *active = 2 * c->vocab * c->E + c->E;
	for (uint64_t il = 0; il < c->L; il++) {
		uint64_t layer = 2 * c->E + (kimi_full(il, c->L) ? mla : kda);
		bool dense = il < c->dense;
		*total += layer + (dense ? 3 * c->E * c->ff : moe + c->X * expert);
		*active += layer + (dense ? 3 * c->E * c->ff : moe + c->k * expert);
	}
}

static void test_kimi_linear(void)
{
	/* Kimi-Linear-48B-A3B: the model card says 48B total and 3B activated. The tensors hold
	 * 49.12 B and 3.48 B active, 3.11 B without the input embedding (Moonshot counts as DeepSeek
	 * does, test_deepseek2_presets): 2.3% and 3.6% above the rounded names, so 4% */
	struct kimi_config kc = {2304, 27, 32, 128, 4, 512, 128, 64, 128, 9216, 1024, 256, 8, 1, 1, 163840};
	uint64_t total, active;
	kimi_count(&kc, &total, &active);
	struct synth_options o = {.type = -1, .seed = 1, .tied = -1, .dry_run = true, .preset = "kimi-linear-48b-a3b"};
	struct synth_result r;
	int st = synth_model(&o, &r);
	EXPECT(st == VKLLM_OK && r.n_params == total && r.n_params_active == active,
	       "kimi-linear-48b-a3b: %llu / %llu params, formula %llu / %llu (%s)", (unsigned long long)r.n_params,
	       (unsigned long long)r.n_params_active, (unsigned long long)total, (unsigned long long)active, st ? vkllm_error() : "");
	double t = r.n_params / 1e9, a = (r.n_params_active - kc.vocab * kc.E) / 1e9;
	EXPECT(fabs(t / 48 - 1) < 0.04 && fabs(a / 3 - 1) < 0.04, "kimi-linear-48b-a3b: %.3f B / %.3f B against 48 / 3", t, a);
	printf("# %-18s %7.3f B total %7.3f B active (%.3f B without the input embedding), published 48 / 3\n", o.preset, t,
	       r.n_params_active / 1e9, a);
	for (uint32_t L = 1; L <= 5; L++) { /* --n-layer: the last layer is MLA, every 4th too */
		struct kimi_config c = kc;
		c.L = L, c.dense = c.dense < L ? c.dense : L;
		kimi_count(&c, &total, &active);
		o.n_layer = L;
		st = synth_model(&o, &r);
		EXPECT(st == VKLLM_OK && r.n_params == total, "kimi-linear --n-layer %u: %llu params, formula %llu (%s)", L,
		       (unsigned long long)r.n_params, (unsigned long long)total, st ? vkllm_error() : "");
	}
	o.n_layer = 0;

	/* the card: 20 KDA layers of three convs 3 x 4096 and 32 heads of 128 x 128, f32; 7 MLA layers of
	 * a latent row 512 + 64, f16; the all-attention twin has 27 such rows */
	static struct hparams hp;
	static struct layer_desc layers[MODEL_MAX_LAYERS];
	struct card c;
	EXPECT(synth_hparams(&o, &hp, layers) == VKLLM_OK, "kimi-linear hparams: %s", vkllm_error());
	card_kv(&hp, layers, &c);
	uint64_t row = 2 * (512 + 64);
	EXPECT(c.n_gdn_layers == 20 && c.gdn_conv_bytes == 20ull * 3 * 3 * 4096 * 4 && c.gdn_delta_bytes == 20ull * 32 * 128 * 128 * 4,
	       "kimi-linear state: %u layers, conv %llu, delta %llu", c.n_gdn_layers, (unsigned long long)c.gdn_conv_bytes,
	       (unsigned long long)c.gdn_delta_bytes);
	EXPECT(c.kv_bytes_per_token == 7 * row && c.kv_at[1] == 7 * row * 131072 && c.kv_at[2] == 7 * row * 1048576 &&
	           c.kv_all_attn_at[1] == 27 * row * 131072 && c.kv_all_attn_at[2] == 27 * row * 1048576,
	       "kimi-linear KV: %llu a token, at 1M %llu, all-MLA %llu", (unsigned long long)c.kv_bytes_per_token,
	       (unsigned long long)c.kv_at[2], (unsigned long long)c.kv_all_attn_at[2]);
	for (uint32_t il = 0; il < 27; il++)
		EXPECT(layers[il].attn == (kimi_full(il, 27) ? ATTN_MLA : ATTN_KDA), "kimi-linear layer %u kind", il);

	char good[256];
	if (synth_tiny("kimi-linear", QT_F32, 1, "good-kimi.gguf", good, sizeof good) != VKLLM_OK) {
		EXPECT(0, "synth kimi-linear: %s", vkllm_error());
		return;
	}
	expect_bad(good, &(struct edit){.u32_key = "kimi-linear.kda.head_dim", .u32_value = 16}, VKLLM_E_FORMAT,
	           "kimi-linear.attention.head_count x kda.head_dim says 64 but tensor 'blk.0.ssm_conv1d_q.weight' has 128 in "
	           "dimension 2", "kda.head_dim against the convs");
	expect_bad(good, &(struct edit){.u32_key = "kimi-linear.ssm.conv_kernel", .u32_value = 3}, VKLLM_E_FORMAT,
	           "kimi-linear.ssm.conv_kernel says 3 but tensor 'blk.0.ssm_conv1d_q.weight' has 4 in dimension 0", "conv_kernel");
	expect_bad(good, &(struct edit){.u32_key = "kimi-linear.attention.value_length_mla", .u32_value = 32}, VKLLM_E_FORMAT,
	           "value_length_mla says 32 but tensor 'blk.3.attn_v_b.weight' has 24 in dimension 1", "value_length_mla");
	expect_bad(good, &(struct edit){.drop_key = "kimi-linear.expert_gating_func"}, VKLLM_E_FORMAT,
	           "key 'kimi-linear.expert_gating_func' is missing", "gating required");
	expect_bad(good, &(struct edit){.drop_tensor = "blk.2.exp_probs_b.bias"}, VKLLM_E_FORMAT,
	           "missing tensor 'blk.2.exp_probs_b.bias'", "selection bias required");
	/* a scalar head_count_kv of 1 makes every layer MLA: the KDA tensors are then unexpected */
	expect_bad(good, &(struct edit){.u32_key = "kimi-linear.attention.head_count_kv", .u32_value = 1}, VKLLM_E_FORMAT,
	           "tensor 'blk.0.attn_q.weight' has shape [64, 128], expected [64, 160]", "every layer attention");
	unlink(good);
}

/* gpt-oss: the presets' exact counts against the published 20.9 B / 3.6 B and 116.8 B / 5.1 B
 * active, the experts in MXFP4 whatever --type says (and in --expert-type's type), and files the
 * loader must refuse. */
static void gpt_oss_count(uint64_t L, uint64_t X, uint64_t *total, uint64_t *active)
{
	uint64_t E = 2880, H = 64, Hkv = 8, D = 64, F = 2880, K = 4, V = 201088;
	uint64_t attn = E * H * D + H * D + 2 * (E * Hkv * D + Hkv * D) + H * D * E + E + H;
	uint64_t router = E * X + X, expert = 3 * E * F + 2 * F + E; /* an expert's matrices and biases */
	*total = 2 * V * E + E + L * (2 * E + attn + router + X * expert);
	*active = 2 * V * E + E + L * (2 * E + attn + router + K * expert);
}

static void test_gpt_oss(void)
{
	/* OpenAI's model card: 20.91 B / 3.61 B active and 116.83 B / 5.13 B active, the active figures
	 * without the input embedding; exact to the digits given (0.1% and 0.5%) */
	static const struct {
		const char *preset;
		uint64_t L, X;
		double total, active;
	} m[] = {{"gpt-oss-20b", 24, 32, 20.91, 3.61}, {"gpt-oss-120b", 36, 128, 116.83, 5.13}};
	for (size_t i = 0; i < 2; i++) {
		uint64_t total, active;
		gpt_oss_count(m[i].L, m[i].X, &total, &active);
		struct synth_options o = {.type = -1, .seed = 1, .tied = -1, .dry_run = true, .preset = m[i].preset};
		struct synth_result r;
		int st = synth_model(&o, &r);
		EXPECT(st == VKLLM_OK && r.n_params == total && r.n_params_active == active, "%s: %llu / %llu params, formula %llu / %llu (%s)",
		       m[i].preset, (unsigned long long)r.n_params, (unsigned long long)r.n_params_active, (unsigned long long)total,
		       (unsigned long long)active, st ? vkllm_error() : "");
		double t = r.n_params / 1e9, a = (r.n_params_active - 201088ull * 2880) / 1e9;
		EXPECT(fabs(t / m[i].total - 1) < 0.001 && fabs(a / m[i].active - 1) < 0.005, "%s: %.3f B / %.3f B against %g / %g",
		       m[i].preset, t, a, m[i].total, m[i].active);
		printf("# %-18s %7.3f B total %7.3f B active (%.3f B without the input embedding), published %g / %g\n", m[i].preset,
		       t, r.n_params_active / 1e9, a, m[i].total, m[i].active);
	}

	/* the tiny file: experts in MXFP4 under --type q8_0, the rest q8_0; --expert-type f16 */
	char path[256];
	path_in_tmp(path, sizeof path, "oss-q8.gguf");
	struct synth_options o = {.arch = "gpt-oss", .type = QT_Q8_0, .seed = 1, .tied = -1, .quiet = true, .out = path};
	struct synth_result r;
	static struct model_file mf;
	EXPECT(synth_model(&o, &r) == VKLLM_OK && model_file_open(&mf, path) == VKLLM_OK, "gpt-oss q8_0: %s", vkllm_error());
	if (mf.arch) {
		const struct gguf_tensor *ex = gguf_tensor(&mf.gguf, "blk.0.ffn_up_exps.weight"), *q = gguf_tensor(&mf.gguf, "blk.0.attn_q.weight");
		EXPECT(ex && ex->type == QT_MXFP4 && q && q->type == QT_Q8_0, "gpt-oss types: experts %d, attn_q %d", ex ? (int)ex->type : -1,
		       q ? (int)q->type : -1);
		for (uint32_t il = 0; il < 4; il++)
			EXPECT(mf.layers[il].swa == (il % 2 == 0) && mf.layers[il].attn_sinks && mf.layers[il].act == ACT_SWIGLU_OAI &&
			           mf.layers[il].ffn == FFN_MOE && mf.layers[il].ffn_norm_post_attn,
			       "gpt-oss layer %u recipe", il);
		EXPECT(mf.hp.rope_scaling == ROPE_SCALING_YARN && mf.hp.rope_freq_scale == 1.0f / 32 && mf.hp.n_swa == 8 &&
		           mf.hp.rope_base_swa == mf.hp.rope_base,
		       "gpt-oss rope and window");
		model_file_close(&mf);
	}
	o.expert_type_set = true, o.expert_type = QT_F16;
	EXPECT(synth_model(&o, &r) == VKLLM_OK && model_file_open(&mf, path) == VKLLM_OK, "gpt-oss f16 experts: %s", vkllm_error());
	if (mf.arch) {
		EXPECT(gguf_tensor(&mf.gguf, "blk.1.ffn_down_exps.weight")->type == QT_F16, "--expert-type f16");
		model_file_close(&mf);
	}
	o.expert_type_set = false, o.type = QT_F32;
	EXPECT(synth_model(&o, &r) == VKLLM_OK, "gpt-oss f32: %s", vkllm_error());
	expect_bad(path, &(struct edit){.drop_tensor = "blk.1.attn_sinks.weight"}, VKLLM_E_FORMAT,
	           "missing tensor 'blk.1.attn_sinks.weight' (expected shape [4])", "sinks required");
	expect_bad(path, &(struct edit){.drop_tensor = "blk.0.ffn_down_exps.bias"}, VKLLM_E_FORMAT,
	           "missing tensor 'blk.0.ffn_down_exps.bias' (expected shape [64, 8])", "expert biases required");
	expect_bad(path, &(struct edit){.drop_key = "gpt-oss.attention.sliding_window"}, VKLLM_E_FORMAT,
	           "key 'gpt-oss.attention.sliding_window' is missing", "window required");
	expect_bad(path, &(struct edit){.extra_u32_key = "gpt-oss.attention.sliding_window_pattern", .u32_value = 1}, VKLLM_E_FORMAT,
	           "leaves no sliding-window layer", "a pattern with no window");
	unlink(path);
}

/* glm4moe and minimax-m2: the presets' exact counts against a formula, and the published sizes
 * (GLM-4.5 355B / 32B active, GLM-4.5-Air 106B / 12B, MiniMax-M2 230B / 10B, all rounded; active
 * without the input embedding). */
struct moe_config {
	uint64_t E, L, H, Hkv, D, ff, F, X, k, shared, dense, V;
	bool qkv_bias, qk_norm_head, qk_norm_full;
};

static void moe_count(const struct moe_config *c, uint64_t *total, uint64_t *active)
{
	uint64_t HD = c->H * c->D, KD = c->Hkv * c->D;
	uint64_t attn = c->E * HD + 2 * c->E * KD + HD * c->E + (c->qkv_bias ? HD + 2 * KD : 0) +
	                (c->qk_norm_head ? 2 * c->D : 0) + (c->qk_norm_full ? HD + KD : 0);
	uint64_t expert = 3 * c->E * c->F, moe = c->E * c->X + c->X + c->shared * expert;
	*total = *active = 2 * c->V * c->E + c->E;
	for (uint64_t il = 0; il < c->L; il++) {
		bool dense = il < c->dense;
		*total += 2 * c->E + attn + (dense ? 3 * c->E * c->ff : moe + c->X * expert);
		*active += 2 * c->E + attn + (dense ? 3 * c->E * c->ff : moe + c->k * expert);
	}
}

static void test_glm_minimax(void)
{
	/* Zhipu and MiniMax count the activated parameters without the embedding and without the LM
	 * head (GLM-4.5-Air's 12B is 12.18 B so, 12.80 B with the head); GLM-4.5's 355B counts its
	 * multi-token-prediction layer, which synth does not write (3.6 B); the figures are rounded to
	 * the digits given: 2.5% covers each */
	static const struct {
		const char *preset;
		struct moe_config c;
		double total, active;
	} m[] = {
		{"glm-4.5", {5120, 92, 96, 8, 128, 12288, 1536, 160, 8, 1, 3, 151552, true, true, false}, 355, 32},
		{"glm-4.5-air", {4096, 46, 96, 8, 128, 10944, 1408, 128, 8, 1, 1, 151552, true, false, false}, 106, 12},
		{"minimax-m2", {3072, 62, 48, 8, 128, 1536, 1536, 256, 8, 0, 0, 200064, false, false, true}, 230, 10},
	};
	for (size_t i = 0; i < sizeof m / sizeof *m; i++) {
		uint64_t total, active;
		moe_count(&m[i].c, &total, &active);
		struct synth_options o = {.type = -1, .seed = 1, .tied = -1, .dry_run = true, .preset = m[i].preset};
		struct synth_result r;
		int st = synth_model(&o, &r);
		EXPECT(st == VKLLM_OK && r.n_params == total && r.n_params_active == active, "%s: %llu / %llu params, formula %llu / %llu (%s)",
		       m[i].preset, (unsigned long long)r.n_params, (unsigned long long)r.n_params_active, (unsigned long long)total,
		       (unsigned long long)active, st ? vkllm_error() : "");
		double t = r.n_params / 1e9, a = (r.n_params_active - 2 * m[i].c.V * m[i].c.E) / 1e9;
		EXPECT(fabs(t / m[i].total - 1) < 0.025 && fabs(a / m[i].active - 1) < 0.025, "%s: %.3f B / %.3f B against %g / %g",
		       m[i].preset, t, a, m[i].total, m[i].active);
		printf("# %-18s %8.3f B total %7.3f B active (%.3f B without the embedding and the head), published %g / %g\n", m[i].preset,
		       t, r.n_params_active / 1e9, a, m[i].total, m[i].active);
	}
}

/* synth's tiny model of arch as tmp/name, opened into mf: false (having said why) when either fails */
static bool open_tiny(const char *arch, const char *name, char *path, size_t n, struct model_file *mf)
{
	if (synth_tiny(arch, QT_F32, 1, name, path, n)) {
		EXPECT(0, "synth %s: %s", arch, vkllm_error());
		return false;
	}
	int st = model_file_open(mf, path);
	EXPECT(st == VKLLM_OK, "open %s: %s", arch, vkllm_error());
	return st == VKLLM_OK;
}

/* mistral3 (Ministral 3): the presets' exact counts against the dense formula and the model cards'
 * language-model sizes (3.4 B and 13.5 B, rounded: 2% covers them); the hyperparameters a file
 * carries (YaRN with its betas and log multiplier, the temperature over the original context);
 * the tiny model's keys; refusals of what vkllm does not run. */
static void test_mistral3(void)
{
	static const struct {
		const char *preset;
		uint64_t E, L, ff;
		bool tied;
		double published;
	} m[] = {{"ministral-3", 3072, 26, 9216, true, 3.4}, {"ministral-3-14b", 5120, 40, 16384, false, 13.5}};
	for (size_t i = 0; i < sizeof m / sizeof *m; i++) {
		/* per layer q and o 4096 x E, k and v 1024 x E, the GLU 3 x E x ff, two norms; the
		 * embedding 131072 x E (twice untied) and the final norm */
		uint64_t E = m[i].E, layer = 2 * 4096 * E + 2 * 1024 * E + 3 * E * m[i].ff + 2 * E;
		uint64_t want = m[i].L * layer + (m[i].tied ? 1 : 2) * 131072 * E + E;
		struct synth_options o = {.type = -1, .seed = 1, .tied = -1, .dry_run = true, .preset = m[i].preset};
		struct synth_result r;
		int st = synth_model(&o, &r);
		EXPECT(st == VKLLM_OK && r.n_params == want && r.n_params_active == want, "%s: %llu params, formula %llu (%s)",
		       m[i].preset, (unsigned long long)r.n_params, (unsigned long long)want, st ? vkllm_error() : "");
		EXPECT(fabs(r.n_params / 1e9 / m[i].published - 1) < 0.02, "%s: %.3f B against %g B", m[i].preset, r.n_params / 1e9,
		       m[i].published);
		printf("# %-18s %7.3f B total, published %g B\n", m[i].preset, r.n_params / 1e9, m[i].published);
	}
	/* the preset's hyperparameters as a file carries them */
	struct synth_options o = {.type = -1, .seed = 1, .tied = -1, .preset = "ministral-3"};
	static struct hparams hp;
	static struct layer_desc layers[MODEL_MAX_LAYERS];
	int st = synth_hparams(&o, &hp, layers);
	EXPECT(st == VKLLM_OK && hp.rope_scaling == ROPE_SCALING_YARN && hp.rope_freq_scale == 1.0f / 16 &&
	           hp.n_ctx_orig_yarn == 16384 && hp.yarn_beta_fast == 32 && hp.yarn_beta_slow == 1 && hp.rope_yarn_log_mul == 1 &&
	           hp.attn_temp_scale == 0.1f && hp.attn_temp_floor == 16384 && hp.attn_temp_offset == 0 && layers[25].attn_temp &&
	           hp.rope_base == 1e6f,
	       "ministral-3 hyperparameters (%s)", st ? vkllm_error() : "");

	char path[256];
	static struct model_file mf;
	if (open_tiny("mistral3", "good-mistral3.gguf", path, sizeof path, &mf)) {
		const struct hparams *h = &mf.hp;
		EXPECT(mf.arch->rope == ROPE_NORM && h->yarn_beta_fast == 2 && h->yarn_beta_slow == 0.25f && h->rope_yarn_log_mul == 1 &&
		           h->attn_temp_scale == 0.1f && h->attn_temp_floor == 8 && h->n_ctx_orig_yarn == 8 && mf.layers[0].attn_temp &&
		           mf.layers[1].attn_temp && !mf.tied_output,
		       "tiny mistral3: betas %g %g, log_mul %g, temperature %g over %u", h->yarn_beta_fast, h->yarn_beta_slow,
		       h->rope_yarn_log_mul, h->attn_temp_scale, h->attn_temp_floor);
		model_file_close(&mf);
	}
	/* experts: the arch's finish refuses them by name (a rewrite cannot add the two keys a valid
	 * MoE shape needs, and synth makes no mistral3 with experts) */
	hp.n_expert = 8, hp.n_expert_used = 2;
	EXPECT(arch_find("mistral3")->finish(&hp, NULL) == VKLLM_E_UNSUPPORTED && strstr(vkllm_error(), "mistral3 with expert_count 8"),
	       "mistral3 with experts: %s", vkllm_error());
	expect_bad(path, &(struct edit){.u32_key = "mistral3.rope.scaling.original_context_length", .u32_value = 0}, VKLLM_E_FORMAT,
	           "attention.temperature_scale 0.1 needs rope.scaling.original_context_length", "temperature without a floor");
	expect_bad(path, &(struct edit){.extra_u32_key = "mistral3.rope.dimension_count", .u32_value = 8}, VKLLM_E_FORMAT,
	           "invalid rope.dimension_count 8, expected 16", "partial rotary");
	unlink(path);
}

/* llama4 (Llama 4): the presets' exact counts against the formula (dense layers of 16384 between MoE
 * ones where the step is 2; every MoE layer has a shared expert as wide as a routed one; Scout's
 * rope_freqs) and Meta's figures (109B / 17B and 400B / 17B, the totals with the vision encoder,
 * which synth does not write, of about 1 B: 2.5% covers it); the layer pattern (chunked, NoPE with
 * the temperature, the weightless QK-norm where there are not 128 experts); the tiny file's keys and
 * a file with attention.sliding_window 0; refusals. */
static void test_llama4(void)
{
	static const struct {
		const char *preset;
		uint64_t X, step, rope_freqs;
		double total, active;
	} m[] = {{"llama4-scout", 16, 1, 64, 109, 17}, {"llama4-maverick", 128, 2, 0, 400, 17}};
	for (size_t i = 0; i < sizeof m / sizeof *m; i++) {
		const uint64_t E = 5120, L = 48, V = 202048, HD = 40 * 128, KD = 8 * 128, F = 8192, FD = 16384;
		uint64_t attn = 2 * E * HD + 2 * E * KD + 2 * E, expert = 3 * E * F;
		uint64_t total = 2 * V * E + E + m[i].rope_freqs, active = total;
		for (uint64_t il = 0; il < L; il++) {
			bool moe = (il + 1) % m[i].step == 0;
			total += attn + (moe ? E * m[i].X + (m[i].X + 1) * expert : 3 * E * FD);
			active += attn + (moe ? E * m[i].X + 2 * expert : 3 * E * FD);
		}
		struct synth_options o = {.type = -1, .seed = 1, .tied = -1, .dry_run = true, .preset = m[i].preset};
		struct synth_result r;
		int st = synth_model(&o, &r);
		EXPECT(st == VKLLM_OK && r.n_params == total && r.n_params_active == active, "%s: %llu / %llu params, formula %llu / %llu (%s)",
		       m[i].preset, (unsigned long long)r.n_params, (unsigned long long)r.n_params_active, (unsigned long long)total,
		       (unsigned long long)active, st ? vkllm_error() : "");
		double t = r.n_params / 1e9, a = r.n_params_active / 1e9;
		EXPECT(fabs(t / m[i].total - 1) < 0.025 && fabs(a / m[i].active - 1) < 0.025, "%s: %.3f B / %.3f B against %g / %g",
		       m[i].preset, t, a, m[i].total, m[i].active);
		printf("# %-18s %8.3f B total %7.3f B active, published %g / %g\n", m[i].preset, t, a, m[i].total, m[i].active);
	}
	static struct hparams hp;
	static struct layer_desc l[MODEL_MAX_LAYERS];
	struct synth_options o = {.type = -1, .seed = 1, .tied = -1, .preset = "llama4-scout"};
	int st = synth_hparams(&o, &hp, l);
	bool ok = st == VKLLM_OK && hp.n_chunk == 8192 && hp.attn_temp_scale == 0.1f && hp.attn_temp_floor == 8192 &&
	          hp.attn_temp_offset == 1 && hp.n_ff_shexp == 8192;
	for (uint32_t il = 0; ok && il < 48; il++) {
		bool nope = il % 4 == 3;
		ok = l[il].rope == !nope && l[il].chunked == !nope && l[il].attn_temp == nope &&
		     l[il].qk_norm == (nope ? QK_NORM_NONE : QK_NORM_L2) && l[il].ffn == FFN_MOE && l[il].shexp;
	}
	EXPECT(ok, "llama4-scout's layers: chunked RoPE layers with the L2 QK-norm, every 4th NoPE with the temperature, all MoE");
	o.preset = "llama4-maverick";
	st = synth_hparams(&o, &hp, l);
	ok = st == VKLLM_OK;
	for (uint32_t il = 0; ok && il < 48; il++)
		ok = l[il].qk_norm == QK_NORM_NONE && l[il].ffn == (il % 2 ? FFN_MOE : FFN_GLU) && l[il].shexp == (il % 2 == 1) &&
		     l[il].n_ff == 16384;
	EXPECT(ok, "llama4-maverick's layers: no QK-norm (128 experts), MoE on odd layers, dense 16384 on even ones");

	char path[256];
	static struct model_file mf;
	if (open_tiny("llama4", "good-llama4.gguf", path, sizeof path, &mf)) {
		EXPECT(mf.hp.n_moe_layer_step == 2 && mf.hp.n_chunk == 8192 && mf.layers[3].attn_temp && !mf.layers[3].rope &&
		           mf.layers[1].ffn == FFN_MOE && mf.layers[0].ffn == FFN_GLU && mf.layers[0].chunked &&
		           gguf_tensor(&mf.gguf, "rope_freqs.weight") && !gguf_find(&mf.gguf, "llama4.attention.sliding_window") &&
		           !gguf_find(&mf.gguf, "llama4.expert_shared_feed_forward_length"),
		       "tiny llama4: step %u, chunk %u, keys and rope_freqs as the converter writes them", mf.hp.n_moe_layer_step,
		       mf.hp.n_chunk);
		model_file_close(&mf);
	}
	/* attention.sliding_window 0 (llama.cpp: no chunks, no temperature, the NoPE step n_layer): opens, and
	 * only the last layer is NoPE */
	char nochunk[256];
	path_in_tmp(nochunk, sizeof nochunk, "llama4-nochunk.gguf");
	st = rewrite(path, nochunk, &(struct edit){.extra_u32_key = "llama4.attention.sliding_window", .u32_value = 0});
	if (st == VKLLM_OK) st = model_file_open(&mf, nochunk);
	EXPECT(st == VKLLM_OK, "llama4 with sliding_window 0: %s", st ? vkllm_error() : "");
	if (st == VKLLM_OK) {
		bool flat = mf.hp.n_chunk == 0 && mf.hp.attn_temp_scale == 0;
		for (uint32_t il = 0; il < 4; il++) flat = flat && !mf.layers[il].chunked && mf.layers[il].rope == (il != 3);
		EXPECT(flat && !mf.layers[3].attn_temp, "llama4 with sliding_window 0: no chunks, no temperature, the last layer NoPE");
		model_file_close(&mf);
	}
	unlink(nochunk);
	expect_bad(path, &(struct edit){.drop_key = "llama4.interleave_moe_layer_step"}, VKLLM_E_FORMAT,
	           "llama4.interleave_moe_layer_step", "llama4 without its MoE step");
	expect_bad(path, &(struct edit){.u32_key = "llama4.expert_count", .u32_value = 0}, VKLLM_E_FORMAT, "with expert_count 0",
	           "llama4 without experts");
	expect_bad(path, &(struct edit){.extra_u32_key = "llama4.rope.dimension_count", .u32_value = 8}, VKLLM_E_FORMAT,
	           "rope.dimension_count (8)", "llama4 with partial rotary");
	unlink(path);
}

/* grok (Grok 2.5): the preset's exact count against the formula and xAI's 270B (rounded: 1%); the
 * keys the file carries and llama.cpp's defaults where an older file lacks them; a file without the
 * dense FFN (moe alone); refusals (Grok-1's layer_output_norm, no experts). */
static void test_grok(void)
{
	const uint64_t E = 8192, L = 64, V = 131072, HD = 64 * 128, KD = 8 * 128, F = 16384, FD = 32768, X = 8, K = 2;
	uint64_t attn = 2 * E * HD + 2 * E * KD, norms = 4 * E, dense = 3 * E * FD, expert = 3 * E * F;
	uint64_t total = 2 * V * E + E + L * (attn + norms + dense + E * X + X * expert);
	uint64_t active = 2 * V * E + E + L * (attn + norms + dense + E * X + K * expert);
	struct synth_options o = {.type = -1, .seed = 1, .tied = -1, .dry_run = true, .preset = "grok-2.5"};
	struct synth_result r;
	int st = synth_model(&o, &r);
	EXPECT(st == VKLLM_OK && r.n_params == total && r.n_params_active == active, "grok-2.5: %llu / %llu params, formula %llu / %llu (%s)",
	       (unsigned long long)r.n_params, (unsigned long long)r.n_params_active, (unsigned long long)total,
	       (unsigned long long)active, st ? vkllm_error() : "");
	EXPECT(fabs(r.n_params / 1e9 / 270 - 1) < 0.01, "grok-2.5: %.3f B against 270 B", r.n_params / 1e9);
	printf("# %-18s %8.3f B total %7.3f B active, published 270\n", "grok-2.5", r.n_params / 1e9, r.n_params_active / 1e9);

	char path[256];
	static struct model_file mf;
	if (open_tiny("grok", "good-grok.gguf", path, sizeof path, &mf)) {
		const struct hparams *h = &mf.hp;
		EXPECT(h->embed_scale == 90.50966799187809f && h->logit_scale == 0.5f && h->attn_scale == 0.25f &&
		           h->attn_softcap == 5 && h->final_softcap == 4 && h->yarn_beta_fast == 8 && h->yarn_ext_factor == 1 &&
		           h->moe_dense && mf.layers[0].moe_dense && mf.layers[0].norm == NORM_SANDWICH &&
		           gguf_tensor(&mf.gguf, "blk.0.attn_output_norm.weight") && gguf_tensor(&mf.gguf, "blk.0.post_ffw_norm.weight"),
		       "tiny grok: scales %g %g %g, softcaps %g %g, beta_fast %g, dense %d", h->embed_scale, h->logit_scale,
		       h->attn_scale, h->attn_softcap, h->final_softcap, h->yarn_beta_fast, h->moe_dense);
		model_file_close(&mf);
	}
	/* an older file without the scale keys: llama.cpp's defaults */
	char old[256];
	path_in_tmp(old, sizeof old, "grok-old.gguf");
	st = rewrite(path, old, &(struct edit){.drop_key = "grok.embedding_scale"});
	if (st == VKLLM_OK) st = model_file_open(&mf, old);
	EXPECT(st == VKLLM_OK, "grok without embedding_scale: %s", st ? vkllm_error() : "");
	if (st == VKLLM_OK) {
		EXPECT(mf.hp.embed_scale == 78.38367176906169f, "grok without embedding_scale: %g (llama.cpp's default 78.38)",
		       mf.hp.embed_scale);
		model_file_close(&mf);
	}
	unlink(old);
	expect_bad(path, &(struct edit){.extra_tensor = "blk.0.layer_output_norm.weight"}, VKLLM_E_UNSUPPORTED, "Grok-1 file",
	           "a Grok-1 file");
	expect_bad(path, &(struct edit){.drop_tensor = "blk.1.ffn_up.weight"}, VKLLM_E_FORMAT, "blk.1.ffn_up.weight",
	           "grok with a dense FFN on some layers only");
	unlink(path);
}

/* gemma3n (Gemma 3n E2B, E4B, text): the presets' exact counts against the formula; Google's effective
 * sizes leave out the token embedding and the per-layer token embedding (E2B 1.91B; E4B "4B", rounded:
 * 2.5%); the text total of E2B as published beside its exports (4.46B); the KV cache of the first 20
 * layers only. */
static void test_gemma3n(void)
{
	static const struct {
		const char *preset;
		uint64_t L, F;
		double effective, tol, total;
	} m[] = {{"gemma-3n-e2b", 30, 8192, 1.91, 0.01, 4.46}, {"gemma-3n-e4b", 35, 16384, 4.0, 0.025, 0}};
	for (size_t i = 0; i < sizeof m / sizeof *m; i++) {
		const uint64_t E = 2048, V = 262400, P = 256, HD = 8 * 256, KD = 2 * 256, A = 4, R = 64, L = m[i].L;
		uint64_t layer = 2 * E * HD + 2 * E * KD + 4 * E + 2 * 256 + 3 * E * m[i].F /* attention, norms, FFN */
		                 + 2 * E * P + E + A * A + E + A * A * A + E * A + E + 2 * E * R + E; /* AltUp, LAuReL, PLE */
		uint64_t ple = P * L * V, embd = V * E;
		uint64_t total = embd + E + 6 * E * E + ple + E * P * L + P + L * layer;
		struct synth_options o = {.type = -1, .seed = 1, .tied = -1, .dry_run = true, .preset = m[i].preset};
		struct synth_result r;
		int st = synth_model(&o, &r);
		EXPECT(st == VKLLM_OK && r.n_params == total, "%s: %llu params, formula %llu (%s)", m[i].preset,
		       (unsigned long long)r.n_params, (unsigned long long)total, st ? vkllm_error() : "");
		double eff = (r.n_params - ple - embd) / 1e9;
		EXPECT(fabs(eff / m[i].effective - 1) < m[i].tol, "%s: %.3f B effective against %g", m[i].preset, eff, m[i].effective);
		if (m[i].total > 0)
			EXPECT(fabs(r.n_params / 1e9 / m[i].total - 1) < 0.005, "%s: %.3f B of text against %g", m[i].preset, r.n_params / 1e9,
			       m[i].total);
		printf("# %-18s %8.3f B total, %.3f B effective (without the two embedding tables), published %g\n", m[i].preset,
		       r.n_params / 1e9, eff, m[i].effective);
	}
	/* the tiny model's KV: 20 of its 25 layers own a cache; inspect's text says which borrow one */
	char path[256];
	static struct model_file mf;
	if (open_tiny("gemma3n", "good-gemma3n.gguf", path, sizeof path, &mf)) {
		bool ok = mf.hp.n_layer == 25 && mf.hp.n_layer_kv == 20;
		for (uint32_t il = 0; il < 25; il++)
			ok = ok && mf.layers[il].kv_shared == (il >= 20) && (il < 20 || mf.layers[il].kv_from == (mf.hp.is_swa[il] ? 18u : 19u)) &&
			     mf.layers[il].act_sparsity == (il < 10) && mf.layers[il].altup && mf.layers[il].v_norm;
		EXPECT(ok, "tiny gemma3n: KV sharing from layer 20 (18 for sliding, 19 for full), sparse gates on 0-9");
		model_file_close(&mf);
	}
	expect_bad(path, &(struct edit){.u32_key = "gemma3n.altup.num_inputs", .u32_value = 2}, VKLLM_E_UNSUPPORTED,
	           "llama.cpp (and vkllm) run 4, 0 and 256", "gemma3n with 2 AltUp streams");
	expect_bad(path, &(struct edit){.u32_key = "gemma3n.attention.shared_kv_layers", .u32_value = 3}, VKLLM_E_UNSUPPORTED,
	           "llama.cpp runs 20", "gemma3n sharing from layer 22");
	unlink(path);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_presets();
	test_deepseek2_presets();
	test_mla_kv_card();
	test_tiny_models();
	test_types();
	test_bad_models();
	test_mtp_skipped();
	test_gdn();
	test_kimi_linear();
	test_gpt_oss();
	test_glm_minimax();
	test_mistral3();
	test_llama4();
	test_grok();
	test_gemma3n();
	/* remove what is left in the temporary folder */
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
	return test_finish();
}
