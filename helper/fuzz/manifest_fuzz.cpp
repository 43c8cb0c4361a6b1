// The manifest step over whatever the registry holds for a pushed platform: the pushed manifest (an
// image manifest, or an index around the image and its attestations), the manifests an index lists,
// the image's config, and what the tag holds already. Read, checked, published and read back through
// the real registry client against an in-memory registry. Input, separated by the record separator:
// the pushed manifest, the image manifest an index lists, the config, an attestation manifest, what
// the tag holds; manifests as answer() reads them (a content-type header line may come first).
// Placeholders stand for digests and sizes a fuzzer cannot forge: @CONFIG@, @IMAGE@, @ATTEST@,
// @PUSHED@ and @CONFIG_SIZE@, @IMAGE_SIZE@, @ATTEST_SIZE@, @PUSHED_SIZE@.
#include <boost/json.hpp>

#include "base/digest.hpp"
#include "fuzz_support.hpp"
#include "model/records.hpp"
#include "model/spec.hpp"
#include "oci/index.hpp"
#include "steps/steps.hpp"
#include "support/fake_registry.hpp"
#include "support/fake_runner.hpp"

namespace {

struct Document {
  std::string media_type, bytes;
};

Document document(const std::string& part, const std::vector<std::pair<std::string, std::string>>& values) {
  auto a = mai::fuzz::answer(part);
  std::string bytes = a.body;
  for (const auto& [placeholder, value] : values) bytes = mai::fuzz::substitute(bytes, placeholder, value);
  return {a.header("content-type"), bytes};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto in = mai::fuzz::parts(data, size, 5);
  const auto& dir = mai::fuzz::scratch();
  static const auto spec = mai::parse_spec(boost::json::value{{"format", 1},
                                                              {"name", "hello"},
                                                              {"repository", "127.0.0.1:5000/demo/hello"},
                                                              {"tags", {"1.0"}},
                                                              {"platforms", {"linux/amd64"}},
                                                              {"context", dir.string()},
                                                              {"dockerfile", (dir / "Dockerfile").string()},
                                                              {"engine", "docker"},
                                                              {"retries", 1}},
                                           "fuzz spec");

  std::vector<std::pair<std::string, std::string>> values;
  const auto config = mai::fuzz::answer(in[2]).body;
  values.insert(values.end(), {{"@CONFIG@", mai::sha256_digest(config)}, {"@CONFIG_SIZE@", std::to_string(config.size())}});
  const auto image = document(in[1], values);
  const auto attestation = document(in[3], values);
  values.insert(values.end(), {{"@IMAGE@", mai::sha256_digest(image.bytes)},
                               {"@IMAGE_SIZE@", std::to_string(image.bytes.size())},
                               {"@ATTEST@", mai::sha256_digest(attestation.bytes)},
                               {"@ATTEST_SIZE@", std::to_string(attestation.bytes.size())}});
  const auto pushed = document(in[0], values);
  values.insert(values.end(),
                {{"@PUSHED@", mai::sha256_digest(pushed.bytes)}, {"@PUSHED_SIZE@", std::to_string(pushed.bytes.size())}});
  const auto current = document(in[4], values);

  mai::test::FakeRegistry registry;
  registry.host = "127.0.0.1";
  registry.port = "5000";
  registry.put_blob(config);
  registry.put_manifest("demo/hello", "", image.media_type, image.bytes);
  registry.put_manifest("demo/hello", "", attestation.media_type, attestation.bytes);
  const auto pushed_digest = registry.put_manifest("demo/hello", "", pushed.media_type, pushed.bytes);
  if (!current.bytes.empty()) registry.put_manifest("demo/hello", "1.0", current.media_type, current.bytes);

  const auto record = dir / "push-linux-amd64.json";
  mai::write_record(record,
                    mai::PushRecord{"hello", "linux/amd64", "docker", "", "i1", spec.repository.str(), pushed_digest, {}, 0});
  mai::test::FakeRunner runner;
  bool published = false;
  mai::fuzz::only_mai_errors([&] {
    mai::manifest_step(spec, {record}, dir / "metadata.json", runner, registry, mai::fuzz::quiet_log());
    published = true;
  });
  MAI_FUZZ_CHECK(runner.commands.empty(), "the manifest step ran a command");
  if (published) {
    // What was published lists the pushed image, and the tag serves it.
    const auto& tagged = registry.manifests.at("demo/hello:1.0");
    const auto index = mai::parse_index(tagged.bytes, "the published list");
    MAI_FUZZ_CHECK(std::count_if(index.entries.begin(), index.entries.end(),
                                 [](const mai::Descriptor& e) { return e.platform == "linux/amd64"; }) == 1,
                   "the published list does not name linux/amd64 once");
    const auto metadata = mai::read_manifest_record(dir / "metadata.json", mai::fuzz::quiet_log());
    MAI_FUZZ_CHECK(metadata && metadata->index_digest == mai::sha256_digest(tagged.bytes), "metadata.json names another list");
  } else {
    MAI_FUZZ_CHECK(!std::filesystem::exists(dir / "metadata.json"), "a failed manifest step left its record");
  }
  return 0;
}
