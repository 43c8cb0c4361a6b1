#include "stage/staging.hpp"

#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <fstream>
#include <set>

#include "base/error.hpp"
#include "base/process.hpp"
#include "stage/elf.hpp"
#include "steps/steps.hpp"
#include "support/elf_builder.hpp"
#include "support/test_support.hpp"

using namespace mai;
using mai::test::code_of;
using mai::test::error_of;
using mai::test::test_log;
namespace fs = std::filesystem;
using mai::test::ElfBuilder;
using mai::test::self;

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

BOOST_AUTO_TEST_SUITE_END()
