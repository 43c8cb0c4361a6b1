#include <boost/test/unit_test.hpp>
#include <fstream>

#include "elf.hpp"
#include "error.hpp"
#include "stage.hpp"
#include "test_support.hpp"

using namespace mai;
namespace fs = std::filesystem;

namespace {

// A minimal 32-bit big-endian ELF (as for a MIPS or PowerPC target): PT_LOAD over the whole file,
// PT_INTERP, and PT_DYNAMIC with DT_STRTAB, two DT_NEEDED and a DT_RUNPATH.
std::string big_endian_elf32() {
  std::string f(0x200, '\0');
  auto put = [&](std::size_t at, std::uint64_t v, int size) {
    for (int i = 0; i < size; ++i) f[at + i] = static_cast<char>((v >> (8 * (size - 1 - i))) & 0xff);
  };
  f.replace(0, 4, "\x7f" "ELF");
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

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(staging)

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
  const auto files = stage_step(request);
  BOOST_TEST((files == std::vector<std::string>{"usr/lib/libselinux.so.1", "usr/local/bin/ls"}));
  BOOST_TEST(fs::exists(request.stamp));
  BOOST_TEST(((fs::status(request.out / "usr/local/bin/ls").permissions() & fs::perms::owner_exec) != fs::perms::none));
}

BOOST_FIXTURE_TEST_CASE(runtime_adds_the_c_runtime_and_the_loader_at_its_path, LsFixture) {
  request.runtime = true;
  request.runtime_dirs = {"/lib/x86_64-linux-gnu"};
  const auto files = stage_step(request);
  for (const auto* expected : {"lib/libc.so.6", "lib64/ld-linux-x86-64.so.2", "usr/lib/libselinux.so.1"})
    BOOST_TEST((std::find(files.begin(), files.end(), expected) != files.end()), expected);
  request.runtime_dirs = {dir.path() / "empty"};
  BOOST_CHECK_THROW(stage_step(request), Error);  // libc.so.6 and the loader not found
}

BOOST_FIXTURE_TEST_CASE(an_unchanged_stage_touches_nothing_and_a_dropped_target_goes, LsFixture) {
  request.executables.push_back("/bin/cat");
  stage_step(request);
  const auto ls = request.out / "usr/local/bin/ls";
  const auto before = fs::last_write_time(ls);
  const auto stamp_before = fs::last_write_time(request.stamp);
  stage_step(request);
  BOOST_TEST((fs::last_write_time(ls) == before));
  BOOST_TEST((fs::last_write_time(request.stamp) == stamp_before));  // so no image is rebuilt
  request.executables.pop_back();
  stage_step(request);
  BOOST_TEST(!fs::exists(request.out / "usr/local/bin/cat"));
  BOOST_TEST((fs::last_write_time(request.stamp) != stamp_before));
}

BOOST_FIXTURE_TEST_CASE(a_binary_of_another_machine_is_refused_naming_both, LsFixture) {
  request.platform = parse_platform("linux/arm64");
  try {
    stage_step(request);
    BOOST_FAIL("no error");
  } catch (const Error& e) {
    BOOST_TEST(std::string(e.what()).find("/bin/ls is built for Advanced Micro Devices X86-64 (64-bit), not for linux/arm64 (AArch64)") !=
               std::string::npos);
  }
  request.platform = parse_platform("linux/amd64");
  request.executables = {mai::test::TempDir().file("x.sh", "#!/bin/sh\n")};
  BOOST_CHECK_THROW(stage_step(request), Error);
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
  BOOST_CHECK_THROW(compose_step(ctx, ctx / "Dockerfile", {}, composed, ".multiarch-stage", stamp, dir.path() / "build/context.d"),
                    Error);
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

BOOST_AUTO_TEST_SUITE_END()
