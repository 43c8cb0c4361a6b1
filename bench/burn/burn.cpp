// CPU work for the benchmarks' RUN step: under QEMU a foreign platform's build takes real time.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

// The rounds: BURN_ROUNDS from the environment (a build arg: a test's shorter run) when set, else the
// argument, else a million.
int main(int argc, char** argv) {
  const char* given = std::getenv("BURN_ROUNDS");
  if (given == nullptr || *given == '\0') given = argc > 1 ? argv[1] : "1000000";
  const std::uint64_t rounds = std::strtoull(given, nullptr, 10);
  std::uint64_t x = 88172645463325252ull;
  for (std::uint64_t i = 0; i < rounds; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
  }
  std::printf("burned %llu rounds: %llx\n", static_cast<unsigned long long>(rounds), static_cast<unsigned long long>(x));
  return 0;
}
