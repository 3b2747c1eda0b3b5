// SPDX-License-Identifier: MIT
// gdn_gates: the gated DeltaNet's per-token, per-value-head decay and write strength from the b and a
// projections (abi.h, gdn_gates_params; qwen3next.cpp / qwen35.cpp):
//   G[t][h]    = softplus(a + dt_bias[h]) * ssm_a[h]     (ssm_a holds -exp(A_log): G is a log-decay <= 0)
//   BETA[t][h] = sigmoid(b)
// softplus as ggml: x > 20 ? x : log(1 + exp(x)). Where b and a sit (rows `stride` apart):
//   grouped (qwen3next's ssm_ba, B and A the same buffer): per key head k, [b of its r value heads |
//   a of them], r = Hv / Hk;  split (qwen35's ssm_beta and ssm_alpha): B[t][h] and A[t][h]
//   (A's rows a_stride apart).
// width > 1 (Kimi Linear's KDA, kimi-linear.cpp): a per-channel gate, one invocation per channel:
//   G[t][h][c] = softplus(A[t][h*width + c] + dt_bias[h*width + c]) * ssm_a[h]; channel 0 writes beta.
#version 450
#extension GL_GOOGLE_include_directive : require

#include "abi.h"
#include "common/index.glsl"

layout(binding = 0) readonly buffer Bb { float B[]; };
layout(binding = 1) readonly buffer Ab { float A[]; };
layout(binding = 2) readonly buffer DTb { float DT[]; };
layout(binding = 3) readonly buffer SAb { float SA[]; };
layout(binding = 4) writeonly buffer Gb { float G[]; };
layout(binding = 5) writeonly buffer Betab { float BETA[]; };

layout(push_constant) uniform Params { gdn_gates_params p; };

void main()
{
	uint i = flat_index(), row = p.n_head_v * p.width;
	if (i >= p.n_tokens * row) return;
	uint t = i / row, hc = i % row, h = hc / p.width, r = p.n_head_v / p.n_head_k;
	uint bi = p.grouped != 0u ? (h / r) * 2u * r + h % r : h;
	uint ai = p.grouped != 0u ? bi + r : hc;
	float x = A[p.a_offset + t * p.a_stride + ai] + DT[p.dt_offset + hc];
	float sp = x > 20.0 ? x : log(1.0 + exp(x));
	G[p.g_offset + i] = sp * SA[p.sa_offset + h];
	if (hc % p.width == 0u)
		BETA[p.beta_offset + t * p.n_head_v + h] = 1.0 / (1.0 + exp(-B[p.b_offset + t * p.stride + bi]));
}
