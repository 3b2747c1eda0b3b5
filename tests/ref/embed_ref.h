/* CPU reference for the embedding lookup (ggml_get_rows, then the scale): rows dequantized by
 * loader/quant.c, the CPU twin of shaders/common/blocks.glsl, which the quant tests pin to llama.cpp. */
#ifndef VKLLM_EMBED_REF_H
#define VKLLM_EMBED_REF_H

#include <stdint.h>

/* out[t] = scale * dequant(table row ids[t] - first_row) for ids in [first_row, first_row + n_rows);
 * other rows of out are left as they are. Returns 0, or a status from quant_dequantize. */
int embed_ref(float *out, const void *table, uint32_t wtype, const uint32_t *ids, uint32_t n_tokens, uint32_t n_embd,
              uint32_t first_row, uint32_t n_rows, float scale);

#endif
