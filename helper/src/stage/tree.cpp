#include "stage/tree.hpp"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <vector>

#include "base/digest.hpp"
#include "base/error.hpp"

namespace fs = std::filesystem;

namespace mai {

namespace {

constexpr std::size_t kPatchChunk = std::size_t{1} << 20;

// Reads `file` in pieces from the start, each with the patches that overlap it applied.
class PatchedReader {
 public:
  PatchedReader(const fs::path& file, const std::vector<BytePatch>& patches) : in_(file, std::ios::binary), patches_(patches) {
    if (!in_) throw Error(Exit::invalid_input, "cannot read " + file.string());
  }
  // The next piece into `buffer` (empty at the end).
  void next(std::string& buffer) {
    buffer.resize(kPatchChunk);
    in_.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    buffer.resize(static_cast<std::size_t>(in_.gcount()));
    for (const auto& p : patches_) {
      const auto end = p.offset + p.bytes.size();
      if (end <= at_ || p.offset >= at_ + buffer.size()) continue;
      const auto from = std::max(p.offset, at_);
      const auto to = std::min<std::uint64_t>(end, at_ + buffer.size());
      std::copy_n(p.bytes.begin() + static_cast<std::ptrdiff_t>(from - p.offset), to - from,
                  buffer.begin() + static_cast<std::ptrdiff_t>(from - at_));
    }
    at_ += buffer.size();
  }
  bool bad() const { return in_.bad(); }

 private:
  std::ifstream in_;
  const std::vector<BytePatch>& patches_;
  std::uint64_t at_ = 0;
};

}  // namespace

void make_directories_under(const fs::path& root, const fs::path& dir) {
  const auto rel = dir.lexically_normal().lexically_relative(root.lexically_normal());
  if (rel.empty() || *rel.begin() == "..") throw Error(Exit::invalid_input, dir.string() + " is not under " + root.string());
  fs::create_directories(root);
  auto at = root;
  for (const auto& part : rel) {
    if (part == ".") continue;
    at /= part;
    std::error_code ec;
    const auto status = fs::symlink_status(at, ec);
    if (fs::is_directory(status)) continue;
    if (fs::exists(status)) fs::remove(at);
    fs::create_directory(at);
  }
}

Synced sync_file(const fs::path& source, const fs::path& dest, const fs::path& root, const std::vector<BytePatch>& patches) {
  make_directories_under(root, dest.parent_path());
  const auto perms = fs::status(source).permissions() | fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read;
  std::error_code ec;
  const auto size = fs::file_size(source);
  std::string piece, theirs;
  const auto status = fs::symlink_status(dest, ec);
  if (fs::is_regular_file(status) && fs::file_size(dest, ec) == size) {
    PatchedReader ours(source, patches);
    std::ifstream in(dest, std::ios::binary);
    Sha256 hash;
    bool same = static_cast<bool>(in);
    while (same) {
      ours.next(piece);
      if (piece.empty()) break;
      theirs.resize(piece.size());
      in.read(theirs.data(), static_cast<std::streamsize>(theirs.size()));
      same = static_cast<std::size_t>(in.gcount()) == piece.size() && piece == theirs;
      hash.update(piece.data(), piece.size());
    }
    if (same && !ours.bad()) {
      if (status.permissions() != perms) {
        fs::permissions(dest, perms);
        return {true, hash.digest()};
      }
      return {false, hash.digest()};
    }
  }
  if (fs::exists(status) && !fs::is_regular_file(status)) fs::remove_all(dest);
  auto tmp = dest;
  tmp += ".tmp." + std::to_string(::getpid());
  Sha256 hash;
  {
    PatchedReader ours(source, patches);
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    for (ours.next(piece); !piece.empty(); ours.next(piece)) {
      hash.update(piece.data(), piece.size());
      out.write(piece.data(), static_cast<std::streamsize>(piece.size()));
    }
    out.flush();
    if (ours.bad()) throw Error(Exit::invalid_input, "cannot read " + source.string());
    if (!out) throw Error(Exit::step_failed, "cannot write " + tmp.string());
  }
  fs::permissions(tmp, perms);
  fs::rename(tmp, dest);
  return {true, hash.digest()};
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
