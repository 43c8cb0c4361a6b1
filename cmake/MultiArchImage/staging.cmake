# MultiArchImage/staging.cmake: TARGETS and INSTALL. The context composed in the build tree, each
# platform's stage step (the targets, the project libraries they link, the runtime, what the install
# rules install) and what it waits for (INSTALL's order, the link closure), and the checks of TARGETS
# once every target exists.

# The image's staging in this build: with TARGETS or INSTALL (`STAGED`) and a Dockerfile, the
# context the engine gets is composed in the build tree (the source context mirrored with hard links,
# plus each platform's staged tree; see docs/cross.md); TARGETS are checked once they all exist.
# `name` first, every other value by keyword.
function(_multiarch_add_staging name)
  cmake_parse_arguments(PARSE_ARGV 1 S "" "STATE;SPEC;STAGED;ASSEMBLED" "HELPER;CONFIG_GUARD;TARGETS")
  if(S_STAGED AND NOT S_ASSEMBLED)
    add_custom_command(OUTPUT "${S_STATE}/context.stamp"
      ${S_CONFIG_GUARD}
      COMMAND ${S_HELPER} compose --spec "${S_SPEC}" --stamp "${S_STATE}/context.stamp" --depfile "${S_STATE}/context.d"
      DEPENDS "${S_SPEC}" ${S_HELPER}
      DEPFILE "${S_STATE}/context.d"
      COMMENT "multiarch-image: compose the context of ${name}"
      VERBATIM)
    add_custom_target(${name}-context DEPENDS "${S_STATE}/context.stamp")
  endif()
  if(S_TARGETS)
    # A deferred call evaluates its arguments when it runs: bake the values in now.
    cmake_language(EVAL CODE
      "cmake_language(DEFER DIRECTORY [[${CMAKE_SOURCE_DIR}]] CALL _multiarch_check_targets [[${name}]] [[${S_TARGETS}]])")
  endif()
endfunction()

# The stage step of one platform: TARGETS' files and the project libraries they need (with RUNTIME,
# the C/C++ runtime and loader too) copied to `out`; `stamp` written after. With `debug_symbols`
# ATTACH or DROP, the project's programs and libraries are stripped with this (sub-)build's own
# CMAKE_OBJCOPY and CMAKE_STRIP: the platform's toolchain.
function(_multiarch_stage name platform helper out stamp stage_target targets install debug_symbols)
  set(runtime ${ARGN})
  _multiarch_config_guard(config_guard "${name}")
  set(strip_args "")
  set(strip_tools "")
  if(debug_symbols MATCHES "^(ATTACH|DROP)$")
    foreach(tool IN ITEMS OBJCOPY STRIP)
      if(NOT CMAKE_${tool} OR NOT EXISTS "${CMAKE_${tool}}")
        message(FATAL_ERROR "add_multiarch_image(${name}): DEBUG_SYMBOLS ${debug_symbols} strips the programs of ${platform} "
          "with its toolchain's CMAKE_${tool}, which this build has not found (`${CMAKE_${tool}}`): enable C or CXX in "
          "project() (CMake finds binutils with the compiler), set CMAKE_${tool} in the toolchain file, or give the image "
          "DEBUG_SYMBOLS KEEP")
      endif()
      list(APPEND strip_tools "${CMAKE_${tool}}")
    endforeach()
    set(strip_args --debug-symbols ${debug_symbols} --objcopy "${CMAKE_OBJCOPY}" --strip "${CMAKE_STRIP}")
  endif()
  # INSTALL: `cmake --install` of this (sub-)build into the stage, after every target of `all` is
  # built; the install rules' sources (read from cmake_install.cmake) join the stage's depfile.
  set(install_args "")
  if(install)
    string(REPLACE "|" ";" install_parts "${install}")
    list(GET install_parts 0 install_prefix)
    list(GET install_parts 1 install_components)
    string(REPLACE "," ";" install_components "${install_components}")
    set(install_args --install-tree "${CMAKE_BINARY_DIR}" --install-prefix "${install_prefix}"
      --install-cmake "${CMAKE_COMMAND}"
      "$<$<BOOL:$<CONFIG>>:--install-config$<SEMICOLON>$<CONFIG>>")
    foreach(component IN LISTS install_components)
      list(APPEND install_args --install-component "${component}")
    endforeach()
    cmake_language(EVAL CODE
      "cmake_language(DEFER DIRECTORY [[${CMAKE_SOURCE_DIR}]] CALL _multiarch_install_order [[${stage_target}]])")
  endif()
  set(files "")
  foreach(target IN LISTS targets)
    # The run path the file gets in the image is the one `cmake --install` would give it.
    list(APPEND files "$<IF:$<STREQUAL:$<TARGET_PROPERTY:${target},TYPE>,EXECUTABLE>,--executable,--library>"
                      "$<TARGET_FILE:${target}>"
                      --install-rpath "$<TARGET_FILE_NAME:${target}>:$<JOIN:$<TARGET_PROPERTY:${target},INSTALL_RPATH>,:>")
  endforeach()
  set(runtime_dirs "")
  if(runtime)
    # Where this build's toolchain links the C and C++ runtime from: the directories CMake found in
    # the compiler's own link line, so the target (clang's --target), the sysroot and the flags all
    # count, as they did when it linked the TARGETS (a sub-build's cross toolchain there).
    # Then the target's Debian multiarch directories, where libfoo-dev:<arch> puts what they link.
    set(candidates ${CMAKE_CXX_IMPLICIT_LINK_DIRECTORIES} ${CMAKE_C_IMPLICIT_LINK_DIRECTORIES})
    if(CMAKE_LIBRARY_ARCHITECTURE)
      list(APPEND candidates "${CMAKE_SYSROOT}/usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}"
                             "${CMAKE_SYSROOT}/lib/${CMAKE_LIBRARY_ARCHITECTURE}")
    endif()
    set(libc "")
    foreach(given IN LISTS candidates)
      get_filename_component(dir "${given}" REALPATH)
      if(IS_DIRECTORY "${dir}" AND NOT dir IN_LIST runtime_dirs)
        list(APPEND runtime_dirs "${dir}")
      endif()
      if(NOT libc AND EXISTS "${dir}/libc.so.6")
        set(libc "${dir}/libc.so.6")
        set(libc_from "${given}")
      endif()
    endforeach()
    # Debian's cross gcc searches its own /usr/<triplet>/lib before a --sysroot: the image then gets
    # that C runtime, which may not be the sysroot's.
    if(libc AND CMAKE_SYSROOT)
      cmake_path(IS_PREFIX CMAKE_SYSROOT "${libc_from}" NORMALIZE in_sysroot)
      if(NOT in_sysroot)
        message(WARNING "add_multiarch_image(${name}): RUNTIME for ${platform}: the toolchain links libc.so.6 from "
          "${libc_from}, outside CMAKE_SYSROOT (${CMAKE_SYSROOT}), and that is the C runtime the image gets. Debian's "
          "cross gcc searches its own /usr/<triplet>/lib before the sysroot, so the sysroot's headers and this libc "
          "may not match: use a -clang toolchain file with CMAKE_SYSROOT, or a gcc configured for your sysroot.")
      endif()
    endif()
    if(NOT libc)
      message(FATAL_ERROR "add_multiarch_image(${name}): RUNTIME: no libc.so.6 for ${platform} in the toolchain's "
        "library directories (${runtime_dirs}); RUNTIME stages a glibc runtime, which needs a C or C++ compiler "
        "linking against glibc for ${platform}")
    endif()
    list(TRANSFORM runtime_dirs PREPEND "--runtime-dir;")
  endif()
  # The project's shared libraries the targets link (their link closure, known once the top-level
  # directory is done: _multiarch_link_closure) are project libraries wherever their files are, and
  # an edit of one restages the platform even when its users do not relink (CMAKE_LINK_DEPENDS_NO_SHARED).
  set(closure "$<TARGET_GENEX_EVAL:${stage_target},$<TARGET_PROPERTY:${stage_target},MULTIARCH_LINKED_LIBRARY_FILES>>")
  # What the targets link, for the SBOM: written when the build system is generated
  # (_multiarch_link_record), so a new commit of a fetched source restages even when no byte changes.
  set(links "${stamp}.links.json")
  add_custom_command(OUTPUT "${stamp}"
    ${config_guard}
    COMMAND ${helper} stage --name "${name}" --platform "${platform}" --out "${out}" --stamp "${stamp}" --depfile "${stamp}.d"
            ${files} --project-dir "${CMAKE_BINARY_DIR}" ${runtime_dirs}
            "$<$<BOOL:${closure}>:--project-library;$<JOIN:${closure},;--project-library;>>" ${install_args}
            --links "${links}" ${strip_args}
    DEPENDS ${targets} ${helper} "${closure}" "${links}" ${strip_tools}
    # What the stage read besides its DEPENDS: the install rules' sources, vcpkg's lists and SBOMs.
    DEPFILE "${stamp}.d"
    COMMENT "multiarch-image: stage ${name} ${platform}"
    COMMAND_EXPAND_LISTS
    VERBATIM)
  add_custom_target(${stage_target} DEPENDS "${stamp}")
  set_property(TARGET ${stage_target} PROPERTY MULTIARCH_IMAGE_STEP TRUE)
  cmake_language(EVAL CODE
    "cmake_language(DEFER DIRECTORY [[${CMAKE_SOURCE_DIR}]] CALL _multiarch_link_closure [[${stage_target}]] [[${targets}]])")
  cmake_language(EVAL CODE
    "cmake_language(DEFER DIRECTORY [[${CMAKE_SOURCE_DIR}]] CALL _multiarch_link_record [[${links}]] [[${targets}]])")
endfunction()

# INSTALL's values as "<prefix>|<component>,...", checked: COMPONENTS names, an absolute PREFIX that
# is CMAKE_INSTALL_PREFIX (its default): what the project computes from the prefix at configure time
# (CMAKE_INSTALL_FULL_DATADIR, an INSTALL_RPATH, DESTINATION ${CMAKE_INSTALL_PREFIX}/...) must name
# where the image has its files. In a sub-build, CMAKE_INSTALL_PREFIX must still be the main build's.
function(_multiarch_install_spec out name json)
  set(valid "valid: INSTALL [COMPONENTS <component>...] [PREFIX <absolute directory>], e.g. INSTALL COMPONENTS runtime PREFIX /opt/app")
  _multiarch_normal_prefix(configured "${CMAKE_INSTALL_PREFIX}")
  if(DEFINED MULTIARCH_IMAGE_SUB_BUILD AND DEFINED MULTIARCH_IMAGE_INSTALL_PREFIX
     AND NOT configured STREQUAL MULTIARCH_IMAGE_INSTALL_PREFIX)
    message(FATAL_ERROR "add_multiarch_image(${name}): the ${MULTIARCH_IMAGE_SUB_BUILD} sub-build has CMAKE_INSTALL_PREFIX "
      "`${CMAKE_INSTALL_PREFIX}`, the main build `${MULTIARCH_IMAGE_INSTALL_PREFIX}`: INSTALL needs every platform built for "
      "the prefix its image uses. Leave CMAKE_INSTALL_PREFIX out of CROSS_CMAKE_ARGS (the sub-builds get the main build's).")
  endif()
  set(prefix "${configured}")
  set(prefix_given FALSE)
  set(components "")
  set(components_given FALSE)
  set(mode "")
  string(JSON count LENGTH "${json}")
  set(i 0)
  while(i LESS count)
    string(JSON word GET "${json}" ${i})
    math(EXPR i "${i} + 1")
    if(word STREQUAL "COMPONENTS")
      set(mode COMPONENTS)
      set(components_given TRUE)
    elseif(word STREQUAL "PREFIX")
      if(prefix_given OR i GREATER_EQUAL count)
        message(FATAL_ERROR "add_multiarch_image(${name}): INSTALL PREFIX takes one directory, once (${valid})")
      endif()
      string(JSON prefix GET "${json}" ${i})
      math(EXPR i "${i} + 1")
      set(prefix_given TRUE)
      set(mode "")
    elseif(mode STREQUAL "COMPONENTS")
      if(NOT word MATCHES "^[A-Za-z0-9_.+-]+$")
        message(FATAL_ERROR "add_multiarch_image(${name}): INSTALL COMPONENTS entry `${word}` is not a component name "
          "(letters, digits and _ . + -, as install(... COMPONENT) takes it)")
      endif()
      list(APPEND components "${word}")
    else()
      message(FATAL_ERROR "add_multiarch_image(${name}): INSTALL: unexpected `${word}` (${valid})")
    endif()
  endwhile()
  if(components_given AND NOT components)
    message(FATAL_ERROR "add_multiarch_image(${name}): INSTALL COMPONENTS needs at least one component (${valid})")
  endif()
  string(REGEX REPLACE "(.)/$" "\\1" prefix "${prefix}")
  _multiarch_normal_prefix(normal "${prefix}")
  set(what "INSTALL PREFIX `${prefix}`")
  if(NOT prefix_given)
    set(what "CMAKE_INSTALL_PREFIX `${CMAKE_INSTALL_PREFIX}` (INSTALL's prefix when PREFIX is not given)")
  endif()
  if(NOT prefix MATCHES "^/[A-Za-z0-9_.+/-]*$" OR NOT prefix STREQUAL normal OR prefix MATCHES "(^|/)\\.\\.?(/|$)")
    message(FATAL_ERROR "add_multiarch_image(${name}): ${what} is not an absolute, normal path in the "
      "image (letters, digits and _ . + - / only, no . or .. parts; e.g. /usr/local or /opt/app)")
  endif()
  if(NOT prefix STREQUAL configured)
    message(FATAL_ERROR "add_multiarch_image(${name}): INSTALL PREFIX `${prefix}` is not CMAKE_INSTALL_PREFIX "
      "(`${CMAKE_INSTALL_PREFIX}`), the prefix this build is configured for: what the project computes from it "
      "(CMAKE_INSTALL_FULL_DATADIR, an INSTALL_RPATH, DESTINATION \${CMAKE_INSTALL_PREFIX}/...) would name "
      "${configured} in an image whose files are under ${prefix}. Configure with -DCMAKE_INSTALL_PREFIX=${prefix} "
      "(the cross sub-builds get it too), or leave PREFIX out.")
  endif()
  list(JOIN components "," joined)
  set(${out} "${prefix}|${joined}" PARENT_SCOPE)
endfunction()

# `path` with no trailing slash (but `/`) and no `.`, `..` or doubled slashes that cmake_path can
# remove: how a prefix compares.
function(_multiarch_normal_prefix out path)
  cmake_path(NORMAL_PATH path OUTPUT_VARIABLE normal)
  string(REGEX REPLACE "(.)/$" "\\1" normal "${normal}")
  set(${out} "${normal}" PARENT_SCOPE)
endfunction()

# Deferred to the end of the top-level directory: INSTALL's stage waits for every target of the
# project that `all` builds, custom targets included (what install rules copy is made by then), but
# never for one that waits for an image itself (that would be a cycle). And every executable and
# shared library `all` builds gets a build run path relative to $ORIGIN: the linker hashes the run
# path into the GNU build-id, which `cmake --install` does not change, so an absolute one would give
# each build directory its own image.
function(_multiarch_install_order stage_target)
  set(dirs "${CMAKE_SOURCE_DIR}")
  while(dirs)
    list(POP_FRONT dirs dir)
    get_property(subdirs DIRECTORY "${dir}" PROPERTY SUBDIRECTORIES)
    list(APPEND dirs ${subdirs})
    get_property(targets DIRECTORY "${dir}" PROPERTY BUILDSYSTEM_TARGETS)
    foreach(target IN LISTS targets)
      get_target_property(type "${target}" TYPE)
      get_target_property(excluded "${target}" EXCLUDE_FROM_ALL)
      if(excluded OR NOT type MATCHES "^(EXECUTABLE|SHARED_LIBRARY|MODULE_LIBRARY|STATIC_LIBRARY|OBJECT_LIBRARY|UTILITY)$")
        continue()
      endif()
      if(type STREQUAL "UTILITY")
        _multiarch_waits_for_an_image(waits "${target}")
        if(waits)
          continue()
        endif()
      endif()
      add_dependencies(${stage_target} "${target}")
      if(type MATCHES "^(EXECUTABLE|SHARED_LIBRARY|MODULE_LIBRARY)$")
        set_property(TARGET "${target}" PROPERTY BUILD_RPATH_USE_ORIGIN ON)
      endif()
    endforeach()
  endwhile()
endfunction()

# Whether `target` depends, through add_dependencies(), on a target of an image (its stage, build,
# push, manifest, or image-build/image-push): such a target runs after the stage, not before it.
function(_multiarch_waits_for_an_image out target)
  set(queue "${target}")
  set(seen "")
  while(queue)
    list(POP_FRONT queue t)
    if(t IN_LIST seen OR NOT TARGET "${t}")
      continue()
    endif()
    list(APPEND seen "${t}")
    get_property(ours TARGET "${t}" PROPERTY MULTIARCH_IMAGE_STEP)
    if(ours)
      set(${out} TRUE PARENT_SCOPE)
      return()
    endif()
    get_target_property(deps "${t}" MANUALLY_ADDED_DEPENDENCIES)
    if(deps)
      list(APPEND queue ${deps})
    endif()
  endwhile()
  set(${out} FALSE PARENT_SCOPE)
endfunction()

# Deferred to the end of the top-level directory, when every target exists: the shared libraries
# of this project that `targets` link, directly or through other targets, recorded on the stage
# target (as $<TARGET_FILE:...>) for its command and its dependencies.
function(_multiarch_link_closure stage_target targets)
  set(queue ${targets})
  set(seen "")
  set(files "")
  while(queue)
    list(POP_FRONT queue target)
    if(target IN_LIST seen OR NOT TARGET "${target}")
      continue()
    endif()
    list(APPEND seen "${target}")
    get_target_property(aliased "${target}" ALIASED_TARGET)
    if(aliased)
      list(APPEND queue "${aliased}")
      continue()
    endif()
    get_target_property(imported "${target}" IMPORTED)
    if(imported)
      continue()  # not this project's: the base image or RUNTIME provides it
    endif()
    get_target_property(type "${target}" TYPE)
    if(type MATCHES "^(SHARED|MODULE)_LIBRARY$" AND NOT target IN_LIST targets)
      list(APPEND files "$<TARGET_FILE:${target}>")
      add_dependencies(${stage_target} "${target}")
    endif()
    foreach(property IN ITEMS LINK_LIBRARIES INTERFACE_LINK_LIBRARIES)
      get_target_property(links "${target}" ${property})
      foreach(link IN LISTS links)
        string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" link "${link}")
        if(link AND TARGET "${link}")
          list(APPEND queue "${link}")
        endif()
      endforeach()
    endforeach()
  endwhile()
  set_property(TARGET ${stage_target} PROPERTY MULTIARCH_LINKED_LIBRARY_FILES "${files}")
endfunction()

# Deferred to the end of the top-level directory, when every target exists: what `targets` link, directly
# or through other targets, as the SBOM lists it (docs/supply-chain.md), written to `path` when the
# build system is generated (its files as $<TARGET_FILE:...>, so each configuration's and each
# platform's own). One node per target or library file: its type, its file, what it links, and for a
# target compiled from a source tree in a git repository other than the project's (FetchContent, CPM,
# ExternalProject, a submodule) that repository's URL without credentials and its commit. A link inside
# $<$<CONFIG:...>:...> (as Conan's CMakeDeps writes them) is written inside that condition; other link
# items CMake cannot name here (-l flags, bare library names, generator expressions) are not listed.
# "roots" are the staged targets, "conan" the Conan packages the build found (_multiarch_conan_packages).
function(_multiarch_link_record path targets)
  set(queue "")
  foreach(target IN LISTS targets)
    if(TARGET "${target}")
      list(APPEND queue "target:${target}")
    endif()
  endforeach()
  set(roots ${queue})
  set(seen "")
  set(nodes "")
  while(queue)
    list(POP_FRONT queue ref)
    if(ref IN_LIST seen)
      continue()
    endif()
    list(APPEND seen "${ref}")
    set(node "{}")
    set(links "")
    set(reached "")
    if(ref MATCHES "^file:(.*)$")
      _multiarch_json_string(quoted "${CMAKE_MATCH_1}")
      string(JSON node SET "${node}" type "\"FILE\"")
      string(JSON node SET "${node}" file "${quoted}")
    else()
      string(SUBSTRING "${ref}" 7 -1 target)
      get_target_property(type "${target}" TYPE)
      get_target_property(imported "${target}" IMPORTED)
      string(JSON node SET "${node}" type "\"${type}\"")
      set(flag false)
      if(imported)
        set(flag true)
      endif()
      string(JSON node SET "${node}" imported ${flag})
      if(type MATCHES "^(STATIC_LIBRARY|SHARED_LIBRARY|MODULE_LIBRARY|EXECUTABLE|UNKNOWN_LIBRARY)$")
        string(JSON node SET "${node}" file "\"$<TARGET_FILE:${target}>\"")
      endif()
      set(properties INTERFACE_LINK_LIBRARIES)
      if(imported)
        # A library an ExternalProject built is named by that project's source.
        _multiarch_external_project_source(key source "${target}")
        if(key)
          string(JSON node SET "${node}" ${key} "${source}")
        endif()
      endif()
      if(NOT imported AND NOT type STREQUAL "INTERFACE_LIBRARY")
        list(APPEND properties LINK_LIBRARIES)
        get_target_property(source_dir "${target}" SOURCE_DIR)
        # An archive FetchContent downloaded has no git metadata of its own (the tree around it, if
        # any, is not its source): it is named by the URL and hash it was declared with.
        _multiarch_fetched_archive(archive "${source_dir}")
        if(archive)
          string(JSON node SET "${node}" archive "${archive}")
        else()
          _multiarch_source_repository(repository "${source_dir}")
          if(repository)
            string(JSON node SET "${node}" repository "${repository}")
          endif()
        endif()
      endif()
      foreach(property IN LISTS properties)
        get_target_property(items "${target}" ${property})
        # Conan's CMakeDeps links per configuration: $<$<CONFIG:Release>:CONAN_LIB::a;CONAN_LIB::b>, which
        # a list splits into pieces. Each item of such a group is a link the record writes inside the same
        # condition (file(GENERATE) evaluates it, to nothing in another configuration); a group holding
        # another generator expression is not followed.
        set(open "")
        set(nested FALSE)
        foreach(item IN LISTS items)
          if(NOT open AND item MATCHES "^\\$<\\$<CONFIG:([^>]*)>:(.*)$")
            set(open "${CMAKE_MATCH_1}")
            set(item "${CMAKE_MATCH_2}")
            set(nested FALSE)
          endif()
          set(condition "${open}")
          if(open AND item MATCHES "^(.*)>$")
            set(item "${CMAKE_MATCH_1}")
            set(open "")
          endif()
          if(condition AND item MATCHES "[$]<")
            set(nested TRUE)
          endif()
          if(condition AND nested)
            continue()
          endif()
          string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" item "${item}")
          set(link "")
          if(item AND TARGET "${item}")
            get_target_property(aliased "${item}" ALIASED_TARGET)
            if(aliased)
              set(item "${aliased}")
            endif()
            set(link "target:${item}")
          elseif(IS_ABSOLUTE "${item}" AND NOT item MATCHES "[$]<" AND EXISTS "${item}")
            set(link "file:${item}")
          endif()
          if(link)
            list(APPEND reached "${link}")
            if(condition)
              set(link "$<$<CONFIG:${condition}>:${link}>")
            endif()
            list(APPEND links "${link}")
          endif()
        endforeach()
      endforeach()
    endif()
    list(REMOVE_DUPLICATES links)
    list(APPEND queue ${reached})
    _multiarch_json_array(array ${links})
    string(JSON node SET "${node}" links "${array}")
    _multiarch_json_string(quoted "${ref}")
    string(JSON node SET "${node}" ref "${quoted}")
    list(APPEND nodes "${node}")
  endwhile()
  list(JOIN nodes ",\n" joined)
  _multiarch_json_array(roots ${roots})
  _multiarch_conan_packages(conan)
  _multiarch_generate_if_changed("${path}"
    "{\"format\": 1, \"roots\": ${roots}, \"conan\": ${conan}, \"nodes\": [\n${joined}]}\n")
endfunction()

# The Conan packages whose CMakeDeps files (Conan 2) this configure found, as a JSON object: "packages",
# each {"name", "version", "folder"} (its package folder for one configuration), and "documents", the
# CycloneDX documents beside them ({"path", "sha256"}). A generators folder is a directory a
# find_package() result (<Name>_DIR) names that holds cmakedeps_macros.cmake; there, each
# <file name>-config-version.cmake (or <FileName>ConfigVersion.cmake) gives the version, and each
# <file name>-*-data.cmake, included here as find_package included it, its <pkg>_PACKAGE_FOLDER_<CONFIG>.
# Those files were read by find_package, so a new `conan install` configures again; the documents
# (<generators>/sbom/*.json, where a post_generate hook writes them) and the folders holding them are
# made configure dependencies here. Found once per configure, never on a no-op.
function(_multiarch_conan_packages out)
  get_property(known GLOBAL PROPERTY _MULTIARCH_CONAN SET)
  if(known)
    get_property(value GLOBAL PROPERTY _MULTIARCH_CONAN)
    set(${out} "${value}" PARENT_SCOPE)
    return()
  endif()
  set(dirs "")
  get_cmake_property(cached CACHE_VARIABLES)
  foreach(variable IN LISTS cached)
    if(variable MATCHES "_DIR$" AND IS_DIRECTORY "${${variable}}" AND EXISTS "${${variable}}/cmakedeps_macros.cmake")
      get_filename_component(dir "${${variable}}" REALPATH)
      list(APPEND dirs "${dir}")
    endif()
  endforeach()
  list(REMOVE_DUPLICATES dirs)
  set(packages "[]")
  set(documents "[]")
  set(folders "")
  foreach(dir IN LISTS dirs)
    file(GLOB version_files "${dir}/*-config-version.cmake" "${dir}/*ConfigVersion.cmake")
    foreach(version_file IN LISTS version_files)
      get_filename_component(file_name "${version_file}" NAME)
      string(REGEX REPLACE "(-config-version|ConfigVersion)\\.cmake$" "" file_name "${file_name}")
      file(STRINGS "${version_file}" lines REGEX "^set\\(PACKAGE_VERSION \"[^\"]*\"\\)$" LIMIT_COUNT 1)
      if(NOT lines MATCHES "^set\\(PACKAGE_VERSION \"([^\"]*)\"\\)$")
        continue()
      endif()
      set(version "${CMAKE_MATCH_1}")
      file(GLOB data_files "${dir}/${file_name}-*-data.cmake")
      foreach(data_file IN LISTS data_files)
        file(STRINGS "${data_file}" lines REGEX "^set\\([^ ]+_PACKAGE_FOLDER_[A-Z0-9_]+ ")
        foreach(line IN LISTS lines)
          if(NOT line MATCHES "^set\\(([^ ]+)_PACKAGE_FOLDER_([A-Z0-9_]+) ")
            continue()
          endif()
          set(pkg "${CMAKE_MATCH_1}")
          _multiarch_conan_package_folder(folder "${data_file}" "${pkg}_PACKAGE_FOLDER_${CMAKE_MATCH_2}")
          if(NOT folder OR NOT IS_ABSOLUTE "${folder}" OR folder IN_LIST folders)
            continue()
          endif()
          list(APPEND folders "${folder}")
          _multiarch_json_string(qname "${pkg}")
          _multiarch_json_string(qversion "${version}")
          _multiarch_json_string(qfolder "${folder}")
          string(JSON length LENGTH "${packages}")
          string(JSON packages SET "${packages}" ${length} "{\"name\": ${qname}, \"version\": ${qversion}, \"folder\": ${qfolder}}")
        endforeach()
      endforeach()
    endforeach()
    # A document written later (a hook added) changes the folder, or its sbom/: configure again then.
    set_property(DIRECTORY "${CMAKE_SOURCE_DIR}" APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${dir}")
    if(IS_DIRECTORY "${dir}/sbom")
      set_property(DIRECTORY "${CMAKE_SOURCE_DIR}" APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${dir}/sbom")
    endif()
    file(GLOB sboms "${dir}/sbom/*.json")
    foreach(sbom IN LISTS sboms)
      file(SHA256 "${sbom}" hash)
      set_property(DIRECTORY "${CMAKE_SOURCE_DIR}" APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${sbom}")
      _multiarch_json_string(qpath "${sbom}")
      string(JSON length LENGTH "${documents}")
      string(JSON documents SET "${documents}" ${length} "{\"path\": ${qpath}, \"sha256\": \"sha256:${hash}\"}")
    endforeach()
  endforeach()
  set(value "{\"packages\": ${packages}, \"documents\": ${documents}}")
  set_property(GLOBAL PROPERTY _MULTIARCH_CONAN "${value}")
  set(${out} "${value}" PARENT_SCOPE)
endfunction()

# The package folder a CMakeDeps data file sets in `variable`, as CMake reads it (the file names it
# relative to ${CMAKE_CURRENT_LIST_DIR}): the file is included in this function's scope only.
function(_multiarch_conan_package_folder out data_file variable)
  include("${data_file}")
  set(folder "${${variable}}")
  if(folder AND IS_DIRECTORY "${folder}")
    get_filename_component(folder "${folder}" REALPATH)
  endif()
  set(${out} "${folder}" PARENT_SCOPE)
endfunction()

# The git repository `dir` is in, as a JSON object {"url", "commit"}, when it is not the project's own
# (empty then, and outside any repository): the remote's URL without its userinfo (a token there never
# reaches a record) and HEAD's commit. A `git checkout` there configures again (its HEAD is a configure
# dependency), so the record names the commit the build compiled. Asked once per directory and run.
function(_multiarch_source_repository out dir)
  string(MD5 key "${dir}")
  get_property(known GLOBAL PROPERTY _MULTIARCH_REPOSITORY_${key} SET)
  if(known)
    get_property(value GLOBAL PROPERTY _MULTIARCH_REPOSITORY_${key})
    set(${out} "${value}" PARENT_SCOPE)
    return()
  endif()
  set(value "")
  find_package(Git QUIET)
  get_property(project_top GLOBAL PROPERTY _MULTIARCH_PROJECT_GIT_TOP)
  if(GIT_FOUND AND NOT project_top)
    execute_process(COMMAND "${GIT_EXECUTABLE}" rev-parse --show-toplevel WORKING_DIRECTORY "${CMAKE_SOURCE_DIR}"
      OUTPUT_VARIABLE project_top ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(NOT project_top)
      set(project_top "-")  # not in a repository: every repository found is another one
    endif()
    set_property(GLOBAL PROPERTY _MULTIARCH_PROJECT_GIT_TOP "${project_top}")
  endif()
  if(GIT_FOUND AND IS_DIRECTORY "${dir}")
    execute_process(COMMAND "${GIT_EXECUTABLE}" rev-parse --show-toplevel --absolute-git-dir HEAD
      WORKING_DIRECTORY "${dir}" RESULT_VARIABLE status OUTPUT_VARIABLE lines ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE)
    string(REPLACE "\n" ";" lines "${lines}")
    list(LENGTH lines count)
    if(status EQUAL 0 AND count EQUAL 3)
      list(GET lines 0 top)
      list(GET lines 1 git_dir)
      list(GET lines 2 commit)
      if(NOT top STREQUAL project_top)
        # The remote as configured, not as insteadOf rewrites it for fetching.
        execute_process(COMMAND "${GIT_EXECUTABLE}" config --get remote.origin.url WORKING_DIRECTORY "${top}"
          OUTPUT_VARIABLE url ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE)
        _multiarch_url_without_credentials(url "${url}")
        _multiarch_json_string(qurl "${url}")
        _multiarch_json_string(qtop "${top}")
        set(value "{\"url\": ${qurl}, \"commit\": \"${commit}\", \"dir\": ${qtop}}")
        if(EXISTS "${git_dir}/HEAD")
          set_property(DIRECTORY "${CMAKE_SOURCE_DIR}" APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${git_dir}/HEAD")
        endif()
      endif()
    endif()
  endif()
  set_property(GLOBAL PROPERTY _MULTIARCH_REPOSITORY_${key} "${value}")
  set(${out} "${value}" PARENT_SCOPE)
endfunction()

# `url` as records and documents may name it: without its userinfo (`https://ci:<token>@host/...`) and
# without its query and fragment (where presigned URLs and `?private_token=` carry their secrets).
function(_multiarch_url_without_credentials out url)
  string(REGEX REPLACE "^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@" "\\1" url "${url}")
  string(REGEX REPLACE "[?#].*$" "" url "${url}")
  set(${out} "${url}" PARENT_SCOPE)
endfunction()

# The archive FetchContent populated the source tree `dir` is in, as a JSON object {"name", "url",
# "hash", "version"}; empty when `dir` is in no content declared with URL. What was declared is what
# FetchContent_Declare saved in the global property _FetchContent_<name>_savedDetails (its arguments,
# CMake 3.25 as later), and where it was populated is _FetchContent_<name>_sourceDir. Global properties
# cannot be listed, so the names are found where FetchContent leaves them: its sub-builds
# (<FETCHCONTENT_BASE_DIR>/<name>-subbuild) and the default <name>-src directories above `dir`. The
# version is the fetched project's own (project(... VERSION)), when it gives one.
function(_multiarch_fetched_archive out dir)
  string(MD5 key "${dir}")
  get_property(known GLOBAL PROPERTY _MULTIARCH_ARCHIVE_${key} SET)
  if(known)
    get_property(value GLOBAL PROPERTY _MULTIARCH_ARCHIVE_${key})
    set(${out} "${value}" PARENT_SCOPE)
    return()
  endif()
  set(base "${FETCHCONTENT_BASE_DIR}")
  if(NOT base)
    set(base "${CMAKE_BINARY_DIR}/_deps")
  endif()
  set(names "")
  file(GLOB subbuilds LIST_DIRECTORIES true RELATIVE "${base}" "${base}/*-subbuild")
  foreach(subbuild IN LISTS subbuilds)
    string(REGEX REPLACE "-subbuild$" "" subbuild "${subbuild}")
    list(APPEND names "${subbuild}")
  endforeach()
  set(up "${dir}")
  while(NOT up STREQUAL "" AND NOT up MATCHES "^(/|[A-Za-z]:/)$")
    get_filename_component(leaf "${up}" NAME)
    if(leaf MATCHES "^(.+)-src$")
      string(TOLOWER "${CMAKE_MATCH_1}" leaf)
      list(APPEND names "${leaf}")
    endif()
    get_filename_component(parent "${up}" DIRECTORY)
    if(parent STREQUAL up)
      break()
    endif()
    set(up "${parent}")
  endwhile()
  list(REMOVE_DUPLICATES names)
  set(value "")
  foreach(name IN LISTS names)
    get_property(source GLOBAL PROPERTY _FetchContent_${name}_sourceDir)
    get_property(details GLOBAL PROPERTY _FetchContent_${name}_savedDetails)
    string(TOUPPER "${name}" upper)
    if(NOT source OR NOT details OR FETCHCONTENT_SOURCE_DIR_${upper})
      continue()  # not populated, or from a local tree given instead of what was declared
    endif()
    file(RELATIVE_PATH inside "${source}" "${dir}")
    if(inside MATCHES "^\\.\\.(/|$)" OR IS_ABSOLUTE "${inside}")
      continue()
    endif()
    set(url "")
    set(hash "")
    set(keyword "")
    foreach(item IN LISTS details)
      if(keyword STREQUAL "URL" AND NOT url)
        set(url "${item}")  # the first of its URLs: the others are mirrors of the same hash
      elseif(keyword STREQUAL "URL_HASH" AND item MATCHES "^([A-Za-z0-9_]+)=([0-9A-Fa-f]+)$")
        string(TOLOWER "${CMAKE_MATCH_1}:${CMAKE_MATCH_2}" hash)
      elseif(keyword STREQUAL "URL_MD5" AND NOT hash)
        string(TOLOWER "md5:${item}" hash)
      endif()
      if(item MATCHES "^[A-Z][A-Z0-9_]*$")
        set(keyword "${item}")
      endif()
    endforeach()
    if(NOT url)
      break()  # declared with GIT_REPOSITORY or another method: its tree says what it is
    endif()
    _multiarch_url_without_credentials(url "${url}")
    get_directory_property(project_dir DIRECTORY "${dir}" DEFINITION PROJECT_SOURCE_DIR)
    get_directory_property(version DIRECTORY "${dir}" DEFINITION PROJECT_VERSION)
    file(RELATIVE_PATH project_inside "${source}" "${project_dir}")
    if(project_inside MATCHES "^\\.\\.(/|$)" OR IS_ABSOLUTE "${project_inside}")
      set(version "")  # the project() in scope is the consumer's, not the fetched one's
    endif()
    _multiarch_json_string(qname "${name}")
    _multiarch_json_string(qurl "${url}")
    _multiarch_json_string(qhash "${hash}")
    _multiarch_json_string(qversion "${version}")
    set(value "{\"name\": ${qname}, \"url\": ${qurl}, \"hash\": ${qhash}, \"version\": ${qversion}}")
    break()
  endforeach()
  set_property(GLOBAL PROPERTY _MULTIARCH_ARCHIVE_${key} "${value}")
  set(${out} "${value}" PARENT_SCOPE)
endfunction()

# The source of the ExternalProject whose build made the imported `target`'s file, for its node in the
# link record: `key` is "archive" (declared with URL: {"name", "url", "hash", "version"}) or
# "repository" (GIT_REPOSITORY: {"url", "commit", "dir"}, the commit empty unless GIT_TAG is one; the
# stage step reads the one checked out in "dir"), empty when neither. Which ExternalProject: the one
# the target's MULTIARCH_IMAGE_SBOM_SOURCE property names, else the one ExternalProject the target
# depends on (add_dependencies(<imported target> <external project>), which its build order needs
# anyway). What was declared is read where ExternalProject_Get_Property reads it.
function(_multiarch_external_project_source out_key out_value target)
  set(${out_key} "" PARENT_SCOPE)
  get_target_property(project "${target}" MULTIARCH_IMAGE_SBOM_SOURCE)
  if(project)
    set(is_ep "")
    if(TARGET "${project}")
      get_property(is_ep TARGET "${project}" PROPERTY _EP_IS_EXTERNAL_PROJECT)
    endif()
    if(NOT is_ep)
      message(FATAL_ERROR "add_multiarch_image: the MULTIARCH_IMAGE_SBOM_SOURCE property of `${target}` names "
        "`${project}`, which is no ExternalProject (valid: the name given to ExternalProject_Add)")
    endif()
  else()
    get_target_property(dependencies "${target}" MANUALLY_ADDED_DEPENDENCIES)
    set(projects "")
    foreach(dependency IN LISTS dependencies)
      if(TARGET "${dependency}")
        get_property(is_ep TARGET "${dependency}" PROPERTY _EP_IS_EXTERNAL_PROJECT)
        if(is_ep)
          list(APPEND projects "${dependency}")
        endif()
      endif()
    endforeach()
    list(LENGTH projects count)
    if(NOT count EQUAL 1)
      return()  # none, or several: which one made the file is not guessed (MULTIARCH_IMAGE_SBOM_SOURCE says)
    endif()
    set(project "${projects}")
  endif()
  get_property(urls TARGET "${project}" PROPERTY _EP_URL)
  get_property(repository TARGET "${project}" PROPERTY _EP_GIT_REPOSITORY)
  if(urls)
    list(GET urls 0 url)
    _multiarch_url_without_credentials(url "${url}")
    get_property(hash TARGET "${project}" PROPERTY _EP_URL_HASH)
    get_property(md5 TARGET "${project}" PROPERTY _EP_URL_MD5)
    if(hash MATCHES "^([A-Za-z0-9_]+)=([0-9A-Fa-f]+)$")
      string(TOLOWER "${CMAKE_MATCH_1}:${CMAKE_MATCH_2}" hash)
    elseif(md5)
      string(TOLOWER "md5:${md5}" hash)
    else()
      set(hash "")
    endif()
    _multiarch_json_string(qname "${project}")
    _multiarch_json_string(qurl "${url}")
    _multiarch_json_string(qhash "${hash}")
    set(${out_key} archive PARENT_SCOPE)
    set(${out_value} "{\"name\": ${qname}, \"url\": ${qurl}, \"hash\": ${qhash}, \"version\": \"\"}" PARENT_SCOPE)
  elseif(repository)
    _multiarch_url_without_credentials(url "${repository}")
    get_property(tag TARGET "${project}" PROPERTY _EP_GIT_TAG)
    get_property(dir TARGET "${project}" PROPERTY _EP_SOURCE_DIR)
    set(commit "")
    if(tag MATCHES "^[0-9a-f]{40}$")
      set(commit "${tag}")
    endif()
    _multiarch_json_string(qurl "${url}")
    _multiarch_json_string(qdir "${dir}")
    set(${out_key} repository PARENT_SCOPE)
    set(${out_value} "{\"url\": ${qurl}, \"commit\": \"${commit}\", \"dir\": ${qdir}}" PARENT_SCOPE)
  endif()
endfunction()

# At the end of the top-level directory: every TARGETS entry exists and is something to ship.
function(_multiarch_check_targets name targets)
  foreach(target IN LISTS targets)
    if(NOT TARGET "${target}")
      message(FATAL_ERROR "add_multiarch_image(${name}): TARGETS names `${target}`, which is not a target of this project "
        "(valid: executables and shared or module libraries made with add_executable/add_library)")
    endif()
    get_target_property(type "${target}" TYPE)
    get_target_property(imported "${target}" IMPORTED)
    if(imported)
      set(type "${type} (imported)")
    endif()
    if(imported OR NOT type MATCHES "^(EXECUTABLE|SHARED_LIBRARY|MODULE_LIBRARY)$")
      message(FATAL_ERROR "add_multiarch_image(${name}): TARGETS entry `${target}` is a ${type}; "
        "valid: executables and shared or module libraries built by this project")
    endif()
    # Staging writes the target's INSTALL_RPATH over its build-tree run path, in place. CMake makes
    # room for that (pads the build run path) only for targets with an install rule: one that
    # `cmake --install` never runs unless its component is asked for by name.
    # Its build run path relative to $ORIGIN, not the build directory's absolute path: the staged
    # file, and so the image's digest, must not depend on where the project was built.
    get_property(padded GLOBAL PROPERTY _MULTIARCH_RPATH_PADDED_${target})
    if(NOT padded)
      set_property(TARGET "${target}" PROPERTY BUILD_RPATH_USE_ORIGIN ON)
      set_property(GLOBAL PROPERTY _MULTIARCH_RPATH_PADDED_${target} TRUE)
      install(TARGETS "${target}" DESTINATION multiarch-image-staged COMPONENT multiarch-image-rpath-room EXCLUDE_FROM_ALL)
    endif()
  endforeach()
endfunction()
