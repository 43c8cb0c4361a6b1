// What one platform's image gets from the project's build (TARGETS, INSTALL, RUNTIME): a plan of the
// files to stage, made in three passes (the targets named, what the install rules install, then the
// shared libraries they all need), then written as the platform's staged tree. The stage step
// (steps/stage_step.cpp) runs the passes in that order.
#pragma once

#include <deque>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/log.hpp"
#include "base/runner.hpp"
#include "oci/platform.hpp"
#include "stage/debug_symbols.hpp"
#include "stage/elf.hpp"

namespace mai {

// INSTALL: what the project's own install rules install, staged from `cmake --install` of the
// (sub-)build `tree` with DESTDIR set to a tree of our own (CMake's install step also rewrites run
// paths). Files go where they would on a machine: under `prefix`, or at an absolute destination.
struct InstallRequest {
  std::filesystem::path tree;           // the build tree whose cmake_install.cmake runs
  std::string prefix = "/usr/local";    // absolute, normal: CMAKE_INSTALL_PREFIX, in the image as on a machine
  std::vector<std::string> components;  // empty: every component installed by default
  std::string config;                   // --config for multi-config generators; "" none
  std::string cmake = "cmake";          // the cmake that configured `tree`
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
  std::filesystem::path links;  // CMake's record of what the targets link (stage/linked.hpp); "" none
  // Written after each stage: what it read that the build graph does not name (the install rules'
  // sources, vcpkg's lists and SBOMs of the ports linked), so that an edit of one stages again; "" none.
  std::filesystem::path depfile;
  // DEBUG_SYMBOLS (stage/debug_symbols.hpp): the project's programs and libraries stripped (ATTACH,
  // DROP) with these tools, ATTACH keeping their debug information beside the stamp.
  DebugSymbols debug_symbols = DebugSymbols::keep;
  StripTools strip_tools;
};

// The files and links a platform's staged tree will hold, by destination relative to the tree.
struct StagePlan {
  struct File {
    std::filesystem::path source;
    std::optional<std::string> run_path;  // set: the file's run path becomes this ("" removes it)
    std::string kind;                     // program, library, runtime or file (what the SBOM says)
  };
  std::map<std::string, File> files;
  std::map<std::string, std::filesystem::path> links;  // destination -> relative link target
  std::filesystem::path installed;                     // the install rules' DESTDIR ("" without INSTALL)
  // ELF files whose DT_NEEDED and PT_INTERP are still to be resolved (the needed-libraries pass).
  struct Pending {
    std::filesystem::path source;
    std::string dest;  // in the image, relative to its root
    ElfInfo info;
  };
  std::deque<Pending> unresolved;
  std::vector<std::filesystem::path> inputs;  // what the passes read, for the stage's depfile
};

// TARGETS: executables to usr/local/bin, libraries to usr/lib, each with the run path `cmake
// --install` would give it (install_rpaths), never the build tree's. Each must be ELF for the
// platform's machine.
void plan_targets(const StageRequest& request, StagePlan& plan);

// INSTALL: the install rules run (`cmake --install --prefix <prefix>`, per component, DESTDIR a
// fresh tree beside the stamp, whatever DESTDIR the caller had); what they put there is planned as
// it is (their run paths are cmake --install's), under the prefix or not, relative links as links
// when they stay inside the image once the links they pass through are followed, anything else
// refused. A destination that would climb out of DESTDIR is refused before anything is installed.
// (install(CODE) and install(SCRIPT) run the project's own commands: they must write under
// $ENV{DESTDIR}, as for any packager.) The install rules' sources join the plan's inputs.
void plan_installed(const StageRequest& request, StagePlan& plan, Runner& runner, const Log& log);

// The shared libraries the planned ELF files need, breadth first. A library the image already holds
// (the install rules installed it, or TARGETS staged it) is used where it is; when the loader would
// not find it there (not in the needing file's run path, not in /lib or /usr/lib), a link in
// /usr/lib names it. Else the project's (found through a TARGETS file's build run path or in
// project_dirs) go to usr/lib; with RUNTIME the toolchain's runtime to lib and the loader at its
// PT_INTERP path. An installed file's run path names directories of the image, never of this
// machine: it is not searched here. Every name a binary states must be a plain file name (a path in
// DT_NEEDED or a relative PT_INTERP is refused). Any other library is the base image's to provide
// (without RUNTIME).
void plan_needed_libraries(const StageRequest& request, StagePlan& plan, const Log& log);

// Writes the plan into request.out, each file streamed (never whole in memory) and a binary's run path
// patched on the way: files whose content is unchanged are not touched (so images that contain them
// are not rebuilt), entries no longer planned are removed, a link or file where a directory is now
// planned is removed before anything is written below it; then the staged-files record
// (for the SBOM, with the runtime's packages as the package manager names them) and, when anything
// changed or it is missing, the stamp. With DEBUG_SYMBOLS ATTACH or DROP the project's programs and
// libraries are staged stripped (stage/debug_symbols.hpp), and the record holds the stripped bytes' hashes. What the targets link
// (request.links) is recorded beside the staged files, its library files named by their packages in the same package manager
// calls. Returns the staged entries, relative to out.
std::vector<std::string> write_stage(const StageRequest& request, const StagePlan& plan, Runner& runner, const Log& log);

}  // namespace mai
