# MultiArchImage/spec.cmake: spec.json, the image's settings every step reads, and what it records
# beyond the arguments (the build's facts for provenance, git for GIT_TAGS); test.json beside it.

# The spec is rewritten only when its content changes: every step depends on it. Keywords: NAME,
# REPOSITORY, CONTEXT, DOCKERFILE, ENGINE, INDEX_FORMAT, PLATFORM_TAGS, STATE (values); TAGS, PLATFORMS (lists);
# BUILD_ARGS_JSON, BUILD_OPTIONS_JSON (an object whose members join the spec's), ANNOTATIONS_JSON, BUILDERS_JSON, GIT_JSON, IMAGE_JSON, PROVENANCE_JSON (JSON; GIT_JSON,
# IMAGE_JSON and PROVENANCE_JSON may be empty); STAGED (TRUE when the image has TARGETS or INSTALL).
# TEST_JSON, when not empty, is written to test.json beside the spec, not in it: a changed test must
# not rebuild an image; the settings of how steps run go to settings.json beside it for the same
# reason. FILES_GENERATED: the image's FILES hold generator expressions (they go to files.json).
# INFER_ENTRYPOINT TRUE: the image's ENTRYPOINT is decided from INFER_FROM (its TARGETS) at the end of
# the top-level directory, and the spec written then, once.
function(_multiarch_write_spec path)
  cmake_parse_arguments(PARSE_ARGV 1 S ""
    "NAME;REPOSITORY;CONTEXT;DOCKERFILE;ENGINE;INDEX_FORMAT;PLATFORM_TAGS;STATE;BUILD_ARGS_JSON;BUILD_OPTIONS_JSON;ANNOTATIONS_JSON;BUILDERS_JSON;GIT_JSON;STAGED;IMAGE_JSON;PROVENANCE_JSON;TEST_JSON;FILES_GENERATED;INFER_ENTRYPOINT"
    "TAGS;PLATFORMS;INFER_FROM")
  set(json "{}")
  string(JSON json SET "${json}" format 1)
  set(fields name repository context dockerfile engine index_format)
  if(S_IMAGE_JSON)
    list(REMOVE_ITEM fields dockerfile)  # assembled by the helper: no Dockerfile
  endif()
  foreach(field IN LISTS fields)
    string(TOUPPER "${field}" keyword)
    _multiarch_json_string(quoted "${S_${keyword}}")
    string(JSON json SET "${json}" ${field} "${quoted}")
  endforeach()
  _multiarch_json_array(array ${S_TAGS})
  string(JSON json SET "${json}" tags "${array}")
  if(S_PLATFORM_TAGS STREQUAL "OFF")  # written only when off: specs written before it stay the same
    string(JSON json SET "${json}" platform_tags false)
  endif()
  _multiarch_json_array(array ${S_PLATFORMS})
  string(JSON json SET "${json}" platforms "${array}")

  string(JSON json SET "${json}" build_args "${S_BUILD_ARGS_JSON}")
  if(S_BUILD_OPTIONS_JSON)  # SECRETS, SSH, TARGET_STAGE, PULL: members only when given
    string(JSON count LENGTH "${S_BUILD_OPTIONS_JSON}")
    if(count GREATER 0)
      math(EXPR last "${count} - 1")
      foreach(i RANGE ${last})
        string(JSON member MEMBER "${S_BUILD_OPTIONS_JSON}" ${i})
        string(JSON value GET "${S_BUILD_OPTIONS_JSON}" ${member})
        string(JSON type TYPE "${S_BUILD_OPTIONS_JSON}" ${member})
        if(type STREQUAL "STRING")
          _multiarch_json_string(value "${value}")
        endif()
        string(JSON json SET "${json}" ${member} "${value}")
      endforeach()
    endif()
  endif()
  string(JSON json SET "${json}" annotations "${S_ANNOTATIONS_JSON}")
  _multiarch_json_array(array ${MULTIARCH_IMAGE_INSECURE_REGISTRIES})
  string(JSON json SET "${json}" insecure_registries "${array}")
  if(S_STAGED)
    _multiarch_json_string(quoted "${S_STATE}/context")
    string(JSON json SET "${json}" stage "{\"composed\": ${quoted}}")
  endif()
  string(JSON json SET "${json}" builders "${S_BUILDERS_JSON}")
  if(S_GIT_JSON)
    string(JSON json SET "${json}" git "${S_GIT_JSON}")
  endif()
  if(S_IMAGE_JSON)
    _multiarch_json_string(quoted "${S_STATE}/oci")
    string(JSON image SET "${S_IMAGE_JSON}" layout "${quoted}")
    if(S_FILES_GENERATED)
      # FILES with generator expressions: evaluated into files.json when the build system is generated.
      string(JSON files GET "${image}" files)
      _multiarch_generate_if_changed("${S_STATE}/files.json" "${files}\n")
      string(JSON image REMOVE "${image}" files)
      _multiarch_json_string(quoted "${S_STATE}/files.json")
      string(JSON image SET "${image}" files_from "${quoted}")
    endif()
    string(JSON json SET "${json}" image "${image}")
  endif()
  if(S_PROVENANCE_JSON)
    string(JSON json SET "${json}" provenance "${S_PROVENANCE_JSON}")
  endif()

  foreach(setting IN ITEMS NETWORK DOCKER PODMAN SKOPEO)
    string(TOLOWER "${setting}" field)
    _multiarch_json_string(quoted "${MULTIARCH_IMAGE_${setting}}")
    string(JSON json SET "${json}" ${field} "${quoted}")
  endforeach()

  # The build tree changes on every build: never let it count as a context change.
  set(exclude "${S_STATE}")
  cmake_path(IS_PREFIX S_CONTEXT "${CMAKE_BINARY_DIR}" NORMALIZE binary_dir_in_context)
  if(binary_dir_in_context AND NOT S_CONTEXT STREQUAL CMAKE_BINARY_DIR)
    list(APPEND exclude "${CMAKE_BINARY_DIR}")
  endif()
  _multiarch_json_array(array ${exclude})
  string(JSON json SET "${json}" deps_exclude "${array}")

  # An assembled image with TARGETS: written once every target exists, to read their properties.
  if(S_INFER_ENTRYPOINT OR (S_IMAGE_JSON AND S_INFER_FROM))
    set(infer FALSE)
    if(S_INFER_ENTRYPOINT)
      set(infer TRUE)
    endif()
    set(runs_entrypoint FALSE)
    if(S_TEST_JSON)
      string(JSON test_arguments LENGTH "${S_TEST_JSON}" command)
      if(test_arguments EQUAL 0)
        set(runs_entrypoint TRUE)
      endif()
    endif()
    set_property(GLOBAL PROPERTY _MULTIARCH_SPEC_${S_NAME} "${json}")
    cmake_language(EVAL CODE "cmake_language(DEFER DIRECTORY [[${CMAKE_SOURCE_DIR}]] CALL _multiarch_write_inferred_spec \
      [[${S_NAME}]] [[${path}]] [[${S_INFER_FROM}]] ${runs_entrypoint} ${infer})")
  else()
    _multiarch_write_if_changed("${path}" "${json}\n")
  endif()
  # How the steps run, not what they make (retries, timeouts, the image tests' engine options): in
  # settings.json beside the spec, which the steps read and no step depends on, so that changing one
  # rebuilds, pushes and publishes nothing.
  set(settings "{}")
  string(JSON settings SET "${settings}" format 1)
  _multiarch_json_array(array ${MULTIARCH_IMAGE_RUN_OPTIONS})
  string(JSON settings SET "${settings}" run_options "${array}")
  string(JSON settings SET "${settings}" retries ${MULTIARCH_IMAGE_RETRIES})
  string(JSON settings SET "${settings}" retry_delay ${MULTIARCH_IMAGE_RETRY_DELAY})
  string(JSON settings SET "${settings}" timeout ${MULTIARCH_IMAGE_TIMEOUT})
  _multiarch_write_if_changed("${S_STATE}/settings.json" "${settings}\n")
  if(S_TEST_JSON)
    _multiarch_write_if_changed("${S_STATE}/test.json" "${S_TEST_JSON}\n")
  endif()
endfunction()

# Deferred to the end of the top-level directory, when every target exists: the spec of an assembled
# image with TARGETS, with the permissions its targets' properties give (_multiarch_target_permissions)
# and, with `infer`, the ENTRYPOINT of an image on BASE scratch given none, decided here and only
# here. The one
# executable of TARGETS (by the file name it is staged under, /usr/local/bin/<name>); without one
# the image has no entrypoint (a data image: files only, or headers and a static library), which a
# TEST_COMMAND without arguments (`runs_entrypoint`) cannot run. What INSTALL installs never counts:
# it is known only when the build runs.
function(_multiarch_write_inferred_spec name path targets runs_entrypoint infer)
  get_property(json GLOBAL PROPERTY _MULTIARCH_SPEC_${name})
  _multiarch_target_permissions(permissions "${name}" "${targets}")
  if(NOT permissions STREQUAL "[]")
    string(JSON json SET "${json}" image path_permissions "${permissions}")
  endif()
  if(NOT infer)
    _multiarch_write_if_changed("${path}" "${json}\n")
    return()
  endif()
  set(executables "")
  foreach(target IN LISTS targets)
    if(TARGET "${target}")
      get_target_property(type "${target}" TYPE)
      get_target_property(imported "${target}" IMPORTED)
      if(type STREQUAL "EXECUTABLE" AND NOT imported)
        list(APPEND executables "${target}")
      endif()
    endif()
  endforeach()
  list(LENGTH executables count)
  if(count GREATER 1)
    message(FATAL_ERROR "add_multiarch_image(${name}): ENTRYPOINT is missing and cannot be inferred: TARGETS has "
      "${count} executables (${executables}); name the program to run, e.g. ENTRYPOINT /usr/local/bin/<program>")
  elseif(count EQUAL 1)
    _multiarch_executable_file_name(file "${name}" "${executables}")
    _multiarch_json_string(quoted "/usr/local/bin/${file}")
    string(JSON json SET "${json}" image entrypoint "[${quoted}]")
    message(VERBOSE "add_multiarch_image(${name}): ENTRYPOINT /usr/local/bin/${file} (the one executable of TARGETS)")
  elseif(runs_entrypoint)
    message(FATAL_ERROR "add_multiarch_image(${name}): TEST_COMMAND without arguments runs the image's entrypoint, and "
      "the image has none (no ENTRYPOINT, no executable in TARGETS): give ENTRYPOINT <program>, or the command to "
      "test, e.g. TEST_COMMAND /usr/local/bin/<program> --version")
  else()
    message(STATUS "add_multiarch_image(${name}): no ENTRYPOINT and no executable in TARGETS: the image has no "
      "entrypoint (run it with a command)")
  endif()
  _multiarch_write_if_changed("${path}" "${json}\n")
endfunction()

# The file name `target`, an executable, is built as in the configuration that publishes images
# (CMAKE_BUILD_TYPE; MULTIARCH_IMAGE_CONFIG with a multi-config generator), as CMake names it:
# [RUNTIME_]OUTPUT_NAME[_<CONFIG>], else the target's name, then <CONFIG>_POSTFIX and SUFFIX.
# An optional fourth argument says what a name known only at build time prevents (default: inferring
# ENTRYPOINT).
function(_multiarch_executable_file_name out name target)
  set(why "ENTRYPOINT is missing and cannot be inferred")
  if(ARGC GREATER 3)
    set(why "${ARGV3}")  # what cannot be done without the name
  endif()
  get_property(multi GLOBAL PROPERTY GENERATOR_IS_MULTI_CONFIG)
  set(config "${CMAKE_BUILD_TYPE}")
  if(multi)
    set(config "${MULTIARCH_IMAGE_CONFIG}")
  endif()
  string(TOUPPER "${config}" config)
  set(file "${target}")
  foreach(property IN ITEMS OUTPUT_NAME OUTPUT_NAME_${config} RUNTIME_OUTPUT_NAME RUNTIME_OUTPUT_NAME_${config})
    get_target_property(value "${target}" ${property})
    if(value AND (config OR NOT property MATCHES "_$"))
      set(file "${value}")
    endif()
  endforeach()
  if(config)
    get_target_property(postfix "${target}" ${config}_POSTFIX)
    if(postfix)
      string(APPEND file "${postfix}")
    endif()
  endif()
  get_target_property(suffix "${target}" SUFFIX)
  if(suffix)
    string(APPEND file "${suffix}")
  else()
    string(APPEND file "${CMAKE_EXECUTABLE_SUFFIX}")
  endif()
  if(file MATCHES "[$]<" OR file MATCHES "/")
    message(FATAL_ERROR "add_multiarch_image(${name}): ${why}: the file name of "
      "`${target}` (${file}) is only known when the build runs; give it a plain OUTPUT_NAME, or name the program, "
      "e.g. ENTRYPOINT /usr/local/bin/<program>")
  endif()
  set(${out} "${file}" PARENT_SCOPE)
endfunction()

# What a provenance statement says about this build (see the helper's provenance.hpp): the builder,
# CMake, the source directory (its git commit and remote are read when a push step runs) and
# SOURCE_DATE_EPOCH. What compiled each platform's files is the (sub-)build's that staged them
# (_multiarch_write_built_with).
function(_multiarch_provenance_json out platforms)
  set(json "{}")
  foreach(pair IN ITEMS "builder_id|${MULTIARCH_IMAGE_BUILDER_ID}" "cmake_version|${CMAKE_VERSION}"
                        "generator|${CMAKE_GENERATOR}" "source_dir|${CMAKE_SOURCE_DIR}"
                        "project|${CMAKE_PROJECT_NAME}" "project_version|${CMAKE_PROJECT_VERSION}")
    string(FIND "${pair}" "|" bar)
    string(SUBSTRING "${pair}" 0 ${bar} key)
    math(EXPR bar "${bar} + 1")
    string(SUBSTRING "${pair}" ${bar} -1 value)
    _multiarch_json_string(quoted "${value}")
    string(JSON json SET "${json}" ${key} "${quoted}")
  endforeach()
  find_package(Git QUIET)
  _multiarch_json_string(quoted "${GIT_EXECUTABLE}")
  string(JSON json SET "${json}" git "${quoted}")
  string(JSON json SET "${json}" source_date_epoch "${MULTIARCH_IMAGE_SOURCE_DATE_EPOCH}")
  set(${out} "${json}" PARENT_SCOPE)
endfunction()

# What builds a platform's staged files, written by the build that stages them (this one for its own
# platform, a sub-build for a cross one) each time it configures: its compiler (C++, else C) and its
# toolchain file with that file's SHA-256. A sub-build configures again when its toolchain file
# changes, so this is what it really compiled with; the push step's provenance statement reads it
# (<state>/built-with-<suffix>.json).
function(_multiarch_write_built_with state platform)
  set(compiler "")
  foreach(language IN ITEMS CXX C)
    if(NOT compiler AND CMAKE_${language}_COMPILER_ID)
      set(compiler "${CMAKE_${language}_COMPILER_ID} ${CMAKE_${language}_COMPILER_VERSION}")
    endif()
  endforeach()
  _multiarch_json_string(quoted "${compiler}")
  set(json "{}")
  string(JSON json SET "${json}" compiler "${quoted}")
  if(CMAKE_TOOLCHAIN_FILE AND EXISTS "${CMAKE_TOOLCHAIN_FILE}")
    get_filename_component(file "${CMAKE_TOOLCHAIN_FILE}" ABSOLUTE)
    file(SHA256 "${file}" sha)
    _multiarch_json_string(qfile "${file}")
    string(JSON json SET "${json}" toolchain "{\"file\": ${qfile}, \"sha256\": \"${sha}\"}")
  endif()
  _multiarch_suffix(suffix "${platform}")
  _multiarch_write_if_changed("${state}/built-with-${suffix}.json" "${json}\n")
endfunction()

# GIT_TAGS: the spec's "git" object, and the files whose change means HEAD or the tags moved (the
# HEAD log, HEAD itself, packed refs, the tags directory). Not the index: `git status` rewrites it.
# Both empty without GIT_TAGS.
function(_multiarch_git out_json out_depends name git_tags latest)
  set(${out_json} "" PARENT_SCOPE)
  set(${out_depends} "" PARENT_SCOPE)
  if(NOT git_tags)
    return()
  endif()
  find_package(Git QUIET)
  if(NOT GIT_FOUND)
    message(FATAL_ERROR "add_multiarch_image(${name}): GIT_TAGS needs git, which was not found")
  endif()
  execute_process(COMMAND "${GIT_EXECUTABLE}" rev-parse --absolute-git-dir --git-common-dir
    WORKING_DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}" RESULT_VARIABLE status OUTPUT_VARIABLE dirs ERROR_QUIET
    OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "add_multiarch_image(${name}): GIT_TAGS needs a git checkout, and "
      "${CMAKE_CURRENT_SOURCE_DIR} is not in one")
  endif()
  string(REPLACE "\n" ";" dirs "${dirs}")
  list(GET dirs 0 git_dir)
  list(GET dirs 1 common_dir)
  cmake_path(ABSOLUTE_PATH common_dir BASE_DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}" NORMALIZE)
  set(depends "")
  foreach(candidate IN ITEMS "${git_dir}/logs/HEAD" "${git_dir}/HEAD" "${common_dir}/packed-refs" "${common_dir}/refs/tags")
    if(EXISTS "${candidate}")
      list(APPEND depends "${candidate}")
    endif()
  endforeach()
  _multiarch_json_string(qexe "${GIT_EXECUTABLE}")
  _multiarch_json_string(qdir "${CMAKE_CURRENT_SOURCE_DIR}")
  set(qlatest false)
  if(latest)
    set(qlatest true)
  endif()
  set(${out_json} "{\"executable\": ${qexe}, \"dir\": ${qdir}, \"latest\": ${qlatest}}" PARENT_SCOPE)
  set(${out_depends} "${depends}" PARENT_SCOPE)
endfunction()

# PROVENANCE and SBOM (defaults MULTIARCH_IMAGE_PROVENANCE and MULTIARCH_IMAGE_SBOM): the documents the
# push step attaches. The spec's "provenance" object says which, and what a statement says about
# this build, known at configure time; empty when both are off.
function(_multiarch_attestations_json out name platforms)
  foreach(document IN ITEMS PROVENANCE SBOM)
    set(want_${document} "${MULTIARCH_IMAGE_${document}}")
    if(DEFINED ARG_${document})
      if(NOT ARG_${document} MATCHES "^(ON|OFF)$")
        message(FATAL_ERROR "add_multiarch_image(${name}): ${document} `${ARG_${document}}` is not ON or OFF")
      endif()
      set(want_${document} "${ARG_${document}}")
    endif()
  endforeach()
  set(json "")
  if(want_PROVENANCE OR want_SBOM)
    _multiarch_check_source_date_epoch("${name}")
    _multiarch_provenance_json(json "${platforms}")
    foreach(document IN ITEMS PROVENANCE SBOM)
      set(flag false)
      if(want_${document})
        set(flag true)
      endif()
      string(TOLOWER "${document}" key)
      if(key STREQUAL "provenance")
        set(key statement)
      endif()
      string(JSON json SET "${json}" ${key} ${flag})
    endforeach()
  endif()
  set(${out} "${json}" PARENT_SCOPE)
endfunction()

# TEST_COMMAND and TEST_EXPECT as test.json's content, exactly as written, in `out` (empty without
# either; TEST_COMMAND with no arguments runs the image's own entrypoint); whether the image has
# tests in `out_run`.
function(_multiarch_test_json out out_run name)
  set(${out} "" PARENT_SCOPE)
  set(${out_run} FALSE PARENT_SCOPE)
  if(NOT DEFINED ARG_TEST_COMMAND_JSON AND NOT DEFINED ARG_TEST_EXPECT)
    return()
  endif()
  set(command "[]")
  if(DEFINED ARG_TEST_COMMAND_JSON)
    set(command "${ARG_TEST_COMMAND_JSON}")
  endif()
  set(json "{}")
  string(JSON json SET "${json}" command "${command}")
  if(DEFINED ARG_TEST_EXPECT)
    _multiarch_json_string(quoted "${ARG_TEST_EXPECT}")
    string(JSON json SET "${json}" expect "${quoted}")
  endif()
  # ctest reads the top-level directory's tests: checked once that directory is done.
  cmake_language(EVAL CODE
    "cmake_language(DEFER DIRECTORY [[${CMAKE_SOURCE_DIR}]] CALL _multiarch_check_testing [[${name}]])")
  set(${out} "${json}" PARENT_SCOPE)
  set(${out_run} TRUE PARENT_SCOPE)
endfunction()
