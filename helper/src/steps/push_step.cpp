// push: one platform's built image to the registry under each per-platform tag.
#include <sys/stat.h>

#include <algorithm>
#include <boost/json.hpp>
#include <memory>
#include <optional>
#include <set>

#include "attest/provenance.hpp"
#include "attest/sbom.hpp"
#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/files.hpp"
#include "base/scratch.hpp"
#include "base/stopwatch.hpp"
#include "engine/factory.hpp"
#include "image/assemble.hpp"
#include "model/records.hpp"
#include "oci/media_types.hpp"
#include "registry/referrers.hpp"
#include "registry/session.hpp"
#include "stage/debug_symbols.hpp"
#include "stage/symbols_archive.hpp"
#include "steps/steps.hpp"

namespace mai {

namespace {

// What this tree's last push of a platform left in the repository (pushed-<platform>.json in the
// state directory): the blobs it holds, and where it lists referrers. A push trusts it, so that after
// an edit the registry is not asked about blobs this tree put there; a record of another repository,
// or one that cannot be read, says nothing. A registry that lost a blob since (a garbage collection,
// a registry started anew) refuses the manifest that names it: the push then asks about every blob.
struct Remembered {
  bool any = false;
  std::set<std::string> blobs;
  std::string referrers_index;
};
std::filesystem::path remembered_path(const std::filesystem::path& state, const Platform& platform) {
  return state / ("pushed-" + platform.target_suffix() + ".json");
}
Remembered remembered_push(const std::filesystem::path& file, const Spec& spec) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) return {};
  boost::system::error_code jec;
  const auto v = boost::json::parse(read_text_file(file), jec);
  const auto* o = jec ? nullptr : v.if_object();
  const auto* repository = o ? o->if_contains("repository") : nullptr;
  const auto* blobs = o ? o->if_contains("blobs") : nullptr;
  const auto* index = o ? o->if_contains("referrers_index") : nullptr;
  if (!repository || !repository->is_string() || repository->get_string() != spec.repository.str() || !blobs ||
      !blobs->is_array())
    return {};
  Remembered out{true, {}, index && index->is_string() ? std::string(index->get_string()) : std::string()};
  for (const auto& b : blobs->as_array())
    if (b.is_string() && is_sha256_digest(std::string(b.get_string()))) out.blobs.insert(std::string(b.get_string()));
  return out;
}
void remember_push(const std::filesystem::path& file, const Spec& spec, const std::set<std::string>& blobs,
                   const std::string& referrers_index) {
  boost::json::array list;
  for (const auto& b : blobs) list.emplace_back(b);
  write_file_atomically(
      file, boost::json::serialize(boost::json::object{
                {"repository", spec.repository.str()}, {"blobs", std::move(list)}, {"referrers_index", referrers_index}}) +
                "\n");
}

// The base's layers: mounted from its repository on the same registry (no bytes move), else copied
// through a file in the scratch directory (never whole in memory), their digests checked. Those this
// tree's last push put there are not asked about.
void push_base_layers(const Spec& spec, const BuildRecord& built, const std::filesystem::path& scratch,
                      const std::set<std::string>& remembered, RegistryClient& client, Runner& runner, const Log& log) {
  int mounted = 0, copied = 0, known = 0;
  const auto base = parse_repository(built.base_repository);
  const bool same_registry = base.registry == spec.repository.registry;
  std::optional<RegistrySession> source;
  for (const auto& digest : built.base_layers) {
    if (remembered.count(digest) != 0) {
      ++known;
      continue;
    }
    if (client.has_blob(digest)) continue;
    RegistryClient::Mount mount;
    if (same_registry) mount = client.mount_blob(digest, base.path);
    if (mount.mounted) {
      ++mounted;
      continue;
    }
    // The build step put the base's layers into the layout; one gone since is read from the base.
    std::error_code ec;
    if (const auto in_layout = layout_blob(spec.image.layout, digest); std::filesystem::exists(in_layout, ec)) {
      client.put_blob(digest, in_layout, mount.session);
    } else {
      if (!source) source.emplace(base, registry_settings(spec), "none", runner, log);
      const auto file = scratch / ("blob-" + digest.substr(7));
      source->client.fetch_blob(digest, file);
      client.put_blob(digest, file, mount.session);
      std::filesystem::remove(file);
    }
    ++copied;
  }
  log.info("base layers: " + std::to_string(mounted) + " mounted from " + base.str() + ", " + std::to_string(copied) +
           " copied, " + std::to_string(built.base_layers.size() - mounted - copied) + " already there" +
           (known ? " (" + std::to_string(known) + " put there by this tree's last push)" : std::string()));
}

// DEBUG_SYMBOLS ATTACH: the platform's debug files, checked against its staged tree (each stripped
// file and its debug file must have the build-id the stage recorded: a mismatch fails the step before
// anything is published), as one archive in the state directory, written again only when a debug
// file changed, and the artifact that publishes it. nullopt when the stage stripped nothing.
struct Symbols {
  Artifact artifact;
  PublishedSymbols published;
};
std::optional<Symbols> debug_symbols(const Spec& spec, const Platform& platform, const std::filesystem::path& state,
                                     const Log& log) {
  const auto staged = spec.stage.composed / spec.stage.dir / platform.target_suffix();
  const auto files = checked_debug_files(state, platform, staged);
  if (files.empty()) {
    log.info("DEBUG_SYMBOLS ATTACH: the stage stripped no file, so there are no debug symbols to publish");
    return std::nullopt;
  }
  Symbols out;
  std::vector<ArchivedDebugFile> archived;
  std::string key = "1", ids;
  for (const auto& f : files) {
    archived.push_back({f.build_id, f.file});
    out.published.files.push_back({f.path, f.build_id});
    struct stat st {};
    if (::stat(f.file.c_str(), &st) != 0) throw Error(Exit::step_failed, "cannot read " + f.file.string());
    key += "|" + f.build_id + ":" + std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
           std::to_string(st.st_mtim.tv_nsec) + ":" + std::to_string(st.st_ino);
    ids += (ids.empty() ? "" : " ") + f.build_id;
  }
  key += "|" + std::to_string(spec.image.created);
  const auto archive = state / ("debug-symbols-" + platform.target_suffix() + ".tar");
  const auto remembered = state / ("debug-symbols-" + platform.target_suffix() + ".json");
  WrittenArchive written;
  boost::system::error_code jec;
  std::error_code ec;
  const auto before =
      std::filesystem::exists(remembered, ec) ? boost::json::parse(read_text_file(remembered), jec) : boost::json::value();
  const auto* o = jec ? nullptr : before.if_object();
  const auto field = [&](const char* name) { return o ? o->if_contains(name) : nullptr; };
  const auto *known_key = field("key"), *known_digest = field("digest"), *known_size = field("size");
  if (known_key && known_key->is_string() && known_key->get_string() == key && known_digest && known_digest->is_string() &&
      known_size && known_size->is_int64() &&
      std::filesystem::file_size(archive, ec) == static_cast<std::uintmax_t>(known_size->get_int64())) {
    written = {std::string(known_digest->get_string()), known_size->get_int64()};
  } else {
    written = write_symbols_archive(archived, spec.image.created, archive);
    write_file_atomically(
        remembered,
        boost::json::serialize(boost::json::object{{"key", key}, {"digest", written.digest}, {"size", written.size}}) + "\n");
  }
  out.published.archive = written.digest;
  out.published.size = written.size;
  out.artifact.artifact_type = media::debug_symbols;
  out.artifact.media_type = media::debug_symbols;
  out.artifact.annotations = {{kDocumentAnnotation, "debug-symbols"}, {"cmake-multiarch-image.build-ids", ids}};
  out.artifact.file = archive;
  out.artifact.digest = written.digest;
  out.artifact.size = written.size;
  out.artifact.layer_annotations = {{"org.opencontainers.image.title", "debug-symbols-" + platform.target_suffix() + ".tar"}};
  return out;
}

// PROVENANCE and SBOM of an image an engine pushed: attached to it; their artifacts' digests (""
// for one that is off) and where the registry lists them.
struct Attested {
  std::string provenance, sbom, index;
  PublishedSymbols symbols;
};
Attested attest(const Spec& spec, const Platform& platform, const Descriptor& subject, const std::filesystem::path& state,
                RegistryClient& client, Runner& runner, const Log& log) {
  const auto& digest = subject.digest;
  Attested out;
  // The same image keeps the SBOM it has (its content is the same): another build tree, or a later
  // commit that builds the same bytes, attaches none.
  std::optional<Descriptor> kept;
  std::optional<Referrers> known;
  if (spec.provenance.sbom) {
    known = referrers(client, digest);
    for (const auto& d : known->listed)
      if (is_our_sbom(d)) kept = d;
    if (kept) {
      out.sbom = kept->digest;
      out.index = name_of(known->index);
      log.info("SBOM " + kept->digest.substr(0, 19) + " kept: " + digest.substr(0, 19) + " has it already");
    }
  }
  std::vector<Artifact> artifacts;
  // Kept in the state directory: every platform's push, and every push after an edit, asks git the same.
  const auto source = source_revision(spec.provenance, runner, log, state / "source-revision.json");
  if (spec.provenance.enabled)
    artifacts.push_back(provenance_artifact(spec, platform, digest, "", source, read_built_with(state, platform, log)));
  if (spec.provenance.sbom && !kept) artifacts.push_back(sbom_artifact(spec, platform, digest, "", source, state, runner, log));
  if (artifacts.empty()) return out;
  const auto attached = attach(client, subject, artifacts, log, known ? &*known : nullptr, spec.platform_tags);
  out.index = name_of(attached.index);
  for (const auto& d : attached.artifacts) {
    (d.artifact_type == media::in_toto ? out.provenance : out.sbom) = d.digest;
    log.info(std::string(d.artifact_type == media::in_toto ? "provenance " : "SBOM ") + d.digest.substr(0, 19) + " attached to " +
             digest.substr(0, 19));
  }
  return out;
}

// An assembled image and its documents (PROVENANCE, SBOM, DEBUG_SYMBOLS ATTACH), in the rounds a
// far registry needs and no more: [the blobs asked about, when this tree has not pushed here
// before], upload sessions (and the referrers tag read), the uploads' PUTs, the manifest under each
// platform tag and by digest beside the artifact manifests (a registry must take a referrer before
// its subject), then the manifest read back beside the referrers tag written. The manifest step
// reads that tag again and lists anew what another writer dropped. No engine.
struct AssembledPush {
  Descriptor image;
  Attested attested;
  std::set<std::string> blobs;  // what the repository holds of this image now
};
AssembledPush publish_assembled(const Spec& spec, const Platform& platform, const BuildRecord& built,
                                const std::filesystem::path& state, const std::filesystem::path& scratch,
                                const std::optional<Symbols>& symbols, const Remembered& before, RegistryClient& client,
                                Runner& runner, const Log& log) {
  AssembledPush out;
  if (!built.base_layers.empty()) push_base_layers(spec, built, scratch, before.blobs, client, runner, log);
  out.blobs.insert(built.base_layers.begin(), built.base_layers.end());

  const auto manifest = read_text_file(layout_blob(spec.image.layout, built.image_id));
  if (sha256_digest(manifest) != built.image_id)
    throw Error(Exit::verify_failed,
                "the manifest " + built.image_id + " in " + spec.image.layout.string() + " has other content");
  boost::system::error_code ec;
  const auto parsed = boost::json::parse(manifest, ec);
  const auto* type = !ec && parsed.is_object() ? parsed.as_object().if_contains("mediaType") : nullptr;
  const std::string media_type = type && type->is_string() ? std::string(type->get_string()) : media::oci_manifest;
  const Descriptor subject{media_type, built.image_id, static_cast<std::int64_t>(manifest.size()), "", {}};
  const auto& digest = built.image_id;

  // The documents, made here before any request (the source revision and the SBOM's packages are
  // remembered between runs).
  std::vector<Artifact> artifacts;
  if (spec.provenance.enabled || spec.provenance.sbom) {
    const auto source = source_revision(spec.provenance, runner, log, state / "source-revision.json");
    if (spec.provenance.enabled)
      artifacts.push_back(
          provenance_artifact(spec, platform, digest, built.base_digest, source, read_built_with(state, platform, log)));
    if (spec.provenance.sbom)
      artifacts.push_back(sbom_artifact(spec, platform, digest, built.base_digest, source, state, runner, log));
  }
  if (symbols) artifacts.push_back(symbols->artifact);

  // Every blob: the image's own layers and config, then the documents' and their empty config.
  struct Blob {
    std::string digest;
    std::filesystem::path file;
    const std::string* bytes = nullptr;
    bool image = false;
    std::string session;
    bool there = false;
  };
  static const std::string empty_config = "{}";
  std::vector<Blob> blobs;
  const auto add = [&](Blob b) {
    if (std::none_of(blobs.begin(), blobs.end(), [&](const Blob& x) { return x.digest == b.digest; }))
      blobs.push_back(std::move(b));
  };
  for (const auto& d : built.layers) add({d, layout_blob(spec.image.layout, d), nullptr, true});
  add({built.config_digest, layout_blob(spec.image.layout, built.config_digest), nullptr, true});
  if (!artifacts.empty()) add({sha256_digest(empty_config), {}, &empty_config});
  for (const auto& a : artifacts) add(a.file.empty() ? Blob{sha256_digest(a.document), {}, &a.document} : Blob{a.digest, a.file});
  for (auto& b : blobs) b.there = before.blobs.count(b.digest) != 0;

  // Where the registry lists the image's referrers, and what it lists, as this tree's last push found
  // it: the referrers tag, read in the upload sessions' round; the referrers API, asked first (it
  // answers before the subject exists); nowhere (a tag that is the subject itself, GitLab's: nothing
  // to read). A first push asks once the image is there (the API, then the tag), since a registry
  // that reads the tag as the subject's digest cannot tell before.
  std::optional<Referrers> known;
  std::optional<Manifest> tag_answer;
  const bool documents = !artifacts.empty();
  const bool read_tag = documents && spec.platform_tags && before.referrers_index == "tag";
  if (documents && before.referrers_index == "api") known = referrers(client, digest);
  if (documents && before.referrers_index == "none") known = Referrers{ReferrersIndex::none, {}};

  if (!before.any) {  // nothing remembered: each blob is asked about, all at once
    std::unique_ptr<bool[]> present(new bool[blobs.size()]());
    RegistryClient::Batch ask(client);
    for (std::size_t i = 0; i < blobs.size(); ++i) ask.has_blob(blobs[i].digest, present[i]);
    ask.run();
    for (std::size_t i = 0; i < blobs.size(); ++i) blobs[i].there = present[i];
  }
  RegistryClient::Batch sessions(client);
  for (auto& b : blobs)
    if (!b.there) sessions.start_upload(b.session);
  if (read_tag) sessions.get_manifest(referrers_tag(digest), tag_answer);
  sessions.run();
  if (read_tag) known = referrers_from_tag(digest, tag_answer, client);

  RegistryClient::Batch uploads(client);
  int uploaded = 0, images = 0;
  std::int64_t bytes = 0;
  for (const auto& b : blobs) {
    images += b.image;
    if (b.there) continue;
    uploads.finish_upload(b.session, b.digest, b.bytes ? nullptr : &b.file, b.bytes);
    if (!b.image) continue;
    ++uploaded;
    bytes += static_cast<std::int64_t>(std::filesystem::file_size(b.file));
  }
  uploads.run();
  log.info("uploaded " + std::to_string(uploaded) + " of " + std::to_string(images) + " blobs (" + std::to_string(bytes) +
           " bytes); " + (before.any ? "this tree's last push put the others there" : "the registry had the others"));

  // The same image keeps the SBOM and the symbols it has (another build tree, or a later commit that
  // builds the same bytes, attaches none again).
  Attested attested;
  std::vector<ArtifactManifest> to_attach;
  const auto choose = [&] {
    for (const auto& a : artifacts) {
      auto m = artifact_for(a, subject);
      const bool is_symbols = a.artifact_type == media::debug_symbols, is_sbom = a.artifact_type != media::in_toto && !is_symbols;
      std::optional<Descriptor> kept;
      for (const auto& d : known ? known->listed : std::vector<Descriptor>{})
        if ((is_sbom && is_our_sbom(d)) || (is_symbols && d.digest == m.descriptor.digest)) kept = d;
      if (is_symbols) {
        attested.symbols = symbols->published;
        attested.symbols.artifact = m.descriptor.digest;
      }
      if (kept) {
        if (is_sbom) attested.sbom = kept->digest;
        log.info(std::string(is_sbom ? "SBOM " : "debug symbols ") + kept->digest.substr(0, 19) +
                 " kept: " + digest.substr(0, 19) + " has " + (is_sbom ? "it" : "them") + " already");
        continue;
      }
      (is_symbols ? attested.symbols.artifact : is_sbom ? attested.sbom : attested.provenance) = m.descriptor.digest;
      to_attach.push_back(std::move(m));
    }
  };

  std::vector<std::string> tags;
  if (spec.platform_tags)
    for (const auto& tag : spec.tags) tags.push_back(tag + "-" + platform.tag_suffix());
  tags.push_back(digest);
  std::vector<std::string> stated(tags.size()), attached_as(artifacts.size());
  std::unique_ptr<bool[]> indexed(new bool[artifacts.size() + 1]());
  RegistryClient::Batch manifests(client);
  for (std::size_t t = 0; t < tags.size(); ++t) manifests.put_manifest(tags[t], media_type, manifest, &stated[t]);
  const auto put_artifacts = [&](RegistryClient::Batch& batch) {
    choose();
    for (std::size_t k = 0; k < to_attach.size(); ++k)
      batch.put_manifest(to_attach[k].descriptor.digest, media::oci_manifest, to_attach[k].bytes, &attached_as[k], &indexed[k]);
  };
  if (known || !documents) put_artifacts(manifests);
  manifests.run();
  if (documents && !known) {  // a first push: the referrers asked about once the image is there
    known = referrers(client, digest);
    RegistryClient::Batch later(client);
    put_artifacts(later);
    later.run();
  }
  for (const auto& d : stated)
    if (!d.empty() && d != digest)
      throw Error(Exit::verify_failed, spec.repository.registry + " stored the manifest " + digest + " as " + d);
  for (std::size_t k = 0; k < to_attach.size(); ++k)
    if (!attached_as[k].empty() && attached_as[k] != to_attach[k].descriptor.digest)
      throw Error(Exit::verify_failed,
                  "the registry stored the artifact " + to_attach[k].descriptor.digest + " as " + attached_as[k]);

  // Where the new artifacts are listed: the registry's API (it answered OCI-Subject for each), else
  // the referrers tag, merged with what it listed, unless there is none to write (PLATFORM_TAGS OFF,
  // or a tag that is the subject itself: listed nowhere).
  std::optional<Manifest> back;
  RegistryClient::Batch last(client);
  last.get_manifest(digest, back);
  std::vector<Descriptor> entries;
  entries.reserve(to_attach.size());
  for (const auto& m : to_attach) entries.push_back(m.descriptor);
  auto index = known ? known->index : ReferrersIndex::tag;
  const bool all_indexed = std::all_of(indexed.get(), indexed.get() + to_attach.size(), [](bool b) { return b; });
  std::optional<std::string> merged;
  if (!entries.empty()) {
    if (all_indexed)
      index = ReferrersIndex::api;
    else if (!spec.platform_tags || index == ReferrersIndex::none)
      index = ReferrersIndex::none;
    else {
      merged = merged_referrers(known->listed, entries);
      if (merged) last.put_manifest(referrers_tag(digest), media::oci_index, *merged);
    }
  }
  last.run();
  if (!back || back->digest != digest)
    throw Error(Exit::verify_failed, spec.repository.str() + "@" + digest + " does not read back as pushed");
  if (!entries.empty() && index == ReferrersIndex::none) say_listed_nowhere(client, digest, entries, spec.platform_tags, log);
  for (const auto& m : to_attach)
    log.info((m.descriptor.artifact_type == media::debug_symbols
                  ? "debug symbols (" + std::to_string(attested.symbols.files.size()) + " files, " +
                        std::to_string(attested.symbols.size) + " bytes) "
              : m.descriptor.artifact_type == media::in_toto ? std::string("provenance ")
                                                             : std::string("SBOM ")) +
             m.descriptor.digest.substr(0, 19) + " attached to " + digest.substr(0, 19) +
             (merged ? std::string(" (listed in ") + referrers_tag(digest).substr(0, 19) + "…)" : std::string()));
  if (!artifacts.empty()) attested.index = name_of(index);
  for (const auto& b : blobs) out.blobs.insert(b.digest);
  out.image = subject;
  out.attested = std::move(attested);
  return out;
}

}  // namespace

void push_step(const Spec& spec, const Platform& platform, const std::filesystem::path& build_record,
               const std::filesystem::path& record, Runner& runner, const Log& log) {
  const Stopwatch clock;
  remove_record(record);
  auto built = read_build_record(build_record, log);
  // Stale state: the record is unusable, or the image behind it was removed (docker image rm, podman
  // rmi, a pruned builder). Build it again here rather than fail obscurely at the push.
  std::string stale;
  if (!built || built->platform != platform.str()) {
    stale = "no usable build record at " + build_record.string();
  } else if (built->engine == "none") {
    std::error_code ec;
    for (const auto& digest : built->layers) {
      if (!std::filesystem::exists(layout_blob(spec.image.layout, digest), ec))
        stale = "blob " + digest.substr(0, 19) + " is no longer in " + spec.image.layout.string();
    }
    if (!std::filesystem::exists(layout_blob(spec.image.layout, built->image_id), ec))
      stale = "manifest " + built->image_id.substr(0, 19) + " is no longer in " + spec.image.layout.string();
  } else if (!make_engine(built->engine, spec, runner, log, built->builder)->has_image(built->image_id)) {
    stale = "image " + built->image_id.substr(0, 19) + " is no longer in " + built->engine +
            (built->builder.empty() ? "" : " on " + built->builder);
  }
  if (!stale.empty()) {
    log.warn(stale + "; building " + platform.str() + " again");
    build_step(spec, platform, build_record, build_depfile_path(build_record.parent_path(), platform), runner, log);
    built = read_build_record(build_record, log);
    if (!built) throw Error(Exit::step_failed, "the build record of " + platform.str() + " is unreadable after a rebuild");
  }
  log.info("push started (" + spec.repository.registry + ")");

  if (built->engine == "none") {
    // The symbols are checked against the staged files before anything is published.
    std::optional<Symbols> symbols;
    if (spec.image.debug_symbols == "ATTACH" && spec.stage.enabled)
      symbols = debug_symbols(spec, platform, record.parent_path(), log);
    const ScratchDir scratch(record);
    RegistrySession registry(spec.repository, registry_settings(spec), "none", runner, log);
    const auto memory = remembered_path(record.parent_path(), platform);
    const auto before = remembered_push(memory, spec);
    std::filesystem::remove(memory);  // rewritten once this push succeeds
    AssembledPush pushed;
    try {
      pushed = publish_assembled(spec, platform, *built, record.parent_path(), scratch.path(), symbols, before, registry.client,
                                 runner, log);
    } catch (const Error& e) {
      if (!before.any || std::string_view(e.what()).find("BLOB_UNKNOWN") == std::string_view::npos) throw;
      log.warn(std::string(e.what()) + ": the registry lacks a blob this tree's last push put there; asking about each");
      pushed = publish_assembled(spec, platform, *built, record.parent_path(), scratch.path(), symbols, {}, registry.client,
                                 runner, log);
    }
    const auto& digest = pushed.image.digest;
    const auto& attested = pushed.attested;
    // By digest only (PLATFORM_TAGS OFF), the platform is where the push put it.
    const auto references =
        spec.platform_tags ? built->references : std::vector<std::string>{spec.repository.str() + "@" + digest};
    // "none" with PLATFORM_TAGS OFF says what this push wrote, not what the registry can list.
    remember_push(memory, spec, pushed.blobs, spec.platform_tags ? attested.index : std::string());
    write_record(record,
                 PushRecord{spec.name, platform.str(), "none", "", built->image_id, spec.repository.str(), digest, references,
                            clock.seconds(), attested.provenance, attested.sbom, attested.index, attested.symbols});
    log.info("push done in " + clock.str() + " (" + spec.repository.str() + "@" + digest + ")");
    return;
  }

  // The image lives where it was built: push from there.
  auto engine = make_engine(built->engine, spec, runner, log, built->builder);
  // A push refused for the rate of requests: the engine does not say how long the registry asked to
  // wait, so the registry is asked, with a request the push makes too (its config blob, by the image
  // id), and the wait its 429 asks for is waited (announced, bounded, interruptible) before the push
  // goes again. An answer with no limit, or none (a 429 without Retry-After, a registry that refuses
  // the question), leaves the retry policy's backoff to decide: the question never fails the push.
  std::optional<RegistrySession> asked;
  engine->on_rate_limit([&] {
    auto settings = registry_settings(spec);
    settings.retry.tries = 1;
    const auto before = asked ? asked->client.rate_limit_waits() : 0;
    try {
      if (!asked) asked.emplace(spec.repository, settings, built->engine, runner, log);
      asked->client.has_blob(built->image_id);
    } catch (const Error& e) {
      if (e.code() == Exit::interrupted) throw;
      // A wait longer than the client takes fails the question, naming the limit: the push too.
      if (std::string_view(e.what()).find("limits the rate of requests") != std::string_view::npos) throw;
      log.warn(std::string("asking the registry how long to wait: ") + e.what());
    }
    return asked && asked->client.rate_limit_waits() > before;
  });
  const ScratchDir scratch(record);
  std::string digest;
  for (const auto& ref : built->references) {
    const auto d = engine->push(built->image_id, ref, spec.repository, scratch.path());
    if (!digest.empty() && d != digest)
      throw Error(Exit::step_failed,
                  ref + " was pushed as " + d + " but the same image went out as " + digest + " under another tag");
    digest = d;
  }
  Attested attested;
  if (spec.provenance.enabled || spec.provenance.sbom) {
    RegistrySession registry(spec.repository, registry_settings(spec), engine->name(), runner, log);
    // The engine pushed it: what it is and its size, as the registry has it.
    const auto subject = registry.client.get_manifest(digest);
    if (!subject)
      throw Error(Exit::verify_failed, spec.repository.str() + "@" + digest + " is not in the registry after its push");
    attested = attest(spec, platform, {subject->media_type, digest, static_cast<std::int64_t>(subject->bytes.size()), "", {}},
                      record.parent_path(), registry.client, runner, log);
  }
  write_record(record,
               PushRecord{spec.name, platform.str(), engine->name(), built->builder, built->image_id, spec.repository.str(),
                          digest, built->references, clock.seconds(), attested.provenance, attested.sbom, attested.index});
  log.info("push done in " + clock.str() + " (" + spec.repository.str() + "@" + digest + ")");
}

}  // namespace mai
