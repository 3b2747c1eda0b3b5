// SPDX-License-Identifier: MIT
// peak_copy: the device's copy bandwidth for `vkllm bench --kernels`: one 16-byte load and one
// 16-byte store per invocation, the widest plain access every device has (op_copy's one float
// per invocation undercounts GPUs whose memory system wants wide accesses). The bench takes the
// faster of the two. p.n is the number of vec4s; p.iterations and p.b are unused.
#version 450
#extension GL_GOOGLE_include_directive : require

#include "abi.h"
#include "common/index.glsl"

layout(binding = 0) readonly buffer In { vec4 in_data[]; };
layout(binding = 1) writeonly buffer Out { vec4 out_data[]; };
layout(push_constant) uniform Params { peak_params p; };

void main()
{
	uint i = flat_index();
	if (i < p.n) out_data[i] = in_data[i];
}
