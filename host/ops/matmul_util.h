/* What op_matvec, op_gemm and op_matmul share: the shader variant of each weight type. */
#ifndef VKLLM_OPS_MATMUL_UTIL_H
#define VKLLM_OPS_MATMUL_UTIL_H

#include "ops.h"

/* The matvec (gemm false) or gemm variant for a ggml weight type; SH_COUNT when there is none. */
enum shader_id matmul_shader(uint32_t wtype, bool gemm);

/* The cooperative-matrix gemm variant for a weight type; SH_COUNT for F32 and BF16, which keep
 * f32 operands. The variant may be empty in a build without the coopmat compiler. */
enum shader_id matmul_coopmat_shader(uint32_t wtype);

#endif
