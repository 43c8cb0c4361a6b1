#include "base/ustar.hpp"

#include <algorithm>
#include <cstring>

namespace mai {
namespace {

// A numeric field: octal digits, zero-padded, NUL-terminated.
void octal(char* field, std::size_t width, std::uint64_t value) {
  for (std::size_t i = width - 1; i-- > 0;) {
    field[i] = static_cast<char>('0' + (value & 7));
    value >>= 3;
  }
  field[width - 1] = '\0';
}

}  // namespace

std::array<char, kTarBlock> ustar_header(const UstarFields& f) {
  std::array<char, kTarBlock> b{};
  std::copy_n(f.name.begin(), std::min<std::size_t>(f.name.size(), 100), b.begin());
  octal(&b[100], 8, f.mode);
  octal(&b[108], 8, f.uid);
  octal(&b[116], 8, f.gid);
  if (f.size < (std::uint64_t{1} << 33)) {
    octal(&b[124], 12, f.size);
  } else {
    b[124] = static_cast<char>(0x80);
    auto size = f.size;
    for (int i = 11; i >= 1; --i, size >>= 8) b[124 + i] = static_cast<char>(size & 0xff);
  }
  octal(&b[136], 12, static_cast<std::uint64_t>(std::max<std::int64_t>(f.mtime, 0)));
  b[156] = f.type;
  std::copy_n(f.link.begin(), std::min<std::size_t>(f.link.size(), 100), b.begin() + 157);
  std::memcpy(&b[257], "ustar", 6);  // magic with its NUL
  std::memcpy(&b[263], "00", 2);     // version
  // uname and gname stay empty; devmajor and devminor are zeros.
  octal(&b[329], 8, 0);
  octal(&b[337], 8, 0);
  std::memset(&b[148], ' ', 8);
  unsigned sum = 0;
  for (char c : b) sum += static_cast<unsigned char>(c);
  octal(&b[148], 7, sum);  // six digits and a NUL, then the space already there
  return b;
}

}  // namespace mai
