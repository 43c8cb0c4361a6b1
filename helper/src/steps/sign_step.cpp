// sign: SIGN_COMMAND run for the published index; attach and referrers: OCI 1.1 artifacts that refer
// to a manifest, for the commands such a signer runs, and to read them back.
#include <boost/json.hpp>
#include <cstdlib>
#include <iostream>

#include "base/error.hpp"
#include "base/files.hpp"
#include "base/json_file.hpp"
#include "base/stopwatch.hpp"
#include "base/text.hpp"
#include "model/records.hpp"
#include "registry/referrers.hpp"
#include "registry/session.hpp"
#include "steps/steps.hpp"

namespace mai {

namespace json = boost::json;

void sign_step(const Spec& spec, const std::vector<std::string>& command, const std::filesystem::path& metadata,
               const std::filesystem::path& record, Runner& runner, const Log& log) {
  const Stopwatch clock;
  const auto published = read_manifest_record(metadata, log);
  if (!published || published->index_digest.empty())
    throw Error(Exit::invalid_input, "no published index in " + metadata.string() + ": run the manifest step first");
  const auto reference = spec.repository.str() + "@" + published->index_digest;
  // Signed already: the same index, and the signer succeeded for it.
  std::error_code ec;
  if (std::filesystem::exists(record, ec)) {
    boost::system::error_code jec;
    const auto v = json::parse(read_text_file(record), jec);
    const auto* o = jec ? nullptr : v.if_object();
    const auto* signed_reference = o ? o->if_contains("reference") : nullptr;
    if (signed_reference && signed_reference->is_string() && signed_reference->get_string() == reference) {
      log.info("sign: " + reference + " is signed already");
      write_file_atomically(record, read_text_file(record));  // newer than metadata.json: the build sees it done
      return;
    }
  }
  remove_record(record);
  if (command.empty()) throw Error(Exit::invalid_input, "SIGN_COMMAND is empty");
  Command c;
  for (auto arg : command) {
    for (std::size_t at; (at = arg.find("@REFERENCE@")) != std::string::npos;) arg.replace(at, 11, reference);
    c.argv.push_back(std::move(arg));
  }
  // What the signer's own calls of `multiarch-image attach` need to reach the registry as the steps do.
  std::string insecure;
  for (const auto& entry : spec.insecure_registries) insecure += (insecure.empty() ? "" : ";") + entry;
  if (!insecure.empty()) c.env.emplace_back("MULTIARCH_IMAGE_INSECURE_REGISTRIES", insecure);
  // PLATFORM_TAGS OFF (immutable tags): the signer's attach writes no referrers tag either.
  if (!spec.platform_tags) c.env.emplace_back("MULTIARCH_IMAGE_PLATFORM_TAGS", "OFF");
  log.info("sign started (" + reference + ")");
  const auto result = runner.run(c, Output::stream, log);
  require_success(c, result, "SIGN_COMMAND for " + reference);
  json::object r{{"format", 1}, {"name", spec.name}, {"reference", reference}, {"seconds", clock.seconds()}};
  write_file_atomically(record, json::serialize(r) + "\n");
  log.info("sign done in " + clock.str() + " (" + reference + ")");
}

namespace {

ImageReference pinned(const std::string& text) {
  auto r = parse_image_reference(text);
  if (r.digest.empty()) throw Error(Exit::usage, "--reference `" + text + "` names no digest (valid: <repository>@sha256:<hex>)");
  return r;
}

}  // namespace

void attach_command(const std::string& reference, const Artifact& artifact, Runner& runner, const Log& log) {
  const auto subject_ref = pinned(reference);
  RegistrySession registry(subject_ref.repository, registry_settings_from_environment(), "none", runner, log);
  auto& client = registry.client;
  const auto subject = client.get_manifest(subject_ref.digest);
  if (!subject) throw Error(Exit::step_failed, reference + " is not in the registry");
  // Run by a SIGN_COMMAND of an image with PLATFORM_TAGS OFF: no referrers tag is written.
  const char* platform_tags = std::getenv("MULTIARCH_IMAGE_PLATFORM_TAGS");
  const bool write_tag = !platform_tags || std::string(platform_tags) != "OFF";
  const auto attached =
      attach(client, {subject->media_type, subject->digest, static_cast<std::int64_t>(subject->bytes.size()), "", {}}, {artifact},
             log, nullptr, write_tag);
  log.info("attached " + artifact.artifact_type + " " + attached.artifacts.front().digest + " to " + reference +
           (attached.index == ReferrersIndex::none ? " (listed nowhere: the registry keeps it by digest)" : ""));
}

void referrers_command(const std::string& reference, Runner& runner, const Log& log) {
  const auto subject_ref = pinned(reference);
  RegistrySession registry(subject_ref.repository, registry_settings_from_environment(), "none", runner, log);
  auto& client = registry.client;
  const auto found = referrers(client, subject_ref.digest);
  if (found.index == ReferrersIndex::none)
    log.warn(client.base_url() + " lists no referrers: it has no referrers API, and its referrers tag is " + reference +
             " itself; artifacts attached to it are there by digest only");
  for (const auto& d : found.listed)
    std::cout << json::serialize(json::object{{"digest", d.digest}, {"artifactType", d.artifact_type}, {"size", d.size}}) << "\n";
}

}  // namespace mai
