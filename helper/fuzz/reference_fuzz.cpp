// Image references, repositories, tags and digests as a user, a Dockerfile's FROM or a registry's answer
// writes them: refused with mai::Error or read into parts that write back to the same text.
#include "base/digest.hpp"
#include "fuzz_support.hpp"
#include "oci/reference.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  mai::fuzz::only_mai_errors([&] {
    const auto r = mai::parse_image_reference(text);
    MAI_FUZZ_CHECK(!r.repository.registry.empty() && !r.repository.path.empty(), "a reference without registry or path");
    MAI_FUZZ_CHECK(!r.tag.empty() || !r.digest.empty(), "a reference without tag or digest");
    MAI_FUZZ_CHECK(r.digest.empty() || mai::is_sha256_digest(r.digest), "a digest that is not sha256");
    const auto again = mai::parse_image_reference(r.str());
    MAI_FUZZ_CHECK(again.str() == r.str() && again.repository.path == r.repository.path &&
                       again.repository.registry == r.repository.registry && again.tag == r.tag && again.digest == r.digest,
                   "a reference that does not read back as itself");
    r.repository.loopback();
    MAI_FUZZ_CHECK(!r.repository.host().empty(), "a registry without a host");
  });
  mai::fuzz::only_mai_errors([&] {
    const auto repository = mai::parse_repository(text);
    MAI_FUZZ_CHECK(repository.str() == text, "a repository not kept as written");
    repository.loopback();
    MAI_FUZZ_CHECK(!repository.host().empty(), "a registry without a host");
  });
  mai::fuzz::only_mai_errors([&] { mai::validate_tag(text); });
  mai::fuzz::only_mai_errors([&] {
    mai::validate_digest(text);
    MAI_FUZZ_CHECK(mai::checked_digest(text, "fuzz") == text, "a valid digest not passed through");
  });
  mai::fuzz::only_mai_errors([&] { mai::checked_digest(text, "fuzz"); });
  return 0;
}
