// The steps' records and the stage's file record as they may lie in a build tree (edited, truncated,
// from another version): each read as a record or as absent with a warning, never anything else; a
// record read writes back to one that reads and writes the same. Input: the file's bytes.
#include "base/files.hpp"
#include "fuzz_support.hpp"
#include "model/records.hpp"
#include "stage/staged_files.hpp"

namespace {

template <class Read>
void round_trip(const std::filesystem::path& file, Read read) {
  const auto first = read(file, mai::fuzz::quiet_log());
  if (!first) return;
  const auto once = file.string() + ".once", twice = file.string() + ".twice";
  mai::write_record(once, *first);
  const auto second = read(once, mai::fuzz::quiet_log());
  MAI_FUZZ_CHECK(second.has_value(), "a record written back does not read");
  mai::write_record(twice, *second);
  MAI_FUZZ_CHECK(mai::read_text_file(once) == mai::read_text_file(twice), "a record written back reads otherwise");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto file =
      mai::fuzz::write_file(mai::fuzz::scratch() / "record.json", std::string_view(reinterpret_cast<const char*>(data), size));
  round_trip(file, mai::read_build_record);
  round_trip(file, mai::read_push_record);
  round_trip(file, mai::read_manifest_record);
  mai::fuzz::only_mai_errors([&] {
    const auto files = mai::read_staged_files(file);
    const auto once = mai::fuzz::scratch() / "staged.once";
    std::filesystem::remove(once);
    mai::write_staged_files(once, files);
    MAI_FUZZ_CHECK(mai::read_staged_files(once).size() == files.size(), "a file record written back reads otherwise");
  });
  return 0;
}
