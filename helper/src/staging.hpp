// Cross-compiled platforms (TARGETS/TOOLCHAINS): the project's binaries staged per platform, and the
// build context composed from the source context plus the staged trees.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "platform.hpp"
#include "spec.hpp"

namespace mai {

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
};

// Copies the binaries and the project's shared libraries they need (found through their RUNPATH,
// recursively) into request.out: executables in usr/local/bin, libraries in usr/lib, with RUNTIME the
// C/C++ runtime in lib and the loader at its PT_INTERP path. The project's files get their run path
// as `cmake --install` would give them (install_rpaths), never the build tree's. Files whose content
// is unchanged are not touched (so images that contain them are not rebuilt); files no longer staged
// are removed. Every binary must be ELF for the platform's machine, and every name a binary states
// (DT_NEEDED, PT_INTERP) must land inside request.out. Returns the staged files, relative to out.
std::vector<std::string> stage_step(const StageRequest& request);

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
