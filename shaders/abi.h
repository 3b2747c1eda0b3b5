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

#endif
