// SPDX-License-Identifier: MIT
// peak_fma: the device's f32 FMA throughput, as vkpeak measures it. Each invocation runs
// p.iterations rounds of 8 independent vec4 FMA chains (enough independent work to hide FMA
// latency on every architecture) entirely in registers, then writes one value so the compiler
// cannot drop the work. FLOPs = invocations * iterations * 8 chains * 4 lanes * 2.
#version 450
#extension GL_GOOGLE_include_directive : require

#include "abi.h"
#include "common/index.glsl"

layout(binding = 0) writeonly buffer Out { float out_data[]; };
layout(push_constant) uniform Params { peak_params p; };

void main()
{
	uint i = flat_index();
	vec4 a = vec4(float(i) * 1e-9, 0.5, 0.25, 0.125), b = vec4(p.b);
	vec4 c0 = a, c1 = a + 1.0, c2 = a + 2.0, c3 = a + 3.0, c4 = a + 4.0, c5 = a + 5.0, c6 = a + 6.0, c7 = a + 7.0;
	for (uint k = 0; k < p.iterations; k++) {
		c0 = fma(c0, b, a); c1 = fma(c1, b, a); c2 = fma(c2, b, a); c3 = fma(c3, b, a);
		c4 = fma(c4, b, a); c5 = fma(c5, b, a); c6 = fma(c6, b, a); c7 = fma(c7, b, a);
	}
	vec4 s = (c0 + c1) + (c2 + c3) + (c4 + c5) + (c6 + c7);
	if (i < p.n) out_data[i] = s.x + s.y + s.z + s.w;
}
