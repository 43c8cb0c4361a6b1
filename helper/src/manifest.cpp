// manifest: the list over the pushed digests under every tag, read back and verified, written as
// metadata.json for CI steps that sign or deploy.
#include <algorithm>

#include "console.hpp"
#include "engine.hpp"
#include "error.hpp"
#include "index.hpp"
#include "records.hpp"
#include "scratch.hpp"
#include "stages.hpp"
#include "stopwatch.hpp"

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

std::string pad(std::string s, std::size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

// What a person wants at the end of a publish: one row per platform, and where the metadata is.
// `pushed` is in the order of spec.platforms.
void print_summary(const Spec& spec, const std::filesystem::path& record, const std::vector<PushRecord>& pushed,
                   const ManifestRecord& out) {
  const auto prefix = step_prefix(spec, nullptr);
  print_line(prefix, pad("platform", 14) + pad("digest", 21) + pad("size", 10) + pad("build", 9) + "push");
  for (std::size_t i = 0; i < pushed.size(); ++i) {
    const auto built = read_build_record(build_record_path(record.parent_path(), spec.platforms[i]));
    print_line(prefix, pad(pushed[i].platform, 14) + pad(pushed[i].digest.substr(0, 19), 21) +
                           pad(built ? human_size(built->image_size) : "?", 10) + pad(built ? seconds(built->seconds) : "?", 9) +
                           seconds(pushed[i].seconds));
  }
  print_line(prefix, out.repository + ":" + out.tags.front() + " is " + out.index_digest);
  print_line(prefix, "metadata: " + record.string());
}

}  // namespace

void manifest_step(const Spec& spec, const std::vector<std::filesystem::path>& push_records,
                   const std::filesystem::path& record, Runner& runner) {
  const Stopwatch clock;
  const auto prefix = step_prefix(spec, nullptr);
  remove_record(record);

  // One push record per platform of the spec, in the spec's order, all from one engine.
  std::vector<PushRecord> pushed;
  for (const auto& platform : spec.platforms) {
    const auto file = push_record_path({}, platform);
    const auto path = std::find_if(push_records.begin(), push_records.end(),
                                   [&](const std::filesystem::path& p) { return p.filename() == file.filename(); });
    if (path == push_records.end())
      throw Error(Exit::usage, "no --push-record " + file.string() + " for " + platform.str() + " was given");
    auto match = read_push_record(*path);
    if (!match || match->platform != platform.str() || match->repository != spec.repository.str()) {
      // Stale state: a corrupt or foreign push record. Push that platform again rather than fail.
      warn_line(prefix, "no usable push record for " + platform.str() + " at " + path->string() + "; pushing it again");
      push_step(spec, platform, build_record_path(path->parent_path(), platform), *path, runner);
      match = read_push_record(*path);
      if (!match) throw Error(Exit::step_failed, "the push record of " + platform.str() + " is unreadable after a push");
    }
    if (!pushed.empty() && match->engine != pushed.front().engine)
      throw Error(Exit::step_failed, platform.str() + " was pushed by " + match->engine + " but " +
                                         pushed.front().platform + " by " + pushed.front().engine +
                                         "; one manifest list needs one engine (set ENGINE)");
    pushed.push_back(std::move(*match));
  }

  std::vector<std::string> digests;
  std::vector<std::pair<std::string, std::string>> expected;
  for (const auto& p : pushed) {
    digests.push_back(p.digest);
    expected.emplace_back(p.platform, p.digest);
  }

  print_line(prefix, "manifest started (" + std::to_string(pushed.size()) + " platforms)");
  auto engine = make_engine(pushed.front().engine, spec, runner);
  const ScratchDir scratch(record);
  ManifestRecord out{spec.name, spec.repository.str(), spec.tags, engine->name(), "", "", {}, 0};
  for (const auto& tag : spec.tags) {
    const auto where = spec.repository.str() + ":" + tag;
    const auto index_digest = engine->publish_index(spec.repository, tag, digests, scratch.path());
    const auto raw = engine->read_index(spec.repository, tag);
    const auto parsed = parse_index(raw.text);
    const auto entries = verify_index(parsed, expected, where);
    if (raw.exact && sha256_digest(raw.text) != index_digest)
      throw Error(Exit::verify_failed, "verification of " + where + " failed: the registry serves " + sha256_digest(raw.text) +
                                           " but " + index_digest + " was published");
    if (!out.index_digest.empty() && out.index_digest != index_digest)
      throw Error(Exit::verify_failed, "the manifest list was published as " + out.index_digest + " and as " + index_digest +
                                           " under another tag");
    out.index_digest = index_digest;
    out.index_media_type = parsed.media_type;
    out.platforms.clear();
    for (std::size_t i = 0; i < entries.size(); ++i)
      out.platforms.push_back({entries[i].platform, entries[i].digest, entries[i].media_type, entries[i].size,
                               pushed[i].image_id, pushed[i].builder});
    print_line(prefix, "published and verified " + where + "@" + index_digest);
  }
  out.seconds = clock.seconds();
  write_record(record, out);
  print_line(prefix, "manifest done in " + clock.str());
  print_summary(spec, record, pushed, out);
}

}  // namespace mai
