#include "stage/staging.hpp"

#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>

#include "base/error.hpp"
#include "base/process.hpp"
#include "stage/elf.hpp"
#include "steps/steps.hpp"
#include "support/elf_builder.hpp"
#include "support/fake_runner.hpp"
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

// Issue 26: the stage named a vcpkg port from vcpkg's list and SBOM without either being a dependency:
// an edit of the document left the stage's record as it was. Now the depfile names what was read; the
// record follows an edit, and the stamp does not (the same image keeps the SBOM it has).
BOOST_FIXTURE_TEST_CASE(what_names_a_linked_port_is_in_the_depfile_and_the_record_follows_its_edit, LsFixture) {
  const auto root = dir.path() / "vcpkg_installed";
  const auto archive = dir.file("vcpkg_installed/x64-linux/lib/libz.a", "vcpkg's zlib");
  dir.file("vcpkg_installed/vcpkg/info/zlib_1.3.1-2_x64-linux.list", "x64-linux/lib/libz.a\n");
  const auto spdx = [&](const std::string& license) {
    return dir.file(
        "vcpkg_installed/x64-linux/share/zlib/vcpkg.spdx.json",
        R"({"packages": [{"SPDXID": "SPDXRef-port", "versionInfo": "1.3.1#2", "licenseConcluded": ")" + license + R"("}]})");
  };
  const auto document = spdx("Zlib");
  request.links = dir.file("links.json", R"({"format": 1, "roots": ["target:ls"], "nodes": [
    {"ref": "target:ls", "type": "EXECUTABLE", "imported": false, "file": "/bin/ls", "links": ["target:ZLIB::ZLIB"]},
    {"ref": "target:ZLIB::ZLIB", "type": "UNKNOWN_LIBRARY", "imported": true, "file": ")" +
                                             archive.string() + R"(", "links": []}]})");
  request.depfile = dir.path() / "stage.stamp.d";
  stage(request);
  const auto listed = mai::test::read(request.depfile);
  for (const auto& input : {root / "vcpkg/info", root / "vcpkg/info/zlib_1.3.1-2_x64-linux.list", document})
    BOOST_TEST(listed.find(input.string()) != std::string::npos, input.string() + " in the depfile:\n" + listed);
  const auto old = fs::last_write_time(request.stamp) - std::chrono::hours(1);
  fs::last_write_time(request.stamp, old);
  stage(request);
  BOOST_TEST((fs::last_write_time(request.stamp) == old));  // nothing staged changed: no image is rebuilt
  spdx("Zlib OR MIT");
  stage(request);
  BOOST_TEST((fs::last_write_time(request.stamp) == old));
  BOOST_TEST(mai::test::read(dir.path() / "stage-linux-amd64.linked.json").find("Zlib OR MIT") != std::string::npos);
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

namespace {
// An INSTALL stage of the build tree `tree` (its cmake_install.cmake written by the test) into `dir`.
StageRequest install_request(const mai::test::TempDir& dir, const fs::path& tree, std::string prefix = "/usr/local") {
  StageRequest r;
  r.platform = parse_platform("linux/amd64");
  r.out = dir.path() / "stage";
  r.stamp = dir.path() / "state/stage.stamp";
  InstallRequest in;
  in.tree = tree;
  in.prefix = std::move(prefix);
  in.cmake = CMAKE_COMMAND;
  r.install = in;
  r.depfile = dir.path() / "state/stage.d";
  return r;
}

// The environment variable `name` set to `value` while it lives, as the caller of a build had it.
struct Environment {
  std::string name;
  Environment(std::string n, const std::string& value) : name(std::move(n)) { ::setenv(name.c_str(), value.c_str(), 1); }
  ~Environment() { ::unsetenv(name.c_str()); }
};

// What a pending file of the plan needs resolved, as the passes before plan_needed_libraries leave it.
void planned(StagePlan& plan, const fs::path& source, const std::string& dest, const char* kind,
             std::optional<std::string> run_path = std::nullopt) {
  plan.files.emplace(dest, StagePlan::File{source, run_path, kind});
  plan.unresolved.push_back({source, dest, *read_elf(source)});
}
}  // namespace

// Issue 22, item 1: `cmake --install --prefix <tree>/usr` wrote absolute destinations to the build
// machine, and a DESTDIR in the caller's environment sent everything there. Now the real cmake runs
// with DESTDIR set to the stage's own tree and the image's prefix.
BOOST_AUTO_TEST_CASE(install_rules_run_under_a_destdir_of_their_own_and_absolute_destinations_are_staged) {
  mai::test::TempDir dir;
  const auto conf = dir.file("src/app.conf", "setting = 1\n");
  const auto escape = dir.path() / "escape/etc";
  dir.file("build/cmake_install.cmake", "file(INSTALL DESTINATION \"${CMAKE_INSTALL_PREFIX}/share/app\" TYPE FILE FILES \"" +
                                            conf.string() + "\")\n" + "file(INSTALL DESTINATION \"" + escape.string() +
                                            "\" TYPE FILE FILES \"" + conf.string() + "\")\n");
  const Environment packager("DESTDIR", (dir.path() / "packager").string());
  const auto r = install_request(dir, dir.path() / "build");
  const auto files = stage(r);
  const auto escaped_in_image = (escape / "app.conf").relative_path().generic_string();
  BOOST_TEST((files == std::vector<std::string>{escaped_in_image, "usr/local/share/app/app.conf"}));
  BOOST_TEST(mai::test::read(r.out / "usr/local/share/app/app.conf") == "setting = 1\n");
  BOOST_TEST(!fs::exists(dir.path() / "escape"));    // not on the build machine
  BOOST_TEST(!fs::exists(dir.path() / "packager"));  // nor in the caller's DESTDIR
}

BOOST_AUTO_TEST_CASE(the_install_command_names_the_prefix_and_sets_destdir) {
  mai::test::TempDir dir;
  dir.file("build/cmake_install.cmake", "");
  mai::test::FakeRunner runner;
  auto r = install_request(dir, dir.path() / "build", "/opt/app");
  r.install->components = {"runtime"};
  StagePlan plan;
  plan_installed(r, plan, runner, test_log());
  BOOST_TEST_REQUIRE(runner.commands.size() == 1u);
  const auto& c = runner.commands[0];
  BOOST_TEST((c.argv == std::vector<std::string>{CMAKE_COMMAND, "--install", (dir.path() / "build").string(), "--prefix",
                                                 "/opt/app", "--component", "runtime"}));
  BOOST_TEST((c.env == std::vector<std::pair<std::string, std::string>>{
                           {"DESTDIR", (dir.path() / "state/stage.stamp.install").string()}}));
}

BOOST_AUTO_TEST_CASE(a_destination_that_climbs_out_of_destdir_is_refused_before_anything_is_installed) {
  mai::test::TempDir dir;
  dir.file("build/cmake_install.cmake",
           "file(INSTALL DESTINATION \"${CMAKE_INSTALL_PREFIX}/../../../etc\" TYPE FILE FILES \"/dev/null\")\n");
  mai::test::FakeRunner runner;
  StagePlan plan;
  const auto what = error_of([&] { plan_installed(install_request(dir, dir.path() / "build"), plan, runner, test_log()); });
  BOOST_TEST(what.find("installs to `${CMAKE_INSTALL_PREFIX}/../../../etc`, which climbs out of the image's root") !=
             std::string::npos);
  BOOST_TEST(runner.commands.empty());
}

// Issue 22, item 12: with `u -> ..`, the link `esc -> u/../..` is inside the tree as text says it,
// and out of it once `u` is followed.
BOOST_AUTO_TEST_CASE(links_are_checked_where_they_lead_once_the_links_on_their_way_are_followed) {
  mai::test::TempDir dir;
  dir.file("build/cmake_install.cmake", "");
  auto links = [&](std::vector<std::pair<std::string, std::string>> made) {
    mai::test::FakeRunner runner;
    runner.on({}, {}, [&](const Command& c) {
      const fs::path destdir = c.env.at(0).second;
      for (const auto& [at, target] : made) {
        fs::create_directories((destdir / at).parent_path());
        fs::create_symlink(target, destdir / at);
      }
    });
    StagePlan plan;
    return error_of([&] { plan_installed(install_request(dir, dir.path() / "build"), plan, runner, test_log()); });
  };
  BOOST_TEST(links({{"usr/local/share/p/u", ".."}, {"usr/local/share/p/ok", "u/../x"}}) == "");
  const auto what = links({{"usr/local/share/p/u", ".."}, {"usr/local/share/p/esc", "u/../../../../.."}});
  BOOST_TEST(what.find("made /usr/local/share/p/esc a link to u/../../../../.., which leads out of the image's root") !=
                 std::string::npos,
             what);
  BOOST_TEST(links({{"usr/a", "b"}, {"usr/b", "a"}, {"usr/c", "a/x"}}).find("a loop of links") != std::string::npos);
  BOOST_TEST(links({{"usr/abs", "/etc/passwd"}}).find("which is not a relative link") != std::string::npos);
}

// Issue 22, item 8: a library installed to /usr/local/lib (the default prefix) and a program without
// an install run path: the image's loader would not find it, so /usr/lib names it. It is never
// copied a second time from the build tree, and a directory of the build machine that an installed
// file's run path names is never searched.
BOOST_AUTO_TEST_CASE(installed_libraries_are_found_where_the_install_put_them) {
  mai::test::TempDir dir;
  ElfBuilder lib;
  lib.soname = "libproto.so.1";
  lib.build();
  ElfBuilder server;
  server.needed = {"libproto.so.1"};
  server.interpreter = "/lib64/ld-linux-x86-64.so.2";
  server.build();
  ElfBuilder cli = server;
  cli.runpath = "$ORIGIN/../lib";
  cli.build();
  ElfBuilder hosty = server;
  hosty.runpath = (dir.path() / "host").string();
  hosty.needed = {"libproto.so.1", "libvendor.so.2"};
  hosty.build();
  const auto installed = dir.path() / "installed";
  dir.file("installed/usr/local/lib/libproto.so.1", lib.bytes);
  dir.file("installed/usr/local/bin/server", server.bytes);
  dir.file("installed/usr/local/bin/cli", cli.bytes);
  dir.file("installed/usr/local/bin/hosty", hosty.bytes);
  dir.file("build/libproto.so.1", lib.bytes);                  // the build tree's copy, where project_dirs look
  dir.file("host/libproto.so.1", ElfBuilder{}.build().bytes);  // a stale copy on the build machine
  dir.file("host/libvendor.so.2", ElfBuilder{}.build().bytes);
  StageRequest r;
  r.platform = parse_platform("linux/amd64");
  r.project_dirs = {dir.path() / "build"};
  StagePlan plan;
  plan.installed = installed;
  planned(plan, installed / "usr/local/lib/libproto.so.1", "usr/local/lib/libproto.so.1", "library");
  planned(plan, installed / "usr/local/bin/server", "usr/local/bin/server", "program");
  planned(plan, installed / "usr/local/bin/cli", "usr/local/bin/cli", "program");
  planned(plan, installed / "usr/local/bin/hosty", "usr/local/bin/hosty", "program");
  plan_needed_libraries(r, plan, test_log());
  BOOST_TEST((plan.links == std::map<std::string, fs::path>{{"usr/lib/libproto.so.1", "../local/lib/libproto.so.1"}}));
  BOOST_TEST(plan.files.size() == 4u);  // no second copy, nothing from the host directory
  // With RUNTIME, a library only that directory of the build machine holds is not the image's.
  r.runtime = true;
  r.runtime_dirs = {dir.path() / "toolchain"};
  dir.file("toolchain/ld-linux-x86-64.so.2", ElfBuilder{}.build().bytes);
  StagePlan again;
  again.installed = installed;
  planned(again, installed / "usr/local/lib/libproto.so.1", "usr/local/lib/libproto.so.1", "library");
  planned(again, installed / "usr/local/bin/hosty", "usr/local/bin/hosty", "program");
  const auto what = error_of([&] { plan_needed_libraries(r, again, test_log()); });
  BOOST_TEST(
      what.find(
          "RUNTIME: not found for linux/amd64 in the toolchain's library directories:\n  libvendor.so.2 (needed by hosty)") !=
          std::string::npos,
      what);
}

BOOST_AUTO_TEST_SUITE_END()
