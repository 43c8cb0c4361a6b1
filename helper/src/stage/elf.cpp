#include "stage/elf.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "base/error.hpp"

namespace mai {
namespace {

constexpr std::uint32_t PT_LOAD = 1, PT_DYNAMIC = 2, PT_INTERP = 3, PT_NOTE = 4;
constexpr std::uint32_t SHT_NOTE = 7, NT_GNU_BUILD_ID = 3;
constexpr std::uint64_t kLongestBuildId = 64;  // bytes; GNU ld's sha1 is 20, a --build-id=0x... may be longer
constexpr std::int64_t DT_NULL = 0, DT_NEEDED = 1, DT_STRTAB = 5, DT_SONAME = 14, DT_RPATH = 15, DT_RUNPATH = 29;
constexpr std::uint64_t PN_XNUM = 0xffff;

// The file's bytes in its byte order and word size. Every access is bounds-checked without
// arithmetic that could wrap: offsets come from the file itself.
class Image {
 public:
  Image(std::string_view bytes, bool big_endian, bool wide, const std::string& what)
      : bytes_(bytes), big_(big_endian), wide_(wide), what_(what) {}

  bool fits(std::uint64_t offset, std::uint64_t size) const { return offset <= bytes_.size() && size <= bytes_.size() - offset; }
  std::uint64_t uint(std::uint64_t offset, int size) const {
    if (!fits(offset, static_cast<std::uint64_t>(size))) throw bad("is a truncated ELF file (an offset points past its end)");
    std::uint64_t v = 0;
    for (int i = 0; i < size; ++i) v = (v << 8) | static_cast<unsigned char>(bytes_[offset + (big_ ? i : size - 1 - i)]);
    return v;
  }
  std::uint64_t word(std::uint64_t offset) const { return uint(offset, wide_ ? 8 : 4); }  // Addr, Off, Xword
  std::string string_at(std::uint64_t offset) const {
    if (offset >= bytes_.size()) throw bad("has a string outside the file");
    const auto end = bytes_.find('\0', offset);
    if (end == std::string_view::npos) throw bad("has a string without its terminating NUL");
    return std::string(bytes_.substr(offset, end - offset));
  }
  // `base + add`, refused when it would wrap or leave the file.
  std::uint64_t offset(std::uint64_t base, std::uint64_t add) const {
    if (add > bytes_.size() || base > bytes_.size() - add) throw bad("has an offset outside the file");
    return base + add;
  }
  bool wide() const { return wide_; }
  // `size` bytes at `offset`, which must lie in the file.
  std::string_view bytes(std::uint64_t offset, std::uint64_t size) const {
    if (!fits(offset, size)) throw bad("has an offset outside the file");
    return bytes_.substr(offset, size);
  }
  Error bad(const std::string& why) const { return Error(Exit::invalid_input, what_ + " " + why); }

 private:
  std::string_view bytes_;
  bool big_, wide_;
  const std::string& what_;
};

struct Segment {
  std::uint32_t type;
  std::uint64_t offset, vaddr, filesz, align;
};

// The GNU build-id among the notes at [offset, offset + size) (`align`: the area's alignment, 4 or
// 8), in lowercase hex; "" when there is none. A note that does not fit ends the search.
std::string build_id_in(const Image& r, std::uint64_t offset, std::uint64_t size, std::uint64_t align) {
  if (!r.fits(offset, size)) return "";
  const std::uint64_t a = align == 8 ? 8 : 4;
  const auto padded = [a](std::uint64_t n) { return (n + a - 1) / a * a; };  // n < 2^32: no wrap
  for (std::uint64_t at = 0; size - at >= 12;) {
    const auto namesz = r.uint(offset + at, 4), descsz = r.uint(offset + at + 4, 4), type = r.uint(offset + at + 8, 4);
    const auto name_at = at + 12;
    if (padded(namesz) > size - name_at) return "";
    const auto desc_at = name_at + padded(namesz);
    if (descsz > size - desc_at) return "";
    if (type == NT_GNU_BUILD_ID && namesz == 4 && r.bytes(offset + name_at, 4) == std::string_view("GNU\0", 4) && descsz > 0 &&
        descsz <= kLongestBuildId) {
      static constexpr char kHex[] = "0123456789abcdef";
      std::string hex;
      for (const char c : r.bytes(offset + desc_at, descsz)) {
        hex += kHex[(static_cast<unsigned char>(c) >> 4) & 0xf];
        hex += kHex[static_cast<unsigned char>(c) & 0xf];
      }
      return hex;
    }
    if (padded(descsz) > size - desc_at) return "";
    at = desc_at + padded(descsz);
  }
  return "";
}

// The file's GNU build-id: from its note sections (kept by strip and by objcopy --only-keep-debug),
// else its note segments (a file without section headers); "" when it has none or they are malformed.
std::string build_id_of(const Image& r, std::string_view bytes, const std::vector<Segment>& segments) {
  const bool wide = r.wide();
  try {
    const auto shoff = r.word(wide ? 40 : 32);
    const auto shentsize = r.uint(wide ? 58 : 46, 2);
    std::uint64_t shnum = r.uint(wide ? 60 : 48, 2);
    if (shoff != 0 && shentsize >= (wide ? 64U : 40U)) {
      if (shnum == 0) shnum = wide ? r.word(r.offset(shoff, 32)) : r.uint(r.offset(shoff, 20), 4);  // section 0's sh_size
      for (std::uint64_t i = 0; i < shnum && i <= bytes.size() / shentsize; ++i) {
        const auto h = r.offset(shoff, i * shentsize);
        if (r.uint(h + 4, 4) != SHT_NOTE) continue;
        const auto offset = wide ? r.word(h + 24) : r.word(h + 16);
        const auto size = wide ? r.word(h + 32) : r.word(h + 20);
        const auto align = wide ? r.word(h + 48) : r.word(h + 32);
        if (auto id = build_id_in(r, offset, size, align); !id.empty()) return id;
      }
    }
  } catch (const Error&) {
    // Malformed section headers: the segments may still say it.
  }
  try {
    for (const auto& s : segments)
      if (s.type == PT_NOTE)
        if (auto id = build_id_in(r, s.offset, s.filesz, s.align); !id.empty()) return id;
  } catch (const Error&) {
    // Malformed notes: the file has no build ID this can read.
  }
  return "";
}

void put_uint(std::string& bytes, std::uint64_t offset, int size, std::uint64_t v, bool big) {
  for (int i = 0; i < size; ++i) bytes[offset + (big ? size - 1 - i : i)] = static_cast<char>((v >> (8 * i)) & 0xff);
}

// A file opened for reading, closed when it goes out of scope.
struct ReadOnlyFile {
  explicit ReadOnlyFile(const std::filesystem::path& file) : fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC)) {
    if (fd < 0) throw Error(Exit::invalid_input, "cannot read " + file.string());
  }
  ReadOnlyFile(const ReadOnlyFile&) = delete;
  ReadOnlyFile& operator=(const ReadOnlyFile&) = delete;
  ~ReadOnlyFile() { ::close(fd); }
  int fd;
};

}  // namespace

std::optional<ElfInfo> parse_elf(std::string_view bytes, const std::string& what) {
  if (bytes.size() < 16 || std::memcmp(bytes.data(),
                                       "\x7f"
                                       "ELF",
                                       4) != 0)
    return std::nullopt;
  ElfInfo info;
  info.elf_class = static_cast<unsigned char>(bytes[4]);
  const int data = static_cast<unsigned char>(bytes[5]);
  if ((info.elf_class != 1 && info.elf_class != 2) || (data != 1 && data != 2))
    throw Error(Exit::invalid_input, what + " has an unknown ELF class or byte order");
  info.big_endian = data == 2;
  const Image r(bytes, info.big_endian, info.elf_class == 2, what);
  const bool wide = r.wide();
  info.type = static_cast<int>(r.uint(16, 2));
  info.machine = static_cast<int>(r.uint(18, 2));
  const auto phoff = r.word(wide ? 32 : 28);
  const auto phentsize = r.uint(wide ? 54 : 42, 2);
  std::uint64_t phnum = r.uint(wide ? 56 : 44, 2);
  if (phnum == PN_XNUM) {  // more program headers than e_phnum holds: the count is section 0's sh_info
    const auto shoff = r.word(wide ? 40 : 32);
    phnum = r.uint(r.offset(shoff, wide ? 44 : 28), 4);
  }
  const std::uint64_t min_phentsize = wide ? 56 : 32;
  if (phnum > 0 && phentsize < min_phentsize) throw r.bad("has program headers smaller than the ELF format's");

  std::vector<Segment> segments;
  for (std::uint64_t i = 0; i < phnum; ++i) {
    // Each header must lie in the file: a count past the file's end stops here, not after 4 billion reads.
    if (i > bytes.size() / phentsize) throw r.bad("states more program headers than the file holds");
    const auto p = r.offset(phoff, i * phentsize);
    Segment s{static_cast<std::uint32_t>(r.uint(p, 4)), 0, 0, 0, 0};
    s.offset = wide ? r.word(p + 8) : r.word(p + 4);
    s.vaddr = wide ? r.word(p + 16) : r.word(p + 8);
    s.filesz = wide ? r.word(p + 32) : r.word(p + 16);
    s.align = wide ? r.word(p + 48) : r.word(p + 28);
    segments.push_back(s);
  }
  auto file_offset = [&](std::uint64_t vaddr) -> std::uint64_t {
    for (const auto& s : segments)
      if (s.type == PT_LOAD && vaddr >= s.vaddr && vaddr - s.vaddr < s.filesz) return r.offset(s.offset, vaddr - s.vaddr);
    throw r.bad("has its dynamic string table outside every loaded segment");
  };

  // One dynamic array: with two, the run paths of one and the end of the other would be rewritten as one.
  if (std::count_if(segments.begin(), segments.end(), [](const Segment& s) { return s.type == PT_DYNAMIC; }) > 1)
    throw r.bad("has more than one dynamic segment");
  for (const auto& s : segments) {
    if (s.type == PT_INTERP) {
      info.interpreter = r.string_at(s.offset);
      info.other_strings.push_back(s.offset);
    }
    if (s.type != PT_DYNAMIC) continue;
    if (!r.fits(s.offset, s.filesz)) throw r.bad("has a dynamic segment outside the file");
    const std::uint64_t entry = wide ? 16 : 8;
    struct Dyn {
      std::int64_t tag;
      std::uint64_t value, at;
    };
    std::vector<Dyn> dynamic;
    std::uint64_t strtab = 0;
    bool has_strtab = false;
    for (std::uint64_t at = 0; at < s.filesz && entry <= s.filesz - at; at += entry) {
      const auto off = s.offset + at;
      const auto tag = static_cast<std::int64_t>(r.word(off));
      const auto value = r.word(off + entry / 2);
      if (tag == DT_NULL) {
        info.dynamic_end = off + entry;
        break;
      }
      if (tag == DT_STRTAB) {
        strtab = file_offset(value);
        has_strtab = true;
      }
      dynamic.push_back({tag, value, off});
    }
    if (info.dynamic_end == 0) throw r.bad("has a dynamic array without its DT_NULL end");
    auto string = [&](const Dyn& d) {
      if (!has_strtab) throw r.bad("has dynamic strings but no DT_STRTAB");
      return r.offset(strtab, d.value);
    };
    std::string runpath, rpath;
    for (const auto& d : dynamic) {
      if (d.tag == DT_NEEDED || d.tag == DT_SONAME) {
        const auto at = string(d);
        info.other_strings.push_back(at);
        if (d.tag == DT_NEEDED)
          info.needed.push_back(r.string_at(at));
        else
          info.soname = r.string_at(at);
      }
      if (d.tag == DT_RUNPATH || d.tag == DT_RPATH) {
        const auto at = string(d);
        auto text = r.string_at(at);
        info.run_paths.push_back({d.at, at, text.size()});
        (d.tag == DT_RUNPATH ? runpath : rpath) = std::move(text);
      }
    }
    // The loader ignores DT_RPATH when DT_RUNPATH is present.
    const auto& path = runpath.empty() ? rpath : runpath;
    std::size_t start = 0;
    while (!path.empty()) {
      const auto colon = path.find(':', start);
      auto dir = path.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
      if (!dir.empty()) info.search_path.push_back(dir);
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
  }
  info.build_id = build_id_of(r, bytes, segments);
  return info;
}

std::optional<std::string> parse_build_id(std::string_view bytes, const std::string& what) {
  if (bytes.size() < 16 || std::memcmp(bytes.data(),
                                       "\x7f"
                                       "ELF",
                                       4) != 0)
    return std::nullopt;
  const int elf_class = static_cast<unsigned char>(bytes[4]), data = static_cast<unsigned char>(bytes[5]);
  if ((elf_class != 1 && elf_class != 2) || (data != 1 && data != 2)) return std::string();
  const Image r(bytes, data == 2, elf_class == 2, what);
  const bool wide = r.wide();
  std::vector<Segment> segments;
  try {  // the note segments, for a file without section headers; whatever else they say is not read
    const auto phoff = r.word(wide ? 32 : 28);
    const auto phentsize = r.uint(wide ? 54 : 42, 2);
    std::uint64_t phnum = r.uint(wide ? 56 : 44, 2);
    if (phnum == PN_XNUM) phnum = r.uint(r.offset(r.word(wide ? 40 : 32), wide ? 44 : 28), 4);  // as parse_elf reads it
    if (phentsize >= (wide ? 56U : 32U))
      for (std::uint64_t i = 0; i < phnum && i <= bytes.size() / phentsize; ++i) {
        const auto p = r.offset(phoff, i * phentsize);
        if (r.uint(p, 4) != PT_NOTE) continue;
        segments.push_back({PT_NOTE, wide ? r.word(p + 8) : r.word(p + 4), 0, wide ? r.word(p + 32) : r.word(p + 16),
                            wide ? r.word(p + 48) : r.word(p + 28)});
      }
  } catch (const Error&) {
    // Malformed program headers: the section headers may still say it.
  }
  return build_id_of(r, bytes, segments);
}

namespace {

// `parse` over the file mapped read-only, or nothing for a file that is not ELF: its magic is read
// first, so a large data file is not mapped to learn that it is not ELF.
template <class Result>
std::optional<Result> parse_mapped(const std::filesystem::path& file,
                                   std::optional<Result> (*parse)(std::string_view, const std::string&)) {
  const ReadOnlyFile opened(file);
  const int fd = opened.fd;
  char magic[4] = {};
  if (::pread(fd, magic, 4, 0) != 4 || std::memcmp(magic,
                                                   "\x7f"
                                                   "ELF",
                                                   4) != 0)
    return std::nullopt;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) throw Error(Exit::invalid_input, "cannot read " + file.string());
  const auto size = static_cast<std::size_t>(st.st_size);
  void* mapped = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (mapped == MAP_FAILED) throw Error(Exit::invalid_input, "cannot map " + file.string());
  struct Unmapper {
    void* at;
    std::size_t size;
    ~Unmapper() { ::munmap(at, size); }
  } unmapper{mapped, size};
  return parse(std::string_view(static_cast<const char*>(mapped), size), file.string());
}

}  // namespace

std::optional<std::string> read_build_id(const std::filesystem::path& file) { return parse_mapped(file, &parse_build_id); }

std::optional<ElfInfo> read_elf(const std::filesystem::path& file) { return parse_mapped(file, &parse_elf); }

namespace {

// Throws unless `out` (the file once rewritten) states what `info` does but the run path: a hostile
// layout can tie other parts of the file to the bytes a rewrite changes (a string inside the dynamic
// array, a header under a string).
void require_only_the_run_path_changed(std::string_view out, const ElfInfo& info, const std::string& run_path,
                                       const std::string& what) {
  std::optional<ElfInfo> after;
  try {
    after = parse_elf(out, what);
  } catch (const Error&) {
    // A rewrite the reader refuses changed more than the run path: refused below.
  }
  const bool same = after && after->elf_class == info.elf_class && after->machine == info.machine &&
                    after->needed == info.needed && after->soname == info.soname && after->interpreter == info.interpreter &&
                    (run_path.empty() ? after->run_paths.empty()
                                      : after->run_paths.size() == info.run_paths.size() &&
                                            std::all_of(after->run_paths.begin(), after->run_paths.end(), [&](const auto& p) {
                                              return out.compare(p.string, p.length, run_path) == 0;
                                            }));
  if (!same)
    throw Error(Exit::invalid_input, what + ": its run path cannot be changed without changing other parts of the file (its " +
                                         "strings, dynamic array or headers overlap)");
}

}  // namespace

std::vector<BytePatch> run_path_patches(const ElfInfo& info, const std::string& run_path, const std::string& what,
                                        const std::function<std::string(std::uint64_t, std::size_t)>& read) {
  std::vector<BytePatch> patches;
  if (info.run_paths.empty()) return patches;  // nothing to replace; the file never had a run path
  const int word = info.elf_class == 2 ? 8 : 4;
  // A string sharing a byte with DT_NEEDED, DT_SONAME or PT_INTERP (linkers merge string tails; a
  // hostile file may point anywhere) is neither written over nor zeroed: the other would change too.
  // One that starts before the run path shares it when no NUL ends it first.
  auto runs_into = [&](std::uint64_t from, std::uint64_t to) {
    for (std::uint64_t at = from; at < to;) {
      const auto chunk = read(at, static_cast<std::size_t>(std::min<std::uint64_t>(to - at, 4096)));
      if (chunk.empty() || chunk.find('\0') != std::string::npos) return false;
      at += chunk.size();
    }
    return true;
  };
  auto shared = [&](const ElfInfo::RunPath& p) {
    return std::any_of(info.other_strings.begin(), info.other_strings.end(), [&](std::uint64_t s) {
      return (s >= p.string && s <= p.string + p.length) || (s < p.string && runs_into(s, p.string));
    });
  };
  if (!run_path.empty()) {
    for (const auto& p : info.run_paths) {
      if (run_path.size() > p.length)
        throw Error(Exit::invalid_input, what + ": its INSTALL_RPATH `" + run_path + "` (" + std::to_string(run_path.size()) +
                                             " bytes) is longer than the run path it was linked with (" +
                                             std::to_string(p.length) +
                                             " bytes), so it cannot be written in place; "
                                             "let CMake link it (it pads the build-tree RUNPATH for this) or shorten it");
      if (shared(p)) throw Error(Exit::invalid_input, what + ": its run path shares bytes with another string of the file");
      auto text = run_path;
      text.resize(p.length, '\0');
      patches.push_back({p.string, std::move(text)});
    }
    return patches;
  }
  // Removed: later entries move up over each run-path entry, DT_NULL included, and the freed last
  // slot becomes a second DT_NULL. Entries are removed from the last one back, so offsets hold. The
  // part of the dynamic array from the first run-path entry on is rewritten as one patch.
  auto entries = info.run_paths;
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.entry > b.entry; });
  const auto entry_size = std::uint64_t{2} * word;
  const auto first = entries.back().entry;
  if (first >= info.dynamic_end) throw Error(Exit::invalid_input, what + " has a run path entry past its dynamic array's end");
  auto dynamic = read(first, static_cast<std::size_t>(info.dynamic_end - first));
  if (dynamic.size() != info.dynamic_end - first) throw Error(Exit::invalid_input, what + " is shorter than its dynamic array");
  for (const auto& p : entries) {
    const auto at = static_cast<std::ptrdiff_t>(p.entry - first);
    const auto end = static_cast<std::ptrdiff_t>(dynamic.size());
    std::copy(dynamic.begin() + at + static_cast<std::ptrdiff_t>(entry_size), dynamic.end(), dynamic.begin() + at);
    put_uint(dynamic, static_cast<std::uint64_t>(end) - entry_size, word, DT_NULL, info.big_endian);
    put_uint(dynamic, static_cast<std::uint64_t>(end) - entry_size + word, word, 0, info.big_endian);
  }
  patches.push_back({first, std::move(dynamic)});
  for (const auto& p : entries)
    if (!shared(p)) patches.push_back({p.string, std::string(p.length, '\0')});
  return patches;
}

std::string with_run_path(std::string bytes, const ElfInfo& info, const std::string& run_path, const std::string& what) {
  const auto patches = run_path_patches(info, run_path, what, [&](std::uint64_t offset, std::size_t size) {
    return offset > bytes.size() ? std::string() : bytes.substr(offset, size);
  });
  for (const auto& p : patches) {
    if (p.offset > bytes.size() || p.bytes.size() > bytes.size() - p.offset)
      throw Error(Exit::invalid_input, what + " is shorter than the run path it states");
    std::copy(p.bytes.begin(), p.bytes.end(), bytes.begin() + static_cast<std::ptrdiff_t>(p.offset));
  }
  if (!patches.empty()) require_only_the_run_path_changed(bytes, info, run_path, what);
  return bytes;
}

void check_run_path_patches(const std::filesystem::path& file, const ElfInfo& info, const std::vector<BytePatch>& patches,
                            const std::string& run_path) {
  if (patches.empty()) return;
  // A private, writable mapping: the pages a patch touches are copied, the file stays as it is.
  const ReadOnlyFile opened(file);
  const int fd = opened.fd;
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw Error(Exit::invalid_input, "cannot read " + file.string());
  const auto size = static_cast<std::size_t>(st.st_size);
  void* mapped = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  if (mapped == MAP_FAILED) throw Error(Exit::invalid_input, "cannot map " + file.string());
  struct Unmapper {
    void* at;
    std::size_t size;
    ~Unmapper() { ::munmap(at, size); }
  } unmapper{mapped, size};
  auto* bytes = static_cast<char*>(mapped);
  for (const auto& p : patches) {
    if (p.offset > size || p.bytes.size() > size - p.offset)
      throw Error(Exit::invalid_input, file.string() + " is shorter than the run path it states");
    std::copy(p.bytes.begin(), p.bytes.end(), bytes + p.offset);
  }
  require_only_the_run_path_changed(std::string_view(bytes, size), info, run_path, file.string());
}

std::string elf_machine_name(int machine) {
  switch (machine) {
    case 3:
      return "Intel 80386";
    case 8:
      return "MIPS";
    case 21:
      return "PowerPC64";
    case 22:
      return "IBM S/390";
    case 40:
      return "ARM";
    case 62:
      return "Advanced Micro Devices X86-64";
    case 183:
      return "AArch64";
    case 243:
      return "RISC-V";
    case 258:
      return "LoongArch";
    default:
      return "machine " + std::to_string(machine);
  }
}

}  // namespace mai
