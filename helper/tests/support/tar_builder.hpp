// Layers as other tools write them, for the unit tests of what the helper reads from a base image:
// tar entries of any name (whiteouts included, which the helper's own writer refuses), gzip or not.
#pragma once

#include <zlib.h>

#include <boost/test/unit_test.hpp>
#include <cstring>
#include <string>
#include <vector>

namespace mai::test {

struct TarInput {
  std::string name;  // as written: "bin", "./usr/bin/", "etc/.wh.old"
  char type = '0';   // '0' file, '5' directory, '2' symlink
  std::string body;  // a file's bytes
  std::string link;  // a symlink's target
};

// A ustar archive; names longer than 100 bytes get a PAX record.
inline std::string tar_of(const std::vector<TarInput>& entries) {
  std::string out;
  const auto header = [&](const std::string& name, char type, std::size_t size, const std::string& link) {
    std::string h(512, '\0');
    std::memcpy(h.data(), name.data(), std::min<std::size_t>(name.size(), 100));
    std::snprintf(h.data() + 100, 8, "%07o", type == '5' ? 0755u : 0644u);
    std::snprintf(h.data() + 108, 8, "%07o", 0u);
    std::snprintf(h.data() + 116, 8, "%07o", 0u);
    std::snprintf(h.data() + 124, 12, "%011zo", size);
    std::snprintf(h.data() + 136, 12, "%011o", 0u);
    h[156] = type;
    std::memcpy(h.data() + 157, link.data(), std::min<std::size_t>(link.size(), 100));
    std::memcpy(h.data() + 257, "ustar", 6);
    std::memcpy(h.data() + 263, "00", 2);
    std::memset(h.data() + 148, ' ', 8);
    unsigned sum = 0;
    for (char c : h) sum += static_cast<unsigned char>(c);
    std::snprintf(h.data() + 148, 8, "%06o", sum);
    out += h;
  };
  const auto pad = [&] { out.append((512 - out.size() % 512) % 512, '\0'); };
  for (const auto& e : entries) {
    if (e.name.size() > 100) {
      auto record = " path=" + e.name + "\n";
      auto length = record.size() + 1;
      while (std::to_string(length).size() + record.size() != length) ++length;
      record = std::to_string(length) + record;
      header("././@PaxHeader", 'x', record.size(), "");
      out += record;
      pad();
    }
    header(e.name, e.type, e.body.size(), e.link);
    out += e.body;
    pad();
  }
  out.append(1024, '\0');
  return out;
}

inline std::string gzip_of(const std::string& plain) {
  z_stream z{};
  BOOST_REQUIRE(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&z, static_cast<uLong>(plain.size())) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(plain.data()));
  z.avail_in = static_cast<uInt>(plain.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  BOOST_REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

}  // namespace mai::test
