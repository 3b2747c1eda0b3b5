// SPDX-License-Identifier: MIT
// mla_decompress: multi-head latent attention's decompressed form (abi.h, mla_decompress_params):
// per head K and V rebuilt from the latent cache, for ordinary flash attention (attention.comp) to
// read as an MHA cache with n_head_kv = n_head:
//   K[j][h] = [ WK[h] c_j (nope values) | k_pe_j (R values, the same for every head) ]
//   V[j][h] = WV[h] c_j (Dv values)                  CACHE[j] = [c_j (C) | k_pe_j (R)], j < n_kv
// It is one matrix product, Y[row][j] = W[row] . c_j, over the rows of WK and then WV stacked
// (H * nope + H * Dv rows of C) and the cache positions; each row's result lands in K or V.
//
// Tiling as gemm.comp: a workgroup owns a BM x BN tile (weight rows x positions) and walks C in
// steps of KS: the BM x KS weight slice and the BN x KS latent slice go to shared memory, and every
// invocation accumulates its TM x TN micro-tile from there, so each weight value loaded serves BN
// positions and each latent value BM rows. THREADS_C == 1 (the CPU profile) makes every lane read
// the same latent value, which llvmpipe loads once and broadcasts.
// n_kv is read on the device (the recording replays for every chunk): tiles whose positions are
// all >= n_kv return at once, and nothing at or past n_kv is written. The k_pe copy is spread over
// the row tiles: row tile x copies heads x, x + gx, ... of its positions.
//
// Variants: -D KV_F16 (f16 latent cache; default f32), -D OUT_F16 (f16 K and V, what op_attention
// reads as an f16 cache; default f32). Weights are always f32: every file type decodes into f32
// exactly, so K and V are the absorbed form's numbers (f16 would round q8_0 and f32 files' values;
// the weights are a small part of what a tile loads beside the latents). Spec constants: 0 workgroup size (= BM/TM * BN/TN),
// 1 BM, 2 BN, 3 TM, 4 TN, 5 KS (latent values per step).
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_shader_16bit_storage : require
#ifdef KV_F16
#define KV_T float16_t
#else
#define KV_T float
#endif
#ifdef OUT_F16
#define OUT_T float16_t
#else
#define OUT_T float
#endif

#include "abi.h"
#include "common/index.glsl"

layout(constant_id = 1) const uint BM = 32;
layout(constant_id = 2) const uint BN = 16;
layout(constant_id = 3) const uint TM = 4;
layout(constant_id = 4) const uint TN = 16;
layout(constant_id = 5) const uint KS = 32;
const uint THREADS_R = BM / TM;
const uint THREADS_C = BN / TN;

layout(binding = 0) readonly buffer Cacheb { KV_T CACHE[]; };
layout(binding = 1) readonly buffer WKb { float WK[]; };
layout(binding = 2) readonly buffer WVb { float WV[]; };
layout(binding = 3) readonly buffer Stepb { uint STEP[]; };
layout(binding = 4) writeonly buffer Kb { OUT_T K[]; };
layout(binding = 5) writeonly buffer Vb { OUT_T V[]; };

layout(push_constant) uniform Params { mla_decompress_params p; };

// [k][row] and [k][position]: a micro-tile step reads TM rows and TN positions of one k; +1 pads
// the loads' stores (down a column) over the banks
const uint WS_STRIDE = BM + 1u;
const uint XS_STRIDE = BN + 1u;
shared float Ws[KS * WS_STRIDE];
shared float Xs[KS * XS_STRIDE];

void main()
{
	uint tid = gl_LocalInvocationID.x;
	uint n_kv = min(STEP[p.step_offset], p.n_ctx);
	uint col0 = gl_WorkGroupID.y * BN;
	if (col0 >= n_kv) return; // uniform: the whole tile is past n_kv
	uint C = p.kv_lora, R = p.n_pe, H = p.n_head, D = C + R, KD = p.nope + R;
	uint n_k_rows = H * p.nope, n_rows = n_k_rows + H * p.v_dim;
	uint row0 = gl_WorkGroupID.x * BM;

	// k_pe: the same R values for every head of K
	for (uint h = gl_WorkGroupID.x; h < H; h += gl_NumWorkGroups.x) {
		for (uint e = tid; e < BN * R; e += WORKGROUP_SIZE) {
			uint pos = col0 + e / R, i = e % R;
			if (pos < n_kv) K[p.k_offset + (pos * H + h) * KD + p.nope + i] = OUT_T(float(CACHE[p.cache_offset + pos * D + C + i]));
		}
	}

	uint tr = THREADS_C == 1u ? tid : tid % THREADS_R;
	uint tc = THREADS_C == 1u ? 0u : tid / THREADS_R;
	float acc[TM * TN];
	for (uint i = 0; i < TM * TN; i++) acc[i] = 0.0;

	for (uint k0 = 0; k0 < C; k0 += KS) {
		// weights: BM rows x KS, consecutive invocations on consecutive k (coalesced); rows past the
		// end and k past C read as 0 (their results are never stored, or add nothing)
		for (uint e = tid; e < BM * KS; e += WORKGROUP_SIZE) {
			uint r = e / KS, k = e % KS, row = row0 + r, kk = k0 + k;
			float w = 0.0;
			if (kk < C && row < n_k_rows) w = float(WK[p.wk_offset + row * C + kk]);
			else if (kk < C && row < n_rows) w = float(WV[p.wv_offset + (row - n_k_rows) * C + kk]);
			Ws[k * WS_STRIDE + r] = w;
		}
		// latents: BN positions x KS; positions >= n_kv read as 0 and are never stored
		for (uint e = tid; e < BN * KS; e += WORKGROUP_SIZE) {
			uint c = e / KS, k = e % KS, pos = col0 + c, kk = k0 + k;
			Xs[k * XS_STRIDE + c] = pos < n_kv && kk < C ? float(CACHE[p.cache_offset + pos * D + kk]) : 0.0;
		}
		barrier();
		for (uint k = 0; k < KS; k++) {
			float a[TM];
			for (uint i = 0; i < TM; i++) a[i] = Ws[k * WS_STRIDE + tr + i * THREADS_R];
			for (uint j = 0; j < TN; j++) {
				float b = Xs[k * XS_STRIDE + tc + j * THREADS_C];
				for (uint i = 0; i < TM; i++) acc[j * TM + i] = fma(a[i], b, acc[j * TM + i]);
			}
		}
		barrier();
	}

	for (uint j = 0; j < TN; j++) {
		uint pos = col0 + tc + j * THREADS_C;
		if (pos >= n_kv) break;
		for (uint i = 0; i < TM; i++) {
			uint row = row0 + tr + i * THREADS_R;
			if (row >= n_rows) break;
			if (row < n_k_rows) {
				uint h = row / p.nope, d = row - h * p.nope;
				K[p.k_offset + (pos * H + h) * KD + d] = OUT_T(acc[j * TM + i]);
			} else {
				V[p.v_offset + pos * H * p.v_dim + row - n_k_rows] = OUT_T(acc[j * TM + i]);
			}
		}
	}
}
