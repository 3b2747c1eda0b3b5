/* CPU reference for the matrix product every linear layer is (ggml_mul_mat with the weight as
 * src0): y[c][r] = y0[c][r] + sum_k W[r][k] * x[c][k], W in its ggml type dequantized by
 * loader/quant.c, sums in float64. mag[c][r] = y0 + sum_k |W x| bounds the f32 rounding error of
 * any summation order, so tests can state their tolerance relative to it. */
#ifndef VKLLM_MATMUL_REF_H
#define VKLLM_MATMUL_REF_H

#include <stdint.h>

/* wq: rows of quant_row_size(wtype, k) bytes; x [cols][k]; y0 [cols][rows] or NULL for zero;
 * y and mag [cols][rows]. Returns 0, or non-zero for a type loader/quant.c cannot decode. */
int matmul_ref(double *y, double *mag, uint32_t wtype, const void *wq, const float *x, const float *y0, uint32_t rows,
               uint32_t k, uint32_t cols);

#endif
