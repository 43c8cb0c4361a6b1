#include "image/base_tree.hpp"

#include <zlib.h>

#include <array>
#include <boost/json.hpp>
#include <cstring>
#include <deque>
#include <fstream>

#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/files.hpp"
#include "base/interrupt.hpp"
#include "base/ustar.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;

namespace mai {
namespace {

constexpr std::size_t kAccountFileLimit = std::size_t{1} << 20;  // a larger /etc/passwd is not read
constexpr int kLinkHops = 40;                                    // as Linux's limit of followed links

// A layer blob's tar stream: gunzipped when the blob is gzip (by its magic, whatever its media type
// says), else the blob's bytes as they are.
class TarStream {
 public:
  explicit TarStream(const fs::path& file) : in_(file, std::ios::binary) {
    if (!in_) throw Error(Exit::step_failed, "cannot read " + file.string());
    std::array<unsigned char, 4> magic{};
    in_.read(reinterpret_cast<char*>(magic.data()), magic.size());
    const auto got = static_cast<std::size_t>(in_.gcount());
    in_.clear();
    in_.seekg(0);
    zstd_ = got == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd;
    gzip_ = got >= 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    if (gzip_ && inflateInit2(&z_, 15 + 32) != Z_OK) throw Error(Exit::step_failed, "zlib cannot start reading " + file.string());
  }
  ~TarStream() {
    if (gzip_) inflateEnd(&z_);
  }
  TarStream(const TarStream&) = delete;
  TarStream& operator=(const TarStream&) = delete;
  bool zstd() const { return zstd_; }

  // Exactly n bytes, or false at the end of the stream.
  bool read(char* out, std::size_t n) {
    while (n > 0) {
      const auto got = some(out, n);
      if (got == 0) return false;
      out += got;
      n -= got;
    }
    return true;
  }
  void skip(std::uint64_t n) {
    std::array<char, 1 << 16> buffer{};
    while (n > 0) {
      const auto step = static_cast<std::size_t>(std::min<std::uint64_t>(n, buffer.size()));
      if (!read(buffer.data(), step)) throw Error(Exit::verify_failed, "ends inside an entry");
      n -= step;
    }
  }

 private:
  std::size_t some(char* out, std::size_t n) {
    if (!gzip_) {
      in_.read(out, static_cast<std::streamsize>(n));
      return static_cast<std::size_t>(in_.gcount());
    }
    z_.next_out = reinterpret_cast<Bytef*>(out);
    z_.avail_out = static_cast<uInt>(n);
    while (z_.avail_out == n) {
      if (z_.avail_in == 0) {
        if (ended_) {
          // Concatenated gzip members are one stream, as gzip reads them.
          in_.read(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
          if (in_.gcount() == 0) return 0;
          inflateReset(&z_);
          ended_ = false;
        } else {
          in_.read(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
          if (in_.gcount() == 0) throw Error(Exit::verify_failed, "gzip stream ends early");
        }
        z_.next_in = reinterpret_cast<Bytef*>(buffer_.data());
        z_.avail_in = static_cast<uInt>(in_.gcount());
      }
      if (ended_) return 0;
      const int rc = inflate(&z_, Z_NO_FLUSH);
      if (rc == Z_STREAM_END) {
        ended_ = true;
        break;
      }
      if (rc != Z_OK && rc != Z_BUF_ERROR) throw Error(Exit::verify_failed, "is not valid gzip");
    }
    return n - z_.avail_out;
  }

  std::ifstream in_;
  z_stream z_{};
  bool gzip_ = false, zstd_ = false, ended_ = false;
  std::array<char, 1 << 16> buffer_{};
};

std::string field(const char* b, std::size_t n) { return std::string(b, strnlen(b, n)); }

std::uint64_t number(const char* b, std::size_t n) {
  if (static_cast<unsigned char>(b[0]) & 0x80) {  // base-256, for sizes past ustar's 8 GiB
    std::uint64_t v = static_cast<unsigned char>(b[0]) & 0x7f;
    for (std::size_t i = 1; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(b[i]);
    return v;
  }
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n && b[i]; ++i)
    if (b[i] >= '0' && b[i] <= '7') v = v * 8 + static_cast<std::uint64_t>(b[i] - '0');
  return v;
}

// "./usr/bin/" -> "usr/bin"; "" for the root.
std::string clean(std::string name) {
  while (name.starts_with("./")) name.erase(0, 2);
  while (name.starts_with("/")) name.erase(0, 1);
  while (!name.empty() && name.back() == '/') name.pop_back();
  return name == "." ? "" : name;
}

struct Entry {
  std::string path;
  char type = '0';
  std::string link;
  std::optional<std::string> body;  // /etc/passwd and /etc/group
  bool too_large = false;           // one of them, larger than is read
};

// Each entry of one layer, PAX and GNU long names applied.
std::vector<Entry> entries_of(TarStream& tar) {
  std::vector<Entry> out;
  std::string long_name, long_link;
  std::map<std::string, std::string> pax;
  std::array<char, kTarBlock> h{};
  while (tar.read(h.data(), h.size())) {
    throw_if_interrupted();
    if (std::all_of(h.begin(), h.end(), [](char c) { return c == 0; })) break;
    const char type = h[156];
    std::uint64_t size = number(&h[124], 12);
    const auto padded = (size + kTarBlock - 1) / kTarBlock * kTarBlock;
    if (type == 'x' || type == 'L' || type == 'K') {
      if (size > kAccountFileLimit) throw Error(Exit::verify_failed, "has a header record of " + std::to_string(size) + " bytes");
      std::string body(size, '\0');
      if (!tar.read(body.data(), body.size())) throw Error(Exit::verify_failed, "ends inside a header record");
      tar.skip(padded - size);
      if (type == 'L') long_name = field(body.data(), body.size());
      if (type == 'K') long_link = field(body.data(), body.size());
      for (std::size_t at = 0; type == 'x' && at < body.size();) {  // "<length> <key>=<value>\n"
        const auto space = body.find(' ', at);
        const auto length = space == std::string::npos ? 0 : std::stoull(body.substr(at, space - at));
        if (length == 0 || at + length > body.size()) break;
        const auto record = body.substr(space + 1, at + length - space - 2);
        const auto eq = record.find('=');
        if (eq != std::string::npos) pax[record.substr(0, eq)] = record.substr(eq + 1);
        at += length;
      }
      continue;
    }
    if (type == 'g') {  // global PAX records: nothing of ours
      tar.skip(padded);
      continue;
    }
    Entry e;
    e.type = type == '\0' ? '0' : type;
    std::string name = field(&h[0], 100);
    if (std::memcmp(&h[257], "ustar", 5) == 0 && h[345] != 0) name = field(&h[345], 155) + "/" + name;
    if (!long_name.empty()) name = long_name;
    if (pax.count("path")) name = pax["path"];
    e.link = field(&h[157], 100);
    if (!long_link.empty()) e.link = long_link;
    if (pax.count("linkpath")) e.link = pax["linkpath"];
    if (pax.count("size")) size = std::stoull(pax["size"]);
    e.path = clean(name);
    long_name.clear();
    long_link.clear();
    pax.clear();
    const auto data = e.type == '0' || e.type == '7' ? size : 0;
    const auto data_padded = (data + kTarBlock - 1) / kTarBlock * kTarBlock;
    if (data > 0 && data <= kAccountFileLimit && (e.path == "etc/passwd" || e.path == "etc/group")) {
      std::string body(data, '\0');
      if (!tar.read(body.data(), body.size())) throw Error(Exit::verify_failed, "ends inside " + e.path);
      tar.skip(data_padded - data);
      e.body = std::move(body);
    } else {
      tar.skip(data_padded);
      if (e.type == '0' && (e.path == "etc/passwd" || e.path == "etc/group")) {
        if (data == 0) e.body = "";
        e.too_large = data > 0;
      }
    }
    out.push_back(std::move(e));
  }
  return out;
}

bool at_or_under(const std::string& path, const std::string& dir) {
  return dir.empty() || path == dir || (path.size() > dir.size() && path.starts_with(dir) && path[dir.size()] == '/');
}

std::string parent_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

// One layer applied to the tree below it: its whiteouts first (they delete from the layers below),
// then its entries.
void apply_layer(BaseTree& tree, const std::vector<Entry>& entries) {
  const auto erase_under = [&](const std::string& dir, bool keep_dir) {
    std::erase_if(tree.links, [&](const auto& l) { return at_or_under(l.first, dir) && !(keep_dir && l.first == dir); });
    if (at_or_under("etc/passwd", dir) && !(keep_dir && dir == "etc/passwd")) tree.passwd.reset();
    if (at_or_under("etc/group", dir) && !(keep_dir && dir == "etc/group")) tree.group.reset();
  };
  for (const auto& e : entries) {
    const auto name = e.path.substr(e.path.rfind('/') == std::string::npos ? 0 : e.path.rfind('/') + 1);
    const auto dir = parent_of(e.path);
    if (name == ".wh..wh..opq") {
      if (dir.empty()) {
        tree.links.clear(), tree.passwd.reset(), tree.group.reset();
      } else {
        erase_under(dir, true);
      }
    } else if (name.starts_with(".wh.")) {
      if (name.size() > 4) erase_under((dir.empty() ? "" : dir + "/") + name.substr(4), false);
    }
  }
  for (const auto& e : entries) {
    const auto name = e.path.substr(e.path.rfind('/') == std::string::npos ? 0 : e.path.rfind('/') + 1);
    if (e.path.empty() || name.starts_with(".wh.")) continue;
    if (e.type == '2') {
      erase_under(e.path, false);  // a link in place of a directory hides what the directory held
      tree.links[e.path] = e.link;
      continue;
    }
    tree.links.erase(e.path);  // a file or directory in place of a link
    if (e.type == '5') continue;
    if (e.too_large) tree.complete = false;  // an account file too large to read: its accounts are not known
    if (e.path == "etc/passwd") tree.passwd = e.body;
    if (e.path == "etc/group") tree.group = e.body;
  }
}

json::value to_json(const BaseTree& tree) {
  json::object links;
  for (const auto& [path, target] : tree.links) links[path] = target;
  json::object o{{"format", 1}, {"links", links}, {"complete", tree.complete}};
  if (tree.passwd) o["passwd"] = *tree.passwd;
  if (tree.group) o["group"] = *tree.group;
  return o;
}

std::optional<BaseTree> from_json(const json::value& v) {
  const auto* o = v.if_object();
  const auto* format = o ? o->if_contains("format") : nullptr;
  const auto* links = o ? o->if_contains("links") : nullptr;
  const auto* complete = o ? o->if_contains("complete") : nullptr;
  if (!format || !format->is_int64() || format->get_int64() != 1 || !links || !links->is_object() || !complete ||
      !complete->is_bool())
    return std::nullopt;
  BaseTree tree;
  tree.complete = complete->get_bool();
  for (const auto& [path, target] : links->get_object()) {
    if (!target.is_string()) return std::nullopt;
    tree.links[std::string(path)] = std::string(target.get_string());
  }
  for (const auto& [key, out] : {std::pair{"passwd", &tree.passwd}, std::pair{"group", &tree.group}})
    if (const auto* text = o->if_contains(key)) {
      if (!text->is_string()) return std::nullopt;
      *out = std::string(text->get_string());
    }
  return tree;
}

}  // namespace

bool is_foreign_layer(const std::string& media_type) {
  return media_type.find("foreign") != std::string::npos || media_type.find("nondistributable") != std::string::npos;
}

int fetch_base_layers(RegistryClient& client, const std::vector<Descriptor>& layers, const fs::path& blobs,
                      const std::string& base_name, const Log& log) {
  int fetched = 0;
  std::int64_t bytes = 0;
  fs::create_directories(blobs);
  for (const auto& layer : layers) {
    if (is_foreign_layer(layer.media_type)) continue;
    const auto file = blobs / checked_digest(layer.digest, "BASE " + base_name + "'s layer digest").substr(7);
    std::error_code ec;
    // Written under its name only once complete: one there is the layer (its size checked when known).
    if (fs::is_regular_file(file, ec) &&
        (layer.size < 0 || (fs::file_size(file, ec) == static_cast<std::uintmax_t>(layer.size) && !ec)))
      continue;
    // Into a temporary name first: a platform assembling beside this one never reads half a layer.
    const auto tmp = temporary_name_in(blobs, ".fetch-");
    client.fetch_blob(layer.digest, tmp);
    fs::rename(tmp, file, ec);
    if (ec) {
      fs::remove(tmp, ec);
      throw Error(Exit::step_failed, "cannot store the base's layer " + file.string());
    }
    ++fetched;
    bytes += static_cast<std::int64_t>(fs::file_size(file, ec));
  }
  if (fetched > 0)
    log.info("base " + base_name + ": " + std::to_string(fetched) + " layers fetched into the layout (" + std::to_string(bytes) +
             " bytes), " + std::to_string(layers.size() - static_cast<std::size_t>(fetched)) + " there already");
  return fetched;
}

BaseTree read_base_tree(const std::vector<Descriptor>& layers, const std::string& manifest_digest, const fs::path& blobs,
                        const fs::path& cache, const std::string& base_name, const Log& log) {
  const auto cached = cache / ("base-" + checked_digest(manifest_digest, "the base's manifest digest").substr(7) + ".json");
  std::error_code ec;
  if (fs::is_regular_file(cached, ec)) {
    boost::system::error_code jec;
    const auto v = json::parse(read_text_file(cached), jec);
    if (!jec)
      if (auto tree = from_json(v)) return *tree;
  }
  BaseTree tree;
  for (const auto& layer : layers) {
    if (is_foreign_layer(layer.media_type)) {
      tree.complete = false;
      continue;
    }
    const auto file = blobs / checked_digest(layer.digest, "BASE " + base_name + "'s layer digest").substr(7);
    if (!fs::is_regular_file(file, ec))
      throw Error(Exit::step_failed, "BASE " + base_name + ": its layer " + layer.digest + " is not in " + blobs.string() +
                                         " (fetched by the build step)");
    TarStream tar(file);
    if (tar.zstd()) {
      log.warn("BASE " + base_name + ": layer " + layer.digest.substr(0, 19) +
               " is zstd-compressed, which this helper cannot read: its links are not followed and its accounts not known");
      tree.complete = false;
      continue;
    }
    try {
      apply_layer(tree, entries_of(tar));
    } catch (const Error& e) {
      throw Error(e.code(), "BASE " + base_name + ": its layer " + layer.digest + " " + e.what());
    } catch (const std::exception& e) {  // a PAX length that is not a number
      throw Error(Exit::verify_failed, "BASE " + base_name + ": its layer " + layer.digest + " is not a valid tar: " + e.what());
    }
  }
  fs::create_directories(cache);
  write_file_atomically(cached, json::serialize(to_json(tree)));
  return tree;
}

std::string resolve_in_base(const BaseTree& tree, const std::string& path, bool follow_last) {
  std::deque<std::string> todo;
  const auto push_parts = [&](const std::string& text, bool front) {
    std::vector<std::string> parts;
    for (std::size_t start = 0; start <= text.size();) {
      const auto end = std::min(text.find('/', start), text.size());
      if (end > start) parts.push_back(text.substr(start, end - start));
      start = end + 1;
    }
    if (front)
      todo.insert(todo.begin(), parts.begin(), parts.end());
    else
      todo.insert(todo.end(), parts.begin(), parts.end());
  };
  push_parts(path, false);
  std::vector<std::string> out;
  const auto joined = [&](const std::string* extra) {
    std::string s;
    for (const auto& p : out) s += (s.empty() ? "" : "/") + p;
    if (extra) s += (s.empty() ? "" : "/") + *extra;
    return s;
  };
  int hops = 0;
  while (!todo.empty()) {
    auto part = todo.front();
    todo.pop_front();
    if (part == ".") continue;
    if (part == "..") {
      if (!out.empty()) out.pop_back();
      continue;
    }
    const bool last = todo.empty();
    const auto candidate = joined(&part);
    const auto link = (last && !follow_last) ? tree.links.end() : tree.links.find(candidate);
    if (link != tree.links.end()) {
      if (++hops > kLinkHops)
        throw Error(Exit::invalid_input, "/" + path + " goes through a loop of the base's links (at /" + candidate + ")");
      if (link->second.starts_with("/")) out.clear();
      push_parts(link->second, true);
      continue;
    }
    out.push_back(std::move(part));
  }
  return joined(nullptr);
}

}  // namespace mai
