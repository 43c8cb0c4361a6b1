// CPU work for the benchmarks' RUN step: under QEMU a foreign platform's build takes real time.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  const std::uint64_t rounds = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000000;
  std::uint64_t x = 88172645463325252ull;
  for (std::uint64_t i = 0; i < rounds; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
  }
  std::printf("burned %llu rounds: %llx\n", static_cast<unsigned long long>(rounds), static_cast<unsigned long long>(x));
  return 0;
}
