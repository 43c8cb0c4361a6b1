// What a build tree's install rules do for one image, read from its cmake_install.cmake scripts: the
// files they copy (what an INSTALL stage depends on) and where they copy them.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace mai {

struct InstallRules {
  // The source files the install rules copy (the FILES of each file(INSTALL) that runs; a directory
  // with everything under it), the cmake_install.cmake scripts, and the files install(SCRIPT) includes.
  std::vector<std::filesystem::path> sources;
  struct Destination {
    std::string text;              // as the script writes it: "${CMAKE_INSTALL_PREFIX}/share/x", "/etc/app"
    std::filesystem::path script;  // the cmake_install.cmake that says it
  };
  std::vector<Destination> destinations;  // the DESTINATION of each file(INSTALL) that runs
};

// The install rules of `tree` as `cmake --install` runs them for `components` (empty: the default
// run, every component not excluded from it) and `config` (empty: the one the scripts default to).
// What runs only for other components or configurations is left out, so an edit of a file another
// image installs, or of another configuration's program, restages nothing here. A condition these
// scripts do not spell as CMake generates them counts as possibly true.
InstallRules read_install_rules(const std::filesystem::path& tree, const std::vector<std::string>& components,
                                const std::string& config);

// A destination that leaves the image's root once `prefix` is put for ${CMAKE_INSTALL_PREFIX}
// (`${CMAKE_INSTALL_PREFIX}/../../../etc`): with DESTDIR in front it would name a directory of the
// build machine. The destination as written, or nullopt when it stays inside (or cannot be told).
std::optional<std::string> destination_leaving_the_root(const std::string& destination, const std::string& prefix);

}  // namespace mai
