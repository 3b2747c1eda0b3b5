// SPDX-License-Identifier: MIT
// rope: rotary position embedding on [n_tokens][n_heads][head_dim] (tokens in_stride / out_stride
// apart), exactly ggml's rope_yarn: for pair i < n_rot/2 of token t,
//   theta_ext = pos[t] * theta_scale^i / ff[i]           (ff: rope_freqs, 1 when absent)
//   theta     = freq_scale * theta_ext                     (linear scaling)
//   YaRN (ext_factor != 0): ramp = (1 - clamp((i - corr_low) / max(0.001, corr_high - corr_low), 0, 1)) * ext_factor
//               theta = freq_scale * theta_ext * (1 - ramp) + theta_ext * ramp
//   (x0, x1) -> mscale * (x0 cos - x1 sin, x0 sin + x1 cos)
// Pairs are (2i, 2i+1) in normal mode and (i, i + n_rot/2) in NeoX mode; dims n_rot..head_dim-1
// pass through (copied when out of place). One invocation per pair: flat index over
// n_tokens * n_heads * head_dim/2 (pairs past n_rot/2 copy the tail).
// Positions come from a device buffer so a recording replays for new positions.
//
// Precision: theta = pos * g_i with g_i = theta_scale^i / ff[i] * mix_i in f32 (theta_scale^i by
// repeated squaring: a handful of roundings, against ggml's one per pair). The angle is reduced
// in turns, t = pos * (g_i / 2pi), before sin/cos: |theta| reaches 1e5 and more at long contexts,
// where native sin/cos are only specified inside [-pi, pi].
// Variants: rope_f32 (mode by push constant).
#version 450
#extension GL_GOOGLE_include_directive : require

#include "abi.h"
#include "common/index.glsl"
#include "common/rope.glsl"

layout(binding = 0) readonly buffer In { float X[]; };
layout(binding = 1) readonly buffer Pos { int POS[]; };
layout(binding = 2) readonly buffer FreqFactors { float FF[]; };
layout(binding = 3) buffer Out { float Y[]; };

layout(push_constant) uniform Params { rope_params p; };

void main()
{
	uint half_dim = p.head_dim >> 1;
	uint idx = flat_index();
	if (idx >= p.n_tokens * p.n_heads * half_dim) return;
	uint i = idx % half_dim, th = idx / half_dim;
	uint h = th % p.n_heads, t = th / p.n_heads;
	uint src = p.in_offset + t * p.in_stride + h * p.head_dim;
	uint dst = p.out_offset + t * p.out_stride + h * p.head_dim;
	uint half_rot = p.n_rot >> 1;

	if (i >= half_rot) { // the tail past n_rot: ggml copies it pairwise
		if (p.copy_tail != 0u) {
			uint j = p.n_rot + 2u * (i - half_rot);
			Y[dst + j] = X[src + j];
			Y[dst + j + 1u] = X[src + j + 1u];
		}
		return;
	}

	float ff = p.has_ff != 0u ? FF[p.ff_offset + i] : 1.0;
	vec2 cs = rope_cos_sin(i, POS[p.pos_offset + t], ff, p.theta_scale, p.freq_scale, p.ext_factor, p.corr_low,
	                       p.corr_high, p.mscale);
	float c = cs.x, s = cs.y;

	uint j0 = p.neox != 0u ? i : 2u * i;
	uint j1 = p.neox != 0u ? i + half_rot : 2u * i + 1u;
	float x0 = X[src + j0], x1 = X[src + j1];
	Y[dst + j0] = x0 * c - x1 * s;
	Y[dst + j1] = x0 * s + x1 * c;
}
