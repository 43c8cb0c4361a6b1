#include "stage/staging.hpp"

#include <sys/stat.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <fstream>
#include <set>
#include <thread>

#include "base/error.hpp"
#include "base/process.hpp"
#include "stage/elf.hpp"
#include "support/test_support.hpp"

using namespace mai;
using mai::test::code_of;
using mai::test::error_of;
using mai::test::test_log;
namespace fs = std::filesystem;

namespace {

// A minimal 32-bit big-endian ELF (as for a MIPS or PowerPC target): PT_LOAD over the whole file,
// PT_INTERP, and PT_DYNAMIC with DT_STRTAB, two DT_NEEDED and a DT_RUNPATH.
std::string big_endian_elf32() {
  std::string f(0x200, '\0');
  auto put = [&](std::size_t at, std::uint64_t v, int size) {
    for (int i = 0; i < size; ++i) f[at + i] = static_cast<char>((v >> (8 * (size - 1 - i))) & 0xff);
  };
  f.replace(0, 4,
            "\x7f"
            "ELF");
  f[4] = 1;  // ELFCLASS32
  f[5] = 2;  // ELFDATA2MSB
  f[6] = 1;
  put(16, 2, 2);     // ET_EXEC
  put(18, 8, 2);     // EM_MIPS
  put(28, 0x34, 4);  // e_phoff
  put(42, 32, 2);    // e_phentsize
  put(44, 3, 2);     // e_phnum
  auto phdr = [&](int i, std::uint32_t type, std::uint32_t offset, std::uint32_t size) {
    const std::size_t p = 0x34 + i * 32;
    put(p, type, 4);
    put(p + 4, offset, 4);
    put(p + 8, 0x1000 + offset, 4);  // vaddr: the file mapped at 0x1000
    put(p + 16, size, 4);
  };
  phdr(0, 1, 0, 0x200);     // PT_LOAD
  phdr(1, 3, 0x100, 0x14);  // PT_INTERP
  phdr(2, 2, 0xa0, 0x30);   // PT_DYNAMIC
  const std::string strings = std::string("\0libfoo.so.1\0libc.so.6\0$ORIGIN/../lib:/opt/x\0", 45);
  f.replace(0x180, strings.size(), strings);
  const std::uint32_t dyn[][2] = {{5, 0x1180}, {1, 1}, {1, 13}, {29, 23}, {0, 0}};
  for (int i = 0; i < 5; ++i) {
    put(0xa0 + i * 8, dyn[i][0], 4);
    put(0xa0 + i * 8 + 4, dyn[i][1], 4);
  }
  f.replace(0x100, 19, "/lib/ld.so.1\0\0\0\0\0\0\0", 19);
  return f;
}

// An ELF file made to order: PT_LOAD over the whole file (mapped at 0x1000), PT_DYNAMIC with
// DT_STRTAB, DT_NEEDED..., DT_SONAME and DT_RUNPATH when given, PT_INTERP when given. Fields can be
// overwritten afterwards (`put`) to make it hostile.
struct ElfBuilder {
  bool wide = true, big = false;
  int machine = 62;
  std::vector<std::string> needed;
  std::string soname, runpath, interpreter;
  std::string bytes;

  void put(std::size_t at, std::uint64_t v, int size) {
    for (int i = 0; i < size; ++i) bytes[at + (big ? size - 1 - i : i)] = static_cast<char>((v >> (8 * i)) & 0xff);
  }
  std::size_t word() const { return wide ? 8 : 4; }
  std::size_t phoff() const { return wide ? 64 : 52; }
  static constexpr std::size_t dynamic_at = 0x100, strings_at = 0x200, interp_at = 0x300, size = 0x400;

  ElfBuilder& build() {
    bytes.assign(size, '\0');
    bytes.replace(0, 4,
                  "\x7f"
                  "ELF");
    bytes[4] = wide ? 2 : 1;
    bytes[5] = big ? 2 : 1;
    bytes[6] = 1;
    put(16, 3, 2);  // ET_DYN
    put(18, static_cast<std::uint64_t>(machine), 2);
    put(wide ? 32 : 28, phoff(), static_cast<int>(word()));
    put(wide ? 54 : 42, wide ? 56 : 32, 2);
    const int count = interpreter.empty() ? 2 : 3;
    put(wide ? 56 : 44, static_cast<std::uint64_t>(count), 2);
    phdr(0, 1, 0, size);
    phdr(1, 2, dynamic_at, 0x100);
    if (!interpreter.empty()) {
      phdr(2, 3, interp_at, interpreter.size() + 1);
      bytes.replace(interp_at, interpreter.size(), interpreter);
    }
    std::string strings(1, '\0');
    std::vector<std::pair<std::uint64_t, std::uint64_t>> dyn{{5, 0x1000 + strings_at}};
    auto add = [&](std::uint64_t tag, const std::string& text) {
      dyn.emplace_back(tag, strings.size());
      strings += text + '\0';
    };
    for (const auto& n : needed) add(1, n);
    if (!soname.empty()) add(14, soname);
    if (!runpath.empty()) add(29, runpath);
    dyn.emplace_back(0, 0);
    bytes.replace(strings_at, strings.size(), strings);
    for (std::size_t i = 0; i < dyn.size(); ++i) {
      put(dynamic_at + i * 2 * word(), dyn[i].first, static_cast<int>(word()));
      put(dynamic_at + i * 2 * word() + word(), dyn[i].second, static_cast<int>(word()));
    }
    return *this;
  }
  void phdr(int i, std::uint32_t type, std::uint64_t offset, std::uint64_t filesz) {
    const auto p = phoff() + static_cast<std::size_t>(i) * (wide ? 56 : 32);
    const int w = static_cast<int>(word());
    put(p, type, 4);
    put(p + (wide ? 8 : 4), offset, w);
    put(p + (wide ? 16 : 8), 0x1000 + offset, w);
    put(p + (wide ? 32 : 16), filesz, w);
  }
};

std::filesystem::path self() { return fs::read_symlink("/proc/self/exe"); }

}  // namespace

BOOST_AUTO_TEST_SUITE(elf)

BOOST_AUTO_TEST_CASE(the_host_binary_names_its_loader_and_libraries) {
  const auto info = read_elf(self());
  BOOST_REQUIRE(info);
  BOOST_TEST(info->elf_class == 2);
  BOOST_TEST(info->machine == 62);
  BOOST_TEST(info->interpreter == "/lib64/ld-linux-x86-64.so.2");
  BOOST_TEST((std::find(info->needed.begin(), info->needed.end(), "libc.so.6") != info->needed.end()));
  BOOST_TEST(elf_machine_name(183) == "AArch64");
}

BOOST_AUTO_TEST_CASE(a_32_bit_big_endian_file_is_read_through_its_program_headers) {
  mai::test::TempDir dir;
  const auto file = dir.file("mips", big_endian_elf32());
  const auto info = read_elf(file);
  BOOST_REQUIRE(info);
  BOOST_TEST(info->elf_class == 1);
  BOOST_TEST(info->machine == 8);
  BOOST_TEST(info->interpreter == "/lib/ld.so.1");
  BOOST_TEST((info->needed == std::vector<std::string>{"libfoo.so.1", "libc.so.6"}));
  BOOST_TEST((info->search_path == std::vector<std::string>{"$ORIGIN/../lib", "/opt/x"}));
}

BOOST_AUTO_TEST_CASE(non_elf_is_none_and_truncated_elf_is_an_error) {
  mai::test::TempDir dir;
  BOOST_TEST(!read_elf(dir.file("script", "#!/bin/sh\necho hi\n")));
  const auto truncated = dir.file("cut", big_endian_elf32().substr(0, 0x40));
  BOOST_CHECK_THROW(read_elf(truncated), Error);
}

BOOST_AUTO_TEST_CASE(offsets_that_wrap_around_are_refused_not_read) {
  // e_phoff = 2^64 - 2: `offset + size` wrapped to a small number and the read went before the buffer.
  auto elf = ElfBuilder{}.build();
  elf.put(32, 0xfffffffffffffffeULL, 8);
  BOOST_TEST((code_of([&] { parse_elf(elf.bytes, "phoff"); }) == Exit::invalid_input));
  // A DT_NEEDED string offset far past the end.
  auto needed = ElfBuilder{};
  needed.needed = {"libx.so"};
  needed.build();
  needed.put(ElfBuilder::dynamic_at + 16 + 8, 0xfffffffffffffff0ULL, 8);
  BOOST_TEST((code_of([&] { parse_elf(needed.bytes, "needed"); }) == Exit::invalid_input));
  // A dynamic segment larger than the file.
  auto dynamic = ElfBuilder{}.build();
  dynamic.put(64 + 56 + 32, 0xffffffffffffff00ULL, 8);
  BOOST_TEST((code_of([&] { parse_elf(dynamic.bytes, "dynamic"); }) == Exit::invalid_input));
  // A string that runs to the end of the file without its NUL.
  auto unterminated = ElfBuilder{};
  unterminated.interpreter = "/lib/ld.so";
  unterminated.build();
  std::fill(unterminated.bytes.begin() + ElfBuilder::interp_at, unterminated.bytes.end(), 'x');
  BOOST_TEST((code_of([&] { parse_elf(unterminated.bytes, "interp"); }) == Exit::invalid_input));
  // Program headers smaller than the format's.
  auto small = ElfBuilder{}.build();
  small.put(54, 8, 2);
  BOOST_TEST((code_of([&] { parse_elf(small.bytes, "phentsize"); }) == Exit::invalid_input));
}

BOOST_AUTO_TEST_CASE(pn_xnum_takes_the_header_count_from_section_zero) {
  auto elf = ElfBuilder{};
  elf.needed = {"libx.so.1"};
  elf.build();
  elf.put(56, 0xffff, 2);     // e_phnum = PN_XNUM
  elf.put(40, 0x380, 8);      // e_shoff: section header 0
  elf.put(0x380 + 44, 2, 4);  // its sh_info: the real count
  const auto info = parse_elf(elf.bytes, "xnum");
  BOOST_REQUIRE(info);
  BOOST_TEST((info->needed == std::vector<std::string>{"libx.so.1"}));
  elf.put(0x380 + 44, 0xffffffff, 4);  // four billion headers in a 1 KiB file: refused at once
  BOOST_TEST((code_of([&] { parse_elf(elf.bytes, "xnum"); }) == Exit::invalid_input));
}

BOOST_AUTO_TEST_CASE(the_magic_is_checked_before_the_file_is_read) {
  // A pipe whose writer stays open: reading the whole "file" would wait for its end.
  mai::test::TempDir dir;
  const auto fifo = dir.path() / "fifo";
  BOOST_REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  std::atomic<bool> returned{false}, closed_first{false};
  std::thread writer([&] {
    std::ofstream out(fifo, std::ios::binary);
    out << "not an ELF file" << std::flush;
    for (int i = 0; i < 100 && !returned; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    closed_first = !returned;
  });
  BOOST_TEST(!read_elf(fifo));
  returned = true;
  writer.join();
  BOOST_TEST(!closed_first);
}

BOOST_AUTO_TEST_CASE(a_run_path_is_rewritten_in_place_or_removed_and_nothing_else_changes) {
  for (const bool big : {false, true}) {
    for (const bool wide : {false, true}) {
      ElfBuilder b;
      b.big = big;
      b.wide = wide;
      b.needed = {"libgreet.so", "libc.so.6"};
      b.runpath = "/tmp/build/tree:/tmp/build/tree/lib";
      b.build();
      const auto info = parse_elf(b.bytes, "app");
      BOOST_REQUIRE(info);
      const auto replaced = with_run_path(b.bytes, *info, "$ORIGIN/../lib", "app");
      BOOST_TEST(replaced.size() == b.bytes.size());
      BOOST_TEST((parse_elf(replaced, "app")->search_path == std::vector<std::string>{"$ORIGIN/../lib"}));
      BOOST_TEST(replaced.find("/tmp/build") == std::string::npos);
      std::size_t differing = 0;
      for (std::size_t i = 0; i < replaced.size(); ++i) differing += replaced[i] != b.bytes[i];
      BOOST_TEST(differing <= b.runpath.size());  // the string's bytes only

      const auto removed = with_run_path(b.bytes, *info, "", "app");
      const auto after = parse_elf(removed, "app");
      BOOST_TEST(after->run_paths.empty());
      BOOST_TEST(after->search_path.empty());
      BOOST_TEST((after->needed == info->needed));
      BOOST_TEST(removed.find("/tmp/build") == std::string::npos);
      BOOST_TEST(removed.substr(0, ElfBuilder::dynamic_at) == b.bytes.substr(0, ElfBuilder::dynamic_at));

      BOOST_TEST(error_of([&] {
                   with_run_path(b.bytes, *info, std::string(200, 'x'), "app");
                 }).find("app: its INSTALL_RPATH `xxx") != std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(staging)

namespace {
std::vector<std::string> stage(const StageRequest& r) {
  ProcessRunner runner;
  return stage_step(r, runner, test_log());
}
}  // namespace

// /bin/ls needs libselinux and libc: a copy of libselinux in a "project" directory plays the
// project's own library.
struct LsFixture {
  mai::test::TempDir dir;
  fs::path project = dir.path() / "build";
  StageRequest request;
  LsFixture() {
    fs::create_directories(project);
    fs::copy_file("/lib/x86_64-linux-gnu/libselinux.so.1", project / "libselinux.so.1");
    request.platform = parse_platform("linux/amd64");
    request.out = dir.path() / "stage";
    request.stamp = dir.path() / "stage.stamp";
    request.executables = {"/bin/ls"};
    request.project_dirs = {project};
  }
};

BOOST_FIXTURE_TEST_CASE(the_project_s_libraries_are_staged_and_system_ones_left_to_the_base, LsFixture) {
  const auto files = stage(request);
  BOOST_TEST((files == std::vector<std::string>{"usr/lib/libselinux.so.1", "usr/local/bin/ls"}));
  BOOST_TEST(fs::exists(request.stamp));
  BOOST_TEST(((fs::status(request.out / "usr/local/bin/ls").permissions() & fs::perms::owner_exec) != fs::perms::none));
}

BOOST_FIXTURE_TEST_CASE(runtime_adds_the_c_runtime_and_the_loader_at_its_path, LsFixture) {
  request.runtime = true;
  request.runtime_dirs = {"/lib/x86_64-linux-gnu"};
  const auto files = stage(request);
  for (const auto* expected : {"lib/libc.so.6", "lib64/ld-linux-x86-64.so.2", "usr/lib/libselinux.so.1"})
    BOOST_TEST((std::find(files.begin(), files.end(), expected) != files.end()), expected);
  request.runtime_dirs = {dir.path() / "empty"};
  BOOST_CHECK_THROW(stage(request), Error);  // libc.so.6 and the loader not found
}

BOOST_FIXTURE_TEST_CASE(an_unchanged_stage_touches_nothing_and_a_dropped_target_goes, LsFixture) {
  request.executables.push_back("/bin/cat");
  stage(request);
  const auto ls = request.out / "usr/local/bin/ls";
  const auto before = fs::last_write_time(ls);
  const auto stamp_before = fs::last_write_time(request.stamp);
  stage(request);
  BOOST_TEST((fs::last_write_time(ls) == before));
  BOOST_TEST((fs::last_write_time(request.stamp) == stamp_before));  // so no image is rebuilt
  request.executables.pop_back();
  stage(request);
  BOOST_TEST(!fs::exists(request.out / "usr/local/bin/cat"));
  BOOST_TEST((fs::last_write_time(request.stamp) != stamp_before));
}

BOOST_FIXTURE_TEST_CASE(a_binary_of_another_machine_is_refused_naming_both, LsFixture) {
  request.platform = parse_platform("linux/arm64");
  try {
    stage(request);
    BOOST_FAIL("no error");
  } catch (const Error& e) {
    BOOST_TEST(std::string(e.what()).find(
                   "/bin/ls is built for Advanced Micro Devices X86-64 (64-bit), not for linux/arm64 (AArch64)") !=
               std::string::npos);
  }
  request.platform = parse_platform("linux/amd64");
  request.executables = {mai::test::TempDir().file("x.sh", "#!/bin/sh\n")};
  BOOST_CHECK_THROW(stage(request), Error);
}

BOOST_AUTO_TEST_CASE(staged_binaries_carry_their_install_rpath_and_never_the_build_tree) {
  mai::test::TempDir dir;
  const auto build = dir.path() / "build";
  ElfBuilder lib;
  lib.soname = "libgreet.so";
  lib.runpath = build.string();
  lib.build();
  ElfBuilder app;
  app.needed = {"libgreet.so"};
  app.runpath = build.string() + ":" + (build / "sub").string();
  app.build();
  ElfBuilder tool = app;
  tool.build();
  dir.file("build/libgreet.so", lib.bytes);
  dir.file("build/app", app.bytes);
  dir.file("build/tool", tool.bytes);
  StageRequest r;
  r.platform = parse_platform("linux/amd64");
  r.out = dir.path() / "stage";
  r.stamp = dir.path() / "stage.stamp";
  r.executables = {build / "app", build / "tool"};
  r.install_rpaths = {"app:$ORIGIN/../lib"};  // tool has none: removed
  r.project_dirs = {build};
  const auto files = stage(r);
  BOOST_TEST((files == std::vector<std::string>{"usr/lib/libgreet.so", "usr/local/bin/app", "usr/local/bin/tool"}));
  BOOST_TEST((read_elf(r.out / "usr/local/bin/app")->search_path == std::vector<std::string>{"$ORIGIN/../lib"}));
  BOOST_TEST(read_elf(r.out / "usr/local/bin/tool")->search_path.empty());
  BOOST_TEST(read_elf(r.out / "usr/lib/libgreet.so")->search_path.empty());
  for (const auto& f : files) BOOST_TEST(mai::test::read(r.out / f).find(build.string()) == std::string::npos, f);
  // Rewritten content is compared, not copied again: a second run touches nothing.
  const auto stamp = fs::last_write_time(r.stamp);
  stage(r);
  BOOST_TEST((fs::last_write_time(r.stamp) == stamp));
}

BOOST_AUTO_TEST_CASE(names_from_a_binary_never_write_outside_the_stage) {
  mai::test::TempDir dir;
  ElfBuilder app;
  app.needed = {"../../../../escaped/libx.so"};
  app.build();
  dir.file("build/app", app.bytes);
  StageRequest r;
  r.platform = parse_platform("linux/amd64");
  r.out = dir.path() / "a/b/c/stage";
  r.stamp = dir.path() / "stage.stamp";
  r.executables = {dir.path() / "build/app"};
  r.project_dirs = {dir.path() / "build"};
  dir.file("escaped/libx.so", ElfBuilder{}.build().bytes);
  const auto what = error_of([&] { stage(r); });
  BOOST_TEST(what.find("app needs `../../../../escaped/libx.so` (DT_NEEDED), which is not a plain file name") !=
             std::string::npos);
  BOOST_TEST(!fs::exists(r.out));

  ElfBuilder loader;
  loader.interpreter = "/lib/../../../../outside/ld.so";
  loader.build();
  dir.file("build/app", loader.bytes);
  r.runtime = true;
  r.runtime_dirs = {dir.path() / "build"};
  BOOST_TEST(error_of([&] { stage(r); }).find("(PT_INTERP), which is not an absolute, normal path") != std::string::npos);
  BOOST_TEST(!fs::exists(r.out));
}

BOOST_AUTO_TEST_CASE(compose_mirrors_the_context_with_hard_links_and_keeps_the_stage) {
  mai::test::TempDir dir;
  const auto ctx = dir.path() / "ctx";
  dir.file("ctx/Dockerfile", "FROM scratch\n");
  dir.file("ctx/etc/app.conf", "x=1\n");
  dir.file("ctx/big.log", "ignored\n");
  dir.file("ctx/.dockerignore", "*.log");
  const auto composed = dir.path() / "build/context";
  const auto stamp = dir.path() / "build/context.stamp";
  dir.file("build/context/.multiarch-stage/linux-amd64/usr/local/bin/app", "binary");
  compose_step(ctx, ctx / "Dockerfile", {}, composed, ".multiarch-stage", stamp, dir.path() / "build/context.d");
  BOOST_TEST(fs::equivalent(ctx / "etc/app.conf", composed / "etc/app.conf"));  // a link, not a copy
  BOOST_TEST(!fs::exists(composed / "big.log"));
  BOOST_TEST(mai::test::read(composed / ".dockerignore") == "*.log\n!.multiarch-stage\n!.multiarch-stage/**\n");
  BOOST_TEST(fs::exists(composed / ".multiarch-stage/linux-amd64/usr/local/bin/app"));
  BOOST_TEST(mai::test::read(dir.path() / "build/context.d").find((ctx / "etc/app.conf").string()) != std::string::npos);

  const auto stamp_time = fs::last_write_time(stamp);
  compose_step(ctx, ctx / "Dockerfile", {}, composed, ".multiarch-stage", stamp, dir.path() / "build/context.d");
  BOOST_TEST((fs::last_write_time(stamp) == stamp_time));  // nothing changed

  fs::remove(ctx / "etc/app.conf");
  dir.file("ctx/etc/new.conf", "y=2\n");
  compose_step(ctx, ctx / "Dockerfile", {}, composed, ".multiarch-stage", stamp, dir.path() / "build/context.d");
  BOOST_TEST(!fs::exists(composed / "etc/app.conf"));
  BOOST_TEST(fs::exists(composed / "etc/new.conf"));
  BOOST_TEST(fs::exists(composed / ".multiarch-stage/linux-amd64/usr/local/bin/app"));

  dir.file("ctx/.multiarch-stage/x", "clash");
  BOOST_CHECK_THROW(
      compose_step(ctx, ctx / "Dockerfile", {}, composed, ".multiarch-stage", stamp, dir.path() / "build/context.d"), Error);
}

// Docker sends symlinks as symlinks: the composed context holds the same links (to files, to
// directories, dangling, pointing outside, looping), twice in a row without a change.
BOOST_AUTO_TEST_CASE(compose_mirrors_symlinks_as_links) {
  mai::test::TempDir dir;
  const auto ctx = dir.path() / "ctx";
  dir.file("ctx/Dockerfile", "FROM scratch\n");
  dir.file("ctx/b.txt", "b\n");
  dir.file("ctx/sub/c.txt", "c\n");
  fs::create_directories(ctx / "empty");
  const std::vector<std::pair<std::string, std::string>> links{
      {"link", "b.txt"}, {"dirlink", "sub"}, {"dangling", "nowhere"}, {"outward", "../../etc/passwd"}, {"loop", "loop"}};
  for (const auto& [name, target] : links) fs::create_symlink(target, ctx / name);
  const auto composed = dir.path() / "build/context";
  const auto stamp = dir.path() / "build/context.stamp";
  const auto depfile = dir.path() / "build/context.d";
  compose_step(ctx, ctx / "Dockerfile", {}, composed, ".multiarch-stage", stamp, depfile);
  for (const auto& [name, target] : links) {
    BOOST_TEST(fs::is_symlink(fs::symlink_status(composed / name)), name);
    BOOST_TEST(fs::read_symlink(composed / name) == target, name);
  }
  BOOST_TEST(fs::equivalent(ctx / "b.txt", composed / "b.txt"));
  BOOST_TEST(!fs::is_symlink(fs::symlink_status(composed / "b.txt")));
  BOOST_TEST(fs::is_directory(composed / "empty"));
  const auto first = fs::last_write_time(stamp);
  compose_step(ctx, ctx / "Dockerfile", {}, composed, ".multiarch-stage", stamp, depfile);
  BOOST_TEST((fs::last_write_time(stamp) == first));
  // A link that changes its target, and one that becomes a file, are followed.
  fs::remove(ctx / "link");
  fs::create_symlink("sub/c.txt", ctx / "link");
  fs::remove(ctx / "dirlink");
  dir.file("ctx/dirlink", "now a file\n");
  compose_step(ctx, ctx / "Dockerfile", {}, composed, ".multiarch-stage", stamp, depfile);
  BOOST_TEST(fs::read_symlink(composed / "link") == "sub/c.txt");
  BOOST_TEST(mai::test::read(composed / "dirlink") == "now a file\n");
  BOOST_TEST(!fs::is_symlink(fs::symlink_status(composed / "dirlink")));
}

BOOST_AUTO_TEST_CASE(compose_refuses_a_dockerfile_ignore_file_that_hides_the_stage) {
  mai::test::TempDir dir;
  const auto ctx = dir.path() / "ctx";
  dir.file("ctx/Dockerfile", "FROM scratch\n");
  dir.file("ctx/Dockerfile.dockerignore", "*\n!Dockerfile\n");
  const auto what = error_of([&] {
    compose_step(ctx, ctx / "Dockerfile", {}, dir.path() / "c", ".multiarch-stage", dir.path() / "s", dir.path() / "d");
  });
  BOOST_TEST(what.find("Dockerfile.dockerignore excludes .multiarch-stage/") != std::string::npos, what);
  dir.file("ctx/Dockerfile.dockerignore", "*\n!Dockerfile\n!.multiarch-stage\n!.multiarch-stage/**\n");
  BOOST_TEST(error_of([&] {
               compose_step(ctx, ctx / "Dockerfile", {}, dir.path() / "c", ".multiarch-stage", dir.path() / "s",
                            dir.path() / "d");
             }).empty());
}

BOOST_AUTO_TEST_CASE(a_platform_build_gets_the_composed_context_and_its_stage_only) {
  mai::test::TempDir dir;
  auto spec = mai::test::make_spec(dir.path());
  BOOST_TEST(spec_for_platform_build(spec, spec.platforms[0]).context == spec.context);  // no TARGETS: unchanged
  spec.stage.enabled = true;
  spec.stage.composed = dir.path() / "composed";
  const auto s = spec_for_platform_build(spec, spec.platforms[1]);
  BOOST_TEST(s.context == spec.stage.composed);
  BOOST_TEST(s.build_args.back().name == "MULTIARCH_STAGE");
  BOOST_TEST(s.build_args.back().value == ".multiarch-stage/" + spec.platforms[1].target_suffix());
  BOOST_TEST((s.deps_exclude.back() == spec.stage.composed / ".multiarch-stage" / spec.platforms[0].target_suffix()));
}

// INSTALL's dependencies: what the install rules copy, read from the scripts CMake generates.
BOOST_AUTO_TEST_CASE(install_sources_are_the_files_the_install_scripts_copy) {
  mai::test::TempDir dir;
  const auto tree = dir.path() / "build";
  const auto data = dir.file("src/data/a.txt", "a").parent_path();
  dir.file("src/data/deeper/b.txt", "b");
  dir.file("build/sub/cmake_install.cmake",
           "if(CMAKE_INSTALL_COMPONENT STREQUAL \"data\" OR NOT CMAKE_INSTALL_COMPONENT)\n"
           "  file(INSTALL DESTINATION \"${CMAKE_INSTALL_PREFIX}/share/x\" TYPE DIRECTORY FILES \"" +
               data.string() + "\")\nendif()\n");
  dir.file(
      "build/cmake_install.cmake",
      "  file(INSTALL DESTINATION \"${CMAKE_INSTALL_PREFIX}/lib\" TYPE SHARED_LIBRARY FILES\n"
      "    \"" +
          tree.string() + "/libx.so.1.2\"\n    \"" + tree.string() +
          "/libx.so.1\"\n    )\n"
          "  file(INSTALL DESTINATION \"${CMAKE_INSTALL_PREFIX}/share\" TYPE FILE RENAME \"y\" FILES \"/src/a \\\"q\\\".txt\")\n"
          "  file(INSTALL DESTINATION \"${CMAKE_INSTALL_PREFIX}/bin\" TYPE EXECUTABLE FILES \"$ENV{X}/generated\")\n"
          "  include(\"" +
          (tree / "sub/cmake_install.cmake").string() + "\")\n");
  std::set<std::string> got;
  for (const auto& p : install_sources(tree)) got.insert(p.lexically_relative(dir.path()).generic_string());
  const std::set<std::string> want{"build/cmake_install.cmake",
                                   "build/libx.so.1.2",
                                   "build/libx.so.1",
                                   "build/sub/cmake_install.cmake",
                                   "src/data",
                                   "src/data/a.txt",
                                   "src/data/deeper",
                                   "src/data/deeper/b.txt",
                                   "../../src/a \"q\".txt"};
  std::set<std::string> want_here;
  for (const auto& w : want)
    want_here.insert(w.starts_with("../../") ? fs::path("/src/a \"q\".txt").lexically_relative(dir.path()).generic_string() : w);
  BOOST_TEST((got == want_here));
}

BOOST_AUTO_TEST_SUITE_END()
