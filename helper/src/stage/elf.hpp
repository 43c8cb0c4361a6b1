// What staging needs to know of an ELF file: its machine, the libraries it needs, where it looks for
// them, and its program interpreter. Read from the program headers, for 32- and 64-bit files of
// either byte order, so a host helper can read any target's binaries. Every offset a file states is
// checked against its size before it is read: a hostile file is an error, never a read out of bounds.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mai {

struct ElfInfo {
  int elf_class = 0;  // 1: 32-bit, 2: 64-bit
  bool big_endian = false;
  int machine = 0;                       // e_machine (62 x86-64, 183 AArch64, 40 ARM, 243 RISC-V, 21 PPC64, 22 S390)
  int type = 0;                          // e_type (1 relocatable, 2 executable, 3 shared object or PIE, 4 core)
  std::string build_id;                  // the GNU build-id (NT_GNU_BUILD_ID) in lowercase hex; "" none
  std::vector<std::string> needed;       // DT_NEEDED, in order
  std::string soname;                    // DT_SONAME, "" when none
  std::vector<std::string> search_path;  // DT_RUNPATH, else DT_RPATH, split on ':'
  std::string interpreter;               // PT_INTERP, "" for static files and libraries
  bool compatible(const ElfInfo& other) const { return elf_class == other.elf_class && machine == other.machine; }

  // Where the file keeps its run paths, for with_run_path().
  struct RunPath {
    std::uint64_t entry;   // file offset of the DT_RUNPATH/DT_RPATH entry in the dynamic array
    std::uint64_t string;  // file offset of its string
    std::size_t length;    // the string's length, without its NUL
  };
  std::vector<RunPath> run_paths;
  std::uint64_t dynamic_end = 0;             // file offset just past the dynamic array's DT_NULL
  std::vector<std::uint64_t> other_strings;  // file offsets of the other strings in use: DT_NEEDED, DT_SONAME, PT_INTERP
};

// nullopt when the file is not ELF; throws Error(invalid_input) for a truncated or malformed one.
// The build-id is looked for in the note sections, then (a file without section headers) in the
// note segments; a malformed note is no build-id, never an error.
// The file is mapped, not read: only the pages holding its headers and dynamic strings are touched,
// so a binary of gigabytes (debug information) costs what its headers cost.
std::optional<ElfInfo> read_elf(const std::filesystem::path& file);
// The same for bytes already at hand; `what` names them in errors.
std::optional<ElfInfo> parse_elf(std::string_view bytes, const std::string& what);

// The GNU build-id of an ELF file, and nothing else: "" when it has none, nullopt when it is not ELF.
// For files read_elf refuses, such as a debug file from objcopy --only-keep-debug (its loaded
// sections, the dynamic array among them, are NOBITS: the program headers point at nothing).
std::optional<std::string> read_build_id(const std::filesystem::path& file);
std::optional<std::string> parse_build_id(std::string_view bytes, const std::string& what);

// Bytes of a file replaced at an offset, as the file is copied.
struct BytePatch {
  std::uint64_t offset = 0;
  std::string bytes;
};

// What setting the run path of the file `info` was read from to `run_path` changes, as
// `cmake --install` does: the old string overwritten when it fits (NUL-padded), or, when `run_path`
// is empty, the DT_RUNPATH/DT_RPATH entries removed from the dynamic array and their strings zeroed.
// Every other byte stays as it was. `read(offset, size)` gives the file's bytes there (the dynamic
// array, for a removal). Throws Error(invalid_input) naming `what` when `run_path` is longer than
// the space the file has for it.
std::vector<BytePatch> run_path_patches(const ElfInfo& info, const std::string& run_path, const std::string& what,
                                        const std::function<std::string(std::uint64_t, std::size_t)>& read);
// Throws Error(invalid_input) unless `file` with `patches` applied (in a private mapping; the file is
// not changed) states what `info` does but the run path: a hostile layout can tie other parts of the
// file to the bytes a rewrite changes.
void check_run_path_patches(const std::filesystem::path& file, const ElfInfo& info, const std::vector<BytePatch>& patches,
                            const std::string& run_path);
// `bytes` (the whole file `info` was read from) with those patches applied, checked the same way.
std::string with_run_path(std::string bytes, const ElfInfo& info, const std::string& run_path, const std::string& what);

// "x86-64", "AArch64", "ARM", ... as readelf names them; "machine <n>" otherwise.
std::string elf_machine_name(int machine);

}  // namespace mai
