// The layer writer's round trip: any tree of files, directories and symlinks (names, link targets,
// modes, contents, the time) written by write_layer reads back, with the tests' reader, as exactly
// those entries plus their parents, sorted, each once, with the modes and time the writer promises;
// or it is refused with mai::Error (a path out of the image, two entries for one path). Input: one
// entry per line, "<kind><x or -> <path>[ -> <link target or content>]" with kind f, d or l; a first
// line "@<seconds>" sets the time. NUL, which no file name can hold, is left out of the fuzzing.
#include <map>

#include "base/digest.hpp"
#include "base/files.hpp"
#include "fuzz_support.hpp"
#include "image/layer.hpp"
#include "support/tar_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (text.find('\0') != std::string_view::npos) return -1;
  const auto& dir = mai::fuzz::scratch();
  std::int64_t mtime = 0;
  std::vector<mai::LayerEntry> entries;
  std::size_t n = 0;
  for (const auto& line : mai::split(text, '\n')) {
    if (line.starts_with("@")) {
      mtime = std::strtoll(line.c_str() + 1, nullptr, 10);
      continue;
    }
    if (line.size() < 3) continue;
    const auto arrow = line.find(" -> ", 3);
    const auto path = line.substr(3, arrow == std::string::npos ? std::string::npos : arrow - 3);
    const auto rest = arrow == std::string::npos ? std::string() : line.substr(arrow + 4);
    mai::LayerEntry e{path, mai::LayerEntry::Kind::file, {}, {}, line[1] == 'x'};
    if (line[0] == 'd') {
      e.kind = mai::LayerEntry::Kind::directory;
    } else if (line[0] == 'l') {
      e.kind = mai::LayerEntry::Kind::symlink;
      e.link_target = rest;
    } else {
      e.source = mai::fuzz::write_file(dir / "sources" / std::to_string(n++), rest);
    }
    entries.push_back(std::move(e));
  }
  const auto blobs = dir / "blobs";
  std::error_code ec;
  std::filesystem::remove_all(blobs, ec);
  mai::fuzz::only_mai_errors([&] {
    const auto layer = mai::write_layer(entries, mtime, blobs, "fuzz");
    const auto packed = mai::read_text_file(blobs / layer.blob.digest.substr(7));
    MAI_FUZZ_CHECK(mai::sha256_digest(packed) == layer.blob.digest, "the blob's digest is not its content's");
    MAI_FUZZ_CHECK(static_cast<std::int64_t>(packed.size()) == layer.blob.size, "the blob's size is not its content's");
    const auto tar = mai::test::gunzip(packed);
    MAI_FUZZ_CHECK(mai::sha256_digest(tar) == layer.diff_id, "the diff_id is not the tar's digest");
    const auto read = mai::test::entries_of(tar);

    // What should be there: every entry and each parent directory, once, by path.
    std::map<std::string, const mai::LayerEntry*> wanted;
    std::map<std::string, bool> parents;
    for (const auto& e : entries) {
      wanted[e.path] = &e;
      for (auto slash = e.path.find('/'); slash != std::string::npos; slash = e.path.find('/', slash + 1))
        parents[e.path.substr(0, slash)] = true;
    }
    for (const auto& [p, _] : parents)
      MAI_FUZZ_CHECK(!wanted.count(p) || wanted[p]->kind == mai::LayerEntry::Kind::directory, "a parent written over a file");
    std::vector<std::string> names;
    for (const auto& r : read) {
      const bool is_dir = r.type == '5';
      const auto path = is_dir && r.name.ends_with('/') ? r.name.substr(0, r.name.size() - 1) : r.name;
      names.push_back(path);
      MAI_FUZZ_CHECK(r.mtime == std::max<std::int64_t>(mtime, 0), "an entry's time is not the layer's");
      const auto it = wanted.find(path);
      if (it == wanted.end()) {
        MAI_FUZZ_CHECK(parents.count(path) && is_dir && r.mode == 0755, "an entry nobody asked for");
        continue;
      }
      const auto& e = *it->second;
      switch (e.kind) {
        case mai::LayerEntry::Kind::directory:
          MAI_FUZZ_CHECK(is_dir && r.mode == 0755 && r.name == path + "/", "a directory read back otherwise");
          break;
        case mai::LayerEntry::Kind::symlink:
          MAI_FUZZ_CHECK(r.type == '2' && r.mode == 0777 && r.link == e.link_target && r.body.empty(),
                         "a symlink read back otherwise");
          break;
        case mai::LayerEntry::Kind::file:
          MAI_FUZZ_CHECK(r.type == '0' && r.mode == (e.executable ? 0755u : 0644u) && r.body == mai::read_text_file(e.source),
                         "a file read back otherwise");
          break;
      }
    }
    std::size_t expected = wanted.size();
    for (const auto& [p, _] : parents) expected += wanted.count(p) ? 0 : 1;
    MAI_FUZZ_CHECK(names.size() == expected, "entries missing or twice");
    MAI_FUZZ_CHECK(std::is_sorted(names.begin(), names.end()) && std::adjacent_find(names.begin(), names.end()) == names.end(),
                   "entries not sorted or twice");
  });
  return 0;
}
