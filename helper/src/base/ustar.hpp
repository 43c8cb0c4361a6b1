// The ustar header the helper writes for its tar streams (image layers, debug-symbols archives): one
// function, so that every archive it makes spells a header the same way, byte for byte.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mai {

constexpr std::size_t kTarBlock = 512;

struct UstarFields {
  std::string_view name;  // up to 100 bytes are written; a longer name needs a PAX record before
  char type = '0';        // '0' file, '2' symlink, '5' directory, 'x' PAX extended header
  std::uint64_t mode = 0;
  std::uint64_t size = 0;          // past ustar's 8 GiB: base-256, as GNU tar writes it
  std::int64_t mtime = 0;          // before 1970: 0
  std::string_view link;           // a symlink's target, up to 100 bytes
  std::uint64_t uid = 0, gid = 0;  // up to 07777777; the caller puts a larger one in a PAX record
};

std::array<char, kTarBlock> ustar_header(const UstarFields& fields);

}  // namespace mai
