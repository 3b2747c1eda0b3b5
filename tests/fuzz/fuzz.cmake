# Builds the libFuzzer target with clang (ASan + UBSan) and runs it for SECONDS seconds from a
# seed corpus: tiny synthesized models of every architecture and the bad-file corpus. A crash,
# a sanitizer report or a leak fails the test; the input that did it is kept in WORK_DIR/fuzz.
set(dir "${WORK_DIR}/fuzz")
file(REMOVE_RECURSE "${dir}/corpus")
file(MAKE_DIRECTORY "${dir}/corpus" "${dir}/bad")
file(GLOB model_sources "${SRC_DIR}/host/model/*.c")
list(FILTER model_sources EXCLUDE REGEX "synth\\.c$")
execute_process(
  COMMAND ${CLANG} -std=c11 -D_GNU_SOURCE -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
          -I${SRC_DIR}/host -I${SRC_DIR} -o "${dir}/fuzz_model"
          ${SRC_DIR}/tests/fuzz/fuzz_model.c ${model_sources}
          ${SRC_DIR}/loader/gguf.c ${SRC_DIR}/loader/gguf_write.c ${SRC_DIR}/loader/quant_types.c
          ${SRC_DIR}/loader/quant.c ${SRC_DIR}/loader/half.c ${SRC_DIR}/host/base/status.c ${SRC_DIR}/host/base/json.c -lm
  RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building the fuzzer failed:\n${err}")
endif()

# seeds: small models (a smaller vocabulary keeps them a few KiB) and every broken file
foreach(arch llama qwen2 qwen3 qwen3moe smollm3 olmo2 gemma3)
  execute_process(COMMAND ${VKLLM} synth --arch ${arch} --type q8_0 --n-vocab 300 --n-embd 32 --head-dim 8 --n-ff 32
                          --n-layer 1 -q -o "${dir}/corpus/${arch}.gguf" RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "seed ${arch}: ${err}")
  endif()
endforeach()
execute_process(COMMAND ${MAKE_BAD_FILES} "${dir}/bad" RESULT_VARIABLE rc)
file(GLOB bad "${dir}/bad/*.gguf")
file(COPY ${bad} DESTINATION "${dir}/corpus")

execute_process(COMMAND "${dir}/fuzz_model" -max_total_time=${SECONDS} -rss_limit_mb=2048 -max_len=65536
                        -artifact_prefix=${dir}/ "${dir}/corpus"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(REGEX MATCH "Done [0-9]+ runs in [0-9]+ second" done "${err}")
string(REGEX MATCH "cov: [0-9]+ ft: [0-9]+" coverage "${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the fuzzer found a failure (input kept in ${dir}):\n${err}")
endif()
message(STATUS "fuzz_model: ${done}s, ${coverage}")
