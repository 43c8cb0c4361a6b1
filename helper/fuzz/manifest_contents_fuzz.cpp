// What a promotion follows in a manifest a registry serves (manifest_contents): an index's manifests,
// an image or artifact manifest's config and layers, its subject. Input: the manifest, read once as
// an index and once as an image manifest.
#include "base/digest.hpp"
#include "fuzz_support.hpp"
#include "oci/contents.hpp"
#include "oci/media_types.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto in = mai::fuzz::parts(data, size, 1);
  for (const auto* type : {mai::media::oci_index, mai::media::oci_manifest})
    mai::fuzz::only_mai_errors([&] {
      const auto c = mai::manifest_contents(in[0], type, "the fuzzed manifest");
      for (const auto* list : {&c.manifests, &c.blobs})
        for (const auto& d : *list) MAI_FUZZ_CHECK(mai::is_sha256_digest(d.digest) && d.size >= 0, "a descriptor let through");
      MAI_FUZZ_CHECK(c.subject.empty() || mai::is_sha256_digest(c.subject), "a subject that is no digest");
      MAI_FUZZ_CHECK(mai::media::is_index(type) ? c.blobs.empty() : c.manifests.empty() && !c.blobs.empty(),
                     "contents of the other kind");
    });
  return 0;
}
