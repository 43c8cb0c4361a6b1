// A directory tree kept in step with what should be in it: a file is written only when its content
// changes (so what depends on its time sees no change), and entries no longer wanted are removed.
// The stage step's trees and the composed context are kept this way.
#pragma once

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "stage/elf.hpp"

namespace mai {

// What sync_file did: whether it wrote, and the SHA-256 of the content `dest` now holds.
struct Synced {
  bool written = false;
  std::string sha256;
};

// Brings `dest` (under `root`) to the content of `source` with `patches` applied, streamed in pieces
// (a file of gigabytes costs a buffer, not its size): compared first, written (to a temporary file,
// renamed) only when it differs; keeps the source's execute bits. Every directory between `root`
// and `dest` is made a real directory first: a link or a file an earlier stage left there is
// removed, never written through.
Synced sync_file(const std::filesystem::path& source, const std::filesystem::path& dest, const std::filesystem::path& root,
                 const std::vector<BytePatch>& patches = {});

// Makes `dir` and every directory between `root` and it real directories, removing a link or a file
// in the way: what is then written under `dir` stays under `root`.
void make_directories_under(const std::filesystem::path& root, const std::filesystem::path& dir);

// Removes entries under `root` that are not in `keep` (relative paths), then empty directories not in
// `keep`, leaving `spare` (a relative path) and what is under it alone; true when anything went.
bool prune(const std::filesystem::path& root, const std::set<std::string>& keep, const std::string& spare = "");

}  // namespace mai
