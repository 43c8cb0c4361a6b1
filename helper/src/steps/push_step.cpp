// push: one platform's built image to the registry under each per-platform tag.
#include <sys/stat.h>

#include <boost/json.hpp>
#include <optional>

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

// An assembled image: each blob the repository lacks uploaded from the layout, then the manifest
// by digest and under every platform tag (none with PLATFORM_TAGS OFF), read back and checked. No engine.
Descriptor publish_assembled(const Spec& spec, const Platform& platform, const BuildRecord& built,
                             const std::filesystem::path& scratch, RegistryClient& client, Runner& runner, const Log& log) {
  // The base's layers: mounted from its repository on the same registry (no bytes move), else copied
  // through a file in the scratch directory (never whole in memory), their digests checked.
  int mounted = 0, copied = 0;
  if (!built.base_layers.empty()) {
    const auto base = parse_repository(built.base_repository);
    const bool same_registry = base.registry == spec.repository.registry;
    std::optional<RegistrySession> source;
    for (const auto& digest : built.base_layers) {
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
             " copied, " + std::to_string(built.base_layers.size() - mounted - copied) + " already there");
  }
  auto blobs = built.layers;
  blobs.push_back(built.config_digest);
  int uploaded = 0;
  std::int64_t bytes = 0;
  for (const auto& digest : blobs) {
    if (client.has_blob(digest)) continue;
    const auto file = layout_blob(spec.image.layout, digest);
    client.put_blob(digest, file);
    ++uploaded;
    bytes += static_cast<std::int64_t>(std::filesystem::file_size(file));
  }
  log.info("uploaded " + std::to_string(uploaded) + " of " + std::to_string(blobs.size()) + " blobs (" + std::to_string(bytes) +
           " bytes); the registry had the others");
  const auto manifest = read_text_file(layout_blob(spec.image.layout, built.image_id));
  if (sha256_digest(manifest) != built.image_id)
    throw Error(Exit::verify_failed,
                "the manifest " + built.image_id + " in " + spec.image.layout.string() + " has other content");
  boost::system::error_code ec;
  const auto parsed = boost::json::parse(manifest, ec);
  const auto* type = !ec && parsed.is_object() ? parsed.as_object().if_contains("mediaType") : nullptr;
  const std::string media_type = type && type->is_string() ? std::string(type->get_string()) : media::oci_manifest;
  std::vector<std::string> tags;
  if (spec.platform_tags)
    for (const auto& tag : spec.tags) tags.push_back(tag + "-" + platform.tag_suffix());
  tags.push_back(built.image_id);
  for (const auto& stated : client.put_manifests(tags, media_type, manifest))
    if (!stated.empty() && stated != built.image_id)
      throw Error(Exit::verify_failed, spec.repository.registry + " stored the manifest " + built.image_id + " as " + stated);
  const auto back = client.get_manifest(built.image_id);
  if (!back || back->digest != built.image_id)
    throw Error(Exit::verify_failed, spec.repository.str() + "@" + built.image_id + " does not read back as pushed");
  return {media_type, built.image_id, static_cast<std::int64_t>(manifest.size()), "", {}};
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

// PROVENANCE and SBOM, and DEBUG_SYMBOLS ATTACH's symbols: the platform's documents attached to what
// was pushed; their artifacts' digests ("" for one that is off) and where the registry lists them.
struct Attested {
  std::string provenance, sbom, index;
  PublishedSymbols symbols;
};
Attested attest(const Spec& spec, const Platform& platform, const Descriptor& subject, const std::string& base_digest,
                const std::filesystem::path& state, RegistryClient& client, Runner& runner, const Log& log,
                const Symbols* symbols = nullptr) {
  const auto& digest = subject.digest;
  Attested out;
  // The same image keeps the SBOM it has (its content is the same): another build tree, or a later
  // commit that builds the same bytes, attaches none. Its symbols, the same for the same image, are
  // not uploaded again either.
  std::optional<Descriptor> kept;
  std::optional<Referrers> known;
  if (spec.provenance.sbom || symbols) known = referrers(client, digest);
  if (spec.provenance.sbom) {
    for (const auto& d : known->listed)
      if (is_our_sbom(d)) kept = d;
    if (kept) {
      out.sbom = kept->digest;
      out.index = name_of(known->index);
      log.info("SBOM " + kept->digest.substr(0, 19) + " kept: " + digest.substr(0, 19) + " has it already");
    }
  }
  bool symbols_kept = false;
  if (symbols) {
    out.symbols = symbols->published;
    out.symbols.artifact = sha256_digest(artifact_manifest(symbols->artifact, subject));
    for (const auto& d : known->listed) symbols_kept = symbols_kept || d.digest == out.symbols.artifact;
    if (symbols_kept) {
      out.index = name_of(known->index);
      log.info("debug symbols " + out.symbols.artifact.substr(0, 19) + " kept: " + digest.substr(0, 19) + " has them already");
    }
  }
  std::vector<Artifact> artifacts;
  if (spec.provenance.enabled || spec.provenance.sbom) {
    // Kept in the state directory: every platform's push, and every push after an edit, asks git the same.
    const auto source = source_revision(spec.provenance, runner, log, state / "source-revision.json");
    if (spec.provenance.enabled)
      artifacts.push_back(
          provenance_artifact(spec, platform, digest, base_digest, source, read_built_with(state, platform, log)));
    if (spec.provenance.sbom && !kept)
      artifacts.push_back(sbom_artifact(spec, platform, digest, base_digest, source, state, runner, log));
  }
  if (symbols && !symbols_kept) artifacts.push_back(symbols->artifact);
  if (artifacts.empty()) return out;
  const auto attached = attach(client, subject, artifacts, log, known ? &*known : nullptr, spec.platform_tags);
  out.index = name_of(attached.index);
  for (const auto& d : attached.artifacts) {
    const bool is_symbols = d.artifact_type == media::debug_symbols, is_provenance = d.artifact_type == media::in_toto;
    (is_symbols ? out.symbols.artifact : is_provenance ? out.provenance : out.sbom) = d.digest;
    log.info((is_symbols ? "debug symbols (" + std::to_string(out.symbols.files.size()) + " files, " +
                               std::to_string(out.symbols.size) + " bytes) "
              : is_provenance ? std::string("provenance ")
                              : std::string("SBOM ")) +
             d.digest.substr(0, 19) + " attached to " + digest.substr(0, 19));
  }
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
    const auto pushed = publish_assembled(spec, platform, *built, scratch.path(), registry.client, runner, log);
    const auto& digest = pushed.digest;
    Attested attested;
    if (spec.provenance.enabled || spec.provenance.sbom || symbols)
      attested = attest(spec, platform, pushed, built->base_digest, record.parent_path(), registry.client, runner, log,
                        symbols ? &*symbols : nullptr);
    // By digest only (PLATFORM_TAGS OFF), the platform is where the push put it.
    const auto references =
        spec.platform_tags ? built->references : std::vector<std::string>{spec.repository.str() + "@" + digest};
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
    attested = attest(spec, platform, {subject->media_type, digest, static_cast<std::int64_t>(subject->bytes.size()), "", {}}, "",
                      record.parent_path(), registry.client, runner, log);
  }
  write_record(record,
               PushRecord{spec.name, platform.str(), engine->name(), built->builder, built->image_id, spec.repository.str(),
                          digest, built->references, clock.seconds(), attested.provenance, attested.sbom, attested.index});
  log.info("push done in " + clock.str() + " (" + spec.repository.str() + "@" + digest + ")");
}

}  // namespace mai
