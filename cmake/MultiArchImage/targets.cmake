# MultiArchImage/targets.cmake: the build graph of an image. Each platform's build, test and push
# steps (and the files they write), the image's manifest, sign and plan targets over them, and the
# project's image-build, image-push and image-plan over every image; the helper every step runs, and
# the guard that keeps a multi-config build's steps to one configuration.

# One platform of an image: its stage (TARGETS) or sub-build (TOOLCHAINS), build, test and push steps
# and their targets. `name` and `platform` come first; every other value by keyword.
function(_multiarch_add_platform name platform)
  cmake_parse_arguments(PARSE_ARGV 2 P "" "STATE;SPEC;DOCKERFILE;TOOLCHAIN;CROSS_ARGS_JSON;TESTS;RUNTIME;ASSEMBLED;INSTALL;DEBUG_SYMBOLS"
    "HELPER;CONFIG_GUARD;DEPENDS;TARGETS;FILES_DEPENDS;FILES_TARGETS")
  _multiarch_step_files(files "${P_STATE}" "${platform}")
  set(suffix "${files_suffix}")
  set(staged "")
  if(P_TARGETS OR P_INSTALL)
    if(NOT P_ASSEMBLED)
      set(staged "${P_STATE}/context.stamp")  # the composed context
    endif()
    _multiarch_platform_of_this_build(host)
    if(P_TOOLCHAIN)
      _multiarch_sub_build("${name}" "${platform}" "${P_TOOLCHAIN}" "${P_HELPER}" "${files_stage_stamp}" "${P_CROSS_ARGS_JSON}")
      list(APPEND staged "${files_stage_stamp}")
    elseif(platform STREQUAL host)
      _multiarch_stage("${name}" "${platform}" "${P_HELPER}" "${files_stage_dir}" "${files_stage_stamp}"
        ${name}-stage-${suffix} "${P_TARGETS}" "${P_INSTALL}" "${P_DEBUG_SYMBOLS}" ${P_RUNTIME})
      _multiarch_write_built_with("${P_STATE}" "${platform}")
      list(APPEND staged "${files_stage_stamp}")
    endif()
  endif()
  add_custom_command(OUTPUT "${files_build_record}"
    ${P_CONFIG_GUARD}
    COMMAND ${P_HELPER} build --spec "${P_SPEC}" --platform "${platform}" --record "${files_build_record}"
            --depfile "${files_build_depfile}"
    DEPENDS "${P_SPEC}" ${P_DOCKERFILE} ${P_DEPENDS} ${P_HELPER} ${staged} ${P_FILES_DEPENDS}
    DEPFILE "${files_build_depfile}"
    COMMENT "multiarch-image: build ${name} ${platform}"
    VERBATIM)
  add_custom_target(${name}-build-${suffix} DEPENDS "${files_build_record}")
  # What waits for an image's build: never a dependency of INSTALL's stage (_multiarch_install_order).
  set_property(TARGET ${name}-build-${suffix} PROPERTY MULTIARCH_IMAGE_STEP TRUE)
  add_dependencies(${name}-build ${name}-build-${suffix})
  # FILES' $<TARGET_FILE:tool>: the target is built first (it may be defined later in the project).
  foreach(target IN LISTS P_FILES_TARGETS)
    add_dependencies(${name}-build-${suffix} "${target}")
  endforeach()
  if(P_TARGETS OR P_INSTALL)
    if(NOT P_ASSEMBLED)
      add_dependencies(${name}-build-${suffix} ${name}-context)
    endif()
    foreach(step IN ITEMS stage compile)
      if(TARGET ${name}-${step}-${suffix})
        add_dependencies(${name}-build-${suffix} ${name}-${step}-${suffix})
      endif()
    endforeach()
  endif()

  if(P_TESTS)
    # The command and the expectation are in test.json, exactly as written.
    set(helper_path "${P_HELPER}")
    if(TARGET "${P_HELPER}")
      set(helper_path "$<TARGET_FILE:${P_HELPER}>")
    endif()
    add_test(NAME ${name}.image.${suffix}
      COMMAND "${helper_path}" test --spec "${P_SPEC}" --test "${P_STATE}/test.json" --platform "${platform}"
              --build-record "${files_build_record}")
    set_tests_properties(${name}.image.${suffix} PROPERTIES LABELS multiarch-image TIMEOUT 600)
  endif()

  add_custom_command(OUTPUT "${files_push_record}"
    ${P_CONFIG_GUARD}
    COMMAND ${P_HELPER} push --spec "${P_SPEC}" --platform "${platform}" --build-record "${files_build_record}"
            --record "${files_push_record}"
    DEPENDS "${files_build_record}" "${P_SPEC}" ${P_HELPER}
    COMMENT "multiarch-image: push ${name} ${platform}"
    VERBATIM)
  add_custom_target(${name}-push-${suffix} DEPENDS "${files_push_record}")
  # Target-level order keeps Makefiles from running one command in two targets at once.
  add_dependencies(${name}-push-${suffix} ${name}-build-${suffix})
  if(P_ASSEMBLED)
    # On demand: the platform's assembled image into the local docker or podman, to run it by hand.
    add_custom_target(${name}-load-${suffix}
      ${P_CONFIG_GUARD}
      COMMAND ${P_HELPER} load --spec "${P_SPEC}" --platform "${platform}" --build-record "${files_build_record}"
      COMMENT "multiarch-image: load ${name} ${platform}"
      VERBATIM)
    add_dependencies(${name}-load-${suffix} ${name}-build-${suffix})
  endif()
endfunction()

# The image's targets over its platforms': <name>-manifest publishes and verifies the list (the
# platforms' pushes first), <name>-sign runs SIGN_COMMAND after it, <name>-push runs both, and
# <name>-plan prints every step's commands, and with DEBUG_SYMBOLS ATTACH <name>-symbols fetches the
# debug symbols of what the manifest step last published. `name` first, every other value by keyword.
# A matrix job (MULTIARCH_IMAGE_ONLY_PLATFORMS) gets no list: <name>-push pushes its platforms only.
# A merge job (MERGE) has no platform steps: the list is made from the records in
# MULTIARCH_IMAGE_MERGE_RECORDS, and a depfile names those it used, so a record replaced reruns it.
function(_multiarch_add_image_targets name)
  cmake_parse_arguments(PARSE_ARGV 1 I "" "STATE;SPEC;SIGN_COMMAND_JSON;DEBUG_SYMBOLS;MERGE"
    "HELPER;CONFIG_GUARD;PLATFORMS;JOB_PLATFORMS;DEPENDS;PROMOTE_TO")
  add_custom_target(${name}-plan
    COMMAND ${I_HELPER} plan --spec "${I_SPEC}"
    COMMENT "multiarch-image: plan ${name}"
    VERBATIM)
  if(NOT MULTIARCH_IMAGE_ONLY_PLATFORMS STREQUAL "")
    foreach(platform IN LISTS I_JOB_PLATFORMS)
      _multiarch_suffix(suffix "${platform}")
      add_dependencies(${name}-push ${name}-push-${suffix})
    endforeach()
    return()
  endif()
  set(push_records "")
  set(push_record_args "")
  set(depfile "")
  if(I_MERGE)
    foreach(dir IN LISTS MULTIARCH_IMAGE_MERGE_RECORDS)
      list(APPEND push_record_args --merge-records "${dir}")
    endforeach()
    list(APPEND push_record_args --depfile "${I_STATE}/metadata.d")
    set(depfile DEPFILE "${I_STATE}/metadata.d")
  else()
    foreach(platform IN LISTS I_PLATFORMS)
      _multiarch_step_files(files "${I_STATE}" "${platform}")
      list(APPEND push_records "${files_push_record}")
      list(APPEND push_record_args --push-record "${files_push_record}")
    endforeach()
  endif()
  add_custom_command(OUTPUT "${I_STATE}/metadata.json"
    ${I_CONFIG_GUARD}
    COMMAND ${I_HELPER} manifest --spec "${I_SPEC}" ${push_record_args} --record "${I_STATE}/metadata.json"
    DEPENDS ${push_records} "${I_SPEC}" ${I_HELPER} ${I_DEPENDS}
    ${depfile}
    COMMENT "multiarch-image: manifest ${name}"
    VERBATIM)
  add_custom_target(${name}-manifest DEPENDS "${I_STATE}/metadata.json")
  _multiarch_add_sign("${name}" "${I_STATE}" "${I_SPEC}" "${I_HELPER}" "${I_CONFIG_GUARD}" "${I_SIGN_COMMAND_JSON}")
  foreach(platform IN LISTS I_JOB_PLATFORMS)
    _multiarch_suffix(suffix "${platform}")
    add_dependencies(${name}-manifest ${name}-push-${suffix})
  endforeach()
  add_dependencies(${name}-push ${name}-manifest)
  if(TARGET ${name}-sign)
    add_dependencies(${name}-push ${name}-sign)
  endif()
  _multiarch_add_promote("${name}" "${I_STATE}" "${I_SPEC}" "${I_HELPER}" "${I_CONFIG_GUARD}" "${I_PROMOTE_TO}")


  # On demand, never part of a build: each platform's debug symbols, from the registry, of the index
  # metadata.json names, into symbols/<platform>/.build-id/ (GDB's debug-file-directory, debuginfod -F).
  if(I_DEBUG_SYMBOLS STREQUAL "ATTACH")
    set(fetches "")
    foreach(platform IN LISTS I_PLATFORMS)
      _multiarch_suffix(suffix "${platform}")
      list(APPEND fetches COMMAND ${I_HELPER} symbols --spec "${I_SPEC}" --metadata "${I_STATE}/metadata.json"
                                  --platform "${platform}" --out "${I_STATE}/symbols/${suffix}")
    endforeach()
    add_custom_target(${name}-symbols
      ${I_CONFIG_GUARD}
      ${fetches}
      COMMENT "multiarch-image: fetch the debug symbols of ${name} into ${I_STATE}/symbols/<platform>"
      VERBATIM)
  endif()
endfunction()

# SIGN_COMMAND (its arguments exactly as written, as a JSON array; else MULTIARCH_IMAGE_SIGN_COMMAND):
# <name>-sign runs it once per published index, after the manifest step. The command is in sign.json.
function(_multiarch_add_sign name state spec helper config_guard sign_command_json)
  set(sign_json "${sign_command_json}")
  if(NOT sign_json AND NOT MULTIARCH_IMAGE_SIGN_COMMAND STREQUAL "")
    _multiarch_json_array(sign_json ${MULTIARCH_IMAGE_SIGN_COMMAND})
  endif()
  if(NOT sign_json)
    return()
  endif()
  # $<TARGET_FILE:signtool> and other generator expressions: evaluated when the build system is
  # generated, and the step waits for the targets they name.
  _multiarch_genex_targets(tools "${sign_json}")
  if(sign_json MATCHES "\\$<")
    _multiarch_generate_if_changed("${state}/sign.json" "{\"command\":${sign_json}}\n")
  else()
    _multiarch_write_if_changed("${state}/sign.json" "{\"command\":${sign_json}}\n")
  endif()
  add_custom_command(OUTPUT "${state}/signed.json"
    ${config_guard}
    COMMAND ${helper} sign --spec "${spec}" --command "${state}/sign.json" --metadata "${state}/metadata.json"
            --record "${state}/signed.json"
    DEPENDS "${state}/metadata.json" "${state}/sign.json" "${spec}" ${helper}
    COMMENT "multiarch-image: sign ${name}"
    VERBATIM)
  add_custom_target(${name}-sign DEPENDS "${state}/signed.json")
  add_dependencies(${name}-sign ${name}-manifest)
  foreach(tool IN LISTS tools)
    add_dependencies(${name}-sign "${tool}")
  endforeach()
endfunction()

# PROMOTE_TO: <name>-promote copies what the manifest step published (and the signer signed) to each
# destination, by the index digest metadata.json names. Never part of <name>-push or `all`: promotion
# is asked for. The destinations are in promote-to.json, so a change reruns the step (Makefiles too).
function(_multiarch_add_promote name state spec helper config_guard destinations)
  if(NOT destinations)
    return()
  endif()
  _multiarch_json_array(destinations_json ${destinations})
  _multiarch_write_if_changed("${state}/promote-to.json" "{\"destinations\":${destinations_json}}\n")
  set(signed "")
  set(signed_args "")
  if(TARGET ${name}-sign)  # the signature is a referrer of the index: copied with it
    set(signed "${state}/signed.json")
    set(signed_args --signed "${signed}")
  endif()
  add_custom_command(OUTPUT "${state}/promoted.json"
    ${config_guard}
    COMMAND ${helper} promote --spec "${spec}" --metadata "${state}/metadata.json" --to "${state}/promote-to.json"
            ${signed_args} --record "${state}/promoted.json"
    DEPENDS "${state}/metadata.json" ${signed} "${state}/promote-to.json" "${spec}" ${helper}
    COMMENT "multiarch-image: promote ${name}"
    VERBATIM)
  add_custom_target(${name}-promote DEPENDS "${state}/promoted.json")
  add_dependencies(${name}-promote ${name}-push)
endfunction()

# The project's image-build, image-push and image-plan: every image's <name>-build, -push and -plan;
# image-promote: every <name>-promote.
function(_multiarch_add_project_targets name)
  set(aggregates build push plan)
  if(TARGET ${name}-promote)
    list(APPEND aggregates promote)
  endif()
  foreach(aggregate IN LISTS aggregates)
    if(NOT TARGET image-${aggregate})
      add_custom_target(image-${aggregate})
      set_property(TARGET image-${aggregate} PROPERTY MULTIARCH_IMAGE_AGGREGATE TRUE)
    endif()
    get_property(ours TARGET image-${aggregate} PROPERTY MULTIARCH_IMAGE_AGGREGATE)
    if(NOT ours)
      message(FATAL_ERROR "add_multiarch_image(${name}): the project has a target image-${aggregate} of its own, and "
        "the module's image-build, image-push, image-plan and image-promote run every image's steps: rename the project's target")
    endif()
    add_dependencies(image-${aggregate} ${name}-${aggregate})
  endforeach()
endfunction()

# A platform's part of target names and file names: linux/arm/v7 -> linux-arm-v7.
function(_multiarch_suffix out platform)
  string(REPLACE "/" "-" suffix "${platform}")
  set(${out} "${suffix}" PARENT_SCOPE)
endfunction()

# The files of one platform's steps under an image's state directory, as <out>_suffix,
# <out>_build_record, <out>_build_depfile, <out>_push_record, <out>_stage_stamp and <out>_stage_dir in
# the caller. The helper finds a platform's records by the same names (helper/src/model/records.hpp) when a
# step redoes an earlier one.
function(_multiarch_step_files out state platform)
  _multiarch_suffix(suffix "${platform}")
  set(${out}_suffix "${suffix}" PARENT_SCOPE)
  set(${out}_build_record "${state}/build-${suffix}.json" PARENT_SCOPE)
  set(${out}_build_depfile "${state}/build-${suffix}.d" PARENT_SCOPE)
  set(${out}_push_record "${state}/push-${suffix}.json" PARENT_SCOPE)
  set(${out}_stage_stamp "${state}/stage-${suffix}.stamp" PARENT_SCOPE)
  set(${out}_stage_dir "${state}/context/.multiarch-stage/${suffix}" PARENT_SCOPE)
endfunction()

# The helper as a COMMAND word: a path from MULTIARCH_IMAGE_HELPER, or the helper target (built
# here, or imported by find_package) which CMake turns into its path and a dependency.
function(_multiarch_helper out name)
  if(MULTIARCH_IMAGE_HELPER)
    if(NOT EXISTS "${MULTIARCH_IMAGE_HELPER}")
      message(FATAL_ERROR "add_multiarch_image(${name}): MULTIARCH_IMAGE_HELPER `${MULTIARCH_IMAGE_HELPER}` does not exist")
    endif()
    set(${out} "${MULTIARCH_IMAGE_HELPER}" PARENT_SCOPE)
  elseif(TARGET MultiArchImage::multiarch-image)
    set(${out} MultiArchImage::multiarch-image PARENT_SCOPE)
  elseif(CMAKE_CROSSCOMPILING)
    message(FATAL_ERROR "add_multiarch_image(${name}): this project cross-compiles, so a helper built here would "
      "not run on this machine. Set MULTIARCH_IMAGE_HELPER to a host build of multiarch-image (for example one "
      "installed by `cmake --install` of cmake-multiarch-image). To find that installed package from a "
      "cross-compiling project, set MultiArchImage_DIR=<prefix>/share/cmake/MultiArchImage: a cross build's "
      "find_package() looks only under CMAKE_FIND_ROOT_PATH.")
  else()
    message(FATAL_ERROR "add_multiarch_image(${name}): no multiarch-image helper: use find_package(MultiArchImage), "
      "add_subdirectory/FetchContent of cmake-multiarch-image, or set MULTIARCH_IMAGE_HELPER")
  endif()
endfunction()

# With a multi-config generator, the commands that stop a step outside MULTIARCH_IMAGE_CONFIG (in it,
# `cmake -E true`, which ignores its arguments); nothing otherwise.
function(_multiarch_config_guard out name)
  get_property(multi GLOBAL PROPERTY GENERATOR_IS_MULTI_CONFIG)
  if(NOT multi)
    set(${out} "" PARENT_SCOPE)
    return()
  endif()
  if(NOT MULTIARCH_IMAGE_CONFIG IN_LIST CMAKE_CONFIGURATION_TYPES)
    message(FATAL_ERROR "add_multiarch_image(${name}): MULTIARCH_IMAGE_CONFIG `${MULTIARCH_IMAGE_CONFIG}` is not one of "
      "CMAKE_CONFIGURATION_TYPES (valid: ${CMAKE_CONFIGURATION_TYPES})")
  endif()
  set(in "$<CONFIG:${MULTIARCH_IMAGE_CONFIG}>")
  set(${out} COMMAND ${CMAKE_COMMAND} -E "$<IF:${in},true,echo>"
                     "multiarch-image: ${name}'s images are built and published in the ${MULTIARCH_IMAGE_CONFIG} configuration (MULTIARCH_IMAGE_CONFIG), not $<CONFIG>: build with --config ${MULTIARCH_IMAGE_CONFIG}"
             COMMAND ${CMAKE_COMMAND} -E "$<IF:${in},true,false>"
      PARENT_SCOPE)
endfunction()

# At the end of the top-level directory: TEST_COMMAND's tests reach ctest only when that directory
# enabled testing (enable_testing() sets CMAKE_TESTING_ENABLED there).
function(_multiarch_check_testing name)
  if(NOT CMAKE_TESTING_ENABLED)
    message(WARNING "add_multiarch_image(${name}): TEST_COMMAND registers the tests ${name}.image.<platform>, but "
      "testing is not enabled in ${CMAKE_SOURCE_DIR}/CMakeLists.txt, so ctest will not run them: call enable_testing() "
      "(or include(CTest)) there.")
  endif()
endfunction()
