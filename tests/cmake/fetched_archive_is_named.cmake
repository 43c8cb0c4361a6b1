# Builds tests/projects/link-closure's stage step (no engine) with a library FetchContent downloads as
# an archive (its tarred/ directory packed here, served by a file:// URL): the stage's record names it
# by its URL, its declared SHA-256 and its project's version. The same archive built by an
# ExternalProject, linked through an imported target depending on it, is named by that project's URL
# and hash; built by an ExternalProject cloning a git repository (named by the target's
# MULTIARCH_IMAGE_SBOM_SOURCE, as the target depends on both), by that repository at the commit. Then, configured again offline (FETCHCONTENT_FULLY_DISCONNECTED, the tree already there)
# with the content declared at an https URL holding a token in its userinfo and its query, the record
# names that URL without either, and the token is in no record. Usage: cmake -DSOURCE_DIR=...
# -DWORK_DIR=... -DHELPER=... -P fetched_archive_is_named.cmake
set(work "${WORK_DIR}/fetched-archive")
file(REMOVE_RECURSE "${work}")
file(COPY "${SOURCE_DIR}/tests/projects/link-closure/" DESTINATION "${work}/src")
include("${CMAKE_CURRENT_LIST_DIR}/run_or_fail.cmake")
# The stage's record, and the text of every record of the image's steps.
function(read_records linked_var all_var)
  file(READ "${work}/build/multiarch-image/app/stage-linux-amd64.linked.json" linked)
  set(all "${linked}")
  file(GLOB records "${work}/build/multiarch-image/app/*.json")
  foreach(record IN LISTS records)
    file(READ "${record}" text)
    string(APPEND all "\n${text}")
  endforeach()
  set(${linked_var} "${linked}" PARENT_SCOPE)
  set(${all_var} "${all}" PARENT_SCOPE)
endfunction()
file(WRITE "${work}/src/greet.cpp" "const char* greeting() { return \"hello\"; }\n")
run("${CMAKE_COMMAND}" -E chdir "${work}/src" "${CMAKE_COMMAND}" -E tar czf "${work}/tarred-0.3.1.tar.gz" tarred)
file(SHA256 "${work}/tarred-0.3.1.tar.gz" hash)
file(COPY_FILE "${work}/tarred-0.3.1.tar.gz" "${work}/tarred-ep.tar.gz")
set(url "file://${work}/tarred-0.3.1.tar.gz")
set(ep_url "file://${work}/tarred-ep.tar.gz")
# A git repository of the same sources, for the ExternalProject that clones.
find_package(Git REQUIRED)
file(COPY "${work}/src/tarred/" DESTINATION "${work}/tarred-git")
run("${GIT_EXECUTABLE}" -C "${work}/tarred-git" init -q -b main)
run("${GIT_EXECUTABLE}" -C "${work}/tarred-git" add -A)
run("${GIT_EXECUTABLE}" -C "${work}/tarred-git" -c user.name=test -c user.email=test@example.invalid commit -q -m tarred)
execute_process(COMMAND "${GIT_EXECUTABLE}" -C "${work}/tarred-git" rev-parse HEAD OUTPUT_VARIABLE commit
  OUTPUT_STRIP_TRAILING_WHITESPACE)
set(configure "${CMAKE_COMMAND}" -S "${work}/src" -B "${work}/build" -G Ninja -DMULTIARCH_IMAGE_SOURCE_DIR=${SOURCE_DIR}
    -DMULTIARCH_IMAGE_HELPER=${HELPER} -DOUT_DIR=${work}/out -DTARRED_EP_URL=${ep_url} -DTARRED_SHA256=${hash}
    -DTARRED_GIT=${work}/tarred-git)
run(${configure} -DTARRED_URL=${url})
run("${CMAKE_COMMAND}" --build "${work}/build" --target app-stage-linux-amd64)
read_records(linked all)
set(ref "archive:${url}@sha256:${hash}")
string(FIND "${linked}" "\"ref\":\"${ref}\"" at)
string(JSON middle_links GET "${linked}" edges "target:middle")
string(FIND "${middle_links}" "\"${ref}\"" edge)
if(at EQUAL -1 OR edge EQUAL -1 OR NOT linked MATCHES "\"kind\":\"archive\",\"name\":\"tarred\"[^}]*\"version\":\"0.3.1\",\"checksum\":\"sha256:${hash}\"")
  message(FATAL_ERROR "the archive is not the component ${ref} at version 0.3.1 that middle links:\n${linked}")
endif()
# The imported library the ExternalProject built: named by that project's URL and hash.
set(ep_ref "archive:${ep_url}@sha256:${hash}")
string(FIND "${middle_links}" "\"${ep_ref}\"" ep_edge)
if(ep_edge EQUAL -1 OR NOT linked MATCHES "\"kind\":\"archive\",\"name\":\"tarred_ep\"")
  message(FATAL_ERROR "the ExternalProject's library is not the component ${ep_ref} that middle links:\n${linked}")
endif()
# The one the cloning ExternalProject built, named by its property: the repository at the commit cloned.
set(git_ref "vcs:${work}/tarred-git@${commit}")
string(FIND "${middle_links}" "\"${git_ref}\"" git_edge)
if(git_edge EQUAL -1 OR NOT linked MATCHES "\"kind\":\"repository\",\"name\":\"tarred-git\"[^}]*\"targets\":\\[\"tarred_cloned\"\\]")
  message(FATAL_ERROR "the cloned ExternalProject's library is not the component ${git_ref} that middle links:\n${linked}")
endif()

# Declared with credentials in the URL; populated already, nothing downloaded.
string(SUBSTRING "s3cret${hash}" 0 20 token)
run(${configure} "-DTARRED_URL=https://ci:${token}@downloads.example/tarred-0.3.1.tar.gz?private_token=${token}"
    -DFETCHCONTENT_FULLY_DISCONNECTED=ON)
run("${CMAKE_COMMAND}" --build "${work}/build" --target app-stage-linux-amd64)
read_records(linked all)
set(ref "archive:https://downloads.example/tarred-0.3.1.tar.gz@sha256:${hash}")
string(FIND "${linked}" "\"ref\":\"${ref}\"" at)
if(at EQUAL -1 OR all MATCHES "${token}|private_token")
  message(FATAL_ERROR "the archive is not ${ref}, or the token in its URL reached a record:\n${all}")
endif()
file(REMOVE_RECURSE "${work}")
message(STATUS "the fetched archive is named by its URL and hash, the token in its URL nowhere")
