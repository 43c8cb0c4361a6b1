# Configures tests/projects/<PROJECT> with -DCASE=<CASE> and checks the outcome:
#   EXPECT=success, or EXPECT=<regex> that the failing configure's output must match, or
#   EXPECT=warning:<regex> (succeeds, and says that) or EXPECT=nowarning:<regex> (succeeds, and does not).
# Usage: cmake -DPROJECT=... -DCASE=... -DEXPECT=... -DSOURCE_DIR=... -DWORK_DIR=... -P expect_configure.cmake
set(build "${WORK_DIR}/${CASE}")
file(REMOVE_RECURSE "${build}")
execute_process(
  COMMAND "${CMAKE_COMMAND}" -S "${SOURCE_DIR}/tests/projects/${PROJECT}" -B "${build}"
          -DCASE=${CASE} -DMULTIARCH_IMAGE_SOURCE_DIR=${SOURCE_DIR}
  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(output "${out}${err}")
string(REGEX REPLACE "[ \n]+" " " flat "${output}")  # CMake wraps long messages
if(EXPECT MATCHES "^(success|warning:|nowarning:)(.*)$")
  set(kind "${CMAKE_MATCH_1}")
  set(regex "${CMAKE_MATCH_2}")
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "case ${CASE}: configure failed, expected success:\n${output}")
  endif()
  if(kind STREQUAL "warning:" AND NOT flat MATCHES "${regex}")
    message(FATAL_ERROR "case ${CASE}: the output does not say `${regex}`:\n${output}")
  elseif(kind STREQUAL "nowarning:" AND flat MATCHES "${regex}")
    message(FATAL_ERROR "case ${CASE}: the output says `${regex}`, which it must not:\n${output}")
  endif()
else()
  if(status EQUAL 0)
    message(FATAL_ERROR "case ${CASE}: configure succeeded, expected an error matching `${EXPECT}`:\n${output}")
  endif()
  if(NOT flat MATCHES "${EXPECT}")
    message(FATAL_ERROR "case ${CASE}: the error does not match `${EXPECT}`:\n${output}")
  endif()
endif()
file(REMOVE_RECURSE "${build}")
message(STATUS "case ${CASE}: as expected")
