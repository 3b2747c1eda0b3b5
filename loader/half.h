/* f16 and bf16 <-> f32 on the CPU, bit-exact: round-to-nearest-even on the way down, as the
 * GPU's conversions and llama.cpp's ggml_fp32_to_fp16 do. Used by tests, the CPU reference and
 * (later) dequantization and synthetic models. */
#ifndef VKLLM_HALF_H
#define VKLLM_HALF_H

#include <stdint.h>

float half_to_f32(uint16_t h);
uint16_t f32_to_half(float f);
float bf16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);

#endif
