// manifest: the list over the pushed digests under every tag, read back and verified, written as
// metadata.json for CI steps that sign or deploy. The same from push records other build trees wrote
// (a CI matrix: one job per platform, then a merge job that builds nothing).
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <system_error>

#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/files.hpp"
#include "base/log.hpp"
#include "base/stopwatch.hpp"
#include "base/text.hpp"
#include "image/assemble.hpp"
#include "model/records.hpp"
#include "oci/index.hpp"
#include "oci/media_types.hpp"
#include "registry/referrers.hpp"
#include "registry/session.hpp"
#include "stage/context.hpp"
#include "steps/steps.hpp"

namespace mai {
namespace {

std::string human_size(std::int64_t bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1000 && unit < 4) {
    value /= 1000;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, unit == 0 ? "%.0f %s" : "%.1f %s", value, units[unit]);
  return buf;
}

std::string seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", s);
  return buf;
}

std::string comma_joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

std::string pad(std::string s, std::size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

// What a person wants at the end of a publish: one row per platform, and where the metadata is.
// `pushed` is in the order of spec.platforms, each read from the file of the same index in `sources`
// (the build record, where there is one, is beside it).
void print_summary(const Spec& spec, const std::filesystem::path& record, const std::vector<PushRecord>& pushed,
                   const std::vector<std::filesystem::path>& sources, const ManifestRecord& out, const Log& log) {
  log.info(pad("platform", 14) + pad("digest", 21) + pad("size", 10) + pad("build", 9) + "push");
  for (std::size_t i = 0; i < pushed.size(); ++i) {
    const auto built = read_build_record(build_record_path(sources[i].parent_path(), spec.platforms[i]), log);
    log.info(pad(pushed[i].platform, 14) + pad(pushed[i].digest.substr(0, 19), 21) +
             pad(built ? human_size(built->image_size) : "?", 10) + pad(built ? seconds(built->seconds) : "?", 9) +
             seconds(pushed[i].seconds));
  }
  log.info(out.repository + ":" + out.tags.front() + " is " + out.index_digest);
  log.info("metadata: " + record.string());
}

// One platform as the push left it: its image, and the attestation manifests the engine pushed
// beside it (an engine that pushes an index per platform: docker 29's containerd store, BuildKit's
// default provenance).
struct PushedPlatform {
  Descriptor image;
  std::vector<Descriptor> attestations;
};

// The config `digest` as this build tree's assembly wrote it (the layout beside the build record),
// its bytes checked; nullopt when it is not here (an engine's image, another tree's record).
std::optional<std::string> local_config(const Spec& spec, const std::filesystem::path& source, const Platform& platform,
                                        const std::string& digest, const Log& log) {
  if (!spec.image.enabled) return std::nullopt;
  const auto built = read_build_record(build_record_path(source.parent_path(), platform), log);
  if (!built || built->config_digest != digest) return std::nullopt;
  std::error_code ec;
  const auto file = layout_blob(spec.image.layout, digest);
  if (!std::filesystem::is_regular_file(file, ec) || std::filesystem::file_size(file, ec) > kConfigLimit) return std::nullopt;
  auto bytes = read_text_file(file);
  if (sha256_digest(bytes) != digest) return std::nullopt;
  return bytes;
}

// The pushed platforms as `manifests` (the registry's answers for their digests, read in the step's
// first round) say, then what those that are indexes list, then the images' configs (from the
// registry, unless this tree assembled them), each round all at once; in the order of `pushed` (which
// is the spec's). Nothing is published here: every check that can fail runs before the first PUT.
// `merged`: the records came from other build trees (MULTIARCH_IMAGE_MERGE_RECORDS), `sources` names
// their files.
std::vector<PushedPlatform> describe_pushed(RegistryClient& client, const Spec& spec, const std::vector<PushRecord>& pushed,
                                            const std::vector<std::filesystem::path>& sources, bool merged,
                                            std::vector<std::optional<Manifest>> manifests, const Log& log) {
  std::vector<std::string> whats;
  whats.reserve(pushed.size());
  for (std::size_t i = 0; i < pushed.size(); ++i)
    whats.push_back(spec.repository.str() + "@" + pushed[i].digest + " (" + spec.platforms[i].str() + ")");

  // An index per platform: its entry for the platform, and the attestations that describe that entry.
  std::vector<PushedPlatform> out(pushed.size());
  std::vector<std::string> inner;  // the manifests the indexes list, read in one round
  std::vector<std::size_t> image_of(pushed.size(), SIZE_MAX);
  for (std::size_t i = 0; i < pushed.size(); ++i) {
    const auto& platform = spec.platforms[i];
    const auto& manifest = manifests[i];
    if (!manifest && merged)
      throw Error(Exit::step_failed, "the manifest of " + whats[i] + " that " + sources[i].string() +
                                         " records is not in the registry (pushed to another registry, or deleted since?); "
                                         "no list was published. Run the job that builds " +
                                         platform.str() + " again and merge its new records");
    if (!manifest)
      throw Error(Exit::step_failed, "the manifest of " + whats[i] +
                                         " is not in the registry (deleted since it was pushed?); "
                                         "no list was published. Remove " +
                                         push_record_path(sources[i].parent_path(), platform).string() +
                                         " and build again to push it anew");
    if (!media::is_index(manifest->media_type)) continue;
    const auto parsed = parse_index(manifest->bytes, whats[i]);
    std::vector<const Descriptor*> images;
    for (const auto& e : parsed.entries)
      if (e.platform == platform.str()) images.push_back(&e);
    if (images.size() != 1)
      throw Error(Exit::verify_failed, whats[i] + " is an index with " + std::to_string(images.size()) + " entries for " +
                                           platform.str() + " (one was expected); no list was published");
    image_of[i] = inner.size();
    inner.push_back(images.front()->digest);
    for (const auto& e : parsed.entries) {
      if (&e == images.front()) continue;
      if (!is_attestation_for(e, images.front()->digest)) {
        log.warn(whats[i] + " also lists " + e.digest + " (" + e.platform + "), which describes no image of " + platform.str() +
                 ": left out of the list");
        continue;
      }
      Descriptor a{e.media_type, e.digest, e.size, "unknown/unknown", "", e.annotations};
      out[i].attestations.push_back(std::move(a));
      inner.push_back(e.digest);
    }
  }
  const auto listed = client.get_manifests(inner);
  for (std::size_t i = 0, next = 0; i < pushed.size(); ++i) {
    if (image_of[i] == SIZE_MAX) continue;
    manifests[i] = listed[next++];
    if (!manifests[i]) throw Error(Exit::step_failed, "the image manifest that " + whats[i] + " lists is not in the registry");
    for (auto& a : out[i].attestations) {
      const auto& m = listed[next++];
      if (!m)
        throw Error(Exit::step_failed,
                    "the attestation manifest " + a.digest + " that " + whats[i] + " lists is not in the registry");
      if (!media::is_image_manifest(m->media_type) || static_cast<std::int64_t>(m->bytes.size()) != a.size)
        throw Error(Exit::verify_failed, "the attestation manifest " + a.digest + " that " + whats[i] +
                                             " lists is not an image manifest of the size its entry states");
      a.media_type = m->media_type;
    }
  }

  std::vector<std::string> configs, config_bytes(pushed.size());
  std::vector<std::size_t> from_registry;
  for (std::size_t i = 0; i < pushed.size(); ++i) {
    if (!media::is_image_manifest(manifests[i]->media_type))
      throw Error(Exit::verify_failed, whats[i] + " has media type '" + manifests[i]->media_type + "', not an image manifest");
    const auto config = config_digest_of(manifests[i]->bytes, whats[i]);
    if (auto here = local_config(spec, sources[i], spec.platforms[i], config, log)) {
      config_bytes[i] = std::move(*here);
      continue;
    }
    configs.push_back(config);
    from_registry.push_back(i);
  }
  auto read = client.get_blobs(configs);
  for (std::size_t k = 0; k < from_registry.size(); ++k) config_bytes[from_registry[k]] = std::move(read[k]);
  for (std::size_t i = 0; i < pushed.size(); ++i) {
    const auto& platform = spec.platforms[i];
    const auto stated = platform_of_config(config_bytes[i], whats[i]);
    std::string normalised;
    try {
      normalised = parse_platform(stated).str();
    } catch (const Error&) {
      normalised = stated;
    }
    if (normalised != platform.str())
      throw Error(Exit::verify_failed, whats[i] + ": its image config says " + stated + "; no list was published");
    // The entry states the platform as the image's config does (a variant the config names is kept).
    out[i].image = Descriptor{
        manifests[i]->media_type, manifests[i]->digest, static_cast<std::int64_t>(manifests[i]->bytes.size()), stated, "", {}};
  }
  return out;
}

// INDEX_FORMAT: oci, docker, or (auto) a Docker list over Docker manifests without attestations
// or annotations, else an OCI index.
std::string index_media_type(const Spec& spec, const std::vector<PushedPlatform>& platforms) {
  if (spec.index_format == "oci") return media::oci_index;
  if (spec.index_format == "docker") return media::docker_list;
  const bool plain_docker = std::all_of(platforms.begin(), platforms.end(), [](const PushedPlatform& p) {
    return p.image.media_type == media::docker_manifest && p.attestations.empty();
  });
  return plain_docker && spec.annotations.empty() ? media::docker_list : media::oci_index;
}

// The list's entries as `docker buildx imagetools create` lays out indexes it combines: each
// platform's image followed by its attestation manifests. A Docker list cannot carry the
// annotations that tie an attestation to its image: there they are left out, with a warning.
std::vector<Descriptor> index_entries(std::vector<PushedPlatform>& platforms, const std::string& media_type, const Log& log) {
  std::vector<Descriptor> out;
  for (auto& p : platforms) {
    out.push_back(p.image);
    if (media_type != media::oci_index && !p.attestations.empty()) {
      log.warn("INDEX_FORMAT docker: the " + std::to_string(p.attestations.size()) + " attestation manifest(s) pushed with " +
               p.image.digest +
               " are left out (a Docker manifest list cannot say what they describe; "
               "INDEX_FORMAT oci or auto keeps them)");
      p.attestations.clear();
    }
    out.insert(out.end(), p.attestations.begin(), p.attestations.end());
  }
  return out;
}

// org.opencontainers.image.version (the first tag) and .created (SOURCE_DATE_EPOCH, else now; for an
// assembled image the configured MULTIARCH_IMAGE_SOURCE_DATE_EPOCH), then
// ANNOTATIONS, which override them. A Docker list carries none.
std::vector<std::pair<std::string, std::string>> index_annotations(const Spec& spec, const std::string& media_type) {
  if (media_type != media::oci_index) return {};
  std::time_t when = std::time(nullptr);
  if (spec.image.enabled)  // assembled: the configured SOURCE_DATE_EPOCH, as for its layers and configs
    when = static_cast<std::time_t>(spec.image.created);
  else if (const char* epoch = std::getenv("SOURCE_DATE_EPOCH"); epoch && *epoch)
    when = static_cast<std::time_t>(std::strtoll(epoch, nullptr, 10));
  std::vector<std::pair<std::string, std::string>> notes{{"org.opencontainers.image.version", spec.tags.front()},
                                                         {"org.opencontainers.image.created", rfc3339(when)}};
  for (const auto& [k, v] : spec.annotations) {
    const auto same = std::find_if(notes.begin(), notes.end(), [&key = k](const auto& n) { return n.first == key; });
    if (same != notes.end())
      same->second = v;
    else
      notes.emplace_back(k, v);
  }
  return notes;
}

// Publishes and verifies the list over `pushed` (one record per platform, in the spec's order, read
// from `sources`), keeps each platform's referrers listed, and writes metadata.json (`record`).
void publish_list(const Spec& spec, const std::vector<PushRecord>& pushed, const std::vector<std::filesystem::path>& sources,
                  bool merged, const std::filesystem::path& record, const Stopwatch& clock, Runner& runner, Transport& transport,
                  const Log& log) {
  log.info("manifest started (" + std::to_string(pushed.size()) + " platforms" +
           (merged ? ", merged from other build trees" : "") + ")");
  auto client = open_registry(spec.repository, registry_settings(spec), pushed.front().engine, transport, runner, log);

  // The first round reads all the step needs at once: each platform's manifest, what each tag holds
  // now, and the referrers tag of each platform whose documents its push listed there.
  std::vector<std::optional<Manifest>> manifests(pushed.size()), current(spec.tags.size()), referrer_tags(pushed.size());
  {
    RegistryClient::Batch first(client);
    for (std::size_t i = 0; i < pushed.size(); ++i)
      first.get_manifest(checked_digest(pushed[i].digest, "the digest in the push record of " + spec.platforms[i].str()),
                         manifests[i]);
    for (std::size_t t = 0; t < spec.tags.size(); ++t) first.get_manifest(spec.tags[t], current[t]);
    for (std::size_t i = 0; i < pushed.size(); ++i)
      if (pushed[i].referrers_index == "tag" && spec.platform_tags)
        first.get_manifest(referrers_tag(pushed[i].digest), referrer_tags[i]);
    first.run();
  }
  auto platforms = describe_pushed(client, spec, pushed, sources, merged, std::move(manifests), log);
  const auto media_type = index_media_type(spec, platforms);
  const auto fresh = build_index(media_type, index_entries(platforms, media_type, log), index_annotations(spec, media_type));
  std::vector<ExpectedPlatform> expected;
  for (std::size_t i = 0; i < platforms.size(); ++i) {
    expected.push_back({spec.platforms[i].str(), platforms[i].image.digest, {}});
    for (const auto& a : platforms[i].attestations) expected.back().attestations.push_back(a.digest);
  }

  // An equivalent index (same manifests, only another creation time) is kept as it is: the step is
  // then a no-op for every tag that already holds it.
  std::string bytes = fresh;
  for (const auto& c : current)
    if (c && media::is_index(c->media_type) && same_index_apart_from_created(c->bytes, fresh)) {
      bytes = c->bytes;
      break;
    }
  // The list passes the verification its tags will get before anything is published.
  verify_index(parse_index(bytes, "the list to publish"), expected, spec.repository.str() + " (before publishing)");
  const auto index_digest = sha256_digest(bytes);
  const bool stored = std::any_of(current.begin(), current.end(), [&](const auto& c) { return c && c->digest == index_digest; });

  // By digest and under every tag that does not hold it yet, in one round (a manifest PUT is whole or
  // nothing, whatever names it); the registry's own digest must agree. Then each tag is read back: it
  // must serve exactly these bytes, listing each platform once with its digest. A tag found holding
  // them was read moments ago, by this step.
  std::vector<std::string> to_publish;
  for (std::size_t t = 0; t < spec.tags.size(); ++t)
    if (!current[t] || current[t]->digest != index_digest) to_publish.push_back(spec.tags[t]);
  auto references = to_publish;
  if (!stored) references.insert(references.begin(), index_digest);
  for (const auto& reported : client.put_manifests(references, media_type, bytes))
    if (!reported.empty() && reported != index_digest)
      throw Error(Exit::verify_failed, "the registry stored the list as " + reported + " but its bytes hash to " + index_digest);
  const auto read_back = client.get_manifests(to_publish);

  ManifestRecord out{spec.name, spec.repository.str(), spec.tags, pushed.front().engine, index_digest, media_type, {}, 0};
  for (std::size_t t = 0, published = 0; t < spec.tags.size(); ++t) {
    const auto& tag = spec.tags[t];
    const auto where = spec.repository.str() + ":" + tag;
    const bool unchanged = current[t] && current[t]->digest == index_digest;
    const auto& back = unchanged ? current[t] : read_back[published++];
    if (!back) throw Error(Exit::verify_failed, "verification of " + where + " failed: the registry does not know the tag");
    if (back->digest != index_digest)
      throw Error(Exit::verify_failed, "verification of " + where + " failed: the registry serves " + back->digest + " but " +
                                           index_digest + " was published");
    const auto entries = verify_index(parse_index(back->bytes, where), expected, where);
    out.platforms.clear();
    for (std::size_t i = 0; i < entries.size(); ++i) {
      out.platforms.push_back({entries[i].platform, entries[i].digest, entries[i].media_type, entries[i].size, pushed[i].image_id,
                               pushed[i].builder, pushed[i].digest, expected[i].attestations});
      const auto built = read_build_record(build_record_path(sources[i].parent_path(), spec.platforms[i]), log);
      if (built) out.platforms.back().base_digest = built->base_digest;
      out.platforms.back().provenance = pushed[i].provenance;
      out.platforms.back().sbom = pushed[i].sbom;
      out.platforms.back().debug_symbols = pushed[i].debug_symbols;
    }
    log.info(std::string(unchanged ? "unchanged and verified " : "published and verified ") + where + "@" + index_digest);
  }
  // Each platform's provenance statement, SBOM and debug symbols are referrers of what was pushed for it: listed
  // where the registry lists referrers (listed again when another writer of the referrers tag dropped
  // them), or, on a registry that lists none, in the registry by digest.
  for (std::size_t i = 0; i < pushed.size(); ++i) {
    const auto& p = pushed[i];
    std::vector<std::pair<std::string, std::string>> documents;
    if (!p.provenance.empty()) documents.emplace_back("provenance", p.provenance);
    if (!p.sbom.empty()) documents.emplace_back("SBOM", p.sbom);
    if (!p.debug_symbols.artifact.empty()) documents.emplace_back("debug symbols", p.debug_symbols.artifact);
    if (documents.empty()) continue;
    std::optional<Referrers> known;
    if (p.referrers_index == "tag" && spec.platform_tags) known = referrers_from_tag(p.digest, referrer_tags[i], client);
    const auto index =
        ensure_listed(client, p.digest, documents, log.for_platform(p.platform), spec.platform_tags, known ? &*known : nullptr);
    out.platforms[i].referrers_index = name_of(index);
    if (index == ReferrersIndex::none)
      log.info(p.platform + ": the registry lists no referrers; its documents are in " + spec.repository.str() +
               " by digest (metadata.json names them)");
  }
  out.seconds = clock.seconds();
  write_record(record, out);
  log.info("manifest done in " + clock.str());
  print_summary(spec, record, pushed, sources, out, log);
}

}  // namespace

void manifest_step(const Spec& spec, const std::vector<std::filesystem::path>& push_records, const std::filesystem::path& record,
                   Runner& runner, Transport& transport, const Log& log) {
  const Stopwatch clock;
  remove_record(record);

  // One push record per platform of the spec, in the spec's order, all from one engine.
  std::vector<PushRecord> pushed;
  std::vector<std::filesystem::path> sources;
  for (const auto& platform : spec.platforms) {
    const auto file = push_record_path({}, platform);
    const auto path = std::find_if(push_records.begin(), push_records.end(),
                                   [&](const std::filesystem::path& p) { return p.filename() == file.filename(); });
    if (path == push_records.end())
      throw Error(Exit::usage, "no --push-record " + file.string() + " for " + platform.str() + " was given");
    auto match = read_push_record(*path, log);
    if (!match || match->platform != platform.str() || match->repository != spec.repository.str()) {
      // Stale state: a corrupt or foreign push record. Push that platform again rather than fail.
      log.warn("no usable push record for " + platform.str() + " at " + path->string() + "; pushing it again");
      push_step(spec, platform, build_record_path(path->parent_path(), platform), *path, runner,
                log.for_platform(platform.str()));
      match = read_push_record(*path, log);
      if (!match) throw Error(Exit::step_failed, "the push record of " + platform.str() + " is unreadable after a push");
    }
    if (!pushed.empty() && match->engine != pushed.front().engine)
      throw Error(Exit::step_failed, platform.str() + " was pushed by " + match->engine + " but " + pushed.front().platform +
                                         " by " + pushed.front().engine + "; one manifest list needs one engine (set ENGINE)");
    pushed.push_back(std::move(*match));
    sources.push_back(*path);
  }

  publish_list(spec, pushed, sources, false, record, clock, runner, transport, log);
}

void merge_step(const Spec& spec, const std::vector<std::filesystem::path>& dirs, const std::filesystem::path& record,
                const std::filesystem::path& depfile, Runner& runner, Transport& transport, const Log& log) {
  const Stopwatch clock;
  remove_record(record);
  const auto valid = [&] {
    std::vector<std::string> names;
    names.reserve(spec.platforms.size());
    for (const auto& p : spec.platforms) names.push_back(p.str());
    return "valid: " + comma_joined(names);
  }();

  // Every push-<platform>.json under the directories, in any layout the CI artifacts arrive in; the
  // image's own are those that name it.
  std::vector<std::optional<PushRecord>> found(spec.platforms.size());
  std::vector<std::filesystem::path> sources(spec.platforms.size());
  for (const auto& dir : dirs) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec))
      throw Error(Exit::usage, "MULTIARCH_IMAGE_MERGE_RECORDS names " + dir.string() +
                                   ", which is not a directory (valid: directories holding the push records "
                                   "(push-<platform>.json) the per-platform jobs wrote)");
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
      const auto file = entry.path().filename().string();
      if (entry.is_regular_file() && file.starts_with("push-") && file.ends_with(".json")) files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      auto r = read_push_record(file, log);
      if (!r) throw Error(Exit::step_failed, file.string() + " is not a push record this helper can read; no list was published");
      if (r->name != spec.name) continue;  // another image's
      if (r->repository != spec.repository.str())
        throw Error(Exit::step_failed, file.string() + " is a push of " + spec.name + " to " + r->repository +
                                           ", but the image's REPOSITORY is " + spec.repository.str() +
                                           "; no list was published");
      const auto at =
          std::find_if(spec.platforms.begin(), spec.platforms.end(), [&](const Platform& p) { return p.str() == r->platform; });
      if (at == spec.platforms.end())
        throw Error(Exit::step_failed, file.string() + " is a push of " + spec.name + " for " + r->platform +
                                           ", which is not one of its PLATFORMS (" + valid + "); no list was published");
      const auto i = static_cast<std::size_t>(at - spec.platforms.begin());
      if (found[i] && found[i]->digest != r->digest)
        throw Error(Exit::step_failed, "two push records of " + spec.name + " for " + r->platform +
                                           " name other digests: " + sources[i].string() + " (" + found[i]->digest + ") and " +
                                           file.string() + " (" + r->digest + "); merge the records of one run of each job");
      if (found[i]) continue;
      if (std::any_of(found.begin(), found.end(), [&](const auto& f) { return f && f->engine != r->engine; }))
        throw Error(Exit::step_failed,
                    file.string() + ": " + r->platform + " was pushed by " + r->engine +
                        " and other platforms by another engine; one manifest list needs one engine (set ENGINE)");
      found[i] = std::move(r);
      sources[i] = file;
    }
  }
  std::vector<std::string> missing;
  for (std::size_t i = 0; i < found.size(); ++i)
    if (!found[i]) missing.push_back(spec.platforms[i].str());
  if (!missing.empty()) {
    std::vector<std::string> where;
    where.reserve(dirs.size());
    for (const auto& d : dirs) where.push_back(d.string());
    throw Error(Exit::step_failed, "no push record of " + spec.name + " for " + comma_joined(missing) + " in " +
                                       comma_joined(where) +
                                       " (MULTIARCH_IMAGE_MERGE_RECORDS); no list was published. Every platform's job "
                                       "(MULTIARCH_IMAGE_ONLY_PLATFORMS) must have pushed, and its records be handed here");
  }

  std::vector<PushRecord> pushed;
  pushed.reserve(found.size());
  for (auto& f : found) pushed.push_back(std::move(*f));
  // The list is published again when a record is replaced (a job run again).
  write_depfile(depfile, record, sources);
  publish_list(spec, pushed, sources, true, record, clock, runner, transport, log);
}

}  // namespace mai
