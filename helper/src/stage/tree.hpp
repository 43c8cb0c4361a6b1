// A directory tree kept in step with what should be in it: a file is written only when its content
// changes (so what depends on its time sees no change), and entries no longer wanted are removed.
// The stage step's trees and the composed context are kept this way.
#pragma once

#include <filesystem>
#include <set>
#include <string>

namespace mai {

// Writes `content` (from `source`) to `dest` unless it is already there; keeps the source's execute
// bits. True when it wrote.
bool sync_file(const std::filesystem::path& source, const std::string& content, const std::filesystem::path& dest);

// Removes entries under `root` that are not in `keep` (relative paths), then empty directories not in
// `keep`, leaving `spare` (a relative path) and what is under it alone; true when anything went.
bool prune(const std::filesystem::path& root, const std::set<std::string>& keep, const std::string& spare = "");

}  // namespace mai
