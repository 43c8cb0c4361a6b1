// ELF files made to order for the unit tests of what reads and rewrites them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace mai::test {

// An ELF file made to order: PT_LOAD over the whole file (mapped at 0x1000), PT_DYNAMIC with
// DT_STRTAB, DT_NEEDED..., DT_SONAME and DT_RUNPATH when given, PT_INTERP when given. Fields can be
// overwritten afterwards (`put`) to make it hostile.
struct ElfBuilder {
  bool wide = true, big = false;
  int machine = 62;
  std::vector<std::string> needed;
  std::string soname, runpath, interpreter;
  std::string build_id;  // lowercase hex: a GNU build-id note in a note section (as strip and objcopy keep it)
  std::string bytes;

  void put(std::size_t at, std::uint64_t v, int size) {
    for (int i = 0; i < size; ++i) bytes[at + (big ? size - 1 - i : i)] = static_cast<char>((v >> (8 * i)) & 0xff);
  }
  std::size_t word() const { return wide ? 8 : 4; }
  std::size_t phoff() const { return wide ? 64 : 52; }
  static constexpr std::size_t dynamic_at = 0x100, strings_at = 0x200, interp_at = 0x300, size = 0x400;

  ElfBuilder& build() {
    bytes.assign(size, '\0');
    bytes.replace(0, 4,
                  "\x7f"
                  "ELF");
    bytes[4] = wide ? 2 : 1;
    bytes[5] = big ? 2 : 1;
    bytes[6] = 1;
    put(16, 3, 2);  // ET_DYN
    put(18, static_cast<std::uint64_t>(machine), 2);
    put(wide ? 32 : 28, phoff(), static_cast<int>(word()));
    put(wide ? 54 : 42, wide ? 56 : 32, 2);
    const int count = interpreter.empty() ? 2 : 3;
    put(wide ? 56 : 44, static_cast<std::uint64_t>(count), 2);
    phdr(0, 1, 0, size);
    phdr(1, 2, dynamic_at, 0x100);
    if (!interpreter.empty()) {
      phdr(2, 3, interp_at, interpreter.size() + 1);
      bytes.replace(interp_at, interpreter.size(), interpreter);
    }
    std::string strings(1, '\0');
    std::vector<std::pair<std::uint64_t, std::uint64_t>> dyn{{5, 0x1000 + strings_at}};
    auto add = [&](std::uint64_t tag, const std::string& text) {
      dyn.emplace_back(tag, strings.size());
      strings += text + '\0';
    };
    for (const auto& n : needed) add(1, n);
    if (!soname.empty()) add(14, soname);
    if (!runpath.empty()) add(29, runpath);
    dyn.emplace_back(0, 0);
    bytes.replace(strings_at, strings.size(), strings);
    for (std::size_t i = 0; i < dyn.size(); ++i) {
      put(dynamic_at + i * 2 * word(), dyn[i].first, static_cast<int>(word()));
      put(dynamic_at + i * 2 * word() + word(), dyn[i].second, static_cast<int>(word()));
    }
    if (!build_id.empty()) {
      // The note at note_at; section headers after the file's loaded part: the null section and the note.
      const auto desc = build_id.size() / 2;
      put(note_at, 4, 4);
      put(note_at + 4, desc, 4);
      put(note_at + 8, 3, 4);  // NT_GNU_BUILD_ID
      bytes.replace(note_at + 12, 4, std::string("GNU\0", 4));
      for (std::size_t i = 0; i < desc; ++i)
        bytes[note_at + 16 + i] = static_cast<char>(std::stoi(build_id.substr(2 * i, 2), nullptr, 16));
      const std::size_t entry = wide ? 64 : 40;
      bytes.resize(size + 2 * entry, '\0');
      put(wide ? 40 : 32, size, static_cast<int>(word()));
      put(wide ? 58 : 46, entry, 2);
      put(wide ? 60 : 48, 2, 2);
      const auto h = size + entry;
      put(h + 4, 7, 4);  // SHT_NOTE
      put(h + (wide ? 24 : 16), note_at, static_cast<int>(word()));
      put(h + (wide ? 32 : 20), 16 + (desc + 3) / 4 * 4, static_cast<int>(word()));
      put(h + (wide ? 48 : 32), 4, static_cast<int>(word()));
    }
    return *this;
  }
  static constexpr std::size_t note_at = 0x380;
  void phdr(int i, std::uint32_t type, std::uint64_t offset, std::uint64_t filesz) {
    const auto p = phoff() + static_cast<std::size_t>(i) * (wide ? 56 : 32);
    const int w = static_cast<int>(word());
    put(p, type, 4);
    put(p + (wide ? 8 : 4), offset, w);
    put(p + (wide ? 16 : 8), 0x1000 + offset, w);
    put(p + (wide ? 32 : 16), filesz, w);
  }
};

inline std::filesystem::path self() { return std::filesystem::read_symlink("/proc/self/exe"); }

}  // namespace mai::test
