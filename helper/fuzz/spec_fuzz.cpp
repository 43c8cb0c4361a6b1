// The image spec (spec.json) and the image test's spec as the helper reads them on every step: written
// by the module at configure time but a file a person can edit, so re-validated; anything wrong is an
// Error(invalid_input) naming the file and the field. Input: the file's bytes.
#include "fuzz_support.hpp"
#include "model/spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto file =
      mai::fuzz::write_file(mai::fuzz::scratch() / "spec.json", std::string_view(reinterpret_cast<const char*>(data), size));
  mai::fuzz::only_mai_errors([&] {
    const auto spec = mai::load_spec(file);
    MAI_FUZZ_CHECK(!spec.name.empty() && !spec.platforms.empty(), "a spec without a name or platforms");
    MAI_FUZZ_CHECK(!spec.tags.empty() || spec.git.enabled, "a spec without tags");
    MAI_FUZZ_CHECK(spec.retry.tries >= 1, "fewer than one attempt");
    for (const auto& p : spec.platforms) MAI_FUZZ_CHECK(spec.platform(p.str()) == p, "a platform not found by its name");
    for (const auto& s : spec.build_options.secrets)
      MAI_FUZZ_CHECK(!s.id.empty() && s.env.empty() != s.src.empty(), "a secret without an id, or with both or neither source");
  });
  mai::fuzz::only_mai_errors([&] { mai::load_test_spec(file); });
  return 0;
}
