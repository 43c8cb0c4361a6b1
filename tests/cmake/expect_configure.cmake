# Configures tests/projects/<PROJECT> with -DCASE=<CASE> and checks the outcome:
#   EXPECT=success, or EXPECT=<regex> that the failing configure's output must match.
# Usage: cmake -DPROJECT=... -DCASE=... -DEXPECT=... -DSOURCE_DIR=... -DWORK_DIR=... -P expect_configure.cmake
set(build "${WORK_DIR}/${CASE}")
file(REMOVE_RECURSE "${build}")
execute_process(
  COMMAND "${CMAKE_COMMAND}" -S "${SOURCE_DIR}/tests/projects/${PROJECT}" -B "${build}"
          -DCASE=${CASE} -DMULTIARCH_IMAGE_SOURCE_DIR=${SOURCE_DIR}
  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(output "${out}${err}")
if(EXPECT STREQUAL "success")
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "case ${CASE}: configure failed, expected success:\n${output}")
  endif()
else()
  if(status EQUAL 0)
    message(FATAL_ERROR "case ${CASE}: configure succeeded, expected an error matching `${EXPECT}`:\n${output}")
  endif()
  string(REGEX REPLACE "[ \n]+" " " flat "${output}")  # CMake wraps long messages
  if(NOT flat MATCHES "${EXPECT}")
    message(FATAL_ERROR "case ${CASE}: the error does not match `${EXPECT}`:\n${output}")
  endif()
endif()
file(REMOVE_RECURSE "${build}")
message(STATUS "case ${CASE}: as expected")
