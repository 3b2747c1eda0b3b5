# `vkllm synth` then `vkllm inspect`, as a user meets them: a tiny model of each architecture is
# written, inspected as text and as JSON, and bad invocations fail with one clear line.
set(dir "${WORK_DIR}/synth_inspect")
file(REMOVE_RECURSE "${dir}")
file(MAKE_DIRECTORY "${dir}")

function(run_ok)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 300)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "`${ARGN}` exited ${rc}\nstdout: ${out}\nstderr: ${err}")
  endif()
  set(out "${out}" PARENT_SCOPE)
  set(err "${err}" PARENT_SCOPE)
endfunction()

function(expect_failure code pattern)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 60)
  if(NOT rc STREQUAL "${code}")
    message(FATAL_ERROR "`${ARGN}` exited '${rc}', expected ${code}\nstdout: ${out}\nstderr: ${err}")
  endif()
  if(NOT err MATCHES "${pattern}")
    message(FATAL_ERROR "`${ARGN}`: stderr does not match '${pattern}':\n${err}")
  endif()
endfunction()

foreach(arch llama qwen2 qwen3 qwen3moe qwen2moe smollm3 olmo2 gemma3 deepseek2)
  run_ok(${VKLLM} synth --arch ${arch} --type q8_0 --seed 5 -o "${dir}/${arch}.gguf")
  if(NOT err MATCHES "wrote .*${arch}.gguf.*random weights")
    message(FATAL_ERROR "synth ${arch}: no summary: ${err}")
  endif()
  run_ok(${VKLLM} inspect -m "${dir}/${arch}.gguf")
  foreach(pattern "architecture +${arch}" "RANDOM" "parameters +[0-9.]+ [KMG]? total" "KV cache" "q8_0 [0-9.]+%" "tokenizer +gpt2")
    if(NOT out MATCHES "${pattern}")
      message(FATAL_ERROR "inspect ${arch}: no '${pattern}' in:\n${out}")
    endif()
  endforeach()
  run_ok(${VKLLM} inspect -m "${dir}/${arch}.gguf" --json)
  string(JSON got_arch GET "${out}" arch)
  string(JSON n_layer GET "${out}" n_layer)
  string(JSON random GET "${out}" random_weights)
  string(JSON groups LENGTH "${out}" layer_groups)
  if(NOT got_arch STREQUAL "${arch}" OR n_layer LESS 2 OR NOT random OR groups LESS 1)
    message(FATAL_ERROR "inspect --json ${arch}: arch ${got_arch}, n_layer ${n_layer}, random ${random}, groups ${groups}")
  endif()
  message(STATUS "ok: ${arch}: ${n_layer} layers, ${groups} layer group(s)")
endforeach()

# Gemma 3's card shows the 5:1 pattern as two groups with their layer lists
run_ok(${VKLLM} inspect -m "${dir}/gemma3.gguf")
if(NOT out MATCHES "5 x \\[0-4\\]" OR NOT out MATCHES "1 x \\[5\\]" OR NOT out MATCHES "sliding window 8")
  message(FATAL_ERROR "gemma3 card lacks its sliding/global groups:\n${out}")
endif()
# SmolLM3: layer 3 is NoPE
run_ok(${VKLLM} inspect -m "${dir}/smollm3.gguf")
if(NOT out MATCHES "1 x \\[3\\]" OR NOT out MATCHES "NoPE")
  message(FATAL_ERROR "smollm3 card lacks its NoPE layer:\n${out}")
endif()
# deepseek2 (tiny, V3's layout): the MLA card and the latent cache beside MHA, in exact bytes:
# 3 layers x (kv_lora 32 + rope 8) x 2 bytes = 240 B a token; 4 heads x (key 40 + value 24) as MHA
run_ok(${VKLLM} inspect -m "${dir}/deepseek2.gguf")
foreach(pattern "attention: MLA, 4 heads; q through rank 96" "compressed to rank 32" "key 40 \\(32 nope \\+ 8 rope\\), value 24"
        "MQA over the latent cache \\(40 values a token\\)" "YaRN x4 from 1024 tokens, mscale_all_dim 1: softmax scale x1\\.2965"
        "1 x \\[0\\]\n[^\n]*\n[^\n]*\n[^\n]*\n +FFN: dense SwiGLU of 128 \\(the leading dense layer\\)"
        "top-2 by sigmoid \\+ selection bias within the best 2 of 4 groups, weights renormalized x2\\.5"
        "a shared SwiGLU of 32, ungated" "KV cache +240 B per token \\(f16\\), 960\\.00 KiB at 4096 tokens"
        "as MHA \\(each head its key and value\\): 1\\.50 KiB per token, 6\\.00 MiB \\(6\\.4x\\)")
  if(NOT out MATCHES "${pattern}")
    message(FATAL_ERROR "deepseek2 card: no '${pattern}' in:\n${out}")
  endif()
endforeach()
if(out MATCHES "as GQA")
  message(FATAL_ERROR "deepseek2 card: 4 heads have no smaller GQA-8 cache to show:\n${out}")
endif()
# V2-Lite's layout (plain attn_q, 2 shared experts) with 16 heads: GQA-8 is half of MHA
run_ok(${VKLLM} synth --arch deepseek2 --no-q-lora --n-expert-shared 2 --n-head 16 --seed 5 -o "${dir}/ds2-lite.gguf")
run_ok(${VKLLM} inspect -m "${dir}/ds2-lite.gguf" --json)
string(JSON kind GET "${out}" layer_groups 1 attention kind)
string(JSON q_lora GET "${out}" layer_groups 1 attention q_lora_rank)
string(JSON shared GET "${out}" layer_groups 1 ffn n_ff_shared)
string(JSON kv GET "${out}" kv_cache bytes_per_token)
string(JSON mha GET "${out}" kv_cache mla mha_bytes_per_token)
string(JSON gqa GET "${out}" kv_cache mla gqa_bytes_per_token)
string(JSON gqa_full GET "${out}" kv_cache mla gqa_bytes_full_context)
if(NOT kind STREQUAL "mla" OR NOT q_lora EQUAL 0 OR NOT shared EQUAL 64 OR NOT kv EQUAL 240 OR NOT mha EQUAL 6144
   OR NOT gqa EQUAL 3072 OR NOT gqa_full EQUAL 12582912)
  message(FATAL_ERROR "deepseek2 lite --json: kind ${kind} q_lora ${q_lora} shared ${shared} kv ${kv} mha ${mha} gqa ${gqa} ${gqa_full}")
endif()
run_ok(${VKLLM} inspect -m "${dir}/ds2-lite.gguf")
if(NOT out MATCHES "q plain \\(attn_q\\)" OR NOT out MATCHES "2 shared experts as one ungated SwiGLU of 64"
   OR NOT out MATCHES "as GQA with 8 KV heads of the same sizes: 3\\.00 KiB per token, 12\\.00 MiB \\(12\\.8x\\)")
  message(FATAL_ERROR "deepseek2 lite card:\n${out}")
endif()
# the published DeepSeek-V3 shape, counted without writing
run_ok(${VKLLM} synth --preset deepseek-v3 --dry-run)
if(NOT out MATCHES "671\\.0264 B parameters \\(37\\.5523 B active")
  message(FATAL_ERROR "deepseek-v3 dry run: ${out}")
endif()

# a dry run of a full-size preset prints its size without writing
run_ok(${VKLLM} synth --preset qwen3-30b-a3b --dry-run)
if(NOT out MATCHES "30\\.[0-9]+ B parameters \\(3\\.[0-9]+ B active")
  message(FATAL_ERROR "dry run: ${out}")
endif()

# a synthesized model runs: vkllm run generates from it
run_ok(${VKLLM} run -m "${dir}/qwen3.gguf" -n 2 --temp 0 --json)
string(JSON n_tok LENGTH "${out}" tokens)
if(n_tok LESS 1)
  message(FATAL_ERROR "run on a synthesized qwen3 generated nothing:\n${out}")
endif()

# bad invocations and bad files
expect_failure(2 "unknown preset 'nope'" ${VKLLM} synth --preset nope -o "${dir}/x.gguf")
expect_failure(2 "unknown architecture 'nope'" ${VKLLM} synth --arch nope -o "${dir}/x.gguf")
expect_failure(2 "unknown --type 'q9_9'" ${VKLLM} synth --arch qwen3 --type q9_9 -o "${dir}/x.gguf")
expect_failure(2 "-o FILE.gguf" ${VKLLM} synth --arch qwen3)
expect_failure(2 "needs a positive integer: '--n-layer'" ${VKLLM} synth --arch qwen3 --n-layer 0 -o "${dir}/x.gguf")
expect_failure(1 "cannot create '/nonexistent/dir/x.gguf.partial'" ${VKLLM} synth --arch qwen3 -o /nonexistent/dir/x.gguf)
if(EXISTS "${dir}/x.gguf" OR EXISTS "${dir}/x.gguf.partial")
  message(FATAL_ERROR "a failed synth left a file behind")
endif()
expect_failure(2 "missing the model" ${VKLLM} inspect)
expect_failure(1 "model '/nonexistent.gguf': No such file" ${VKLLM} inspect -m /nonexistent.gguf)
file(WRITE "${dir}/text.gguf" "this is not a model\n")
expect_failure(1 "not a GGUF file" ${VKLLM} inspect -m "${dir}/text.gguf")
expect_failure(1 "not a GGUF file" ${VKLLM} run -m "${dir}/text.gguf")
file(REMOVE_RECURSE "${dir}")
