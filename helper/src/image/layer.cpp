#include "image/layer.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <map>
#include <memory>

#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/files.hpp"
#include "base/interrupt.hpp"
#include "base/ustar.hpp"
#include "model/spec.hpp"
#include "oci/media_types.hpp"

namespace fs = std::filesystem;

namespace mai {
namespace {

constexpr std::size_t kStreamChunk = std::size_t{1} << 16;  // a file read, and a deflate output, at a time

// The tar stream's bytes go through here: hashed as they are (the diff_id), deflated, and the
// deflated bytes hashed (the digest) and written to a temporary file.
class GzipSink {
 public:
  explicit GzipSink(const fs::path& file) : out_(file, std::ios::binary | std::ios::trunc) {
    if (!out_) throw Error(Exit::step_failed, "cannot write " + file.string());
    // windowBits 15 + 16: a gzip wrapper, whose header zlib writes fixed: no name, mtime 0, OS 3.
    if (deflateInit2(&z_, kGzipLevel, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
      throw Error(Exit::step_failed, "zlib cannot start a gzip stream");
  }
  ~GzipSink() { deflateEnd(&z_); }
  GzipSink(const GzipSink&) = delete;
  GzipSink& operator=(const GzipSink&) = delete;

  void write(const char* data, std::size_t n) {
    plain_.update(data, n);
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
    z_.avail_in = static_cast<uInt>(n);
    pump(Z_NO_FLUSH);
  }
  // Ends the stream; returns {digest, size, diff_id}.
  void finish(std::string& digest, std::int64_t& size, std::string& diff_id) {
    z_.next_in = nullptr;
    z_.avail_in = 0;
    pump(Z_FINISH);
    out_.flush();
    if (!out_) throw Error(Exit::step_failed, "cannot write a layer (disk full?)");
    out_.close();
    digest = packed_.digest();
    size = written_;
    diff_id = plain_.digest();
  }

 private:
  void pump(int flush) {
    std::array<unsigned char, kStreamChunk> buffer{};
    do {
      z_.next_out = buffer.data();
      z_.avail_out = static_cast<uInt>(buffer.size());
      const int rc = deflate(&z_, flush);
      if (rc == Z_STREAM_ERROR) throw Error(Exit::step_failed, "zlib failed while compressing a layer");
      const auto produced = buffer.size() - z_.avail_out;
      packed_.update(buffer.data(), produced);
      out_.write(reinterpret_cast<const char*>(buffer.data()), static_cast<std::streamsize>(produced));
      written_ += static_cast<std::int64_t>(produced);
      if (flush == Z_FINISH && rc == Z_STREAM_END) return;
    } while (z_.avail_out == 0 || (flush == Z_FINISH));
  }

  std::ofstream out_;
  z_stream z_{};
  Sha256 plain_, packed_;
  std::int64_t written_ = 0;
};

// The largest id a ustar header's 8-byte octal field holds; a larger one goes in a PAX record.
constexpr std::uint64_t kLargestUstarId = 07777777;

// "<length> <key>=<value>\n", the length counting itself.
std::string pax_record(const std::string& key, const std::string& value) {
  const auto body = " " + key + "=" + value + "\n";
  auto length = body.size() + 1;
  while (std::to_string(length).size() + body.size() != length) ++length;
  return std::to_string(length) + body;
}

class TarWriter {
 public:
  TarWriter(GzipSink& sink, std::int64_t mtime) : sink_(sink), mtime_(mtime) {}

  void entry(const LayerEntry& e) {
    throw_if_interrupted();
    std::string name = e.path + (e.kind == LayerEntry::Kind::directory ? "/" : "");
    std::uint64_t size = 0;
    if (e.kind == LayerEntry::Kind::file) {
      std::error_code ec;
      size = fs::file_size(e.source, ec);
      if (ec) throw Error(Exit::invalid_input, "cannot read " + e.source.string() + ": " + ec.message());
    }
    const std::uint64_t uid = e.permissions.uid.value_or(0), gid = e.permissions.gid.value_or(0);
    // Records in one fixed order (the first three as layers have always had them), so the same entry
    // always gives the same bytes.
    std::string pax;
    if (name.size() > 100) pax += pax_record("path", name);
    if (e.link_target.size() > 100) pax += pax_record("linkpath", e.link_target);
    if (size >= (std::uint64_t{1} << 33)) pax += pax_record("size", std::to_string(size));
    if (uid > kLargestUstarId) pax += pax_record("uid", std::to_string(uid));
    if (gid > kLargestUstarId) pax += pax_record("gid", std::to_string(gid));
    // Binary, as docker, containerd and GNU tar (--xattrs) read it: the record's length says where it ends.
    if (e.permissions.capabilities)
      pax += pax_record("SCHILY.xattr.security.capability", capability_xattr(e.permissions.capabilities));
    if (!pax.empty()) {
      block(ustar_header({.name = "././@PaxHeader", .type = 'x', .mode = 0644, .size = pax.size(), .mtime = mtime_}).data());
      data(pax.data(), pax.size());
      pad(pax.size());
    }
    const char type = e.kind == LayerEntry::Kind::directory ? '5' : e.kind == LayerEntry::Kind::symlink ? '2' : '0';
    const std::uint64_t mode = e.kind == LayerEntry::Kind::symlink                 ? 0777
                               : e.permissions.mode                                ? *e.permissions.mode
                               : e.kind == LayerEntry::Kind::file && !e.executable ? 0644
                                                                                   : 0755;
    block(ustar_header({.name = name,
                        .type = type,
                        .mode = mode,
                        .size = size >= (std::uint64_t{1} << 33) ? 0 : size,  // the PAX record has it
                        .mtime = mtime_,
                        .link = e.link_target,
                        .uid = uid <= kLargestUstarId ? uid : 0,
                        .gid = gid <= kLargestUstarId ? gid : 0})
              .data());
    if (e.kind != LayerEntry::Kind::file) return;
    std::ifstream in(e.source, std::ios::binary);
    if (!in) throw Error(Exit::invalid_input, "cannot read " + e.source.string());
    std::vector<char> buffer(kStreamChunk);
    std::uint64_t copied = 0;
    while (copied < size) {
      in.read(buffer.data(), static_cast<std::streamsize>(std::min<std::uint64_t>(buffer.size(), size - copied)));
      const auto n = static_cast<std::size_t>(in.gcount());
      if (n == 0) throw Error(Exit::step_failed, e.source.string() + " shrank while it was being layered");
      data(buffer.data(), n);
      copied += n;
    }
    pad(size);
  }

  void end() {
    const std::array<char, kTarBlock> zero{};
    block(zero.data());
    block(zero.data());
  }

 private:
  void block(const char* b) { sink_.write(b, kTarBlock); }
  void data(const char* d, std::size_t n) { sink_.write(d, n); }
  void pad(std::uint64_t n) {
    static const std::array<char, kTarBlock> zero{};
    if (const auto rest = n % kTarBlock; rest != 0) sink_.write(zero.data(), kTarBlock - rest);
  }
  GzipSink& sink_;
  std::int64_t mtime_;
};

// A path inside the image: relative, no empty, "." or ".." component.
bool inside_image(const std::string& path) {
  if (path.empty() || path.front() == '/' || path.back() == '/') return false;
  std::size_t start = 0;
  while (start <= path.size()) {
    const auto end = std::min(path.find('/', start), path.size());
    const auto part = std::string_view(path).substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

void place_blob(const fs::path& tmp, const fs::path& blob_dir, const std::string& digest) {
  const auto final = blob_dir / digest.substr(7);
  std::error_code ec;
  fs::rename(tmp, final, ec);  // same content, same name: a concurrent writer's copy is as good
  if (ec) {
    fs::remove(tmp, ec);
    throw Error(Exit::step_failed, "cannot store blob " + final.string());
  }
}

}  // namespace

bool has_whiteout_name(const std::string& path) {
  for (std::size_t start = 0; start <= path.size();) {
    const auto end = std::min(path.find('/', start), path.size());
    if (std::string_view(path).substr(start, end - start).starts_with(".wh.")) return true;
    start = end + 1;
  }
  return false;
}

Layer write_layer(std::vector<LayerEntry> entries, std::int64_t mtime, const fs::path& blob_dir, const std::string& comment) {
  if (mtime > kLatestSourceDateEpoch)
    throw Error(Exit::invalid_input, "a layer's time of " + std::to_string(mtime) +
                                         " seconds is later than a tar header holds (" + std::to_string(kLatestSourceDateEpoch) +
                                         ")");
  // The entries given, each once (a directory twice only with the same permissions), then every
  // parent directory not given, as root's 0755.
  std::map<std::string, LayerEntry> all;
  for (auto& e : entries) {
    if (!inside_image(e.path))
      throw Error(Exit::invalid_input, "layer entry '" + e.path + "' is not a relative path inside the image");
    if (has_whiteout_name(e.path))
      throw Error(Exit::invalid_input, "layer entry '" + e.path + "' has a whiteout name (.wh.), which would delete files");
    check_permissions(e.permissions,
                      e.kind == LayerEntry::Kind::directory ? PathKind::directory
                      : e.kind == LayerEntry::Kind::symlink ? PathKind::symlink
                                                            : PathKind::file,
                      "/" + e.path);
    const auto [it, inserted] = all.try_emplace(e.path, e);
    if (inserted) continue;
    if (!(it->second.kind == LayerEntry::Kind::directory && e.kind == LayerEntry::Kind::directory))
      throw Error(Exit::invalid_input, "two files for /" + e.path + " in one layer");
    if (!(it->second.permissions == e.permissions))
      throw Error(Exit::invalid_input, "the directory /" + e.path + " is given twice with different owners or modes");
  }
  for (const auto& e : entries)
    for (auto slash = e.path.find('/'); slash != std::string::npos; slash = e.path.find('/', slash + 1)) {
      const auto parent = e.path.substr(0, slash);
      const auto [it, inserted] = all.try_emplace(parent, LayerEntry{parent, LayerEntry::Kind::directory, {}, {}, true});
      if (!inserted && it->second.kind != LayerEntry::Kind::directory)
        throw Error(Exit::invalid_input, "/" + parent + " is a file in the layer and the directory of /" + e.path);
    }
  fs::create_directories(blob_dir);
  const auto tmp = temporary_name_in(blob_dir, ".tmp-");
  Layer layer;
  try {
    GzipSink sink(tmp);
    TarWriter tar(sink, mtime);
    for (const auto& [path, e] : all) tar.entry(e);  // std::map: sorted by path, bytewise
    tar.end();
    sink.finish(layer.blob.digest, layer.blob.size, layer.diff_id);
  } catch (...) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw;
  }
  place_blob(tmp, blob_dir, layer.blob.digest);
  layer.blob.media_type = media::oci_layer;
  layer.comment = comment;
  return layer;
}

Descriptor write_blob(const std::string& bytes, const fs::path& blob_dir, const std::string& media_type) {
  Descriptor blob{media_type, sha256_digest(bytes), static_cast<std::int64_t>(bytes.size())};
  fs::create_directories(blob_dir);
  const auto final = blob_dir / blob.digest.substr(7);
  std::error_code ec;
  if (!fs::exists(final, ec)) write_file_atomically(final, bytes);
  return blob;
}

}  // namespace mai
