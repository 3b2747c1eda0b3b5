/* What op_matvec, op_gemm and op_matmul share: the shader variant of each weight type. */
#ifndef VKLLM_OPS_MATMUL_UTIL_H
#define VKLLM_OPS_MATMUL_UTIL_H

#include "ops.h"

/* The matvec (gemm false) or gemm variant for a ggml weight type; SH_COUNT when there is none. */
enum shader_id matmul_shader(uint32_t wtype, bool gemm);

#endif
