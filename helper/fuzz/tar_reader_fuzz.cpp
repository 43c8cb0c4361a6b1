// The tests' reader of layers (tests/support/tar_reader.hpp) over any bytes, gzip or tar: it reads what
// the format allows and refuses the rest with TarError, within its bounds.
#include "fuzz_support.hpp"
#include "support/tar_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    const auto tar = bytes.starts_with("\x1f\x8b") ? mai::test::gunzip(bytes, std::size_t{64} << 20) : std::string(bytes);
    std::size_t held = 0;
    for (const auto& e : mai::test::entries_of(tar)) {
      held += e.body.size();
      MAI_FUZZ_CHECK(e.mode <= 07777, "a mode beyond the permission bits");
    }
    MAI_FUZZ_CHECK(held <= tar.size(), "bodies larger than the tar");
  } catch (const mai::test::TarError&) {}
  return 0;
}
