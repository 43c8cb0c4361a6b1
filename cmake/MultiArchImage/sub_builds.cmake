# MultiArchImage/sub_builds.cmake: TOOLCHAINS. The cross-compiling sub-builds of this source tree
# (one per platform, toolchain file and CROSS_CMAKE_ARGS, shared by the images that agree on them),
# the settings they get from this build, and add_multiarch_image() inside one: its stage step, its
# targets' stand-ins, and the check that every image expected there was added.

# In a platform's sub-build: once the project is configured, every image the main build expects to
# be staged here must have been added, or the sub-build would fail later with an unknown target.
function(_multiarch_check_sub_build)
  get_property(staged GLOBAL PROPERTY _MULTIARCH_SUB_BUILD_STAGED)
  string(REPLACE "," ";" expected "${MULTIARCH_IMAGE_SUB_BUILD_IMAGES}")
  foreach(name IN LISTS expected)
    if(NOT name IN_LIST staged)
      message(FATAL_ERROR "add_multiarch_image(${name}) was not called in the ${MULTIARCH_IMAGE_SUB_BUILD} sub-build. "
        "The options that add it in the main build must reach the sub-build too: pass them in CROSS_CMAKE_ARGS "
        "(e.g. CROSS_CMAKE_ARGS -DMY_OPTION=\${MY_OPTION}).")
    endif()
  endforeach()
endfunction()
if(DEFINED MULTIARCH_IMAGE_SUB_BUILD)
  cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL _multiarch_check_sub_build)
endif()

# add_multiarch_image() inside a platform's sub-build: the stage step of an image the main build
# expects to be staged here, and the image's targets as do-nothing stand-ins, so that the project's
# own add_dependencies() on them hold in the sub-build too (PLATFORMS and its default are read as the
# main build reads them).
function(_multiarch_sub_build_image name targets install_spec debug_symbols runtime)
  string(REPLACE "," ";" images "${MULTIARCH_IMAGE_SUB_BUILD_IMAGES}")
  if(name IN_LIST images)
    _multiarch_step_files(files "${MULTIARCH_IMAGE_STAGE_ROOT}/${name}" "${MULTIARCH_IMAGE_SUB_BUILD}")
    _multiarch_stage("${name}" "${MULTIARCH_IMAGE_SUB_BUILD}" "${MULTIARCH_IMAGE_HELPER}"
      "${files_stage_dir}" "${files_stage_stamp}" multiarch-stage-${name} "${targets}" "${install_spec}" "${debug_symbols}"
      ${runtime})
    _multiarch_write_built_with("${MULTIARCH_IMAGE_STAGE_ROOT}/${name}" "${MULTIARCH_IMAGE_SUB_BUILD}")
    set_property(GLOBAL APPEND PROPERTY _MULTIARCH_SUB_BUILD_STAGED "${name}")
    cmake_language(EVAL CODE
      "cmake_language(DEFER DIRECTORY [[${CMAKE_SOURCE_DIR}]] CALL _multiarch_check_targets [[${name}]] [[${targets}]])")
  endif()
  set(stand_ins ${name}-build ${name}-push ${name}-manifest ${name}-plan)
  if(debug_symbols STREQUAL "ATTACH")
    list(APPEND stand_ins ${name}-symbols)
  endif()
  _multiarch_platforms(platforms "${name}")
  foreach(platform IN LISTS platforms)
    _multiarch_suffix(suffix "${platform}")
    list(APPEND stand_ins ${name}-build-${suffix} ${name}-push-${suffix})
  endforeach()
  foreach(target IN LISTS stand_ins ITEMS image-build image-push image-plan)
    if(NOT TARGET ${target})
      add_custom_target(${target})
    endif()
  endforeach()
endfunction()

# A sub-build of this source tree for one platform with its toolchain file, shared by every image
# that names the same platform, toolchain file and CROSS_CMAKE_ARGS: their sources compile once. The
# image joins it here; the sub-build's targets are made at the end of the top-level directory, when
# all its images are known. `<name>-compile-<suffix>` stands for it in the image's targets.
function(_multiarch_sub_build name platform toolchain helper stamp cross_args_json)
  _multiarch_suffix(suffix "${platform}")
  string(SHA256 key "${platform}|${toolchain}|${cross_args_json}|${CMAKE_BUILD_TYPE}")
  string(SUBSTRING "${key}" 0 8 key)
  set(key "${suffix}-${key}")
  get_property(known GLOBAL PROPERTY _MULTIARCH_SUB_BUILDS)
  if(NOT key IN_LIST known)
    set_property(GLOBAL APPEND PROPERTY _MULTIARCH_SUB_BUILDS "${key}")
    set_property(GLOBAL PROPERTY _MULTIARCH_SUB_${key}_PLATFORM "${platform}")
    set_property(GLOBAL PROPERTY _MULTIARCH_SUB_${key}_TOOLCHAIN "${toolchain}")
    set_property(GLOBAL PROPERTY _MULTIARCH_SUB_${key}_ARGS "${cross_args_json}")
    set_property(GLOBAL PROPERTY _MULTIARCH_SUB_${key}_HELPER "${helper}")
    cmake_language(EVAL CODE
      "cmake_language(DEFER DIRECTORY [[${CMAKE_SOURCE_DIR}]] CALL _multiarch_create_sub_build [[${key}]])")
  endif()
  set_property(GLOBAL APPEND PROPERTY _MULTIARCH_SUB_${key}_IMAGES "${name}")
  set_property(GLOBAL APPEND PROPERTY _MULTIARCH_SUB_${key}_STAMPS "${stamp}")
  add_custom_target(${name}-compile-${suffix})
  add_dependencies(${name}-compile-${suffix} multiarch-compile-${key})
endfunction()

# Deferred: the sub-build `key` configured once, then asked on every build to bring its images'
# staged trees up to date (one ninja/make run with nothing to do when nothing changed).
function(_multiarch_create_sub_build key)
  foreach(field IN ITEMS PLATFORM TOOLCHAIN ARGS HELPER IMAGES STAMPS)
    get_property(${field} GLOBAL PROPERTY _MULTIARCH_SUB_${key}_${field})
  endforeach()
  set(dir "${CMAKE_BINARY_DIR}/multiarch-image-cross/${key}")
  set(helper_path "${HELPER}")
  if(TARGET "${HELPER}")
    set(helper_path "$<TARGET_FILE:${HELPER}>")
  endif()
  list(JOIN IMAGES "," images)
  # The main build's install prefix, for INSTALL's check that the sub-build was configured for it too
  # (CMAKE_INSTALL_PREFIX itself is forwarded below, where CROSS_CMAKE_ARGS could still change it).
  _multiarch_normal_prefix(install_prefix "${CMAKE_INSTALL_PREFIX}")
  set(configure_args -DCMAKE_TOOLCHAIN_FILE=${TOOLCHAIN} -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE}
    -DMULTIARCH_IMAGE_SUB_BUILD=${PLATFORM} -DMULTIARCH_IMAGE_SUB_BUILD_IMAGES=${images}
    -DMULTIARCH_IMAGE_STAGE_ROOT=${CMAKE_BINARY_DIR}/multiarch-image -DMULTIARCH_IMAGE_HELPER=${helper_path}
    -DMULTIARCH_IMAGE_INSTALL_PREFIX=${install_prefix})
  # What the sub-build needs to configure like this build: the make program, and where
  # find_package(MultiArchImage) found this module.
  foreach(var IN ITEMS CMAKE_MAKE_PROGRAM MultiArchImage_DIR)
    if(${var})
      list(APPEND configure_args -D${var}=${${var}})
    endif()
  endforeach()
  # CROSS_CMAKE_ARGS arrive exactly as written: each -D<name>[:<type>]=<value> as an entry of an
  # initial cache (-C) in bracket quotes, so `;`, `$<...>`, `@VAR@` and backslashes stay literal;
  # other arguments on the command line. A change of the file reconfigures the sub-build.
  set(initial_cache "# CROSS_CMAKE_ARGS of ${images} for ${PLATFORM}, as written\n")
  string(JSON count LENGTH "${ARGS}")
  set(i 0)
  while(i LESS count)
    string(JSON arg GET "${ARGS}" ${i})
    math(EXPR i "${i} + 1")
    if(arg MATCHES "^-D([^:=]+)(:([A-Za-z]+))?=")
      set(var "${CMAKE_MATCH_1}")
      set(type STRING)
      if(CMAKE_MATCH_3)
        string(TOUPPER "${CMAKE_MATCH_3}" type)
      endif()
      string(FIND "${arg}" "=" eq)
      math(EXPR eq "${eq} + 1")
      string(SUBSTRING "${arg}" ${eq} -1 value)
      _multiarch_cache_line(line ${var} ${type} "${value}")
      string(APPEND initial_cache "${line}")
    else()
      string(REPLACE ";" "\\;" arg "${arg}")
      list(APPEND configure_args "${arg}")
    endif()
  endwhile()
  _multiarch_forwarded(forwarded)
  string(PREPEND initial_cache "${forwarded}")
  _multiarch_write_if_changed("${dir}.cmake" "${initial_cache}")
  list(APPEND configure_args -C "${dir}.cmake")
  # The other arguments as a file, for the same reason.
  string(REPLACE ";" "\n" listed "${configure_args}")
  _multiarch_write_if_changed("${dir}.args" "${listed}\n")
  add_custom_command(OUTPUT "${dir}/CMakeCache.txt"
    COMMAND ${CMAKE_COMMAND} -S "${CMAKE_SOURCE_DIR}" -B "${dir}" -G "${CMAKE_GENERATOR}" ${configure_args}
    DEPENDS "${TOOLCHAIN}" "${dir}.args" "${dir}.cmake"
    COMMENT "multiarch-image: configure the ${PLATFORM} sub-build (${images})"
    VERBATIM)
  list(TRANSFORM IMAGES PREPEND "multiarch-stage-" OUTPUT_VARIABLE stage_targets)
  # The nested build's share of the machine. GNU make: `$(MAKE)` in the recipe, so the sub-build
  # joins the outer make's job server (through `cmake --build` it would run at -j1). Ninja: a nested
  # ninja runs its own jobs beside the outer ones, so sub-builds go one at a time (a job pool of
  # one), each at ninja's own default parallelism.
  set(pool "")
  if(CMAKE_GENERATOR STREQUAL "Unix Makefiles")
    set(build_command "$(MAKE)" -C "${dir}" ${stage_targets})
  else()
    set(build_command ${CMAKE_COMMAND} --build "${dir}" --target ${stage_targets} --config $<CONFIG>)
    if(CMAKE_GENERATOR MATCHES "^Ninja")
      get_property(pools GLOBAL PROPERTY JOB_POOLS)
      if(NOT "multiarch_sub_builds=1" IN_LIST pools)
        set_property(GLOBAL APPEND PROPERTY JOB_POOLS multiarch_sub_builds=1)
      endif()
      set(pool JOB_POOL multiarch_sub_builds)
    endif()
  endif()
  add_custom_target(multiarch-compile-${key}
    COMMAND ${build_command}
    BYPRODUCTS ${STAMPS}
    DEPENDS "${dir}/CMakeCache.txt"
    ${pool}
    COMMENT "multiarch-image: build the TARGETS of ${images} for ${PLATFORM}"
    VERBATIM)
  if(TARGET "${HELPER}")
    add_dependencies(multiarch-compile-${key} ${HELPER})
  endif()
endfunction()

# The settings a sub-build gets from this build, as initial-cache lines (CROSS_CMAKE_ARGS come after
# and win): FetchContent's (every FETCHCONTENT_* cache entry, and each dependency this directory made
# available as FETCHCONTENT_SOURCE_DIR_<NAME>, so a sub-build uses the same sources and needs no
# network), CMAKE_CONFIGURATION_TYPES, compiler and linker launchers (ccache, sccache),
# CMAKE_PREFIX_PATH, CMAKE_INSTALL_PREFIX (what a project bakes in from it, and INSTALL's prefix, must
# be the same on every platform), MULTIARCH_IMAGE_DEBUG_SYMBOLS (the sub-build strips as this build
# says), and the variables named in MULTIARCH_IMAGE_FORWARD_VARIABLES.
function(_multiarch_forwarded out)
  set(names "")
  get_cmake_property(cached CACHE_VARIABLES)
  foreach(var IN LISTS cached)
    # Not the base directory: the sub-build's dependencies build in a tree of their own.
    if(var MATCHES "^FETCHCONTENT_" AND NOT var STREQUAL "FETCHCONTENT_BASE_DIR" AND
       NOT (var MATCHES "^FETCHCONTENT_SOURCE_DIR_" AND "${${var}}" STREQUAL ""))
      list(APPEND names "${var}")
    endif()
  endforeach()
  foreach(var IN ITEMS CMAKE_CONFIGURATION_TYPES MULTIARCH_IMAGE_CONFIG MULTIARCH_IMAGE_DEBUG_SYMBOLS CMAKE_PREFIX_PATH
                      CMAKE_INSTALL_PREFIX)
    list(APPEND names "${var}")
  endforeach()
  foreach(lang IN ITEMS C CXX CUDA HIP OBJC OBJCXX Fortran ASM)
    list(APPEND names CMAKE_${lang}_COMPILER_LAUNCHER CMAKE_${lang}_LINKER_LAUNCHER)
  endforeach()
  list(APPEND names ${MULTIARCH_IMAGE_FORWARD_VARIABLES})
  set(lines "")
  # Each dependency FetchContent populated has a <name>-subbuild directory, and FetchContent keeps
  # where its sources are in a global property (the one FetchContent_GetProperties reads).
  if(FETCHCONTENT_BASE_DIR)
    file(GLOB subbuilds LIST_DIRECTORIES true "${FETCHCONTENT_BASE_DIR}/*-subbuild")
    foreach(subbuild IN LISTS subbuilds)
      get_filename_component(dep "${subbuild}" NAME)
      string(REGEX REPLACE "-subbuild$" "" dep "${dep}")
      get_property(source GLOBAL PROPERTY _FetchContent_${dep}_sourceDir)
      string(TOUPPER "${dep}" upper)
      if(source AND IS_DIRECTORY "${source}" AND NOT FETCHCONTENT_SOURCE_DIR_${upper})
        _multiarch_cache_line(line FETCHCONTENT_SOURCE_DIR_${upper} PATH "${source}")
        string(APPEND lines "${line}")
      endif()
    endforeach()
  endif()
  list(REMOVE_DUPLICATES names)
  foreach(var IN LISTS names)
    if(DEFINED ${var})
      set(type STRING)
      get_property(cache_type CACHE ${var} PROPERTY TYPE)
      if(cache_type MATCHES "^(BOOL|PATH|FILEPATH|STRING)$")
        set(type "${cache_type}")
      endif()
      _multiarch_cache_line(line ${var} ${type} "${${var}}")
      string(APPEND lines "${line}")
    endif()
  endforeach()
  set(${out} "${lines}" PARENT_SCOPE)
endfunction()
