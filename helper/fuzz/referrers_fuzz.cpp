// Referrers as a registry lists them: the OCI 1.1 referrers API's answer, or the index at the referrers
// tag (sha256-<hex>) for registries without the API; read (referrers) and merged into (attach).
// Input, separated by the record separator: what the referrers tag holds, the referrers API's answer
// (empty: the registry has no API and answers 404); as answer() reads them. @SUBJECT@ stands for the
// subject's digest.
#include "base/digest.hpp"
#include "fuzz_support.hpp"
#include "oci/reference.hpp"
#include "registry/client.hpp"
#include "registry/referrers.hpp"
#include "support/fake_registry.hpp"

namespace {

// The in-memory registry, with the referrers API answering the fuzzed text.
class WithApi final : public mai::Transport {
 public:
  WithApi(mai::test::FakeRegistry& registry, std::optional<mai::HttpResponse> api) : registry_(registry), api_(std::move(api)) {}
  Outcome send(const mai::HttpRequest& request, const mai::TlsSettings& tls) override {
    if (request.url.target.find("/referrers/") == std::string::npos) return registry_.send(request, tls);
    if (!api_) return {mai::HttpResponse{404, {}, R"({"errors":[{"code":"NOT_FOUND"}]})"}, std::nullopt};
    return {*api_, std::nullopt};
  }

 private:
  mai::test::FakeRegistry& registry_;
  std::optional<mai::HttpResponse> api_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto in = mai::fuzz::parts(data, size, 2);
  mai::test::FakeRegistry registry;
  registry.host = "127.0.0.1";
  registry.port = "5000";
  const auto subject_digest = registry.put_image("demo/hello", "linux", "amd64");
  const auto subject_bytes = registry.manifests.at("demo/hello@" + subject_digest).bytes;
  const auto tag = mai::referrers_tag(subject_digest);
  auto tagged = mai::fuzz::answer(in[0]);
  tagged.body = mai::fuzz::substitute(tagged.body, "@SUBJECT@", subject_digest);
  if (!tagged.body.empty()) registry.put_manifest("demo/hello", tag, tagged.header("content-type"), tagged.body);
  std::optional<mai::HttpResponse> api;
  if (!in[1].empty()) {
    api = mai::fuzz::answer(in[1]);
    api->body = mai::fuzz::substitute(api->body, "@SUBJECT@", subject_digest);
  }
  WithApi transport(registry, api);
  mai::RegistrySettings settings{{1, std::chrono::milliseconds(0), std::chrono::seconds(0)}, {}, {}};
  settings.max_rate_limit_wait = std::chrono::seconds(0);  // a fuzzed 429's Retry-After is not waited for
  const mai::Descriptor subject{"application/vnd.docker.distribution.manifest.v2+json",
                                subject_digest,
                                static_cast<std::int64_t>(subject_bytes.size()),
                                "",
                                {}};

  mai::fuzz::only_mai_errors([&] {
    mai::RegistryClient client(mai::parse_repository("127.0.0.1:5000/demo/hello"), settings, transport, {},
                               mai::fuzz::quiet_log());
    for (const auto& d : mai::referrers(client, subject_digest).listed)
      MAI_FUZZ_CHECK(mai::is_sha256_digest(d.digest) && d.size >= 0, "a referrer that is not a descriptor");
  });
  mai::fuzz::only_mai_errors([&] {
    mai::RegistryClient client(mai::parse_repository("127.0.0.1:5000/demo/hello"), settings, transport, {},
                               mai::fuzz::quiet_log());
    const mai::Artifact sbom{"application/vnd.cyclonedx+json", "application/vnd.cyclonedx+json", "{}", {}};
    const auto attached = mai::attach(client, subject, {sbom}, mai::fuzz::quiet_log());
    MAI_FUZZ_CHECK(attached.artifacts.size() == 1, "one artifact attached, not one descriptor back");
    const auto& self = attached.artifacts.front();
    // Listed now, whichever way the registry keeps referrers (unless it lists nothing: the referrers tag
    // is the subject itself); attaching it again changes nothing.
    const auto listed = mai::referrers(client, subject_digest);
    if ((!api || api->status != 200) && attached.index != mai::ReferrersIndex::none)
      MAI_FUZZ_CHECK(std::any_of(listed.listed.begin(), listed.listed.end(),
                                 [&](const mai::Descriptor& d) { return d.digest == self.digest; }),
                     "an attached artifact is not among the referrers");
    const auto puts = registry.count("PUT", "/manifests/" + tag);
    mai::attach(client, subject, {sbom}, mai::fuzz::quiet_log());
    MAI_FUZZ_CHECK(registry.count("PUT", "/manifests/" + tag) == puts, "attaching the same artifact again rewrote the tag");
  });
  MAI_FUZZ_CHECK(registry.manifests.at("demo/hello@" + subject_digest).bytes == subject_bytes, "the subject was overwritten");
  return 0;
}
