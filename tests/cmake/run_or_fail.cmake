# run(<command> <arg>...): runs the command, and stops the test script with its output when it fails.
# Included by the test scripts that drive a build step by step.
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "${ARGN} failed:\n${out}${err}")
  endif()
endfunction()
