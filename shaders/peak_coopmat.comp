// SPDX-License-Identifier: MIT
// peak_coopmat: the device's matrix-unit throughput (VK_KHR_cooperative_matrix), as peak_fma
// measures the FMA peak. Each subgroup runs p.iterations rounds of 4 independent coopMatMulAdd
// chains on M x K and K x N operands held in registers, then writes one accumulator so the
// compiler cannot drop the work. The operands' elements differ (lane and element index times a
// push-constant value): splats of one value let a compiler turn the products into a few scalar
// FMAs (lavapipe's f16 "peak" was 4x its FMA peak that way). Variants: f16 x f16 + f32 (-D F16; what gemm_coopmat runs) and
// s8 x s8 + s32 (-D S8). Spec constants: 0 workgroup size, 1 M, 2 N, 3 K (a shape the device
// lists for that type). FLOPs (or integer ops) = subgroups * iterations * 4 * 2 * M * N * K.
// Values stay finite: f16 operands are at most 3 p.b (p.b = 2^-8), so a chain grows by at most
// 9 K 2^-16 a round; s8 operands are -1, 0 or 1, so at most K a round: 32 x 2^20 rounds fit an int32.
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_shader_explicit_arithmetic_types_int8 : require
#extension GL_EXT_shader_explicit_arithmetic_types_int32 : require
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require

#include "abi.h"
#include "common/index.glsl"

layout(constant_id = 1) const uint M = 16;
layout(constant_id = 2) const uint N = 16;
layout(constant_id = 3) const uint K = 16;

#if defined(S8)
#define AB_T int8_t
#define C_T int32_t
#define AB_VALUE(i) int8_t(int((gl_SubgroupInvocationID + (i)) % 3u) - 1) // -1, 0, 1
#else
#define AB_T float16_t
#define C_T float
#define AB_VALUE(i) float16_t(p.b * float(1u + (gl_SubgroupInvocationID + (i)) % 3u))
#endif

layout(binding = 0) writeonly buffer Out { C_T out_data[]; };
layout(push_constant) uniform Params { peak_params p; };

void main()
{
	coopmat<AB_T, gl_ScopeSubgroup, M, K, gl_MatrixUseA> a;
	coopmat<AB_T, gl_ScopeSubgroup, K, N, gl_MatrixUseB> b;
	for (uint e = 0; e < a.length(); e++) a[e] = AB_VALUE(e);
	for (uint e = 0; e < b.length(); e++) b[e] = AB_VALUE(2u * e + 1u);
	coopmat<C_T, gl_ScopeSubgroup, M, N, gl_MatrixUseAccumulator> c0 =
		coopmat<C_T, gl_ScopeSubgroup, M, N, gl_MatrixUseAccumulator>(C_T(0));
	coopmat<C_T, gl_ScopeSubgroup, M, N, gl_MatrixUseAccumulator> c1 = c0, c2 = c0, c3 = c0;
	for (uint i = 0; i < p.iterations; i++) {
		c0 = coopMatMulAdd(a, b, c0);
		c1 = coopMatMulAdd(a, b, c1);
		c2 = coopMatMulAdd(a, b, c2);
		c3 = coopMatMulAdd(a, b, c3);
	}
	// the four chains summed, one M x N tile per subgroup while it fits p.n elements
	for (uint e = 0; e < c0.length(); e++) c0[e] += c1[e] + c2[e] + c3[e];
	uint group = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
	uint tile = group * gl_NumSubgroups + gl_SubgroupID;
	if ((tile + 1u) * M * N <= p.n) coopMatStore(c0, out_data, tile * M * N, N, gl_CooperativeMatrixLayoutRowMajor);
}
