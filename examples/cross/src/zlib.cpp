// hello_zlib: links Debian's static zlib and a library fetched with FetchContent, the parts of a
// program an image scanner cannot see and the SBOM lists (docs/supply-chain.md).
#include <zlib.h>

#include <cstdio>
#include <cstring>

#include "fetched.hpp"

int main() {
  const char* text = fetched::name();
  const auto crc = crc32(0L, reinterpret_cast<const Bytef*>(text), static_cast<uInt>(std::strlen(text)));
  std::printf("%s, zlib %s, crc32 %08lx\n", text, zlibVersion(), static_cast<unsigned long>(crc));
  return 0;
}
