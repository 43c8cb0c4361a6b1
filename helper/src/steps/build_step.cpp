// build: one platform's image from the context, its record, and the depfile listing the context.
#include <algorithm>
#include <boost/json.hpp>
#include <cstdlib>
#include <map>
#include <optional>

#include "attest/sbom.hpp"
#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/files.hpp"
#include "base/json_file.hpp"
#include "base/scratch.hpp"
#include "base/stopwatch.hpp"
#include "engine/factory.hpp"
#include "image/assemble.hpp"
#include "image/base_tree.hpp"
#include "model/records.hpp"
#include "oci/media_types.hpp"
#include "registry/platform_manifest.hpp"
#include "registry/session.hpp"
#include "stage/context.hpp"
#include "stage/debug_symbols.hpp"
#include "stage/packages.hpp"
#include "stage/staged_files.hpp"
#include "stage/staging.hpp"
#include "steps/steps.hpp"

namespace mai {

Spec spec_for_platform_build(const Spec& spec, const Platform& platform) {
  if (!spec.stage.enabled) return spec;
  Spec s = spec;
  s.context = spec.stage.composed;
  s.build_args.push_back({"MULTIARCH_STAGE", spec.stage.dir + "/" + platform.target_suffix()});
  for (const auto& other : spec.platforms)
    if (!(other == platform)) s.deps_exclude.push_back(spec.stage.composed / spec.stage.dir / other.target_suffix());
  return s;
}

std::vector<std::string> platform_references(const Spec& spec, const Platform& platform) {
  std::vector<std::string> refs;
  refs.reserve(spec.tags.size());
  for (const auto& tag : spec.tags) refs.push_back(spec.repository.str() + ":" + tag + "-" + platform.tag_suffix());
  return refs;
}

namespace {

// ESSENTIALS' files for the SBOM, in the record the push step reads beside the stage's: each with its
// SHA-256 (copied byte for byte, so as in the image) and, for the CA bundle and the time zone database
// that this machine's packages provide, that package at its installed version. The bundle is
// ca-certificates' when it is the one that package's update-ca-certificates writes (no package lists
// it as a file of its own), not a bundle of the project's (MULTIARCH_IMAGE_CA_BUNDLE). dpkg's list of
// each such package joins `inputs`, the depfile: an upgrade that changes no file still changes the
// version the SBOM names.
void record_essentials(const Spec& spec, const Platform& platform, const Essentials& essentials,
                       std::vector<std::filesystem::path>& inputs, Runner& runner, const Log& log) {
  const auto state = spec.image.layout.parent_path();
  const auto record = essentials_files_path(state, platform);
  std::error_code ec;
  if (spec.image.essentials.empty()) {
    std::filesystem::remove(record, ec);
    return;
  }
  const auto same = [](const std::filesystem::path& a, const std::filesystem::path& b) {
    std::error_code error;
    return std::filesystem::equivalent(a, b, error);
  };
  std::map<std::string, std::string> package_of;  // item -> the package that provides its files
  std::vector<std::string> names;
  const auto from = [&](const std::string& item, const std::string& package) {
    if (std::find(spec.image.essentials.begin(), spec.image.essentials.end(), item) == spec.image.essentials.end()) return;
    package_of[item] = package;
    names.push_back(package);
  };
  if (same(spec.image.ca_bundle, kDefaultCaBundle)) from("ca-certificates", "ca-certificates");
  if (same(spec.image.zoneinfo, "/usr/share/zoneinfo")) from("tzdata", "tzdata");
  const auto packages = installed_packages(names, runner, log, "/etc/os-release", {state / "essentials.packages.json"});
  const auto info = PackageCache::default_dpkg_status().parent_path() / "info";
  for (const auto& name : names)
    if (std::filesystem::is_regular_file(info / (name + ".list"), ec)) inputs.push_back(info / (name + ".list"));
  std::vector<StagedFile> files;
  for (const auto& e : essentials.entries) {
    if (e.entry.kind != LayerEntry::Kind::file) continue;
    const bool generated = e.item == "accounts";  // written by the helper, from no file of this machine
    StagedFile file{"/" + e.entry.path,
                    "essentials",
                    sha256_digest(read_text_file(e.entry.source)),
                    "",
                    {},
                    "",
                    generated ? "" : e.entry.source.string(),
                    std::nullopt};
    if (const auto it = package_of.find(e.item); it != package_of.end())
      if (const auto p = packages.find(it->second); p != packages.end()) file.package = p->second;
    files.push_back(std::move(file));
  }
  std::sort(files.begin(), files.end(), [](const StagedFile& a, const StagedFile& b) { return a.path < b.path; });
  write_staged_files(record, files);
}

// BASE: the helper writes the image itself, into the layout; no engine is asked anything.
void assemble_step(const Spec& spec, const Platform& platform, const std::filesystem::path& record,
                   const std::filesystem::path& depfile, Runner& runner, const Log& log) {
  const Stopwatch clock;
  remove_record(record);
  log.info("build started (assembled by the helper, base " + spec.image.base + ")");
  const auto staged =
      spec.stage.enabled ? spec.stage.composed / spec.stage.dir / platform.target_suffix() : std::filesystem::path();
  // A base given by tag is resolved again whenever this step runs; one pinned by digest never moves.
  std::optional<BaseImage> base;
  if (spec.image.base != "scratch") {
    RegistrySession registry(parse_image_reference(spec.image.base).repository, registry_settings(spec), "none", runner, log);
    base = resolve_base(registry.client, spec.image.base, platform, log);
    // Its layers once per digest into the layout: read for its links and accounts, and what loading
    // the image into an engine needs.
    fetch_base_layers(registry.client, base->layer_descriptors, spec.image.layout / "blobs" / "sha256", spec.image.base, log);
  }
  // DEBUG_SYMBOLS ATTACH: every stripped file still matches the debug symbols the push step will
  // publish beside the image (checked again there), or nothing is built.
  if (spec.image.debug_symbols == "ATTACH" && spec.stage.enabled) checked_debug_files(record.parent_path(), platform, staged);
  const auto image = assemble_image(spec, platform, staged, log, base ? &*base : nullptr);
  auto inputs = image.inputs;
  record_essentials(spec, platform, image.essentials, inputs, runner, log);
  write_depfile(depfile, record, inputs);
  std::int64_t size = image.config.size;
  std::vector<std::string> layers;
  for (const auto& l : image.layers) {
    size += l.blob.size;
    layers.push_back(l.blob.digest);
  }
  write_record(record, BuildRecord{spec.name, platform.str(), "none", "assembled", "", image.manifest.digest, size,
                                   platform_references(spec, platform), clock.seconds(), image.config.digest, layers,
                                   image.base_digest, image.base_repository, image.base_layers});
  log.info("build done in " + clock.str() + " (" + std::to_string(image.layers.size()) + " layers, " + std::to_string(size) +
           " bytes compressed, manifest " + image.manifest.digest.substr(0, 19) + ")");
}

// The SBOM names each FROM base by the digest its registry gives for the platform when the push step
// runs. An engine builds from its own copy of a base when it keeps one, which may be older than what
// the registry holds: with the SBOM on and every base found in its registry, the engine pulls them
// again, so that the image is made from what the SBOM names. A base no registry answers for (a local
// image, a registry out of reach) leaves the engine its copy; the SBOM then lists it without a digest.
BuildSources bases_named_by_the_sbom(const Spec& spec, const Platform& platform, Runner& runner, const Log& log) {
  std::error_code ec;
  if (!spec.provenance.sbom || !std::filesystem::is_regular_file(spec.dockerfile, ec)) return {};
  const auto written = dockerfile_bases(read_text_file(spec.dockerfile), spec.build_args);
  if (written.empty()) return {};
  auto settings = registry_settings(spec);
  settings.retry.tries = 1;  // a question, not a transfer: an offline build must not wait through backoffs
  BuildSources out;
  std::string named;
  for (const auto& base : written) {
    try {
      const auto reference = parse_image_reference(base);
      RegistrySession registry(reference.repository, settings, "none", runner, log);
      const auto digest = platform_manifest(registry.client, reference, platform, "FROM " + base).digest;
      out.registries.push_back(reference.repository);
      named += (named.empty() ? "" : ", ") + base + " (" + digest.substr(0, 19) + ")";
    } catch (const Error& e) {
      log.warn("FROM " + base + " was not found in its registry (" + e.what() +
               "): the engine builds from its own copy, and the SBOM lists that base without a digest");
      return {};
    }
  }
  out.pull = Pull::always;
  log.info("FROM bases pulled from their registries, as the SBOM names them: " + named);
  return out;
}

// PULL, when given, decides instead of the SBOM: the engine is told exactly that, and no registry is
// asked here. The bases' repositories go along for their TLS settings.
BuildSources bases_for_the_build(const Spec& spec, const Platform& platform, Runner& runner, const Log& log) {
  const auto& pull = spec.build_options.pull;
  if (pull.empty()) return bases_named_by_the_sbom(spec, platform, runner, log);
  BuildSources out;
  out.pull = pull_policy(pull);
  for (const auto& base : dockerfile_bases(read_text_file(spec.dockerfile), spec.build_args)) {
    try {
      out.registries.push_back(parse_image_reference(base).repository);
    } catch (const Error&) {
      // Not a reference the helper reads: the engine says what it makes of it.
    }
  }
  if (out.pull != Pull::always && spec.provenance.sbom && !out.registries.empty())
    log.warn(std::string("PULL ") + (out.pull == Pull::missing ? "MISSING" : "NEVER") +
             ": a FROM base the engine already holds is built from that copy, which may be older than the digest "
             "its registry gives and the SBOM names; PULL ALWAYS builds from what the SBOM names");
  return out;
}

// REGISTRY_CACHE INLINE: the cache the build starts from is the one in the platform's image last
// published under the cache's tag (the first of TAGS, or GIT_LATEST's latest), named by its digest (the engine reads exactly
// the image looked at here, whatever moves the tag meanwhile). None is published yet (a first publish,
// a platform new to the image): the build starts without one. A registry that does not answer, or
// limits the rate of requests, costs the cache, not the build: the push says what is wrong with it.
std::string published_cache(const Spec& spec, const Platform& platform, const std::string& engine, Runner& runner,
                            const Log& log) {
  const auto& tag = spec.build_options.registry_cache_tag;
  const auto tagged = spec.repository.str() + ":" + tag;
  auto settings = registry_settings(spec);
  settings.retry.tries = 1;  // a question, not a transfer: no backoff, and no rate limit's wait
  settings.max_rate_limit_wait = std::chrono::seconds(0);
  try {
    RegistrySession registry(spec.repository, settings, engine, runner, log);
    const auto published = registry.client.get_manifest(tag);
    if (!published) {
      log.info("REGISTRY_CACHE: nothing is published as " + tagged + " yet; building without a cache");
      return {};
    }
    auto reference = parse_image_reference(tagged);
    reference.digest = published->digest;
    const auto digest = platform_manifest(registry.client, reference, platform, "REGISTRY_CACHE " + tagged).digest;
    // One image, not an index, says its platform only in its config: BuildKit keys each step by the
    // platform it is built for, so nothing of another platform is taken from it.
    log.info("REGISTRY_CACHE: building from the cache in " + tagged +
             (media::is_index(published->media_type) ? " for " + platform.str() : " (one image, not an index)") + " (" +
             digest.substr(0, 19) + ")");
    return spec.repository.str() + "@" + digest;
  } catch (const Error& e) {
    log.warn(std::string("REGISTRY_CACHE: no cache from ") + tagged + " (" + e.what() + "); building without one");
    return {};
  }
}

// SECRETS: each value is where the spec says when the build starts, or the build is not started. The
// message names the secret and where its value should be, never a value.
void require_secrets(const Spec& spec) {
  for (const auto& s : spec.build_options.secrets) {
    if (!s.env.empty() && !std::getenv(s.env.c_str()))
      throw Error(Exit::invalid_input, "build secret `" + s.id + "`: the environment variable " + s.env +
                                           " is not set where the build runs (SECRETS id=" + s.id + ",env=" + s.env + ")");
    std::error_code ec;
    if (!s.src.empty() && !std::filesystem::is_regular_file(s.src, ec))
      throw Error(Exit::invalid_input, "build secret `" + s.id + "`: the file " + s.src.string() +
                                           " does not exist or is not a file (SECRETS id=" + s.id + ",src=...)");
  }
}

}  // namespace

void build_step(const Spec& image, const Platform& platform, const std::filesystem::path& record,
                const std::filesystem::path& depfile, Runner& runner, const Log& log) {
  if (image.image.enabled) return assemble_step(image, platform, record, depfile, runner, log);
  const auto spec = spec_for_platform_build(image, platform);
  const Stopwatch clock;
  remove_record(record);
  if (!std::filesystem::is_directory(spec.context))
    throw Error(Exit::invalid_input, "context directory " + spec.context.string() + " does not exist");
  if (!std::filesystem::is_regular_file(spec.dockerfile))
    throw Error(Exit::invalid_input, "Dockerfile " + spec.dockerfile.string() + " does not exist");

  // Listed before the build: a file edited while the engine reads the context is then newer than the
  // record, and the next run builds again.
  const auto inputs = context_inputs(spec.context, spec.dockerfile, spec.deps_exclude);
  log.info("build started");

  const auto* builder = spec.builder_for(platform);
  auto engine = resolve_engine(spec, runner, log, builder ? builder->address : "");
  if (builder) {
    // A builder that cannot be reached gets a message about the builder, not about a failed build.
    if (const auto r = engine->probe(); !r.ok())
      throw Error(Exit::step_failed, "builder '" + builder->address + "' for " + platform.str() + " (set by " + builder->origin +
                                         ") cannot be reached by " + engine->name() + ":\n" + r.tail);
  }
  const ScratchDir scratch(record);
  const auto refs = platform_references(spec, platform);
  require_secrets(spec);
  auto sources = bases_for_the_build(spec, platform, runner, log);
  if (spec.build_options.registry_cache == "inline") {
    sources.inline_cache = true;
    if (engine->name() == "docker") sources.cache_from = published_cache(spec, platform, engine->name(), runner, log);
  }
  auto built = engine->build(spec, platform, refs, scratch.path(), Cache::use, sources);
  // Podman 4.3 reuses a cached FROM scratch layer across platforms and returns another platform's
  // image; a legacy docker builder may ignore --platform. Never record an image of the wrong platform.
  const auto wanted = platform.os + "/" + platform.arch;
  auto info = engine->image_info(built.image_id);
  if (info.platform != wanted) {
    log.warn(engine->name() + " returned a " + info.platform + " image for " + platform.str() +
             " (a layer cache that ignores the platform); building again without the cache");
    built = engine->build(spec, platform, refs, scratch.path(), Cache::ignore, sources);
    if (info = engine->image_info(built.image_id); info.platform != wanted)
      throw Error(Exit::step_failed, engine->name() + " built a " + info.platform + " image for " + platform.str() +
                                         " even without its cache; is emulation (binfmt/QEMU) set up for it?");
  }

  write_depfile(depfile, record, inputs);
  const auto address = builder ? builder->address : "";
  write_record(record, BuildRecord{spec.name, platform.str(), engine->name(), built.method, address, built.image_id, info.size,
                                   refs, clock.seconds()});
  log.info("build done in " + clock.str() + " (" + engine->name() + "/" + built.method +
           (address.empty() ? "" : " on " + address) + ", image " + built.image_id.substr(0, 19) + ")");
}

}  // namespace mai
