# MultiArchImage: multi-architecture container images as targets of the build.
# Public: add_multiarch_image(), here with the settings it reads. Its private helpers (_multiarch_*)
# live in MultiArchImage/, one file per job, included below.
include_guard(GLOBAL)
# Functions run with the policies in force where they are defined (here, and in the files included
# below, which inherit them), not the caller's: this gives CMP0116 NEW (depfile paths taken as
# written) whatever the consuming project sets, and the range keeps newer CMake versions from
# warning about policies this module was written for.
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
_multiarch_setting(MULTIARCH_IMAGE_ONLY_PLATFORMS "" STRING
  "A CI matrix job: the platforms (;-separated, each one of every image's PLATFORMS) this build tree builds and pushes, by digest; no list is published")
_multiarch_setting(MULTIARCH_IMAGE_MERGE_RECORDS "" STRING
  "A CI merge job: directories (;-separated) holding the push records the matrix jobs wrote; the list is published over exactly those digests, nothing is built")
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
_multiarch_setting(MULTIARCH_IMAGE_PLATFORM_TAGS ON BOOL
  "Tag each pushed platform <tag>-<arch> and keep referrers tags; OFF: assembled images by digest only (immutable tags)")
_multiarch_setting(MULTIARCH_IMAGE_DEBUG_SYMBOLS "" STRING
  "DEBUG_SYMBOLS of every assembled image without it: ATTACH, KEEP or DROP; empty: ATTACH in Debug and RelWithDebInfo builds, KEEP in others")
set_property(CACHE MULTIARCH_IMAGE_DEBUG_SYMBOLS PROPERTY STRINGS "" ATTACH KEEP DROP)
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
_multiarch_setting(MULTIARCH_IMAGE_REPOSITORY_PREFIX "" STRING
  "Publish every image to <prefix>/<its REPOSITORY's path> instead (a staging registry chosen by CI, as KO_DOCKER_REPO); empty: REPOSITORY as written")
_multiarch_setting(MULTIARCH_IMAGE_PROMOTE_TO "" STRING
  "PROMOTE_TO of every image without it: repositories (;-separated) <name>-promote copies the published image to, with its referrers")
_multiarch_setting(MULTIARCH_IMAGE_CA_BUNDLE /etc/ssl/certs/ca-certificates.crt FILEPATH
  "The PEM bundle ESSENTIALS ca-certificates puts in images (default: Debian's ca-certificates bundle)")
_multiarch_setting(MULTIARCH_IMAGE_FORWARD_VARIABLES "" STRING
  "Variables whose values every cross-compiling sub-build (TOOLCHAINS) gets too, e.g. MY_OPTION;MY_SDK_DIR")

# Toolchain files shipped with the module, for TOOLCHAINS (Debian's cross compilers). A cache entry,
# so a project that adds this repository with add_subdirectory/FetchContent sees it too.
set(MULTIARCH_IMAGE_TOOLCHAINS "${CMAKE_CURRENT_LIST_DIR}/toolchains" CACHE INTERNAL "toolchain files for TOOLCHAINS")

# The private functions, one file per job; each file's header says what it owns.
include("${CMAKE_CURRENT_LIST_DIR}/MultiArchImage/arguments.cmake")   # arguments exactly as written, JSON, files
include("${CMAKE_CURRENT_LIST_DIR}/MultiArchImage/validate.cmake")    # every check of the arguments and settings
include("${CMAKE_CURRENT_LIST_DIR}/MultiArchImage/permissions.cmake") # OWNER, MODE, CAPABILITIES of FILES, DIRECTORIES, TARGETS
include("${CMAKE_CURRENT_LIST_DIR}/MultiArchImage/essentials.cmake")  # ESSENTIALS: accounts, CA bundle, time zones, /tmp
include("${CMAKE_CURRENT_LIST_DIR}/MultiArchImage/spec.cmake")        # spec.json and what it records
include("${CMAKE_CURRENT_LIST_DIR}/MultiArchImage/targets.cmake")     # the steps and the targets that run them
include("${CMAKE_CURRENT_LIST_DIR}/MultiArchImage/staging.cmake")     # TARGETS and INSTALL: compose and stage
include("${CMAKE_CURRENT_LIST_DIR}/MultiArchImage/sub_builds.cmake")  # TOOLCHAINS: the cross sub-builds

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
    [SECRETS id=<id>,env=<VAR>|id=<id>,src=<file>...]  # build secrets for RUN --mount=type=secret
    [SSH default|<id>=<socket or key>...]         # SSH agent or keys for RUN --mount=type=ssh
    [TARGET_STAGE <stage>]                        # build the Dockerfile up to this stage (--target)
    [PULL ALWAYS|MISSING|NEVER]                   # FROM bases: default ALWAYS with SBOM, else the engine's
    [REGISTRY_CACHE INLINE]                       # build from the cache in the last published image (docker)
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
    [PLATFORM_TAGS ON|OFF]                        # <tag>-<arch> per platform (default ON; OFF: BASE only)
    [PROVENANCE ON|OFF]                           # SLSA provenance per platform (default ON)
    [SBOM ON|OFF]                                 # CycloneDX SBOM per platform (default ON)
    [SIGN_COMMAND <command> <arg>...]             # run once per published index (@REFERENCE@ replaced)
    [PROMOTE_TO <repository>...]                  # <name>-promote copies the published image there
    [ENGINE auto|docker|podman])                  # default: MULTIARCH_IMAGE_ENGINE (auto)

  add_multiarch_image(<name>                      # an image the helper assembles: no Dockerfile, no engine
    REPOSITORY ... [TAGS ...] [PLATFORMS ...] [TARGETS ... [TOOLCHAINS ...] [RUNTIME]]
    BASE scratch
    [ENTRYPOINT <program> <arg>...]               # default: the one executable of TARGETS, else none
    [CMD <arg>...] [ENV <NAME>=<value>...] [USER <user>[:<group>]] [WORKDIR <dir>]
    [EXPOSE <port>[-<port>][/tcp|udp|sctp]...] [LABELS <key>=<value>...]
    [VOLUMES <absolute dir>...] [STOP_SIGNAL <signal>]
    [MANIFEST_ANNOTATIONS <key>=<value>...]       # on each platform's manifest (ANNOTATIONS: the index)
    [FILES <source>=<absolute destination>        # files, or directories (destination ending in /);
       [OWNER <user>[:<group>]] [MODE <octal>]    # a source may be $<TARGET_FILE:tool> or a custom command's output
       [CAPABILITIES <cap>[,<cap>...]]...]
    [DIRECTORIES <absolute path> [OWNER <user>[:<group>]] [MODE <octal>]...]  # empty directories
    [ESSENTIALS accounts|ca-certificates|tzdata|tmp|ALL...]  # what a service needs (default: none)
    [DEBUG_SYMBOLS ATTACH|KEEP|DROP])             # strip TARGETS/INSTALL; ATTACH publishes the debug information

``BASE`` makes the helper write the image itself (see docs/assembled.md): a reproducible layer each
for the C/C++ runtime, the project's shared libraries, its executables and ``FILES``, the config and
the manifest, in an OCI layout in the build tree, pushed by its own registry client. It excludes
``DOCKERFILE``, ``CONTEXT``, ``BUILD_ARGS``, ``BUILDERS``, ``ENGINE``, ``SECRETS``, ``SSH``,
``TARGET_STAGE``, ``PULL`` and ``REGISTRY_CACHE``.

``SECRETS`` hands each build a secret the Dockerfile mounts with ``RUN --mount=type=secret,id=<id>``
(docker with BuildKit, podman): its value is read from the environment variable or the file when the
image is built, and is in no argument, record, log or layer; only the id and the variable's name or
the file's path are in the spec. A new value does not rebuild the image (a rotated token changes no
image); a new id, variable or file does. ``SSH`` forwards an SSH agent (``default``: the one at
``SSH_AUTH_SOCK``) or key files to ``RUN --mount=type=ssh``. ``TARGET_STAGE`` builds the Dockerfile's
stage of that name (its ``FROM ... AS <stage>``) instead of the last. ``PULL`` says where ``FROM``
bases come from: ``ALWAYS`` their registries each time, ``MISSING`` the engine's copy when it has
one, ``NEVER`` the engine's copy only (podman; docker cannot be told); without it, a build with
``SBOM`` on pulls bases its registry knows (so the SBOM's digests are what was built), others take the
engine's default. ``REGISTRY_CACHE INLINE`` (docker with BuildKit) puts each platform's build cache
in the image it publishes, and starts each build from the cache of the platform's image last
published under the first of ``TAGS``: a CI runner with an empty daemon runs again only the steps
whose inputs changed. Podman's registry cache needs its layer cache, which the helper keeps off.

Every path of an assembled image is root's (0:0), 0755 or 0644, unless said otherwise: ``OWNER``
(numeric ids, or ``root``, ``nonroot`` (65532), ``nobody`` (65534)), ``MODE`` (octal, setuid 4xxx,
setgid 2xxx and sticky 1xxx included) and ``CAPABILITIES`` (Linux file capabilities such as
``cap_net_bind_service``, written as the ``security.capability`` extended attribute) after a
``FILES`` entry (a directory source takes ``OWNER`` only, for all it copies); ``DIRECTORIES`` adds
empty directories (``/var/lib/<service>`` owned by the service's user); an executable of ``TARGETS``
takes the target properties ``MULTIARCH_IMAGE_OWNER``, ``MULTIARCH_IMAGE_MODE`` and
``MULTIARCH_IMAGE_CAPABILITIES``. Combinations without meaning, or that open a hole, are errors.

``ESSENTIALS`` adds, in a layer of its own below the project's, what distroless's static image has and
``scratch`` lacks: ``accounts`` (``/etc/passwd`` and ``/etc/group`` with root, nobody and
``nonroot`` (65532), homes ``/root`` and ``/home/nonroot`` (nonroot's, 0700)), ``ca-certificates``
(``MULTIARCH_IMAGE_CA_BUNDLE``, this machine's bundle by default, at
``/etc/ssl/certs/ca-certificates.crt`` and the paths other TLS libraries read), ``tzdata`` (this
machine's ``/usr/share/zoneinfo``), ``tmp`` (``/tmp``, 1777); ``ALL`` for the four. The SBOM names
the bundle and the time zones' Debian packages. A base with accounts of its own refuses ``accounts``.

``DEBUG_SYMBOLS`` (default: ``MULTIARCH_IMAGE_DEBUG_SYMBOLS``, else ``ATTACH`` in ``Debug`` and
``RelWithDebInfo`` builds and ``KEEP`` in others) strips the staged programs and libraries of
``TARGETS`` and ``INSTALL`` (and the project's libraries they need) with the platform's own
``CMAKE_OBJCOPY`` and ``CMAKE_STRIP``, keeping their GNU build-id: ``ATTACH`` publishes their debug
information beside each platform's image as an OCI 1.1 referrer (artifact type
``application/vnd.multiarch-image.debug-symbols.v1+tar``: ``.build-id/ab/cdef….debug`` files), which
``<name>-symbols`` and ``multiarch-image symbols`` fetch; ``DROP`` publishes nothing; ``KEEP`` stages
them as built.

``ENV`` values may name what the base sets and what earlier entries set, as a Dockerfile's ``ENV``
does: ``ENV "PATH=/opt/tool/bin:$PATH"`` (``$NAME`` or ``\${NAME}``; ``\\$`` for a ``$`` of its own).
``VOLUMES`` and ``STOP_SIGNAL`` go to the config (``Volumes``, ``StopSignal``);
``MANIFEST_ANNOTATIONS`` to each platform's manifest.

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
one (``docker`` makes an image the helper assembles Docker's throughout: its manifests, configs and
layers). An OCI index carries ``org.opencontainers.image.version`` (the first tag) and
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

``INSTALL`` stages, alongside or instead of ``TARGETS``, what the project's own install rules
install: per platform, ``cmake --install`` of this build or of the platform's sub-build with
``DESTDIR`` a tree of the stage's own (``COMPONENTS``: only those; default: every component
installed by default), absolute destinations staged at their path in the image, run paths as
CMake's install step writes them, library links kept as relative links, a link in ``/usr/lib`` for
an installed library the loader would not find. ``PREFIX`` is ``CMAKE_INSTALL_PREFIX`` (its default;
the sub-builds get it too). It runs after everything ``all`` builds, and again when a file the
install rules copy for its components changes. ``TOOLCHAINS``, ``RUNTIME`` and ``BASE`` work with it
as with ``TARGETS``. ``ENTRYPOINT`` defaults to the one executable of ``TARGETS``, else none.

``PROVENANCE`` (default: ``MULTIARCH_IMAGE_PROVENANCE``, on) attaches to every pushed platform an
in-toto SLSA Provenance v1 statement as an OCI 1.1 referrer (builder: ``MULTIARCH_IMAGE_BUILDER_ID``).
``SBOM`` (default: ``MULTIARCH_IMAGE_SBOM``, on) attaches a CycloneDX 1.6 SBOM the same way: the
project, every staged file with its path and SHA-256, the runtime's Debian packages, the base images
by digest, the ELF dependency edges.

``PLATFORM_TAGS`` (default: ``MULTIARCH_IMAGE_PLATFORM_TAGS``, on) tags each pushed platform
``<tag>-<arch>``. ``OFF`` publishes each platform by digest only and writes no tag but ``TAGS`` (no
referrers tag either: documents are listed by the registry's referrers API where it has one, else
kept by digest), for registries with immutable tags (docs/registries.md). An image ``BASE`` assembles
only: docker and podman push under a tag (the cache variable leaves other images as they are).

``SIGN_COMMAND`` (default: the cache variable ``MULTIARCH_IMAGE_SIGN_COMMAND``) runs after the manifest
step, once per index digest, as ``<name>-sign`` (part of ``<name>-push``), with ``@REFERENCE@`` replaced
by ``<repository>@<index digest>``; secrets come from the environment. ``multiarch-image attach`` puts
a signature next to the index as an OCI 1.1 referrer.

``PROMOTE_TO`` (default: the cache variable ``MULTIARCH_IMAGE_PROMOTE_TO``) names repositories, on
this registry or others, that ``<name>-promote`` copies the published image to without building it
again: the very digests, their referrers with them (docs/registries.md). The cache variable
``MULTIARCH_IMAGE_REPOSITORY_PREFIX`` (``<host>[:<port>][/<path>]``) publishes every image to
``<prefix>/<REPOSITORY's path>`` instead, the registry of ``REPOSITORY`` replaced: a staging place
CI chooses, as ko's ``KO_DOCKER_REPO``.

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
``<name>-promote``, ``image-promote``
  With ``PROMOTE_TO``: copy the index this build last published (metadata.json), its platforms'
  manifests and blobs and their referrers (SBOM, provenance, signatures, debug symbols) to each
  destination repository, byte for byte (the same digests), under the image's tags; blobs mounted
  within a registry, streamed through a file across registries; every manifest read back and its
  digest compared. Runs ``<name>-push`` first. Writes ``promoted.json``; a rerun with the same index
  and destinations sends no request.
``<name>-symbols``
  With ``DEBUG_SYMBOLS ATTACH``: fetch the debug symbols of the image this build last published
  (metadata.json) into ``<build>/multiarch-image/<name>/symbols/<platform>/.build-id/``.
``<name>-plan``, ``image-plan``
  Print the engine commands every step would run, in order, without running them (for review in
  CI logs). Only the engines' version probes, which decide the build command, are asked.

A CI matrix (one job per platform on its own native runner, then a merge job) is two settings of
the same project. ``MULTIARCH_IMAGE_ONLY_PLATFORMS`` (a job) keeps only those platforms' build, push and
test steps: ``<name>-push`` and ``image-push`` build and push them by digest (and their platform tags,
SBOM and provenance), publish no list and write their push records
(``<build>/multiarch-image/<name>/push-<platform>.json``), which the job hands on as a CI artifact.
``MULTIARCH_IMAGE_MERGE_RECORDS`` (the merge job) names the directories those artifacts were put in:
``<name>-push`` then builds and pushes nothing and publishes, verifies and signs the list over exactly
the digests the records name (docs/ci/matrix.md). A job on a runner of its platform builds that
platform as this build does, even when ``TOOLCHAINS`` names it: no sub-build, no toolchain file.

Platforms are normalised as containerd does (``linux/arm`` is ``linux/arm/v7``, ``aarch64`` is
``arm64``); two entries that normalise to the same platform are an error. Relative ``CONTEXT`` and
``DOCKERFILE`` paths are taken from ``CMAKE_CURRENT_SOURCE_DIR``.
#]=======================================================================]
function(add_multiarch_image name)
  list(APPEND CMAKE_MESSAGE_CONTEXT "multiarch-image")

  set(options GIT_TAGS GIT_LATEST RUNTIME)
  set(one_value REPOSITORY CONTEXT DOCKERFILE ENGINE TEST_EXPECT INDEX_FORMAT BASE USER WORKDIR STOP_SIGNAL PROVENANCE SBOM PLATFORM_TAGS DEBUG_SYMBOLS TARGET_STAGE PULL REGISTRY_CACHE)
  set(multi_value TAGS PLATFORMS BUILD_ARGS DEPENDS BUILDERS TEST_COMMAND ANNOTATIONS TARGETS INSTALL TOOLCHAINS CROSS_CMAKE_ARGS ENTRYPOINT CMD ENV EXPOSE LABELS VOLUMES MANIFEST_ANNOTATIONS FILES DIRECTORIES SIGN_COMMAND ESSENTIALS SECRETS SSH PROMOTE_TO)
  # Parse every argument exactly as written, into ARG_* (BUILD_ARGS, ANNOTATIONS, TEST_COMMAND,
  # TEST_EXPECT and CROSS_CMAKE_ARGS values may hold `;`, a trailing `\` or a lone `[`).
  set(arguments "[]")
  set(i 1)
  while(i LESS ARGC)
    _multiarch_json_string(quoted "${ARGV${i}}")
    math(EXPR n "${i} - 1")
    string(JSON arguments SET "${arguments}" ${n} "${quoted}")
    math(EXPR i "${i} + 1")
  endwhile()
  _multiarch_parse_exact(ARG "${arguments}" "${options}" "${one_value}" "${multi_value}")
  set(install_spec "")
  if(DEFINED ARG_INSTALL_JSON)
    _multiarch_install_spec(install_spec "${name}" "${ARG_INSTALL_JSON}")
  endif()
  if(DEFINED MULTIARCH_IMAGE_SUB_BUILD)  # a platform's sub-build only stages the image's files
    set(sub_staged FALSE)
    if(ARG_TARGETS OR install_spec)
      set(sub_staged TRUE)
    endif()
    set(sub_assembled FALSE)
    if(DEFINED ARG_BASE)
      set(sub_assembled TRUE)
    endif()
    _multiarch_debug_symbols(debug_symbols "${name}" ${sub_assembled} ${sub_staged})
    _multiarch_sub_build_image("${name}" "${ARG_TARGETS}" "${install_spec}" "${debug_symbols}" ${ARG_RUNTIME})
    return()
  endif()

  # Validate every value, and complete it with its default (the functions read ARG_*).
  _multiarch_check_keywords("${name}" "${options}" "${one_value}" "${multi_value}")
  _multiarch_repository_with_prefix(ARG_REPOSITORY "${name}" "${ARG_REPOSITORY}")
  _multiarch_promote_to(promote_to "${name}" "${ARG_REPOSITORY}")
  _multiarch_test_json(test_json run_tests "${name}")
  _multiarch_git(git_json git_depends "${name}" ${ARG_GIT_TAGS} ${ARG_GIT_LATEST})
  _multiarch_tags(tags "${name}")
  _multiarch_platforms(platforms "${name}")
  _multiarch_matrix(job_platforms merge "${name}" "${platforms}")
  _multiarch_image_settings(image_json assembled infer_entrypoint "${name}" "${install_spec}")
  _multiarch_context(context dockerfile "${name}" ${assembled})
  _multiarch_build_args_json(build_args_json "${name}")
  _multiarch_index_format(index_format annotations_json "${name}")
  _multiarch_platform_tags(platform_tags "${name}" ${assembled})
  _multiarch_builders(builders "${name}" "${platforms}" "${ARG_BUILDERS}")
  # Sets toolchains_<suffix> here for each platform cross-compiled in a sub-build.
  _multiarch_toolchains(cross_args_json staged "${name}" "${platforms}" "${job_platforms}" "${install_spec}" ${assembled})
  _multiarch_debug_symbols(debug_symbols "${name}" ${assembled} ${staged})
  if(assembled)
    string(JSON image_json SET "${image_json}" debug_symbols "\"${debug_symbols}\"")
  endif()
  _multiarch_engine(engine "${name}")
  set(build_options_json "{}")
  if(NOT assembled)
    _multiarch_build_options_json(build_options_json "${name}" "${dockerfile}" "${engine}")
  endif()
  _multiarch_check_settings("${name}")
  _multiarch_helper(helper "${name}")
  _multiarch_config_guard(config_guard "${name}")

  # The spec: what every step reads, rewritten only when it changes.
  set(state "${CMAKE_BINARY_DIR}/multiarch-image/${name}")
  set(spec "${state}/spec.json")
  _multiarch_attestations_json(provenance_json "${name}" "${platforms}")
  set(spec_files "")  # FILES with generator expressions: in files.json, written at generate time
  if(image_json_files_generated)
    set(spec_files "${state}/files.json")
  endif()
  _multiarch_write_spec("${spec}" NAME "${name}" REPOSITORY "${ARG_REPOSITORY}" TAGS ${tags} PLATFORMS ${platforms}
    CONTEXT "${context}" DOCKERFILE "${dockerfile}" ENGINE "${engine}" STATE "${state}"
    BUILD_ARGS_JSON "${build_args_json}" BUILD_OPTIONS_JSON "${build_options_json}" BUILDERS_JSON "${builders}" GIT_JSON "${git_json}"
    INDEX_FORMAT "${index_format}" PLATFORM_TAGS ${platform_tags} ANNOTATIONS_JSON "${annotations_json}" STAGED ${staged} IMAGE_JSON "${image_json}"
    PROVENANCE_JSON "${provenance_json}" TEST_JSON "${test_json}" FILES_GENERATED ${image_json_files_generated}
    INFER_ENTRYPOINT ${infer_entrypoint} INFER_FROM ${ARG_TARGETS})

  # The targets: the image's staging, each platform's steps, then the image's and the project's.
  _multiarch_add_staging("${name}" STATE "${state}" SPEC "${spec}" HELPER ${helper} CONFIG_GUARD ${config_guard}
    TARGETS ${ARG_TARGETS} STAGED ${staged} ASSEMBLED ${assembled})
  add_custom_target(${name}-build)
  add_custom_target(${name}-push)
  foreach(platform IN LISTS job_platforms)
    _multiarch_suffix(suffix "${platform}")
    _multiarch_add_platform("${name}" "${platform}" STATE "${state}" SPEC "${spec}" HELPER ${helper}
      CONFIG_GUARD ${config_guard} DOCKERFILE "${dockerfile}" DEPENDS ${ARG_DEPENDS} ${git_depends}
      TARGETS ${ARG_TARGETS} INSTALL "${install_spec}" RUNTIME ${ARG_RUNTIME} TOOLCHAIN "${toolchains_${suffix}}"
      CROSS_ARGS_JSON "${cross_args_json}" TESTS ${run_tests} ASSEMBLED ${assembled} DEBUG_SYMBOLS ${debug_symbols}
      FILES_DEPENDS ${image_json_files_depends} ${spec_files} FILES_TARGETS ${image_json_files_targets})
  endforeach()
  _multiarch_add_image_targets("${name}" STATE "${state}" SPEC "${spec}" HELPER ${helper} CONFIG_GUARD ${config_guard}
    PLATFORMS ${platforms} JOB_PLATFORMS ${job_platforms} MERGE ${merge} DEPENDS ${git_depends}
    SIGN_COMMAND_JSON "${ARG_SIGN_COMMAND_JSON}" DEBUG_SYMBOLS ${debug_symbols} PROMOTE_TO ${promote_to})
  _multiarch_add_project_targets("${name}")
endfunction()
