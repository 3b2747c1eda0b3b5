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
# matvec_vec: the one-column matvec on GPUs for Q4_K (16-byte loads) and Q8_0 (4-byte loads), dense
# and expert (host/ops/matvec.c, host/ops/moe.c)
foreach(t Q4_K Q8_0)
  string(TOLOWER ${t} lower)
  vkllm_shader(matvec_vec_${lower} matvec_vec.comp DEFINES WTYPE_${t})
  vkllm_shader(moe_matvec_vec_${lower} matvec_vec.comp DEFINES WTYPE_${t} MOE)
endforeach()
# matvec_cpu: the CPU-device (lavapipe) matvec for the types it has chunk layouts for
foreach(t Q8_0 Q4_0 Q4_K Q6_K F16 BF16 F32)
  string(TOLOWER ${t} lower)
  vkllm_shader(matvec_cpu_${lower} matvec_cpu.comp DEFINES WTYPE_${t})
  vkllm_shader(moe_matvec_cpu_${lower} matvec_cpu.comp DEFINES WTYPE_${t} MOE)
endforeach()

# peak_fma, peak_copy: the device's FMA and copy peaks for `vkllm bench --kernels` (the copy peak
# is the fastest of peak_copy's vec4, peak_copy_texel's texel and copy_f32's scalar copy)
vkllm_shader(peak_fma peak_fma.comp)
vkllm_shader(peak_copy peak_copy.comp)
vkllm_shader(peak_copy_texel peak_copy_texel.comp)
# peak_coopmat: the matrix units' peak (VK_KHR_cooperative_matrix): f16 x f16 + f32, and s8 x s8 + s32
vkllm_shader(peak_coopmat_f16 peak_coopmat.comp DEFINES F16 COOPMAT)
vkllm_shader(peak_coopmat_s8 peak_coopmat.comp DEFINES S8 COOPMAT)

# attention: causal flash attention / split-K decode (docs/attention.md); f16 or f32 KV cache
vkllm_shader(attention_f16 attention.comp DEFINES KV_F16)
vkllm_shader(attention_f32 attention.comp)
vkllm_shader(attention_combine attention_combine.comp)
# attention_cm: prefill flash attention on matrix units (VK_KHR_cooperative_matrix), f16 cache
vkllm_shader(attention_cm attention_cm.comp DEFINES COOPMAT)
# attention_decode: split-K decode on GPUs, f16 cache read 16 bytes a lane (host/ops/attention.c)
vkllm_shader(attention_decode attention_decode.comp)
# attention_cpu: decode on CPU devices (lavapipe), 64-bit K/V loads, one subgroup per workgroup
vkllm_shader(attention_cpu_f16 attention_cpu.comp DEFINES KV_F16)
vkllm_shader(attention_cpu_f32 attention_cpu.comp)

# small ops for dense models: norms, RoPE, embedding lookup, GLU, element-wise, argmax / top-k
vkllm_shader(rms_norm_f32 rms_norm.comp)
vkllm_shader(rms_norm_add_f32 rms_norm.comp DEFINES FUSED_ADD)
vkllm_shader(rope_f32 rope.comp)
foreach(t F32 F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K Q4_K Q5_K Q6_K MXFP4)
  string(TOLOWER ${t} lower)
  vkllm_shader(embed_${lower} embed.comp DEFINES WTYPE_${t})
endforeach()
vkllm_shader(swiglu_f32 glu.comp DEFINES SWIGLU)
vkllm_shader(geglu_f32 glu.comp DEFINES GEGLU)
vkllm_shader(swiglu_oai_f32 glu.comp DEFINES SWIGLU_OAI)
vkllm_shader(add_f32 eltwise.comp DEFINES ADD)
vkllm_shader(scale_f32 eltwise.comp DEFINES SCALE)
vkllm_shader(softcap_f32 eltwise.comp DEFINES SOFTCAP)
vkllm_shader(add_gated_f32 eltwise.comp DEFINES ADD_GATED)
vkllm_shader(mul_sigmoid_f32 eltwise.comp DEFINES MUL_SIGMOID)
vkllm_shader(kv_store_f16 kv_store.comp DEFINES OUT_F16)
vkllm_shader(kv_store_f32 kv_store.comp)
# attn_prep: QK-norm, RoPE and both cache stores in one dispatch (host/ops/attn_prep.c)
vkllm_shader(attn_prep_f16 attn_prep.comp DEFINES OUT_F16)
vkllm_shader(attn_prep_f32 attn_prep.comp)
# MLA (host/ops/mla.c, docs/mla.md): the latent projection's norm, RoPE and cache store, and absorbed
# attention over the latent cache; f16 or f32 latent cache
vkllm_shader(mla_prep_f16 mla_prep.comp DEFINES OUT_F16)
vkllm_shader(mla_prep_f32 mla_prep.comp)
vkllm_shader(mla_attention_f16 mla_attention.comp DEFINES KV_F16)
vkllm_shader(mla_attention_f32 mla_attention.comp)
# MLA's decompressed form for prefill: per head K and V from the latent cache (host/ops/mla_decompress.c),
# named by cache type, then output type
vkllm_shader(mla_decompress_f16_f16 mla_decompress.comp DEFINES KV_F16 OUT_F16)
vkllm_shader(mla_decompress_f16_f32 mla_decompress.comp DEFINES KV_F16)
vkllm_shader(mla_decompress_f32_f16 mla_decompress.comp DEFINES OUT_F16)
vkllm_shader(mla_decompress_f32_f32 mla_decompress.comp)
vkllm_shader(argmax_f32 argmax.comp)
vkllm_shader(argmax_merge_f32 argmax.comp DEFINES MERGE)
vkllm_shader(topk_f32 topk.comp)
vkllm_shader(topk_merge_f32 topk.comp DEFINES MERGE)

# gemm: prefill-time matmul, tiled, one variant per weight type (host/ops/gemm.c)
foreach(t F32 F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K Q4_K Q5_K Q6_K MXFP4)
  string(TOLOWER ${t} lower)
  vkllm_shader(gemm_${lower} gemm.comp DEFINES WTYPE_${t})
endforeach()

# gemm_coopmat: the prefill matmul on matrix units (VK_KHR_cooperative_matrix), f16 operands and
# f32 sums; F32 and BF16 weights stay on gemm.comp. COOPMAT: built only with a glslang that knows
# the extension (shaders/CMakeLists.txt), otherwise left out.
foreach(t F16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K Q4_K Q5_K Q6_K MXFP4)
  string(TOLOWER ${t} lower)
  vkllm_shader(gemm_coopmat_${lower} gemm_coopmat.comp DEFINES WTYPE_${t} COOPMAT)
  vkllm_shader(moe_gemm_coopmat_${lower} gemm_coopmat.comp DEFINES WTYPE_${t} MOE COOPMAT)
endforeach()

# mixture of experts (host/ops/moe.c): router (gating by spec constant), the expert-order index,
# row gather into expert order and the weighted scatter back
vkllm_shader(moe_route moe_route.comp)
vkllm_shader(moe_index moe_index.comp)
vkllm_shader(moe_gather_rows moe_rows.comp)
vkllm_shader(moe_scatter moe_rows.comp DEFINES SCATTER)
# per-expert biases added to expert outputs (gpt-oss's ggml_add_id)
vkllm_shader(moe_add_bias moe_add_bias.comp)
foreach(t F32 F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K Q4_K Q5_K Q6_K MXFP4)
  string(TOLOWER ${t} lower)
  vkllm_shader(moe_matvec_${lower} moe_matvec.comp DEFINES WTYPE_${t})
  vkllm_shader(moe_gemm_${lower} gemm.comp DEFINES WTYPE_${t} MOE)
endforeach()
# gated DeltaNet (host/ops/gdn.c, tests/ref/gdn_ref.h): short conv + SiLU and its state shift, the
# recurrent delta rule, the chunked form's prep and scan, the gated output norm
vkllm_shader(gdn_conv gdn_conv.comp)
vkllm_shader(gdn_conv_state gdn_conv.comp DEFINES STATE_UPDATE)
vkllm_shader(gdn_recurrent gdn_recurrent.comp)
vkllm_shader(gdn_chunk_prep gdn_chunk_prep.comp)
vkllm_shader(gdn_chunk_scan gdn_chunk_scan.comp)
vkllm_shader(gdn_gated_norm gdn_gated_norm.comp)
vkllm_shader(gdn_gates gdn_gates.comp)

# Gemma 3n (host/ops/altup.c, docs/gemma3n.md): AltUp's modes, and the FFN gate's activation sparsity
foreach(mode PREDICT CORRECT INJECT PLE INIT MERGE)
  string(TOLOWER ${mode} lower)
  vkllm_shader(altup_${lower} altup.comp DEFINES ${mode})
endforeach()
vkllm_shader(sparse_gate sparse_gate.comp)
