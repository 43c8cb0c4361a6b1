# Builds tests/projects/runtime-lookup's stage step (no engine) with the real dpkg-query behind a
# wrapper that counts its calls, on a copy of the machine's dpkg database (DPKG_ADMINDIR, which the
# helper and dpkg-query both read): the first stage asks dpkg, a restage after an edit of the program
# does not, and a restage after the database changed (rewritten as dpkg rewrites it) asks again.
# Usage: cmake -DSOURCE_DIR=... -DWORK_DIR=... -DHELPER=... -P runtime_packages_remembered.cmake
set(work "${WORK_DIR}/runtime-lookup")
file(REMOVE_RECURSE "${work}")
file(COPY "${SOURCE_DIR}/tests/projects/runtime-lookup/" DESTINATION "${work}/src")
include("${CMAKE_CURRENT_LIST_DIR}/run_or_fail.cmake")
find_program(dpkg_query dpkg-query REQUIRED)
set(calls "${work}/dpkg-query-calls")
file(WRITE "${work}/bin/dpkg-query" "#!/bin/sh\nprintf '%s\\n' \"$1\" >>'${calls}'\nexec '${dpkg_query}' \"$@\"\n")
file(CHMOD "${work}/bin/dpkg-query" PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE)
file(WRITE "${calls}" "")
# The database: the machine's, with its own status file (the one dpkg replaces on every change).
file(MAKE_DIRECTORY "${work}/dpkg")
file(GLOB entries "/var/lib/dpkg/*")
foreach(entry IN LISTS entries)
  get_filename_component(name "${entry}" NAME)
  if(NOT name STREQUAL "status")
    file(CREATE_LINK "${entry}" "${work}/dpkg/${name}" SYMBOLIC)
  endif()
endforeach()
file(COPY_FILE /var/lib/dpkg/status "${work}/dpkg/status")

function(edit_and_stage text expect_calls why)
  file(WRITE "${work}/src/main.cpp" "#include <iostream>\nint main() { std::cout << \"${text}\\n\"; }\n")
  run("${CMAKE_COMMAND}" -E env "PATH=${work}/bin:$ENV{PATH}" "DPKG_ADMINDIR=${work}/dpkg"
      "${CMAKE_COMMAND}" --build "${work}/build" --target app-stage-linux-amd64)
  file(STRINGS "${calls}" lines)
  list(LENGTH lines n)
  if(NOT n EQUAL expect_calls)
    message(FATAL_ERROR "${why}: dpkg-query was called ${n} times in all, not ${expect_calls}:\n${lines}")
  endif()
  file(STRINGS "${work}/build/multiarch-image/app/context/.multiarch-stage/linux-amd64/usr/local/bin/app" staged REGEX "${text}")
  if(NOT staged)
    message(FATAL_ERROR "the edit `${text}` was not staged")
  endif()
endfunction()

run("${CMAKE_COMMAND}" -S "${work}/src" -B "${work}/build" -G Ninja -DMULTIARCH_IMAGE_SOURCE_DIR=${SOURCE_DIR}
    -DMULTIARCH_IMAGE_HELPER=${HELPER})
edit_and_stage(first 2 "the first stage asks dpkg-query -S and -W once each")
file(READ "${work}/build/multiarch-image/app/stage-linux-amd64.files.json" record)
if(NOT record MATCHES "\"libstdc\\+\\+6\"")
  message(FATAL_ERROR "the stage's record names no package for libstdc++:\n${record}")
endif()
execute_process(COMMAND "${CMAKE_COMMAND}" -E sleep 1.1)
edit_and_stage(second 2 "a restage after an edit of the program alone")
# As dpkg does on an install, an upgrade or a removal: a new status file renamed over the old one.
file(COPY_FILE /var/lib/dpkg/status "${work}/dpkg/status-new")
file(RENAME "${work}/dpkg/status-new" "${work}/dpkg/status")
execute_process(COMMAND "${CMAKE_COMMAND}" -E sleep 1.1)
edit_and_stage(third 4 "a restage after dpkg's database changed")
file(REMOVE_RECURSE "${work}")
message(STATUS "dpkg was asked on the first stage and after its database changed, not after an edit of the program")
