// promote: the index the manifest step published, copied by digest to each PROMOTE_TO repository with
// everything below it and its referrers, byte for byte (registry/copy.hpp); its record is keyed on
// what was copied where, so a rerun with nothing changed sends no request.
#include <unistd.h>

#include <boost/json.hpp>
#include <memory>

#include "base/error.hpp"
#include "base/files.hpp"
#include "base/stopwatch.hpp"
#include "model/records.hpp"
#include "registry/copy.hpp"
#include "registry/session.hpp"
#include "steps/steps.hpp"

namespace mai {

namespace json = boost::json;

namespace {

// promote-to.json: {"destinations": ["<repository>", ...]}, each one checked again here (the file
// is one a person can edit).
std::vector<Repository> read_destinations(const std::filesystem::path& file, const Repository& source) {
  boost::system::error_code ec;
  const auto v = json::parse(read_text_file(file), ec);
  const auto* o = ec ? nullptr : v.if_object();
  const auto* list = o ? o->if_contains("destinations") : nullptr;
  if (!list || !list->is_array() || list->as_array().empty())
    throw Error(Exit::invalid_input, file.string() + " is not {\"destinations\": [\"<repository>\", ...]} with one at least");
  std::vector<Repository> out;
  for (const auto& d : list->as_array()) {
    if (!d.is_string()) throw Error(Exit::invalid_input, file.string() + " lists a destination that is not a string");
    auto repository = parse_repository(d.get_string());
    if (repository.str() == source.str())
      throw Error(Exit::invalid_input,
                  file.string() + " names " + repository.str() + ", the repository the image is published to");
    out.push_back(std::move(repository));
  }
  return out;
}

json::object referrer_json(const CopiedReferrer& r) {
  return {{"subject", r.subject}, {"digest", r.artifact.digest}, {"artifact_type", r.artifact.artifact_type}};
}

}  // namespace

void promote_step(const Spec& spec, const PromoteRequest& request, Runner& runner, Transport& transport, const Log& log) {
  const Stopwatch clock;
  const auto published = read_manifest_record(request.metadata, log);
  if (!published || published->index_digest.empty())
    throw Error(Exit::invalid_input, "no published index in " + request.metadata.string() + ": run the manifest step first");
  const auto source = parse_repository(published->repository);
  const auto destinations = read_destinations(request.destinations, source);
  std::string signed_reference;
  if (!request.signed_record.empty()) {
    boost::system::error_code ec;
    const auto v = json::parse(read_text_file(request.signed_record), ec);
    const auto* r = ec || !v.is_object() ? nullptr : v.as_object().if_contains("reference");
    if (r && r->is_string()) signed_reference = r->get_string();
  }

  // What is promoted where: the same key in the record means it was done, and nothing is asked.
  std::vector<std::pair<std::string, std::string>> documents;  // (subject, artifact) known by metadata.json
  json::array documents_json;
  for (const auto& p : published->platforms)
    for (const auto* artifact : {&p.provenance, &p.sbom, &p.debug_symbols.artifact})
      if (!artifact->empty()) {
        documents.emplace_back(p.pushed_digest.empty() ? p.digest : p.pushed_digest, *artifact);
        documents_json.push_back(json::string(*artifact));
      }
  json::array destinations_json;
  for (const auto& d : destinations) destinations_json.push_back(json::string(d.str()));
  const json::object key{{"source", source.str() + "@" + published->index_digest},
                         {"tags", json::value_from(published->tags)},
                         {"destinations", destinations_json},
                         {"documents", documents_json},
                         {"signed", signed_reference},
                         {"platform_tags", spec.platform_tags}};
  std::error_code exists_ec;
  if (std::filesystem::exists(request.record, exists_ec)) {
    boost::system::error_code ec;
    const auto before = json::parse(read_text_file(request.record), ec);
    const auto* known = ec || !before.is_object() ? nullptr : before.as_object().if_contains("key");
    if (known && *known == json::value(key)) {
      log.info("promote: " + source.str() + "@" + published->index_digest + " is promoted already");
      write_file_atomically(request.record, read_text_file(request.record));  // newer than its inputs: done
      return;
    }
  }
  remove_record(request.record);

  log.info("promote started (" + source.str() + "@" + published->index_digest + " to " + std::to_string(destinations.size()) +
           " repositories)");
  const auto settings = registry_settings(spec);
  auto from = open_registry(source, settings, published->engine, transport, runner, log);
  std::vector<std::unique_ptr<RegistryClient>> clients;
  std::vector<CopyDestination> to;
  for (const auto& destination : destinations) {
    clients.push_back(
        std::make_unique<RegistryClient>(open_registry(destination, settings, published->engine, transport, runner, log)));
    to.push_back({clients.back().get(), destination.registry == source.registry});
  }
  CopyRequest copy;
  copy.digest = published->index_digest;
  copy.tags = published->tags;
  copy.documents = documents;
  copy.from_path = source.path;
  copy.scratch = request.record.parent_path() / ("promote-" + std::to_string(::getpid()));
  copy.write_tag = spec.platform_tags;
  std::vector<CopyResult> copied;
  try {
    copied = copy_image(from, to, copy, log);
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove_all(copy.scratch, ec);
    throw;
  }
  std::error_code ec;
  std::filesystem::remove_all(copy.scratch, ec);
  json::array results;
  for (std::size_t i = 0; i < destinations.size(); ++i) {
    const auto& destination = destinations[i];
    const auto& done = copied[i];
    json::array referrers;
    for (const auto& r : done.referrers) referrers.push_back(referrer_json(r));
    log.info("promoted to " + destination.str() + "@" + published->index_digest + ": " + std::to_string(done.manifests.size()) +
             " manifests and " + std::to_string(done.referrers.size()) + " referrers (" + std::to_string(done.manifests_put) +
             " manifests put, " + std::to_string(done.manifests_present) +
             " there; blobs: " + std::to_string(done.blobs_mounted) + " mounted, " + std::to_string(done.blobs_copied) +
             " copied (" + std::to_string(done.bytes_copied) + " bytes), " + std::to_string(done.blobs_present) + " there; " +
             std::to_string(done.tags_put) + " tags put), verified");
    results.push_back(json::object{{"repository", destination.str()},
                                   {"reference", destination.str() + "@" + published->index_digest},
                                   {"media_type", done.media_type},
                                   {"tags", json::value_from(published->tags)},
                                   {"manifests", json::value_from(done.manifests)},
                                   {"referrers", std::move(referrers)},
                                   {"referrers_index", name_of(done.index)},
                                   {"blobs_mounted", done.blobs_mounted},
                                   {"blobs_copied", done.blobs_copied},
                                   {"blobs_present", done.blobs_present},
                                   {"bytes_copied", done.bytes_copied}});
  }
  const json::object record{{"format", kRecordFormat}, {"kind", "promote"},         {"name", spec.name}, {"key", key},
                            {"destinations", results}, {"seconds", clock.seconds()}};
  write_file_atomically(request.record, json::serialize(record) + "\n");
  log.info("promote done in " + clock.str());
}

}  // namespace mai
