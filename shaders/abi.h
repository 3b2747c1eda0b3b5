/* The contract between host and shaders: push-constant structs, valid C and GLSL both.
 *
 * Conventions every shader follows (host/vk/record.c and pipeline.c rely on them):
 * - specialization constant 0 is the workgroup size (layout(local_size_x_id = 0));
 * - storage buffers live in set 0 at bindings 0..n-1; a binding the shader only reads is
 *   declared `readonly` (reflection turns that into the read set used for barriers);
 * - a 1-D grid larger than maxComputeWorkGroupCount[0] is folded into x and y: the flat
 *   workgroup index is gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x. */
#ifndef VKLLM_ABI_H
#define VKLLM_ABI_H

#ifdef GL_core_profile
#define ABI_U32 uint
#define ABI_F32 float
#else
#include <stdint.h>
#define ABI_U32 uint32_t
#define ABI_F32 float
#endif

/* fill.comp: out[offset + i] = value for i < n (elements, not bytes) */
struct fill_params {
	ABI_U32 n;
	ABI_U32 offset;
	ABI_F32 value;
};

/* copy.comp: out[dst_offset + i] = convert(in[src_offset + i]) for i < n */
struct copy_params {
	ABI_U32 n;
	ABI_U32 src_offset;
	ABI_U32 dst_offset;
};

/* matvec.comp: Y[y_offset + c*y_stride + r] (+)= sum_k W[r][k] * X[x_offset + c*x_stride + k].
 * w_offset is in bytes (a multiple of 2, or of 4 for f32); x/y offsets and strides in elements. */
struct matvec_params {
	ABI_U32 n_rows;
	ABI_U32 n_k;        /* a multiple of 32 (and of the type's block size) */
	ABI_U32 row_bytes;  /* bytes of one weight row */
	ABI_U32 w_offset;
	ABI_U32 x_offset;
	ABI_U32 x_stride;
	ABI_U32 y_offset;
	ABI_U32 y_stride;
	ABI_U32 accumulate; /* 1: add to Y (a residual add for free) */
};

#endif
