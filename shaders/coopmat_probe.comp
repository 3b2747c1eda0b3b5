// SPDX-License-Identifier: MIT
// Not a kernel: the build (shaders/CMakeLists.txt) and third_party/coopmat-toolchain.sh compile
// this to learn whether a glslang knows GL_KHR_cooperative_matrix.
#version 450
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
layout(local_size_x = 32) in;
layout(binding = 0) buffer A { float16_t a[]; };
layout(binding = 1) buffer C { float c[]; };
void main()
{
	coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseA> ma;
	coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseB> mb;
	coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator> mc =
		coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator>(0.0);
	coopMatLoad(ma, a, 0, 16, gl_CooperativeMatrixLayoutRowMajor);
	coopMatLoad(mb, a, 0, 16, gl_CooperativeMatrixLayoutRowMajor);
	mc = coopMatMulAdd(ma, mb, mc);
	coopMatStore(mc, c, 0, 16, gl_CooperativeMatrixLayoutRowMajor);
}
