// The ELF reader over any bytes: what staging learns from a binary it stages (machine, DT_NEEDED,
// DT_SONAME, run paths, PT_INTERP, the GNU build-id), for 32- and 64-bit files of either byte order;
// and the build-id reader alone, as debug files are read.
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
    // The GNU build-id: lowercase hex of at most 64 bytes, and what the build-id reader alone finds.
    MAI_FUZZ_CHECK(info->build_id.size() <= 128 && info->build_id.size() % 2 == 0, "a build-id of an odd or too long size");
    MAI_FUZZ_CHECK(info->build_id.find_first_not_of("0123456789abcdef") == std::string::npos, "a build-id not in lowercase hex");
    MAI_FUZZ_CHECK(mai::parse_build_id(bytes, "fuzz.elf").value_or("-") == info->build_id, "two readers, two build-ids");
  });
  // The build-id reader alone (debug files, which the full reader refuses) never reads out of bounds.
  mai::fuzz::only_mai_errors([&] { mai::parse_build_id(bytes, "fuzz.elf"); });
  return 0;
}
