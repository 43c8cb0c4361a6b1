// A BASE image as its registry serves it: the tag's index or manifest, the platform's manifest an index
// lists, and the config, resolved (resolve_base) and extended into the new image's config and manifest
// (assemble_image). Input, separated by the record separator: what the tag holds, the image manifest
// an index lists, the config; manifests as answer() reads them (a content-type line may come first).
// Placeholders: @CONFIG@, @IMAGE@ (digests), @CONFIG_SIZE@, @IMAGE_SIZE@.
#include <boost/json.hpp>

#include "base/digest.hpp"
#include "base/files.hpp"
#include "fuzz_support.hpp"
#include "image/assemble.hpp"
#include "model/spec.hpp"
#include "oci/reference.hpp"
#include "registry/client.hpp"
#include "support/fake_registry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto in = mai::fuzz::parts(data, size, 3);
  const auto& dir = mai::fuzz::scratch();
  static const auto spec = mai::parse_spec(boost::json::value{{"format", 1},
                                                              {"name", "hello"},
                                                              {"repository", "127.0.0.1:5000/demo/hello"},
                                                              {"tags", {"1.0"}},
                                                              {"platforms", {"linux/amd64"}},
                                                              {"context", dir.string()},
                                                              {"image",
                                                               {{"base", "127.0.0.1:5000/base/image:1"},
                                                                {"layout", (dir / "layout").string()},
                                                                {"env", {"A=1"}},
                                                                {"cmd", {"/bin/run"}},
                                                                {"labels", {"a=b"}},
                                                                {"expose", {"80/tcp"}},
                                                                {"source_date_epoch", 0}}},
                                                              {"retries", 1}},
                                           "fuzz spec");
  static const auto platform = mai::parse_platform("linux/amd64");

  const auto config = mai::fuzz::answer(in[2]).body;
  std::vector<std::pair<std::string, std::string>> values{{"@CONFIG@", mai::sha256_digest(config)},
                                                          {"@CONFIG_SIZE@", std::to_string(config.size())}};
  auto image = mai::fuzz::answer(in[1]);
  for (const auto& [placeholder, value] : values) image.body = mai::fuzz::substitute(image.body, placeholder, value);
  values.insert(values.end(), {{"@IMAGE@", mai::sha256_digest(image.body)}, {"@IMAGE_SIZE@", std::to_string(image.body.size())}});
  auto tagged = mai::fuzz::answer(in[0]);
  for (const auto& [placeholder, value] : values) tagged.body = mai::fuzz::substitute(tagged.body, placeholder, value);

  mai::test::FakeRegistry registry;
  registry.host = "127.0.0.1";
  registry.port = "5000";
  registry.put_blob(config);
  registry.put_manifest("base/image", "", image.header("content-type"), image.body);
  registry.put_manifest("base/image", "1", tagged.header("content-type"), tagged.body);

  std::error_code ec;
  std::filesystem::remove_all(spec.image.layout, ec);
  mai::fuzz::only_mai_errors([&] {
    mai::RegistryClient client(mai::parse_image_reference(spec.image.base).repository,
                               {{1, std::chrono::milliseconds(0), std::chrono::seconds(0)}, {}, {}}, registry, {},
                               mai::fuzz::quiet_log());
    const auto base = mai::resolve_base(client, spec.image.base, platform, mai::fuzz::quiet_log());
    MAI_FUZZ_CHECK(mai::is_sha256_digest(base.digest), "a base without its manifest's digest");
    const auto assembled = mai::assemble_image(spec, platform, dir / "no-stage", mai::fuzz::quiet_log(), &base);
    // The new config lists one diff_id per layer of the new manifest, the base's first.
    const auto written_config =
        boost::json::parse(mai::read_text_file(mai::layout_blob(spec.image.layout, assembled.config.digest)));
    const auto written_manifest =
        boost::json::parse(mai::read_text_file(mai::layout_blob(spec.image.layout, assembled.manifest.digest)));
    const auto& diff_ids = written_config.at("rootfs").at("diff_ids").as_array();
    const auto& layers = written_manifest.at("layers").as_array();
    MAI_FUZZ_CHECK(diff_ids.size() == layers.size(), "the new config's diff_ids do not match the manifest's layers");
    MAI_FUZZ_CHECK(assembled.base_layers.size() == base.layers.size(), "base layers lost");
    const auto described = mai::platform_of_config(boost::json::serialize(written_config), "the new config");
    MAI_FUZZ_CHECK(described == "linux/amd64" || described.starts_with("linux/amd64/"), "the new config names another platform");
  });
  return 0;
}
