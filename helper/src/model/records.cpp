#include "model/records.hpp"

#include <boost/json.hpp>
#include <cmath>
#include <stdexcept>

#include "base/error.hpp"
#include "base/interrupt.hpp"
#include "base/json_file.hpp"
#include "base/log.hpp"
#include "oci/media_types.hpp"

namespace mai {
namespace json = boost::json;

namespace {

// A step's duration: a finite number. A number too large for a double (2e3814) reads as infinity,
// which JSON cannot write back: such a record is malformed (read as absent, with a warning).
double record_seconds(const json::object& o) {
  const auto seconds = json::value_to<double>(o.at("seconds"));
  if (!std::isfinite(seconds)) throw std::invalid_argument("its seconds are not a finite number");
  return seconds;
}

}  // namespace

void tag_invoke(json::value_from_tag, json::value& v, const BuildRecord& r) {
  v = {{"format", kRecordFormat},
       {"kind", "build"},
       {"name", r.name},
       {"platform", r.platform},
       {"engine", r.engine},
       {"method", r.method},
       {"builder", r.builder},
       {"image_id", r.image_id},
       {"image_size", r.image_size},
       {"references", json::value_from(r.references)},
       {"seconds", r.seconds},
       {"config_digest", r.config_digest},
       {"layers", json::value_from(r.layers)},
       {"base_digest", r.base_digest},
       {"base_repository", r.base_repository},
       {"base_layers", json::value_from(r.base_layers)}};
}
BuildRecord tag_invoke(json::value_to_tag<BuildRecord>, const json::value& v) {
  const auto& o = v.as_object();
  return {json::value_to<std::string>(o.at("name")),
          json::value_to<std::string>(o.at("platform")),
          json::value_to<std::string>(o.at("engine")),
          json::value_to<std::string>(o.at("method")),
          json::value_to<std::string>(o.at("builder")),
          json::value_to<std::string>(o.at("image_id")),
          json::value_to<std::int64_t>(o.at("image_size")),
          json::value_to<std::vector<std::string>>(o.at("references")),
          record_seconds(o),
          o.contains("config_digest") ? json::value_to<std::string>(o.at("config_digest")) : std::string(),
          o.contains("layers") ? json::value_to<std::vector<std::string>>(o.at("layers")) : std::vector<std::string>(),
          o.contains("base_digest") ? json::value_to<std::string>(o.at("base_digest")) : std::string(),
          o.contains("base_repository") ? json::value_to<std::string>(o.at("base_repository")) : std::string(),
          o.contains("base_layers") ? json::value_to<std::vector<std::string>>(o.at("base_layers")) : std::vector<std::string>()};
}

void tag_invoke(json::value_from_tag, json::value& v, const PublishedSymbols& p) {
  json::array files;
  for (const auto& f : p.files) files.push_back(json::object{{"path", f.path}, {"build_id", f.build_id}});
  v = {{"artifact", p.artifact},
       {"artifact_type", media::debug_symbols},
       {"archive", p.archive},
       {"size", p.size},
       {"files", std::move(files)}};
}
PublishedSymbols tag_invoke(json::value_to_tag<PublishedSymbols>, const json::value& v) {
  const auto& o = v.as_object();
  PublishedSymbols p{json::value_to<std::string>(o.at("artifact")),
                     json::value_to<std::string>(o.at("archive")),
                     json::value_to<std::int64_t>(o.at("size")),
                     {}};
  for (const auto& f : o.at("files").as_array())
    p.files.push_back(
        {json::value_to<std::string>(f.as_object().at("path")), json::value_to<std::string>(f.as_object().at("build_id"))});
  return p;
}

namespace {

// DEBUG_SYMBOLS: written only when something was published, read when there.
void put_symbols(json::value& v, const PublishedSymbols& p) {
  if (!p.artifact.empty()) v.as_object()["debug_symbols"] = json::value_from(p);
}
PublishedSymbols symbols_of(const json::object& o) {
  const auto* s = o.if_contains("debug_symbols");
  return s && s->is_object() ? json::value_to<PublishedSymbols>(*s) : PublishedSymbols{};
}

}  // namespace

void tag_invoke(json::value_from_tag, json::value& v, const PushRecord& r) {
  v = {{"format", kRecordFormat}, {"kind", "push"},
       {"name", r.name},          {"platform", r.platform},
       {"engine", r.engine},      {"builder", r.builder},
       {"image_id", r.image_id},  {"repository", r.repository},
       {"digest", r.digest},      {"references", json::value_from(r.references)},
       {"seconds", r.seconds},    {"provenance", r.provenance},
       {"sbom", r.sbom},          {"referrers_index", r.referrers_index}};
  put_symbols(v, r.debug_symbols);
}
PushRecord tag_invoke(json::value_to_tag<PushRecord>, const json::value& v) {
  const auto& o = v.as_object();
  return {json::value_to<std::string>(o.at("name")),
          json::value_to<std::string>(o.at("platform")),
          json::value_to<std::string>(o.at("engine")),
          json::value_to<std::string>(o.at("builder")),
          json::value_to<std::string>(o.at("image_id")),
          json::value_to<std::string>(o.at("repository")),
          json::value_to<std::string>(o.at("digest")),
          json::value_to<std::vector<std::string>>(o.at("references")),
          record_seconds(o),
          o.contains("provenance") ? json::value_to<std::string>(o.at("provenance")) : std::string(),
          o.contains("sbom") ? json::value_to<std::string>(o.at("sbom")) : std::string(),
          o.contains("referrers_index") ? json::value_to<std::string>(o.at("referrers_index")) : std::string(),
          symbols_of(o)};
}

void tag_invoke(json::value_from_tag, json::value& v, const PlatformEntry& e) {
  v = {{"platform", e.platform},
       {"digest", e.digest},
       {"media_type", e.media_type},
       {"size", e.size},
       {"image_id", e.image_id},
       {"builder", e.builder},
       {"pushed_digest", e.pushed_digest},
       {"attestations", json::value_from(e.attestations)},
       {"base_digest", e.base_digest},
       {"provenance", e.provenance},
       {"sbom", e.sbom},
       {"referrers_index", e.referrers_index}};
  put_symbols(v, e.debug_symbols);
}
PlatformEntry tag_invoke(json::value_to_tag<PlatformEntry>, const json::value& v) {
  const auto& o = v.as_object();
  PlatformEntry e{json::value_to<std::string>(o.at("platform")),
                  json::value_to<std::string>(o.at("digest")),
                  json::value_to<std::string>(o.at("media_type")),
                  json::value_to<std::int64_t>(o.at("size")),
                  json::value_to<std::string>(o.at("image_id")),
                  json::value_to<std::string>(o.at("builder")),
                  {},
                  {}};
  // Records from before attestations were kept have neither field.
  e.pushed_digest = o.contains("pushed_digest") ? json::value_to<std::string>(o.at("pushed_digest")) : e.digest;
  if (o.contains("attestations")) e.attestations = json::value_to<std::vector<std::string>>(o.at("attestations"));
  if (o.contains("base_digest")) e.base_digest = json::value_to<std::string>(o.at("base_digest"));
  if (o.contains("provenance")) e.provenance = json::value_to<std::string>(o.at("provenance"));
  if (o.contains("sbom")) e.sbom = json::value_to<std::string>(o.at("sbom"));
  if (o.contains("referrers_index")) e.referrers_index = json::value_to<std::string>(o.at("referrers_index"));
  e.debug_symbols = symbols_of(o);
  return e;
}

void tag_invoke(json::value_from_tag, json::value& v, const ManifestRecord& r) {
  v = {{"format", kRecordFormat},
       {"kind", "manifest"},
       {"name", r.name},
       {"repository", r.repository},
       {"tags", json::value_from(r.tags)},
       {"engine", r.engine},
       {"index_digest", r.index_digest},
       {"index_media_type", r.index_media_type},
       {"platforms", json::value_from(r.platforms)},
       {"seconds", r.seconds}};
}
ManifestRecord tag_invoke(json::value_to_tag<ManifestRecord>, const json::value& v) {
  const auto& o = v.as_object();
  return {json::value_to<std::string>(o.at("name")),
          json::value_to<std::string>(o.at("repository")),
          json::value_to<std::vector<std::string>>(o.at("tags")),
          json::value_to<std::string>(o.at("engine")),
          json::value_to<std::string>(o.at("index_digest")),
          json::value_to<std::string>(o.at("index_media_type")),
          json::value_to<std::vector<PlatformEntry>>(o.at("platforms")),
          record_seconds(o)};
}

namespace {

template <class Record>
void write_any(const std::filesystem::path& path, const Record& r) {
  throw_if_interrupted();  // an interrupted step claims nothing
  write_json_atomically(path, json::value_from(r));
}

template <class Record>
std::optional<Record> read_any(const std::filesystem::path& path, std::string_view kind, const Log& log) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  try {
    const auto v = read_json_file(path);
    const auto& o = v.as_object();
    if (o.at("format").as_int64() != kRecordFormat) {
      log.warn(path.string() + " is from another version of the helper; treating it as absent");
      return std::nullopt;
    }
    if (o.at("kind").as_string() != kind) {
      log.warn(path.string() + " is not a " + std::string(kind) + " record; treating it as absent");
      return std::nullopt;
    }
    return json::value_to<Record>(v);
  } catch (const std::exception& e) {
    log.warn(path.string() + " is corrupt (" + e.what() + "); treating it as absent");
    return std::nullopt;
  }
}

}  // namespace

void write_record(const std::filesystem::path& p, const BuildRecord& r) { write_any(p, r); }
void write_record(const std::filesystem::path& p, const PushRecord& r) { write_any(p, r); }
void write_record(const std::filesystem::path& p, const ManifestRecord& r) { write_any(p, r); }

std::optional<BuildRecord> read_build_record(const std::filesystem::path& p, const Log& log) {
  return read_any<BuildRecord>(p, "build", log);
}
std::optional<PushRecord> read_push_record(const std::filesystem::path& p, const Log& log) {
  return read_any<PushRecord>(p, "push", log);
}
std::optional<ManifestRecord> read_manifest_record(const std::filesystem::path& p, const Log& log) {
  return read_any<ManifestRecord>(p, "manifest", log);
}

void remove_record(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::remove(path, ec);
  if (ec) throw Error(Exit::step_failed, "cannot remove the old record " + path.string() + ": " + ec.message());
}

}  // namespace mai
