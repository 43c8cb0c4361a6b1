// A reader of the gzip streams and tars the helper writes as layers, for tests: strict about the
// format (checksums, octal fields, PAX records by their stated lengths) and bounded, so a malformed
// layer fails a test with a message, never with a read out of bounds, an endless loop or memory
// without limit. The fuzz target tar_reader holds it to that; layer_round_trip reads layers with it.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace mai::test {

struct TarError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The bytes a gzip stream holds (members one after another, as gzip reads them), at most `limit`.
inline std::string gunzip(std::string_view packed, std::size_t limit = std::size_t{256} << 20) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK) throw TarError("zlib cannot start");
  struct End {
    z_stream& z;
    ~End() { inflateEnd(&z); }
  } end{z};
  std::string out;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(packed.data()));
  z.avail_in = static_cast<uInt>(packed.size());
  char buffer[65536];
  while (true) {
    z.next_out = reinterpret_cast<Bytef*>(buffer);
    z.avail_out = sizeof buffer;
    const int rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END)
      throw TarError("not a gzip stream, or a truncated one (zlib: " + std::to_string(rc) + ")");
    out.append(buffer, sizeof buffer - z.avail_out);
    if (out.size() > limit) throw TarError("more than " + std::to_string(limit) + " bytes inside the gzip stream");
    if (rc == Z_STREAM_END) {
      if (z.avail_in == 0) return out;
      if (inflateReset(&z) != Z_OK) throw TarError("zlib cannot read the next member");
    }
  }
}

struct TarEntry {
  std::string name;   // from the PAX path record where there is one
  char type = '0';    // '0' file, '2' symlink, '5' directory, ...
  unsigned mode = 0;  // permission bits
  std::int64_t mtime = 0;
  std::uint64_t uid = 0, gid = 0;  // from the PAX uid/gid records where there are some
  std::string link;                // a link's target, from the PAX linkpath record where there is one
  std::string body;
  std::map<std::string, std::string> xattrs;  // PAX SCHILY.xattr.<name> records, values as bytes
};

namespace tar_detail {

// An octal field: digits, then NULs or spaces to its end (leading spaces allowed).
inline std::uint64_t octal(std::string_view field, const char* what) {
  std::size_t i = 0;
  while (i < field.size() && field[i] == ' ') ++i;
  std::uint64_t value = 0;
  bool digits = false;
  for (; i < field.size() && field[i] >= '0' && field[i] <= '7'; ++i) {
    if (value >> 60) throw TarError(std::string(what) + " is out of range");
    value = value * 8 + static_cast<std::uint64_t>(field[i] - '0');
    digits = true;
  }
  for (; i < field.size(); ++i)
    if (field[i] != '\0' && field[i] != ' ') throw TarError(std::string(what) + " is not an octal number");
  if (!digits) throw TarError(std::string(what) + " is empty");
  return value;
}

// "<length> <key>=<value>\n" records; the length counts the whole record. Those of the next entry
// that the reader applies: path, linkpath, uid, gid, SCHILY.xattr.*.
struct PaxRecords {
  std::string path, link, uid, gid;
  std::map<std::string, std::string> xattrs;
};
inline void pax(std::string_view records, PaxRecords& next) {
  while (!records.empty()) {
    const auto space = records.find(' ');
    if (space == std::string_view::npos || space == 0 || space > 20) throw TarError("a PAX record without its length");
    std::uint64_t length = 0;
    for (char c : records.substr(0, space)) {
      if (c < '0' || c > '9') throw TarError("a PAX record's length is not a number");
      length = length * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (length <= space + 1 || length > records.size() || records[length - 1] != '\n')
      throw TarError("a PAX record's length does not fit it");
    const auto record = records.substr(space + 1, length - space - 2);
    const auto eq = record.find('=');
    if (eq == std::string_view::npos) throw TarError("a PAX record without =");
    const auto key = record.substr(0, eq);
    const auto value = std::string(record.substr(eq + 1));
    if (key == "path") next.path = value;
    if (key == "linkpath") next.link = value;
    if (key == "uid") next.uid = value;
    if (key == "gid") next.gid = value;
    if (key.starts_with("SCHILY.xattr.")) next.xattrs[std::string(key.substr(13))] = value;
    records.remove_prefix(length);
  }
}

}  // namespace tar_detail

// The entries of a tar in order, up to its end (a zero block); PAX extended headers applied to the
// entry after them, global ones skipped.
inline std::vector<TarEntry> entries_of(std::string_view tar) {
  std::vector<TarEntry> out;
  tar_detail::PaxRecords next;
  for (std::size_t at = 0;;) {
    if (tar.size() - at < 512) throw TarError("the tar ends without its end-of-archive block");
    const auto header = tar.substr(at, 512);
    if (header.find_first_not_of('\0') == std::string_view::npos) return out;
    unsigned sum = 0;
    for (std::size_t i = 0; i < 512; ++i) sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(header[i]);
    if (sum != tar_detail::octal(header.substr(148, 8), "a header's checksum")) throw TarError("a header's checksum is wrong");
    const auto size = tar_detail::octal(header.substr(124, 12), "a header's size");
    if (size > tar.size() - at - 512) throw TarError("an entry's body runs past the end of the tar");
    const auto body = tar.substr(at + 512, size);
    TarEntry e;
    e.type = header[156];
    e.mode = static_cast<unsigned>(tar_detail::octal(header.substr(100, 8), "a header's mode") & 07777);
    e.mtime = static_cast<std::int64_t>(tar_detail::octal(header.substr(136, 12), "a header's mtime"));
    const auto field = [&](std::size_t offset, std::size_t width) {
      const auto f = header.substr(offset, width);
      return std::string(f.substr(0, f.find('\0')));
    };
    if (e.type == 'x') {
      tar_detail::pax(body, next);
    } else if (e.type != 'g') {
      e.name = next.path.empty() ? field(0, 100) : next.path;
      e.link = next.link.empty() ? field(157, 100) : next.link;
      const auto id = [](const std::string& record, std::string_view header_field) {
        if (record.empty()) return tar_detail::octal(header_field, "a header's uid or gid");
        if (record.size() > 10 || record.find_first_not_of("0123456789") != std::string::npos)
          throw TarError("a PAX uid or gid record is not a number");
        return std::uint64_t{std::stoull(record)};
      };
      e.uid = id(next.uid, header.substr(108, 8));
      e.gid = id(next.gid, header.substr(116, 8));
      e.xattrs = std::move(next.xattrs);
      e.body = std::string(body);
      next = {};
      out.push_back(std::move(e));
    }
    at += 512 + (size + 511) / 512 * 512;
    if (at > tar.size()) throw TarError("an entry's padding runs past the end of the tar");
  }
}

}  // namespace mai::test
