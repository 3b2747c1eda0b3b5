# One shader variant: glslangValidator, spirv-opt -O (unless NO_OPT), spirv-val.
# Run as `cmake -P` by the rule in shaders/CMakeLists.txt; any failure stops the build and
# names the variant, the source and the step, after the tool's own file:line message.
set(args -V --target-env ${TARGET_ENV} -I${INCLUDE})
if(DEFINES)
  string(REPLACE "|" ";" define_list "${DEFINES}")
  foreach(d ${define_list})
    list(APPEND args -D${d})
  endforeach()
endif()
set(raw ${OUT}.raw)
execute_process(COMMAND ${GLSLANG} ${args} ${SRC} -o ${raw}
                RESULT_VARIABLE rc OUTPUT_VARIABLE log ERROR_VARIABLE log)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${log}\nshader ${NAME}: ${SRC} failed to compile (glslangValidator, see the ERROR lines above)")
endif()
if(NO_OPT)
  file(RENAME ${raw} ${OUT}.opt)
else()
  execute_process(COMMAND ${SPIRV_OPT} -O ${raw} -o ${OUT}.opt
                  RESULT_VARIABLE rc OUTPUT_VARIABLE log ERROR_VARIABLE log)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${log}\nshader ${NAME}: ${SRC}: spirv-opt -O failed (add NO_OPT to its line in variants.cmake if spirv-opt is at fault)")
  endif()
  file(REMOVE ${raw})
endif()
execute_process(COMMAND ${SPIRV_VAL} --target-env ${TARGET_ENV} ${OUT}.opt
                RESULT_VARIABLE rc OUTPUT_VARIABLE log ERROR_VARIABLE log)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${log}\nshader ${NAME}: ${SRC}: spirv-val rejected the SPIR-V")
endif()
file(RENAME ${OUT}.opt ${OUT})
