# Bad input and missing pieces: one clear line, the right exit code, never a crash or a hang.
function(expect_failure code pattern)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 60)
  if(NOT rc STREQUAL "${code}")
    message(FATAL_ERROR "`${ARGN}` exited '${rc}', expected ${code}\nstdout: ${out}\nstderr: ${err}")
  endif()
  if(NOT err MATCHES "${pattern}")
    message(FATAL_ERROR "`${ARGN}`: stderr does not match '${pattern}':\n${err}")
  endif()
  message(STATUS "ok: ${ARGN} -> ${rc}")
endfunction()

# unknown flags and verbs print the usage and exit 2
expect_failure(2 "unknown option '--frobnicate'.*usage: vkllm run" ${VKLLM} run --frobnicate)
expect_failure(2 "unknown option '--nope'.*usage: vkllm devices" ${VKLLM} devices --nope)
expect_failure(2 "unknown verb 'frobnicate'.*usage: vkllm" ${VKLLM} frobnicate)
expect_failure(2 "missing value for '-m'" ${VKLLM} run -m)
expect_failure(2 "--device needs an index" ${VKLLM} run --device x)
expect_failure(2 "usage: vkllm" ${VKLLM})
# a model path that does not exist is named
expect_failure(1 "model '/nonexistent/dir/model.gguf': No such file or directory" ${VKLLM} run -m /nonexistent/dir/model.gguf)
# a device index that does not exist
expect_failure(2 "device 4096 does not exist" ${VKLLM} run --device 4096)
expect_failure(2 "VKLLM_DEVICE: device 4096 does not exist" ${CMAKE_COMMAND} -E env VKLLM_DEVICE=4096 ${VKLLM} run)
# no Vulkan loader: the package that provides it is named, exit 2
expect_failure(2 "no Vulkan loader.*libvulkan1" ${CMAKE_COMMAND} -E env VKLLM_VULKAN_LOADER=libvulkan-missing.so.1 ${VKLLM} devices)
expect_failure(2 "no Vulkan loader.*libvulkan1" ${CMAKE_COMMAND} -E env VKLLM_VULKAN_LOADER=libvulkan-missing.so.1 ${VKLLM} run)
# a loader but no driver: the package that provides one is named, exit 2
expect_failure(2 "no Vulkan (driver|device) found.*mesa-vulkan-drivers"
               ${CMAKE_COMMAND} -E env VK_DRIVER_FILES=/nonexistent/icd.json VK_ICD_FILENAMES=/nonexistent/icd.json ${VKLLM} devices)
expect_failure(2 "no Vulkan (driver|device) found.*mesa-vulkan-drivers"
               ${CMAKE_COMMAND} -E env VK_DRIVER_FILES=/nonexistent/icd.json VK_ICD_FILENAMES=/nonexistent/icd.json ${VKLLM} run)
# help is not an error
execute_process(COMMAND ${VKLLM} run --help RESULT_VARIABLE rc OUTPUT_VARIABLE out)
if(NOT rc EQUAL 0 OR NOT out MATCHES "usage: vkllm run")
  message(FATAL_ERROR "run --help exited ${rc}:\n${out}")
endif()
