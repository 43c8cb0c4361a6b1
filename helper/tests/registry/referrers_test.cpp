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
  std::vector<std::string> warnings;
  Log log{"test", "", [this](std::string_view line, bool warning) {
            if (warning) warnings.emplace_back(line);
          }};
  RegistryClient client() {
    RegistrySettings settings;
    settings.retry = RetryPolicy{1, std::chrono::milliseconds(0), std::chrono::seconds(5)};
    return RegistryClient(
        parse_repository("registry.test/team/hello"), settings, registry, [] { return std::optional<Credentials>(); },
        test_log());
  }
  std::string tag() const { return "sha256-" + subject.digest.substr(7); }
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
  const auto first = attach(c, subject, {signature("one")}, test_log()).artifacts.front();
  const auto tag = "team/hello:sha256-" + subject.digest.substr(7);
  BOOST_TEST(registry.manifests.count(tag) == 1u);
  BOOST_TEST(registry.blobs.count(sha256_digest("one")) == 1u);
  BOOST_TEST(registry.blobs.count(sha256_digest("{}")) == 1u);
  attach(c, subject, {signature("one")}, test_log());  // again: nothing added
  const auto second = attach(c, subject, {signature("two")}, test_log()).artifacts.front();
  const auto found = referrers(c, subject.digest);
  BOOST_TEST(static_cast<int>(found.index) == static_cast<int>(ReferrersIndex::tag));
  const auto& listed = found.listed;
  BOOST_REQUIRE(listed.size() == 2u);
  BOOST_TEST(listed[0].digest == first.digest);
  BOOST_TEST(listed[1].digest == second.digest);
  BOOST_TEST(listed[1].artifact_type == "application/vnd.example.signature.v1");
  BOOST_TEST(listed[1].annotations.at("org.example.signer") == "test");
}

BOOST_FIXTURE_TEST_CASE(several_artifacts_of_one_subject_cost_one_tag_update, Fixture) {
  auto c = client();
  const auto tag_url = "sha256-" + subject.digest.substr(7);
  const auto attached = attach(c, subject, {signature("sbom"), signature("provenance")}, test_log()).artifacts;
  BOOST_REQUIRE(attached.size() == 2u);
  BOOST_TEST(registry.count("PUT", tag_url) == 1u);  // one write for both
  BOOST_TEST(registry.count("GET", tag_url) == 2u);  // read, read back
  BOOST_TEST(registry.count("HEAD", sha256_digest("{}")) == 1u);
  const auto listed = referrers(c, subject.digest).listed;
  BOOST_REQUIRE(listed.size() == 2u);
  BOOST_TEST(listed[0].digest == attached[0].digest);
  BOOST_TEST(listed[1].digest == attached[1].digest);
  // A registry without the referrers API is asked for it once per client.
  referrers(c, subject.digest);
  BOOST_TEST(registry.count("GET", "/referrers/") == 1u);
  // The same documents again (a rerun of an unchanged push): nothing written to the tag.
  attach(c, subject, {signature("sbom"), signature("provenance")}, test_log());
  BOOST_TEST(registry.count("PUT", tag_url) == 1u);
  BOOST_TEST(referrers(c, subject.digest).listed.size() == 2u);
}

BOOST_FIXTURE_TEST_CASE(a_large_artifact_goes_up_from_its_file_and_only_when_missing, Fixture) {
  const mai::test::TempDir dir;
  const auto archive = dir.file("symbols.tar", std::string(70000, 'x'));
  Artifact symbols{media::debug_symbols, media::debug_symbols, "", {{"cmake-multiarch-image.document", "debug-symbols"}}};
  symbols.file = archive;
  symbols.digest = sha256_digest(std::string(70000, 'x'));
  symbols.size = 70000;
  symbols.layer_annotations = {{"org.opencontainers.image.title", "debug-symbols-linux-amd64.tar"}};
  const auto m = artifact_manifest(symbols, subject);
  BOOST_TEST(
      m.find("\"layers\":[{\"mediaType\":\"application/vnd.multiarch-image.debug-symbols.v1+tar\",\"digest\":\"" +
             symbols.digest + "\",\"size\":70000,\"annotations\":{\"org.opencontainers.image.title\"") != std::string::npos,
      m);
  auto c = client();
  const auto attached = attach(c, subject, {symbols}, test_log()).artifacts.front();
  BOOST_TEST(registry.blobs.at(symbols.digest) == std::string(70000, 'x'));
  BOOST_TEST(attached.digest == sha256_digest(m));
  BOOST_TEST(attached.artifact_type == media::debug_symbols);
  // Again (the same image pushed again): the archive is asked for, not uploaded.
  const auto uploads = registry.count("POST", "/blobs/uploads/");
  attach(c, subject, {symbols}, test_log());
  BOOST_TEST(registry.count("POST", "/blobs/uploads/") == uploads);
  BOOST_TEST(registry.count("HEAD", symbols.digest) == 2u);
}

BOOST_FIXTURE_TEST_CASE(a_registry_with_the_referrers_api_indexes_them_itself, Fixture) {
  registry.referrers_api = true;
  auto c = client();
  const auto attached = attach(c, subject, {signature("one")}, test_log());
  BOOST_TEST(static_cast<int>(attached.index) == static_cast<int>(ReferrersIndex::api));
  BOOST_TEST(registry.manifests.count("team/hello:sha256-" + subject.digest.substr(7)) == 0u);  // no tag written
  const auto listed = referrers(c, subject.digest).listed;
  BOOST_REQUIRE(listed.size() == 1u);
  BOOST_TEST(listed[0].digest == attached.artifacts.front().digest);
}

BOOST_FIXTURE_TEST_CASE(a_referrers_tag_holding_something_else_is_reported_not_overwritten, Fixture) {
  const auto tag = "sha256-" + subject.digest.substr(7);
  // Another image's manifest under the tag (the subject's own is what GitLab serves there: no index).
  const auto other = registry.manifests.at("team/hello@" + registry.put_image("team/hello", "linux", "arm64"));
  registry.put_manifest("team/hello", tag, other.media_type, other.bytes);
  auto c = client();
  const auto what = error_of([&] { attach(c, subject, {signature("one")}, test_log()); });
  BOOST_TEST(what.find("is not an OCI image index of referrers; left as it is") != std::string::npos, what);
  BOOST_TEST(registry.manifests.at("team/hello:" + tag).bytes == other.bytes);
  registry.put_manifest("team/hello", tag, media::oci_index,
                        R"({"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"digest":"x"}]})");
  BOOST_TEST(error_of([&] { referrers(c, subject.digest); }).find("lists an entry that is not a descriptor") !=
             std::string::npos);
}

// GitLab's registry has no referrers API and reads the reference sha256-<hex> as the digest: the
// referrers tag serves the subject itself. That means "no index here": the artifacts go up by digest
// (each naming its subject), nothing is written at the tag (a PUT there would be a PUT of the
// subject's digest), a warning says where they went, and reading or checking the referrers agrees.
BOOST_FIXTURE_TEST_CASE(a_referrers_tag_that_is_the_subject_itself_means_no_index_there, Fixture) {
  registry.referrers_tag_is_subject = true;
  const auto subject_bytes = registry.manifests.at("team/hello@" + subject.digest).bytes;
  auto c = client();
  const auto attached = attach(c, subject, {signature("sbom"), signature("provenance")}, log);
  BOOST_TEST(static_cast<int>(attached.index) == static_cast<int>(ReferrersIndex::none));
  BOOST_TEST(registry.count("PUT", tag()) == 0u);
  BOOST_TEST(registry.manifests.at("team/hello@" + subject.digest).bytes == subject_bytes);
  for (const auto& a : attached.artifacts) BOOST_TEST(registry.manifests.count("team/hello@" + a.digest) == 1u);
  BOOST_REQUIRE(warnings.size() == 1u);
  BOOST_TEST(warnings[0].find("answers its referrers tag with the subject itself") != std::string::npos, warnings[0]);
  BOOST_TEST(warnings[0].find(attached.artifacts[1].digest) != std::string::npos, warnings[0]);
  const auto found = referrers(c, subject.digest);
  BOOST_TEST(static_cast<int>(found.index) == static_cast<int>(ReferrersIndex::none));
  BOOST_TEST(found.listed.empty());
  // The manifest step's check: each document is there by digest, which is all such a registry keeps.
  const std::vector<std::pair<std::string, std::string>> documents{{"SBOM", attached.artifacts[0].digest},
                                                                   {"provenance", attached.artifacts[1].digest}};
  BOOST_TEST(static_cast<int>(ensure_listed(c, subject.digest, documents, log)) == static_cast<int>(ReferrersIndex::none));
  BOOST_TEST(registry.count("PUT", tag()) == 0u);
  registry.manifests.erase("team/hello@" + attached.artifacts[1].digest);
  BOOST_TEST(error_of([&] { ensure_listed(c, subject.digest, documents, log); }).find("is not in the registry") !=
             std::string::npos);
}

// Two writers of one referrers tag: ours is replaced by a list that lacks our entry right after we
// wrote it. The read-back sees that, reads again, merges and writes: both are listed.
BOOST_FIXTURE_TEST_CASE(a_list_another_writer_replaced_is_merged_again, Fixture) {
  auto c = client();
  const auto theirs = attach(c, subject, {signature("theirs")}, test_log()).artifacts.front();
  registry.overwritten_tag = tag();
  registry.overwrite_with = registry.manifests.at("team/hello:" + tag()).bytes;  // their list, as they read it
  registry.overwrites = 1;
  const auto ours = attach(c, subject, {signature("ours")}, log).artifacts.front();
  const auto listed = referrers(c, subject.digest).listed;
  BOOST_REQUIRE(listed.size() == 2u);
  BOOST_TEST(listed[0].digest == theirs.digest);
  BOOST_TEST(listed[1].digest == ours.digest);
  BOOST_TEST(registry.count("PUT", tag()) == 3u);  // theirs, ours (replaced), ours merged again
  BOOST_REQUIRE(!warnings.empty());
  BOOST_TEST(warnings[0].find("another writer replaced it); merging again") != std::string::npos, warnings[0]);
  // A writer that never stops replacing it: the attach fails after a few rounds, saying why.
  registry.overwrites = 100;
  const auto what = error_of([&] { attach(c, subject, {signature("third")}, log); });
  BOOST_TEST(what.find("after 5 writes (another writer keeps replacing it)") != std::string::npos, what);
}

// The manifest step's check: a document another writer dropped from the referrers tag is still in
// the registry by digest, and is listed again, with a warning; one already listed costs no write.
BOOST_FIXTURE_TEST_CASE(a_document_dropped_from_the_referrers_tag_is_listed_again, Fixture) {
  auto c = client();
  const auto kept = registry.manifests.at("team/hello@" + subject.digest);
  const auto attached = attach(c, subject, {signature("sbom"), signature("provenance")}, test_log()).artifacts;
  const auto before = registry.manifests.at("team/hello:" + tag()).bytes;
  attach(c, subject, {signature("other")}, test_log());
  registry.manifests["team/hello:" + tag()] = {media::oci_index, before};  // as a stale writer left it
  const std::vector<std::pair<std::string, std::string>> documents{{"SBOM", attached[0].digest},
                                                                   {"provenance", attached[1].digest}};
  const auto puts = registry.count("PUT", tag());
  BOOST_TEST(static_cast<int>(ensure_listed(c, subject.digest, documents, log)) == static_cast<int>(ReferrersIndex::tag));
  BOOST_TEST(registry.count("PUT", tag()) == puts);  // both listed: nothing written
  BOOST_TEST(warnings.empty());
  registry.manifests["team/hello:" + tag()] = {
      media::oci_index, R"({"schemaVersion":2,"mediaType":")" + std::string(media::oci_index) + R"(","manifests":[]})"};
  ensure_listed(c, subject.digest, documents, log);
  const auto listed = referrers(c, subject.digest).listed;
  BOOST_REQUIRE(listed.size() == 2u);
  BOOST_TEST(listed[0].digest == attached[0].digest);
  BOOST_TEST(listed[0].artifact_type == "application/vnd.example.signature.v1");
  BOOST_TEST(listed[0].annotations.at("org.example.signer") == "test");
  BOOST_TEST(listed[0].size == attached[0].size);
  BOOST_REQUIRE(warnings.size() == 1u);
  BOOST_TEST(warnings[0].find("listing them again") != std::string::npos, warnings[0]);
  BOOST_TEST(registry.manifests.at("team/hello@" + subject.digest).bytes == kept.bytes);
}

// A registry that pages its referrers (Link: rel="next") gives every page, not the first one alone.
BOOST_FIXTURE_TEST_CASE(every_page_of_the_referrers_api_is_read, Fixture) {
  registry.referrers_api = true;
  registry.referrers_page_size = 2;
  auto c = client();
  std::vector<Artifact> five;
  for (const auto* name : {"a", "b", "c", "d", "e"}) five.push_back(signature(name));
  attach(c, subject, five, test_log());
  BOOST_TEST(referrers(c, subject.digest).listed.size() == 5u);
  BOOST_TEST(registry.count("GET", "/referrers/") == 3u);
}

BOOST_AUTO_TEST_SUITE_END()
