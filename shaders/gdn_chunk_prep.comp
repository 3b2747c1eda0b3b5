// SPDX-License-Identifier: MIT
// gdn_chunk_prep: the parallel half of the chunked gated delta rule (deltanet-notes.md §1.6, fla's
// chunk_gated_delta_rule with C = 64), one workgroup of 64 invocations per (chunk, value head),
// invocation i = token i of the chunk. Tokens past n_tokens are zero padding (beta = 0, g = 0).
//   qf_i = scale / |q_i|, kf_i = 1 / |k_i|   (|x| = sqrt(sum x^2 + eps); 1 and scale without l2norm)
//   G_i  = g_0 + ... + g_i                    (cumulative log-decay within the chunk)
//   L[i][j] = beta_i kf_i kf_j (k_i . k_j) e^{G_i - G_j}   j < i     (strictly lower)
//   P[i][j] = qf_i kf_j (q_i . k_j) e^{G_i - G_j}          j <= i    (the in-chunk attention)
//   (I + L) U = beta v               (forward substitution, the UT transform: U = A beta v)
//   (I + L) W = beta e^{G} kf k      (W = A beta e^G k_hat)
// Per channel (p.per_channel, KDA: g and G are [64][Dk], e^{G} scales channel c of the key):
//   L[i][j] = beta_i kf_i kf_j sum_c k_i[c] k_j[c] e^{G_i[c] - G_j[c]}, P likewise with q_i,
//   (I + L) W = beta kf (e^{G_r} o k_r), and for the scan QD_r = qf_r (e^{G_r} o q_r),
//   KD_r = kf_r (e^{G_last - G_r} o k_r). The exponents are formed pairwise, G_i[c] - G_j[c] <= 0:
//   e^{G_i} e^{-G_j} would overflow f32 once a chunk's decay passes e^-88.
// Scratch per (chunk, head), p.scratch_stride floats: W [64][Dk] | U [64][Dv] | P [64][64] |
// coef [64][4] = (G, qf, kf, 0) | per channel only: GC [64][Dk] | QD [64][Dk] | KD [64][Dk].
// gdn_chunk_scan.comp consumes it chunk by chunk. Every exponent is <= 0 when g <= 0.
#version 450
#extension GL_GOOGLE_include_directive : require

#include "abi.h"
#include "common/index.glsl"

layout(binding = 0) readonly buffer InQ { float Q[]; };
layout(binding = 1) readonly buffer InK { float KK[]; };
layout(binding = 2) readonly buffer InV { float V[]; };
layout(binding = 3) readonly buffer InG { float G[]; };
layout(binding = 4) readonly buffer InB { float BETA[]; };
// coherent: per channel, the workgroup reads back the cumulative gates its invocations wrote
layout(binding = 5) coherent buffer Scratch { float SCR[]; };

layout(push_constant) uniform Params { gdn_params p; };

#include "common/gdn.glsl"

const uint CH = 64;
shared float Gs[CH], Bs[CH], QF[CH], KF[CH];
shared float L[CH * CH];

// Per channel: GC = the cumulative gates, then QD and KD (one channel per invocation, so the
// invocation reads back only what it wrote itself until the barrier after this).
void per_channel_gates(uint lc, uint h, uint m, uint i, uint gc_off, uint qd_off, uint kd_off)
{
	uint Dk = p.Dk;
	for (uint c = i; c < Dk; c += CH) {
		float acc = 0.0;
		for (uint r = 0; r < CH; r++) {
			uint t = lc * CH + r;
			if (t < p.n_tokens) acc += G[p.g_offset + (t * p.Hv + h) * Dk + c];
			SCR[gc_off + r * Dk + c] = acc;
		}
		for (uint r = 0; r < CH; r++) {
			uint t = lc * CH + r;
			float gr = SCR[gc_off + r * Dk + c], qd = 0.0, kd = 0.0;
			if (t < p.n_tokens) {
				qd = QF[r] * exp(gr) * Q[p.q_offset + t * p.q_stride + m * Dk + c];
				kd = KF[r] * exp(acc - gr) * KK[p.k_offset + t * p.k_stride + m * Dk + c];
			}
			SCR[qd_off + r * Dk + c] = qd;
			SCR[kd_off + r * Dk + c] = kd;
		}
	}
}

void main()
{
	uint group = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
	if (group >= p.n_chunks * p.Hv) return; // uniform
	uint lc = group / p.Hv, h = group % p.Hv, i = gl_LocalInvocationID.x;
	uint m = gdn_key_head(h), Dk = p.Dk, Dv = p.Dv;
	uint t = lc * CH + i;
	bool valid = t < p.n_tokens, pc = p.per_channel != 0u;
	uint qrow = p.q_offset + t * p.q_stride + m * Dk, krow = p.k_offset + t * p.k_stride + m * Dk;

	uint base = p.scratch_offset + (lc * p.Hv + h) * p.scratch_stride;
	uint w_off = base, u_off = base + CH * Dk, p_off = u_off + CH * Dv, c_off = p_off + CH * CH;
	uint gc_off = c_off + CH * 4, qd_off = gc_off + CH * Dk, kd_off = qd_off + CH * Dk;

	float sq = 0.0, sk = 0.0;
	if (valid)
		for (uint c = 0; c < Dk; c++) {
			float qv = Q[qrow + c], kv = KK[krow + c];
			sq += qv * qv;
			sk += kv * kv;
		}
	QF[i] = p.l2norm != 0u ? p.scale / sqrt(sq + p.eps) : p.scale;
	KF[i] = p.l2norm != 0u ? 1.0 / sqrt(sk + p.eps) : 1.0;
	Gs[i] = valid && !pc ? G[p.g_offset + t * p.Hv + h] : 0.0;
	Bs[i] = valid ? BETA[p.beta_offset + t * p.Hv + h] : 0.0;
	barrier();
	if (pc) {
		per_channel_gates(lc, h, m, i, gc_off, qd_off, kd_off);
		groupMemoryBarrier(); // workgroup scope: Device scope needs vulkanMemoryModelDeviceScope
	} else if (i == 0) {
		float acc = 0.0;
		for (uint r = 0; r < CH; r++) {
			acc += Gs[r];
			Gs[r] = acc;
		}
	}
	barrier();

	SCR[c_off + i * 4 + 0] = Gs[i];
	SCR[c_off + i * 4 + 1] = QF[i];
	SCR[c_off + i * 4 + 2] = KF[i];
	SCR[c_off + i * 4 + 3] = 0.0;

	// row i of L and P
	for (uint j = 0; j < CH; j++) {
		float lv = 0.0, pv = 0.0;
		if (valid && j <= i) {
			uint jrow = p.k_offset + (lc * CH + j) * p.k_stride + m * Dk;
			float kk = 0.0, qk = 0.0;
			uint c = 0;
			if (pc) {
				// pairwise decays per channel: e^{G_i[c] - G_j[c]}
				uint gi = gc_off + i * Dk, gj = gc_off + j * Dk;
				for (; c + 4 <= Dk; c += 4) {
					vec4 e = exp(vec4(SCR[gi + c], SCR[gi + c + 1], SCR[gi + c + 2], SCR[gi + c + 3]) -
					             vec4(SCR[gj + c], SCR[gj + c + 1], SCR[gj + c + 2], SCR[gj + c + 3]));
					vec4 kj = e * vec4(KK[jrow + c], KK[jrow + c + 1], KK[jrow + c + 2], KK[jrow + c + 3]);
					kk += dot(vec4(KK[krow + c], KK[krow + c + 1], KK[krow + c + 2], KK[krow + c + 3]), kj);
					qk += dot(vec4(Q[qrow + c], Q[qrow + c + 1], Q[qrow + c + 2], Q[qrow + c + 3]), kj);
				}
				for (; c < Dk; c++) {
					float kj = exp(SCR[gi + c] - SCR[gj + c]) * KK[jrow + c];
					kk += KK[krow + c] * kj;
					qk += Q[qrow + c] * kj;
				}
				pv = QF[i] * KF[j] * qk;
				if (j < i) lv = Bs[i] * KF[i] * KF[j] * kk;
			} else {
				for (; c + 4 <= Dk; c += 4) {
					vec4 kj = vec4(KK[jrow + c], KK[jrow + c + 1], KK[jrow + c + 2], KK[jrow + c + 3]);
					kk += dot(vec4(KK[krow + c], KK[krow + c + 1], KK[krow + c + 2], KK[krow + c + 3]), kj);
					qk += dot(vec4(Q[qrow + c], Q[qrow + c + 1], Q[qrow + c + 2], Q[qrow + c + 3]), kj);
				}
				for (; c < Dk; c++) {
					kk += KK[krow + c] * KK[jrow + c];
					qk += Q[qrow + c] * KK[jrow + c];
				}
				float e = exp(Gs[i] - Gs[j]);
				pv = QF[i] * KF[j] * qk * e;
				if (j < i) lv = Bs[i] * KF[i] * KF[j] * kk * e;
			}
		}
		L[i * CH + j] = lv;
		SCR[p_off + i * CH + j] = pv;
	}
	barrier();

	// forward substitution, one column of [U | W] per invocation at a time
	for (uint c = i; c < Dv + Dk; c += CH) {
		float x[CH];
		for (uint r = 0; r < CH; r++) {
			uint tr = lc * CH + r;
			float acc = 0.0;
			if (tr < p.n_tokens) {
				if (c < Dv) {
					acc = Bs[r] * V[p.v_offset + tr * p.v_stride + h * Dv + c];
				} else {
					float gr = pc ? SCR[gc_off + r * Dk + (c - Dv)] : Gs[r];
					acc = Bs[r] * exp(gr) * KF[r] * KK[p.k_offset + tr * p.k_stride + m * Dk + (c - Dv)];
				}
			}
			for (uint j = 0; j < r; j++) acc -= L[r * CH + j] * x[j];
			x[r] = acc;
			if (c < Dv)
				SCR[u_off + r * Dv + c] = acc;
			else
				SCR[w_off + r * Dk + (c - Dv)] = acc;
		}
	}
}
