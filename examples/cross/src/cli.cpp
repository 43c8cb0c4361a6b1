// hello_cli: prints the platform it was compiled for, the machine it runs on, and the greeting
// library's answer. --self-test checks that the program and the library agree on the platform;
// --motd prints the message of the day from where the install rules put it (exit 3 when it is not there).
#include <sys/utsname.h>

#include <cstring>
#include <fstream>
#include <iostream>

#include "greeting.hpp"

namespace {
#if defined(__x86_64__)
constexpr const char* kBuiltFor = "linux/amd64";
#elif defined(__aarch64__)
constexpr const char* kBuiltFor = "linux/arm64";
#elif defined(__ARM_ARCH) && __ARM_ARCH == 7
constexpr const char* kBuiltFor = "linux/arm/v7";
#else
constexpr const char* kBuiltFor = "linux/unknown";
#endif
}  // namespace

int main(int argc, char** argv) {
  utsname u{};
  uname(&u);
  if (argc > 1 && std::strcmp(argv[1], "--motd") == 0) {
    std::ifstream motd(CROSS_HELLO_MOTD);
    if (!motd) {
      std::cerr << "no message of the day at " << CROSS_HELLO_MOTD << "\n";
      return 3;
    }
    std::cout << motd.rdbuf();
    return 0;
  }
  if (argc > 1 && std::strcmp(argv[1], "--self-test") == 0) {
    if (greeting::built_for() != kBuiltFor) {
      std::cerr << "self-test failed: hello_cli is built for " << kBuiltFor << " but the library for " << greeting::built_for()
                << "\n";
      return 1;
    }
    std::cout << "self-test passed: built for " << kBuiltFor << ", running on " << u.machine << "\n";
    return 0;
  }
  std::cout << "hello_cli built for " << kBuiltFor << " running on " << u.machine << ": " << greeting::message("cli") << "\n";
}
