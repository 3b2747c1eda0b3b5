/* What op_matvec, op_gemm and op_matmul share: the shader variant of each weight type. */
#ifndef VKLLM_OPS_MATMUL_UTIL_H
#define VKLLM_OPS_MATMUL_UTIL_H

#include "ops.h"

/* The matvec (gemm false) or gemm variant for a ggml weight type; SH_COUNT when there is none. */
enum shader_id matmul_shader(uint32_t wtype, bool gemm);

/* The cooperative-matrix gemm variant for a weight type; SH_COUNT for F32 and BF16, which keep
 * f32 operands. The variant may be empty in a build without the coopmat compiler. */
enum shader_id matmul_coopmat_shader(uint32_t wtype);

/* matvec_vec.comp's variants for a weight type (Q4_K, Q8_0): the width of its weight words (every
 * row and the weights' start must be on one), the dense and the MoE variant; false for others. */
bool matvec_vec_layout(uint32_t wtype, uint32_t *word_bytes, enum shader_id *sh, enum shader_id *moe);

/* gemm.comp's plain tile for this device as its spec constants {wg, BM, BN, TM, TN} (the MoE
 * grouped GEMM uses the same tile). */
void gemm_plain_spec(const struct gpu *g, uint32_t spec[5]);
/* gemm_coopmat.comp's tile for this device as spec constants {wg, BM, BN, CM, CN, CK}, for the
 * dense or the MoE variant sh; false when the device, the build or VKLLM_COOPMAT=0 rules it out. */
bool gemm_coopmat_spec(const struct gpu *g, enum shader_id sh, uint32_t spec[6]);

/* matvec_cpu.comp (CPU devices) for a weight type: the values of one chunk, the width of its
 * weight loads, and the MoE variant; false when the type has no chunk layout. */
bool matvec_cpu_layout(uint32_t wtype, uint32_t *chunk, uint32_t *load_bytes, enum shader_id *moe);
/* whether the device runs matvec_cpu.comp: a CPU device with storage texel buffers (its weight
 * and x loads) and subgroup shuffles (its cross-lane sums), unless VKLLM_MATVEC_CPU=0 */
bool matvec_cpu_device(const struct gpu *g);
/* whether views (aligned for storage buffers) also start where the device can place a texel view
 * (matvec_cpu.comp binds weights, x and y as texel buffers) */
bool matvec_cpu_texel_aligned(const struct gpu *g, const struct gpu_view *views, uint32_t n);
/* lanes of matvec_cpu.comp sharing a row (the shader computes the same) */
uint32_t matvec_cpu_split(uint32_t chunks, uint32_t wg);
/* Rows per row group of matvec_cpu.comp (dense and expert): each chunk of x a lane loads serves
 * this many rows. Against 16, in one process alternating replays (lavapipe, 2026-11-23): q8_0
 * 4096x4096 6%, 151936x1024 4-9%, 1024x1024 9-12%, q4_K 4096x4096 10%, 768x2048 3% faster; 64
 * was slower on the q8_0 head and 1-6% faster elsewhere. A 1024-row matrix still has 16 workgroups. */
#define MATVEC_CPU_ROWS 32

/* The argument checks op_matvec and op_gemm share: a type with kernels, 1..max_cols columns,
 * K a positive multiple of 32 and of the block size, views large enough and aligned. Sets
 * *row_bytes. op names the caller in the one-line error. */
int matmul_check(const char *op, uint32_t wtype, struct gpu_view y, struct gpu_view w, struct gpu_view x,
                 uint32_t n_rows, uint32_t n_k, uint32_t n_cols, uint32_t max_cols, uint64_t *row_bytes);

#endif
