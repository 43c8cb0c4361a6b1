#include <boost/test/unit_test.hpp>

#include "error.hpp"
#include "fake_runner.hpp"
#include "json_file.hpp"
#include "records.hpp"
#include "stages.hpp"
#include "test_support.hpp"

using namespace mai;
using mai::test::FakeRunner;

namespace {

struct Fixture {
  mai::test::TempDir dir;
  Spec spec;
  FakeRunner runner;
  std::filesystem::path state;

  Fixture() {
    dir.file("ctx/Dockerfile", "FROM scratch\n");
    dir.file("ctx/file.txt", "x");
    spec = mai::test::make_spec(dir.path() / "ctx");
    state = dir.path() / "state";
    runner.on({"buildx", "version"}, {1, "", ""});
    runner.on({"version", "--format", "{{.Client.Version}}"}, {0, "20.10.24\n", ""});
    runner.on({"build"}, {}, [](const Command& c) { FakeRunner::write(FakeRunner::value_of(c, "--iidfile"), "sha256:abc"); });
    runner.on({"image", "inspect"}, {0, "linux/amd64 4096\n", ""});
  }
  std::size_t count(const std::string& verb, const std::string& flag = "") const {
    std::size_t n = 0;
    for (const auto& c : runner.commands)
      n += c.argv.at(1) == verb && (flag.empty() || std::count(c.argv.begin(), c.argv.end(), flag));
    return n;
  }
  std::filesystem::path build_record() const { return state / "build-linux-amd64.json"; }
};

std::string error_of(auto f, Exit expected) {
  try {
    f();
  } catch (const Error& e) {
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(expected));
    return e.what();
  }
  BOOST_FAIL("no error");
  return "";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(stages)

BOOST_FIXTURE_TEST_CASE(build_writes_its_record_and_a_depfile_of_the_context, Fixture) {
  build_step(spec, spec.platforms[0], build_record(), state / "build.d", runner);
  const auto record = read_build_record(build_record());
  BOOST_REQUIRE(record);
  BOOST_TEST(record->image_id == "sha256:abc");
  BOOST_TEST(record->engine == "docker");
  BOOST_TEST(record->references.size() == 2u);
  BOOST_TEST(record->references[0] == "127.0.0.1:5000/demo/hello:1.0-amd64");
  BOOST_TEST(record->references[1] == "127.0.0.1:5000/demo/hello:latest-amd64");
  const auto depfile = read_text_file(state / "build.d");
  BOOST_TEST(depfile.starts_with(build_record().string() + ":"));
  BOOST_TEST(depfile.find("ctx/file.txt") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(an_image_of_the_wrong_platform_is_built_again_without_the_cache, Fixture) {
  int inspections = 0;
  runner.rules.insert(runner.rules.begin(), FakeRunner::Rule{{"image", "inspect"}, {0, "linux/arm64 1\n", ""}, {}});
  runner.rules.front().effect = [&](const Command&) {
    if (++inspections == 2) runner.rules.front().result.out = "linux/amd64 1\n";
  };
  build_step(spec, spec.platforms[0], build_record(), state / "build.d", runner);
  BOOST_TEST(count("build") == 2u);
  BOOST_TEST(count("build", "--no-cache") == 1u);
  BOOST_TEST(std::filesystem::exists(build_record()));
}

BOOST_FIXTURE_TEST_CASE(an_image_of_the_wrong_platform_even_without_cache_fails_with_no_record, Fixture) {
  runner.rules.insert(runner.rules.begin(), FakeRunner::Rule{{"image", "inspect"}, {0, "linux/arm64 1\n", ""}, {}});
  const auto what = error_of([&] { build_step(spec, spec.platforms[0], build_record(), state / "build.d", runner); },
                             Exit::step_failed);
  BOOST_TEST(what.find("built a linux/arm64 image for linux/amd64") != std::string::npos);
  BOOST_TEST(!std::filesystem::exists(build_record()));
}

BOOST_FIXTURE_TEST_CASE(a_failed_build_leaves_no_record_not_even_the_old_one, Fixture) {
  build_step(spec, spec.platforms[0], build_record(), state / "build.d", runner);
  BOOST_REQUIRE(std::filesystem::exists(build_record()));
  runner.rules.insert(runner.rules.begin(), FakeRunner::Rule{{"build"}, {1, "", "ERROR: failed to solve"}, {}});
  const auto what = error_of([&] { build_step(spec, spec.platforms[0], build_record(), state / "build.d", runner); },
                             Exit::step_failed);
  BOOST_TEST(what.find("docker build for linux/amd64 failed (exit 1)") != std::string::npos);
  BOOST_TEST(what.find("ERROR: failed to solve") != std::string::npos);
  BOOST_TEST(!std::filesystem::exists(build_record()));
}

BOOST_FIXTURE_TEST_CASE(push_with_a_corrupt_build_record_builds_the_platform_again, Fixture) {
  dir.file("state/build-linux-amd64.json", "{ corrupt");
  runner.on({"push"}, {0, "", "x: digest: sha256:" + std::string(64, 'e') + " size: 1"});
  push_step(spec, spec.platforms[0], build_record(), state / "push.json", runner);
  BOOST_TEST(count("build") == 1u);
  BOOST_TEST(read_build_record(build_record()).has_value());
  BOOST_TEST(read_push_record(state / "push.json").has_value());
}

BOOST_FIXTURE_TEST_CASE(push_of_an_image_removed_from_the_engine_builds_it_again, Fixture) {
  build_step(spec, spec.platforms[0], build_record(), state / "build.d", runner);
  runner.commands.clear();
  // `image inspect --format {{.Id}}` answers "No such image" once, then the rebuilt image exists.
  int inspections = 0;
  runner.rules.insert(runner.rules.begin(), FakeRunner::Rule{{"image", "inspect", "--format", "{{.Id}}"}, {1, "", "No such image"}, {}});
  runner.rules.front().effect = [&](const Command&) { runner.rules.front().result.exit_code = ++inspections == 1 ? 1 : 0; };
  runner.on({"push"}, {0, "", "x: digest: sha256:" + std::string(64, 'e') + " size: 1"});
  push_step(spec, spec.platforms[0], build_record(), state / "push.json", runner);
  BOOST_TEST(count("build") == 1u);
  BOOST_TEST(count("push") == 2u);
}

BOOST_FIXTURE_TEST_CASE(push_records_the_digest_of_every_per_platform_tag, Fixture) {
  build_step(spec, spec.platforms[0], build_record(), state / "build.d", runner);
  runner.on({"push"}, {0, "", "x: digest: sha256:" + std::string(64, 'e') + " size: 1"});
  push_step(spec, spec.platforms[0], build_record(), state / "push.json", runner);
  const auto record = read_push_record(state / "push.json");
  BOOST_REQUIRE(record);
  BOOST_TEST(record->digest == "sha256:" + std::string(64, 'e'));
  std::size_t pushes = 0;
  for (const auto& c : runner.commands) pushes += c.argv.at(1) == "push";
  BOOST_TEST(pushes == 2u);  // one per tag
}

BOOST_FIXTURE_TEST_CASE(manifest_fails_verification_and_writes_nothing_when_the_registry_disagrees, Fixture) {
  const auto a = "sha256:" + std::string(64, 'a');
  const auto b = "sha256:" + std::string(64, 'b');
  write_record(state / "push-linux-amd64.json", PushRecord{"hello", "linux/amd64", "docker", "", "i1", spec.repository.str(), a, {}, 0});
  write_record(state / "push-linux-arm-v7.json", PushRecord{"hello", "linux/arm/v7", "docker", "", "i2", spec.repository.str(), b, {}, 0});
  runner.on({"manifest", "push"}, {0, "sha256:" + std::string(64, 'f'), ""});
  runner.on({"manifest", "inspect"},
            {0, R"({"manifests":[{"digest":")" + a + R"(","platform":{"os":"linux","architecture":"amd64"}}]})", ""});
  const auto what = error_of([&] { manifest_step(spec, {state / "push-linux-amd64.json", state / "push-linux-arm-v7.json"}, state / "metadata.json", runner); },
                             Exit::verify_failed);
  BOOST_TEST(what.find("linux/arm/v7 is missing") != std::string::npos);
  BOOST_TEST(!std::filesystem::exists(state / "metadata.json"));
}

BOOST_FIXTURE_TEST_CASE(manifest_pushes_a_platform_whose_push_record_is_unusable, Fixture) {
  const auto a = "sha256:" + std::string(64, 'a');
  const auto e = "sha256:" + std::string(64, 'e');
  write_record(state / "push-linux-amd64.json", PushRecord{"hello", "linux/amd64", "docker", "", "i1", spec.repository.str(), a, {}, 0});
  dir.file("state/push-linux-arm-v7.json", "{ corrupt");
  runner.rules.insert(runner.rules.begin(), FakeRunner::Rule{{"image", "inspect", "--format", "{{.Os}}/{{.Architecture}} {{.Size}}"}, {0, "linux/arm 1\n", ""}, {}});
  runner.on({"push"}, {0, "", "x: digest: " + e + " size: 1"});
  runner.on({"manifest", "push"}, {0, "sha256:" + std::string(64, 'f'), ""});
  runner.on({"manifest", "inspect"},
            {0, R"({"manifests":[{"digest":")" + a + R"(","platform":{"os":"linux","architecture":"amd64"}},)" +
                    R"({"digest":")" + e + R"(","platform":{"os":"linux","architecture":"arm","variant":"v7"}}]})", ""});
  manifest_step(spec, {state / "push-linux-amd64.json", state / "push-linux-arm-v7.json"}, state / "metadata.json", runner);
  BOOST_TEST(count("build") == 1u);  // arm/v7 had no build record either: built, then pushed
  BOOST_TEST(read_push_record(state / "push-linux-arm-v7.json")->digest == e);
  BOOST_TEST(read_manifest_record(state / "metadata.json").has_value());
}

BOOST_AUTO_TEST_SUITE_END()
