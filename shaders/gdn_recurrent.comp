// SPDX-License-Identifier: MIT
// gdn_recurrent: the gated delta rule token by token (tests/ref/gdn_ref.h gdn_step_ref, the order of
// ggml-cpu's gated_delta_net), for decode (T = 1) and as the reference form for prefill:
//   S *= exp(g)  (per channel: row i *= exp(g[i]));  d = beta (v - S^T k);  S += k d^T;  o = scale S^T q
// Workgroup = (value head h, slice of WORKGROUP_SIZE value columns); invocation = one column j,
// which keeps S[:, j] (Dk floats) in registers for all the tokens of the dispatch: the state is
// read and written once per dispatch. q, k (and exp(g) per channel) of the token go through shared
// memory; the optional L2 norm of q and k is computed by the workgroup (subgroupAdd + shared).
// Per token an invocation runs about 2 Dk + 4 Dk / WORKGROUP_SIZE loop iterations: the host splits
// long sequences into several dispatches on CPU devices (llvmpipe ends an invocation's loops after
// 65535 iterations in all).
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require

#include "abi.h"
#include "common/index.glsl"

layout(binding = 0) readonly buffer InQ { float Q[]; };
layout(binding = 1) readonly buffer InK { float KK[]; };
layout(binding = 2) readonly buffer InV { float V[]; };
layout(binding = 3) readonly buffer InG { float G[]; };
layout(binding = 4) readonly buffer InB { float BETA[]; };
layout(binding = 5) buffer State { float STATE[]; };
layout(binding = 6) writeonly buffer Out { float O[]; };

layout(push_constant) uniform Params { gdn_params p; };

#include "common/gdn.glsl"

const uint DK_MAX = 256;
const uint MAX_SUBGROUPS = 64;
shared float qs[DK_MAX], ks[DK_MAX], es[DK_MAX];
shared float part_q[MAX_SUBGROUPS], part_k[MAX_SUBGROUPS];

void main()
{
	uint group = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
	if (group >= p.Hv * p.n_slices) return; // uniform
	uint h = group / p.n_slices, tid = gl_LocalInvocationID.x;
	uint j = (group % p.n_slices) * WORKGROUP_SIZE + tid;
	bool col = j < p.Dv;
	uint m = gdn_key_head(h);
	uint Dk = p.Dk;

	float s[DK_MAX];
	uint sbase = p.state_offset + h * Dk * p.Dv + j;
	if (col)
		for (uint i = 0; i < Dk; i++) s[i] = STATE[sbase + i * p.Dv];

	for (uint t = 0; t < p.n_tokens; t++) {
		float sq = 0.0, sk = 0.0;
		for (uint i = tid; i < Dk; i += WORKGROUP_SIZE) {
			float qv = Q[p.q_offset + t * p.q_stride + m * Dk + i];
			float kv = KK[p.k_offset + t * p.k_stride + m * Dk + i];
			qs[i] = qv;
			ks[i] = kv;
			sq += qv * qv;
			sk += kv * kv;
			if (p.per_channel != 0u) es[i] = exp(G[p.g_offset + (t * p.Hv + h) * Dk + i]);
		}
		sq = subgroupAdd(sq);
		sk = subgroupAdd(sk);
		if (subgroupElect()) {
			part_q[gl_SubgroupID] = sq;
			part_k[gl_SubgroupID] = sk;
		}
		barrier();
		float qf = p.scale, kf = 1.0;
		if (p.l2norm != 0u) {
			float tq = 0.0, tk = 0.0;
			for (uint g = 0; g < gl_NumSubgroups; g++) tq += part_q[g], tk += part_k[g];
			qf *= 1.0 / sqrt(tq + p.eps);
			kf = 1.0 / sqrt(tk + p.eps);
		}
		if (col) {
			float beta = BETA[p.beta_offset + t * p.Hv + h];
			float kv = 0.0;
			if (p.per_channel != 0u) {
				for (uint i = 0; i < Dk; i++) {
					s[i] *= es[i];
					kv += s[i] * ks[i];
				}
			} else {
				float a = exp(G[p.g_offset + t * p.Hv + h]);
				for (uint i = 0; i < Dk; i++) {
					s[i] *= a;
					kv += s[i] * ks[i];
				}
			}
			float d = beta * (V[p.v_offset + t * p.v_stride + h * p.Dv + j] - kv * kf);
			float dk = d * kf, o = 0.0;
			for (uint i = 0; i < Dk; i++) {
				s[i] += ks[i] * dk;
				o += s[i] * qs[i];
			}
			O[p.o_offset + t * p.o_stride + h * p.Dv + j] = o * qf;
		}
		barrier(); // qs, ks, es and the partials are rewritten by the next token
	}
	if (col)
		for (uint i = 0; i < Dk; i++) STATE[sbase + i * p.Dv] = s[i];
}
