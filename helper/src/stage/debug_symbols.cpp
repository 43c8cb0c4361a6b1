#include "stage/debug_symbols.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <fstream>
#include <set>

#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/files.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;

namespace mai {

namespace {

// A file's identity as the file system keeps it: size, modification and change time, inode and
// device. A rewritten file has another (a program cannot set a change time).
std::string identity_of(const fs::path& file, bool with_change_time) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return "";
  auto text = std::to_string(st.st_size) + "|" + std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) +
              "|" + std::to_string(st.st_ino) + "|" + std::to_string(st.st_dev);
  if (with_change_time) text += "|" + std::to_string(st.st_ctim.tv_sec) + "." + std::to_string(st.st_ctim.tv_nsec);
  return text;
}

bool same_content(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  if (!fs::is_regular_file(a, ec) || !fs::is_regular_file(b, ec) || fs::file_size(a, ec) != fs::file_size(b, ec)) return false;
  std::ifstream in_a(a, std::ios::binary), in_b(b, std::ios::binary);
  std::array<char, 1 << 16> buffer_a{}, buffer_b{};
  while (in_a && in_b) {
    in_a.read(buffer_a.data(), buffer_a.size());
    in_b.read(buffer_b.data(), buffer_b.size());
    if (in_a.gcount() != in_b.gcount() || !std::equal(buffer_a.begin(), buffer_a.begin() + in_a.gcount(), buffer_b.begin()))
      return false;
  }
  return !in_a.bad() && !in_b.bad();
}

std::string hex_of(const std::string& bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (const char c : bytes) {
    out += kHex[(static_cast<unsigned char>(c) >> 4) & 0xf];
    out += kHex[static_cast<unsigned char>(c) & 0xf];
  }
  return out;
}

void remove_empty_directories(const fs::path& root) {
  std::error_code ec;
  std::vector<fs::path> dirs;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
    if (it->is_directory(ec) && !it->is_symlink(ec)) dirs.push_back(it->path());
  std::sort(dirs.rbegin(), dirs.rend());  // the deepest first
  for (const auto& d : dirs)
    if (fs::is_empty(d, ec)) fs::remove(d, ec);
}

}  // namespace

DebugSymbols parse_debug_symbols(std::string_view text) {
  if (text == "ATTACH") return DebugSymbols::attach;
  if (text == "KEEP") return DebugSymbols::keep;
  if (text == "DROP") return DebugSymbols::drop;
  throw Error(Exit::usage, "DEBUG_SYMBOLS `" + std::string(text) + "` is not one of ATTACH, KEEP, DROP");
}

const char* name_of(DebugSymbols mode) {
  switch (mode) {
    case DebugSymbols::attach:
      return "ATTACH";
    case DebugSymbols::drop:
      return "DROP";
    case DebugSymbols::keep:
      return "KEEP";
  }
  return "?";
}

bool valid_build_id(std::string_view text) {
  return text.size() >= 4 && text.size() <= 80 && text.size() % 2 == 0 &&
         std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string build_id_path(const std::string& build_id) {
  if (!valid_build_id(build_id))
    throw Error(Exit::invalid_input, "`" + build_id + "` is not a build-id (2 to 40 bytes in lowercase hex)");
  return ".build-id/" + build_id.substr(0, 2) + "/" + build_id.substr(2) + ".debug";
}

StrippedRecord read_stripped_record(const fs::path& path) {
  StrippedRecord out;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return out;
  try {
    const auto v = json::parse(read_text_file(path));
    const auto& o = v.as_object();
    out.mode = parse_debug_symbols(json::value_to<std::string>(o.at("mode")));
    for (const auto& f : o.at("files").as_array()) {
      const auto& e = f.as_object();
      const auto text = [&](const char* key) { return json::value_to<std::string>(e.at(key)); };
      out.files.push_back({text("path"), text("build_id"), text("sha256"), text("key"), text("staged")});
    }
  } catch (const std::exception&) {
    return {};  // as if nothing was stripped: everything is stripped again
  }
  return out;
}

void write_stripped_record(const fs::path& path, const StrippedRecord& record) {
  json::array files;
  for (const auto& f : record.files)
    files.push_back(
        json::object{{"path", f.path}, {"build_id", f.build_id}, {"sha256", f.sha256}, {"key", f.key}, {"staged", f.staged}});
  const auto text =
      json::serialize(json::object{{"format", 1}, {"mode", name_of(record.mode)}, {"files", std::move(files)}}) + "\n";
  std::error_code ec;
  if (fs::is_regular_file(path, ec) && read_text_file(path) == text) return;
  write_file_atomically(path, text);
}

Stripper::Stripper(DebugSymbols mode, StripTools tools, const fs::path& stamp, const Platform& platform, Runner& runner,
                   const Log& log)
    : mode_(mode),
      tools_(std::move(tools)),
      dir_(debug_symbols_dir(stamp.parent_path(), platform)),
      record_(stripped_record_path(stamp.parent_path(), platform)),
      work_(stamp.string() + ".strip"),
      runner_(runner),
      log_(log) {
  record_now_.mode = mode;
  if (mode_ == DebugSymbols::keep) return;
  for (const auto* tool : {&tools_.objcopy, &tools_.strip})
    if (tool->empty())
      throw Error(Exit::usage, std::string("DEBUG_SYMBOLS ") + name_of(mode_) + " for " + platform.str() + " needs the " +
                                   (tool == &tools_.objcopy ? "objcopy" : "strip") +
                                   " of the platform's toolchain (CMAKE_OBJCOPY, CMAKE_STRIP), and the stage was given none");
  const auto previous = read_stripped_record(record_);
  if (previous.mode == mode_)
    for (const auto& f : previous.files) previous_.emplace(f.path, f);
}

Stripper::~Stripper() {
  std::error_code ec;
  fs::remove_all(work_, ec);
}

bool Stripper::strips(const std::string& kind, const std::optional<ElfInfo>& info) const {
  return mode_ != DebugSymbols::keep && info && (kind == "program" || kind == "library") && (info->type == 2 || info->type == 3);
}

std::string Stripper::key_of(const fs::path& source, const std::vector<BytePatch>& patches) const {
  std::string text = std::string("1|") + name_of(mode_);
  for (const auto* tool : {&tools_.objcopy, &tools_.strip}) {
    std::error_code ec;
    const auto resolved = fs::canonical(*tool, ec);
    text += "|" + tool->string() + "|" + identity_of(ec ? *tool : resolved, false);
  }
  text += "|" + fs::absolute(source).string() + "|" + identity_of(source, true);
  for (const auto& p : patches) text += "|" + std::to_string(p.offset) + ":" + hex_of(p.bytes);
  return sha256_digest(text);
}

Synced Stripper::stage(const fs::path& source, const ElfInfo& info, const std::vector<BytePatch>& patches, const fs::path& dest,
                       const fs::path& root, const std::string& image_path) {
  if (mode_ == DebugSymbols::attach && info.build_id.empty())
    throw Error(Exit::invalid_input,
                source.string() + " (staged as " + image_path +
                    ") has no GNU build-id, by which DEBUG_SYMBOLS ATTACH names its debug information and debuggers find it: "
                    "link it with -Wl,--build-id (GCC and clang on Debian do by default), or give the image DEBUG_SYMBOLS "
                    "KEEP or DROP; nothing was published");
  if (mode_ == DebugSymbols::attach && !valid_build_id(info.build_id))
    throw Error(
        Exit::invalid_input,
        source.string() + " (staged as " + image_path + ") has the build-id " + info.build_id +
            ", shorter than 2 or longer than 40 bytes (GNU ld's and lld's are 8 to 20): link it with -Wl,--build-id=sha1");
  const auto key = key_of(source, patches);
  // Stripped before from the same file, and staged as it was then: nothing to do.
  if (const auto before = previous_.find(image_path); before != previous_.end() && before->second.key == key &&
                                                      !before->second.staged.empty() &&
                                                      identity_of(dest, false) == before->second.staged) {
    std::error_code ec;
    if (mode_ != DebugSymbols::attach || fs::is_regular_file(dir_ / build_id_path(before->second.build_id), ec)) {
      record_now_.files.push_back(before->second);
      return {false, before->second.sha256};
    }
  }
  std::error_code ec;
  fs::remove_all(work_, ec);
  fs::create_directories(work_ / "in");
  const auto full = work_ / "in" / "file", stripped = work_ / "stripped", debug = work_ / "debug";
  sync_file(source, full, work_, patches);
  const auto run = [&](std::vector<std::string> argv, const std::string& what) {
    const Command command{std::move(argv), {}, {}, false};
    require_success(command, runner_.run(command, Output::capture, log_), what + " of " + source.string());
  };
  if (mode_ == DebugSymbols::attach)
    run({tools_.objcopy.string(), "--only-keep-debug", "--compress-debug-sections=zlib", full.string(), debug.string()},
        "the debug information (objcopy --only-keep-debug)");
  run({tools_.strip.string(), "--strip-debug", "-o", stripped.string(), full.string()}, "stripping (strip --strip-debug)");
  fs::permissions(stripped, fs::status(full).permissions());
  const auto after = read_elf(stripped);
  if (!after)
    throw Error(Exit::step_failed,
                tools_.strip.string() + " made " + stripped.string() + " of " + source.string() + ", which is not ELF");
  if (after->build_id != info.build_id)
    throw Error(Exit::verify_failed, tools_.strip.string() + " stripped " + source.string() + " to a file with the build-id `" +
                                         after->build_id + "`, not its own `" + info.build_id + "`");
  if (mode_ == DebugSymbols::attach) {
    const auto kept = read_build_id(debug);
    if (!kept || *kept != info.build_id)
      throw Error(Exit::verify_failed, tools_.objcopy.string() + " made a debug file of " + source.string() +
                                           " with the build-id `" + kept.value_or("(not ELF)") + "`, not its own `" +
                                           info.build_id + "`");
    const auto at = dir_ / build_id_path(info.build_id);
    if (!same_content(debug, at)) {
      fs::create_directories(at.parent_path());
      fs::rename(debug, at);
    }
  }
  auto synced = sync_file(stripped, dest, root);
  record_now_.files.push_back({image_path, info.build_id, synced.sha256, key, identity_of(dest, false)});
  ++stripped_;
  return synced;
}

int Stripper::finish() {
  std::error_code ec;
  fs::remove_all(work_, ec);
  if (mode_ == DebugSymbols::keep) {
    fs::remove_all(dir_, ec);
    fs::remove(record_, ec);
    return 0;
  }
  if (mode_ == DebugSymbols::drop) fs::remove_all(dir_, ec);
  write_stripped_record(record_, record_now_);
  if (mode_ == DebugSymbols::attach) {
    std::set<fs::path> wanted;
    for (const auto& f : record_now_.files) wanted.insert((dir_ / build_id_path(f.build_id)).lexically_normal());
    for (auto it = fs::recursive_directory_iterator(dir_, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
      if (!it->is_directory(ec) && !wanted.count(it->path().lexically_normal())) fs::remove(it->path(), ec);
    remove_empty_directories(dir_);
  }
  return stripped_;
}

std::vector<DebugFile> checked_debug_files(const fs::path& state, const Platform& platform, const fs::path& staged) {
  const auto record = read_stripped_record(stripped_record_path(state, platform));
  if (record.mode != DebugSymbols::attach)
    throw Error(Exit::verify_failed, "the stage of " + platform.str() + " was made with DEBUG_SYMBOLS " + name_of(record.mode) +
                                         ", and the image has DEBUG_SYMBOLS ATTACH: build its stage again (touch the stamp " +
                                         (state / ("stage-" + platform.target_suffix() + ".stamp")).string() + "'s inputs)");
  const auto dir = debug_symbols_dir(state, platform);
  std::vector<DebugFile> out;
  std::set<std::string> seen;
  for (const auto& f : record.files) {
    const auto in_tree = staged / fs::path(f.path).relative_path();
    const auto file = dir / build_id_path(f.build_id);
    std::error_code ec;
    const auto id = fs::is_regular_file(in_tree, ec) ? read_build_id(in_tree) : std::optional<std::string>("(no such file)");
    if (!id || *id != f.build_id)
      throw Error(Exit::verify_failed,
                  f.path + " in the staged tree of " + platform.str() + " (" + in_tree.string() + ") has the build-id `" +
                      id.value_or("(not ELF)") + "`, but its debug symbols are for `" + f.build_id +
                      "`: the stripped file no longer matches its symbols, so nothing was published. Stage it again "
                      "(rebuild after touching its source), and do not edit the staged tree");
    if (!fs::is_regular_file(file, ec))
      throw Error(Exit::verify_failed, "the debug symbols of " + f.path + " (build-id " + f.build_id + ") are missing from " +
                                           file.string() + ", so nothing was published: stage it again");
    const auto debug = read_build_id(file);
    if (!debug || *debug != f.build_id)
      throw Error(Exit::verify_failed, file.string() + ", the debug symbols of " + f.path + ", has the build-id `" +
                                           debug.value_or("(not ELF)") + "`, not `" + f.build_id +
                                           "`: it no longer matches the stripped file, so nothing was published");
    if (seen.insert(f.build_id).second) out.push_back({f.path, f.build_id, file});
  }
  return out;
}

}  // namespace mai
