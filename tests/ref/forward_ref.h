/* The CPU reference forward pass: the executable spec of every architecture vkllm runs (llama,
 * qwen2, qwen2moe, qwen3, qwen3moe, smollm3, olmo2, gemma3, deepseek2, and the gated DeltaNet hybrids
 * qwen3next, qwen35, qwen35moe in their recurrent form). It computes, in float64, what
 * llama.cpp's graph for the same GGUF computes (src/models/<arch>.cpp): it reads the layer
 * recipe (host/model/arch*.c) and nothing else, so a recipe mistake shows up here and in the
 * oracle test against llama.cpp (tests/oracle/forward_check.mjs). docs/reference_forward.md has
 * the table of what each architecture does.
 *
 * Plain and slow on purpose: weights are dequantized a row at a time (loader/quant.c), every sum
 * is a double, the KV cache is double. Small synthesized models run in milliseconds per token. */
#ifndef VKLLM_FORWARD_REF_H
#define VKLLM_FORWARD_REF_H

#include <stdbool.h>
#include <stdint.h>

struct model_file;
struct ref_forward;

/* How the numbers are rounded. REF_EXACT (the default) is the spec: the math in float64.
 * REF_LLAMA_CPU adds the roundings of llama.cpp's CPU backend that move results beyond f32 noise
 * (activations quantized to the weight's vec_dot_type before each matmul: Q8_0, Q8_1, Q8_K, bf16;
 * GELU from its f16 table), so the oracle test can match llama.cpp token for token on quantized
 * models and tell those roundings apart from a real bug (forward_ref_llama_cpu.c). */
enum ref_numerics { REF_EXACT, REF_LLAMA_CPU };

/* A forward-pass context over an open model with room for n_ctx positions (0..n_ctx-1). The
 * model must stay open while the context lives. Fails with a message on a type loader/quant.c
 * cannot decode, or out of memory. */
int ref_forward_create(struct ref_forward **out, const struct model_file *m, uint32_t n_ctx);
void ref_forward_destroy(struct ref_forward *f);
void ref_forward_set_numerics(struct ref_forward *f, enum ref_numerics numerics);
/* Round every key and value to f16 as it enters the cache (round to nearest even), as an f16 KV
 * cache does in vkllm and llama.cpp; the rest stays float64. Off by default. */
void ref_forward_set_kv_f16(struct ref_forward *f, bool on);

/* Multi-head latent attention (deepseek2) has two forms that compute the same function
 * (forward_ref_mla.c, docs/reference_forward.md):
 *   naive     the definition: each head's key and value decompressed from the latent c
 *             (k_nope = W_UK c, v = W_UV c), then ordinary attention per head;
 *   absorbed  W_UK folded into the query and W_UV applied after the weighted sum, so attention
 *             runs over the latent cache [c | k_pe] itself (what the GPU and llama.cpp run).
 * Both keep the same latent cache and read it (rounded to f16 with ref_forward_set_kv_f16).
 * REF_MLA_AUTO, the default, is the form llama.cpp runs for the file: absorbed for split
 * attn_k_b / attn_v_b files, naive for legacy attn_kv_b files (there it runs plain MHA). */
enum ref_mla_form { REF_MLA_AUTO, REF_MLA_NAIVE, REF_MLA_ABSORBED };
void ref_forward_set_mla_form(struct ref_forward *f, enum ref_mla_form form);

/* Runs tokens[0..n) at positions pos0..pos0+n-1, writing their keys and values into the cache.
 * Positions below pos0 must have been run before (the cache holds them); running a position
 * again overwrites it and forgets nothing else, so a caller rewinding must rerun every later
 * position. A model with recurrent layers (gated DeltaNet) carries their state from batch to
 * batch and cannot rewind: pos0 must be the position after the last one run (0 in a new
 * context, which starts from a zero state); anything else is refused. After a failed batch
 * only a new context is sound. logits: with all_logits, [n][n_vocab], one row per token; otherwise [n_vocab] for the
 * last token only. NULL: no logits (only the cache is filled). */
int ref_forward_batch(struct ref_forward *f, const uint32_t *tokens, uint32_t n, uint32_t pos0, double *logits,
                      bool all_logits);
/* One token: ref_forward_batch with n = 1. logits [n_vocab] or NULL. */
int ref_forward_token(struct ref_forward *f, uint32_t token, uint32_t pos, double *logits);

uint32_t ref_forward_n_vocab(const struct ref_forward *f);

/* The hidden state after layer il of the last token of the last batch ([n_embd]), and the final
 * normed state before the LM head (il = n_layer): for per-layer comparisons with the GPU. */
const double *ref_forward_hidden(const struct ref_forward *f, uint32_t il);

#endif
