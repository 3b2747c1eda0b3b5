# The README's main job: `vkllm run` with no model exercises the device, says honestly that it
# does not generate text yet, and is clean under the validation layer (VKLLM_VALIDATION=1 makes
# any validation message an error with a non-zero exit).
execute_process(COMMAND ${CMAKE_COMMAND} -E env VKLLM_VALIDATION=1 ${VKLLM} run
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 300)
message(STATUS "${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "vkllm run exited ${rc}:\n${out}\n${err}")
endif()
foreach(pattern "cannot generate text yet" "fill_f32 .* GB/s" "copy_f32_f16 .* GB/s" "verified: all [0-9]+ values")
  if(NOT out MATCHES "${pattern}")
    message(FATAL_ERROR "vkllm run output does not match '${pattern}':\n${out}")
  endif()
endforeach()
if(err MATCHES "validation")
  message(FATAL_ERROR "validation messages:\n${err}")
endif()
