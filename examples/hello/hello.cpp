// Prints the architecture it was compiled for and the machine it runs on. `--self-test` fails
// unless the two agree: run as a Dockerfile RUN step, it proves QEMU emulates foreign platforms.
#include <sys/utsname.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace {

#if defined(__x86_64__)
constexpr std::string_view kPlatform = "linux/amd64", kMachinePrefix = "x86_64";
#elif defined(__aarch64__)
constexpr std::string_view kPlatform = "linux/arm64", kMachinePrefix = "aarch64";
#elif defined(__arm__)
constexpr std::string_view kPlatform = "linux/arm/v7", kMachinePrefix = "arm";
#else
#error "add this architecture to hello.cpp"
#endif

}  // namespace

int main(int argc, char** argv) {
  utsname u{};
  if (uname(&u) != 0) return 2;
  const std::string_view machine = u.machine;
  if (argc > 1 && std::strcmp(argv[1], "--self-test") == 0) {
    const bool ok = machine.starts_with(kMachinePrefix);
    std::printf("self-test %s: built for %s, running on %s\n", ok ? "passed" : "FAILED", kPlatform.data(), u.machine);
    return ok ? 0 : 1;
  }
  std::printf("hello from %s (machine %s)\n", kPlatform.data(), u.machine);
  if (const char* greeting = std::getenv("HELLO_GREETING"); greeting && *greeting) std::printf("greeting: %s\n", greeting);
  return 0;
}
