// The run-path rewrite staging applies to every binary it stages (`cmake --install`'s INSTALL_RPATH):
// over any ELF file the reader accepts, with a new run path or none. Input: the new run path, the
// record separator, the file. What was rewritten must read back with that run path and everything
// else the reader sees unchanged.
#include "fuzz_support.hpp"
#include "stage/elf.hpp"

namespace {

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  for (const auto& dir : mai::split(path, ':'))
    if (!dir.empty()) out.push_back(dir);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto in = mai::fuzz::parts(data, size, 2);
  const auto& run_path = in[0];
  const auto& bytes = in[1];
  if (run_path.find('\0') != std::string::npos) return -1;  // INSTALL_RPATH is a CMake string: no NUL
  mai::fuzz::only_mai_errors([&] {
    const auto info = mai::parse_elf(bytes, "fuzz.elf");
    if (!info) return;
    const auto rewritten = mai::with_run_path(bytes, *info, run_path, "fuzz.elf");
    MAI_FUZZ_CHECK(rewritten.size() == bytes.size(), "the rewrite changed the file's size");
    if (info->run_paths.empty()) {
      MAI_FUZZ_CHECK(rewritten == bytes, "a file without a run path was changed");
      return;
    }
    const auto after = mai::parse_elf(rewritten, "fuzz.elf (rewritten)");
    MAI_FUZZ_CHECK(after.has_value(), "the rewritten file is no longer ELF");
    MAI_FUZZ_CHECK(after->machine == info->machine && after->elf_class == info->elf_class, "the machine changed");
    MAI_FUZZ_CHECK(after->needed == info->needed, "DT_NEEDED changed");
    MAI_FUZZ_CHECK(after->soname == info->soname, "DT_SONAME changed");
    MAI_FUZZ_CHECK(after->interpreter == info->interpreter, "PT_INTERP changed");
    if (run_path.empty())
      MAI_FUZZ_CHECK(after->run_paths.empty() && after->search_path.empty(), "a removed run path is still there");
    else
      MAI_FUZZ_CHECK(after->search_path == split_path(run_path), "the run path read back is not the one written");
  });
  return 0;
}
