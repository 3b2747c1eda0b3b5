# run_ok(ARGS...): runs a command under ${env} (the caller's, with VKLLM_VALIDATION=1), stdin from
# /dev/null; it must exit 0 without a validation message. Sets out and err in the caller.
# Shared by the CLI tests (run_generate, run_chat).
function(run_ok)
  execute_process(COMMAND ${env} ${ARGN} INPUT_FILE /dev/null RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
                  TIMEOUT 900)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "`${ARGN}` exited ${rc}\nstdout: ${out}\nstderr: ${err}")
  endif()
  if(err MATCHES "VUID|[Vv]alidation")
    message(FATAL_ERROR "`${ARGN}`: validation messages:\n${err}")
  endif()
  set(out "${out}" PARENT_SCOPE)
  set(err "${err}" PARENT_SCOPE)
endfunction()
