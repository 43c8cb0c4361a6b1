// A reader of the layers the helper writes, for the unit tests: gunzip and the tar entries (PAX
// path and linkpath applied).
#pragma once

#include <zlib.h>

#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace mai::test {

inline std::string gunzip(const std::string& packed) {
  z_stream z{};
  BOOST_REQUIRE(inflateInit2(&z, 15 + 16) == Z_OK);
  std::string out;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(packed.data()));
  z.avail_in = static_cast<uInt>(packed.size());
  char buffer[65536];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(buffer);
    z.avail_out = sizeof buffer;
    rc = inflate(&z, Z_NO_FLUSH);
    BOOST_REQUIRE(rc == Z_OK || rc == Z_STREAM_END);
    out.append(buffer, sizeof buffer - z.avail_out);
  }
  inflateEnd(&z);
  return out;
}

struct TarEntry {
  std::string name;
  char type;
  std::string body;
};

// Headers in order; names from PAX records where present.
inline std::vector<TarEntry> entries_of(const std::string& tar) {
  std::vector<TarEntry> out;
  std::string pax_path;
  for (std::size_t at = 0; at + 512 <= tar.size();) {
    const auto header = tar.substr(at, 512);
    if (header == std::string(512, '\0')) break;
    unsigned sum = 0;
    for (std::size_t i = 0; i < 512; ++i) sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(header[i]);
    BOOST_TEST(sum == std::stoul(header.substr(148, 7), nullptr, 8));
    const auto size = std::stoull(header.substr(124, 11), nullptr, 8);
    const auto body = tar.substr(at + 512, size);
    std::string name = header.substr(0, header.find('\0') < 100 ? header.find('\0') : 100);
    if (header[156] == 'x') {
      const auto key = body.find(" path=");
      pax_path = body.substr(key + 6, body.find('\n', key) - key - 6);
    } else {
      if (!pax_path.empty()) name = pax_path, pax_path.clear();
      out.push_back({name, header[156], body});
    }
    at += 512 + (size + 511) / 512 * 512;
  }
  return out;
}

}  // namespace mai::test
