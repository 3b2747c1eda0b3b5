// SPDX-License-Identifier: MIT
// kv_store: a chunk's keys (or values) into the KV cache at the chunk's position, read on the
// device: CACHE[(p0 + t) * cache_stride + i] = convert(IN[t * in_stride + i]), p0 = STEP[step_offset + 1].
// One recording serves every position, which is why this is not a copy with a fixed offset.
// One invocation per element; rows at n_ctx or beyond are dropped (the host never asks for them,
// the check keeps a bad step value from writing past the cache).
// Variants: kv_store_f16 (-D OUT_F16, round to nearest even as copy_f32_f16), kv_store_f32.
#version 450
#extension GL_GOOGLE_include_directive : require
#ifdef OUT_F16
#extension GL_EXT_shader_16bit_storage : require
#define OUT_T float16_t
#else
#define OUT_T float
#endif

#include "abi.h"
#include "common/index.glsl"

layout(binding = 0) readonly buffer Step { uint STEP[]; };
layout(binding = 1) readonly buffer In { float IN[]; };
layout(binding = 2) writeonly buffer Cache { OUT_T CACHE[]; };

layout(push_constant) uniform Params { kv_store_params p; };

void main()
{
	uint e = flat_index();
	if (e >= p.n_tokens * p.width) return;
	uint t = e / p.width, i = e - t * p.width;
	uint pos = STEP[p.step_offset + 1u] + t;
	if (pos >= p.n_ctx) return;
	CACHE[p.cache_offset + pos * p.cache_stride + i] = OUT_T(IN[p.in_offset + t * p.in_stride + i]);
}
