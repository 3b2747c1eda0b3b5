# `vkllm run` and `vkllm perplexity` as a user meets them, all under the validation layer
# (VKLLM_VALIDATION=1: any validation message is an error and a non-zero exit):
#  - the README's main command with no model synthesizes one, says its weights are random, and
#    streams text with timings;
#  - --json gives one object with the prompt's ids, -n generated ids, the text and timings;
#  - --temp 0 twice gives the same tokens; the same seed at --temp 0.8 gives the same tokens;
#  - a context that fills stops cleanly (exit 0, said in "stop"); a prompt longer than the
#    context is refused with one line (exit 1); bad flags exit 2;
#  - perplexity --json gives a finite ppl > 1 over the scored tokens.
set(dir "${WORK_DIR}/run_generate")
file(REMOVE_RECURSE "${dir}")
file(MAKE_DIRECTORY "${dir}")
set(env ${CMAKE_COMMAND} -E env VKLLM_VALIDATION=1 XDG_CACHE_HOME=${dir}/cache)

include("${CMAKE_CURRENT_LIST_DIR}/run_ok.cmake")

function(expect_failure code pattern)
  execute_process(COMMAND ${env} ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 300)
  if(NOT rc STREQUAL "${code}")
    message(FATAL_ERROR "`${ARGN}` exited '${rc}', expected ${code}\nstdout: ${out}\nstderr: ${err}")
  endif()
  if(NOT err MATCHES "${pattern}")
    message(FATAL_ERROR "`${ARGN}`: stderr does not match '${pattern}':\n${err}")
  endif()
endfunction()

# the main command with no model: a random-weight Qwen3-0.6B shape, a few tokens
run_ok(${VKLLM} run -n 3)
foreach(pattern "RANDOM" "synthesizing" "prompt +[0-9]+ tokens" "generation +3 tokens" "tokens/s")
  if(NOT err MATCHES "${pattern}")
    message(FATAL_ERROR "vkllm run (no model): no '${pattern}' in stderr:\n${err}")
  endif()
endforeach()
if(NOT out MATCHES "^Once upon a time")
  message(FATAL_ERROR "vkllm run (no model): the prompt is not echoed first:\n${out}")
endif()

run_ok(${VKLLM} synth --arch qwen3 --type f32 --seed 3 -o "${dir}/qwen3.gguf" -q)
set(model "${dir}/qwen3.gguf")

# --json: the documented fields; greedy twice gives the same tokens
run_ok(${VKLLM} run -m ${model} -p "hello world" -n 12 --temp 0 --json)
set(first "${out}")
string(JSON n_prompt LENGTH "${out}" prompt_tokens)
string(JSON n_tok LENGTH "${out}" tokens)
string(JSON text GET "${out}" text)
string(JSON pp GET "${out}" timings prompt_tps)
string(JSON tg GET "${out}" timings gen_tps)
if(n_prompt LESS 2 OR NOT n_tok EQUAL 12 OR NOT pp GREATER 0 OR NOT tg GREATER 0)
  message(FATAL_ERROR "run --json: unexpected object:\n${out}")
endif()
run_ok(${VKLLM} run -m ${model} -p "hello world" -n 12 --temp 0 --json)
string(JSON a GET "${first}" tokens)
string(JSON b GET "${out}" tokens)
if(NOT a STREQUAL b)
  message(FATAL_ERROR "greedy runs differ:\n${a}\n${b}")
endif()

# sampling: the same seed gives the same tokens
run_ok(${VKLLM} run -m ${model} -p "hello world" -n 12 --temp 0.8 --seed 42 --json)
string(JSON a GET "${out}" tokens)
run_ok(${VKLLM} run -m ${model} -p "hello world" -n 12 --temp 0.8 --seed 42 --json)
string(JSON b GET "${out}" tokens)
if(NOT a STREQUAL b)
  message(FATAL_ERROR "the same seed gave different tokens:\n${a}\n${b}")
endif()

# the context fills: generation stops cleanly and says so
run_ok(${VKLLM} run -m ${model} -p "hello world" -n 50 -c 8 --temp 0 --json)
string(JSON stop GET "${out}" stop)
string(JSON n_prompt LENGTH "${out}" prompt_tokens)
string(JSON n_tok LENGTH "${out}" tokens)
math(EXPR total "${n_prompt} + ${n_tok}")
if(NOT stop MATCHES "context is full" OR total GREATER 9)
  message(FATAL_ERROR "run -c 8: expected a clean stop at the context, got ${total} positions:\n${out}")
endif()

# --profile: a table of kernels after the run; on CPU devices (llvmpipe compiles each kernel at
# its first dispatch) each graph's first run is left out and the table says so
run_ok(${VKLLM} run -m ${model} -p "hello world" -n 6 --temp 0 --profile)
foreach(pattern "GPU time by kernel \\(([0-9]+) tokens in chunks of 1" "matvec[a-z0-9_]* +layers +[0-9.]+ +[0-9.]+%" "rms_norm_f32")
  if(NOT err MATCHES "${pattern}")
    message(FATAL_ERROR "run --profile: no '${pattern}' in stderr:\n${err}")
  endif()
endforeach()
string(REGEX MATCH "GPU time by kernel \\(([0-9]+) tokens in chunks of 1" _ "${err}")
set(profiled ${CMAKE_MATCH_1})
if(err MATCHES "llvmpipe" AND NOT err MATCHES "\\(([0-9]+) tokens of each graph's first run left out")
  message(FATAL_ERROR "run --profile on lavapipe: the first runs are not said to be left out:\n${err}")
endif()
if(profiled LESS 4 OR profiled GREATER 6)
  message(FATAL_ERROR "run --profile: ${profiled} decoded tokens profiled, expected 4 to 6 of 6:\n${err}")
endif()

# refusals: one line each
expect_failure(1 "vkllm: error: the prompt is [0-9]+ tokens, more than the context of 2" ${VKLLM} run -m ${model} -p "hello world hello world" -c 2)
expect_failure(2 "--temp needs a number" ${VKLLM} run -m ${model} --temp -1)
expect_failure(2 "unknown option '--bogus'" ${VKLLM} run --bogus)
expect_failure(1 "missing.gguf" ${VKLLM} run -m "${dir}/missing.gguf")
expect_failure(2 "give the text once" ${VKLLM} perplexity -m ${model})

# perplexity
file(WRITE "${dir}/text.txt" "The quick brown fox jumps over the lazy dog. It was the best of times, it was the worst of times.")
run_ok(${VKLLM} perplexity -m ${model} -f "${dir}/text.txt" --json)
string(JSON ppl GET "${out}" ppl)
string(JSON scored GET "${out}" scored)
string(JSON ntok GET "${out}" tokens)
math(EXPR want "${ntok} - 1")
if(NOT ppl GREATER 1 OR NOT scored EQUAL want)
  message(FATAL_ERROR "perplexity --json: unexpected object:\n${out}")
endif()
