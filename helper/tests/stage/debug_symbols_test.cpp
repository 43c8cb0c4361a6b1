#include "stage/debug_symbols.hpp"

#include <boost/test/unit_test.hpp>
#include <fstream>

#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/files.hpp"
#include "stage/elf.hpp"
#include "stage/symbols_archive.hpp"
#include "support/elf_builder.hpp"
#include "support/test_support.hpp"

using namespace mai;
using mai::test::ElfBuilder;
using mai::test::error_of;
using mai::test::self;
using mai::test::TempDir;
using mai::test::test_log;
namespace fs = std::filesystem;

BOOST_AUTO_TEST_SUITE(debug_symbols)

namespace {

const std::string kId1 = "0123456789abcdef0123456789abcdef01234567";
const std::string kId2 = "fedcba9876543210fedcba9876543210fedcba98";

fs::path elf_file(const TempDir& dir, const std::string& name, const std::string& build_id, bool wide = true) {
  ElfBuilder b;
  b.wide = wide;
  b.build_id = build_id;
  b.needed = {"libc.so.6"};
  const auto path = dir.path() / name;
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << b.build().bytes;
  fs::permissions(path, fs::perms::owner_all | fs::perms::group_read | fs::perms::others_read);
  return path;
}

// objcopy and strip as far as the stripper can tell: each copies its input to its output, which keeps
// the build-id (an ElfBuilder file has no debug sections to remove). Every command is kept.
class Binutils final : public Runner {
 public:
  Result run(const Command& c, Output, const Log&) override {
    commands.push_back(c);
    const auto has = [&](const char* option) { return std::find(c.argv.begin(), c.argv.end(), option) != c.argv.end(); };
    if (has("--only-keep-debug")) fs::copy_file(c.argv[c.argv.size() - 2], c.argv.back(), fs::copy_options::overwrite_existing);
    if (has("--strip-debug")) fs::copy_file(c.argv.back(), c.argv[3], fs::copy_options::overwrite_existing);
    return {};
  }
  std::vector<Command> commands;
};

std::size_t count(const Binutils& runner, const std::string& option) {
  return static_cast<std::size_t>(std::count_if(runner.commands.begin(), runner.commands.end(), [&](const Command& c) {
    return std::find(c.argv.begin(), c.argv.end(), option) != c.argv.end();
  }));
}

struct Staged {
  TempDir dir;
  fs::path stamp() const { return dir.path() / "state" / "stage-linux-amd64.stamp"; }
  fs::path state() const { return dir.path() / "state"; }
  fs::path out() const { return dir.path() / "out"; }
};

// Stages `sources` (image path -> file) as one stage step would, with `mode`.
int stage(const Staged& s, Binutils& runner, DebugSymbols mode, const std::map<std::string, fs::path>& sources) {
  fs::create_directories(s.state());
  Stripper stripper(mode, {"/usr/bin/objcopy", "/usr/bin/strip"}, s.stamp(), parse_platform("linux/amd64"), runner, test_log());
  for (const auto& [path, source] : sources) {
    const auto info = read_elf(source);
    BOOST_REQUIRE(info);
    BOOST_REQUIRE(stripper.strips("program", info));
    stripper.stage(source, *info, {}, s.out() / fs::path(path).relative_path(), s.out(), path);
  }
  return stripper.finish();
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_gnu_build_id_is_read_from_note_sections_of_either_class) {
  const TempDir dir;
  BOOST_TEST(read_elf(elf_file(dir, "wide", kId1))->build_id == kId1);
  BOOST_TEST(read_elf(elf_file(dir, "narrow", kId2, false))->build_id == kId2);
  BOOST_TEST(read_elf(elf_file(dir, "none", ""))->build_id.empty());
  // This test program, as Debian's GCC links it: a 20-byte sha1 build-id.
  BOOST_TEST(read_elf(self())->build_id.size() == 40U);
  BOOST_TEST(read_elf(self())->type == 3);  // a PIE
}

BOOST_AUTO_TEST_CASE(a_malformed_note_is_no_build_id_and_no_error) {
  const TempDir dir;
  const auto path = elf_file(dir, "bad", kId1);
  auto bytes = read_text_file(path);
  bytes[ElfBuilder::note_at + 4] = '\x7f';  // a descsz past the section's end
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  const auto info = read_elf(path);
  BOOST_REQUIRE(info);
  BOOST_TEST(info->build_id.empty());
  BOOST_TEST(info->needed == std::vector<std::string>{"libc.so.6"});
}

BOOST_AUTO_TEST_CASE(build_id_paths_are_where_gdb_and_elfutils_look) {
  BOOST_TEST(build_id_path(kId1) == ".build-id/01/23456789abcdef0123456789abcdef01234567.debug");
  BOOST_TEST(!valid_build_id("ab"));
  BOOST_TEST(!valid_build_id("ABCD"));
  BOOST_TEST(!valid_build_id(std::string(82, 'a')));
  BOOST_TEST(error_of([] { build_id_path("../../etc"); }).find("is not a build-id") != std::string::npos);
  BOOST_TEST(error_of([] { parse_debug_symbols("attach"); }).find("is not one of ATTACH, KEEP, DROP") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(attach_keeps_each_file_s_debug_information_under_its_build_id_and_strips_it_once) {
  const Staged s;
  const auto one = elf_file(s.dir, "build/one", kId1), two = elf_file(s.dir, "build/two", kId2);
  Binutils runner;
  BOOST_TEST(stage(s, runner, DebugSymbols::attach, {{"/usr/local/bin/one", one}, {"/usr/lib/libtwo.so", two}}) == 2);
  BOOST_TEST(count(runner, "--only-keep-debug") == 2U);
  BOOST_TEST(count(runner, "--compress-debug-sections=zlib") == 2U);
  BOOST_TEST(count(runner, "--strip-debug") == 2U);
  const auto dir = debug_symbols_dir(s.state(), parse_platform("linux/amd64"));
  BOOST_TEST(fs::is_regular_file(dir / build_id_path(kId1)));
  BOOST_TEST(fs::is_regular_file(dir / build_id_path(kId2)));
  BOOST_TEST(fs::is_regular_file(s.out() / "usr/local/bin/one"));
  BOOST_TEST(((fs::status(s.out() / "usr/local/bin/one").permissions() & fs::perms::owner_exec) != fs::perms::none));
  const auto record = read_stripped_record(stripped_record_path(s.state(), parse_platform("linux/amd64")));
  BOOST_TEST(std::string(name_of(record.mode)) == "ATTACH");
  BOOST_REQUIRE(record.files.size() == 2U);
  BOOST_TEST(record.files[1].path == "/usr/local/bin/one");
  BOOST_TEST(record.files[1].sha256 == sha256_digest(read_text_file(s.out() / "usr/local/bin/one")));

  // Nothing changed: nothing stripped again.
  Binutils again;
  BOOST_TEST(stage(s, again, DebugSymbols::attach, {{"/usr/local/bin/one", one}, {"/usr/lib/libtwo.so", two}}) == 0);
  BOOST_TEST(again.commands.empty());
  // One program rebuilt (another build-id): that one alone, and the old build-id's symbols go.
  fs::remove(one);
  const auto rebuilt = elf_file(s.dir, "build/one", kId2.substr(0, 38) + "00");
  Binutils third;
  BOOST_TEST(stage(s, third, DebugSymbols::attach, {{"/usr/local/bin/one", rebuilt}, {"/usr/lib/libtwo.so", two}}) == 1);
  BOOST_TEST(count(third, "--strip-debug") == 1U);
  BOOST_TEST(!fs::exists(dir / build_id_path(kId1)));
  BOOST_TEST(fs::is_regular_file(dir / build_id_path(kId2.substr(0, 38) + "00")));
  BOOST_TEST(checked_debug_files(s.state(), parse_platform("linux/amd64"), s.out()).size() == 2U);
}

BOOST_AUTO_TEST_CASE(attach_refuses_a_file_without_a_build_id_before_running_anything) {
  const Staged s;
  const auto bare = elf_file(s.dir, "build/bare", "");
  Binutils runner;
  const auto message = error_of([&] { stage(s, runner, DebugSymbols::attach, {{"/usr/local/bin/bare", bare}}); });
  BOOST_TEST(message.find("has no GNU build-id") != std::string::npos);
  BOOST_TEST(message.find("/usr/local/bin/bare") != std::string::npos);
  BOOST_TEST(runner.commands.empty());
  BOOST_TEST(!fs::exists(s.out() / "usr/local/bin/bare"));
  // DROP needs none: it strips and keeps nothing.
  Binutils drop;
  BOOST_TEST(stage(s, drop, DebugSymbols::drop, {{"/usr/local/bin/bare", bare}}) == 1);
  BOOST_TEST(count(drop, "--only-keep-debug") == 0U);
  BOOST_TEST(!fs::exists(debug_symbols_dir(s.state(), parse_platform("linux/amd64"))));
}

BOOST_AUTO_TEST_CASE(a_stripped_file_that_no_longer_matches_its_symbols_is_an_error) {
  const Staged s;
  const auto one = elf_file(s.dir, "build/one", kId1);
  Binutils runner;
  stage(s, runner, DebugSymbols::attach, {{"/usr/local/bin/one", one}});
  const auto platform = parse_platform("linux/amd64");
  // The staged file replaced by another program's.
  fs::remove(s.out() / "usr/local/bin/one");
  fs::copy_file(elf_file(s.dir, "build/other", kId2), s.out() / "usr/local/bin/one");
  auto message = error_of([&] { checked_debug_files(s.state(), platform, s.out()); });
  BOOST_TEST(message.find("no longer matches its symbols") != std::string::npos);
  BOOST_TEST(message.find(kId2) != std::string::npos);
  // The debug file replaced by another program's.
  Binutils restage;
  stage(s, restage, DebugSymbols::attach, {{"/usr/local/bin/one", one}});
  const auto debug = debug_symbols_dir(s.state(), platform) / build_id_path(kId1);
  fs::remove(debug);
  fs::copy_file(s.dir.path() / "build/other", debug);
  message = error_of([&] { checked_debug_files(s.state(), platform, s.out()); });
  BOOST_TEST(message.find("no longer matches the stripped file") != std::string::npos);
  fs::remove(debug);
  BOOST_TEST(error_of([&] { checked_debug_files(s.state(), platform, s.out()); }).find("are missing") != std::string::npos);
  // A stage made with KEEP names nothing to publish.
  Binutils keep;
  stage(s, keep, DebugSymbols::keep, {});
  BOOST_TEST(!fs::exists(debug_symbols_dir(s.state(), platform)));
  BOOST_TEST(error_of([&] { checked_debug_files(s.state(), platform, s.out()); }).find("made with DEBUG_SYMBOLS KEEP") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_archive_is_reproducible_and_extracts_to_the_build_id_layout) {
  const TempDir dir;
  const auto one = elf_file(dir, "one.debug", kId1), two = elf_file(dir, "two.debug", kId2);
  const auto a = write_symbols_archive({{kId2, two}, {kId1, one}, {kId1, one}}, 1700000000, dir.path() / "a.tar");
  const auto b = write_symbols_archive({{kId1, one}, {kId2, two}}, 1700000000, dir.path() / "b.tar");
  BOOST_TEST(a.digest == b.digest);
  BOOST_TEST(a.digest == sha256_digest(read_text_file(dir.path() / "a.tar")));
  BOOST_TEST(a.size == static_cast<std::int64_t>(fs::file_size(dir.path() / "a.tar")));
  const auto out = dir.path() / "fetched";
  const auto ids = extract_symbols_archive(dir.path() / "a.tar", out, "the archive");
  BOOST_TEST(ids == (std::vector<std::string>{kId1, kId2}));
  BOOST_TEST(read_text_file(out / build_id_path(kId1)) == read_text_file(one));
  BOOST_TEST(read_text_file(out / build_id_path(kId2)) == read_text_file(two));
  // Again: the files stay as they are.
  const auto before = fs::last_write_time(out / build_id_path(kId1));
  extract_symbols_archive(dir.path() / "a.tar", out, "the archive");
  BOOST_TEST((fs::last_write_time(out / build_id_path(kId1)) == before));
}

namespace {

// A tar of one entry, with a correct checksum unless `bad_checksum`.
std::string one_entry(const std::string& name, char type, const std::string& body, bool bad_checksum = false) {
  std::string h(512, '\0');
  h.replace(0, name.size(), name);
  h.replace(100, 7, "0000644");
  h.replace(108, 7, "0000000");
  h.replace(116, 7, "0000000");
  char size[12];
  std::snprintf(size, sizeof size, "%011o", static_cast<unsigned>(body.size()));
  h.replace(124, 11, size);
  h.replace(136, 11, "00000000000");
  h[156] = type;
  h.replace(257, 6, std::string("ustar\0", 6));
  h.replace(263, 2, "00");
  h.replace(148, 8, "        ");
  unsigned sum = 0;
  for (char c : h) sum += static_cast<unsigned char>(c);
  char checksum[8];
  std::snprintf(checksum, sizeof checksum, "%06o", sum + (bad_checksum ? 1 : 0));
  h.replace(148, 7, std::string(checksum, 7));
  auto padded = body;
  padded.resize((body.size() + 511) / 512 * 512, '\0');
  return h + padded + std::string(1024, '\0');
}

}  // namespace

BOOST_AUTO_TEST_CASE(an_archive_with_anything_but_debug_files_is_refused_and_writes_nothing_outside) {
  const TempDir dir;
  ElfBuilder b;
  b.build_id = kId1;
  const auto elf = b.build().bytes;
  const auto refused = [&](const std::string& tar, const std::string& expected) {
    const auto archive = dir.path() / "hostile.tar";
    std::ofstream(archive, std::ios::binary | std::ios::trunc) << tar;
    const auto message = error_of([&] { extract_symbols_archive(archive, dir.path() / "out", "the archive"); });
    BOOST_TEST(message.find(expected) != std::string::npos, message);
  };
  refused(one_entry("../escape.debug", '0', elf), "which is not named .build-id/");
  refused(one_entry(".build-id/01/../../escape.debug", '0', elf), "whose name is not a build-id");
  refused(one_entry(".build-id/01/link.debug", '2', ""), "an entry of type `2`");
  refused(one_entry(".build-id/etc/", '5', ""), "a directory other than");
  refused(one_entry(build_id_path(kId1), '0', elf, true), "checksum is wrong");
  refused(one_entry(build_id_path(kId2), '0', elf), "whose GNU build-id is `" + kId1 + "`");
  refused(one_entry(build_id_path(kId1), '0', "not elf"), "which is not an ELF file");
  refused(one_entry(build_id_path(kId1), '0', elf).substr(0, 700), "ends inside");
  BOOST_TEST(!fs::exists(dir.path() / "escape.debug"));
  BOOST_TEST(!fs::exists(dir.path() / "out" / build_id_path(kId2)));
  // A file's own name and build-id: taken.
  const auto archive = dir.path() / "good.tar";
  std::ofstream(archive, std::ios::binary | std::ios::trunc) << one_entry(build_id_path(kId1), '0', elf);
  BOOST_TEST(extract_symbols_archive(archive, dir.path() / "out", "the archive") == std::vector<std::string>{kId1});
  BOOST_TEST(read_text_file(dir.path() / "out" / build_id_path(kId1)) == elf);
}

BOOST_AUTO_TEST_SUITE_END()
