# THE manifest: one vkllm_shader() line per compiled variant, grouped by op family.
#   vkllm_shader(<variant name> <source file> [DEFINES D1 D2=V ...] [NO_OPT])
# The variant name becomes SH_<NAME> in the generated shaders.h and is used in logs and tests.
# NO_OPT skips spirv-opt for a variant (spirv-opt has had bugs on coopmat, bf16 and rope shaders).

# fill / copy: the first kernels, also used by the device check in `vkllm run`
vkllm_shader(fill_f32 fill.comp)
vkllm_shader(copy_f32 copy.comp)
vkllm_shader(copy_f32_f16 copy.comp DEFINES OUT_F16)

# matvec: decode-time matmul, one variant per weight type (decoding in common/blocks.glsl)
foreach(t F32 F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K Q4_K Q5_K Q6_K MXFP4)
  string(TOLOWER ${t} lower)
  vkllm_shader(matvec_${lower} matvec.comp DEFINES WTYPE_${t})
endforeach()
