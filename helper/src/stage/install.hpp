// What a build tree's install rules depend on: the source files its cmake_install.cmake scripts copy.
#pragma once

#include <filesystem>
#include <vector>

namespace mai {

// The source files a build tree's install rules copy (the FILES of every file(INSTALL) in its
// cmake_install.cmake and those it includes; a directory with everything under it), and the scripts
// themselves: what an INSTALL stage depends on.
std::vector<std::filesystem::path> install_sources(const std::filesystem::path& tree);

}  // namespace mai
