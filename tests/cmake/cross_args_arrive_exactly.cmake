# Configures tests/projects/cross-args, then its linux/arm64 sub-build (the configure step only): the
# sub-build fails unless every CROSS_CMAKE_ARGS value arrived as written, the compiler launcher,
# CMAKE_INSTALL_PREFIX and the variables MULTIARCH_IMAGE_FORWARD_VARIABLES names were forwarded, and
# the images' targets exist. Then a sub-build whose CROSS_CMAKE_ARGS change CMAKE_INSTALL_PREFIX: its
# INSTALL image is refused there, naming both prefixes.
# Usage: cmake -DSOURCE_DIR=... -DWORK_DIR=... -P cross_args_arrive_exactly.cmake
set(build "${WORK_DIR}/cross-args")
file(REMOVE_RECURSE "${build}")
execute_process(COMMAND "${CMAKE_COMMAND}" -S "${SOURCE_DIR}/tests/projects/cross-args" -B "${build}" -G Ninja
                        -DMULTIARCH_IMAGE_SOURCE_DIR=${SOURCE_DIR} -DCMAKE_CXX_COMPILER_LAUNCHER=/usr/bin/env
                        "-DMY_OPTION=x;y" -DMULTIARCH_IMAGE_FORWARD_VARIABLES=MY_OPTION -DCMAKE_INSTALL_PREFIX=/opt/cross-args/
  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "configure failed:\n${out}${err}")
endif()
file(GLOB caches RELATIVE "${build}" "${build}/multiarch-image-cross/*.cmake")
list(LENGTH caches n)
if(NOT n EQUAL 1)
  message(FATAL_ERROR "expected one sub-build initial cache, found: ${caches}")
endif()
string(REGEX REPLACE "\\.cmake$" "/CMakeCache.txt" sub_cache "${caches}")
execute_process(COMMAND "${CMAKE_COMMAND}" --build "${build}" --target "${sub_cache}"
  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT status EQUAL 0 OR NOT out MATCHES "every CROSS_CMAKE_ARGS value arrived as written")
  message(FATAL_ERROR "the sub-build's configure failed or checked nothing:\n${out}${err}")
endif()
file(REMOVE_RECURSE "${build}")

execute_process(COMMAND "${CMAKE_COMMAND}" -S "${SOURCE_DIR}/tests/projects/cross-args" -B "${build}" -G Ninja
                        -DMULTIARCH_IMAGE_SOURCE_DIR=${SOURCE_DIR} -DCMAKE_INSTALL_PREFIX=/opt/cross-args
                        -DOTHER_PREFIX_ARG=-DCMAKE_INSTALL_PREFIX=/elsewhere
  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
file(GLOB caches RELATIVE "${build}" "${build}/multiarch-image-cross/*.cmake")
list(FILTER caches EXCLUDE REGEX "^$")
set(refused FALSE)
foreach(cache IN LISTS caches)
  string(REGEX REPLACE "\\.cmake$" "/CMakeCache.txt" sub_cache "${cache}")
  execute_process(COMMAND "${CMAKE_COMMAND}" --build "${build}" --target "${sub_cache}"
    RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
  string(REGEX REPLACE "[ \n]+" " " flat "${out}${err}")
  if(NOT status EQUAL 0 AND flat MATCHES "the linux/arm64 sub-build has CMAKE_INSTALL_PREFIX `/elsewhere`, the main build `/opt/cross-args`")
    set(refused TRUE)
  endif()
endforeach()
if(NOT refused)
  message(FATAL_ERROR "a sub-build with another CMAKE_INSTALL_PREFIX was not refused (sub-builds: ${caches}):\n${out}${err}")
endif()
file(REMOVE_RECURSE "${build}")
