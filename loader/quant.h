/* ggml tensor types: ids, block layouts, CPU dequantization and quantization.
 *
 * Ids, block sizes and byte layouts are llama.cpp's (ggml.h, ggml-common.h) so that a GGUF file
 * is read exactly as llama.cpp reads it. Quantizers reproduce llama.cpp's reference quantizers
 * (quantize_row_*_ref) byte for byte: a model vkllm synthesizes is the same model llama.cpp would
 * have quantized from the same f32 weights. */
#ifndef VKLLM_QUANT_H
#define VKLLM_QUANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum quant_type_id {
	QT_F32 = 0, QT_F16 = 1, QT_Q4_0 = 2, QT_Q4_1 = 3,
	/* 4, 5: Q4_2, Q4_3, removed */
	QT_Q5_0 = 6, QT_Q5_1 = 7, QT_Q8_0 = 8, QT_Q8_1 = 9,
	QT_Q2_K = 10, QT_Q3_K = 11, QT_Q4_K = 12, QT_Q5_K = 13, QT_Q6_K = 14, QT_Q8_K = 15,
	QT_IQ2_XXS = 16, QT_IQ2_XS = 17, QT_IQ3_XXS = 18, QT_IQ1_S = 19, QT_IQ4_NL = 20,
	QT_IQ3_S = 21, QT_IQ2_S = 22, QT_IQ4_XS = 23,
	QT_I8 = 24, QT_I16 = 25, QT_I32 = 26, QT_I64 = 27, QT_F64 = 28, QT_IQ1_M = 29, QT_BF16 = 30,
	/* 31..33: Q4_0_4_4, Q4_0_4_8, Q4_0_8_8, removed */
	QT_TQ1_0 = 34, QT_TQ2_0 = 35,
	/* 36..38: IQ4_NL_4_4, IQ4_NL_4_8, IQ4_NL_8_8, removed */
	QT_MXFP4 = 39,
	QT_COUNT = 40,
};

struct quant_type {
	const char *name;    /* as llama.cpp prints it: "q4_K", "f16", ... */
	uint32_t block_size; /* elements per block */
	uint32_t type_size;  /* bytes per block */
	bool can_dequantize; /* vkllm has a CPU dequantizer for it */
	bool can_quantize;   /* vkllm has a CPU quantizer for it */
};

/* NULL for ids that are unknown or removed: such a tensor is refused. */
const struct quant_type *quant_type_info(uint32_t id);
/* True for the ids ggml once used and removed (4, 5, 31..33, 36..38): for a clearer message. */
bool quant_type_removed(uint32_t id);
/* By name, case-insensitive ("q4_k", "Q8_0", "bf16"); -1 when unknown. */
int quant_type_by_name(const char *name);

/* Bytes of a row of n elements; 0 when n is not a whole number of blocks. */
uint64_t quant_row_size(uint32_t type, uint64_t n);

/* dst[0..n) = the n values stored in src. n must be a multiple of the block size.
 * Returns VKLLM_OK; VKLLM_E_ARG when n is not a whole number of blocks; VKLLM_E_UNSUPPORTED for
 * a type with no dequantizer (each with a message naming the type and n). */
int quant_dequantize(uint32_t type, const void *src, float *dst, uint64_t n);
/* Writes quant_row_size(type, n) bytes to dst, as llama.cpp's reference quantizer would
 * (tests/loader/test_quant_witness.c checks it byte for byte against llama.cpp's own code).
 * n must be a multiple of the block size (and of 256 for the K-quants); errors as above. */
int quant_quantize(uint32_t type, const float *src, void *dst, uint64_t n);

#endif
