# `vkllm bench` as the device run (bench/device/run.sh) reads it, under the validation layer:
#  - synth writes the same file on one thread as on every core (rows are split among threads);
#  - bench -m --json gives pp/tg speed and the decode loop's split: the wall time a token is at
#    least the GPU's step (both measured, so only their order is certain), the step has dispatches
#    and fewer barriers than dispatches;
#  - bench --kernels --only peaks --json gives positive copy and FMA peaks and a dependent
#    dispatch's cost, and no kernel rows.
set(dir "${WORK_DIR}/bench_json")
file(REMOVE_RECURSE "${dir}")
file(MAKE_DIRECTORY "${dir}")
set(env ${CMAKE_COMMAND} -E env VKLLM_VALIDATION=1)
include(${CMAKE_CURRENT_LIST_DIR}/run_ok.cmake)

run_ok(${CMAKE_COMMAND} -E env VKLLM_SYNTH_THREADS=1 ${VKLLM} synth --arch qwen3 --type q4_K --seed 3 -q -o "${dir}/one.gguf")
run_ok(${VKLLM} synth --arch qwen3 --type q4_K --seed 3 -q -o "${dir}/all.gguf")
file(SHA256 "${dir}/one.gguf" h1)
file(SHA256 "${dir}/all.gguf" h2)
if(NOT h1 STREQUAL h2)
  message(FATAL_ERROR "synth wrote different files on one thread and on every core")
endif()

function(json_number doc key)
  string(JSON v ERROR_VARIABLE e GET "${doc}" ${key})
  if(e OR NOT v MATCHES "^[0-9.eE+-]+$")
    message(FATAL_ERROR "no number '${key}' in:\n${doc}")
  endif()
  set(${key} ${v} PARENT_SCOPE)
endfunction()

run_ok(${VKLLM} bench -m "${dir}/all.gguf" -p 16 -n 8 -r 1 --json)
foreach(k pp_tps tg_tps tg_gbs tg_wall_us tg_gpu_us tg_host_us tg_dispatches tg_barriers)
  json_number("${out}" ${k})
endforeach()
if(NOT pp_tps GREATER 0 OR NOT tg_tps GREATER 0 OR NOT tg_gpu_us GREATER 0 OR tg_wall_us LESS tg_gpu_us)
  message(FATAL_ERROR "bench -m: speeds or the decode loop's times are off:\n${out}")
endif()
if(NOT tg_dispatches GREATER 0 OR NOT tg_barriers LESS tg_dispatches)
  message(FATAL_ERROR "bench -m: a decode step of ${tg_dispatches} dispatches and ${tg_barriers} barriers:\n${out}")
endif()

run_ok(${VKLLM} bench --kernels --only peaks --json)
foreach(k copy_gbs fma_gflops dependent_dispatch_us)
  json_number("${out}" ${k})
  if(NOT ${k} GREATER 0)
    message(FATAL_ERROR "bench --kernels: ${k} is ${${k}}:\n${out}")
  endif()
endforeach()
string(JSON n LENGTH "${out}" kernels)
if(NOT n EQUAL 0)
  message(FATAL_ERROR "bench --kernels --only peaks listed ${n} kernels:\n${out}")
endif()
