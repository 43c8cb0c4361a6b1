// The debug-symbols archive reader over any bytes: what `multiarch-image symbols` extracts from a
// registry's blob. It takes only .build-id/<2 hex>/<hex>.debug files whose ELF build-id is their name,
// or refuses the archive with mai::Error; nothing is written anywhere else under the directory, and no
// link, device or temporary file is left there.
#include "fuzz_support.hpp"
#include "stage/debug_symbols.hpp"
#include "stage/elf.hpp"
#include "stage/symbols_archive.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace fs = std::filesystem;
  const auto& dir = mai::fuzz::scratch();
  const auto archive = mai::fuzz::write_file(dir / "archive.tar", std::string_view(reinterpret_cast<const char*>(data), size));
  const auto out = dir / "out";
  std::error_code ec;
  fs::remove_all(out, ec);
  std::vector<std::string> ids;
  mai::fuzz::only_mai_errors([&] { ids = mai::extract_symbols_archive(archive, out, "fuzz.tar"); });
  for (auto it = fs::recursive_directory_iterator(out, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const auto rel = it->path().lexically_relative(out).generic_string();
    const auto status = it->symlink_status(ec);
    MAI_FUZZ_CHECK(fs::is_directory(status) || fs::is_regular_file(status), "something else than a file or a directory");
    if (fs::is_directory(status)) {
      MAI_FUZZ_CHECK(rel == ".build-id" || (rel.size() == 12 && rel.starts_with(".build-id/")), "another directory");
      continue;
    }
    const auto name = rel.size() > 13 ? rel.substr(10, 2) + rel.substr(13, rel.size() - 13 - 6) : std::string();
    MAI_FUZZ_CHECK(mai::valid_build_id(name) && rel == mai::build_id_path(name), "a file outside the .build-id layout");
    MAI_FUZZ_CHECK(mai::read_build_id(it->path()).value_or("") == name, "a debug file whose build-id is not its name");
  }
  for (const auto& id : ids) MAI_FUZZ_CHECK(fs::is_regular_file(out / mai::build_id_path(id)), "an extracted id with no file");
  return 0;
}
