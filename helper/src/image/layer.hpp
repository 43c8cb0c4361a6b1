// Image layers written by the helper itself: reproducible tar archives, gzip-compressed, streamed
// from the files on disk into a content-addressed blob directory, their digests computed on the way.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "model/permissions.hpp"
#include "oci/descriptor.hpp"

namespace mai {

// One entry of a layer. Parent directories need not be listed: they are added.
struct LayerEntry {
  enum class Kind { file, directory, symlink };
  std::string path;  // in the image, relative ("usr/local/bin/server"); no "..", no leading '/'
  Kind kind = Kind::file;
  std::filesystem::path source;  // file: where its bytes are read from
  std::string link_target;       // symlink: what it points to, as written
  bool executable = false;       // file: mode 0755 (else 0644); directories 0755
  Permissions permissions{};     // owner, mode, capabilities when given (checked by check_permissions)
};

struct Layer {
  Descriptor blob;      // the compressed layer as stored
  std::string diff_id;  // sha256 of the uncompressed tar
  std::string comment;  // for the config's history ("the C/C++ runtime", ...)
};

// The deflate level of every layer, and the only one: the blob digests depend on it (and on zlib's
// deflate implementation), the diff_ids do not. 1, as go-containerregistry (and so ko) writes layers:
// 2.3 times as fast as level 6 on a C/C++ runtime, for blobs about 9% larger.
inline constexpr int kGzipLevel = 1;

// Whether a path in the image has a part named `.wh.<name>`: in a layer such a name is a whiteout,
// which deletes <name> of the layers below (`.wh..wh..opq` empties its whole directory), so no file
// of ours may carry one.
bool has_whiteout_name(const std::string& path);

// Writes `entries` as one layer into `blob_dir` (<dir>/<hex of the digest>): entries sorted by path,
// parent directories present (0:0, 0755, unless an entry of their own says otherwise), owner 0:0
// without names and modes 0755/0644 unless an entry's permissions say otherwise, mtime `mtime` on
// every entry, PAX records for names and link targets longer than ustar holds, for ids past its
// octal fields, and for capabilities (`SCHILY.xattr.security.capability`, as docker, containerd and
// GNU tar read extended attributes); gzip with a fixed header (no name, mtime 0). Files are read in
// chunks, never whole. Two entries with one path are an error (two directories only when their
// permissions differ), and so are a whiteout name, permissions check_permissions() refuses, and an
// `mtime` later than kLatestSourceDateEpoch (a tar header holds no more).
Layer write_layer(std::vector<LayerEntry> entries, std::int64_t mtime, const std::filesystem::path& blob_dir,
                  const std::string& comment);

// Writes `bytes` as a blob into `blob_dir`; returns its digest and size.
Descriptor write_blob(const std::string& bytes, const std::filesystem::path& blob_dir, const std::string& media_type);

}  // namespace mai
