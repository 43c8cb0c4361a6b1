// What dpkg-query answers when the SBOM asks which package ships each runtime file: `-S` (path ->
// owner), `-W` (package, version, architecture) and the machine's os-release. Input, separated by the
// record separator: the -S answer, the -W answer, the os-release file.
#include "fuzz_support.hpp"
#include "stage/packages.hpp"
#include "support/fake_runner.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto in = mai::fuzz::parts(data, size, 3);
  for (const auto& [path, owner] : mai::parse_dpkg_search(in[0])) {
    MAI_FUZZ_CHECK(path.starts_with("/"), "a path that is not absolute");
    MAI_FUZZ_CHECK(!owner.empty() && owner.find_first_of(", ") == std::string::npos, "an owner that is not one package");
  }
  const auto os_release = mai::fuzz::write_file(mai::fuzz::scratch() / "os-release", in[2]);
  mai::test::FakeRunner runner;
  runner.rules.push_back({{"-S"}, {1, in[0], ""}, {}});
  runner.rules.push_back({{"-W"}, {0, in[1], ""}, {}});
  // Files of the runtime a stage copies; dpkg may know them under their /usr/lib names.
  const std::vector<std::filesystem::path> files{"/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
                                                 "/lib64/ld-linux-x86-64.so.2"};
  mai::fuzz::only_mai_errors([&] {
    for (const auto& [file, package] : mai::owning_packages(files, runner, mai::fuzz::quiet_log(), os_release)) {
      MAI_FUZZ_CHECK(std::find(files.begin(), files.end(), file) != files.end(), "a package for a file not asked about");
      MAI_FUZZ_CHECK(!package.name.empty() && !package.version.empty(), "a package without name or version");
      const auto purl = package.purl();
      MAI_FUZZ_CHECK(purl.starts_with("pkg:deb/") && purl.find_first_of(" \n\t") == std::string::npos, "a purl with blanks");
    }
  });
  return 0;
}
