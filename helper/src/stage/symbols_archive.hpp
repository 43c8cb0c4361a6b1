// The archive DEBUG_SYMBOLS ATTACH publishes beside a platform's image (artifact type
// application/vnd.multiarch-image.debug-symbols.v1+tar): an uncompressed tar of one debug file per
// build-id in the layout debuggers read, `.build-id/ab/cdef….debug`, and nothing else. The debug
// sections inside each file are compressed (objcopy --compress-debug-sections), which GDB and elfutils
// read as they are, so a directory it is extracted into serves them directly.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace mai {

struct ArchivedDebugFile {
  std::string build_id;
  std::filesystem::path file;  // the debug file on this machine
};

struct WrittenArchive {
  std::string digest;  // sha256:<hex> of the archive's bytes
  std::int64_t size = 0;
};

// Writes the archive of `files` (one per build-id; a build-id given twice is written once) to
// `archive`, reproducibly: the directories `.build-id/` and `.build-id/ab/` before their files, entries
// sorted by name, ustar headers with owner 0:0 and no names, mode 0755 (debug files are executable, as
// objcopy writes them and as debuginfod -F wants them), every time `mtime`; each file streamed, never
// whole in memory.
WrittenArchive write_symbols_archive(const std::vector<ArchivedDebugFile>& files, std::int64_t mtime,
                                     const std::filesystem::path& archive);

// Extracts an archive such as write_symbols_archive writes into `out` (`<out>/.build-id/ab/cdef….debug`)
// and returns the build-ids it held. Only that shape is taken: the directories `.build-id/` and
// `.build-id/<2 hex digits>/`, and regular files `.build-id/<2 hex>/<hex>.debug`, each an ELF file
// whose GNU build-id is its name; anything else (another name, a link, a device, a PAX record, a
// header whose checksum is wrong, a name twice, an archive cut short) is an error naming `what` and
// the entry, and the file being written is removed. Files are written executable (0755: debuginfod -F
// indexes executable files only), whatever the archive says. A file already there with the same
// bytes is left as it is; one with other bytes is replaced.
std::vector<std::string> extract_symbols_archive(const std::filesystem::path& archive, const std::filesystem::path& out,
                                                 const std::string& what);

}  // namespace mai
