# Builds tests/projects/link-closure's stage step (no engine): the project library written outside the
# build tree is staged, and an edit of it alone (CMAKE_LINK_DEPENDS_NO_SHARED: the program does not
# relink) restages it. With a multi-config generator, in the publishing configuration (Release); in
# another one the step stops, naming it. The link record names what app links, for the SBOM. Usage: cmake -DSOURCE_DIR=... -DWORK_DIR=... -DHELPER=...
# -DGENERATOR=... -P link_closure_is_staged.cmake
set(work "${WORK_DIR}/link-closure-${GENERATOR}")
string(REPLACE " " "-" work "${work}")
file(REMOVE_RECURSE "${work}")
file(COPY "${SOURCE_DIR}/tests/projects/link-closure/" DESTINATION "${work}/src")
include("${CMAKE_CURRENT_LIST_DIR}/run_or_fail.cmake")
set(config "")
if(GENERATOR MATCHES "Multi-Config")
  set(config --config Release)
endif()
file(WRITE "${work}/src/greet.cpp" "#define GREETING \"first\"\nconst char* greeting() { return GREETING; }\n")
run("${CMAKE_COMMAND}" -S "${work}/src" -B "${work}/build" -G "${GENERATOR}" -DMULTIARCH_IMAGE_SOURCE_DIR=${SOURCE_DIR}
    -DMULTIARCH_IMAGE_HELPER=${HELPER} -DOUT_DIR=${work}/out)
run("${CMAKE_COMMAND}" --build "${work}/build" --target app-stage-linux-amd64 ${config})
set(staged "${work}/build/multiarch-image/app/context/.multiarch-stage/linux-amd64/usr/lib/libgreet.so")
if(NOT EXISTS "${staged}")
  message(FATAL_ERROR "libgreet.so, written to ${work}/out/lib, was not staged")
endif()
file(STRINGS "${staged}" first REGEX "^first$")
# The SBOM's view of the link: app -> the project's static library middle -> zlib1g-dev (through an
# interface library).
file(READ "${work}/build/multiarch-image/app/stage-linux-amd64.linked.json" linked)
string(JSON app_links GET "${linked}" edges "file:/usr/local/bin/app")
string(JSON middle_links GET "${linked}" edges "target:middle")
if(NOT app_links MATCHES "\"target:middle\"" OR NOT middle_links MATCHES "\"deb:zlib1g-dev:amd64\""
   OR NOT middle_links MATCHES "\"file:/usr/lib/libgreet.so\"")
  message(FATAL_ERROR "the link record's edges are not app -> middle -> zlib1g-dev, libgreet:\n${linked}")
endif()
execute_process(COMMAND "${CMAKE_COMMAND}" -E sleep 1.1)
file(WRITE "${work}/src/greet.cpp" "#define GREETING \"second\"\nconst char* greeting() { return GREETING; }\n")
run("${CMAKE_COMMAND}" --build "${work}/build" --target app-stage-linux-amd64 ${config})
file(STRINGS "${staged}" second REGEX "^second$")
if(NOT first STREQUAL "first" OR NOT second STREQUAL "second")
  message(FATAL_ERROR "the staged library was not brought up to date (before: `${first}`, after: `${second}`)")
endif()
if(config)
  execute_process(COMMAND "${CMAKE_COMMAND}" --build "${work}/build" --target app-stage-linux-amd64 --config Debug
    RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(status EQUAL 0 OR NOT "${out}${err}" MATCHES "built and published in the Release configuration .MULTIARCH_IMAGE_CONFIG., not Debug")
    message(FATAL_ERROR "a Debug build of the image's steps was not refused:\n${out}${err}")
  endif()
endif()
file(REMOVE_RECURSE "${work}")
message(STATUS "the project library outside the build tree was staged, and restaged after an edit")
