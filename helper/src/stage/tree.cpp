#include "stage/tree.hpp"

#include <algorithm>
#include <vector>

#include "base/error.hpp"
#include "base/files.hpp"

namespace fs = std::filesystem;

namespace mai {

bool sync_file(const fs::path& source, const std::string& content, const fs::path& dest) {
  std::error_code ec;
  if (fs::is_regular_file(dest, ec) && !fs::is_symlink(fs::symlink_status(dest, ec)) &&
      fs::file_size(dest, ec) == content.size() && read_text_file(dest) == content)
    return false;
  fs::create_directories(dest.parent_path());
  write_file_atomically(dest, content);
  fs::permissions(dest,
                  fs::status(source).permissions() | fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  return true;
}

bool prune(const fs::path& root, const std::set<std::string>& keep, const std::string& spare) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return false;
  std::vector<fs::path> files, dirs;
  // Entries are judged by their own status, never their target's: a symlink that loops, dangles or
  // points at a directory is an entry like a file (the iterator does not follow it either).
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const auto rel = it->path().lexically_relative(root).generic_string();
    const bool real_dir = fs::is_directory(it->symlink_status(ec));
    if (!spare.empty() && (rel == spare || rel.starts_with(spare + "/"))) {
      if (real_dir && rel == spare) it.disable_recursion_pending();
      continue;
    }
    if (real_dir) {
      if (!keep.count(rel)) dirs.push_back(it->path());
    } else if (!keep.count(rel)) {
      files.push_back(it->path());
    }
  }
  if (ec) throw Error(Exit::step_failed, "cannot list " + root.string() + ": " + ec.message());
  for (const auto& f : files) fs::remove(f, ec);
  std::sort(dirs.rbegin(), dirs.rend());  // deepest first
  bool removed_dir = false;
  for (const auto& d : dirs)
    if (fs::is_empty(d, ec) && fs::remove(d, ec)) removed_dir = true;
  return !files.empty() || removed_dir;
}

}  // namespace mai
