// The Dockerfile reader the SBOM uses: the bases of its FROM lines, ARG defaults and build arguments
// substituted, stages and scratch left out. Input: the Dockerfile, the record separator, build
// arguments as NAME=value lines.
#include "attest/sbom.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto in = mai::fuzz::parts(data, size, 2);
  std::vector<mai::BuildArg> args;
  for (const auto& line : mai::split(in[1], '\n')) {
    const auto eq = line.find('=');
    if (eq != std::string::npos && eq > 0) args.push_back({line.substr(0, eq), line.substr(eq + 1)});
  }
  const auto bases = mai::dockerfile_bases(in[0], args);
  for (const auto& b : bases) {
    MAI_FUZZ_CHECK(!b.empty() && b != "scratch", "an empty or scratch base listed");
    MAI_FUZZ_CHECK(std::count(bases.begin(), bases.end(), b) == 1, "a base listed twice");
  }
  return 0;
}
