# Every broken file of the corpus (make_bad_files) is refused by `vkllm inspect`: exit 1, one line
# on stderr that names the file and matches the expected message, no sanitizer report. VKLLM is
# the AddressSanitizer + UndefinedBehaviorSanitizer build (vkllm_san), so a read out of bounds or
# an overflow anywhere in the checks fails the test even when the message is right.
set(dir "${WORK_DIR}/bad_files")
file(REMOVE_RECURSE "${dir}")
file(MAKE_DIRECTORY "${dir}")
execute_process(COMMAND ${MAKE_BAD_FILES} "${dir}" RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "make_bad_files failed: ${err}")
endif()
set(ENV{ASAN_OPTIONS} "detect_leaks=1:abort_on_error=0:exitcode=99")
set(ENV{UBSAN_OPTIONS} "halt_on_error=1:print_stacktrace=1:exitcode=98")

# the good file passes
execute_process(COMMAND ${VKLLM} inspect -m "${dir}/good.gguf" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the good file was refused (${rc}): ${err}")
endif()

file(STRINGS "${dir}/index.txt" lines)
set(n 0)
foreach(line IN LISTS lines)
  string(REGEX MATCH "^([^\t]+)\t(.*)$" _ "${line}")
  set(name "${CMAKE_MATCH_1}")
  set(expect "${CMAKE_MATCH_2}")
  foreach(verb inspect run)
    execute_process(COMMAND ${VKLLM} ${verb} -m "${dir}/${name}" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
                    TIMEOUT 60)
    string(STRIP "${err}" err)
    string(FIND "${err}" "\n" newline)
    # the message is matched without the path, which could contain anything
    string(REPLACE "${dir}/${name}" "FILE" message "${err}")
    if(NOT rc EQUAL 1 OR NOT message MATCHES "^vkllm: error: .*FILE" OR NOT message MATCHES "${expect}" OR NOT newline EQUAL -1)
      message(FATAL_ERROR "${verb} ${name}: exit ${rc}, expected 1 and one line matching '${expect}':\n${err}\n${out}")
    endif()
    if(verb STREQUAL "inspect")
      message(STATUS "ok ${name}: ${err}")
    endif()
  endforeach()
  math(EXPR n "${n} + 1")
endforeach()
if(n LESS 40)
  message(FATAL_ERROR "only ${n} broken files: the corpus generator lost some")
endif()
message(STATUS "${n} broken files refused")
file(REMOVE_RECURSE "${dir}")
