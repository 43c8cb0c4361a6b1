// Cross-compiled platforms (TARGETS/TOOLCHAINS): the project's binaries staged per platform, and the
// build context composed from the source context plus the staged trees.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/log.hpp"
#include "base/runner.hpp"
#include "model/spec.hpp"
#include "oci/platform.hpp"

namespace mai {

// INSTALL: what the project's own install rules put under `prefix`, staged from `cmake --install` of
// the (sub-)build `tree` (CMake's install step also rewrites run paths).
struct InstallRequest {
  std::filesystem::path tree;           // the build tree whose cmake_install.cmake runs
  std::string prefix = "/usr/local";    // absolute, normal: where the files go in the image
  std::vector<std::string> components;  // empty: every component installed by default
  std::string config;                   // --config for multi-config generators; "" none
  std::string cmake = "cmake";          // the cmake that configured `tree`
  std::filesystem::path depfile;        // written: the install rules' source files, for a rerun on edits
};

struct StageRequest {
  Platform platform;
  std::filesystem::path out;                       // the platform's staged tree (inside the composed context)
  std::filesystem::path stamp;                     // written after a successful stage
  std::vector<std::filesystem::path> executables;  // -> usr/local/bin/
  std::vector<std::filesystem::path> libraries;    // shared libraries named in TARGETS -> usr/lib/
  // "<file name>:<run path>": the INSTALL_RPATH of an executable or library named above, which
  // replaces its build-tree run path; a file not named here, and every project library found
  // through it, gets none (usr/lib is on the loader's default path).
  std::vector<std::string> install_rpaths;
  std::vector<std::filesystem::path> project_dirs;  // a needed library found under one of these is the project's
  bool runtime = false;                             // also stage the toolchain's runtime libraries and loader
  std::vector<std::filesystem::path> runtime_dirs;  // where those are found
  std::optional<InstallRequest> install;
};

// Copies the binaries and the project's shared libraries they need (found through their RUNPATH,
// recursively) into request.out: executables in usr/local/bin, libraries in usr/lib, with RUNTIME the
// C/C++ runtime in lib and the loader at its PT_INTERP path. The project's files get their run path
// as `cmake --install` would give them (install_rpaths), never the build tree's. Files whose content
// is unchanged are not touched (so images that contain them are not rebuilt); files no longer staged
// are removed. Every binary must be ELF for the platform's machine, and every name a binary states
// (DT_NEEDED, PT_INTERP) must land inside request.out. With `install`, the install rules' output is
// staged too (its symlinks as links, none pointing outside the prefix), and its ELF files' runtime
// needs resolved as for TARGETS. Returns the staged entries, relative to out.
std::vector<std::string> stage_step(const StageRequest& request, Runner& runner, const Log& log);

// The source files a build tree's install rules copy (the FILES of every file(INSTALL) in its
// cmake_install.cmake and those it includes; a directory with everything under it), and the scripts
// themselves: what an INSTALL stage depends on.
std::vector<std::filesystem::path> install_sources(const std::filesystem::path& tree);

// Mirrors the source context (what .dockerignore lets through, less `exclude`) into `composed` with
// hard links (copies across file systems), leaving `keep` (the staged trees) alone, and writes a
// depfile of the source inputs for `stamp`. Only changed entries are touched.
void compose_step(const std::filesystem::path& context, const std::filesystem::path& dockerfile,
                  const std::vector<std::filesystem::path>& exclude, const std::filesystem::path& composed,
                  const std::string& keep, const std::filesystem::path& stamp, const std::filesystem::path& depfile);

// The spec as one platform's build sees it when the image has staged targets: the composed context,
// MULTIARCH_STAGE=<dir>/<platform suffix> as a build arg, and other platforms' trees kept out of the
// depfile. Unchanged when the spec has no stage.
Spec spec_for_platform_build(const Spec& spec, const Platform& platform);

}  // namespace mai
