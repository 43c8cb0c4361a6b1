// The ELF reader over any bytes: what staging learns from a binary it stages (machine, DT_NEEDED,
// DT_SONAME, run paths, PT_INTERP), for 32- and 64-bit files of either byte order.
#include "fuzz_support.hpp"
#include "stage/elf.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  mai::fuzz::only_mai_errors([&] {
    const auto info = mai::parse_elf(bytes, "fuzz.elf");
    if (!info) return;
    // What the reader states points into the file it read.
    for (const auto& p : info->run_paths) {
      MAI_FUZZ_CHECK(p.string <= bytes.size() && p.length <= bytes.size() - p.string, "a run path outside the file");
      MAI_FUZZ_CHECK(p.entry < info->dynamic_end && info->dynamic_end <= bytes.size(),
                     "a run-path entry outside the dynamic array");
    }
    for (const auto s : info->other_strings) MAI_FUZZ_CHECK(s < bytes.size(), "a dynamic string outside the file");
  });
  return 0;
}
