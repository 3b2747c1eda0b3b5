// SPDX-License-Identifier: MIT
// gdn_conv: the short causal conv of gated DeltaNet with SiLU (ggml_ssm_conv + ggml_silu), over a
// chunk of T tokens of C channels, carrying its state across calls (tests/ref/gdn_ref.h):
//   in(u) = X[u] for token u >= 0 of this chunk, STATE[u + K - 1] for u < 0 (the previous inputs)
//   Y[t][c] = silu(sum_j W[c*K + j] * in(t - (K-1) + j)[c])
// One invocation per (channel, block of TOKENS_PER_INV tokens): a short loop per invocation, so
// long chunks never approach llvmpipe's 65535-iteration guard.
// -D STATE_UPDATE: one invocation per channel shifts the state: row r <- in(T - (K-1) + r), rows in
// ascending order so an in-place read of row T + r always precedes its overwrite.
#version 450
#extension GL_GOOGLE_include_directive : require

#include "abi.h"
#include "common/index.glsl"

layout(binding = 0) readonly buffer In { float X[]; };
#ifdef STATE_UPDATE
layout(binding = 1) buffer State { float STATE[]; };
#else
layout(binding = 1) readonly buffer Weight { float W[]; };
layout(binding = 2) readonly buffer State { float STATE[]; };
layout(binding = 3) writeonly buffer Out { float Y[]; };
#endif

layout(push_constant) uniform Params { gdn_conv_params p; };

const uint TOKENS_PER_INV = 16;

float conv_in(int u, uint c)
{
	if (u >= 0) return X[p.x_offset + uint(u) * p.x_stride + c];
	return STATE[p.state_offset + uint(u + int(p.K) - 1) * p.C + c];
}

void main()
{
	uint idx = flat_index();
#ifdef STATE_UPDATE
	if (idx >= p.C) return;
	uint c = idx;
	for (uint r = 0; r + 1 < p.K; r++) {
		float v = conv_in(int(p.n_tokens) - int(p.K - 1) + int(r), c);
		STATE[p.state_offset + r * p.C + c] = v;
	}
#else
	uint n_blocks = (p.n_tokens + TOKENS_PER_INV - 1) / TOKENS_PER_INV;
	if (idx >= p.C * n_blocks) return;
	uint c = idx % p.C, t0 = (idx / p.C) * TOKENS_PER_INV;
	uint t1 = min(t0 + TOKENS_PER_INV, p.n_tokens);
	for (uint t = t0; t < t1; t++) {
		float acc = 0.0;
		for (uint j = 0; j < p.K; j++)
			acc += W[p.w_offset + c * p.K + j] * conv_in(int(t) - int(p.K - 1) + int(j), c);
		Y[p.y_offset + t * p.y_stride + c] = acc / (1.0 + exp(-acc));
	}
#endif
}
