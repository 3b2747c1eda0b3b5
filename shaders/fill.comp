// SPDX-License-Identifier: MIT
// fill: out[offset + i] = value, one invocation per element.
// Variants: fill_f32 (the only one so far; an f16 output would add OUT_F16 as copy.comp does).
#version 450
#extension GL_GOOGLE_include_directive : require

#include "abi.h"
#include "common/index.glsl"


layout(binding = 0) writeonly buffer Out { float out_data[]; };

layout(push_constant) uniform Params { fill_params p; };

void main()
{
	uint i = flat_index();
	if (i >= p.n) return;
	out_data[p.offset + i] = p.value;
}
