#include "image/assemble.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <boost/json.hpp>
#include <map>
#include <set>

#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/files.hpp"
#include "base/json_file.hpp"
#include "base/text.hpp"
#include "image/base_tree.hpp"
#include "image/essentials.hpp"
#include "oci/index.hpp"
#include "oci/media_types.hpp"
#include "registry/client.hpp"
#include "registry/platform_manifest.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;

namespace mai {
namespace {

// Which layer a staged file goes to: the order is the order of the layers, ESSENTIALS and the C/C++
// runtime (change least) first, the programs (change most) last.
enum Group { essential, runtime, libraries, executables, files, groups };

// A layer's line in the config's history, for what it holds: TARGETS' programs and what the install
// rules installed are named for where they came from.
std::string comment_of(Group g, const ImageSpec& m, bool files_given, bool files_staged) {
  const auto from = m.staged_targets && m.staged_install ? std::string(" (TARGETS, INSTALL)")
                    : m.staged_install                   ? std::string(" (INSTALL)")
                                                         : std::string(" (TARGETS)");
  switch (g) {
    case essential: {
      std::string items;
      for (const auto& item : m.essentials) items += (items.empty() ? "" : ", ") + item;
      return "what a service needs (ESSENTIALS " + items + ")";
    }
    case runtime:
      return "the C/C++ runtime and loader (RUNTIME)";
    case libraries:  // unchanged for TARGETS alone: the same images keep the same digests
      return m.staged_install ? "the project's shared libraries" + from : "the project's shared libraries";
    case executables:
      return m.staged_install && !m.staged_targets ? "the project's installed programs (INSTALL)"
                                                   : "the project's executables" + from;
    default: {
      const bool directories = !m.directories.empty();
      std::string ours = files_given && directories ? "FILES, DIRECTORIES" : directories ? "DIRECTORIES" : "FILES";
      if (files_staged)
        return files_given || directories ? ours + ", and the other files INSTALL installed"
                                          : "the other files INSTALL installed";
      return ours;
    }
  }
}

// RUNTIME puts the loader and the C/C++ runtime under /lib*; TARGETS puts programs in usr/local/bin
// and libraries in usr/lib; INSTALL puts whatever the install rules say under its prefix: programs
// in a bin, sbin or libexec directory, libraries under a lib* directory, and its other files (share/,
// etc/) with FILES.
Group group_of(const std::string& relative) {
  const fs::path path(relative);
  const auto first = path.begin()->string();
  if (first == "lib" || first == "lib64" || first == "lib32" || first == "libx32") return runtime;
  const auto dir = path.parent_path().filename();
  if (dir == "bin" || dir == "sbin" || dir == "libexec") return executables;
  for (const auto& part : path.parent_path())
    if (part.string().starts_with("lib")) return libraries;
  return files;
}

bool executable_file(const fs::path& p) {
  std::error_code ec;
  const auto perms = fs::status(p, ec).permissions();
  return (perms & fs::perms::owner_exec) != fs::perms::none;
}

// A symlink is kept as a link when it stays inside `root` (relative, no way out) and ends somewhere
// (or nowhere: a dangling link is kept too); a link out, or one in a loop, is refused: the image must
// not depend on what lies outside what was staged, nor hold a path nothing can open.
void check_link(const fs::path& link, const fs::path& root, const std::string& in_image) {
  const auto target = fs::read_symlink(link);
  const auto resolved = (fs::path(in_image).parent_path() / target).lexically_normal();
  if (target.is_absolute() || resolved.empty() || *resolved.begin() == "..")
    throw Error(Exit::invalid_input, link.string() + " is a symlink to " + target.string() + ", outside " + root.string() +
                                         ": an image gets files, not links out of what was staged");
  std::error_code ec;
  static_cast<void>(fs::canonical(link, ec));
  if (ec == std::errc::too_many_symbolic_link_levels)
    throw Error(Exit::invalid_input, link.string() + " is a symlink to " + target.string() +
                                         " in a loop of links that never reaches a file; remove the loop from " + root.string());
}

// A name a layer would take for a whiteout is refused where it comes from, before anything is written.
void refuse_whiteout(const std::string& in_image, const fs::path& source) {
  if (has_whiteout_name(in_image))
    throw Error(Exit::invalid_input,
                source.string() + " would be /" + in_image +
                    " in the image: a name starting with .wh. is a whiteout in image layers (it deletes that name from the "
                    "layers below; .wh..wh..opq empties its directory); rename it");
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
    refuse_whiteout(in_image, it->path());
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

// A layer written before from the same entries (paths, kinds, modes, link targets, and each file's
// path, size, modification time, change time and inode) is taken as it is, its blob still in the
// layout: an edit of one program recompresses one layer, not the C/C++ runtime's. The change time is
// there for tools that pin modification times (`touch -d @1700000000` after a rewrite of the same
// size): no program can set it, every write moves it. The key also covers the time, the gzip level
// and zlib's version, which decide the bytes. Entries live in `cache`, one small file each.
Layer cached_layer(std::vector<LayerEntry> entries, std::int64_t mtime, const fs::path& blobs, const std::string& comment,
                   const fs::path& cache) {
  Sha256 key;
  const auto add = [&](const std::string& text) { key.update(text.c_str(), text.size() + 1); };  // with its NUL
  for (const auto& part :
       {std::string("layer-cache 2"), std::to_string(mtime), std::to_string(kGzipLevel), std::string(zlibVersion()), comment})
    add(part);
  std::sort(entries.begin(), entries.end(), [](const LayerEntry& a, const LayerEntry& b) { return a.path < b.path; });
  for (const auto& e : entries) {
    add(e.path + "|" + std::to_string(static_cast<int>(e.kind)) + (e.executable ? "|x|" : "|-|") + e.link_target);
    // Only when given, so entries without any keep the keys they had; no path starts with '/'.
    if (!e.permissions.empty())
      add("/permissions " + std::to_string(e.permissions.uid.value_or(0)) + ":" + std::to_string(e.permissions.gid.value_or(0)) +
          " " + (e.permissions.mode ? mode_text(*e.permissions.mode) : "-") + " " + std::to_string(e.permissions.capabilities));
    if (e.kind != LayerEntry::Kind::file) continue;
    struct stat st {};
    if (::stat(e.source.c_str(), &st) != 0) return write_layer(std::move(entries), mtime, blobs, comment);  // it says why
    add(e.source.string() + "|" + std::to_string(st.st_size) + "|" + std::to_string(st.st_mtim.tv_sec) + "." +
        std::to_string(st.st_mtim.tv_nsec) + "|" + std::to_string(st.st_ctim.tv_sec) + "." + std::to_string(st.st_ctim.tv_nsec) +
        "|" + std::to_string(st.st_ino) + "|" + std::to_string(st.st_dev));
  }
  const auto entry = cache / key.digest().substr(7);
  std::error_code ec;
  if (fs::is_regular_file(entry, ec)) {
    boost::system::error_code jec;
    const auto v = json::parse(read_text_file(entry), jec);
    const auto* o = jec ? nullptr : v.if_object();
    const auto text = [&](const char* name) {
      const auto* f = o ? o->if_contains(name) : nullptr;
      return f && f->is_string() ? std::string(f->get_string()) : std::string();
    };
    const auto* size = o ? o->if_contains("size") : nullptr;
    Layer layer{{text("media_type"), text("digest"), size && size->is_int64() ? size->as_int64() : -1}, text("diff_id"), comment};
    if (is_sha256_digest(layer.blob.digest) && is_sha256_digest(layer.diff_id) &&
        fs::file_size(blobs / layer.blob.digest.substr(7), ec) == static_cast<std::uintmax_t>(layer.blob.size) && !ec)
      return layer;
  }
  auto layer = write_layer(std::move(entries), mtime, blobs, comment);
  fs::create_directories(cache);
  write_file_atomically(entry, json::serialize(json::object{{"digest", layer.blob.digest},
                                                            {"size", layer.blob.size},
                                                            {"media_type", layer.blob.media_type},
                                                            {"diff_id", layer.diff_id}}));
  return layer;
}

json::array strings(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

// index.json of the layout, read, changed and written under an exclusive lock: the platforms of one
// image are assembled concurrently.
void add_to_index(const fs::path& layout, const Descriptor& manifest, const Platform& platform, const std::string& ref_name) {
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
  json::value index = {{"schemaVersion", 2}, {"mediaType", media::oci_index}, {"manifests", json::array()}};
  std::error_code ec;
  if (fs::exists(index_path, ec)) {
    try {
      index = read_json_file(index_path);
      if (!index.is_object() || !index.as_object().contains("manifests") || !index.at("manifests").is_array())
        throw Error(Exit::invalid_input, "not an image index");
    } catch (const Error&) {
      index = {{"schemaVersion", 2}, {"mediaType", media::oci_index}, {"manifests", json::array()}};
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

// NAME=value entries: `ours` replace the base's of the same NAME and come after the others.
json::array merged_env(const json::array* base, const std::vector<std::string>& ours) {
  json::array out;
  auto name_of = [](std::string_view e) { return e.substr(0, e.find('=')); };
  if (base)
    for (const auto& e : *base)
      if (e.is_string() &&
          std::none_of(ours.begin(), ours.end(), [&](const std::string& o) { return name_of(o) == name_of(e.get_string()); }))
        out.push_back(e);
  for (const auto& e : ours) out.emplace_back(e);
  return out;
}

// ESSENTIALS' entries into their layer, the lowest of ours. A path they make that the project's files
// make too is an error naming both, unless both are directories and the project's says nothing of its
// owner and mode. A directory they give an owner or a mode (/tmp, /home/nonroot) keeps it in the
// layers above, where it would otherwise be root's 0755 again as the parent of what they put there
// (FILES app.toml=/home/nonroot/.config/app.toml): an upper layer's entry replaces a lower one's.
void place_essentials(const Essentials& given, std::vector<LayerEntry> (&buckets)[groups]) {
  std::map<std::string, const Essentials::Entry*, std::less<>> ours;
  for (const auto& e : given.entries) ours.emplace(e.entry.path, &e);
  const auto directory_with_permissions = [&](const std::string& path) -> const LayerEntry* {
    const auto it = ours.find(path);
    if (it == ours.end() || it->second->entry.kind != LayerEntry::Kind::directory || it->second->entry.permissions.empty())
      return nullptr;
    return &it->second->entry;
  };
  for (int g = 0; g < groups; ++g) {
    if (g == essential) continue;
    auto& bucket = buckets[g];
    std::set<std::string, std::less<>> given_paths;
    for (auto& e : bucket) {
      given_paths.insert(e.path);
      const auto it = ours.find(e.path);
      if (it == ours.end()) continue;
      const auto& mine = it->second->entry;
      const bool directories = mine.kind == LayerEntry::Kind::directory && e.kind == LayerEntry::Kind::directory;
      if (!directories || (!e.permissions.empty() && !(e.permissions == mine.permissions)))
        throw Error(Exit::invalid_input, "/" + e.path + " is made by ESSENTIALS " + it->second->item + " and given by " +
                                             (e.source.empty() ? std::string("DIRECTORIES or FILES") : e.source.string()) +
                                             " too" + (directories ? " with another owner or mode" : "") +
                                             ": leave one of them out (ESSENTIALS makes what distroless has there)");
      e.permissions = mine.permissions;
    }
    std::vector<LayerEntry> parents;
    for (const auto& e : bucket)
      for (auto slash = e.path.find('/'); slash != std::string::npos; slash = e.path.find('/', slash + 1)) {
        const auto parent = e.path.substr(0, slash);
        if (const auto* mine = directory_with_permissions(parent); mine && given_paths.insert(parent).second)
          parents.push_back(*mine);
      }
    bucket.insert(bucket.end(), parents.begin(), parents.end());
  }
  for (const auto& e : given.entries) buckets[essential].push_back(e.entry);
}

// The first names of an account file, for a message: "root, daemon, bin, ...".
std::string account_names(const std::string& text) {
  std::string out;
  int count = 0;
  for (const auto& line : split(text, '\n')) {
    if (line.empty() || line.front() == '#') continue;
    if (++count > 5) return out + ", ...";
    out += (out.empty() ? "" : ", ") + line.substr(0, line.find(':'));
  }
  return out;
}

// USER's name, and its group's, must be accounts of the image: a runtime looks them up in the image's
// /etc/passwd and /etc/group when the container starts, and refuses to start without them. Numeric
// ids need no account. Ours (FILES, INSTALL) replace the base's.
void check_user(const std::string& user, const std::vector<LayerEntry> (&buckets)[groups], const BaseTree* tree,
                const std::string& image) {
  if (user.empty()) return;
  const auto colon = user.find(':');
  const auto name = user.substr(0, colon);
  const auto group = colon == std::string::npos ? std::string() : user.substr(colon + 1);
  const auto numeric = [](const std::string& s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  const auto account_file = [&](const char* path) -> std::pair<std::optional<std::string>, std::string> {
    for (const auto& bucket : buckets)
      for (const auto& e : bucket)
        if (e.path == path && e.kind == LayerEntry::Kind::file) return {read_text_file(e.source), e.source.string()};
    if (tree) return {path == std::string("etc/passwd") ? tree->passwd : tree->group, "/" + std::string(path) + " of " + image};
    return {std::nullopt, ""};
  };
  const auto check = [&](const std::string& wanted, const char* path, const char* what) {
    if (wanted.empty() || numeric(wanted)) return;
    const auto [text, from] = account_file(path);
    if (!text) {
      if (tree && !tree->complete) return;  // a base layer could not be read: its accounts are not known
      throw Error(Exit::invalid_input, "USER " + user + ": the image has no /" + path + " (" + image +
                                           " has none, nor do FILES), so no container could start as " + what + " `" + wanted +
                                           "`; give numeric ids (e.g. USER 65532:65532) or add /" + path + " with FILES");
    }
    std::size_t start = 0;
    while (start < text->size()) {
      const auto end = std::min(text->find('\n', start), text->size());
      const auto line = std::string_view(*text).substr(start, end - start);
      if (line.substr(0, line.find(':')) == wanted && line.find(':') != std::string_view::npos) return;
      start = end + 1;
    }
    throw Error(Exit::invalid_input, "USER " + user + ": " + from + " has no " + what + " `" + wanted +
                                         "`, so no container could start as it; give numeric ids (e.g. USER 65532:65532) "
                                         "or an account the image has");
  };
  check(name, "etc/passwd", "user");
  check(group, "etc/group", "group");
}

}  // namespace

BaseImage resolve_base(RegistryClient& client, const std::string& name, const Platform& platform, const Log& log) {
  BaseImage base;
  base.name = name;
  const auto reference = parse_image_reference(base.name);
  base.repository = reference.repository;
  const auto where = "BASE " + base.name;
  const auto manifest = platform_manifest(client, reference, platform, where);
  base.digest = manifest.digest;
  base.docker = manifest.media_type == std::string(media::docker_manifest);
  boost::system::error_code ec;
  const auto m = json::parse(manifest.bytes, ec);
  if (ec || !m.is_object())
    throw Error(Exit::verify_failed,
                where + ": its manifest " + base.digest + " is not a JSON object" + (ec ? " (" + ec.message() + ")" : ""));
  const auto* o = m.if_object();
  const auto* config = o ? o->if_contains("config") : nullptr;
  const auto* layers = o ? o->if_contains("layers") : nullptr;
  const auto* config_digest = config && config->is_object() ? config->as_object().if_contains("digest") : nullptr;
  if (!config_digest || !config_digest->is_string() || !layers || !layers->is_array())
    throw Error(Exit::verify_failed, where + ": its manifest " + base.digest + " has no config or layers");
  for (const auto& l : layers->as_array()) {
    const auto* d = l.is_object() ? l.as_object().if_contains("digest") : nullptr;
    if (!d || !d->is_string()) throw Error(Exit::verify_failed, where + ": a layer of " + base.digest + " has no digest");
    const auto* size = l.as_object().if_contains("size");
    if (!size || !size->is_int64() || size->get_int64() < 0)
      throw Error(Exit::verify_failed, where + ": the layer " + std::string(d->get_string()) + " of " + base.digest +
                                           " has no size (a number of bytes)");
    const auto* type = l.as_object().if_contains("mediaType");
    base.layer_descriptors.push_back({type && type->is_string() ? std::string(type->get_string()) : "",
                                      checked_digest(d->get_string(), where + "'s layer digest"), size->get_int64()});
  }
  base.layers = layers->as_array();
  const auto config_text = client.get_blob(std::string(config_digest->get_string()));
  const auto c = json::parse(config_text, ec);
  if (ec || !c.is_object()) throw Error(Exit::verify_failed, where + ": its config is not a JSON object");
  base.config = c.as_object();
  const auto platform_of_base = platform_of_config(config_text, where);
  if (platform_of_base.substr(0, platform_of_base.find('/', platform_of_base.find('/') + 1)) != platform.os + "/" + platform.arch)
    throw Error(Exit::verify_failed, where + ": the image listed for " + platform.str() + " is " + platform_of_base);
  // Our diff_ids are appended to the base's: a config that does not describe its layers one for one
  // would make an image no runtime can unpack.
  const auto bad_config = [&](const std::string& why) {
    return Error(Exit::verify_failed, where + " for " + platform.str() + ": " + why + " (manifest " + base.digest + ")");
  };
  const auto* rootfs = base.config.if_contains("rootfs");
  if (!rootfs || !rootfs->is_object()) throw bad_config("its config's rootfs is not an object");
  const auto* diff_ids = rootfs->as_object().if_contains("diff_ids");
  if (!diff_ids || !diff_ids->is_array()) throw bad_config("its config's rootfs.diff_ids is not an array");
  for (const auto& d : diff_ids->as_array())
    if (!d.is_string() || !is_sha256_digest(d.get_string()))
      throw bad_config("its config's rootfs.diff_ids holds " + json::serialize(d) + ", not a sha256 digest");
  if (diff_ids->as_array().size() != base.layers.size())
    throw bad_config("its config lists " + std::to_string(diff_ids->as_array().size()) + " diff_ids for the " +
                     std::to_string(base.layers.size()) + " layers of its manifest");
  log.info("base " + base.name + " for " + platform.str() + " is " + reference.repository.str() + "@" + base.digest);
  return base;
}

fs::path layout_blob(const fs::path& layout, const std::string& digest) { return layout / "blobs" / "sha256" / digest.substr(7); }

AssembledImage assemble_image(const Spec& spec, const Platform& platform, const fs::path& staged, const Log& log,
                              const BaseImage* base) {
  const auto& m = spec.image;
  // One family of media types per manifest: the base's, or Docker's when INDEX_FORMAT docker asks for a
  // Docker manifest list, whose entries are Docker manifests (for a registry that knows no other).
  const bool docker = (base && base->docker) || spec.index_format == "docker";
  if (!m.manifest_annotations.empty() && docker)
    throw Error(Exit::invalid_input,
                "MANIFEST_ANNOTATIONS need an OCI manifest, and " +
                    (base && base->docker ? "the base " + base->name +
                                                " is a Docker one, which has no annotations (the image's manifest takes "
                                                "the base's format)"
                                          : std::string("INDEX_FORMAT docker makes the image's manifest Docker's, which "
                                                        "has no annotations")));
  json::array base_layers = base ? base->layers : json::array{};
  if (docker && base && !base->docker)
    for (auto& layer : base_layers) {  // an OCI base's gzip layers are the same bytes under Docker's name
      auto& type = layer.as_object()["mediaType"];
      if (type.is_string() && type.as_string() == media::oci_layer) {
        type = media::docker_layer;
        continue;
      }
      throw Error(Exit::invalid_input, "INDEX_FORMAT docker makes Docker manifests, and the base " + base->name +
                                           " has a layer of type " +
                                           (type.is_string() ? std::string(type.as_string()) : std::string("(none)")) +
                                           ", which Docker's format has no name for (valid: INDEX_FORMAT oci or auto on "
                                           "this base)");
    }
  AssembledImage out;
  std::vector<LayerEntry> buckets[groups];
  std::error_code ec;
  if (fs::is_directory(staged, ec)) {
    std::vector<LayerEntry> unused;
    walk(staged, "", unused, nullptr,
         [&](const std::string& relative) -> std::vector<LayerEntry>& { return buckets[group_of(relative)]; });
  }
  const bool files_staged = std::any_of(buckets[files].begin(), buckets[files].end(),
                                        [](const LayerEntry& e) { return e.kind != LayerEntry::Kind::directory; });
  // Permissions a target's properties give to the file it is staged as: only what the stage put there.
  for (const auto& given : m.path_permissions) {
    const auto path = given.path.substr(1);
    LayerEntry* found = nullptr;
    for (auto& bucket : buckets)
      for (auto& e : bucket)
        if (e.path == path) found = &e;
    if (!found)
      throw Error(Exit::invalid_input, given.what + ": " + given.path + " is not in what was staged for " + platform.str());
    check_permissions(given.permissions, found->kind == LayerEntry::Kind::symlink ? PathKind::symlink : PathKind::file,
                      given.what);
    found->permissions = given.permissions;
  }
  for (const auto& f : m.files) {
    // A source that is a link is followed, as COPY does; links inside a directory stay links.
    const auto status = fs::status(f.source, ec);
    const auto dest = f.destination.substr(1);  // relative in the layer
    const auto what = "FILES entry " + f.source.string() + "=" + f.destination;
    if (fs::is_directory(status)) {
      // OWNER goes to everything copied, as COPY --chown does; one MODE or set of capabilities
      // cannot fit both the directories and the files of a tree.
      if (f.permissions.mode || f.permissions.capabilities)
        throw Error(Exit::invalid_input, what +
                                             ": the source is a directory, which takes OWNER only (MODE and "
                                             "CAPABILITIES are for a file: give the file an entry of its own)");
      auto prefix = dest;
      if (!prefix.empty() && prefix.back() != '/') prefix += '/';
      refuse_whiteout(prefix, f.source);
      const auto first = buckets[files].size();
      walk(f.source, prefix, buckets[files], &out.inputs);
      if (f.permissions.uid) {
        for (auto i = first; i < buckets[files].size(); ++i) buckets[files][i].permissions = f.permissions;
        if (!dest.empty() && dest != "/")  // the destination itself is made for the copy, and so is theirs
          buckets[files].push_back({prefix, LayerEntry::Kind::directory, {}, {}, true, f.permissions});
      }
    } else if (fs::is_regular_file(status)) {
      const auto name = f.destination.back() == '/' ? dest + f.source.filename().string() : dest;
      refuse_whiteout(name, f.source);
      check_permissions(f.permissions, PathKind::file, what);
      buckets[files].push_back({name, LayerEntry::Kind::file, f.source, {}, executable_file(f.source), f.permissions});
      out.inputs.push_back(f.source);
    } else {
      throw Error(Exit::invalid_input, "FILES source " + f.source.string() + " is not a file or a directory");
    }
  }
  // DIRECTORIES: kept even when empty, with their owner and mode (checked when the spec was read).
  for (const auto& d : m.directories)
    buckets[files].push_back({d.path.substr(1), LayerEntry::Kind::directory, {}, {}, true, d.permissions});
  // Directory entries without the trailing slash of a destination.
  for (auto& bucket : buckets)
    for (auto& e : bucket)
      while (!e.path.empty() && e.path.back() == '/') e.path.pop_back();
  // ESSENTIALS: the account files written beside the layout, the rest read from this machine.
  out.essentials = essential_entries(m, m.layout.parent_path() / "essentials");
  place_essentials(out.essentials, buckets);
  out.inputs.insert(out.inputs.end(), out.essentials.inputs.begin(), out.essentials.inputs.end());

  const auto blobs = m.layout / "blobs" / "sha256";
  const auto cache = m.layout.parent_path() / "layer-cache";
  std::optional<BaseTree> tree;
  if (base) {
    // Placed as COPY places them: through the base's links (a merged-/usr base's bin -> usr/bin), so
    // that no directory entry of ours replaces one of its links for the container.
    tree = read_base_tree(base->layer_descriptors, base->digest, blobs, cache, base->name, log);
    // A base with accounts of its own keeps them: replacing its /etc/passwd would take away the users
    // its files belong to and its programs run as, and merging two lists would give a user the ids
    // another holds.
    if (std::find(m.essentials.begin(), m.essentials.end(), "accounts") != m.essentials.end() && (tree->passwd || tree->group))
      throw Error(Exit::invalid_input,
                  "ESSENTIALS accounts: the base " + base->name + " has its own " +
                      (tree->passwd ? "/etc/passwd (" + account_names(*tree->passwd) + ")" : std::string("/etc/group")) +
                      ", which accounts would replace; leave accounts out of ESSENTIALS to keep the base's (USER "
                      "then names one of them, or numeric ids), or build on BASE scratch");
    std::size_t moved = 0;
    std::string example;
    for (auto& bucket : buckets)
      for (auto& e : bucket) {
        auto placed = resolve_in_base(*tree, e.path, e.kind == LayerEntry::Kind::directory);
        if (placed == e.path) continue;
        if (example.empty() && e.kind != LayerEntry::Kind::directory) example = "/" + e.path + " is /" + placed;
        e.path = std::move(placed);
        ++moved;
      }
    if (moved > 0)
      log.info(std::to_string(moved) + " paths placed through the base's links" + (example.empty() ? "" : " (" + example + ")"));
  }
  check_user(m.user, buckets, tree ? &*tree : nullptr, base ? "the base " + base->name : "scratch");

  for (int g = 0; g < groups; ++g) {
    std::erase_if(buckets[g], [](const LayerEntry& e) { return e.path.empty(); });
    // A directory is content when it is not root's 0755, the one a layer's parents get anyway.
    const bool has_content = std::any_of(buckets[g].begin(), buckets[g].end(), [](const LayerEntry& e) {
      return e.kind != LayerEntry::Kind::directory || !e.permissions.empty();
    });
    if (!has_content) continue;
    out.layers.push_back(cached_layer(std::move(buckets[g]), m.created, blobs,
                                      comment_of(static_cast<Group>(g), m, !m.files.empty(), files_staged), cache));
    if (docker) out.layers.back().blob.media_type = media::docker_layer;
  }

  // ENTRYPOINT: as the spec says (the module decides an inferred one at configure time); none kept empty.
  const auto& entrypoint = m.entrypoint;

  // The base's config extended (its Env, Entrypoint, Cmd, User... kept unless given), else a new one.
  json::object config = base ? base->config : json::object{};
  config["created"] = rfc3339(m.created);
  config["architecture"] = platform.arch;
  config["os"] = platform.os;
  if (!platform.variant.empty()) config["variant"] = platform.variant;
  json::object c;
  if (const auto* given = config.if_contains("config"); given && given->is_object()) c = given->as_object();
  const auto* base_env = c.contains("Env") && c.at("Env").is_array() ? &c.at("Env").as_array() : nullptr;
  // ENV values may name what the base sets and what earlier entries set (PATH=/opt/x/bin:$PATH), as
  // a Dockerfile's ENV does; the default PATH stands for the base's when it sets none.
  constexpr auto default_path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  std::map<std::string, std::string, std::less<>> known;
  if (base_env)
    for (const auto& e : *base_env)
      if (e.is_string()) {
        const std::string_view text = e.get_string();
        const auto eq = text.find('=');
        if (eq != std::string_view::npos) known[std::string(text.substr(0, eq))] = std::string(text.substr(eq + 1));
      }
  const bool base_has_path = known.contains("PATH");
  if (!base_has_path) known["PATH"] = default_path;
  std::vector<std::string> env;
  for (const auto& e : m.env) {
    const auto eq = e.find('=');
    const auto name = e.substr(0, eq);
    auto value = expand_environment(
        std::string_view(e).substr(eq + 1),
        [&](std::string_view wanted) -> std::optional<std::string> {
          const auto it = known.find(wanted);
          if (it == known.end()) return std::nullopt;
          return it->second;
        },
        "ENV entry `" + e + "` (" + (base ? "on the base " + base->name : std::string("on scratch")) + ")");
    known[name] = value;
    env.push_back(name + "=" + value);
  }
  const bool has_path =
      base_has_path || std::any_of(env.begin(), env.end(), [](const std::string& e) { return e.starts_with("PATH="); });
  if (!has_path) env.insert(env.begin(), std::string("PATH=") + default_path);
  c["Env"] = merged_env(base_env, env);
  if (!entrypoint.empty()) {
    c["Entrypoint"] = strings(entrypoint);
    c.erase("Cmd");  // as a Dockerfile's ENTRYPOINT does: the base's Cmd was for its own entrypoint
  }
  if (!m.cmd.empty()) c["Cmd"] = strings(m.cmd);
  if (!m.user.empty()) c["User"] = m.user;
  if (!m.workdir.empty()) c["WorkingDir"] = m.workdir;
  if (!m.expose.empty()) {
    json::object ports =
        c.contains("ExposedPorts") && c.at("ExposedPorts").is_object() ? c.at("ExposedPorts").as_object() : json::object{};
    for (const auto& p : m.expose) ports[p] = json::object();
    c["ExposedPorts"] = ports;
  }
  if (!m.volumes.empty()) {
    json::object volumes = c.contains("Volumes") && c.at("Volumes").is_object() ? c.at("Volumes").as_object() : json::object{};
    for (const auto& v : m.volumes) volumes[v] = json::object();
    c["Volumes"] = volumes;
  }
  if (!m.stop_signal.empty()) c["StopSignal"] = m.stop_signal;
  if (!m.labels.empty()) {
    json::object labels = c.contains("Labels") && c.at("Labels").is_object() ? c.at("Labels").as_object() : json::object{};
    for (const auto& [k, v] : m.labels) labels[k] = v;
    c["Labels"] = labels;
  }
  config["config"] = c;
  json::array diff_ids, history;
  if (base) {
    if (const auto* r = base->config.if_contains("rootfs"); r && r->is_object() && r->as_object().contains("diff_ids"))
      diff_ids = r->as_object().at("diff_ids").as_array();
    if (const auto* h = base->config.if_contains("history"); h && h->is_array()) history = h->as_array();
  }
  for (const auto& l : out.layers) {
    diff_ids.emplace_back(l.diff_id);
    history.push_back({{"created", rfc3339(m.created)}, {"created_by", "multiarch-image: " + l.comment}});
  }
  config["rootfs"] = {{"type", "layers"}, {"diff_ids", diff_ids}};
  config["history"] = history;
  out.config = write_blob(json::serialize(config), blobs, docker ? media::docker_config : media::oci_config);

  json::array layers = std::move(base_layers);
  for (const auto& l : out.layers)
    layers.push_back({{"mediaType", l.blob.media_type}, {"digest", l.blob.digest}, {"size", l.blob.size}});
  json::object manifest{
      {"schemaVersion", 2},
      {"mediaType", docker ? media::docker_manifest : media::oci_manifest},
      {"config", {{"mediaType", out.config.media_type}, {"digest", out.config.digest}, {"size", out.config.size}}},
      {"layers", layers}};
  if (base) {
    out.base_digest = base->digest;
    out.base_repository = base->repository.str();
    for (const auto& l : base->layers) out.base_layers.emplace_back(l.as_object().at("digest").as_string());
    // Where the image came from, for scanners and for a rebuild on a new base (OCI manifests only).
    if (!docker)
      manifest["annotations"] = {{"org.opencontainers.image.base.name", base->name},
                                 {"org.opencontainers.image.base.digest", base->digest}};
  }
  if (!m.manifest_annotations.empty()) {
    json::object annotations = manifest.contains("annotations") ? manifest.at("annotations").as_object() : json::object{};
    for (const auto& [k, v] : m.manifest_annotations) annotations[k] = v;
    manifest["annotations"] = annotations;
  }
  out.manifest = write_blob(json::serialize(manifest), blobs, docker ? media::docker_manifest : media::oci_manifest);
  add_to_index(m.layout, out.manifest, platform,
               spec.tags.empty() ? platform.tag_suffix() : spec.tags.front() + "-" + platform.tag_suffix());
  log.info("assembled " + std::to_string(out.layers.size()) + " layers, config " + out.config.digest.substr(0, 19) +
           ", manifest " + out.manifest.digest.substr(0, 19));
  return out;
}

}  // namespace mai
