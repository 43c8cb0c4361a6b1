#include "elf.hpp"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>

#include "error.hpp"

namespace mai {
namespace {

constexpr std::uint32_t PT_LOAD = 1, PT_DYNAMIC = 2, PT_INTERP = 3;
constexpr std::int64_t DT_NULL = 0, DT_NEEDED = 1, DT_STRTAB = 5, DT_RPATH = 15, DT_RUNPATH = 29;

class Reader {
 public:
  Reader(std::string bytes, bool big_endian, bool wide, std::string what)
      : bytes_(std::move(bytes)), big_(big_endian), wide_(wide), what_(std::move(what)) {}

  std::uint64_t uint(std::uint64_t offset, int size) const {
    if (offset + size > bytes_.size()) throw Error(Exit::invalid_input, what_ + " is a truncated ELF file");
    std::uint64_t v = 0;
    for (int i = 0; i < size; ++i) {
      const auto byte = static_cast<unsigned char>(bytes_[offset + (big_ ? i : size - 1 - i)]);
      v = (v << 8) | byte;
    }
    return v;
  }
  std::uint64_t word(std::uint64_t offset) const { return uint(offset, wide_ ? 8 : 4); }  // Addr, Off, Xword
  std::string string_at(std::uint64_t offset) const {
    if (offset >= bytes_.size()) throw Error(Exit::invalid_input, what_ + " has a string outside the file");
    const auto end = bytes_.find('\0', offset);
    return bytes_.substr(offset, end == std::string::npos ? std::string::npos : end - offset);
  }
  bool wide() const { return wide_; }

 private:
  std::string bytes_;
  bool big_, wide_;
  std::string what_;
};

struct Segment {
  std::uint32_t type;
  std::uint64_t offset, vaddr, filesz;
};

}  // namespace

std::optional<ElfInfo> read_elf(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(Exit::invalid_input, "cannot read " + file.string());
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  if (bytes.size() < 16 || std::memcmp(bytes.data(), "\x7f" "ELF", 4) != 0) return std::nullopt;
  ElfInfo info;
  info.elf_class = static_cast<unsigned char>(bytes[4]);
  const int data = static_cast<unsigned char>(bytes[5]);
  if ((info.elf_class != 1 && info.elf_class != 2) || (data != 1 && data != 2))
    throw Error(Exit::invalid_input, file.string() + " has an unknown ELF class or byte order");
  const Reader r(std::move(bytes), data == 2, info.elf_class == 2, file.string());
  const bool wide = r.wide();
  info.machine = static_cast<int>(r.uint(18, 2));
  const auto phoff = r.word(wide ? 32 : 28);
  const auto phentsize = r.uint(wide ? 54 : 42, 2);
  const auto phnum = r.uint(wide ? 56 : 44, 2);

  std::vector<Segment> segments;
  for (std::uint64_t i = 0; i < phnum; ++i) {
    const auto p = phoff + i * phentsize;
    Segment s{static_cast<std::uint32_t>(r.uint(p, 4)), 0, 0, 0};
    s.offset = wide ? r.word(p + 8) : r.word(p + 4);
    s.vaddr = wide ? r.word(p + 16) : r.word(p + 8);
    s.filesz = wide ? r.word(p + 32) : r.word(p + 16);
    segments.push_back(s);
  }
  auto file_offset = [&](std::uint64_t vaddr) -> std::uint64_t {
    for (const auto& s : segments)
      if (s.type == PT_LOAD && vaddr >= s.vaddr && vaddr < s.vaddr + s.filesz) return vaddr - s.vaddr + s.offset;
    throw Error(Exit::invalid_input, file.string() + ": the dynamic string table lies outside every loaded segment");
  };

  for (const auto& s : segments) {
    if (s.type == PT_INTERP) info.interpreter = r.string_at(s.offset);
    if (s.type != PT_DYNAMIC) continue;
    const int entry = wide ? 16 : 8;
    std::vector<std::pair<std::int64_t, std::uint64_t>> dynamic;
    std::uint64_t strtab = 0;
    for (std::uint64_t off = s.offset; off + entry <= s.offset + s.filesz; off += entry) {
      const auto tag = static_cast<std::int64_t>(r.word(off));
      const auto value = r.word(off + entry / 2);
      if (tag == DT_NULL) break;
      if (tag == DT_STRTAB) strtab = file_offset(value);
      dynamic.emplace_back(tag, value);
    }
    std::string runpath, rpath;
    for (const auto& [tag, value] : dynamic) {
      if (tag == DT_NEEDED) info.needed.push_back(r.string_at(strtab + value));
      if (tag == DT_RUNPATH) runpath = r.string_at(strtab + value);
      if (tag == DT_RPATH) rpath = r.string_at(strtab + value);
    }
    // The loader ignores DT_RPATH when DT_RUNPATH is present.
    const auto& path = runpath.empty() ? rpath : runpath;
    std::size_t start = 0;
    while (start <= path.size() && !path.empty()) {
      const auto colon = path.find(':', start);
      auto dir = path.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
      if (!dir.empty()) info.search_path.push_back(dir);
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
  }
  return info;
}

std::string elf_machine_name(int machine) {
  switch (machine) {
    case 3: return "Intel 80386";
    case 8: return "MIPS";
    case 21: return "PowerPC64";
    case 22: return "IBM S/390";
    case 40: return "ARM";
    case 62: return "Advanced Micro Devices X86-64";
    case 183: return "AArch64";
    case 243: return "RISC-V";
    case 258: return "LoongArch";
    default: return "machine " + std::to_string(machine);
  }
}

}  // namespace mai
