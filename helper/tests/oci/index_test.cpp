#include "oci/index.hpp"

#include <boost/test/unit_test.hpp>

#include "base/digest.hpp"
#include "base/error.hpp"
#include "oci/media_types.hpp"
#include "support/test_support.hpp"

using namespace mai;

namespace {
const std::string kA = "sha256:" + std::string(64, 'a');
const std::string kB = "sha256:" + std::string(64, 'b');
const std::string kC = "sha256:" + std::string(64, 'c');
const std::string kList = R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json",
  "manifests":[
   {"mediaType":"application/vnd.docker.distribution.manifest.v2+json","size":734,"digest":")" +
                          kA + R"(",
    "platform":{"architecture":"amd64","os":"linux"}},
   {"mediaType":"application/vnd.docker.distribution.manifest.v2+json","size":735,"digest":")" +
                          kB + R"(",
    "platform":{"architecture":"arm","os":"linux","variant":"v7"}},
   {"mediaType":"application/vnd.oci.image.manifest.v1+json","size":10,"digest":")" +
                          kC + R"(",
    "platform":{"architecture":"unknown","os":"unknown"},
    "annotations":{"vnd.docker.reference.digest":")" +
                          kA + R"(","vnd.docker.reference.type":"attestation-manifest"}}]})";

std::string error_of(auto f) {
  try {
    f();
  } catch (const Error& e) {
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(Exit::verify_failed));
    return e.what();
  }
  return "";
}
}  // namespace

BOOST_AUTO_TEST_SUITE(index_list)

BOOST_AUTO_TEST_CASE(parses_platforms_and_sizes) {
  const auto idx = parse_index(kList);
  BOOST_TEST(idx.media_type == "application/vnd.docker.distribution.manifest.list.v2+json");
  BOOST_TEST(idx.entries.size() == 3u);
  BOOST_TEST(idx.entries[1].platform == "linux/arm/v7");
  BOOST_TEST(idx.entries[1].size == 735);
  BOOST_TEST(idx.entries[2].platform == "unknown/unknown");
}

BOOST_AUTO_TEST_CASE(verification_passes_when_each_platform_is_there_once_with_its_digest) {
  const auto entries = verify_index(parse_index(kList), {{"linux/arm/v7", kB, {}}, {"linux/amd64", kA, {kC}}}, "r:1");
  BOOST_TEST(entries.size() == 2u);
  BOOST_TEST(entries[0].digest == kB);
  BOOST_TEST(is_attestation_for(parse_index(kList).entries[2], kA));
  BOOST_TEST(!is_attestation_for(parse_index(kList).entries[2], kB));
}

BOOST_AUTO_TEST_CASE(verification_names_missing_wrong_and_duplicated_platforms) {
  const auto idx = parse_index(kList);
  BOOST_TEST(error_of([&] {
               verify_index(idx, {{"linux/arm64", kA}}, "r:1");
             }).find("linux/arm64 is missing") != std::string::npos);
  BOOST_TEST(error_of([&] {
               verify_index(idx, {{"linux/amd64", kB}}, "r:1");
             }).find("has " + kA + " but " + kB) != std::string::npos);
  auto dup = idx;
  dup.entries.push_back(dup.entries[0]);
  BOOST_TEST(error_of([&] { verify_index(dup, {{"linux/amd64", kA}}, "r:1"); }).find("appears 2 times") != std::string::npos);
}

// A list must hold what was published and nothing else: an attestation nobody expected, or one
// annotated as describing another image, fails verification.
BOOST_AUTO_TEST_CASE(verification_accounts_for_every_entry_and_each_attestation) {
  const auto idx = parse_index(kList);
  const auto extra = error_of([&] { verify_index(idx, {{"linux/amd64", kA, {}}, {"linux/arm/v7", kB, {}}}, "r:1"); });
  BOOST_TEST(extra.find(kC + " (unknown/unknown) was not published by this step") != std::string::npos);
  const auto misplaced = error_of([&] { verify_index(idx, {{"linux/amd64", kA, {}}, {"linux/arm/v7", kB, {kC}}}, "r:1"); });
  BOOST_TEST(misplaced.find("the attestation manifest " + kC + " of linux/arm/v7 appears 0 times") != std::string::npos);
}

// Hostile or broken answers end as verification errors naming what was wrong, never as a raw
// exception from the JSON library.
BOOST_AUTO_TEST_CASE(malformed_entries_are_named_not_thrown_raw) {
  const auto list = [](const std::string& entry) { return R"({"schemaVersion":2,"manifests":[)" + entry + "]}"; };
  BOOST_TEST(error_of([&] { parse_index(list("1"), "r@x"); }).find("r@x, entry 1 of its manifests is not an object") !=
             std::string::npos);
  BOOST_TEST(error_of([&] { parse_index(list(R"({"size":1})"), "r@x"); }).find("entry 1 of its manifests has no digest") !=
             std::string::npos);
  BOOST_TEST(error_of([&] {
               parse_index(list(R"({"digest":")" + kA + R"(","size":1.5})"), "r@x");
             }).find("has a size that is not a whole number") != std::string::npos);
  BOOST_TEST(error_of([&] {
               parse_index(list(R"({"digest":")" + kA + R"(","size":-1})"), "r@x");
             }).find("has a size that is not a whole number") != std::string::npos);
  const std::string injected = R"({"digest":"sha256:../../x\r\nInjected: 1"})";  // JSON escapes: CR LF once parsed
  BOOST_TEST(error_of([&] { parse_index(list(injected), "r@x"); }).find("digest is not a sha256 digest") != std::string::npos);
  BOOST_TEST(error_of([&] { parse_index("[1]", "r@x"); }).find("r@x is not a manifest list or index") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_single_image_manifest_is_not_an_index) {
  BOOST_TEST(error_of([] { parse_index(R"({"schemaVersion":2,"config":{}})"); }).find("is not a manifest list or index") !=
             std::string::npos);
  BOOST_TEST(!error_of([] { parse_index("garbage"); }).empty());
}

BOOST_AUTO_TEST_CASE(sha256_of_known_inputs) {
  BOOST_TEST(sha256_digest("") == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  BOOST_TEST(sha256_digest("abc") == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(index_documents)

BOOST_AUTO_TEST_CASE(built_index_is_compact_ordered_json_with_its_digest) {
  const std::vector<Descriptor> m{
      {"application/vnd.oci.image.manifest.v1+json", "sha256:" + std::string(64, 'a'), 100, "linux/amd64"},
      {"application/vnd.oci.image.manifest.v1+json", "sha256:" + std::string(64, 'b'), 200, "linux/arm/v7"}};
  const auto oci = build_index(media::oci_index, m, {{"org.opencontainers.image.version", "1.0"}});
  BOOST_TEST(oci == R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)"
                    R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","size":100,"digest":"sha256:)" +
                        std::string(64, 'a') +
                        R"(","platform":{"architecture":"amd64","os":"linux"}},)"
                        R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","size":200,"digest":"sha256:)" +
                        std::string(64, 'b') +
                        R"(","platform":{"architecture":"arm","os":"linux","variant":"v7"}}],)"
                        R"("annotations":{"org.opencontainers.image.version":"1.0"}})");
  BOOST_TEST(sha256_digest("abc") == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const auto docker = build_index(media::docker_list, m, {{"k", "v"}});
  BOOST_TEST(docker.find("annotations") == std::string::npos);  // a Docker list has none
  const auto parsed = parse_index(docker);
  BOOST_TEST(parsed.media_type == media::docker_list);
  BOOST_TEST(parsed.entries.at(1).platform == "linux/arm/v7");
}

BOOST_AUTO_TEST_CASE(equivalence_ignores_only_the_creation_time) {
  const std::vector<Descriptor> m{{media::oci_manifest, "sha256:" + std::string(64, 'a'), 1, "linux/amd64"}};
  const auto a = build_index(media::oci_index, m, {{"org.opencontainers.image.created", "2020-01-01T00:00:00Z"}, {"x", "1"}});
  const auto b = build_index(media::oci_index, m, {{"x", "1"}, {"org.opencontainers.image.created", "2026-01-01T00:00:00Z"}});
  const auto c = build_index(media::oci_index, m, {{"x", "2"}, {"org.opencontainers.image.created", "2026-01-01T00:00:00Z"}});
  BOOST_TEST(same_index_apart_from_created(a, b));
  BOOST_TEST(!same_index_apart_from_created(a, c));
  BOOST_TEST(!same_index_apart_from_created(a, build_index(media::docker_list, m, {})));
  BOOST_TEST(!same_index_apart_from_created("not json", "not json"));
}

BOOST_AUTO_TEST_SUITE_END()
