# Configures tests/projects/old-policies (CMP0116 unset) with Ninja: every depfile of the module's
# steps goes through CMake's depfile transformation (the module's CMP0116 NEW, in whichever of its
# files the step's function is defined), while the project's own depfile does not (its policies).
# Usage: cmake -DSOURCE_DIR=... -DWORK_DIR=... -P module_policies_apply.cmake
set(build "${WORK_DIR}/old-policies")
file(REMOVE_RECURSE "${build}")
execute_process(
  COMMAND "${CMAKE_COMMAND}" -S "${SOURCE_DIR}/tests/projects/old-policies" -B "${build}" -G Ninja
          -DMULTIARCH_IMAGE_SOURCE_DIR=${SOURCE_DIR}
  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "configure failed:\n${out}${err}")
endif()
file(READ "${build}/build.ninja" ninja)
foreach(depfile IN ITEMS build-linux-amd64.d context.d stage-linux-amd64.stamp.d)
  if(NOT ninja MATCHES "cmake_transform_depfile [^\n]*/multiarch-image/app/${depfile} ")
    message(FATAL_ERROR "the module's depfile ${depfile} is not transformed for Ninja: its function did not run "
      "under the module's policies (CMP0116 NEW)")
  endif()
endforeach()
if(NOT ninja MATCHES "\n  depfile = own\\.d\n" OR ninja MATCHES "cmake_transform_depfile [^\n]*/own\\.d")
  message(FATAL_ERROR "the project's own depfile was transformed: the project does not run under CMP0116 OLD, "
    "so this test proves nothing")
endif()
file(REMOVE_RECURSE "${build}")
message(STATUS "the module's depfiles follow its policies, the project's its own")
