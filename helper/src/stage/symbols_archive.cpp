#include "stage/symbols_archive.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>
#include <map>
#include <set>

#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/files.hpp"
#include "base/interrupt.hpp"
#include "base/ustar.hpp"
#include "stage/debug_symbols.hpp"
#include "stage/elf.hpp"

namespace fs = std::filesystem;

namespace mai {
namespace {

constexpr std::size_t kCopyChunk = std::size_t{1} << 20;
constexpr std::uint64_t kLargestDebugFile = std::uint64_t{64} << 30;  // as a streamed blob (registry/client.hpp)

std::array<char, kTarBlock> header(const std::string& name, char type, std::uint64_t mode, std::uint64_t size,
                                   std::int64_t mtime) {
  return ustar_header({.name = name, .type = type, .mode = mode, .size = size, .mtime = mtime});
}

std::uint64_t number(const char* b, std::size_t n, bool& ok) {
  if (static_cast<unsigned char>(b[0]) & 0x80) {
    std::uint64_t v = static_cast<unsigned char>(b[0]) & 0x7f;
    for (std::size_t i = 1; i < n; ++i) {
      if (v >> 55) ok = false;  // would not fit
      v = (v << 8) | static_cast<unsigned char>(b[i]);
    }
    return v;
  }
  std::uint64_t v = 0;
  std::size_t i = 0;
  while (i < n && b[i] == ' ') ++i;
  for (; i < n && b[i] >= '0' && b[i] <= '7'; ++i) v = v * 8 + static_cast<std::uint64_t>(b[i] - '0');
  for (; i < n; ++i)
    if (b[i] != '\0' && b[i] != ' ') ok = false;
  return v;
}

bool hex(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool same_bytes(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  if (!fs::is_regular_file(b, ec) || fs::file_size(a, ec) != fs::file_size(b, ec)) return false;
  std::ifstream in_a(a, std::ios::binary), in_b(b, std::ios::binary);
  std::vector<char> x(kCopyChunk), y(kCopyChunk);
  while (in_a && in_b) {
    in_a.read(x.data(), static_cast<std::streamsize>(x.size()));
    in_b.read(y.data(), static_cast<std::streamsize>(y.size()));
    if (in_a.gcount() != in_b.gcount() || !std::equal(x.begin(), x.begin() + in_a.gcount(), y.begin())) return false;
  }
  return true;
}

// A directory under `out` made real: a link or a file in its place is removed, never followed.
void real_directory(const fs::path& dir) {
  std::error_code ec;
  const auto status = fs::symlink_status(dir, ec);
  if (fs::is_directory(status)) return;
  if (fs::exists(status)) fs::remove(dir);
  fs::create_directory(dir);
}

}  // namespace

WrittenArchive write_symbols_archive(const std::vector<ArchivedDebugFile>& files, std::int64_t mtime, const fs::path& archive) {
  std::map<std::string, fs::path> by_name;  // sorted by entry name
  for (const auto& f : files) by_name.emplace(build_id_path(f.build_id), f.file);
  fs::create_directories(archive.parent_path());
  const auto tmp = temporary_name_in(archive.parent_path(), ".tmp-");
  WrittenArchive out;
  {
    std::ofstream sink(tmp, std::ios::binary | std::ios::trunc);
    if (!sink) throw Error(Exit::step_failed, "cannot write " + tmp.string());
    Sha256 hash;
    const auto put = [&](const char* data, std::size_t n) {
      sink.write(data, static_cast<std::streamsize>(n));
      hash.update(data, n);
      out.size += static_cast<std::int64_t>(n);
    };
    static const std::array<char, kTarBlock> zero{};
    std::set<std::string> dirs;
    std::vector<char> buffer(kCopyChunk);
    for (const auto& [name, file] : by_name) {
      throw_if_interrupted();
      for (const auto& dir : {std::string(".build-id/"), name.substr(0, 13)})
        if (dirs.insert(dir).second) put(header(dir, '5', 0755, 0, mtime).data(), kTarBlock);
      std::error_code ec;
      const auto size = fs::file_size(file, ec);
      if (ec) throw Error(Exit::step_failed, "cannot read the debug file " + file.string() + ": " + ec.message());
      put(header(name, '0', 0755, size, mtime).data(), kTarBlock);
      std::ifstream in(file, std::ios::binary);
      if (!in) throw Error(Exit::step_failed, "cannot read the debug file " + file.string());
      for (std::uint64_t copied = 0; copied < size;) {
        in.read(buffer.data(), static_cast<std::streamsize>(std::min<std::uint64_t>(buffer.size(), size - copied)));
        const auto n = static_cast<std::size_t>(in.gcount());
        if (n == 0) throw Error(Exit::step_failed, file.string() + " shrank while it was being archived");
        put(buffer.data(), n);
        copied += n;
      }
      if (const auto rest = size % kTarBlock; rest != 0) put(zero.data(), kTarBlock - rest);
    }
    put(zero.data(), kTarBlock);
    put(zero.data(), kTarBlock);
    sink.close();
    if (!sink) {
      std::error_code ec;
      fs::remove(tmp, ec);
      throw Error(Exit::step_failed, "cannot write " + tmp.string());
    }
    out.digest = hash.digest();
  }
  fs::rename(tmp, archive);
  return out;
}

std::vector<std::string> extract_symbols_archive(const fs::path& archive, const fs::path& out, const std::string& what) {
  std::ifstream in(archive, std::ios::binary);
  if (!in) throw Error(Exit::step_failed, "cannot read " + archive.string());
  std::vector<std::string> ids;
  std::set<std::string> names;
  std::array<char, kTarBlock> h{};
  std::vector<char> buffer(kCopyChunk);
  const auto refuse = [&](const std::string& name, const std::string& why) {
    return Error(Exit::verify_failed, what + " holds `" + name + "`, " + why +
                                          " (a debug-symbols archive holds only .build-id/<2 hex digits>/<hex>.debug files "
                                          "and their directories): nothing more was extracted");
  };
  fs::create_directories(out);
  while (true) {
    throw_if_interrupted();
    in.read(h.data(), h.size());
    if (in.gcount() == 0) break;  // the end without its two zero blocks: what came was whole
    if (static_cast<std::size_t>(in.gcount()) != h.size()) throw Error(Exit::verify_failed, what + " ends inside a header");
    if (std::all_of(h.begin(), h.end(), [](char c) { return c == 0; })) break;
    bool ok = true;
    const auto stated = number(&h[148], 8, ok);
    unsigned sum = 0;
    for (std::size_t i = 0; i < h.size(); ++i) sum += i >= 148 && i < 156 ? ' ' : static_cast<unsigned char>(h[i]);
    std::string name(h.data(), strnlen(h.data(), 100));
    if (const std::string prefix(&h[345], strnlen(&h[345], 155)); std::memcmp(&h[257], "ustar", 5) == 0 && !prefix.empty())
      name = prefix + "/" + name;
    if (!ok || stated != sum) throw refuse(name, "whose header's checksum is wrong");
    const char type = h[156] == '\0' ? '0' : h[156];
    const auto size = number(&h[124], 12, ok);
    if (!ok) throw refuse(name, "whose size is not a number");
    const auto padded = size % kTarBlock == 0 ? size : size + (kTarBlock - size % kTarBlock);
    if (type == '5') {
      const bool top = name == ".build-id/" || name == ".build-id";
      const bool fan = name.size() >= 12 && name.starts_with(".build-id/") && name.size() <= 13 &&
                       hex(std::string_view(name).substr(10, 2)) && (name.size() == 12 || name.back() == '/');
      if ((!top && !fan) || size != 0) throw refuse(name, "a directory other than .build-id/ and .build-id/<2 hex digits>/");
      real_directory(out / ".build-id");
      if (fan) real_directory(out / ".build-id" / name.substr(10, 2));
      continue;
    }
    if (type != '0') throw refuse(name, std::string("an entry of type `") + type + "`, not a file or a directory");
    // .build-id/ab/<hex>.debug, whose name is a build-id.
    if (!name.starts_with(".build-id/") || name.size() < 20 || name[12] != '/' || !name.ends_with(".debug"))
      throw refuse(name, "which is not named .build-id/<2 hex digits>/<hex>.debug");
    const auto build_id = name.substr(10, 2) + name.substr(13, name.size() - 13 - 6);
    if (!valid_build_id(build_id) || !hex(std::string_view(name).substr(10, 2)))
      throw refuse(name, "whose name is not a build-id of 2 to 40 bytes in lowercase hex");
    if (!names.insert(name).second) throw refuse(name, "a second time");
    if (size > kLargestDebugFile) throw refuse(name, "of " + std::to_string(size) + " bytes, more than a debug file may be");
    const auto dir = out / ".build-id" / name.substr(10, 2);
    real_directory(out / ".build-id");
    real_directory(dir);
    const auto tmp = temporary_name_in(dir, ".tmp-");
    try {
      {
        std::ofstream file(tmp, std::ios::binary | std::ios::trunc);
        if (!file) throw Error(Exit::step_failed, "cannot write " + tmp.string());
        for (std::uint64_t copied = 0; copied < padded;) {
          const auto step = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), padded - copied));
          in.read(buffer.data(), static_cast<std::streamsize>(step));
          if (static_cast<std::size_t>(in.gcount()) != step) throw Error(Exit::verify_failed, what + " ends inside " + name);
          if (copied < size)
            file.write(buffer.data(), static_cast<std::streamsize>(std::min<std::uint64_t>(step, size - copied)));
          copied += step;
        }
        file.close();
        if (!file) throw Error(Exit::step_failed, "cannot write " + tmp.string());
      }
      // Executable, as objcopy writes debug files: debuginfod -F indexes executable files only.
      fs::permissions(tmp, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec | fs::perms::others_read |
                               fs::perms::others_exec);
      const auto id = read_build_id(tmp);
      if (!id) throw refuse(name, "which is not an ELF file");
      if (*id != build_id)
        throw refuse(
            name, "whose GNU build-id is `" + *id + "`, not its name's: a debugger would take it for another program's symbols");
      const auto at = dir / (name.substr(13));
      if (same_bytes(tmp, at)) {
        fs::remove(tmp);
      } else {
        std::error_code ec;
        if (fs::is_directory(fs::symlink_status(at, ec))) fs::remove_all(at);
        fs::rename(tmp, at);
      }
    } catch (...) {
      std::error_code ec;
      fs::remove(tmp, ec);
      throw;
    }
    ids.push_back(build_id);
  }
  return ids;
}

}  // namespace mai
