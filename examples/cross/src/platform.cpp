#include "greeting.hpp"

namespace greeting {

std::string built_for() {
#if defined(__x86_64__)
  return "linux/amd64";
#elif defined(__aarch64__)
  return "linux/arm64";
#elif defined(__ARM_ARCH) && __ARM_ARCH == 7
  return "linux/arm/v7";
#elif defined(__arm__)
  return "linux/arm/v" + std::to_string(__ARM_ARCH);
#else
  return "linux/unknown";
#endif
}

}  // namespace greeting
