// symbols: a platform's debug symbols, which DEBUG_SYMBOLS ATTACH published beside its image as an OCI
// 1.1 referrer, fetched from the registry into a directory in the .build-id layout GDB's
// debug-file-directory and elfutils' debuginfod read.
#include <boost/json.hpp>
#include <iostream>

#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/scratch.hpp"
#include "model/records.hpp"
#include "oci/media_types.hpp"
#include "registry/platform_manifest.hpp"
#include "registry/referrers.hpp"
#include "registry/session.hpp"
#include "stage/debug_symbols.hpp"
#include "stage/symbols_archive.hpp"
#include "steps/steps.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;

namespace mai {
namespace {

// The one layer of a debug-symbols artifact manifest whose subject must be `subject`; `what` names it.
Descriptor symbols_layer(const std::string& bytes, const std::string& subject, const std::string& what) {
  boost::system::error_code ec;
  const auto v = json::parse(bytes, ec);
  const auto* o = ec ? nullptr : v.if_object();
  const auto text = [](const json::object* in, const char* key) {
    const auto* f = in ? in->if_contains(key) : nullptr;
    return f && f->is_string() ? std::string(f->get_string()) : std::string();
  };
  if (!o || text(o, "artifactType") != media::debug_symbols)
    throw Error(Exit::verify_failed, what + " is not a manifest of artifact type " + media::debug_symbols);
  const auto* s = o->if_contains("subject");
  if (!s || !s->is_object() || text(&s->as_object(), "digest") != subject)
    throw Error(Exit::verify_failed, what + " does not name " + subject + " as its subject");
  const auto* layers = o->if_contains("layers");
  if (!layers || !layers->is_array() || layers->as_array().size() != 1 || !layers->as_array().front().is_object())
    throw Error(Exit::verify_failed, what + " does not have exactly one layer");
  const auto& layer = layers->as_array().front().as_object();
  const auto* size = layer.if_contains("size");
  Descriptor d{text(&layer, "mediaType"), text(&layer, "digest"), size && size->is_int64() ? size->as_int64() : -1, "", "", {}};
  if (d.media_type != media::debug_symbols || !is_sha256_digest(d.digest) || d.size < 0)
    throw Error(Exit::verify_failed,
                what + "'s layer is not a " + media::debug_symbols + " blob with a sha256 digest and a size");
  return d;
}

}  // namespace

void symbols_command(const SymbolsRequest& request, Runner& runner, const Log& log) {
  std::optional<ManifestRecord> published;
  if (!request.metadata.empty()) published = read_manifest_record(request.metadata, log);
  auto text = request.reference;
  if (text.empty()) {
    if (!published || published->index_digest.empty())
      throw Error(Exit::invalid_input, "no image reference was given, and " +
                                           (request.metadata.empty() ? std::string("no metadata.json")
                                                                     : request.metadata.string() + " names no published image") +
                                           ": publish it first (image-push), or name one: multiarch-image symbols "
                                           "<repository>[:<tag>|@<digest>] --platform <os/arch> --out <dir>");
    text = published->repository + "@" + published->index_digest;
  }
  const auto reference = parse_image_reference(text);
  const auto where = text + " (" + request.platform.str() + ")";
  RegistrySession registry(reference.repository,
                           request.spec ? registry_settings(*request.spec) : registry_settings_from_environment(), "none", runner,
                           log);
  auto& client = registry.client;
  const auto image = platform_manifest(client, reference, request.platform, text);

  // The artifacts: the one this build tree's metadata.json names for that very image, else what the
  // registry lists as the image's referrers of the debug-symbols type.
  std::vector<std::string> artifacts;
  if (published)
    for (const auto& p : published->platforms)
      if (p.platform == request.platform.str() && (p.digest == image.digest || p.pushed_digest == image.digest) &&
          !p.debug_symbols.artifact.empty())
        artifacts.push_back(p.debug_symbols.artifact);
  ReferrersIndex index = ReferrersIndex::tag;
  if (artifacts.empty()) {
    const auto found = referrers(client, image.digest);
    index = found.index;
    for (const auto& d : found.listed)
      if (d.artifact_type == media::debug_symbols) artifacts.push_back(d.digest);
  }
  if (artifacts.empty())
    throw Error(Exit::invalid_input,
                "no debug symbols are published beside " + where + ", " + image.digest +
                    (index == ReferrersIndex::none
                         ? std::string(": the registry lists no referrers (GitLab's lists none): give --metadata with the "
                                       "metadata.json that names them")
                         : std::string(": an image published with DEBUG_SYMBOLS ATTACH (the default of RelWithDebInfo and "
                                       "Debug builds) has them")));

  fs::create_directories(request.out);
  std::vector<std::string> ids;
  for (const auto& digest : artifacts) {
    const auto what = "the debug symbols " + digest.substr(0, 19) + " of " + where;
    const auto manifest = client.get_manifest(checked_digest(digest, what));
    if (!manifest) throw Error(Exit::step_failed, what + " are not in the registry");
    const auto layer = symbols_layer(manifest->bytes, image.digest, what);
    // Beside where it is extracted (one file system), removed after.
    const ScratchDir scratch(request.out / ".multiarch-image-symbols");
    const auto archive = scratch.path() / "symbols.tar";
    client.fetch_blob(layer.digest, archive);
    for (auto& id : extract_symbols_archive(archive, request.out, what)) ids.push_back(std::move(id));
  }
  for (const auto& id : ids) std::cout << (request.out / build_id_path(id)).string() << "\n";
  log.info(std::to_string(ids.size()) + " debug files of " + where + " in " + (request.out / ".build-id").string() +
           " (gdb: set debug-file-directory " + request.out.string() + "; debuginfod -F " + request.out.string() + ")");
}

}  // namespace mai
