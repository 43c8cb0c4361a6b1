// What staging needs to know of an ELF file: its machine, the libraries it needs, where it looks for
// them, and its program interpreter. Read from the program headers, for 32- and 64-bit files of
// either byte order, so a host helper can read any target's binaries.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace mai {

struct ElfInfo {
  int elf_class = 0;  // 1: 32-bit, 2: 64-bit
  int machine = 0;    // e_machine (62 x86-64, 183 AArch64, 40 ARM, 243 RISC-V, 21 PPC64, 22 S390)
  std::vector<std::string> needed;       // DT_NEEDED, in order
  std::vector<std::string> search_path;  // DT_RUNPATH, else DT_RPATH, split on ':'
  std::string interpreter;               // PT_INTERP, "" for static files and libraries
  bool compatible(const ElfInfo& other) const { return elf_class == other.elf_class && machine == other.machine; }
};

// nullopt when the file is not ELF; throws Error(invalid_input) for a truncated or malformed one.
std::optional<ElfInfo> read_elf(const std::filesystem::path& file);

// "x86-64", "AArch64", "ARM", ... as readelf names them; "machine <n>" otherwise.
std::string elf_machine_name(int machine);

}  // namespace mai
