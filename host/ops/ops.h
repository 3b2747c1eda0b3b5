/* One C function per kernel: it picks the shader variant and its tuning from the device profile,
 * binds the views and records the dispatch. Outputs first, then inputs, then sizes and options.
 * Offsets and counts are in elements of the view's type, not bytes. */
#ifndef VKLLM_OPS_H
#define VKLLM_OPS_H

#include "vk/gpu.h"

/* out[i] = value for i < n (f32). */
int op_fill(struct gpu_rec *rec, struct gpu_view out, uint32_t n, float value);

enum copy_out { COPY_OUT_F32, COPY_OUT_F16 };
/* out[i] = convert(in[i]) for i < n; in is f32, out f32 or f16 (round to nearest even). */
int op_copy(struct gpu_rec *rec, struct gpu_view out, struct gpu_view in, uint32_t n, enum copy_out out_type);

/* Decode-time matmul: y[c][r] (+)= sum_k W[r][k] * x[c][k] for r < n_rows, c < n_cols.
 * W is n_rows rows of n_k values in ggml type wtype (loader/quant.h), decoded in registers; x is
 * [n_cols][n_k] f32 and y [n_cols][n_rows] f32. accumulate adds to y (a fused residual add). */
#define MATVEC_MAX_COLS 8
int op_matvec(struct gpu_rec *rec, struct gpu_view y, struct gpu_view w, uint32_t wtype, struct gpu_view x,
              uint32_t n_rows, uint32_t n_k, uint32_t n_cols, bool accumulate);

#endif
