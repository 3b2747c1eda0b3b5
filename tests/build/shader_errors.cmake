# The shader build step (shaders/compile_shader.cmake) fails on a broken shader and says where:
# the file and the line from glslangValidator, and the variant name from our script.
execute_process(COMMAND ${CMAKE_COMMAND}
                -DGLSLANG=${GLSLANG} -DSPIRV_OPT=${SPIRV_OPT} -DSPIRV_VAL=${SPIRV_VAL} -DTARGET_ENV=vulkan1.2
                -DSRC=${SRC_DIR}/tests/build/broken.comp -DINCLUDE=${SRC_DIR}/shaders
                -DOUT=${OUT_DIR}/broken.spv -DNAME=broken_test -DDEFINES= -DNO_OPT=0
                -P ${SRC_DIR}/shaders/compile_shader.cmake
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0)
  message(FATAL_ERROR "a broken shader compiled")
endif()
if(NOT err MATCHES "broken.comp:6:" OR NOT err MATCHES "shader broken_test")
  message(FATAL_ERROR "the error does not name the file, line and variant:\n${err}")
endif()
if(EXISTS ${OUT_DIR}/broken.spv)
  message(FATAL_ERROR "a broken shader left an output file behind")
endif()
message(STATUS "broken shader refused:\n${err}")
