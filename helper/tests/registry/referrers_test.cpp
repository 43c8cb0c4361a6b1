// OCI 1.1 referrers against the in-memory registry: the tag schema kept (read, add, de-duplicate,
// write, read back), a registry with the referrers API left to index them itself, and a tag that
// holds something else reported, never overwritten.
#include "registry/referrers.hpp"

#include <boost/test/unit_test.hpp>

#include "base/digest.hpp"
#include "base/error.hpp"
#include "oci/media_types.hpp"
#include "support/fake_registry.hpp"
#include "support/test_support.hpp"

using namespace mai;
using mai::test::error_of;
using mai::test::FakeRegistry;
using mai::test::test_log;

namespace {

struct Fixture {
  FakeRegistry registry;
  Descriptor subject;
  Fixture() {
    const auto digest = registry.put_image("team/hello", "linux", "amd64", "", media::oci_manifest);
    subject = {media::oci_manifest,
               digest,
               static_cast<std::int64_t>(registry.manifests.at("team/hello@" + digest).bytes.size()),
               "",
               {}};
  }
  RegistryClient client() {
    RegistrySettings settings;
    settings.retry = RetryPolicy{1, std::chrono::milliseconds(0), std::chrono::seconds(5)};
    return RegistryClient(
        parse_repository("registry.test/team/hello"), settings, registry, [] { return std::optional<Credentials>(); },
        test_log());
  }
};

Artifact signature(const std::string& text) {
  return {"application/vnd.example.signature.v1", "application/octet-stream", text, {{"org.example.signer", "test"}}};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(referrers_schema)

BOOST_FIXTURE_TEST_CASE(an_artifact_manifest_names_its_subject_and_the_empty_config, Fixture) {
  const auto m = artifact_manifest(signature("sig"), subject);
  BOOST_TEST(m.find("\"artifactType\":\"application/vnd.example.signature.v1\"") != std::string::npos, m);
  BOOST_TEST(m.find("\"config\":{\"mediaType\":\"application/vnd.oci.empty.v1+json\",\"digest\":\"" + sha256_digest("{}") +
                    "\",\"size\":2}") != std::string::npos,
             m);
  BOOST_TEST(m.find("\"subject\":{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" + subject.digest) !=
                 std::string::npos,
             m);
  BOOST_TEST(artifact_manifest(signature("sig"), subject) == m);  // the same bytes every time
}

BOOST_FIXTURE_TEST_CASE(the_tag_schema_is_kept_without_duplicates, Fixture) {
  auto c = client();
  const auto first = attach(c, subject, signature("one"), test_log());
  const auto tag = "team/hello:sha256-" + subject.digest.substr(7);
  BOOST_TEST(registry.manifests.count(tag) == 1u);
  BOOST_TEST(registry.blobs.count(sha256_digest("one")) == 1u);
  BOOST_TEST(registry.blobs.count(sha256_digest("{}")) == 1u);
  attach(c, subject, signature("one"), test_log());  // again: nothing added
  const auto second = attach(c, subject, signature("two"), test_log());
  const auto listed = referrers(c, subject.digest);
  BOOST_REQUIRE(listed.size() == 2u);
  BOOST_TEST(listed[0].digest == first.digest);
  BOOST_TEST(listed[1].digest == second.digest);
  BOOST_TEST(listed[1].artifact_type == "application/vnd.example.signature.v1");
  BOOST_TEST(listed[1].annotations.at("org.example.signer") == "test");
}

BOOST_FIXTURE_TEST_CASE(several_artifacts_of_one_subject_cost_one_tag_update, Fixture) {
  auto c = client();
  const auto tag_url = "sha256-" + subject.digest.substr(7);
  const auto attached = attach(c, subject, {signature("sbom"), signature("provenance")}, test_log());
  BOOST_REQUIRE(attached.size() == 2u);
  BOOST_TEST(registry.count("PUT", tag_url) == 1u);  // one write for both
  BOOST_TEST(registry.count("GET", tag_url) == 2u);  // read, read back
  BOOST_TEST(registry.count("HEAD", sha256_digest("{}")) == 1u);
  const auto listed = referrers(c, subject.digest);
  BOOST_REQUIRE(listed.size() == 2u);
  BOOST_TEST(listed[0].digest == attached[0].digest);
  BOOST_TEST(listed[1].digest == attached[1].digest);
  // A registry without the referrers API is asked for it once per client.
  referrers(c, subject.digest);
  BOOST_TEST(registry.count("GET", "/referrers/") == 1u);
  // The same documents again (a rerun of an unchanged push): nothing written to the tag.
  attach(c, subject, {signature("sbom"), signature("provenance")}, test_log());
  BOOST_TEST(registry.count("PUT", tag_url) == 1u);
  BOOST_TEST(referrers(c, subject.digest).size() == 2u);
}

BOOST_FIXTURE_TEST_CASE(a_registry_with_the_referrers_api_indexes_them_itself, Fixture) {
  registry.referrers_api = true;
  auto c = client();
  const auto self = attach(c, subject, signature("one"), test_log());
  BOOST_TEST(registry.manifests.count("team/hello:sha256-" + subject.digest.substr(7)) == 0u);  // no tag written
  const auto listed = referrers(c, subject.digest);
  BOOST_REQUIRE(listed.size() == 1u);
  BOOST_TEST(listed[0].digest == self.digest);
}

BOOST_FIXTURE_TEST_CASE(a_referrers_tag_holding_something_else_is_reported_not_overwritten, Fixture) {
  const auto tag = "sha256-" + subject.digest.substr(7);
  const auto other = registry.manifests.at("team/hello@" + subject.digest);
  registry.put_manifest("team/hello", tag, other.media_type, other.bytes);  // an image manifest under the tag
  auto c = client();
  const auto what = error_of([&] { attach(c, subject, signature("one"), test_log()); });
  BOOST_TEST(what.find("is not an OCI image index of referrers; left as it is") != std::string::npos, what);
  BOOST_TEST(registry.manifests.at("team/hello:" + tag).bytes == other.bytes);
  registry.put_manifest("team/hello", tag, media::oci_index,
                        R"({"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"digest":"x"}]})");
  BOOST_TEST(error_of([&] { referrers(c, subject.digest); }).find("lists an entry that is not a descriptor") !=
             std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
