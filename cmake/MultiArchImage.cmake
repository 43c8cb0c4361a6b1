# MultiArchImage: multi-architecture container images as targets of the build.
# Public: add_multiarch_image(). Private helpers are named _multiarch_*.
include_guard(GLOBAL)
# Functions run with the policies in force where they are defined (here), not the caller's: this
# gives CMP0116 NEW (depfile paths taken as written) whatever the consuming project sets, and the
# range keeps newer CMake versions from warning about policies this module was written for.
cmake_policy(VERSION 3.21...3.31)

# Two copies of this module in one build (an installed package and a FetchContent copy, say) define
# the same functions: the copy loaded last wins. Say so, naming both.
get_property(_multiarch_loaded_from GLOBAL PROPERTY _MULTIARCH_IMAGE_MODULE)
if(_multiarch_loaded_from AND NOT _multiarch_loaded_from STREQUAL CMAKE_CURRENT_LIST_FILE)
  message(WARNING "MultiArchImage is loaded twice: from ${_multiarch_loaded_from}, and now from "
    "${CMAKE_CURRENT_LIST_FILE}, whose add_multiarch_image() wins from here on. Use one copy: with FetchContent, "
    "FIND_PACKAGE_ARGS (or FETCHCONTENT_TRY_FIND_PACKAGE_MODE) takes the installed one when there is one.")
endif()
set_property(GLOBAL PROPERTY _MULTIARCH_IMAGE_MODULE "${CMAKE_CURRENT_LIST_FILE}")
unset(_multiarch_loaded_from)

# Settings: cache variables whose defaults come from the environment, so CI can set them without
# touching the project.
macro(_multiarch_setting var default type doc)
  if(DEFINED ENV{${var}})
    set(_multiarch_default "$ENV{${var}}")
  else()
    set(_multiarch_default "${default}")
  endif()
  set(${var} "${_multiarch_default}" CACHE ${type} "${doc}")
  unset(_multiarch_default)
endmacro()

_multiarch_setting(MULTIARCH_IMAGE_ENGINE auto STRING "Engine for images without ENGINE: auto, docker or podman")
set_property(CACHE MULTIARCH_IMAGE_ENGINE PROPERTY STRINGS auto docker podman)
_multiarch_setting(MULTIARCH_IMAGE_DOCKER docker STRING "The docker client: a name looked up on PATH at build time, or a path")
_multiarch_setting(MULTIARCH_IMAGE_PODMAN podman STRING "The podman executable: a name looked up on PATH, or a path")
_multiarch_setting(MULTIARCH_IMAGE_SKOPEO skopeo STRING "skopeo, with which a remote podman's pushed digest is read")
_multiarch_setting(MULTIARCH_IMAGE_INSECURE_REGISTRIES "" STRING
  "Registries (<host>[:<port>];...) the manifest step reaches without TLS verification, else over plain HTTP; loopback registries may use plain HTTP without being listed")
_multiarch_setting(MULTIARCH_IMAGE_NETWORK "" STRING "Network mode for image builds (e.g. none); empty: the engine's default")
_multiarch_setting(MULTIARCH_IMAGE_BUILDERS "" STRING
  "Per-platform builders for every image, overriding BUILDERS: <platform>=<builder>;... (e.g. linux/arm64=ssh://ci@arm-box)")
_multiarch_setting(MULTIARCH_IMAGE_RETRIES 5 STRING "Attempts for each registry command (push, manifest, read back): 1 to 100")
_multiarch_setting(MULTIARCH_IMAGE_RETRY_DELAY 1 STRING "Seconds before the first retry; doubled each time, at most 30")
_multiarch_setting(MULTIARCH_IMAGE_TIMEOUT 600 STRING "Seconds one registry command may take before it is stopped; 0: no limit")
set(_multiarch_default_epoch 0)
if(DEFINED ENV{SOURCE_DATE_EPOCH})
  set(_multiarch_default_epoch "$ENV{SOURCE_DATE_EPOCH}")
endif()
_multiarch_setting(MULTIARCH_IMAGE_SOURCE_DATE_EPOCH "${_multiarch_default_epoch}" STRING
  "Seconds since 1970 for every file time and the created time of images the helper assembles (BASE); default: SOURCE_DATE_EPOCH at the first configure, else 0")
_multiarch_setting(MULTIARCH_IMAGE_RUN_OPTIONS "" STRING
  "Extra engine options for image tests (TEST_COMMAND), e.g. --ulimit;nofile=1024:1024 for podman on restricted hosts")
_multiarch_setting(MULTIARCH_IMAGE_HELPER "" FILEPATH
  "A multiarch-image helper built for this host; required when the project cross-compiles")
# Multi-config generators: one configuration builds and publishes the images (their records and tags
# are one set); in any other, their steps stop with a message naming it.
get_property(_multiarch_multi_config GLOBAL PROPERTY GENERATOR_IS_MULTI_CONFIG)
if(_multiarch_multi_config)
  set(_multiarch_default_config Release)
  if(NOT "Release" IN_LIST CMAKE_CONFIGURATION_TYPES)
    list(GET CMAKE_CONFIGURATION_TYPES 0 _multiarch_default_config)
  endif()
  _multiarch_setting(MULTIARCH_IMAGE_CONFIG "${_multiarch_default_config}" STRING
    "The configuration that builds and publishes images with a multi-config generator")
  unset(_multiarch_default_config)
endif()
_multiarch_setting(MULTIARCH_IMAGE_PROVENANCE ON BOOL
  "Attach an in-toto SLSA provenance statement to every pushed platform (images without PROVENANCE)")
_multiarch_setting(MULTIARCH_IMAGE_SBOM ON BOOL
  "Attach a CycloneDX 1.6 SBOM to every pushed platform (images without SBOM)")
# The builder the provenance names: GitHub Actions' workflow, GitLab CI's runner, else this machine.
set(_multiarch_default_builder "urn:cmake-multiarch-image:local-build")
if(DEFINED ENV{GITHUB_ACTIONS} AND DEFINED ENV{GITHUB_WORKFLOW_REF})
  set(_multiarch_default_builder "$ENV{GITHUB_SERVER_URL}/$ENV{GITHUB_WORKFLOW_REF}")
elseif(DEFINED ENV{GITLAB_CI} AND DEFINED ENV{CI_RUNNER_ID})
  set(_multiarch_default_builder "$ENV{CI_SERVER_URL}/$ENV{CI_PROJECT_PATH}/-/runners/$ENV{CI_RUNNER_ID}")
endif()
_multiarch_setting(MULTIARCH_IMAGE_BUILDER_ID "${_multiarch_default_builder}" STRING
  "The builder.id of provenance statements (a URI); default: the GitHub Actions workflow or GitLab runner, else urn:cmake-multiarch-image:local-build")
unset(_multiarch_default_builder)
_multiarch_setting(MULTIARCH_IMAGE_SIGN_COMMAND "" STRING
  "SIGN_COMMAND for every image without one: a command (;-separated arguments) run once per published index, @REFERENCE@ replaced by <repository>@<digest>")
_multiarch_setting(MULTIARCH_IMAGE_FORWARD_VARIABLES "" STRING
  "Variables whose values every cross-compiling sub-build (TOOLCHAINS) gets too, e.g. MY_OPTION;MY_SDK_DIR")

# Toolchain files shipped with the module, for TOOLCHAINS (Debian's cross compilers). A cache entry,
# so a project that adds this repository with add_subdirectory/FetchContent sees it too.
set(MULTIARCH_IMAGE_TOOLCHAINS "${CMAKE_CURRENT_LIST_DIR}/toolchains" CACHE INTERNAL "toolchain files for TOOLCHAINS")

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

set(_MULTIARCH_VALID_PLATFORMS
  "<os>/<arch>[/<variant>] with os linux, windows or freebsd and arch amd64 (variants v2-v4), arm64 (v8, v8.1-v8.9, v9, v9.1-v9.5), arm (v5, v6, v7, v8), 386, ppc64le, s390x, riscv64, mips64le, loong64; aliases x86_64, aarch64, armhf, armel, i386 are accepted")
set(_MULTIARCH_VALID_REPOSITORY
  "[<host>[:<port>]/]<path> with lowercase path components of letters, digits and single . _ or - separators, e.g. registry.example.com/team/hello or 127.0.0.1:5000/demo/hello, without a tag or digest")

#[=======================================================================[.rst:
add_multiarch_image
-------------------

Adds targets that build, push and publish one multi-architecture image::

  add_multiarch_image(<name>
    REPOSITORY <registry>/<namespace>/<package>   # required
    [TAGS <tag>...]                               # default: PROJECT_VERSION, else latest
    [GIT_TAGS [GIT_LATEST]]                       # tags from git when the build runs (see below)
    [PLATFORMS <os>/<arch>[/<variant>]...]        # default: linux/amd64 linux/arm64
    [CONTEXT <dir>]                               # default: CMAKE_CURRENT_SOURCE_DIR
    [DOCKERFILE <file>]                           # default: <CONTEXT>/Dockerfile
    [BUILD_ARGS <KEY>=<VALUE>...]
    [DEPENDS <target-or-file>...]                 # made before any platform is built
    [BUILDERS <platform>=<builder>...]            # default: the engine's default daemon/storage
    [TEST_COMMAND <args>...]                      # a ctest test per platform runs the image
    [TEST_EXPECT <regex>]                         # ... and its output must match (@PLATFORM@ replaced)
    [INDEX_FORMAT auto|oci|docker]                # the manifest list's format (see below)
    [ANNOTATIONS <key>=<value>...]                # on the index (OCI)
    [TARGETS <target>...                          # this project's targets in every image (see below)
     [TOOLCHAINS <platform>=<toolchain file>...]  # platforms cross-compiled in sub-builds
     [CROSS_CMAKE_ARGS <arg>...] [RUNTIME]]
    [INSTALL [COMPONENTS <component>...] [PREFIX <dir>]]  # what the install rules install (see below)
    [PROVENANCE ON|OFF]                           # SLSA provenance per platform (default ON)
    [SBOM ON|OFF]                                 # CycloneDX SBOM per platform (default ON)
    [SIGN_COMMAND <command> <arg>...]             # run once per published index (@REFERENCE@ replaced)
    [ENGINE auto|docker|podman])                  # default: MULTIARCH_IMAGE_ENGINE (auto)

  add_multiarch_image(<name>                      # an image the helper assembles: no Dockerfile, no engine
    REPOSITORY ... [TAGS ...] [PLATFORMS ...] [TARGETS ... [TOOLCHAINS ...] [RUNTIME]]
    BASE scratch
    [ENTRYPOINT <program> <arg>...]               # default: the one executable of TARGETS
    [CMD <arg>...] [ENV <NAME>=<value>...] [USER <user>[:<group>]] [WORKDIR <dir>]
    [EXPOSE <port>[/tcp|udp|sctp]...] [LABELS <key>=<value>...]
    [FILES <source>=<absolute destination>...])   # files, or directories (destination ending in /)

``BASE`` makes the helper write the image itself (see docs/assembled.md): a reproducible layer each
for the C/C++ runtime, the project's shared libraries, its executables and ``FILES``, the config and
the manifest, in an OCI layout in the build tree, pushed by its own registry client. It excludes
``DOCKERFILE``, ``CONTEXT``, ``BUILD_ARGS``, ``BUILDERS`` and ``ENGINE``.

``GIT_TAGS`` adds tags derived from git each time the steps run, so a new commit gets its tags
without reconfiguring: ``sha-<short>`` always (``sha-<short>-dirty`` for a modified tree), and
``X.Y.Z``, ``X.Y``, ``X`` when a clean HEAD is exactly at tag ``vX.Y.Z`` (plus ``latest`` with
``GIT_LATEST``). Without ``TAGS`` these are the only tags.

``TEST_COMMAND`` (empty: the image's own entrypoint) registers ``<name>.image.<platform>`` with
ctest: it runs the built image for that platform (under QEMU when foreign) with the arguments and
passes on exit status 0 and, with ``TEST_EXPECT``, output matching the regular expression, in which
``@PLATFORM@`` stands for the platform (``linux/arm/v7``). Build the images before running ctest.

``BUILDERS`` sends a platform's build and push to another engine instance: a ``unix://``, ``tcp://``
or ``ssh://`` URL (docker ``--host``, podman ``--url``), a docker context or podman connection name,
or ``buildx:<name>`` (a docker buildx builder). The cache variable ``MULTIARCH_IMAGE_BUILDERS`` (same
form, ``;``-separated) overrides it per platform for every image, so CI can choose without editing.

The manifest list is published by the helper's own registry client, not by an engine's ``manifest``
command. ``INDEX_FORMAT auto`` makes a Docker manifest list when every platform's manifest is a
Docker one and there are no ``ANNOTATIONS``, else an OCI image index; ``oci`` and ``docker`` force
one. An OCI index carries ``org.opencontainers.image.version`` (the first tag) and
``org.opencontainers.image.created`` (``SOURCE_DATE_EPOCH``, else now); ``ANNOTATIONS`` add to or
override them. A tag that already holds the same list (apart from its creation time) is left as is.

``TARGETS`` ships this project's executables and shared libraries: for each platform they are staged
(``/usr/local/bin``, ``/usr/lib``, plus the project's shared libraries they need; with ``RUNTIME`` the
C/C++ runtime in ``/lib`` and the loader) into ``.multiarch-stage/<platform suffix>`` of a context
composed in the build tree, and the build arg ``MULTIARCH_STAGE`` names it: ``COPY ${MULTIARCH_STAGE}/ /``.
A platform with a ``TOOLCHAINS`` entry gets them from a sub-build of this source tree with that
toolchain file (``CROSS_CMAKE_ARGS`` added; ``${MULTIARCH_IMAGE_TOOLCHAINS}`` holds files for Debian's
arm64 and armhf cross compilers); this build's own platform uses this build's targets; any other is
built under emulation from the Dockerfile alone.

``INSTALL`` stages, alongside or instead of ``TARGETS``, what the project's own install rules put
under ``PREFIX`` (default ``/usr/local``): per platform, ``cmake --install`` of this build or of the
platform's sub-build (``COMPONENTS``: only those; default: every component installed by default),
run paths as CMake's install step writes them, library links kept as relative links. It runs after
everything ``all`` builds, and again when a file the install rules copy changes. ``TOOLCHAINS``,
``RUNTIME`` and ``BASE`` work with it as with ``TARGETS``; with ``BASE scratch`` give ``ENTRYPOINT``.

``PROVENANCE`` (default: ``MULTIARCH_IMAGE_PROVENANCE``, on) attaches to every pushed platform an
in-toto SLSA Provenance v1 statement as an OCI 1.1 referrer (builder: ``MULTIARCH_IMAGE_BUILDER_ID``).
``SBOM`` (default: ``MULTIARCH_IMAGE_SBOM``, on) attaches a CycloneDX 1.6 SBOM the same way: the
project, every staged file with its path and SHA-256, the runtime's Debian packages, the base images
by digest, the ELF dependency edges.

``SIGN_COMMAND`` (default: the cache variable ``MULTIARCH_IMAGE_SIGN_COMMAND``) runs after the manifest
step, once per index digest, as ``<name>-sign`` (part of ``<name>-push``), with ``@REFERENCE@`` replaced
by ``<repository>@<index digest>``; secrets come from the environment. ``multiarch-image attach`` puts
a signature next to the index as an OCI 1.1 referrer.

Targets, for platform suffixes such as ``linux-amd64`` and ``linux-arm-v7``:

``<name>-build-<platform>``, ``<name>-push-<platform>``
  Build one platform's image (tagged ``<repository>:<tag>-<arch><variant>``); push it.
``<name>-manifest``
  Publish the manifest list over the pushed digests under every tag, then read it back and verify
  it. Writes ``<build>/multiarch-image/<name>/metadata.json``.
``<name>-build``, ``<name>-push``
  Every platform built; everything published.
``image-build``, ``image-push``
  The same over every image of the project.
``<name>-plan``, ``image-plan``
  Print the engine commands every step would run, in order, without running them (for review in
  CI logs). Only the engines' version probes, which decide the build command, are asked.

Platforms are normalised as containerd does (``linux/arm`` is ``linux/arm/v7``, ``aarch64`` is
``arm64``); two entries that normalise to the same platform are an error. Relative ``CONTEXT`` and
``DOCKERFILE`` paths are taken from ``CMAKE_CURRENT_SOURCE_DIR``.
#]=======================================================================]
function(add_multiarch_image name)
  list(APPEND CMAKE_MESSAGE_CONTEXT "multiarch-image")

  set(options GIT_TAGS GIT_LATEST RUNTIME)
  set(one_value REPOSITORY CONTEXT DOCKERFILE ENGINE TEST_EXPECT INDEX_FORMAT BASE USER WORKDIR PROVENANCE SBOM)
  set(multi_value TAGS PLATFORMS BUILD_ARGS DEPENDS BUILDERS TEST_COMMAND ANNOTATIONS TARGETS INSTALL TOOLCHAINS CROSS_CMAKE_ARGS ENTRYPOINT CMD ENV EXPOSE LABELS FILES SIGN_COMMAND)
  # Every argument exactly as written (BUILD_ARGS, ANNOTATIONS, TEST_COMMAND, TEST_EXPECT and
  # CROSS_CMAKE_ARGS values may hold `;`, a trailing `\` or a lone `[`).
  set(arguments "[]")
  set(i 1)
  while(i LESS ARGC)
    _multiarch_json_string(quoted "${ARGV${i}}")
    math(EXPR n "${i} - 1")
    string(JSON arguments SET "${arguments}" ${n} "${quoted}")
    math(EXPR i "${i} + 1")
  endwhile()
  _multiarch_parse_exact(ARG "${arguments}" "${options}" "${one_value}" "${multi_value}")
  # INSTALL [COMPONENTS <component>...] [PREFIX <dir>]: what the project's install rules install.
  set(install_spec "")
  if(DEFINED ARG_INSTALL_JSON)
    _multiarch_install_spec(install_spec "${name}" "${ARG_INSTALL_JSON}")
  endif()

  # Inside a platform's sub-build (TOOLCHAINS) the only work is staging that image's targets.
  if(DEFINED MULTIARCH_IMAGE_SUB_BUILD)
    string(REPLACE "," ";" images "${MULTIARCH_IMAGE_SUB_BUILD_IMAGES}")
    if(name IN_LIST images)
      _multiarch_step_files(files "${MULTIARCH_IMAGE_STAGE_ROOT}/${name}" "${MULTIARCH_IMAGE_SUB_BUILD}")
      _multiarch_stage("${name}" "${MULTIARCH_IMAGE_SUB_BUILD}" "${MULTIARCH_IMAGE_HELPER}"
        "${files_stage_dir}" "${files_stage_stamp}" multiarch-stage-${name} "${ARG_TARGETS}" "${install_spec}" ${ARG_RUNTIME})
      set_property(GLOBAL APPEND PROPERTY _MULTIARCH_SUB_BUILD_STAGED "${name}")
      cmake_language(EVAL CODE
        "cmake_language(DEFER DIRECTORY [[${CMAKE_SOURCE_DIR}]] CALL _multiarch_check_targets [[${name}]] [[${ARG_TARGETS}]] FALSE)")
    endif()
    # The image's targets as do-nothing stand-ins: the project's own add_dependencies() on them must
    # hold in the sub-build too.
    set(stand_ins ${name}-build ${name}-push ${name}-manifest ${name}-plan)
    foreach(given IN LISTS ARG_PLATFORMS)
      _multiarch_normalise_platform(platform "${name}" "${given}")
      _multiarch_suffix(suffix "${platform}")
      list(APPEND stand_ins ${name}-build-${suffix} ${name}-push-${suffix})
    endforeach()
    foreach(target IN LISTS stand_ins ITEMS image-build image-push image-plan)
      if(NOT TARGET ${target})
        add_custom_target(${target})
      endif()
    endforeach()
    return()
  endif()

  if(ARG_UNPARSED_ARGUMENTS)
    list(GET ARG_UNPARSED_ARGUMENTS 0 unknown)
    _multiarch_nearest(nearest "${unknown}" ${options} ${one_value} ${multi_value})
    set(hint "")
    if(nearest)
      set(hint " (did you mean ${nearest}?)")
    endif()
    list(JOIN one_value ", " one)
    list(JOIN multi_value ", " multi)
    list(JOIN options ", " flags)
    message(FATAL_ERROR "add_multiarch_image(${name}): unknown argument `${unknown}`${hint}. Valid keywords: "
      "${one} (one value each); ${multi} (values); ${flags} (options, no value).")
  endif()
  set(run_tests FALSE)
  set(test_json "")
  if(DEFINED ARG_TEST_COMMAND_JSON OR DEFINED ARG_TEST_EXPECT)
    set(run_tests TRUE)  # TEST_COMMAND alone, with no arguments: the image's own entrypoint
    if(NOT DEFINED ARG_TEST_COMMAND_JSON)
      set(ARG_TEST_COMMAND_JSON "[]")
    endif()
    set(test_json "{}")
    string(JSON test_json SET "${test_json}" command "${ARG_TEST_COMMAND_JSON}")
    if(DEFINED ARG_TEST_EXPECT)
      _multiarch_json_string(quoted "${ARG_TEST_EXPECT}")
      string(JSON test_json SET "${test_json}" expect "${quoted}")
    endif()
    # ctest reads the top-level directory's tests: checked once that directory is done.
    cmake_language(EVAL CODE
      "cmake_language(DEFER DIRECTORY [[${CMAKE_SOURCE_DIR}]] CALL _multiarch_check_testing [[${name}]])")
  endif()
  list(REMOVE_ITEM ARG_KEYWORDS_MISSING_VALUES TEST_COMMAND CROSS_CMAKE_ARGS INSTALL)  # may be empty lists
  foreach(keyword IN LISTS ARG_KEYWORDS_MISSING_VALUES)
    message(FATAL_ERROR "add_multiarch_image(${name}): `${keyword}` needs a value")
  endforeach()
  if(NOT name MATCHES "^[A-Za-z0-9_.+-]+$")
    message(FATAL_ERROR "add_multiarch_image(${name}): the name must consist of letters, digits and _ . + - "
      "(it becomes part of target names)")
  endif()
  if(TARGET ${name}-build)
    message(FATAL_ERROR "add_multiarch_image(${name}): an image named `${name}` exists already (target ${name}-build)")
  endif()
  if(NOT DEFINED ARG_REPOSITORY)
    message(FATAL_ERROR "add_multiarch_image(${name}): missing required parameter `REPOSITORY` "
      "(valid: ${_MULTIARCH_VALID_REPOSITORY})")
  endif()
  _multiarch_validate_repository("${name}" "${ARG_REPOSITORY}")

  if(ARG_GIT_LATEST AND NOT ARG_GIT_TAGS)
    message(FATAL_ERROR "add_multiarch_image(${name}): GIT_LATEST goes with GIT_TAGS")
  endif()
  set(git_json "")
  set(git_depends "")
  if(ARG_GIT_TAGS)
    _multiarch_git(git_json git_depends "${name}" ${ARG_GIT_LATEST})
  endif()
  if(NOT DEFINED ARG_TAGS AND ARG_GIT_TAGS)
    set(ARG_TAGS "")
  elseif(NOT DEFINED ARG_TAGS)
    if(PROJECT_VERSION)
      set(ARG_TAGS "${PROJECT_VERSION}")
    else()
      set(ARG_TAGS latest)
    endif()
  endif()
  foreach(tag IN LISTS ARG_TAGS)
    _multiarch_validate_tag("${name}" "${tag}")
  endforeach()
  list(REMOVE_DUPLICATES ARG_TAGS)

  if(NOT DEFINED ARG_PLATFORMS)
    set(ARG_PLATFORMS linux/amd64 linux/arm64)
  endif()
  set(platforms "")
  foreach(given IN LISTS ARG_PLATFORMS)
    _multiarch_normalise_platform(platform "${name}" "${given}")
    if(platform IN_LIST platforms)
      message(FATAL_ERROR "add_multiarch_image(${name}): PLATFORMS lists ${platform} twice "
        "(`${given}` normalises to it)")
    endif()
    list(APPEND platforms "${platform}")
  endforeach()

  set(image_json "")
  set(assembled FALSE)
  set(infer_entrypoint FALSE)  # the one executable of TARGETS, checked once the targets exist
  if(DEFINED ARG_BASE)
    _multiarch_image_settings(image_json "${name}")
    set(assembled TRUE)
    if(NOT DEFINED ARG_ENTRYPOINT_JSON AND ARG_BASE STREQUAL "scratch")  # else the base's is kept
      set(infer_entrypoint TRUE)
      if(NOT ARG_TARGETS)
        message(FATAL_ERROR "add_multiarch_image(${name}): ENTRYPOINT is missing and cannot be inferred without TARGETS "
          "(INSTALL's programs are known only once installed; valid: ENTRYPOINT <program> [<argument>...], "
          "e.g. ENTRYPOINT /usr/local/bin/server)")
      endif()
    endif()
  endif()

  if(NOT DEFINED ARG_CONTEXT)
    set(ARG_CONTEXT "${CMAKE_CURRENT_SOURCE_DIR}")
  endif()
  cmake_path(ABSOLUTE_PATH ARG_CONTEXT BASE_DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}" NORMALIZE)
  string(REGEX REPLACE "/$" "" ARG_CONTEXT "${ARG_CONTEXT}")
  if(NOT IS_DIRECTORY "${ARG_CONTEXT}")
    message(FATAL_ERROR "add_multiarch_image(${name}): CONTEXT `${ARG_CONTEXT}` is not a directory "
      "(valid: an existing directory, absolute or relative to ${CMAKE_CURRENT_SOURCE_DIR})")
  endif()
  if(NOT DEFINED ARG_DOCKERFILE)
    set(ARG_DOCKERFILE "${ARG_CONTEXT}/Dockerfile")
  endif()
  cmake_path(ABSOLUTE_PATH ARG_DOCKERFILE BASE_DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}" NORMALIZE)
  if(assembled)
    set(ARG_DOCKERFILE "")
  elseif(NOT EXISTS "${ARG_DOCKERFILE}" OR IS_DIRECTORY "${ARG_DOCKERFILE}")
    message(FATAL_ERROR "add_multiarch_image(${name}): DOCKERFILE `${ARG_DOCKERFILE}` does not exist "
      "(valid: an existing file; default <CONTEXT>/Dockerfile)")
  endif()

  # BUILD_ARGS as the spec's [{name, value}], each value exactly as written.
  set(build_args_json "[]")
  if(DEFINED ARG_BUILD_ARGS_JSON)
    string(JSON count LENGTH "${ARG_BUILD_ARGS_JSON}")
    set(i 0)
    while(i LESS count)
      string(JSON arg GET "${ARG_BUILD_ARGS_JSON}" ${i})
      if(NOT arg MATCHES "^([A-Za-z_][A-Za-z0-9_]*)=")
        message(FATAL_ERROR "add_multiarch_image(${name}): BUILD_ARGS entry `${arg}` is not <KEY>=<VALUE> "
          "(valid: a KEY of letters, digits and _ not starting with a digit, then =, then any value)")
      endif()
      set(key "${CMAKE_MATCH_1}")
      string(LENGTH "${key}" skip)
      math(EXPR skip "${skip} + 1")
      string(SUBSTRING "${arg}" ${skip} -1 value)
      _multiarch_json_string(qkey "${key}")
      _multiarch_json_string(qvalue "${value}")
      string(JSON build_args_json SET "${build_args_json}" ${i} "{\"name\": ${qkey}, \"value\": ${qvalue}}")
      math(EXPR i "${i} + 1")
    endwhile()
  endif()

  if(NOT DEFINED ARG_INDEX_FORMAT)
    set(ARG_INDEX_FORMAT auto)
  endif()
  if(NOT ARG_INDEX_FORMAT MATCHES "^(auto|oci|docker)$")
    message(FATAL_ERROR "add_multiarch_image(${name}): INDEX_FORMAT `${ARG_INDEX_FORMAT}` is not one of auto, oci, docker")
  endif()
  set(annotations_json "[]")
  if(DEFINED ARG_ANNOTATIONS_JSON)
    set(annotations_json "${ARG_ANNOTATIONS_JSON}")
  endif()
  string(JSON count LENGTH "${annotations_json}")
  set(i 0)
  while(i LESS count)
    string(JSON note GET "${annotations_json}" ${i})
    if(NOT note MATCHES "^[^=]+=")
      message(FATAL_ERROR "add_multiarch_image(${name}): ANNOTATIONS entry `${note}` is not <key>=<value> "
        "(valid: e.g. org.opencontainers.image.source=https://example.com/repo)")
    endif()
    math(EXPR i "${i} + 1")
  endwhile()
  if(count GREATER 0 AND ARG_INDEX_FORMAT STREQUAL "docker")
    message(FATAL_ERROR "add_multiarch_image(${name}): ANNOTATIONS need an OCI index, and INDEX_FORMAT is docker "
      "(a Docker manifest list has no annotations; valid: INDEX_FORMAT oci or auto)")
  endif()

  _multiarch_builders(builders "${name}" "${platforms}" "${ARG_BUILDERS}")
  set(cross_args_json "[]")
  if(DEFINED ARG_CROSS_CMAKE_ARGS_JSON)
    set(cross_args_json "${ARG_CROSS_CMAKE_ARGS_JSON}")
  endif()
  string(JSON cross_arg_count LENGTH "${cross_args_json}")
  _multiarch_toolchains("${name}" "${platforms}" "${ARG_TARGETS}" "${install_spec}" "${ARG_TOOLCHAINS}" "${cross_arg_count}"
    ${ARG_RUNTIME})
  # TARGETS and INSTALL stage files per platform (a stage step, or a sub-build's).
  set(staged FALSE)
  if(ARG_TARGETS OR install_spec)
    set(staged TRUE)
  endif()
  _multiarch_platform_of_this_build(host_platform_for_check)

  if(NOT DEFINED ARG_ENGINE)
    set(ARG_ENGINE "${MULTIARCH_IMAGE_ENGINE}")
  endif()
  if(assembled AND staged)
    foreach(platform IN LISTS platforms)
      _multiarch_suffix(suffix "${platform}")
      if(NOT DEFINED toolchains_${suffix} AND NOT platform STREQUAL host_platform_for_check)
        message(FATAL_ERROR "add_multiarch_image(${name}): BASE: ${platform} has no TOOLCHAINS entry and is not this "
          "build's platform (${host_platform_for_check}), so nothing builds its TARGETS or INSTALL (valid: a TOOLCHAINS entry "
          "for it, e.g. ${platform}=\${MULTIARCH_IMAGE_TOOLCHAINS}/<file>.cmake, or leave it out of PLATFORMS)")
      endif()
    endforeach()
  endif()
  if(NOT ARG_ENGINE MATCHES "^(auto|docker|podman)$")
    message(FATAL_ERROR "add_multiarch_image(${name}): ENGINE `${ARG_ENGINE}` is not one of auto, docker, podman "
      "(the value comes from ENGINE, else the cache variable MULTIARCH_IMAGE_ENGINE)")
  endif()

  # The settings every image shares: checked once, by the first image.
  get_property(settings_checked GLOBAL PROPERTY _MULTIARCH_SETTINGS_CHECKED)
  if(NOT settings_checked)
    foreach(entry IN LISTS MULTIARCH_IMAGE_INSECURE_REGISTRIES)
      if(NOT entry MATCHES "^[A-Za-z0-9.-]+(:[0-9]+)?$|^\\[[0-9A-Fa-f:]+\\](:[0-9]+)?$")
        message(FATAL_ERROR "add_multiarch_image(${name}): MULTIARCH_IMAGE_INSECURE_REGISTRIES entry `${entry}` "
          "is not <host>[:<port>] (valid: e.g. registry.lan:5000, as the repository names it)")
      endif()
    endforeach()
    foreach(setting IN ITEMS RETRIES RETRY_DELAY TIMEOUT)
      if(NOT MULTIARCH_IMAGE_${setting} MATCHES "^[0-9]+(\\.[0-9]+)?$")
        message(FATAL_ERROR "add_multiarch_image(${name}): MULTIARCH_IMAGE_${setting} `${MULTIARCH_IMAGE_${setting}}` "
          "is not a number (valid: a non-negative number of attempts or seconds)")
      endif()
    endforeach()
    if(MULTIARCH_IMAGE_RETRIES LESS 1 OR MULTIARCH_IMAGE_RETRIES GREATER 100)
      message(FATAL_ERROR "add_multiarch_image(${name}): MULTIARCH_IMAGE_RETRIES `${MULTIARCH_IMAGE_RETRIES}` "
        "is out of range (valid: 1 to 100 attempts)")
    endif()
    set_property(GLOBAL PROPERTY _MULTIARCH_SETTINGS_CHECKED TRUE)
  endif()

  _multiarch_helper(helper "${name}")
  _multiarch_config_guard(config_guard "${name}")
  set(state "${CMAKE_BINARY_DIR}/multiarch-image/${name}")
  set(spec "${state}/spec.json")
  # PROVENANCE (default MULTIARCH_IMAGE_PROVENANCE): what the push step's provenance statements say
  # about this build, known at configure time.
  # SBOM (default MULTIARCH_IMAGE_SBOM) too: both are documents the push step attaches.
  foreach(document IN ITEMS PROVENANCE SBOM)
    set(want_${document} "${MULTIARCH_IMAGE_${document}}")
    if(DEFINED ARG_${document})
      if(NOT ARG_${document} MATCHES "^(ON|OFF)$")
        message(FATAL_ERROR "add_multiarch_image(${name}): ${document} `${ARG_${document}}` is not ON or OFF")
      endif()
      set(want_${document} "${ARG_${document}}")
    endif()
  endforeach()
  set(provenance_json "")
  if(want_PROVENANCE OR want_SBOM)
    _multiarch_provenance_json(provenance_json "${platforms}")
    foreach(document IN ITEMS PROVENANCE SBOM)
      set(flag false)
      if(want_${document})
        set(flag true)
      endif()
      string(TOLOWER "${document}" key)
      if(key STREQUAL "provenance")
        set(key statement)
      endif()
      string(JSON provenance_json SET "${provenance_json}" ${key} ${flag})
    endforeach()
  endif()
  _multiarch_write_spec("${spec}" NAME "${name}" REPOSITORY "${ARG_REPOSITORY}" TAGS ${ARG_TAGS} PLATFORMS ${platforms}
    CONTEXT "${ARG_CONTEXT}" DOCKERFILE "${ARG_DOCKERFILE}" ENGINE "${ARG_ENGINE}" STATE "${state}"
    BUILD_ARGS_JSON "${build_args_json}" BUILDERS_JSON "${builders}" GIT_JSON "${git_json}"
    INDEX_FORMAT "${ARG_INDEX_FORMAT}" ANNOTATIONS_JSON "${annotations_json}" STAGED ${staged} IMAGE_JSON "${image_json}"
    PROVENANCE_JSON "${provenance_json}")
  if(run_tests)
    # Beside the spec, not in it: every step depends on the spec, and a changed test must not
    # rebuild an image.
    _multiarch_write_if_changed("${state}/test.json" "${test_json}\n")
  endif()

  # TARGETS: the context the engine gets is composed in the build tree (the source context mirrored
  # with hard links, plus each platform's staged tree); see docs/cross.md.
  set(stage_depends "")
  if(staged)
    _multiarch_platform_of_this_build(host_platform)
  endif()
  if(staged AND NOT DEFINED ARG_BASE)
    add_custom_command(OUTPUT "${state}/context.stamp"
      ${config_guard}
      COMMAND ${helper} compose --spec "${spec}" --stamp "${state}/context.stamp" --depfile "${state}/context.d"
      DEPENDS "${spec}" ${helper}
      DEPFILE "${state}/context.d"
      COMMENT "multiarch-image: compose the context of ${name}"
      VERBATIM)
    add_custom_target(${name}-context DEPENDS "${state}/context.stamp")
  endif()
  if(ARG_TARGETS)
    # A deferred call evaluates its arguments when it runs: bake the values in now.
    cmake_language(EVAL CODE
      "cmake_language(DEFER DIRECTORY [[${CMAKE_SOURCE_DIR}]] CALL _multiarch_check_targets [[${name}]] [[${ARG_TARGETS}]] ${infer_entrypoint})")
  endif()

  add_custom_target(${name}-build)
  add_custom_target(${name}-push)
  set(push_records "")
  set(push_record_args "")
  foreach(platform IN LISTS platforms)
    _multiarch_suffix(suffix "${platform}")
    _multiarch_add_platform("${name}" "${platform}" STATE "${state}" SPEC "${spec}" HELPER ${helper}
      CONFIG_GUARD ${config_guard} DOCKERFILE "${ARG_DOCKERFILE}" DEPENDS ${ARG_DEPENDS} ${git_depends}
      TARGETS ${ARG_TARGETS} INSTALL "${install_spec}" RUNTIME ${ARG_RUNTIME} TOOLCHAIN "${toolchains_${suffix}}" HOST_PLATFORM "${host_platform}"
      CROSS_ARGS_JSON "${cross_args_json}" TESTS ${run_tests} ASSEMBLED ${assembled})
    _multiarch_step_files(files "${state}" "${platform}")
    list(APPEND push_records "${files_push_record}")
    list(APPEND push_record_args --push-record "${files_push_record}")
  endforeach()

  add_custom_command(OUTPUT "${state}/metadata.json"
    ${config_guard}
    COMMAND ${helper} manifest --spec "${spec}" ${push_record_args} --record "${state}/metadata.json"
    DEPENDS ${push_records} "${spec}" ${helper} ${git_depends}
    COMMENT "multiarch-image: manifest ${name}"
    VERBATIM)
  add_custom_target(${name}-manifest DEPENDS "${state}/metadata.json")
  # SIGN_COMMAND (else MULTIARCH_IMAGE_SIGN_COMMAND): run once per published index, after the
  # manifest step, as part of <name>-push. Its arguments, exactly as written, in sign.json.
  set(sign_json "")
  if(DEFINED ARG_SIGN_COMMAND_JSON)
    set(sign_json "${ARG_SIGN_COMMAND_JSON}")
  elseif(NOT MULTIARCH_IMAGE_SIGN_COMMAND STREQUAL "")
    _multiarch_json_array(sign_json ${MULTIARCH_IMAGE_SIGN_COMMAND})
  endif()
  if(sign_json)
    _multiarch_write_if_changed("${state}/sign.json" "{\"command\":${sign_json}}\n")
    add_custom_command(OUTPUT "${state}/signed.json"
      ${config_guard}
      COMMAND ${helper} sign --spec "${spec}" --command "${state}/sign.json" --metadata "${state}/metadata.json"
              --record "${state}/signed.json"
      DEPENDS "${state}/metadata.json" "${state}/sign.json" "${spec}" ${helper}
      COMMENT "multiarch-image: sign ${name}"
      VERBATIM)
    add_custom_target(${name}-sign DEPENDS "${state}/signed.json")
    add_dependencies(${name}-sign ${name}-manifest)
  endif()
  foreach(platform IN LISTS platforms)
    _multiarch_suffix(suffix "${platform}")
    add_dependencies(${name}-manifest ${name}-push-${suffix})
  endforeach()
  add_dependencies(${name}-push ${name}-manifest)
  if(TARGET ${name}-sign)
    add_dependencies(${name}-push ${name}-sign)
  endif()

  add_custom_target(${name}-plan
    COMMAND ${helper} plan --spec "${spec}"
    COMMENT "multiarch-image: plan ${name}"
    VERBATIM)
  foreach(aggregate IN ITEMS build push plan)
    if(NOT TARGET image-${aggregate})
      add_custom_target(image-${aggregate})
      set_property(TARGET image-${aggregate} PROPERTY MULTIARCH_IMAGE_AGGREGATE TRUE)
    endif()
    get_property(ours TARGET image-${aggregate} PROPERTY MULTIARCH_IMAGE_AGGREGATE)
    if(NOT ours)
      message(FATAL_ERROR "add_multiarch_image(${name}): the project has a target image-${aggregate} of its own, and "
        "the module's image-build, image-push and image-plan run every image's steps: rename the project's target")
    endif()
    add_dependencies(image-${aggregate} ${name}-${aggregate})
  endforeach()

endfunction()

# One platform of an image: its stage (TARGETS) or sub-build (TOOLCHAINS), build, test and push steps
# and their targets. `name` and `platform` come first; every other value by keyword.
function(_multiarch_add_platform name platform)
  cmake_parse_arguments(PARSE_ARGV 2 P "" "STATE;SPEC;DOCKERFILE;TOOLCHAIN;HOST_PLATFORM;CROSS_ARGS_JSON;TESTS;RUNTIME;ASSEMBLED;INSTALL"
    "HELPER;CONFIG_GUARD;DEPENDS;TARGETS")
  _multiarch_step_files(files "${P_STATE}" "${platform}")
  set(suffix "${files_suffix}")
  set(staged "")
  if(P_TARGETS OR P_INSTALL)
    if(NOT P_ASSEMBLED)
      set(staged "${P_STATE}/context.stamp")  # the composed context
    endif()
    if(P_TOOLCHAIN)
      _multiarch_sub_build("${name}" "${platform}" "${P_TOOLCHAIN}" "${P_HELPER}" "${files_stage_stamp}" "${P_CROSS_ARGS_JSON}")
      list(APPEND staged "${files_stage_stamp}")
    elseif(platform STREQUAL P_HOST_PLATFORM)
      _multiarch_stage("${name}" "${platform}" "${P_HELPER}" "${files_stage_dir}" "${files_stage_stamp}"
        ${name}-stage-${suffix} "${P_TARGETS}" "${P_INSTALL}" ${P_RUNTIME})
      list(APPEND staged "${files_stage_stamp}")
    endif()
  endif()
  add_custom_command(OUTPUT "${files_build_record}"
    ${P_CONFIG_GUARD}
    COMMAND ${P_HELPER} build --spec "${P_SPEC}" --platform "${platform}" --record "${files_build_record}"
            --depfile "${files_build_depfile}"
    DEPENDS "${P_SPEC}" ${P_DOCKERFILE} ${P_DEPENDS} ${P_HELPER} ${staged}
    DEPFILE "${files_build_depfile}"
    COMMENT "multiarch-image: build ${name} ${platform}"
    VERBATIM)
  add_custom_target(${name}-build-${suffix} DEPENDS "${files_build_record}")
  add_dependencies(${name}-build ${name}-build-${suffix})
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

# A platform's part of target names and file names: linux/arm/v7 -> linux-arm-v7.
function(_multiarch_suffix out platform)
  string(REPLACE "/" "-" suffix "${platform}")
  set(${out} "${suffix}" PARENT_SCOPE)
endfunction()

# The files of one platform's steps under an image's state directory, as <out>_suffix,
# <out>_build_record, <out>_build_depfile, <out>_push_record, <out>_stage_stamp and <out>_stage_dir in
# the caller. The helper finds a platform's records by the same names (helper/src/records.hpp) when a
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

# BASE and the image settings that go with it, validated: the spec's "image" object in `out` (the
# caller's ARG_* are read). An image the helper assembles has no Dockerfile, build arguments, builders
# or engine.
function(_multiarch_image_settings out name)
  foreach(conflict IN ITEMS DOCKERFILE CONTEXT BUILD_ARGS BUILDERS ENGINE)
    if(DEFINED ARG_${conflict} OR DEFINED ARG_${conflict}_JSON)
      message(FATAL_ERROR "add_multiarch_image(${name}): BASE and ${conflict} exclude each other: with BASE the helper "
        "assembles the image itself from TARGETS and FILES (no Dockerfile, no engine); without BASE an engine builds "
        "the Dockerfile")
    endif()
  endforeach()
  set(reference "^(([A-Za-z0-9.-]+(:[0-9]+)?|\\[[0-9A-Fa-f:]+\\](:[0-9]+)?)/)?[a-z0-9]+([._-]+[a-z0-9]+)*(/[a-z0-9]+([._-]+[a-z0-9]+)*)*")
  if(NOT ARG_BASE STREQUAL "scratch" AND NOT ARG_BASE MATCHES "${reference}(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?(@sha256:[0-9a-f]+)?$")
    message(FATAL_ERROR "add_multiarch_image(${name}): BASE `${ARG_BASE}` is not an image reference "
      "(valid: scratch, or [<registry>/]<path>[:<tag>][@sha256:<digest>] with a lowercase path, "
      "e.g. registry.example.com/base/runtime:1.2 or debian:bookworm-slim)")
  endif()
  if(ARG_BASE STREQUAL "scratch" AND NOT ARG_TARGETS AND NOT install_spec AND NOT DEFINED ARG_FILES_JSON)
    message(FATAL_ERROR "add_multiarch_image(${name}): BASE scratch needs TARGETS, INSTALL or FILES: the image would be empty")
  endif()
  _multiarch_json_string(quoted "${ARG_BASE}")
  set(json "{\"base\": ${quoted}}")
  foreach(keyword IN ITEMS ENTRYPOINT CMD ENV EXPOSE LABELS)
    if(NOT DEFINED ARG_${keyword}_JSON)
      continue()
    endif()
    set(values "${ARG_${keyword}_JSON}")
    string(JSON count LENGTH "${values}")
    set(i 0)
    while(i LESS count)
      string(JSON value GET "${values}" ${i})
      if(keyword STREQUAL "ENV" AND NOT value MATCHES "^[A-Za-z_][A-Za-z0-9_]*=")
        message(FATAL_ERROR "add_multiarch_image(${name}): ENV entry `${value}` is not <NAME>=<value> "
          "(valid: a NAME of letters, digits and _ not starting with a digit, then =, then any value)")
      elseif(keyword STREQUAL "LABELS" AND NOT value MATCHES "^[^=]+=")
        message(FATAL_ERROR "add_multiarch_image(${name}): LABELS entry `${value}` is not <key>=<value> "
          "(valid: e.g. org.opencontainers.image.source=https://example.com/repo)")
      elseif(keyword STREQUAL "EXPOSE")
        if(NOT value MATCHES "^([0-9]+)(/(tcp|udp|sctp))?$" OR CMAKE_MATCH_1 LESS 1 OR CMAKE_MATCH_1 GREATER 65535)
          message(FATAL_ERROR "add_multiarch_image(${name}): EXPOSE entry `${value}` is not <port>[/<protocol>] "
            "(valid: a port from 1 to 65535, then optionally /tcp, /udp or /sctp; e.g. 8080/tcp)")
        endif()
        if(NOT CMAKE_MATCH_2)
          set(value "${value}/tcp")
          _multiarch_json_string(quoted "${value}")
          string(JSON values SET "${values}" ${i} "${quoted}")
        endif()
      endif()
      math(EXPR i "${i} + 1")
    endwhile()
    string(TOLOWER "${keyword}" field)
    string(JSON json SET "${json}" ${field} "${values}")
  endforeach()
  if(DEFINED ARG_USER)
    if(NOT ARG_USER MATCHES "^[A-Za-z0-9_][A-Za-z0-9_.-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?$")
      message(FATAL_ERROR "add_multiarch_image(${name}): USER `${ARG_USER}` is not <user>[:<group>] "
        "(valid: names or numeric ids of letters, digits, _ . -; e.g. 65532:65532 or app)")
    endif()
    _multiarch_json_string(quoted "${ARG_USER}")
    string(JSON json SET "${json}" user "${quoted}")
  endif()
  if(DEFINED ARG_WORKDIR)
    if(NOT ARG_WORKDIR MATCHES "^/" OR ARG_WORKDIR MATCHES "(^|/)\\.\\.(/|$)")
      message(FATAL_ERROR "add_multiarch_image(${name}): WORKDIR `${ARG_WORKDIR}` is not an absolute path in the image "
        "(valid: e.g. /srv, without ..)")
    endif()
    _multiarch_json_string(quoted "${ARG_WORKDIR}")
    string(JSON json SET "${json}" workdir "${quoted}")
  endif()
  set(files "[]")
  if(DEFINED ARG_FILES_JSON)
    string(JSON count LENGTH "${ARG_FILES_JSON}")
    set(i 0)
    while(i LESS count)
      string(JSON entry GET "${ARG_FILES_JSON}" ${i})
      if(NOT entry MATCHES "^([^=]+)=(.+)$")
        message(FATAL_ERROR "add_multiarch_image(${name}): FILES entry `${entry}` is not <source>=<destination> "
          "(valid: e.g. config/server.toml=/etc/server/server.toml or assets/=/usr/share/server/)")
      endif()
      set(source "${CMAKE_MATCH_1}")
      set(destination "${CMAKE_MATCH_2}")
      cmake_path(ABSOLUTE_PATH source BASE_DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}" NORMALIZE)
      string(REGEX REPLACE "(.)/$" "\\1" source "${source}")
      if(NOT EXISTS "${source}")
        message(FATAL_ERROR "add_multiarch_image(${name}): FILES source `${source}` does not exist "
          "(valid: a file or directory, absolute or relative to ${CMAKE_CURRENT_SOURCE_DIR})")
      endif()
      if(NOT destination MATCHES "^/" OR destination MATCHES "(^|/)\\.\\.?(/|$)" OR destination MATCHES "//")
        message(FATAL_ERROR "add_multiarch_image(${name}): FILES destination `${destination}` is not an absolute path "
          "in the image (valid: e.g. /etc/server/server.toml, or /usr/share/server/ for a directory; no . or .. parts)")
      endif()
      _multiarch_json_string(qsource "${source}")
      _multiarch_json_string(qdestination "${destination}")
      string(JSON files SET "${files}" ${i} "{\"source\": ${qsource}, \"destination\": ${qdestination}}")
      math(EXPR i "${i} + 1")
    endwhile()
  endif()
  string(JSON json SET "${json}" files "${files}")
  if(NOT MULTIARCH_IMAGE_SOURCE_DATE_EPOCH MATCHES "^[0-9]+$")
    message(FATAL_ERROR "add_multiarch_image(${name}): MULTIARCH_IMAGE_SOURCE_DATE_EPOCH `${MULTIARCH_IMAGE_SOURCE_DATE_EPOCH}` "
      "is not a number of seconds since 1970 (it defaults to the environment's SOURCE_DATE_EPOCH)")
  endif()
  string(JSON json SET "${json}" source_date_epoch ${MULTIARCH_IMAGE_SOURCE_DATE_EPOCH})
  set(${out} "${json}" PARENT_SCOPE)
endfunction()

# TOOLCHAINS <platform>=<file>...: validated, and set as toolchains_<suffix> in the caller. Says, at
# configure time, which platforms are cross-compiled, which reuse this build and which are emulated.
function(_multiarch_toolchains name platforms targets install toolchains cross_arg_count)
  set(runtime ${ARGN})
  set(cross_args FALSE)
  if(cross_arg_count GREATER 0)
    set(cross_args TRUE)
  endif()
  if(NOT targets AND NOT install)
    foreach(keyword IN ITEMS TOOLCHAINS:toolchains CROSS_CMAKE_ARGS:cross_args)
      string(REPLACE ":" ";" pair "${keyword}")
      list(GET pair 0 keyword)
      list(GET pair 1 var)
      if(${var})
        message(FATAL_ERROR "add_multiarch_image(${name}): ${keyword} needs TARGETS or INSTALL (what to build for each "
          "platform)")
      endif()
    endforeach()
    if(runtime)
      message(FATAL_ERROR "add_multiarch_image(${name}): RUNTIME needs TARGETS or INSTALL (whose runtime libraries it "
        "stages)")
    endif()
    return()
  endif()
  if(toolchains AND CMAKE_GENERATOR MATCHES "^(Visual Studio|Xcode)")
    message(FATAL_ERROR "add_multiarch_image(${name}): TOOLCHAINS needs a Ninja or Makefile generator; the "
      "${CMAKE_GENERATOR} generator's platform and toolset (-A, -T) do not reach the sub-builds. Configure with "
      "-G Ninja (or \"Ninja Multi-Config\", \"Unix Makefiles\").")
  endif()
  foreach(target IN LISTS targets)
    if(NOT target MATCHES "^[A-Za-z0-9_.+:-]+$")
      message(FATAL_ERROR "add_multiarch_image(${name}): TARGETS entry `${target}` is not a target name")
    endif()
  endforeach()
  set(seen "")
  foreach(entry IN LISTS toolchains)
    if(NOT entry MATCHES "^([^=]+)=(.+)$")
      message(FATAL_ERROR "add_multiarch_image(${name}): TOOLCHAINS entry `${entry}` is not <platform>=<toolchain file> "
        "(valid: e.g. linux/arm64=\${MULTIARCH_IMAGE_TOOLCHAINS}/aarch64-linux-gnu.cmake)")
    endif()
    set(file "${CMAKE_MATCH_2}")
    _multiarch_normalise_platform(platform "${name}" "${CMAKE_MATCH_1}")
    if(NOT platform IN_LIST platforms)
      # PLATFORMS often comes from a cache variable that CI narrows: toolchains of other platforms wait.
      message(VERBOSE "add_multiarch_image(${name}): TOOLCHAINS entry for ${platform} ignored (not in PLATFORMS)")
      continue()
    endif()
    if(platform IN_LIST seen)
      message(FATAL_ERROR "add_multiarch_image(${name}): TOOLCHAINS names ${platform} twice")
    endif()
    list(APPEND seen "${platform}")
    cmake_path(ABSOLUTE_PATH file BASE_DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}" NORMALIZE)
    if(NOT EXISTS "${file}" OR IS_DIRECTORY "${file}")
      message(FATAL_ERROR "add_multiarch_image(${name}): the TOOLCHAINS file for ${platform} `${file}` does not exist "
        "(shipped ones: ${MULTIARCH_IMAGE_TOOLCHAINS}/aarch64-linux-gnu.cmake, arm-linux-gnueabihf.cmake and their -clang variants)")
    endif()
    _multiarch_suffix(suffix "${platform}")
    set(toolchains_${suffix} "${file}" PARENT_SCOPE)
  endforeach()
  _multiarch_platform_of_this_build(host)
  foreach(platform IN LISTS platforms)
    if(platform IN_LIST seen)
      message(STATUS "add_multiarch_image(${name}): ${platform}: TARGETS cross-compiled in a sub-build")
    elseif(platform STREQUAL host)
      message(STATUS "add_multiarch_image(${name}): ${platform}: TARGETS from this build")
    else()
      message(STATUS "add_multiarch_image(${name}): ${platform} has no TOOLCHAINS entry and is not this build's "
        "platform (${host}): its image is built under emulation from the Dockerfile alone, and MULTIARCH_STAGE "
        "names an empty directory for it")
    endif()
  endforeach()
endfunction()

# The platform this build compiles for (its own targets): linux/<CMAKE_SYSTEM_PROCESSOR>, normalised;
# empty when the processor is not one the platform table knows.
function(_multiarch_platform_of_this_build out)
  string(TOLOWER "${CMAKE_SYSTEM_NAME}/${CMAKE_SYSTEM_PROCESSOR}" given)
  string(REGEX REPLACE "^([a-z]+)/armv7.*$" "\\1/arm/v7" given "${given}")
  string(REGEX REPLACE "^([a-z]+)/armv6.*$" "\\1/arm/v6" given "${given}")
  set(platform "")
  if(given MATCHES "^(linux|windows|freebsd)/(x86_64|amd64|aarch64|arm64|arm/v[5-8]|i[3-6]86|ppc64le|s390x|riscv64|loongarch64)$")
    string(REGEX REPLACE "/i[3-6]86$" "/386" given "${given}")
    string(REPLACE "loongarch64" "loong64" given "${given}")
    _multiarch_normalise_platform(platform "this build" "${given}")
  endif()
  set(${out} "${platform}" PARENT_SCOPE)
endfunction()

# The stage step of one platform: TARGETS' files and the project libraries they need (with RUNTIME,
# the C/C++ runtime and loader too) copied to `out`; `stamp` written after.
function(_multiarch_stage name platform helper out stamp stage_target targets install)
  set(runtime ${ARGN})
  _multiarch_config_guard(config_guard "${name}")
  # INSTALL: `cmake --install` of this (sub-)build into the stage, after every target of `all` is
  # built; the install rules' sources (read from cmake_install.cmake) are the depfile.
  set(install_args "")
  set(install_depfile "")
  if(install)
    string(REPLACE "|" ";" install_parts "${install}")
    list(GET install_parts 0 install_prefix)
    list(GET install_parts 1 install_components)
    string(REPLACE "," ";" install_components "${install_components}")
    set(install_args --install-tree "${CMAKE_BINARY_DIR}" --install-prefix "${install_prefix}"
      --install-depfile "${stamp}.install.d" --install-cmake "${CMAKE_COMMAND}"
      "$<$<BOOL:$<CONFIG>>:--install-config$<SEMICOLON>$<CONFIG>>")
    foreach(component IN LISTS install_components)
      list(APPEND install_args --install-component "${component}")
    endforeach()
    set(install_depfile DEPFILE "${stamp}.install.d")
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
  add_custom_command(OUTPUT "${stamp}"
    ${config_guard}
    COMMAND ${helper} stage --name "${name}" --platform "${platform}" --out "${out}" --stamp "${stamp}"
            ${files} --project-dir "${CMAKE_BINARY_DIR}" ${runtime_dirs}
            "$<$<BOOL:${closure}>:--project-library;$<JOIN:${closure},;--project-library;>>" ${install_args}
    DEPENDS ${targets} ${helper} "${closure}"
    ${install_depfile}
    COMMENT "multiarch-image: stage ${name} ${platform}"
    COMMAND_EXPAND_LISTS
    VERBATIM)
  add_custom_target(${stage_target} DEPENDS "${stamp}")
  cmake_language(EVAL CODE
    "cmake_language(DEFER DIRECTORY [[${CMAKE_SOURCE_DIR}]] CALL _multiarch_link_closure [[${stage_target}]] [[${targets}]])")
endfunction()

# Deferred to the end of the top-level directory: INSTALL's stage waits for every target of the
# project that `all` builds (what install rules copy is built by then).
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
      if(type MATCHES "^(EXECUTABLE|SHARED_LIBRARY|MODULE_LIBRARY|STATIC_LIBRARY)$" AND NOT excluded)
        add_dependencies(${stage_target} "${target}")
      endif()
    endforeach()
  endwhile()
endfunction()

# INSTALL's values as "<prefix>|<component>,...", checked: COMPONENTS names, an absolute PREFIX
# (default /usr/local).
function(_multiarch_install_spec out name json)
  set(valid "valid: INSTALL [COMPONENTS <component>...] [PREFIX <absolute directory>], e.g. INSTALL COMPONENTS runtime PREFIX /opt/app")
  set(prefix /usr/local)
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
  cmake_path(NORMAL_PATH prefix OUTPUT_VARIABLE normal)
  string(REGEX REPLACE "(.)/$" "\\1" normal "${normal}")
  if(NOT prefix MATCHES "^/[A-Za-z0-9_.+/-]*$" OR NOT prefix STREQUAL normal OR prefix MATCHES "(^|/)\\.\\.?(/|$)")
    message(FATAL_ERROR "add_multiarch_image(${name}): INSTALL PREFIX `${prefix}` is not an absolute, normal path in the "
      "image (letters, digits and _ . + - / only, no . or .. parts; e.g. /usr/local or /opt/app)")
  endif()
  list(JOIN components "," joined)
  set(${out} "${prefix}|${joined}" PARENT_SCOPE)
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
  set(configure_args -DCMAKE_TOOLCHAIN_FILE=${TOOLCHAIN} -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE}
    -DMULTIARCH_IMAGE_SUB_BUILD=${PLATFORM} -DMULTIARCH_IMAGE_SUB_BUILD_IMAGES=${images}
    -DMULTIARCH_IMAGE_STAGE_ROOT=${CMAKE_BINARY_DIR}/multiarch-image -DMULTIARCH_IMAGE_HELPER=${helper_path})
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

# At the end of the top-level directory: TEST_COMMAND's tests reach ctest only when that directory
# enabled testing (enable_testing() sets CMAKE_TESTING_ENABLED there).
function(_multiarch_check_testing name)
  if(NOT CMAKE_TESTING_ENABLED)
    message(WARNING "add_multiarch_image(${name}): TEST_COMMAND registers the tests ${name}.image.<platform>, but "
      "testing is not enabled in ${CMAKE_SOURCE_DIR}/CMakeLists.txt, so ctest will not run them: call enable_testing() "
      "(or include(CTest)) there.")
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

# The settings a sub-build gets from this build, as initial-cache lines (CROSS_CMAKE_ARGS come after
# and win): FetchContent's (every FETCHCONTENT_* cache entry, and each dependency this directory made
# available as FETCHCONTENT_SOURCE_DIR_<NAME>, so a sub-build uses the same sources and needs no
# network), CMAKE_CONFIGURATION_TYPES, compiler and linker launchers (ccache, sccache),
# CMAKE_PREFIX_PATH, and the variables named in MULTIARCH_IMAGE_FORWARD_VARIABLES.
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
  foreach(var IN ITEMS CMAKE_CONFIGURATION_TYPES MULTIARCH_IMAGE_CONFIG CMAKE_PREFIX_PATH)
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

# `set(<var> [=[<value>]=] CACHE <type> "" FORCE)` with a bracket long enough for any value.
function(_multiarch_cache_line out var type value)
  set(fence "=")
  while(value MATCHES "]${fence}]")
    string(APPEND fence "=")
  endwhile()
  set(${out} "set(${var} [${fence}[${value}]${fence}] CACHE ${type} \"\" FORCE)\n" PARENT_SCOPE)
endfunction()

# At the end of the top-level directory: every TARGETS entry exists and is something to ship.
function(_multiarch_check_targets name targets infer_entrypoint)
  if(infer_entrypoint)
    set(executables "")
    foreach(target IN LISTS targets)
      if(TARGET "${target}")
        get_target_property(type "${target}" TYPE)
        if(type STREQUAL "EXECUTABLE")
          list(APPEND executables "${target}")
        endif()
      endif()
    endforeach()
    list(LENGTH executables count)
    if(NOT count EQUAL 1)
      message(FATAL_ERROR "add_multiarch_image(${name}): ENTRYPOINT is missing and cannot be inferred: TARGETS has "
        "${count} executables (${executables}); name the program to run, e.g. ENTRYPOINT /usr/local/bin/<program>")
    endif()
  endif()
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

function(_multiarch_validate_repository name repository)
  set(valid "(valid: ${_MULTIARCH_VALID_REPOSITORY})")
  string(LENGTH "${repository}" length)
  if(length EQUAL 0 OR length GREATER 255)
    message(FATAL_ERROR "add_multiarch_image(${name}): REPOSITORY `${repository}` must be 1 to 255 characters ${valid}")
  endif()
  if(repository MATCHES "@")
    message(FATAL_ERROR "add_multiarch_image(${name}): REPOSITORY `${repository}` contains a digest ${valid}")
  endif()
  set(path "${repository}")
  if(repository MATCHES "^([^/]+)/(.*)$")
    set(first "${CMAKE_MATCH_1}")
    set(rest "${CMAKE_MATCH_2}")
    if(first MATCHES "[.:[A-Z]" OR first STREQUAL "localhost")
      set(component "([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])")
      if(NOT first MATCHES "^(${component}(\\.${component})*|\\[[0-9a-fA-F:.]+\\])(:([0-9]+))?$")
        message(FATAL_ERROR "add_multiarch_image(${name}): REPOSITORY `${repository}` has a bad registry host `${first}` ${valid}")
      endif()
      if(first MATCHES ":([0-9]+)$")
        set(port "${CMAKE_MATCH_1}")
        if(port LESS 1 OR port GREATER 65535)
          message(FATAL_ERROR "add_multiarch_image(${name}): REPOSITORY `${repository}` has port ${port}, "
            "not a number from 1 to 65535 ${valid}")
        endif()
      endif()
      set(path "${rest}")
    endif()
  endif()
  if(path MATCHES ":")
    message(FATAL_ERROR "add_multiarch_image(${name}): REPOSITORY `${repository}` contains a tag; give tags with TAGS ${valid}")
  endif()
  if(path MATCHES "[A-Z]")
    message(FATAL_ERROR "add_multiarch_image(${name}): REPOSITORY `${repository}` has uppercase letters in its path ${valid}")
  endif()
  string(REPLACE "/" ";" components "${path}")
  if(path MATCHES "^/|/$|//" OR path STREQUAL "")
    message(FATAL_ERROR "add_multiarch_image(${name}): REPOSITORY `${repository}` has an empty path component ${valid}")
  endif()
  foreach(c IN LISTS components)
    if(NOT c MATCHES "^[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*$")
      message(FATAL_ERROR "add_multiarch_image(${name}): REPOSITORY `${repository}` has a bad path component `${c}` ${valid}")
    endif()
  endforeach()
endfunction()

# Each platform's builder as a JSON array of {platform, builder, origin}: BUILDERS first, then the
# MULTIARCH_IMAGE_BUILDERS cache variable, which wins for the platforms it names.
function(_multiarch_builders out name platforms given)
  set(json "[]")
  set(seen "")
  foreach(origin IN ITEMS MULTIARCH_IMAGE_BUILDERS BUILDERS)
    if(origin STREQUAL "BUILDERS")
      set(entries "${given}")
    else()
      set(entries "${MULTIARCH_IMAGE_BUILDERS}")
    endif()
    set(seen_here "")
    foreach(entry IN LISTS entries)
      if(NOT entry MATCHES "^([^=]+)=(.+)$")
        message(FATAL_ERROR "add_multiarch_image(${name}): ${origin} entry `${entry}` is not <platform>=<builder> "
          "(valid: e.g. linux/arm64=ssh://ci@arm-box, linux/amd64=unix:///var/run/docker.sock, a context or "
          "connection name, or buildx:<builder>)")
      endif()
      set(builder "${CMAKE_MATCH_2}")
      _multiarch_normalise_platform(platform "${name}" "${CMAKE_MATCH_1}")
      if(platform IN_LIST seen_here)
        message(FATAL_ERROR "add_multiarch_image(${name}): ${origin} names ${platform} twice")
      endif()
      list(APPEND seen_here "${platform}")
      if(NOT platform IN_LIST platforms)
        if(origin STREQUAL "BUILDERS")
          message(FATAL_ERROR "add_multiarch_image(${name}): BUILDERS names ${platform}, which is not in PLATFORMS "
            "(valid: one of ${platforms})")
        endif()
        continue()  # the cache variable serves every image; it may name platforms this one lacks
      endif()
      if(platform IN_LIST seen)
        continue()  # already set by MULTIARCH_IMAGE_BUILDERS
      endif()
      list(APPEND seen "${platform}")
      _multiarch_json_string(qplatform "${platform}")
      _multiarch_json_string(qbuilder "${builder}")
      _multiarch_json_string(qorigin "${origin}")
      string(JSON n LENGTH "${json}")
      string(JSON json SET "${json}" ${n} "{\"platform\": ${qplatform}, \"builder\": ${qbuilder}, \"origin\": ${qorigin}}")
    endforeach()
  endforeach()
  set(${out} "${json}" PARENT_SCOPE)
endfunction()

# GIT_TAGS: the spec's "git" object, and the files whose change means HEAD or the tags moved (the
# HEAD log, HEAD itself, packed refs, the tags directory). Not the index: `git status` rewrites it.
function(_multiarch_git out_json out_depends name latest)
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

function(_multiarch_validate_tag name tag)
  string(LENGTH "${tag}" length)
  if(NOT tag MATCHES "^[A-Za-z0-9_][A-Za-z0-9_.-]*$" OR length GREATER 128)
    message(FATAL_ERROR "add_multiarch_image(${name}): TAGS entry `${tag}` is not a valid tag "
      "(valid: 1 to 128 characters of letters, digits, _ . -, not starting with . or -)")
  endif()
endfunction()

# The same normalisation as the helper's platform.cpp (both are checked against tests/data/platforms.txt).
function(_multiarch_normalise_platform out name given)
  set(valid "(valid: ${_MULTIARCH_VALID_PLATFORMS})")
  string(TOLOWER "${given}" p)
  string(REPLACE "/" ";" parts "${p}")
  list(LENGTH parts n)
  if(p STREQUAL "" OR p MATCHES "^/|/$|//" OR n LESS 2 OR n GREATER 3)
    message(FATAL_ERROR "add_multiarch_image(${name}): unknown platform `${given}` ${valid}")
  endif()
  list(GET parts 0 os)
  list(GET parts 1 arch)
  set(variant "")
  if(n EQUAL 3)
    list(GET parts 2 variant)
  endif()
  if(NOT os MATCHES "^(linux|windows|freebsd)$")
    message(FATAL_ERROR "add_multiarch_image(${name}): unknown platform `${given}`: unknown operating system `${os}` ${valid}")
  endif()
  if(variant MATCHES "^[0-9]$")
    set(variant "v${variant}")
  endif()
  if(arch MATCHES "^(x86_64|x86-64)$")
    set(arch amd64)
  elseif(arch MATCHES "^(i386|i686)$")
    set(arch 386)
  elseif(arch STREQUAL "aarch64")
    set(arch arm64)
  elseif(arch MATCHES "^(armhf|armel)$")
    if(variant STREQUAL "")
      if(arch STREQUAL "armhf")
        set(variant v7)
      else()
        set(variant v6)
      endif()
    endif()
    set(arch arm)
  endif()
  if(NOT arch MATCHES "^(amd64|arm64|arm|386|ppc64le|s390x|riscv64|mips64le|loong64)$")
    message(FATAL_ERROR "add_multiarch_image(${name}): unknown platform `${given}`: unknown architecture `${arch}` ${valid}")
  endif()
  if(arch STREQUAL "arm" AND variant STREQUAL "")
    set(variant v7)
  endif()
  if(NOT variant STREQUAL "")
    if((arch STREQUAL "arm" AND variant MATCHES "^v[5-8]$")
        OR (arch STREQUAL "amd64" AND variant MATCHES "^v[1-4]$")
        OR (arch STREQUAL "arm64" AND variant MATCHES "^v(8|9|8\\.[0-9]|9\\.[0-9])$"))
      # a known variant
    else()
      message(FATAL_ERROR "add_multiarch_image(${name}): unknown platform `${given}`: unknown variant `${variant}` for ${arch} ${valid}")
    endif()
  endif()
  if((arch STREQUAL "arm64" AND variant STREQUAL "v8") OR (arch STREQUAL "amd64" AND variant STREQUAL "v1"))
    set(variant "")
  endif()
  set(result "${os}/${arch}")
  if(NOT variant STREQUAL "")
    string(APPEND result "/${variant}")
  endif()
  set(${out} "${result}" PARENT_SCOPE)
endfunction()

function(_multiarch_json_string out value)
  string(REPLACE "\\" "\\\\" value "${value}")
  string(REPLACE "\"" "\\\"" value "${value}")
  string(REPLACE "\n" "\\n" value "${value}")
  string(REPLACE "\r" "\\r" value "${value}")
  string(REPLACE "\t" "\\t" value "${value}")
  set(${out} "\"${value}\"" PARENT_SCOPE)
endfunction()

function(_multiarch_json_array out)
  set(json "[]")
  set(i 0)
  foreach(item IN LISTS ARGN)
    _multiarch_json_string(quoted "${item}")
    string(JSON json SET "${json}" ${i} "${quoted}")
    math(EXPR i "${i} + 1")
  endforeach()
  set(${out} "${json}" PARENT_SCOPE)
endfunction()

# What a provenance statement says about this build (see the helper's provenance.hpp): the builder,
# CMake, the compiler, each platform's toolchain file and its SHA-256, the source directory (its git
# commit and remote are read when a push step runs) and SOURCE_DATE_EPOCH. Reads the caller's
# toolchains_<suffix>.
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
  set(compiler "")
  foreach(language IN ITEMS CXX C)
    if(NOT compiler AND CMAKE_${language}_COMPILER_ID)
      set(compiler "${CMAKE_${language}_COMPILER_ID} ${CMAKE_${language}_COMPILER_VERSION}")
    endif()
  endforeach()
  _multiarch_json_string(quoted "${compiler}")
  string(JSON json SET "${json}" compiler "${quoted}")
  find_package(Git QUIET)
  _multiarch_json_string(quoted "${GIT_EXECUTABLE}")
  string(JSON json SET "${json}" git "${quoted}")
  set(toolchains "{}")
  foreach(platform IN LISTS platforms)
    _multiarch_suffix(suffix "${platform}")
    if(toolchains_${suffix})
      file(SHA256 "${toolchains_${suffix}}" sha)
      _multiarch_json_string(qfile "${toolchains_${suffix}}")
      string(JSON toolchains SET "${toolchains}" "${platform}" "{\"file\": ${qfile}, \"sha256\": \"${sha}\"}")
    endif()
  endforeach()
  string(JSON json SET "${json}" toolchains "${toolchains}")
  string(JSON json SET "${json}" source_date_epoch "${MULTIARCH_IMAGE_SOURCE_DATE_EPOCH}")
  set(${out} "${json}" PARENT_SCOPE)
endfunction()

# The spec is rewritten only when its content changes: every step depends on it. Keywords: NAME,
# REPOSITORY, CONTEXT, DOCKERFILE, ENGINE, INDEX_FORMAT, STATE (values); TAGS, PLATFORMS (lists);
# BUILD_ARGS_JSON, ANNOTATIONS_JSON, BUILDERS_JSON, GIT_JSON (JSON, GIT_JSON may be empty); STAGED (TRUE
# when the image has TARGETS).
function(_multiarch_write_spec path)
  cmake_parse_arguments(PARSE_ARGV 1 S ""
    "NAME;REPOSITORY;CONTEXT;DOCKERFILE;ENGINE;INDEX_FORMAT;STATE;BUILD_ARGS_JSON;ANNOTATIONS_JSON;BUILDERS_JSON;GIT_JSON;STAGED;IMAGE_JSON;PROVENANCE_JSON"
    "TAGS;PLATFORMS")
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
  _multiarch_json_array(array ${S_PLATFORMS})
  string(JSON json SET "${json}" platforms "${array}")

  string(JSON json SET "${json}" build_args "${S_BUILD_ARGS_JSON}")
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
    string(JSON json SET "${json}" image "${image}")
  endif()
  if(S_PROVENANCE_JSON)
    string(JSON json SET "${json}" provenance "${S_PROVENANCE_JSON}")
  endif()
  _multiarch_json_array(array ${MULTIARCH_IMAGE_RUN_OPTIONS})
  string(JSON json SET "${json}" run_options "${array}")
  string(JSON json SET "${json}" retries ${MULTIARCH_IMAGE_RETRIES})
  string(JSON json SET "${json}" retry_delay ${MULTIARCH_IMAGE_RETRY_DELAY})
  string(JSON json SET "${json}" timeout ${MULTIARCH_IMAGE_TIMEOUT})

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

  _multiarch_write_if_changed("${path}" "${json}\n")
endfunction()

# Writes `content` to `path` only when it differs: build steps depend on these files.
function(_multiarch_write_if_changed path content)
  file(WRITE "${path}.new" "${content}")
  file(COPY_FILE "${path}.new" "${path}" ONLY_IF_DIFFERENT)
  file(REMOVE "${path}.new")
endfunction()

# Keyword arguments taken exactly as written. cmake_parse_arguments() hands values back as CMake
# lists, where a value ending in `\` swallows the next one and an unbalanced `[` every one after it;
# here each argument is read from ARGV<n> and kept in JSON. In the caller: <prefix>_<option> (TRUE or
# FALSE); <prefix>_<keyword> for a one-value keyword given (its exact text); for a multi-value
# keyword given, <prefix>_<keyword>_JSON (a JSON array of its exact values) and <prefix>_<keyword>
# (the values as a CMake list, for keywords whose values hold no `;`, `\` or `[`);
# <prefix>_UNPARSED_ARGUMENTS and <prefix>_KEYWORDS_MISSING_VALUES as cmake_parse_arguments() sets them.
# `arguments` is a JSON array of the arguments (see _multiarch_arguments_json).
function(_multiarch_parse_exact prefix arguments options one_value multi_value)
  foreach(option IN LISTS options)
    set(${prefix}_${option} FALSE PARENT_SCOPE)
  endforeach()
  set(current "")
  set(unparsed "")
  set(missing "")
  set(given "")
  string(JSON count LENGTH "${arguments}")
  set(i 0)
  while(i LESS count)
    string(JSON arg GET "${arguments}" ${i})
    math(EXPR i "${i} + 1")
    if(arg IN_LIST options)
      set(${prefix}_${arg} TRUE PARENT_SCOPE)
      set(current "")
    elseif(arg IN_LIST one_value OR arg IN_LIST multi_value)
      if(current AND NOT current IN_LIST given)
        list(APPEND missing "${current}")
      endif()
      set(current "${arg}")
      if(arg IN_LIST multi_value AND NOT DEFINED json_${arg})
        set(json_${arg} "[]")
      endif()
    elseif(current IN_LIST one_value)
      set(${prefix}_${current} "${arg}" PARENT_SCOPE)
      list(APPEND given "${current}")
      set(current "")
    elseif(current)
      _multiarch_json_string(quoted "${arg}")
      string(JSON n LENGTH "${json_${current}}")
      string(JSON json_${current} SET "${json_${current}}" ${n} "${quoted}")
      list(APPEND given "${current}")
    else()
      string(REPLACE ";" "\\;" arg "${arg}")
      list(APPEND unparsed "${arg}")
    endif()
  endwhile()
  if(current AND NOT current IN_LIST given)
    list(APPEND missing "${current}")
  endif()
  foreach(keyword IN LISTS multi_value)
    if(DEFINED json_${keyword})
      set(${prefix}_${keyword}_JSON "${json_${keyword}}" PARENT_SCOPE)
      _multiarch_json_to_list(list "${json_${keyword}}")
      set(${prefix}_${keyword} "${list}" PARENT_SCOPE)
    endif()
  endforeach()
  list(REMOVE_DUPLICATES missing)
  set(${prefix}_UNPARSED_ARGUMENTS "${unparsed}" PARENT_SCOPE)
  set(${prefix}_KEYWORDS_MISSING_VALUES "${missing}" PARENT_SCOPE)
endfunction()

# The keyword closest to `word` (at most a third of its letters edited: Levenshtein distance), for a
# "did you mean"; empty when none is that close.
function(_multiarch_nearest out word)
  string(LENGTH "${word}" n)
  set(best "")
  math(EXPR best_distance "${n} / 3 + 1")
  foreach(candidate IN LISTS ARGN)
    string(LENGTH "${candidate}" m)
    # One row of the edit-distance table at a time.
    set(row "")
    foreach(j RANGE ${m})
      list(APPEND row ${j})
    endforeach()
    foreach(i RANGE 1 ${n})
      math(EXPR i0 "${i} - 1")
      string(SUBSTRING "${word}" ${i0} 1 a)
      set(next ${i})
      foreach(j RANGE 1 ${m})
        math(EXPR j0 "${j} - 1")
        string(SUBSTRING "${candidate}" ${j0} 1 b)
        list(GET row ${j0} diagonal)
        list(GET row ${j} up)
        list(GET next ${j0} left)
        set(cost 1)
        if(a STREQUAL b)
          set(cost 0)
        endif()
        math(EXPR d "${diagonal} + ${cost}")
        math(EXPR u "${up} + 1")
        math(EXPR l "${left} + 1")
        if(u LESS d)
          set(d ${u})
        endif()
        if(l LESS d)
          set(d ${l})
        endif()
        list(APPEND next ${d})
      endforeach()
      set(row ${next})
    endforeach()
    list(GET row ${m} distance)
    if(distance LESS best_distance)
      set(best_distance ${distance})
      set(best "${candidate}")
    endif()
  endforeach()
  set(${out} "${best}" PARENT_SCOPE)
endfunction()

# The values of a JSON array of strings as a CMake list (for values that hold no list syntax).
function(_multiarch_json_to_list out json)
  set(list "")
  string(JSON n LENGTH "${json}")
  set(i 0)
  while(i LESS n)
    string(JSON item GET "${json}" ${i})
    list(APPEND list "${item}")
    math(EXPR i "${i} + 1")
  endwhile()
  set(${out} "${list}" PARENT_SCOPE)
endfunction()
