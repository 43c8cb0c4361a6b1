#include "assemble.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <map>

#include "error.hpp"
#include "files.hpp"
#include "json_file.hpp"
#include "steps.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;

namespace mai {
namespace {

// Which layer a staged file goes to: the order is the order of the layers, the C/C++ runtime
// (changes least) first, the programs (change most) last.
enum Group { runtime, libraries, executables, files, groups };
constexpr const char* kComments[groups] = {"the C/C++ runtime and loader (RUNTIME)", "the project's shared libraries",
                                           "the project's executables (TARGETS)", "FILES"};

Group group_of(const std::string& relative) {
  if (relative.starts_with("usr/local/bin/")) return executables;
  if (relative.starts_with("usr/lib/")) return libraries;
  return runtime;
}

bool executable_file(const fs::path& p) {
  std::error_code ec;
  const auto perms = fs::status(p, ec).permissions();
  return (perms & fs::perms::owner_exec) != fs::perms::none;
}

// A symlink is kept as a link when it stays inside `root` (relative, no way out); anything else is
// refused: the image must not depend on what lies outside what was staged.
void check_link(const fs::path& link, const fs::path& root, const std::string& in_image) {
  const auto target = fs::read_symlink(link);
  const auto resolved = (fs::path(in_image).parent_path() / target).lexically_normal();
  if (target.is_absolute() || resolved.empty() || *resolved.begin() == "..")
    throw Error(Exit::invalid_input, link.string() + " is a symlink to " + target.string() + ", outside " + root.string() +
                                         ": an image gets files, not links out of what was staged");
}

// Every entry under `root`, its path in the image being `prefix` + its path under root.
void walk(const fs::path& root, const std::string& prefix, std::vector<LayerEntry>& out, std::vector<fs::path>* inputs,
          const std::function<std::vector<LayerEntry>&(const std::string&)>& bucket = {}) {
  std::error_code ec;
  fs::recursive_directory_iterator it(root, fs::directory_options::none, ec), end;
  if (ec) throw Error(Exit::invalid_input, "cannot read " + root.string() + ": " + ec.message());
  if (inputs) inputs->push_back(root);
  for (; it != end; it.increment(ec)) {
    if (ec) throw Error(Exit::invalid_input, "cannot read " + root.string() + ": " + ec.message());
    const auto relative = it->path().lexically_relative(root).generic_string();
    const auto in_image = prefix + relative;
    auto& target = bucket ? bucket(relative) : out;
    const auto status = it->symlink_status(ec);
    if (fs::is_symlink(status)) {
      check_link(it->path(), root, relative);
      target.push_back({in_image, LayerEntry::Kind::symlink, {}, fs::read_symlink(it->path()).string(), false});
    } else if (fs::is_directory(status)) {
      // A staged tree's directories come with what they hold (write_layer adds parents); FILES
      // directories are kept, empty ones included.
      if (!bucket) target.push_back({in_image, LayerEntry::Kind::directory, {}, {}, true});
      if (inputs) inputs->push_back(it->path());
    } else if (fs::is_regular_file(status)) {
      target.push_back({in_image, LayerEntry::Kind::file, it->path(), {}, executable_file(it->path())});
      if (inputs) inputs->push_back(it->path());
    } else {
      throw Error(Exit::invalid_input, it->path().string() + " is neither a file, a directory nor a symlink");
    }
  }
}

std::string iso8601(std::int64_t epoch) {
  const std::time_t t = static_cast<std::time_t>(epoch);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char out[32];
  std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return out;
}

json::array strings(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

// index.json of the layout, read, changed and written under an exclusive lock: the platforms of one
// image are assembled concurrently.
void add_to_index(const fs::path& layout, const Blob& manifest, const Platform& platform, const std::string& ref_name) {
  const auto lock_path = layout / ".lock";
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0 || ::flock(fd, LOCK_EX) != 0) {
    if (fd >= 0) ::close(fd);
    throw Error(Exit::step_failed, "cannot lock " + lock_path.string());
  }
  struct Unlock {
    int fd;
    ~Unlock() { ::close(fd); }
  } unlock{fd};
  const auto index_path = layout / "index.json";
  json::value index = {
      {"schemaVersion", 2}, {"mediaType", "application/vnd.oci.image.index.v1+json"}, {"manifests", json::array()}};
  std::error_code ec;
  if (fs::exists(index_path, ec)) {
    try {
      index = read_json_file(index_path);
      if (!index.is_object() || !index.as_object().contains("manifests") || !index.at("manifests").is_array())
        throw Error(Exit::invalid_input, "not an image index");
    } catch (const Error&) {
      index = {{"schemaVersion", 2}, {"mediaType", "application/vnd.oci.image.index.v1+json"}, {"manifests", json::array()}};
    }
  }
  auto& manifests = index.at("manifests").as_array();
  // One entry per platform reference: this one replaces the platform's earlier image.
  manifests.erase(std::remove_if(manifests.begin(), manifests.end(),
                                 [&](const json::value& m) {
                                   const auto* a = m.is_object() ? m.as_object().if_contains("annotations") : nullptr;
                                   const auto* n = a && a->is_object()
                                                       ? a->as_object().if_contains("org.opencontainers.image.ref.name")
                                                       : nullptr;
                                   return n && n->is_string() && n->get_string() == ref_name;
                                 }),
                  manifests.end());
  json::object p{{"architecture", platform.arch}, {"os", platform.os}};
  if (!platform.variant.empty()) p["variant"] = platform.variant;
  manifests.push_back({{"mediaType", manifest.media_type},
                       {"digest", manifest.digest},
                       {"size", manifest.size},
                       {"platform", p},
                       {"annotations", {{"org.opencontainers.image.ref.name", ref_name}}}});
  std::sort(manifests.begin(), manifests.end(), [](const json::value& a, const json::value& b) {
    return json::serialize(a.at("annotations")) < json::serialize(b.at("annotations"));
  });
  write_json_atomically(index_path, index);
  if (!fs::exists(layout / "oci-layout", ec)) write_file_atomically(layout / "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
}

}  // namespace

fs::path layout_blob(const fs::path& layout, const std::string& digest) { return layout / "blobs" / "sha256" / digest.substr(7); }

AssembledImage assemble_image(const Spec& spec, const Platform& platform, const fs::path& staged, const Log& log) {
  const auto& m = spec.image;
  AssembledImage out;
  std::vector<LayerEntry> buckets[groups];
  std::error_code ec;
  if (fs::is_directory(staged, ec)) {
    std::vector<LayerEntry> unused;
    walk(staged, "", unused, nullptr,
         [&](const std::string& relative) -> std::vector<LayerEntry>& { return buckets[group_of(relative)]; });
  }
  for (const auto& f : m.files) {
    const auto status = fs::symlink_status(f.source, ec);
    const auto dest = f.destination.substr(1);  // relative in the layer
    if (fs::is_directory(status)) {
      auto prefix = dest;
      if (!prefix.empty() && prefix.back() != '/') prefix += '/';
      walk(f.source, prefix, buckets[files], &out.inputs);
    } else if (fs::is_regular_file(status)) {
      const auto name = f.destination.back() == '/' ? dest + f.source.filename().string() : dest;
      buckets[files].push_back({name, LayerEntry::Kind::file, f.source, {}, executable_file(f.source)});
      out.inputs.push_back(f.source);
    } else {
      throw Error(Exit::invalid_input, "FILES source " + f.source.string() + " is not a file or a directory");
    }
  }
  // Directory entries without the trailing slash of a destination.
  for (auto& bucket : buckets)
    for (auto& e : bucket)
      while (!e.path.empty() && e.path.back() == '/') e.path.pop_back();

  const auto blobs = m.layout / "blobs" / "sha256";
  for (int g = 0; g < groups; ++g) {
    std::erase_if(buckets[g], [](const LayerEntry& e) { return e.path.empty(); });
    const bool has_content = std::any_of(buckets[g].begin(), buckets[g].end(),
                                         [](const LayerEntry& e) { return e.kind != LayerEntry::Kind::directory; });
    if (!has_content) continue;
    out.layers.push_back(write_layer(std::move(buckets[g]), m.created, blobs, kComments[g]));
  }

  // ENTRYPOINT: given, else the one executable staged.
  auto entrypoint = m.entrypoint;
  if (entrypoint.empty() && fs::is_directory(staged / "usr/local/bin", ec)) {
    std::vector<std::string> programs;
    for (const auto& e : fs::directory_iterator(staged / "usr/local/bin"))
      programs.push_back("/usr/local/bin/" + e.path().filename().string());
    if (programs.size() == 1) entrypoint = programs;
  }

  json::object config{{"created", iso8601(m.created)}, {"architecture", platform.arch}, {"os", platform.os}};
  if (!platform.variant.empty()) config["variant"] = platform.variant;
  json::object c;
  auto env = m.env;
  if (std::none_of(env.begin(), env.end(), [](const std::string& e) { return e.starts_with("PATH="); }))
    env.insert(env.begin(), "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  c["Env"] = strings(env);
  if (!entrypoint.empty()) c["Entrypoint"] = strings(entrypoint);
  if (!m.cmd.empty()) c["Cmd"] = strings(m.cmd);
  if (!m.user.empty()) c["User"] = m.user;
  if (!m.workdir.empty()) c["WorkingDir"] = m.workdir;
  if (!m.expose.empty()) {
    json::object ports;
    for (const auto& p : m.expose) ports[p] = json::object();
    c["ExposedPorts"] = ports;
  }
  if (!m.labels.empty()) {
    json::object labels;
    for (const auto& [k, v] : m.labels) labels[k] = v;
    c["Labels"] = labels;
  }
  config["config"] = c;
  json::array diff_ids, history;
  for (const auto& l : out.layers) {
    diff_ids.emplace_back(l.diff_id);
    history.push_back({{"created", iso8601(m.created)}, {"created_by", "multiarch-image: " + l.comment}});
  }
  config["rootfs"] = {{"type", "layers"}, {"diff_ids", diff_ids}};
  config["history"] = history;
  out.config = write_blob(json::serialize(config), blobs, kOciConfig);

  json::array layers;
  for (const auto& l : out.layers)
    layers.push_back({{"mediaType", l.blob.media_type}, {"digest", l.blob.digest}, {"size", l.blob.size}});
  json::object manifest{{"schemaVersion", 2},
                        {"mediaType", kOciManifest},
                        {"config", {{"mediaType", kOciConfig}, {"digest", out.config.digest}, {"size", out.config.size}}},
                        {"layers", layers}};
  out.manifest = write_blob(json::serialize(manifest), blobs, kOciManifest);
  add_to_index(m.layout, out.manifest, platform,
               spec.tags.empty() ? platform.tag_suffix() : spec.tags.front() + "-" + platform.tag_suffix());
  log.info("assembled " + std::to_string(out.layers.size()) + " layers, config " + out.config.digest.substr(0, 19) +
           ", manifest " + out.manifest.digest.substr(0, 19));
  return out;
}

}  // namespace mai
