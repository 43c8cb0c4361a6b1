# Builds tests/projects/installed's images (BASE scratch: no engine, no registry) with GENERATOR and
# checks what INSTALL stages and when, with DESTDIR set in the environment as packagers do:
# - nothing reaches the build machine (ESCAPE_DIR, DESTDIR stay absent); an absolute destination is
#   staged where the install rules put it;
# - a clean tree builds an image alone, its custom target in `all` first; an edit of that target's
#   input regenerates and restages;
# - the programs find the library the install put in /usr/local/lib (run in a chroot of the stage),
#   and the stale copy an INSTALL_RPATH names on the build machine is never staged;
# - ENTRYPOINT is the one executable of TARGETS though INSTALL adds another; a data-only image has none;
# - a rebuild with nothing changed stages nothing; an edit of an install(SCRIPT) restages its image,
#   an edit of one component's file only the image installing it;
# - (Ninja) a second build directory gives the same image digests.
# What depends on the generator runs with each (the order of `all`, the no-op, Multi-Config's
# configurations); what the helper decides alone (the chroot runs, the install(SCRIPT) edit, the
# second build directory) with Ninja only.
# Every check runs, and the failures are listed together.
# Usage: cmake -DSOURCE_DIR=... -DWORK_DIR=... -DHELPER=... -DGENERATOR=... -P install_is_staged.cmake
set(work "${WORK_DIR}/installed-${GENERATOR}")
string(REPLACE " " "-" work "${work}")
file(REMOVE_RECURSE "${work}")
file(COPY "${SOURCE_DIR}/tests/projects/installed/" DESTINATION "${work}/src")
set(failures "")
function(check what)  # check(<what failed> <if() condition>...)
  if(NOT (${ARGN}))
    set(failures "${failures}\n  ${what}" PARENT_SCOPE)
  endif()
endfunction()
function(run out)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE status OUTPUT_VARIABLE text ERROR_VARIABLE err)
  if(NOT status EQUAL 0)
    file(REMOVE_RECURSE "${work}/escape")  # never left behind, even by a broken stage
    message(FATAL_ERROR "${ARGN} failed:\n${text}${err}")
  endif()
  set(${out} "${text}${err}" PARENT_SCOPE)
endfunction()
set(config "")
if(GENERATOR MATCHES "Multi-Config")
  set(config --config Release)
endif()
set(images app both notes)
set(image_targets app-build-linux-amd64 both-build-linux-amd64 notes-build-linux-amd64)
file(MAKE_DIRECTORY "${work}/stale")
file(COPY_FILE /lib/x86_64-linux-gnu/libselinux.so.1 "${work}/stale/libproto.so.1")  # not the project's library

function(configure_and_build build)
  run(out "${CMAKE_COMMAND}" -S "${work}/src" -B "${build}" -G "${GENERATOR}" -DMULTIARCH_IMAGE_SOURCE_DIR=${SOURCE_DIR}
      -DMULTIARCH_IMAGE_HELPER=${HELPER} -DESCAPE_DIR=${work}/escape -DSTALE_DIR=${work}/stale)
  # From a clean tree, the images alone: `gen` (in all) must run before the stage that installs its file.
  run(out "${CMAKE_COMMAND}" -E env DESTDIR=${work}/packager "${CMAKE_COMMAND}" --build "${build}" --target ${image_targets} ${config})
  set(first_build "${out}" PARENT_SCOPE)
endfunction()
set(build "${work}/build")
configure_and_build("${build}")
set(stage "${build}/multiarch-image/app/context/.multiarch-stage/linux-amd64")
file(READ "${build}/multiarch-image/app/stage-linux-amd64.stamp" listed)
set(listed "\n${listed}")
function(staged out entry)  # whether the stage's stamp lists `entry`
  string(FIND "${listed}" "\n${entry}\n" at)
  if(at EQUAL -1)
    set(${out} FALSE PARENT_SCOPE)
  else()
    set(${out} TRUE PARENT_SCOPE)
  endif()
endfunction()

# Nothing on the build machine; everything in the image, where the install rules put it.
check("an absolute destination was written to the build machine (${work}/escape)" NOT EXISTS "${work}/escape")
check("the caller's DESTDIR (${work}/packager) received files" NOT EXISTS "${work}/packager")
foreach(entry IN ITEMS "usr/local/etc/installed/gen.conf"
                       "usr/local/bin/server" "usr/local/bin/hosty" "usr/local/lib/libproto.so.1" "usr/local/share/extra.txt")
  staged(there "${entry}")
  check("${entry} is not staged" there)
endforeach()
string(REGEX REPLACE "^/" "" escape_in_image "${work}/escape/etc/app.conf")
staged(there "${escape_in_image}")
check("the destination ${work}/escape/etc is not staged under the image's root" there)

# The library the install put in /usr/local/lib, found by the programs; the build machine's stale copy never staged.
staged(linked "usr/lib/libproto.so.1")
check("no /usr/lib/libproto.so.1 names the installed library (listed: ${listed})" linked)
staged(runtime_copy "lib/libproto.so.1")
check("the stale libproto.so.1 of ${work}/stale was staged as lib/libproto.so.1" NOT runtime_copy)
file(READ "${build}/multiarch-image/app/stage-linux-amd64.files.json" files_json)
string(FIND "${files_json}" "${work}/stale" stale_recorded)
check("the staged-files record names the stale copy" stale_recorded EQUAL -1)
execute_process(COMMAND id -u OUTPUT_VARIABLE uid OUTPUT_STRIP_TRAILING_WHITESPACE)
set(chroot chroot)
if(NOT uid STREQUAL "0")
  set(chroot unshare -r chroot)
endif()
set(programs "")
if(GENERATOR STREQUAL "Ninja")
  set(programs server hosty)
endif()
foreach(program IN LISTS programs)
  execute_process(COMMAND ${chroot} "${stage}" /usr/local/bin/${program} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
  check("/usr/local/bin/${program} in the staged tree: exit ${status}, ${out}${err}" status EQUAL 0 AND out STREQUAL "answer 42\n")
endforeach()

# ENTRYPOINT decided at configure time: TARGETS' server, though INSTALL COMPONENTS extra adds a program.
function(image_config out image)
  file(READ "${build}/multiarch-image/${image}/build-linux-amd64.json" record)
  string(JSON manifest_digest GET "${record}" image_id)
  string(REPLACE "sha256:" "" manifest_digest "${manifest_digest}")
  file(READ "${build}/multiarch-image/${image}/oci/blobs/sha256/${manifest_digest}" manifest)
  string(JSON config_digest GET "${manifest}" config digest)
  string(REPLACE "sha256:" "" config_digest "${config_digest}")
  file(READ "${build}/multiarch-image/${image}/oci/blobs/sha256/${config_digest}" image_config)
  string(JSON inner GET "${image_config}" config)
  set(${out} "${inner}" PARENT_SCOPE)
endfunction()
image_config(both_config both)
string(JSON entrypoint ERROR_VARIABLE none GET "${both_config}" Entrypoint)
set(server FALSE)
if(NOT none)
  string(JSON server EQUAL "${entrypoint}" [==[["/usr/local/bin/server"]]==])
endif()
check("both's Entrypoint is `${entrypoint}`, not [\"/usr/local/bin/server\"]" server)
image_config(notes_config notes)
string(JSON entrypoint ERROR_VARIABLE none GET "${notes_config}" Entrypoint)
check("the data-only image has an Entrypoint: ${entrypoint}" none)

# A rebuild with nothing changed stages nothing.
run(out "${CMAKE_COMMAND}" --build "${build}" --target ${image_targets} ${config})
string(REGEX MATCHALL "multiarch-image: (stage|build) [a-z]+" redone "${out}")
check("the rebuild with nothing changed ran: ${redone}" NOT redone)

function(edited file content)
  execute_process(COMMAND "${CMAKE_COMMAND}" -E sleep 1.1)
  file(WRITE "${work}/src/${file}" "${content}")
  run(out "${CMAKE_COMMAND}" --build "${build}" --target ${image_targets} ${config})
  string(REGEX MATCHALL "multiarch-image: stage [a-z]+" restaged "${out}")
  set(restaged "${restaged}" PARENT_SCOPE)
endfunction()
# One component's file: only the image that installs it (with Multi-Config: of one configuration).
if(NOT GENERATOR STREQUAL "Unix Makefiles")
  edited(notes.txt "notes 2\n")
  check("an edit of notes.txt (component notes) restaged: ${restaged}" restaged STREQUAL "multiarch-image: stage notes")
endif()
# install(SCRIPT): its image restaged with what it writes now (the depfile is the same for every generator).
if(GENERATOR STREQUAL "Ninja")
  edited(extra.cmake "file(WRITE \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/share/extra.txt\" \"extra 2\\n\")\n")
  check("an edit of the install(SCRIPT) restaged: `${restaged}`" restaged STREQUAL "multiarch-image: stage app")
  file(READ "${stage}/usr/local/share/extra.txt" extra)
  check("the install(SCRIPT)'s new output is not staged: ${extra}" extra STREQUAL "extra 2\n")
endif()
# The custom target's input: regenerated, then restaged, in one build.
edited(gen.conf.in "generated 2\n")
file(READ "${stage}/usr/local/etc/installed/gen.conf" generated)
check("the regenerated gen.conf is not staged: ${generated}" generated STREQUAL "generated 2\n")
check("an absolute destination was written to the build machine on a rebuild" NOT EXISTS ${work}/escape)

# The same images from another build directory.
if(GENERATOR STREQUAL "Ninja")
  configure_and_build("${work}/other build")
  foreach(image IN LISTS images)
    file(READ "${build}/multiarch-image/${image}/build-linux-amd64.json" here)
    file(READ "${work}/other build/multiarch-image/${image}/build-linux-amd64.json" there)
    string(JSON here GET "${here}" image_id)
    string(JSON there GET "${there}" image_id)
    check("${image} has the digest ${here} in one build directory and ${there} in another" here STREQUAL there)
  endforeach()
endif()

file(REMOVE_RECURSE "${work}/escape" "${work}/packager")
if(failures)
  message(FATAL_ERROR "INSTALL (${GENERATOR}):${failures}")
endif()
file(REMOVE_RECURSE "${work}")
message(STATUS "INSTALL staged what the install rules install, nothing outside the stage, each image when its files changed")
