// SPDX-License-Identifier: MIT
// gdn_chunk_scan: the sequential half of the chunked gated delta rule: chunk after chunk, with the
// state tile S[:, j0 .. j0+BV) of one value head in shared memory (gdn_chunk_prep.comp's scratch):
//   Vn = U - W S                                              [64][BV]
//   O  = (qf e^{G}) . (q S) + P Vn                            [64][BV]  (S = the state before the chunk)
//   S  = e^{G_last} S + (kf e^{G_last - G} k)^T Vn            [Dk][BV]
// Per channel (KDA) the decayed rows come from the scratch, formed by the prep: O = QD S + P Vn,
// S = diag(e^{G_last}) S + KD^T Vn, with e^{G_last[c]} from GC's last row; the loops are the same.
// Workgroup = (value head, slice of BV = 16 value columns), 64 invocations. The state is read at the
// start of the dispatch and written at its end; the host runs at most as many chunks per dispatch as
// keep an invocation well below llvmpipe's 65535 loop iterations (about 2000 a chunk at Dk = 128).
#version 450
#extension GL_GOOGLE_include_directive : require

#include "abi.h"
#include "common/index.glsl"

layout(binding = 0) readonly buffer InQ { float Q[]; };
layout(binding = 1) readonly buffer InK { float KK[]; };
layout(binding = 2) readonly buffer Scratch { float SCR[]; };
layout(binding = 3) buffer State { float STATE[]; };
layout(binding = 4) writeonly buffer Out { float O[]; };

layout(push_constant) uniform Params { gdn_params p; };

#include "common/gdn.glsl"

const uint CH = 64, BV = 16, DK_MAX = 256;
shared float S[DK_MAX * BV];
shared float Vn[CH * BV];
shared float QE[CH], KE[CH];

void main()
{
	uint group = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
	if (group >= p.Hv * p.n_slices) return; // uniform
	uint h = group / p.n_slices, j0 = (group % p.n_slices) * BV, tid = gl_LocalInvocationID.x;
	uint m = gdn_key_head(h), Dk = p.Dk, Dv = p.Dv;
	uint sbase = p.state_offset + h * Dk * Dv;
	bool pc = p.per_channel != 0u;

	for (uint e = tid; e < Dk * BV; e += WORKGROUP_SIZE) {
		uint j = j0 + e % BV;
		S[e] = j < Dv ? STATE[sbase + (e / BV) * Dv + j] : 0.0;
	}

	for (uint lc = p.chunk0; lc < p.chunk0 + p.n_chunks; lc++) {
		uint base = p.scratch_offset + (lc * p.Hv + h) * p.scratch_stride;
		uint w_off = base, u_off = base + CH * Dk, p_off = u_off + CH * Dv, c_off = p_off + CH * CH;
		uint gc_off = c_off + CH * 4, qd_off = gc_off + CH * Dk, kd_off = qd_off + CH * Dk;
		uint n_valid = min(CH, p.n_tokens - lc * CH);
		float g_last = SCR[c_off + (CH - 1) * 4];
		if (!pc) {
			for (uint r = tid; r < CH; r += WORKGROUP_SIZE) {
				float gr = SCR[c_off + r * 4];
				QE[r] = SCR[c_off + r * 4 + 1] * exp(gr);
				KE[r] = SCR[c_off + r * 4 + 2] * exp(g_last - gr);
			}
			barrier();
		}

		// Vn = U - W S
		for (uint e = tid; e < CH * BV; e += WORKGROUP_SIZE) {
			uint r = e / BV, jj = e % BV, j = j0 + jj;
			float acc = 0.0;
			if (j < Dv) {
				uint wr = w_off + r * Dk;
				uint c = 0;
				for (; c + 4 <= Dk; c += 4)
					acc += dot(vec4(SCR[wr + c], SCR[wr + c + 1], SCR[wr + c + 2], SCR[wr + c + 3]),
					           vec4(S[c * BV + jj], S[(c + 1) * BV + jj], S[(c + 2) * BV + jj], S[(c + 3) * BV + jj]));
				for (; c < Dk; c++) acc += SCR[wr + c] * S[c * BV + jj];
				acc = SCR[u_off + r * Dv + j] - acc;
			}
			Vn[e] = acc;
		}
		barrier();

		// O = QE (q S) + P Vn
		for (uint e = tid; e < CH * BV; e += WORKGROUP_SIZE) {
			uint r = e / BV, jj = e % BV, j = j0 + jj;
			if (r >= n_valid || j >= Dv) continue;
			uint t = lc * CH + r;
			float a1 = 0.0, a2 = 0.0;
			uint c = 0;
			if (pc) { // QD: qf e^{G_r} o q_r
				uint qr = qd_off + r * Dk;
				for (; c + 4 <= Dk; c += 4)
					a1 += dot(vec4(SCR[qr + c], SCR[qr + c + 1], SCR[qr + c + 2], SCR[qr + c + 3]),
					          vec4(S[c * BV + jj], S[(c + 1) * BV + jj], S[(c + 2) * BV + jj], S[(c + 3) * BV + jj]));
				for (; c < Dk; c++) a1 += SCR[qr + c] * S[c * BV + jj];
			} else {
				uint qr = p.q_offset + t * p.q_stride + m * Dk;
				for (; c + 4 <= Dk; c += 4)
					a1 += dot(vec4(Q[qr + c], Q[qr + c + 1], Q[qr + c + 2], Q[qr + c + 3]),
					          vec4(S[c * BV + jj], S[(c + 1) * BV + jj], S[(c + 2) * BV + jj], S[(c + 3) * BV + jj]));
				for (; c < Dk; c++) a1 += Q[qr + c] * S[c * BV + jj];
				a1 *= QE[r];
			}
			uint pr = p_off + r * CH, s = 0;
			for (; s + 4 <= r + 1; s += 4)
				a2 += dot(vec4(SCR[pr + s], SCR[pr + s + 1], SCR[pr + s + 2], SCR[pr + s + 3]),
				          vec4(Vn[s * BV + jj], Vn[(s + 1) * BV + jj], Vn[(s + 2) * BV + jj], Vn[(s + 3) * BV + jj]));
			for (; s <= r; s++) a2 += SCR[pr + s] * Vn[s * BV + jj];
			O[p.o_offset + t * p.o_stride + h * Dv + j] = a1 + a2;
		}
		barrier();

		// S = e^{G_last} S + (KE k)^T Vn  (per channel: diag(e^{G_last}) S + KD^T Vn)
		float eg = exp(g_last);
		for (uint e = tid; e < Dk * BV; e += WORKGROUP_SIZE) {
			uint c = e / BV, jj = e % BV;
			float acc = 0.0;
			uint r = 0;
			if (pc) {
				uint kc = kd_off + c;
				for (; r + 4 <= n_valid; r += 4)
					acc += dot(vec4(SCR[kc + r * Dk], SCR[kc + (r + 1) * Dk], SCR[kc + (r + 2) * Dk], SCR[kc + (r + 3) * Dk]),
					           vec4(Vn[r * BV + jj], Vn[(r + 1) * BV + jj], Vn[(r + 2) * BV + jj], Vn[(r + 3) * BV + jj]));
				for (; r < n_valid; r++) acc += SCR[kc + r * Dk] * Vn[r * BV + jj];
				S[e] = exp(SCR[gc_off + (CH - 1) * Dk + c]) * S[e] + acc;
			} else {
				uint kc = p.k_offset + lc * CH * p.k_stride + m * Dk + c;
				for (; r + 4 <= n_valid; r += 4)
					acc += dot(vec4(KE[r] * KK[kc + r * p.k_stride], KE[r + 1] * KK[kc + (r + 1) * p.k_stride],
					                KE[r + 2] * KK[kc + (r + 2) * p.k_stride], KE[r + 3] * KK[kc + (r + 3) * p.k_stride]),
					           vec4(Vn[r * BV + jj], Vn[(r + 1) * BV + jj], Vn[(r + 2) * BV + jj], Vn[(r + 3) * BV + jj]));
				for (; r < n_valid; r++) acc += KE[r] * KK[kc + r * p.k_stride] * Vn[r * BV + jj];
				S[e] = eg * S[e] + acc;
			}
		}
		barrier();
	}

	for (uint e = tid; e < Dk * BV; e += WORKGROUP_SIZE) {
		uint j = j0 + e % BV;
		if (j < Dv) STATE[sbase + (e / BV) * Dv + j] = S[e];
	}
}
