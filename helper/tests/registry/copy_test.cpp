// Promotion: an image copied between repositories with its referrers, every digest unchanged; the
// manifest contents a copy follows; the promote step's record and its no-op.
#include "registry/copy.hpp"

#include <boost/test/unit_test.hpp>

#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/files.hpp"
#include "model/records.hpp"
#include "oci/contents.hpp"
#include "oci/index.hpp"
#include "oci/media_types.hpp"
#include "steps/steps.hpp"
#include "support/fake_registry.hpp"
#include "support/fake_runner.hpp"
#include "support/test_support.hpp"

using namespace mai;
using mai::test::FakeRegistry;
using mai::test::test_log;

namespace {

// Two registries behind one transport, told apart by host.
class TwoRegistries final : public Transport {
 public:
  FakeRegistry a, b;
  TwoRegistries() {
    a.host = "registry.a";
    b.host = "registry.b";
  }
  Outcome send(const HttpRequest& r, const TlsSettings& tls) override { return (r.url.host == b.host ? b : a).send(r, tls); }
  static std::size_t writes(const FakeRegistry& r) {
    return r.count("PUT") + r.count("POST") + r.count("PATCH") + r.count("DELETE");
  }
};

Descriptor descriptor(const FakeRegistry& r, const std::string& at) {
  const auto& m = r.manifests.at(at);
  return {m.media_type, sha256_digest(m.bytes), static_cast<std::int64_t>(m.bytes.size()), "", "", {}};
}

struct Fixture {
  TwoRegistries registries;
  std::string amd64, arm64, index, layer;
  std::vector<Descriptor> sbom_and_provenance, signature;

  RegistryClient client(const std::string& repository) {
    RegistrySettings settings;
    settings.retry = RetryPolicy{1, std::chrono::milliseconds(0), std::chrono::seconds(5)};
    return RegistryClient(
        parse_repository(repository), settings, registries, [] { return std::optional<Credentials>(); }, test_log());
  }
  // An OCI image manifest for `arch` with a config and one layer of its own.
  std::string image(const std::string& arch) {
    auto& a = registries.a;
    const auto config = R"({"architecture":")" + arch + R"(","os":"linux","rootfs":{"type":"layers","diff_ids":[]}})";
    layer = a.put_blob("layer of " + arch);
    const auto manifest = json_manifest(a.put_blob(config), config.size(), layer, ("layer of " + arch).size());
    return a.put_manifest("team/hello", "", media::oci_manifest, manifest);
  }
  static std::string json_manifest(const std::string& config, std::size_t config_size, const std::string& layer,
                                   std::size_t layer_size) {
    return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
           config + R"(","size":)" + std::to_string(config_size) +
           R"(},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" + layer + R"(","size":)" +
           std::to_string(layer_size) + "}]}";
  }
  Fixture() {
    amd64 = image("amd64");
    arm64 = image("arm64");
    auto amd = descriptor(registries.a, "team/hello@" + amd64);
    auto arm = descriptor(registries.a, "team/hello@" + arm64);
    amd.platform = "linux/amd64";
    arm.platform = "linux/arm64";
    const auto list = build_index(media::oci_index, {amd, arm}, {});
    index = registries.a.put_manifest("team/hello", "1.0", media::oci_index, list);
    auto source = client("registry.a/team/hello");
    sbom_and_provenance = attach(source, descriptor(registries.a, "team/hello@" + amd64),
                                 {{media::cyclonedx, media::cyclonedx, R"({"bomFormat":"CycloneDX"})", {}},
                                  {media::in_toto, media::in_toto, R"({"_type":"statement"})", {}}},
                                 test_log())
                              .artifacts;
    signature = attach(source, descriptor(registries.a, "team/hello@" + index),
                       {{"application/vnd.example.signature.v1", "application/octet-stream", "sig", {}}}, test_log())
                    .artifacts;
    registries.a.log.clear();
  }
  CopyResult copy(const std::string& to, std::vector<std::string> tags = {"1.0", "latest"}, bool write_tag = true) {
    auto from = client("registry.a/team/hello");
    auto destination = client(to);
    CopyRequest request;
    request.digest = index;
    request.tags = std::move(tags);
    request.from_path = "team/hello";
    request.scratch = scratch.path() / "blobs";
    request.write_tag = write_tag;
    return copy_image(from, {{&destination, to.starts_with("registry.a/")}}, request, test_log()).front();
  }
  mai::test::TempDir scratch;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(promote)

BOOST_FIXTURE_TEST_CASE(a_copy_to_another_registry_keeps_every_digest_and_lists_the_referrers_there, Fixture) {
  const auto done = copy("registry.b/prod/hello");
  auto& b = registries.b;
  BOOST_TEST(b.manifests.at("prod/hello@" + index).bytes == registries.a.manifests.at("team/hello@" + index).bytes);
  BOOST_TEST(b.manifests.at("prod/hello:1.0").bytes == b.manifests.at("prod/hello@" + index).bytes);
  BOOST_TEST(b.manifests.at("prod/hello:latest").bytes == b.manifests.at("prod/hello@" + index).bytes);
  BOOST_TEST(b.manifests.count("prod/hello@" + amd64) == 1u);
  BOOST_TEST(b.manifests.count("prod/hello@" + arm64) == 1u);
  BOOST_TEST(b.blobs.count(layer) == 1u);
  BOOST_TEST(done.manifests.size() == 3u);
  BOOST_TEST(done.referrers.size() == 3u);
  BOOST_TEST(done.blobs_mounted == 0);
  BOOST_TEST(done.blobs_copied >= 5);  // two configs, two layers, the empty config, the three documents
  BOOST_TEST(b.count("POST", "mount=") == 0u);
  // Found by their subjects there, with their artifact types.
  auto destination = client("registry.b/prod/hello");
  const auto of_amd64 = referrers(destination, amd64);
  BOOST_TEST(std::string(name_of(of_amd64.index)) == "tag");
  BOOST_REQUIRE(of_amd64.listed.size() == 2u);
  BOOST_TEST(of_amd64.listed[0].digest == sbom_and_provenance[0].digest);
  BOOST_TEST(of_amd64.listed[0].artifact_type == media::cyclonedx);
  BOOST_TEST(of_amd64.listed[1].artifact_type == media::in_toto);
  const auto of_index = referrers(destination, index);
  BOOST_REQUIRE(of_index.listed.size() == 1u);
  BOOST_TEST(of_index.listed[0].digest == signature[0].digest);
}

BOOST_FIXTURE_TEST_CASE(a_second_copy_writes_nothing, Fixture) {
  copy("registry.b/prod/hello");
  registries.b.log.clear();
  const auto again = copy("registry.b/prod/hello");
  BOOST_TEST(TwoRegistries::writes(registries.b) == 0u);
  BOOST_TEST(again.manifests_put == 0);
  BOOST_TEST(again.blobs_copied == 0);
  BOOST_TEST(again.tags_put == 0);
}

BOOST_FIXTURE_TEST_CASE(a_referrer_that_names_another_subject_stops_the_copy_before_anything_is_written, Fixture) {
  // The referrers tag of arm64 lists amd64's SBOM, whose subject is amd64.
  const auto list = build_index(media::oci_index, {sbom_and_provenance[0]}, {});
  registries.a.put_manifest("team/hello", "sha256-" + arm64.substr(7), media::oci_index, list);
  BOOST_TEST((mai::test::code_of([&] { copy("registry.b/prod/hello"); }) == Exit::verify_failed));
  const auto message = mai::test::error_of([&] { copy("registry.b/prod/hello"); });
  BOOST_TEST(message.find("names " + amd64) != std::string::npos, message);
  BOOST_TEST(TwoRegistries::writes(registries.b) == 0u);
}

BOOST_FIXTURE_TEST_CASE(a_destination_with_the_referrers_api_indexes_them_and_gets_no_referrers_tag, Fixture) {
  registries.b.referrers_api = true;
  const auto done = copy("registry.b/prod/hello");
  BOOST_TEST(std::string(name_of(done.index)) == "api");
  BOOST_TEST(registries.b.count("PUT", "/manifests/sha256-") == 0u);
  auto destination = client("registry.b/prod/hello");
  const auto of_amd64 = referrers(destination, amd64);
  BOOST_TEST(std::string(name_of(of_amd64.index)) == "api");
  BOOST_TEST(of_amd64.listed.size() == 2u);
}

BOOST_FIXTURE_TEST_CASE(a_destination_whose_referrers_tag_is_the_subject_keeps_them_by_digest_and_is_not_written_there, Fixture) {
  registries.b.referrers_tag_is_subject = true;  // GitLab's
  const auto done = copy("registry.b/prod/hello");
  BOOST_TEST(std::string(name_of(done.index)) == "none");
  BOOST_TEST(registries.b.count("PUT", "/manifests/sha256-") == 0u);
  for (const auto& d : sbom_and_provenance) BOOST_TEST(registries.b.manifests.count("prod/hello@" + d.digest) == 1u);
}

BOOST_FIXTURE_TEST_CASE(with_platform_tags_off_no_referrers_tag_is_written, Fixture) {
  const auto done = copy("registry.b/prod/hello", {"1.0"}, false);
  BOOST_TEST(std::string(name_of(done.index)) == "none");
  BOOST_TEST(registries.b.count("PUT", "/manifests/sha256-") == 0u);
  BOOST_TEST(registries.b.count("PUT", "/manifests/") == 6u + 1u);  // 3 of the image, 3 referrers by digest; the tag
}

BOOST_AUTO_TEST_CASE(manifest_contents_follow_indexes_and_manifests_but_not_foreign_layers) {
  const std::string d1 = sha256_digest("1"), d2 = sha256_digest("2"), d3 = sha256_digest("3");
  const auto index =
      manifest_contents(R"({"manifests":[{"mediaType":"m","digest":")" + d1 + R"(","size":3}]})", media::oci_index, "an index");
  BOOST_TEST(index.manifests.size() == 1u);
  BOOST_TEST(index.blobs.empty());
  const auto artifact =
      manifest_contents(R"({"artifactType":"t","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":")" + d1 +
                            R"(","size":2},"layers":[{"digest":")" + d2 + R"(","size":5},{"digest":")" + d3 +
                            R"(","size":9,"urls":["https://example.com/x"]}],"subject":{"digest":")" + d3 + R"(","size":1}})",
                        media::oci_manifest, "an artifact");
  BOOST_TEST(artifact.blobs.size() == 2u);  // the config and the one layer a registry keeps
  BOOST_TEST(artifact.subject == d3);
  BOOST_TEST(artifact.artifact_type == "t");
  for (const auto* bad : {R"([])", R"({"config":{}})", R"({"manifests":[{"digest":"sha256:x","size":1}]})",
                          R"({"config":{"digest":"sha256:aa","size":-1},"layers":[]})"})
    BOOST_TEST((mai::test::code_of([&] {
                  manifest_contents(bad, bad[2] == 'm' ? media::oci_index : media::oci_manifest, "x");
                }) == Exit::verify_failed));
}

// The step over metadata.json and promote-to.json: a record keyed on what went where, a rerun that
// sends no request, a failure that leaves no record.
struct StepFixture : Fixture {
  mai::test::TempDir dir;
  Spec spec;
  mai::test::FakeRunner runner;
  PromoteRequest request;
  StepFixture() {
    dir.file("ctx/Dockerfile", "FROM scratch\n");
    spec = mai::test::make_spec(dir.path() / "ctx");
    spec.repository = parse_repository("registry.a/team/hello");
    spec.retry = RetryPolicy{1, std::chrono::milliseconds(0), std::chrono::seconds(5)};
    const auto state = dir.path() / "state";
    std::filesystem::create_directories(state);
    ManifestRecord published{"hello", "registry.a/team/hello", {"1.0"}, "none", index, media::oci_index, {}, 0};
    published.platforms.push_back({"linux/amd64", amd64, media::oci_manifest, 1, "", "", amd64});
    published.platforms.back().sbom = sbom_and_provenance[0].digest;
    write_record(state / "metadata.json", published);
    write_file_atomically(state / "promote-to.json", R"({"destinations":["registry.b/prod/hello","registry.a/stable/hello"]})");
    request = {state / "metadata.json", state / "promote-to.json", "", state / "promoted.json"};
  }
};

BOOST_FIXTURE_TEST_CASE(promote_records_what_went_where_and_a_rerun_sends_no_request, StepFixture) {
  promote_step(spec, request, runner, registries, test_log());
  BOOST_TEST(registries.b.manifests.count("prod/hello:1.0") == 1u);
  BOOST_TEST(registries.a.manifests.count("stable/hello:1.0") == 1u);
  const auto record = mai::test::read(request.record);
  BOOST_TEST(record.find(R"("reference":"registry.b/prod/hello@)" + index) != std::string::npos, record);
  BOOST_TEST(record.find(R"("artifact_type":"application/vnd.cyclonedx+json")") != std::string::npos, record);
  BOOST_TEST(runner.commands.empty());
  registries.a.log.clear();
  registries.b.log.clear();
  promote_step(spec, request, runner, registries, test_log());
  BOOST_TEST(registries.a.log.size() == 0u);
  BOOST_TEST(registries.b.log.size() == 0u);
  // Another destination list: promoted again.
  write_file_atomically(request.destinations, R"({"destinations":["registry.b/prod/hello"]})");
  promote_step(spec, request, runner, registries, test_log());
  BOOST_TEST(registries.b.log.size() > 0u);
}

BOOST_FIXTURE_TEST_CASE(a_failed_promote_leaves_no_record, StepFixture) {
  promote_step(spec, request, runner, registries, test_log());
  write_file_atomically(request.destinations, R"({"destinations":["registry.b/other/hello"]})");
  registries.b.fail_method = "PUT";
  registries.b.fail_next = 1000;
  BOOST_TEST((mai::test::code_of([&] { promote_step(spec, request, runner, registries, test_log()); }) == Exit::step_failed));
  BOOST_TEST(!std::filesystem::exists(request.record));
}

BOOST_AUTO_TEST_SUITE_END()
