// SPDX-License-Identifier: MIT
// attention_combine: the second pass of split-K attention (flash-decoding). attention.comp with
// n_split > 1 leaves, for split s and row (t, h), PART[s][t][h] = { acc[dv], m, l }: the
// unnormalized P V of its KV slice, the slice's max score and its sum of e^(s - m). Then
//   M = max(max_s m_s, sink_h)     out[t][h] = sum_s e^(m_s-M) acc_s / (sum_s e^(m_s-M) l_s + e^(sink_h-M))
// (the sink terms only with sinks). A slice that saw no key has m = -1e30 and l = 0 and drops out.
// One invocation per output value; the few (m, l) pairs are re-read by each, from cache.
#version 450
#extension GL_GOOGLE_include_directive : require

#include "abi.h"
#include "common/index.glsl"

layout(binding = 0) readonly buffer Partb { float PART[]; };
layout(binding = 1) readonly buffer Sinkb { float SINKS[]; };
layout(binding = 2) writeonly buffer Ob { float O[]; };

layout(push_constant) uniform Params { attn_combine_params p; };

const float IS_MASKED = -1.0e29;

void main()
{
	uint i = flat_index();
	if (i >= p.n_rows * p.dv) return;
	uint row = i / p.dv, d = i % p.dv, t = row / p.n_head, h = row % p.n_head;
	uint stride = p.dv + 2u, split_stride = p.n_rows * stride, base = p.part_offset + row * stride;
	float mx = -1.0e30;
	for (uint s = 0; s < p.n_split; s++) mx = max(mx, PART[base + s * split_stride + p.dv]);
	float sink = 0.0;
	if (p.has_sinks != 0u) {
		sink = SINKS[p.sink_offset + h];
		mx = max(mx, sink);
	}
	float l = 0.0, acc = 0.0;
	for (uint s = 0; s < p.n_split; s++) {
		uint b = base + s * split_stride;
		float m = PART[b + p.dv];
		if (m <= IS_MASKED) continue;
		float w = exp(m - mx);
		l += w * PART[b + p.dv + 1u];
		acc += w * PART[b + d];
	}
	if (p.has_sinks != 0u) l += exp(sink - mx);
	O[p.o_offset + t * p.o_stride + h * p.dv + d] = l > 0.0 ? acc / l : 0.0;
}
