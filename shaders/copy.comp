// SPDX-License-Identifier: MIT
// copy: out[dst_offset + i] = convert(in[src_offset + i]), one invocation per element.
// Variants: copy_f32 (f32 -> f32), copy_f32_f16 (-D OUT_F16: f32 -> f16, the KV-cache store;
// the conversion rounds as the device's OpFConvert does, round-to-nearest-even on every driver
// we have seen, which the test checks).
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


layout(binding = 0) readonly buffer In { float in_data[]; };
layout(binding = 1) writeonly buffer Out { OUT_T out_data[]; };

layout(push_constant) uniform Params { copy_params p; };

void main()
{
	uint i = flat_index();
	if (i >= p.n) return;
	out_data[p.dst_offset + i] = OUT_T(in_data[p.src_offset + i]);
}
