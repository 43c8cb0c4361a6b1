#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <tuple>

#include "base/error.hpp"
#include "base/retry.hpp"
#include "base/text.hpp"
#include "engine/engine_docker.hpp"
#include "engine/factory.hpp"
#include "support/fake_runner.hpp"
#include "support/test_support.hpp"

using namespace mai;
using mai::test::FakeRunner;
using mai::test::test_log;
using Argv = std::vector<std::string>;

namespace {

// A runner whose engines "write" the files they are asked to write.
FakeRunner engine_runner(const std::string& docker_version, bool buildx) {
  FakeRunner r;
  r.on({"buildx", "version"}, {buildx ? 0 : 1, "", "not a docker command"});
  r.on({"version", "--format", "{{.Client.Version}}"}, {0, docker_version + "\n", ""});
  auto write_iid = [](const Command& c) { FakeRunner::write(FakeRunner::value_of(c, "--iidfile"), "sha256:abc\n"); };
  r.on({"build"}, {}, write_iid);
  r.on({"buildx", "build"}, {}, write_iid);
  r.on({"push", "--tls-verify=false"}, {},
       [](const Command& c) { FakeRunner::write(FakeRunner::value_of(c, "--digestfile"), "sha256:" + std::string(64, 'd')); });
  r.on({"push"}, {0, "", "1.0-amd64: digest: sha256:" + std::string(64, 'e') + " size: 734"});
  r.on({"manifest", "push"}, {0, "sha256:" + std::string(64, 'f') + "\n", ""}, [](const Command& c) {
    if (auto f = FakeRunner::value_of(c, "--digestfile"); !f.empty()) FakeRunner::write(f, "sha256:" + std::string(64, '1'));
  });
  return r;
}

// The error of `engine`'s push of `reference` that failed printing `said`.
std::string push_refused(const std::string& engine, const std::string& said, const Spec& spec, const std::string& reference,
                         const std::filesystem::path& scratch) {
  FakeRunner runner;
  runner.on({"tag"});
  runner.on({"push"}, {1, "", said});
  auto e = make_engine(engine, spec, runner, test_log(), "");
  return mai::test::error_of([&] { e->push("sha256:abc", reference, spec.repository, scratch); });
}

const Command& find(const FakeRunner& r, const Argv& prefix) {
  for (const auto& c : r.commands)
    if (c.argv.size() > prefix.size() && std::equal(prefix.begin(), prefix.end(), c.argv.begin() + 1)) return c;
  BOOST_FAIL("no command starting with " + prefix.front());
  throw;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(engine)

BOOST_AUTO_TEST_CASE(docker_20_builds_with_its_builtin_buildkit) {
  mai::test::TempDir dir;
  const auto spec = mai::test::make_spec(dir.path());
  auto runner = engine_runner("20.10.24", false);
  DockerEngine docker("docker", runner, test_log(), "");
  const auto built = docker.build(spec, spec.platforms[1], {"127.0.0.1:5000/demo/hello:1.0-armv7"}, dir.path(), Cache::use, {});
  BOOST_TEST(built.image_id == "sha256:abc");
  BOOST_TEST(built.method == "buildkit");
  const auto& c = runner.commands.back();
  const Argv expected{"docker",
                      "build",
                      "--progress=plain",
                      "--platform",
                      "linux/arm/v7",
                      "--network",
                      "none",
                      "--file",
                      (dir.path() / "Dockerfile").string(),
                      "--iidfile",
                      (dir.path() / "iid").string(),
                      "--tag",
                      "127.0.0.1:5000/demo/hello:1.0-armv7",
                      "--build-arg",
                      "MSG=a b;$(x) `y` \"z\"",
                      dir.path().string()};
  BOOST_TEST(c.argv == expected, boost::test_tools::per_element());
  BOOST_TEST((c.env.at(0) == std::pair<std::string, std::string>{"DOCKER_BUILDKIT", "1"}));
}

BOOST_AUTO_TEST_CASE(docker_prefers_buildx_and_loads_the_result) {
  mai::test::TempDir dir;
  const auto spec = mai::test::make_spec(dir.path());
  auto runner = engine_runner("28.2.2", true);
  DockerEngine docker("/usr/local/bin/docker", runner, test_log(), "");
  BOOST_TEST(docker.build(spec, spec.platforms[0], {"r:1-amd64"}, dir.path(), Cache::use, {}).method == "buildx");
  const auto& c = runner.commands.back();
  BOOST_TEST((Argv(c.argv.begin(), c.argv.begin() + 4) == Argv{"/usr/local/bin/docker", "buildx", "build", "--load"}));
}

BOOST_AUTO_TEST_CASE(docker_28_without_buildx_falls_back_to_the_legacy_builder) {
  mai::test::TempDir dir;
  const auto spec = mai::test::make_spec(dir.path());
  auto runner = engine_runner("28.2.2", false);
  DockerEngine docker("docker", runner, test_log(), "");
  BOOST_TEST(docker.build(spec, spec.platforms[0], {"r:1-amd64"}, dir.path(), Cache::use, {}).method == "legacy");
  const auto& c = runner.commands.back();
  BOOST_TEST(c.argv.at(1) == "build");
  BOOST_TEST(std::count(c.argv.begin(), c.argv.end(), "--progress=plain") == 0);
  BOOST_TEST(c.env.at(0).second == "0");
}

BOOST_AUTO_TEST_CASE(the_docker_client_s_major_version_picks_the_builder_and_an_unread_one_is_taken_for_current) {
  mai::test::TempDir dir;
  const auto spec = mai::test::make_spec(dir.path());
  for (const auto& [version, method] : std::vector<std::pair<std::string, std::string>>{{"20.10.24+dfsg1", "buildkit"},
                                                                                        {"19", "buildkit"},
                                                                                        {"23.0.1", "legacy"},
                                                                                        {"dev", "legacy"},
                                                                                        {"", "legacy"},
                                                                                        {"-20.1", "legacy"},
                                                                                        {" 20.10", "buildkit"}}) {
    auto runner = engine_runner(version, false);
    DockerEngine docker("docker", runner, test_log(), "");
    BOOST_TEST(docker.build(spec, spec.platforms[0], {"r:1-amd64"}, dir.path(), Cache::use, {}).method == method,
               "client version '" << version << "'");
  }
}

BOOST_AUTO_TEST_CASE(an_image_s_platform_and_size_are_read_and_an_answer_without_them_is_an_error) {
  mai::test::TempDir dir;
  const auto spec = mai::test::make_spec(dir.path());
  const Argv inspect{"image", "inspect", "--format", "{{.Os}}/{{.Architecture}} {{.Size}}"};
  FakeRunner runner;
  runner.on(inspect, {0, "linux/arm64 734\n", ""});
  auto docker = make_engine("docker", spec, runner, test_log(), "");
  const auto info = docker->image_info("sha256:abc");
  BOOST_TEST(info.platform == "linux/arm64");
  BOOST_TEST(info.size == 734);
  // A size the engine did not print as a whole number of bytes was read as 0 before.
  for (const std::string answer : {"linux/arm64", "linux/arm64 ", "linux/arm64 7x", "linux/arm64 -1", "linux/arm64 1.5e3",
                                   "linux/arm64 99999999999999999999"}) {
    FakeRunner bad;
    bad.on(inspect, {0, answer + "\n", ""});
    auto e = make_engine("docker", spec, bad, test_log(), "");
    const auto error = mai::test::error_of([&] { e->image_info("sha256:abc"); });
    BOOST_TEST(error.find("docker image inspect sha256:abc answered '" + mai::trim(answer) +
                          "', not the image's platform and size in bytes") != std::string::npos,
               error);
  }
}

BOOST_AUTO_TEST_CASE(docker_push_tags_the_built_image_and_reads_the_digest) {
  mai::test::TempDir dir;
  const auto spec = mai::test::make_spec(dir.path());
  auto runner = engine_runner("20.10.24", false);
  DockerEngine docker("docker", runner, test_log(), "");
  const auto digest = docker.push("sha256:abc", "127.0.0.1:5000/demo/hello:1.0-amd64", spec.repository, dir.path());
  BOOST_TEST(digest == "sha256:" + std::string(64, 'e'));
  BOOST_TEST((runner.commands.at(0).argv == Argv{"docker", "tag", "sha256:abc", "127.0.0.1:5000/demo/hello:1.0-amd64"}));
  BOOST_TEST((runner.commands.at(1).argv == Argv{"docker", "push", "127.0.0.1:5000/demo/hello:1.0-amd64"}));
}

// A registry whose tags are immutable refuses the engine's push of a per-platform tag that a changed
// build moves: said as such, with what works there, not as a failed command alone. Any other failure
// of the push stays the command's own.
// What a registry cannot take that the engines' pushes need, in the words docker 20.10 and podman 4.3
// printed through the tests' front: each named with what works there, and none tried again.
BOOST_AUTO_TEST_CASE(a_push_the_registry_cannot_take_names_its_limit_and_what_works) {
  mai::test::TempDir dir;
  const auto spec = mai::test::make_spec(dir.path());
  const std::string reference = "127.0.0.1:5000/demo/hello:1.0-amd64";
  const auto refused_by = [&](const std::string& engine, const std::string& said) {
    return push_refused(engine, said, spec, reference, dir.path());
  };
  const std::vector<std::tuple<std::string, std::string, std::string, std::string>> cases{
      {"docker", "error parsing HTTP 405 response body: unexpected end of JSON input: \"\"", "405 Method Not Allowed", "(BASE"},
      {"podman",
       "Error: trying to reuse blob sha256:0ec2 at destination: failed to read from destination repository demo/hello: "
       "405 (Method Not Allowed)",
       "405 Method Not Allowed", "(BASE"},
      {"docker", "unsupported: chunked uploads are not supported: send the blob whole in the closing PUT",
       "takes no upload in chunks", "(BASE"},
      {"podman", "Error: writing blob: uploading layer chunked: unsupported: chunked uploads are not supported",
       "takes no upload in chunks", "(BASE"},
      {"docker", "invalid checksum digest format", "lack the Docker-Content-Digest header", "ENGINE podman"}};
  for (const auto& [engine, said, limit, works] : cases) {
    const auto error = refused_by(engine, said);
    BOOST_TEST(error.starts_with(engine + " push " + reference + " was refused (exit 1): "), error);
    BOOST_TEST(error.find(limit) != std::string::npos, error);
    BOOST_TEST(error.find(works) != std::string::npos, error);
    BOOST_TEST(permanent_failure(said), said);
  }
  // The repository's own name is not what the registry said.
  const std::string named = "127.0.0.1:5000/e2e/quirk-head-405:1.0-amd64";
  FakeRunner runner;
  runner.on({"tag"});
  runner.on({"push"}, {1, "", "The push refers to repository [127.0.0.1:5000/e2e/quirk-head-405]\nconnection reset by peer"});
  auto docker = make_engine("docker", spec, runner, test_log(), "");
  const auto error = mai::test::error_of([&] { docker->push("sha256:abc", named, spec.repository, dir.path()); });
  BOOST_TEST(error.find("Method Not Allowed") == std::string::npos, error);
  // Podman names the path alone; a tag may hold the numbers too (ECR's refusal of build-405-amd64 is
  // about its immutable tag).
  const std::string api = "127.0.0.1:5000/e2e/api-405:build-405-amd64";
  const auto transient = without_names("Error: failed to read from destination repository e2e/api-405: 503 (Service Unavailable)",
                                       names_in_push_output(api));
  BOOST_TEST(!permanent_failure(transient), transient);
  const auto on_a_tag = without_names(
      "tag invalid: The image tag 'build-405-amd64' already exists in the 'e2e/api-405' "
      "repository and cannot be overwritten because the repository is immutable.",
      names_in_push_output(api));
  BOOST_TEST((registry_limit(on_a_tag) == RegistryLimit::none), on_a_tag);
  BOOST_TEST(immutable_tag_refusal(on_a_tag), on_a_tag);
  // Whole names only: a tag `1` leaves the 401 of an answer as it was.
  BOOST_TEST(without_names("unauthorized: HTTP 401 for 127.0.0.1:5000/x:1", names_in_push_output("127.0.0.1:5000/x:1")) ==
             "unauthorized: HTTP 401 for <name>:<name>");
  for (const auto* other : {"received unexpected HTTP status: 503 Service Unavailable", "unsupported platform linux/s390x"})
    BOOST_TEST((registry_limit(other) == RegistryLimit::none), other);
}

BOOST_AUTO_TEST_CASE(a_push_refused_by_an_immutable_tag_names_the_tag_the_rule_and_what_works) {
  mai::test::TempDir dir;
  const auto spec = mai::test::make_spec(dir.path());
  const std::string reference = "127.0.0.1:5000/demo/hello:1.0-amd64";
  const auto refused_by = [&](const std::string& engine, const std::string& said) {
    return push_refused(engine, said, spec, reference, dir.path());
  };
  const auto ecr =
      refused_by("docker",
                 "tag invalid: The image tag '1.0-amd64' already exists in the 'demo/hello' repository and cannot be "
                 "overwritten because the repository is immutable.");
  BOOST_TEST(ecr.starts_with("docker push " + reference +
                             " was refused (exit 1): the registry keeps the tag 1.0-amd64 for what it holds, "
                             "its tags are immutable"));
  BOOST_TEST(ecr.find("give every publish TAGS of its own (a version, GIT_TAGS)") != std::string::npos);
  BOOST_TEST(ecr.find("PLATFORM_TAGS OFF") != std::string::npos);
  BOOST_TEST(ecr.find("cannot be overwritten because the repository is immutable") != std::string::npos);  // the registry's words
  const auto denied =
      refused_by("podman",
                 "Error: writing manifest: uploading manifest 1.0-amd64 to 127.0.0.1:5000/demo/hello: denied: The "
                 "tag '1.0-amd64' of 'demo/hello' is immutable");
  BOOST_TEST(denied.starts_with("podman push " + reference + " was refused (exit 1): the registry keeps the tag 1.0-amd64"));
  const auto other =
      refused_by("docker", "Get \"https://127.0.0.1:5000/v2/\": dial tcp 127.0.0.1:5000: connect: connection refused");
  BOOST_TEST(other.starts_with("docker push " + reference + " failed (exit 1)"));
  BOOST_TEST(other.find("immutable") == std::string::npos);
  // The repository's own name says nothing of why its push failed; nor does a tag refused as invalid.
  const std::string named = "127.0.0.1:5000/team/immutable-tag-is-immutable:1.0-amd64";
  FakeRunner runner;
  runner.on({"tag"});
  runner.on({"push"}, {1, "",
                       "The push refers to repository [127.0.0.1:5000/team/immutable-tag-is-immutable]\n"
                       "received unexpected HTTP status: 500 Internal Server Error"});
  DockerEngine docker("docker", runner, test_log(), "");
  BOOST_TEST(mai::test::error_of([&] {
               docker.push("sha256:abc", named, spec.repository, dir.path());
             }).starts_with("docker push " + named + " failed (exit 1)"));
  BOOST_TEST(
      refused_by("docker", "tag invalid: manifest tag did not match URI").starts_with("docker push " + reference + " failed"));
  // A repository named like the stand-in for it, in words the registry did not say.
  const std::string plain = "repository:1.0-amd64";
  FakeRunner looped;
  looped.on({"tag"});
  looped.on({"push"}, {1, "", "The push refers to repository [docker.io/library/repository]\nconnection reset by peer"});
  DockerEngine looping("docker", looped, test_log(), "");
  BOOST_TEST(mai::test::error_of([&] {
               looping.push("sha256:abc", plain, spec.repository, dir.path());
             }).starts_with("docker push " + plain + " failed (exit 1)"));
  // Each term the match knows, and none in a registry's other refusals.
  for (const auto* term : {"cannot be overwritten", "is immutable", "configured as immutable", "immutable tag",
                           "tag immutability", "ImageTagAlreadyExistsException", "protected tag"})
    BOOST_TEST(immutable_tag_refusal(std::string("denied: ... ") + term + " ..."), term);
  for (const auto* other : {"denied: requested access to the resource is denied", "tag invalid: manifest tag did not match URI",
                            "manifest invalid: manifest invalid"})
    BOOST_TEST(!immutable_tag_refusal(other), other);
  // And no retry can change the registry's mind: the runner gives up at once.
  BOOST_TEST(permanent_failure("denied: The tag '1.0-amd64' of 'demo/hello' is immutable"));
  BOOST_TEST(!permanent_failure("received unexpected HTTP status: 500 Internal Server Error"));
}

// For the SBOM: FROM bases taken from their registries again, not from the engine's older copy.
BOOST_AUTO_TEST_CASE(a_build_told_to_pull_its_bases_asks_each_engine_in_its_words) {
  mai::test::TempDir dir;
  auto spec = mai::test::make_spec(dir.path());
  const BuildSources from_registry{Pull::always, {parse_repository("127.0.0.1:5000/base/runtime")}};
  auto runner = engine_runner("20.10.24", false);
  DockerEngine docker("docker", runner, test_log(), "");
  docker.build(spec, spec.platforms[0], {"r:1-amd64"}, dir.path(), Cache::use, from_registry);
  const auto& d = runner.commands.back().argv;
  BOOST_TEST((Argv(d.begin(), d.begin() + 4) == Argv{"docker", "build", "--progress=plain", "--pull"}));
  docker.build(spec, spec.platforms[0], {"r:1-amd64"}, dir.path(), Cache::use, {});
  BOOST_TEST(std::count(runner.commands.back().argv.begin(), runner.commands.back().argv.end(), "--pull") == 0);
  auto podman_runner = engine_runner("", false);
  auto podman = make_engine("podman", spec, podman_runner, test_log(), "");
  podman->build(spec, spec.platforms[0], {"r:1-amd64"}, dir.path(), Cache::use, from_registry);
  const auto& p = podman_runner.commands.back().argv;
  BOOST_TEST(
      (Argv(p.begin(), p.begin() + 5) == Argv{"podman", "build", "--layers=false", "--pull=always", "--tls-verify=false"}));
}

// SECRETS, SSH and TARGET_STAGE spelled alike for docker with BuildKit and podman: where each secret's
// value is, never the value (which the test puts in the environment to make sure it is not copied).
BOOST_AUTO_TEST_CASE(secrets_ssh_and_the_target_stage_go_to_the_build_by_name_only) {
  mai::test::TempDir dir;
  auto spec = mai::test::make_spec(dir.path());
  spec.build_options.secrets = {{"npm", "NPM_TOKEN", {}}, {"cred", "", dir.path() / "cred"}};
  spec.build_options.ssh = {"default", "github=/keys/id_ed25519"};
  spec.build_options.target_stage = "runtime";
  ::setenv("NPM_TOKEN", "value-that-must-stay-in-the-environment", 1);
  const Argv wanted{"--target",
                    "runtime",
                    "--secret",
                    "id=npm,env=NPM_TOKEN",
                    "--secret",
                    "id=cred,src=" + (dir.path() / "cred").string(),
                    "--ssh",
                    "default",
                    "--ssh",
                    "github=/keys/id_ed25519",
                    dir.path().string()};
  const auto tail = [&](const Argv& argv) { return Argv(argv.end() - static_cast<long>(wanted.size()), argv.end()); };
  const auto holds_the_value = [](const Command& c) {
    for (const auto& a : c.argv)
      if (a.find("value-that-must") != std::string::npos) return true;
    for (const auto& [k, v] : c.env)
      if (v.find("value-that-must") != std::string::npos) return true;
    return false;
  };
  auto runner = engine_runner("20.10.24", false);
  DockerEngine docker("docker", runner, test_log(), "");
  docker.build(spec, spec.platforms[0], {"r:1-amd64"}, dir.path(), Cache::use, {});
  BOOST_TEST(tail(runner.commands.back().argv) == wanted, boost::test_tools::per_element());
  BOOST_TEST(!holds_the_value(runner.commands.back()));
  auto podman_runner = engine_runner("", false);
  auto podman = make_engine("podman", spec, podman_runner, test_log(), "");
  podman->build(spec, spec.platforms[0], {"r:1-amd64"}, dir.path(), Cache::use, {});
  BOOST_TEST(tail(podman_runner.commands.back().argv) == wanted, boost::test_tools::per_element());
  BOOST_TEST(!holds_the_value(podman_runner.commands.back()));
  ::unsetenv("NPM_TOKEN");

  // The legacy builder has no secrets: refused before anything is built.
  auto legacy_runner = engine_runner("28.2.2", false);
  DockerEngine legacy("docker", legacy_runner, test_log(), "");
  const auto error =
      mai::test::error_of([&] { legacy.build(spec, spec.platforms[0], {"r:1-amd64"}, dir.path(), Cache::use, {}); });
  BOOST_TEST(error.find("SECRETS, SSH and REGISTRY_CACHE need BuildKit") != std::string::npos, error);
  BOOST_TEST(std::none_of(legacy_runner.commands.begin(), legacy_runner.commands.end(),
                          [](const Command& c) { return c.argv.at(1) == "build"; }));
}

// REGISTRY_CACHE INLINE: BuildKit (built in, or buildx) writes its cache into the image and reads the
// one named by digest; without a published image only the first. The legacy builder and podman are
// refused before anything is built.
BOOST_AUTO_TEST_CASE(a_registry_cache_is_written_inline_and_read_from_the_image_named) {
  mai::test::TempDir dir;
  const auto spec = mai::test::make_spec(dir.path());
  const auto published = "127.0.0.1:5000/demo/hello@sha256:" + std::string(64, 'c');
  BuildSources sources;
  sources.inline_cache = true;
  sources.cache_from = published;
  const auto cache_options = [](const Argv& argv) {
    Argv out;
    for (auto it = argv.begin(); it != argv.end(); ++it)
      if ((*it == "--cache-from" || (*it == "--build-arg" && it + 1 != argv.end() && it[1].starts_with("BUILDKIT_"))) &&
          it + 1 != argv.end())
        out.insert(out.end(), {*it, it[1]});
    return out;
  };
  for (const auto& [version, buildx] : std::vector<std::pair<std::string, bool>>{{"20.10.24", false}, {"28.2.2", true}}) {
    auto runner = engine_runner(version, buildx);
    DockerEngine docker("docker", runner, test_log(), "");
    docker.build(spec, spec.platforms[0], {"r:1-amd64"}, dir.path(), Cache::use, sources);
    BOOST_TEST(
        cache_options(runner.commands.back().argv) == (Argv{"--build-arg", "BUILDKIT_INLINE_CACHE=1", "--cache-from", published}),
        boost::test_tools::per_element());
    // Pulled before the build, so that the cache the build writes keeps the steps it took from it.
    const auto& pull = runner.commands.at(runner.commands.size() - 2).argv;
    BOOST_TEST((Argv(pull.begin() + 1, pull.end()) == Argv{"pull", "--quiet", published}), boost::test_tools::per_element());
    // Built again without the engine's cache (a platform the cache got wrong): none from the registry either.
    const auto before = runner.commands.size();
    docker.build(spec, spec.platforms[0], {"r:1-amd64"}, dir.path(), Cache::ignore, sources);
    BOOST_TEST(std::none_of(runner.commands.begin() + static_cast<long>(before), runner.commands.end(),
                            [](const Command& c) { return c.argv.at(1) == "pull"; }));
    BOOST_TEST(cache_options(runner.commands.back().argv) == (Argv{"--build-arg", "BUILDKIT_INLINE_CACHE=1"}),
               boost::test_tools::per_element());
    auto first = sources;
    first.cache_from.clear();
    docker.build(spec, spec.platforms[0], {"r:1-amd64"}, dir.path(), Cache::use, first);
    BOOST_TEST(cache_options(runner.commands.back().argv) == (Argv{"--build-arg", "BUILDKIT_INLINE_CACHE=1"}),
               boost::test_tools::per_element());
    docker.build(spec, spec.platforms[0], {"r:1-amd64"}, dir.path(), Cache::use, {});
    BOOST_TEST(cache_options(runner.commands.back().argv).empty());
  }
  auto legacy_runner = engine_runner("28.2.2", false);
  DockerEngine legacy("docker", legacy_runner, test_log(), "");
  auto podman_runner = engine_runner("", false);
  auto podman = make_engine("podman", spec, podman_runner, test_log(), "");
  for (auto* engine : std::vector<Engine*>{&legacy, podman.get()}) {
    const auto error =
        mai::test::error_of([&] { engine->build(spec, spec.platforms[0], {"r:1-amd64"}, dir.path(), Cache::use, sources); });
    BOOST_TEST(error.find("REGISTRY_CACHE") != std::string::npos, error);
  }
  for (const auto* r : {&legacy_runner, &podman_runner})
    BOOST_TEST(std::none_of(r->commands.begin(), r->commands.end(), [](const Command& c) { return c.argv.at(1) == "build"; }));
}

// PULL: each policy in each engine's words; docker cannot be told `never`, and says so.
BOOST_AUTO_TEST_CASE(each_pull_policy_in_each_engine_s_words) {
  mai::test::TempDir dir;
  const auto spec = mai::test::make_spec(dir.path());
  const std::vector<Repository> loopback{parse_repository("127.0.0.1:5000/base/runtime")};
  const auto pull_options = [](const Argv& argv) {
    Argv out;
    for (const auto& a : argv)
      if (a.starts_with("--pull") || a.starts_with("--tls-verify")) out.push_back(a);
    return out;
  };
  auto podman_runner = engine_runner("", false);
  auto podman = make_engine("podman", spec, podman_runner, test_log(), "");
  const std::vector<std::pair<Pull, Argv>> podman_words{{Pull::engine_default, {}},
                                                        {Pull::always, {"--pull=always", "--tls-verify=false"}},
                                                        {Pull::missing, {"--pull=missing", "--tls-verify=false"}},
                                                        {Pull::never, {"--pull=never"}}};
  for (const auto& [pull, words] : podman_words) {
    podman->build(spec, spec.platforms[0], {"r:1-amd64"}, dir.path(), Cache::use, {pull, loopback});
    BOOST_TEST(pull_options(podman_runner.commands.back().argv) == words, boost::test_tools::per_element());
  }
  auto runner = engine_runner("20.10.24", false);
  DockerEngine docker("docker", runner, test_log(), "");
  for (const auto& [pull, words] :
       std::vector<std::pair<Pull, Argv>>{{Pull::engine_default, {}}, {Pull::always, {"--pull"}}, {Pull::missing, {}}}) {
    docker.build(spec, spec.platforms[0], {"r:1-amd64"}, dir.path(), Cache::use, {pull, loopback});
    BOOST_TEST(pull_options(runner.commands.back().argv) == words, boost::test_tools::per_element());
  }
  const auto before = runner.commands.size();
  const auto error = mai::test::error_of([&] {
    docker.build(spec, spec.platforms[0], {"r:1-amd64"}, dir.path(), Cache::use, {Pull::never, {}});
  });
  BOOST_TEST(error.find("PULL NEVER") != std::string::npos, error);
  BOOST_TEST(std::none_of(runner.commands.begin() + static_cast<long>(before), runner.commands.end(),
                          [](const Command& c) { return c.argv.at(1) == "build"; }));
}

BOOST_AUTO_TEST_CASE(podman_builds_and_pushes_by_id) {
  mai::test::TempDir dir;
  auto spec = mai::test::make_spec(dir.path());
  auto runner = engine_runner("", false);
  auto podman = make_engine("podman", spec, runner, test_log(), "");
  BOOST_TEST(podman->build(spec, spec.platforms[0], {"r:1-amd64"}, dir.path(), Cache::use, {}).image_id == "sha256:abc");
  BOOST_TEST((Argv(runner.commands.back().argv.begin(), runner.commands.back().argv.begin() + 5) ==
              Argv{"podman", "build", "--layers=false", "--platform", "linux/amd64"}));

  const auto digest = podman->push("sha256:abc", "127.0.0.1:5000/demo/hello:1-amd64", spec.repository, dir.path());
  BOOST_TEST(digest == "sha256:" + std::string(64, 'd'));
  BOOST_TEST((runner.commands.back().argv == Argv{"podman", "push", "--tls-verify=false", "--digestfile",
                                                  (dir.path() / "digest").string(), "sha256:abc",
                                                  "docker://127.0.0.1:5000/demo/hello:1-amd64"}));
}

BOOST_AUTO_TEST_CASE(auto_takes_the_first_engine_that_answers) {
  mai::test::TempDir dir;
  auto json = mai::test::spec_json(dir.path());
  json["engine"] = "auto";
  const auto spec = parse_spec(json, "spec.json");
  FakeRunner runner;
  runner.rules.push_back({{"version"}, {1, "", "Cannot connect to the Docker daemon"}, {}});
  runner.rules.front().effect = [&](const Command& c) {
    if (c.argv[0] == "podman") runner.rules.front().result.exit_code = 0;
  };
  BOOST_TEST(resolve_engine(spec, runner, test_log(), "")->name() == "podman");
  BOOST_TEST(runner.commands.size() == 2u);
}

BOOST_AUTO_TEST_CASE(auto_with_no_engine_answering_names_both) {
  mai::test::TempDir dir;
  auto json = mai::test::spec_json(dir.path());
  json["engine"] = "auto";
  const auto spec = parse_spec(json, "spec.json");
  FakeRunner runner;
  runner.on({"version"}, {1, "", "daemon not running"});
  try {
    resolve_engine(spec, runner, test_log(), "");
    BOOST_FAIL("no error");
  } catch (const Error& e) {
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(Exit::engine_missing));
    BOOST_TEST(std::string(e.what()).find("docker: exited 1: daemon not running") != std::string::npos);
    BOOST_TEST(std::string(e.what()).find("podman:") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(docker_builders_become_host_context_or_buildx_builder_options) {
  mai::test::TempDir dir;
  const auto spec = mai::test::make_spec(dir.path());
  {
    auto runner = engine_runner("20.10.24", false);
    DockerEngine docker("docker", runner, test_log(), "ssh://ci@arm-box");
    docker.build(spec, spec.platforms[0], {"r:1-amd64"}, dir.path(), Cache::use, {});
    for (const auto& c : runner.commands)
      BOOST_TEST((Argv(c.argv.begin(), c.argv.begin() + 3) == Argv{"docker", "--host", "ssh://ci@arm-box"}));
    BOOST_TEST(docker.probe().ok());
    BOOST_TEST((runner.commands.back().argv ==
                Argv{"docker", "--host", "ssh://ci@arm-box", "version", "--format", "{{.Server.Version}}"}));
  }
  {
    auto runner = engine_runner("20.10.24", false);
    DockerEngine docker("docker", runner, test_log(), "arm-box");
    docker.push("sha256:abc", "r:1-arm64", spec.repository, dir.path());
    BOOST_TEST((Argv(runner.commands.back().argv.begin(), runner.commands.back().argv.begin() + 4) ==
                Argv{"docker", "--context", "arm-box", "push"}));
  }
  {
    auto runner = engine_runner("28.2.2", true);
    DockerEngine docker("docker", runner, test_log(), "buildx:fleet");
    docker.build(spec, spec.platforms[0], {"r:1-amd64"}, dir.path(), Cache::use, {});
    BOOST_TEST((Argv(runner.commands.back().argv.begin(), runner.commands.back().argv.begin() + 6) ==
                Argv{"docker", "buildx", "build", "--load", "--builder", "fleet"}));
  }
  {
    auto runner = engine_runner("28.2.2", false);
    DockerEngine docker("docker", runner, test_log(), "buildx:fleet");
    BOOST_CHECK_THROW(docker.build(spec, spec.platforms[0], {"r:1-amd64"}, dir.path(), Cache::use, {}), Error);
  }
}

BOOST_AUTO_TEST_CASE(podman_builders_become_url_or_connection_options) {
  mai::test::TempDir dir;
  const auto spec = mai::test::make_spec(dir.path());
  auto runner = engine_runner("", false);
  make_engine("podman", spec, runner, test_log(), "unix:///run/podman/podman.sock")
      ->build(spec, spec.platforms[0], {"r:1"}, dir.path(), Cache::use, {});
  BOOST_TEST((Argv(runner.commands.back().argv.begin(), runner.commands.back().argv.begin() + 4) ==
              Argv{"podman", "--url", "unix:///run/podman/podman.sock", "build"}));
  make_engine("podman", spec, runner, test_log(), "arm-box")->probe();
  BOOST_TEST((runner.commands.back().argv == Argv{"podman", "--connection", "arm-box", "version"}));
  BOOST_CHECK_THROW(make_engine("podman", spec, runner, test_log(), "buildx:fleet"), Error);
}

BOOST_AUTO_TEST_CASE(push_digest_is_read_from_dockers_last_digest_line) {
  BOOST_TEST(parse_push_digest("a: Pushed\n1.0-amd64: digest: sha256:" + std::string(64, '7') + " size: 734\n") ==
             "sha256:" + std::string(64, '7'));
  BOOST_TEST(parse_push_digest("no digest here").empty());
}

BOOST_AUTO_TEST_SUITE_END()
