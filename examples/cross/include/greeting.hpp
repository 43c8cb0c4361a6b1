// The example's shared library: both programs link it, so each image must carry it.
#pragma once

#include <string>

namespace greeting {

std::string built_for();                          // the platform this library was compiled for
std::string message(const std::string& who);      // a greeting that names the library and its platform
std::string version();

}  // namespace greeting
