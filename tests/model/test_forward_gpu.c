/* The GPU forward pass (host/graph/, host/run/session.c) against the CPU reference
 * (tests/ref/forward_ref*.c) on models vkllm synth writes: every dense arch, in F32, F16, Q8_0 and
 * Q4_K, with the f16 KV cache (the default) and the f32 one.
 *
 * Checks, at every position of a 24-token sequence run in chunks of 8 (the prefill GEMM path):
 *  - the GPU logits match the reference's: the largest difference over a row, relative to the
 *    row's largest reference logit, stays under the case's tolerance (below);
 *  - the same 24 tokens run one at a time (the decode matvec path) give the same logits as the
 *    chunks, within the same tolerance (prefill of N tokens == N decode steps);
 *  - gemma3 (window 8) and smollm3 (every 4th layer NoPE) run 24 positions: three windows.
 *  - llama4 (Llama 4 in small, its chunk and temperature floor shrunk to 8): chunked attention on
 *    the RoPE layers with the weightless QK-norm after RoPE, the NoPE layer's temperature at
 *    factors 1, 1.069 and 1.110, the router's weight on the experts' inputs (both MoE paths), a
 *    shared expert; and Maverick's 128 experts (no QK-norm).
 *  - grok (Grok 2 in small): the embedding multiplier, scores under a tanh cap with their own scale,
 *    YaRN with beta_fast 8, experts and a dense FFN beside them, sandwich norms, the logit scale and
 *    the final softcap.
 *  - mistral3 (Ministral 3 in small): YaRN with the file's beta_fast / beta_slow and log
 *    multiplier, and the attention temperature over a floor of 8, so the 24 positions see the
 *    factors 1, 1.069 and 1.110.
 *  - deepseek2 (MLA over an f16 or f32 latent cache) in the V3 layout, the V2-Lite layout from a
 *    legacy attn_kv_b file, and one real-shaped DeepSeek-V2-Lite layer; decode steps run the
 *    absorbed form, chunks the device's prefill form and then, forced, the other one.
 *  - qwen3next, qwen35, qwen35moe (gated DeltaNet layers 3:1 with gated attention) and kimi-linear
 *    (KDA, the per-channel decay, 2:1 here with NoPE MLA): decode steps run the recurrent delta
 *    rule, chunks the device's form (token by token on CPU devices, chunks of 64 on GPUs) and then,
 *    forced, the other one; the recurrent state restarts on rewind.
 *  - a rewind to position 10 and tokens 10.. again give the chunks' logits (recurrent models rerun);
 *  - a session refuses tokens past its context with VKLLM_E_CONTEXT_FULL and runs nothing.
 *
 * Tolerances, relative to the row's largest |logit|. The reference computes in float64 on the
 * same decoded weights and, for the f16 cache, rounds each key and value to f16 as the GPU does
 * (ref_forward_set_kv_f16). The GPU sums in f32: about sqrt(K) * 2^-24 per dot product. Measured
 * worst cases on lavapipe (commit of this test): 6e-6 with the f32 cache; 1.2e-3 with the f16
 * cache, where a value a few f32 ulps from an f16 rounding boundary rounds the other way on one
 * side (2^-11 relative in one key) and these random models' sharp attention carries that to the
 * logits. Bounds: 5e-5 (f32 cache) and 3e-3 (f16 cache). Where the GEMM runs on matrix units
 * (coopmat: f16 operands, 2^-11 relative per operand) chunks get 5e-3. A wrong block (a missing
 * norm, bias, RoPE pair, window or scale) moves logits by 10% or more. */
#include <stdlib.h>
#include <unistd.h>

#include "base/status.h"
#include "graph/attn_gdn.h"
#include "graph/attn_mla.h"
#include "graph/weights.h"
#include "loader/quant.h"
#include "model/model.h"
#include "model/synth.h"
#include "ref/forward_ref.h"
#include "run/session.h"
#include "test.h"

#define N_TOK 24
#define CHUNK 8

static char dir[64];

struct model_case {
	const char *name, *arch;
	int type;
	uint32_t n_embd, n_head, head_dim, n_ff, n_layer, n_swa; /* 0: the tiny preset's */
	const char *preset;       /* a real shape instead of the tiny one (then arch is NULL) */
	uint32_t n_head_kv, n_vocab;
	bool no_q_lora, legacy_kv_b;  /* deepseek2 layouts */
	uint32_t n_expert;        /* 0: the tiny preset's */
	uint32_t chunk;           /* llama4: its chunk (8192) and temperature floor (8192) shrunk to this */
};

/* how many cases ran their decode steps with q|k|v as one matrix, and how many apart: both paths
 * must be seen (the tiny q8_0 shapes are too odd in size to fuse, the others fuse) */
static int qkv_fused_cases, qkv_apart_cases;

/* weights.c's rule: parts of one type and row length, each a whole number of 256-byte units */
static bool should_fuse(const struct weight *const *parts, int n)
{
	for (int i = 0; i < n; i++)
		if (!parts[i]->present || parts[i]->type != parts[0]->type || parts[i]->n_in != parts[0]->n_in ||
		    parts[i]->n_out * parts[i]->row_bytes % 256)
			return false;
	return true;
}

static double row_error(const float *got, const double *ref, uint32_t n)
{
	double big = 0, err = 0;
	for (uint32_t i = 0; i < n; i++) big = fmax(big, fabs(ref[i]));
	for (uint32_t i = 0; i < n; i++) err = fmax(err, fabs((double)got[i] - ref[i]));
	return err / (big > 0 ? big : 1);
}

static double row_error_f(const float *got, const float *want, uint32_t n)
{
	double big = 0, err = 0;
	for (uint32_t i = 0; i < n; i++) big = fmax(big, fabs((double)want[i]));
	for (uint32_t i = 0; i < n; i++) err = fmax(err, fabs((double)got[i] - want[i]));
	return err / (big > 0 ? big : 1);
}

static int run_case(struct gpu *g, const struct model_case *c, enum attn_kv_type kv, double tol)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s.gguf", dir, c->name);
	struct synth_options so = {.arch = c->arch, .preset = c->preset, .type = c->type, .seed = 11, .out = path,
	                           .n_embd = c->n_embd, .n_head = c->n_head, .n_head_kv = c->n_head_kv,
	                           .head_dim = c->head_dim, .n_ff = c->n_ff, .n_layer = c->n_layer, .n_swa = c->n_swa,
	                           .n_vocab = c->n_vocab, .no_q_lora = c->no_q_lora, .legacy_kv_b = c->legacy_kv_b,
	                           .n_expert = c->n_expert, .tied = -1, .quiet = true};
	struct synth_result sr;
	REQUIRE_OK(synth_model(&so, &sr));
	struct model_file m;
	REQUIRE_OK(model_file_open(&m, path));
	/* Llama 4's chunk and temperature floor are llama.cpp's fixed 8192 (oracle_long crosses them
	 * against llama.cpp); here both shrink so 24 positions cross three chunks and two floors, for
	 * the reference and the GPU alike (both read them from m.hp) */
	if (c->chunk) {
		REQUIRE(m.hp.n_chunk == 8192 && m.hp.attn_temp_floor == 8192, "%s: llama4's chunk %u and floor %u", c->name,
		        m.hp.n_chunk, m.hp.attn_temp_floor);
		m.hp.n_chunk = m.hp.attn_temp_floor = c->chunk;
	}
	uint32_t V = m.hp.n_vocab;
	uint32_t ids[N_TOK];
	for (uint32_t i = 0; i < N_TOK; i++) ids[i] = (i * 7919u + 13u) % V;

	double *ref = malloc((size_t)N_TOK * V * sizeof *ref);
	float *chunked = malloc((size_t)N_TOK * V * sizeof *chunked), *single = malloc((size_t)N_TOK * V * sizeof *single);
	struct ref_forward *f;
	REQUIRE_OK(ref_forward_create(&f, &m, N_TOK));
	ref_forward_set_kv_f16(f, kv == ATTN_KV_F16);
	REQUIRE_OK(ref_forward_batch(f, ids, N_TOK, 0, ref, true));
	ref_forward_destroy(f);

	struct model_weights w;
	REQUIRE_OK(model_weights_upload(g, &m, &w, NULL, NULL));
	const struct layer_weights *L0 = &w.layers[0];
	const struct weight *qkv[] = {&L0->wq, &L0->wk, &L0->wv}, *gate_up[] = {&L0->gate, &L0->up};
	EXPECT(L0->qkv.present == should_fuse(qkv, 3) && L0->gate_up.present == should_fuse(gate_up, 2),
	       "%s: q|k|v fused %d, gate|up fused %d, against the rule's %d and %d", c->name, L0->qkv.present,
	       L0->gate_up.present, should_fuse(qkv, 3), should_fuse(gate_up, 2));
	if (L0->qkv.present) qkv_fused_cases++;
	else qkv_apart_cases++;
	/* the weight bytes a decode step reads (vkllm bench -m's GB/s), counted again from the file's
	 * tensor table: all of it but the embedding table (one row, unless it is also the output) and
	 * the experts a token is not routed to; vectors are f32 on the device */
	uint64_t want = 0;
	for (uint64_t i = 0; i < m.gguf.n_tensors; i++) {
		const struct gguf_tensor *t = &m.gguf.tensors[i];
		uint64_t bytes = t->n_dims == 1 ? t->ne[0] * 4 : t->size;
		if (!strcmp(t->name, "token_embd.weight") && w.lm_head != &w.tok_embd) bytes = t->size / t->ne[1];
		else if (!strcmp(t->name, "per_layer_token_embd.weight")) bytes = t->size / t->ne[1]; /* Gemma 3n: one row */
		else if (strstr(t->name, "altup_predict_coef") || strstr(t->name, "altup_correct_coef"))
			bytes = t->ne[0] * t->ne[1] * 4; /* Gemma 3n's small coefficient matrices: read as f32 */
		else if ((strstr(t->name, ".attn_k.") || strstr(t->name, ".attn_v.")) && m.layers[atoi(t->name + 4)].kv_shared)
			bytes = 0; /* Gemma 3n: layers reading another's cache have no use for these */
		else if (strstr(t->name, "_exps.bias")) bytes = bytes / t->ne[1] * m.hp.n_expert_used; /* {rows, n_expert} */
		else if (strstr(t->name, "_exps.")) bytes = bytes / t->ne[2] * m.hp.n_expert_used;
		else if (strstr(t->name, "attn_kv_b.")) {
			/* split at load: W_UK transposed in f32 (kv_lora x nope per head), W_UV rows as they are */
			uint64_t H = m.layers[0].n_head, nope = hparams_mla_head_k(&m.hp) - m.hp.n_rot, Dv = hparams_mla_head_v(&m.hp);
			bytes = H * m.hp.n_lora_kv * nope * 4 + t->size / (H * (nope + Dv)) * H * Dv;
		}
		want += bytes;
	}
	uint64_t got = model_weights_decode_bytes(&w, m.hp.n_expert_used);
	EXPECT(got == want, "%s: a decode step reads %llu weight bytes, the tensor table says %llu", c->name,
	       (unsigned long long)got, (unsigned long long)want);
	struct session s;
	struct session_options opt = {.n_ctx = N_TOK, .n_batch = CHUNK, .kv_type = kv, .all_logits = true};
	REQUIRE_OK(session_create(&s, g, &m, &w, &opt));
	REQUIRE_OK(session_eval(&s, ids, N_TOK, true, chunked));
	REQUIRE_OK(session_rewind(&s, 0));
	for (uint32_t t = 0; t < N_TOK; t++) REQUIRE_OK(session_eval(&s, &ids[t], 1, false, single + (size_t)t * V));

	double worst_ref = 0, worst_steps = 0;
	uint32_t at_ref = 0, at_steps = 0;
	for (uint32_t t = 0; t < N_TOK; t++) {
		double e = row_error(chunked + (size_t)t * V, ref + (size_t)t * V, V);
		double d = row_error_f(single + (size_t)t * V, chunked + (size_t)t * V, V);
		if (!(e <= worst_ref)) worst_ref = e, at_ref = t;
		if (!(d <= worst_steps)) worst_steps = d, at_steps = t;
	}
	const char *kvn = kv == ATTN_KV_F16 ? "f16" : "f32";
	printf("# %-22s cache %s: chunks vs reference %.2e (position %u), steps vs chunks %.2e (position %u)\n", c->name, kvn,
	       worst_ref, at_ref, worst_steps, at_steps);
	EXPECT(worst_ref <= tol, "%s cache %s: logits differ from the reference by %.3g of the largest at position %u (tolerance %g)",
	       c->name, kvn, worst_ref, at_ref, tol);
	EXPECT(worst_steps <= tol, "%s cache %s: one token at a time differs from chunks by %.3g at position %u (tolerance %g)",
	       c->name, kvn, worst_steps, at_steps, tol);

	/* a rewind to position 10, then tokens 10.. again, as chat does when a turn re-renders: the same
	 * logits as the one evaluation (a recurrent model restarts its state and reruns 0..9) */
	REQUIRE_OK(session_rewind(&s, 10));
	float *again = malloc((size_t)(N_TOK - 10) * V * sizeof *again);
	REQUIRE_OK(session_eval(&s, ids + 10, N_TOK - 10, true, again));
	double worst_rw = 0;
	for (uint32_t t = 10; t < N_TOK; t++) {
		double e = row_error_f(again + (size_t)(t - 10) * V, chunked + (size_t)t * V, V);
		if (!(e <= worst_rw)) worst_rw = e;
	}
	EXPECT(worst_rw <= tol, "%s cache %s: after a rewind to 10 the logits differ by %.3g (tolerance %g)", c->name, kvn,
	       worst_rw, tol);
	free(again);

	/* the context is full now: one more token is refused and nothing runs */
	uint32_t before = s.n_past;
	EXPECT(session_eval(&s, ids, 1, false, NULL) == VKLLM_E_CONTEXT_FULL && s.n_past == before,
	       "%s: a token past the context is refused (%s)", c->name, vkllm_error());

	session_destroy(&s);
	model_weights_free(g, &w);
	model_file_close(&m);
	unlink(path);
	free(ref), free(chunked), free(single);
	return 0;
}

int main(int argc, char **argv)
{
	snprintf(dir, sizeof dir, "/tmp/vkllm-forward-gpu-XXXXXX");
	bool made = mkdtemp(dir) != NULL;
	REQUIRE(made, "mkdtemp");
	struct gpu g;
	if (test_gpu_open(&g)) {
		fprintf(stderr, "no device: %s\n", vkllm_error());
		return 1;
	}
	/* tiny shapes for every arch; Q4_K needs rows that are multiples of 256 */
	static const char *archs[] = {"llama", "qwen2", "qwen2moe", "qwen3", "qwen3moe", "smollm3", "olmo2", "gemma3",
	                              "deepseek2", "qwen3next", "qwen35", "qwen35moe", "kimi-linear", "gpt-oss", "glm4moe",
	                              "minimax-m2", "mistral3", "llama4", "grok", "gemma3n"};
	static const struct {
		const char *name;
		int type;
	} types[] = {{"f32", QT_F32}, {"f16", QT_F16}, {"q8_0", QT_Q8_0}, {"q4_K", QT_Q4_K}};
	const char *only = argc > 1 ? argv[1] : NULL;
	for (size_t a = 0; a < sizeof archs / sizeof *archs; a++)
		for (size_t t = 0; t < sizeof types / sizeof *types; t++) {
			char name[64];
			snprintf(name, sizeof name, "%s-%s", archs[a], types[t].name);
			if (only && !strstr(name, only)) continue;
			struct model_case c = {.name = name, .arch = archs[a], .type = types[t].type};
			if (types[t].type == QT_Q4_K) c.n_embd = 256, c.n_head = 4, c.head_dim = 64, c.n_ff = 512;
			if (!strcmp(archs[a], "llama4")) c.chunk = 8;
			/* deepseek2's head_dim is nope + rope: keep nope a whole number of 32-blocks */
			if (types[t].type == QT_Q4_K && (!strcmp(archs[a], "deepseek2") || !strcmp(archs[a], "kimi-linear"))) c.head_dim = 72;
			bool mm = op_gemm_uses_coopmat(&g, (uint32_t)types[t].type);
			run_case(&g, &c, ATTN_KV_F16, mm ? 5e-3 : 3e-3);
			if (types[t].type == QT_F32) run_case(&g, &c, ATTN_KV_F32, mm ? 5e-3 : 5e-5);
		}
	/* OLMo 3's sliding layers: 3 local (window 4) then a global one; Llama 3.2's rope_freqs made
	 * small; one real-shaped layer of Qwen3-0.6B (128-wide heads, Q wider than n_embd) and of
	 * Gemma-3-1B (256-wide heads, one KV head) with a small vocabulary */
	const struct model_case extra[] = {
		{.name = "olmo3-window-f32", .arch = "olmo2", .type = QT_F32, .n_layer = 4, .n_swa = 4},
		{.name = "llama-3.2-small-f32", .preset = "llama-3.2-1b", .type = QT_F32, .n_embd = 128, .n_head = 4,
		 .n_head_kv = 2, .head_dim = 32, .n_ff = 256, .n_layer = 2, .n_vocab = 512},
		{.name = "qwen3-0.6b-1layer-q8_0", .preset = "qwen3-0.6b", .type = QT_Q8_0, .n_layer = 1, .n_vocab = 1024},
		{.name = "gemma3-1b-1layer-f16", .preset = "gemma3-1b", .type = QT_F16, .n_layer = 1, .n_vocab = 1024},
		/* MLA: V2-Lite's plain attn_q with the legacy attn_kv_b (split at load); one real-shaped
		 * DeepSeek-V2-Lite layer (16 heads, kv_lora 512, rope 64, 128 + 64 / 128 per head, dense) */
		{.name = "deepseek2-lite-legacy-q8_0", .arch = "deepseek2", .type = QT_Q8_0, .no_q_lora = true, .legacy_kv_b = true},
		{.name = "deepseek-v2-lite-1layer-f16", .preset = "deepseek-v2-lite", .type = QT_F16, .n_layer = 1, .n_vocab = 1024},
		/* gpt-oss-20b's real shapes (64 heads of 64 against 2880, 32 MXFP4 experts of 2880) in two layers,
		 * one with the window of 128 */
		{.name = "gpt-oss-20b-2layer-q8_0", .preset = "gpt-oss-20b", .type = QT_Q8_0, .n_layer = 2, .n_vocab = 1024},
		/* Ministral-3-3B's real shapes (32 heads of 128 against 3072, YaRN x16 over 16384; its
		 * temperature is 1 below position 16384) in one layer */
		{.name = "ministral-3-1layer-q8_0", .preset = "ministral-3", .type = QT_Q8_0, .n_layer = 1, .n_vocab = 1024},
		/* Llama 4 Maverick's routing in small: 128 experts, so no QK-norm on the RoPE layers */
		{.name = "llama4-128e-f32", .arch = "llama4", .type = QT_F32, .n_expert = 128, .chunk = 8},
	};
	for (size_t i = 0; i < sizeof extra / sizeof *extra; i++) {
		if (only && !strstr(extra[i].name, only)) continue;
		bool mm = op_gemm_uses_coopmat(&g, (uint32_t)extra[i].type);
		run_case(&g, &extra[i], ATTN_KV_F32, mm ? 5e-3 : 5e-5);
		run_case(&g, &extra[i], ATTN_KV_F16, mm ? 5e-3 : 3e-3);
	}
	/* the MoE prefill's other path: CPU devices run every chunk's experts per assignment, GPUs
	 * sort longer chunks by expert into grouped GEMMs; each device checks both */
	const char *forced = gpu_is_cpu(&g) ? "grouped" : "assign";
	setenv("VKLLM_MOE_PATH", forced, 1);
	for (size_t t = 0; t < sizeof types / sizeof *types; t++) {
		char name[64];
		snprintf(name, sizeof name, "qwen3moe-%s-%s", types[t].name, forced);
		if (only && !strstr(name, only)) continue;
		struct model_case c = {.name = name, .arch = "qwen3moe", .type = types[t].type};
		if (types[t].type == QT_Q4_K) c.n_embd = 256, c.n_head = 4, c.head_dim = 64, c.n_ff = 512;
		bool mm = op_gemm_uses_coopmat(&g, (uint32_t)types[t].type);
		run_case(&g, &c, ATTN_KV_F16, mm ? 5e-3 : 3e-3);
	}
	/* Llama 4's input-weighted experts (the weights go into the gathered rows) and grok's dense FFN
	 * beside the experts on the other path too */
	static const char *other_moe[] = {"llama4", "grok"};
	for (size_t a = 0; a < 2; a++) {
		char oname[64];
		snprintf(oname, sizeof oname, "%s-f32-%s", other_moe[a], forced);
		if (only && !strstr(oname, only)) continue;
		struct model_case c = {.name = oname, .arch = other_moe[a], .type = QT_F32, .chunk = a == 0 ? 8 : 0};
		run_case(&g, &c, ATTN_KV_F32, op_gemm_uses_coopmat(&g, QT_F32) ? 5e-3 : 5e-5);
	}
	unsetenv("VKLLM_MOE_PATH");
	/* MLA prefill's other form: CPU devices rebuild K and V for flash attention, GPUs stay absorbed
	 * (attn_mla.c); each device checks both against the reference and against the decode steps */
	const char *mla_forced = mla_decompress_prefill(&g) ? "absorbed" : "decompressed";
	setenv("VKLLM_MLA_PREFILL", mla_forced, 1);
	for (size_t t = 0; t < 3; t++) {
		char name[64];
		snprintf(name, sizeof name, "deepseek2-%s-%s", types[t].name, mla_forced);
		if (only && !strstr(name, only)) continue;
		struct model_case c = {.name = name, .arch = "deepseek2", .type = types[t].type};
		bool mm = op_gemm_uses_coopmat(&g, (uint32_t)types[t].type);
		run_case(&g, &c, ATTN_KV_F16, mm ? 5e-3 : 3e-3);
		if (types[t].type == QT_F32) run_case(&g, &c, ATTN_KV_F32, mm ? 5e-3 : 5e-5);
	}
	const struct model_case lite = {.name = "deepseek2-lite-legacy-q8_0-forced", .arch = "deepseek2", .type = QT_Q8_0,
	                                .no_q_lora = true, .legacy_kv_b = true};
	if (!only || strstr(lite.name, only)) run_case(&g, &lite, ATTN_KV_F16, 3e-3);
	unsetenv("VKLLM_MLA_PREFILL");
	/* gated DeltaNet prefill's other form: GPUs run chunks of 64 (WY/UT), CPU devices token by token */
	const char *gdn_forced = gdn_chunked_prefill(&g) ? "recurrent" : "chunked";
	setenv("VKLLM_GDN_PREFILL", gdn_forced, 1);
	static const char *gdn_archs[] = {"qwen3next", "qwen35", "qwen35moe", "kimi-linear"};
	for (size_t a = 0; a < 4; a++)
		for (size_t t = 0; t < 3; t++) {
			char name[64];
			snprintf(name, sizeof name, "%s-%s-%s", gdn_archs[a], types[t].name, gdn_forced);
			if (only && !strstr(name, only)) continue;
			struct model_case c = {.name = name, .arch = gdn_archs[a], .type = types[t].type};
			bool mm = op_gemm_uses_coopmat(&g, (uint32_t)types[t].type);
			run_case(&g, &c, ATTN_KV_F16, mm ? 5e-3 : 3e-3);
			if (types[t].type == QT_F32) run_case(&g, &c, ATTN_KV_F32, mm ? 5e-3 : 5e-5);
		}
	unsetenv("VKLLM_GDN_PREFILL");
	printf("# decode steps with q|k|v fused: %d cases, apart: %d\n", qkv_fused_cases, qkv_apart_cases);
	if (!only) EXPECT(qkv_fused_cases > 0 && qkv_apart_cases > 0, "both decode paths ran (fused %d, apart %d)",
	                  qkv_fused_cases, qkv_apart_cases);
	test_gpu_close(&g);
	rmdir(dir);
	return test_finish();
}
