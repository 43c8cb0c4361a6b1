// DEBUG_SYMBOLS: the project's staged ELF files (TARGETS, INSTALL, the project's libraries) stripped of
// their debug information with the platform's own binutils (CMAKE_OBJCOPY and CMAKE_STRIP of the
// (sub-)build that stages it, so a cross platform's own), their GNU build-id kept. With ATTACH that
// information is kept beside the stage, one file per build-id in the layout debuggers read
// (.build-id/ab/cdef….debug, as GDB's debug-file-directory and elfutils' debuginfod expect), for the
// push step to publish beside the platform's image; it never enters the image.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/log.hpp"
#include "base/runner.hpp"
#include "oci/platform.hpp"
#include "stage/elf.hpp"
#include "stage/tree.hpp"

namespace mai {

enum class DebugSymbols { keep, attach, drop };
// ATTACH, KEEP or DROP, as add_multiarch_image() takes them; Error(usage) naming the valid ones otherwise.
DebugSymbols parse_debug_symbols(std::string_view text);
const char* name_of(DebugSymbols mode);

// The platform's own binutils: the (sub-)build's CMAKE_OBJCOPY and CMAKE_STRIP.
struct StripTools {
  std::filesystem::path objcopy;
  std::filesystem::path strip;
};

// Where a platform's stage keeps the debug files and its record of what it stripped: beside its
// stamp in the image's state directory.
inline std::filesystem::path debug_symbols_dir(const std::filesystem::path& state, const Platform& platform) {
  return state / ("stage-" + platform.target_suffix() + ".debug");
}
inline std::filesystem::path stripped_record_path(const std::filesystem::path& state, const Platform& platform) {
  return state / ("stage-" + platform.target_suffix() + ".debug.json");
}

// Whether `text` is a build-id debug files are named by here: 2 to 40 bytes (GNU ld's and lld's are 8
// to 20), in lowercase hex, so that every .build-id path fits a tar header's name.
bool valid_build_id(std::string_view text);
// ".build-id/ab/cdef….debug": where GDB and elfutils look for the debug information of abcdef….
std::string build_id_path(const std::string& build_id);

// One file the stage step stripped.
struct StrippedFile {
  std::string path;      // in the image: /usr/local/bin/server
  std::string build_id;  // its GNU build-id ("" only under DROP, for a file without one)
  std::string sha256;    // of the stripped bytes staged (what the image and the SBOM have)
  std::string key;       // what it was made from (source file, run path, tools, mode): same key, nothing stripped
  std::string staged;    // the staged file's size, modification time and inode when it was written
};
struct StrippedRecord {
  DebugSymbols mode = DebugSymbols::keep;
  std::vector<StrippedFile> files;  // in staging order
};
// Empty (mode keep, no files) when the file is missing or unreadable.
StrippedRecord read_stripped_record(const std::filesystem::path& path);
// Written only when the content changes.
void write_stripped_record(const std::filesystem::path& path, const StrippedRecord& record);

// What one stage step strips. Each file of the project is stripped once per content: a restage after
// an edit of one program strips that program only (the others' key and staged file are unchanged).
class Stripper {
 public:
  // `stamp` is the stage's stamp: the record, the debug files and a work directory go beside it.
  Stripper(DebugSymbols mode, StripTools tools, const std::filesystem::path& stamp, const Platform& platform, Runner& runner,
           const Log& log);
  ~Stripper();
  Stripper(const Stripper&) = delete;
  Stripper& operator=(const Stripper&) = delete;

  // Whether a planned file of `kind` (program, library, runtime, file) is stripped: the project's
  // programs and libraries that are executables or shared objects; never the C/C++ runtime (the
  // distribution's own files, whose debug information its debug packages carry) nor other files.
  bool strips(const std::string& kind, const std::optional<ElfInfo>& info) const;

  // Brings `dest` (under `root`) to `source` with `patches` applied (its run path), stripped of its
  // debug information; with ATTACH its debug information goes to the debug directory under its
  // build-id. `info` is the source's. A file without a GNU build-id under ATTACH is an error (its
  // debug information could never be found), raised before anything of it is written.
  Synced stage(const std::filesystem::path& source, const ElfInfo& info, const std::vector<BytePatch>& patches,
               const std::filesystem::path& dest, const std::filesystem::path& root, const std::string& image_path);

  // Writes the record; removes the debug files no staged file has any more (all of them, and the
  // record, for KEEP and DROP). Returns how many files were stripped now (the others were kept).
  int finish();

 private:
  std::string key_of(const std::filesystem::path& source, const std::vector<BytePatch>& patches) const;

  DebugSymbols mode_;
  StripTools tools_;
  std::filesystem::path dir_, record_, work_;
  Runner& runner_;
  const Log& log_;
  std::map<std::string, StrippedFile> previous_;  // by path in the image
  StrippedRecord record_now_;
  int stripped_ = 0;
};

// A debug file ATTACH published (or will publish): the staged file it belongs to, its build-id, and
// where it is on this machine.
struct DebugFile {
  std::string path;  // in the image
  std::string build_id;
  std::filesystem::path file;  // <debug directory>/.build-id/ab/cdef….debug
};

// The debug files of the platform's stage in `state`, each checked against the stripped file in
// `staged` (the platform's staged tree): the staged file and its debug file must both have the
// build-id the stage recorded. Throws Error(verify_failed) naming the file when one does not (a
// stripped file that no longer matches its symbols), when a debug file is missing, and when the stage
// was not made with DEBUG_SYMBOLS ATTACH. In the order the stage staged them, one per build-id.
std::vector<DebugFile> checked_debug_files(const std::filesystem::path& state, const Platform& platform,
                                           const std::filesystem::path& staged);

}  // namespace mai
