#include <boost/test/unit_test.hpp>
#include <fstream>
#include <set>

#include "base/error.hpp"
#include "steps/steps.hpp"
#include "support/test_support.hpp"

using namespace mai;
using mai::test::code_of;
using mai::test::error_of;
using mai::test::test_log;
namespace fs = std::filesystem;

BOOST_AUTO_TEST_SUITE(compose)

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
BOOST_AUTO_TEST_SUITE_END()
