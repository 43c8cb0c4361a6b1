#include "registry/credentials.hpp"

#include <boost/test/unit_test.hpp>

#include "base/error.hpp"
#include "base/process.hpp"
#include "base/text.hpp"
#include "support/fake_runner.hpp"
#include "support/test_support.hpp"

using namespace mai;
using mai::test::code_of;
using mai::test::error_of;
using mai::test::test_log;

BOOST_AUTO_TEST_SUITE(credentials)

BOOST_AUTO_TEST_CASE(file_order_follows_the_engine_and_the_environment) {
  std::map<std::string, std::string> vars{{"HOME", "/home/u"}, {"XDG_RUNTIME_DIR", "/run/user/1"}};
  const Environment env = [&](const char* n) -> std::optional<std::string> {
    if (!vars.count(n)) return std::nullopt;
    return vars.at(n);
  };
  using Paths = std::vector<std::filesystem::path>;
  BOOST_TEST((credential_files("docker", env) ==
              Paths{"/home/u/.docker/config.json", "/run/user/1/containers/auth.json", "/home/u/.config/containers/auth.json"}));
  BOOST_TEST((credential_files("podman", env) ==
              Paths{"/run/user/1/containers/auth.json", "/home/u/.config/containers/auth.json", "/home/u/.docker/config.json"}));
  vars["DOCKER_CONFIG"] = "/cfg";
  vars["REGISTRY_AUTH_FILE"] = "/auth.json";
  BOOST_TEST((credential_files("podman", env) == Paths{"/auth.json", "/cfg/config.json"}));
}

BOOST_AUTO_TEST_CASE(keys_run_from_the_repository_to_the_host) {
  BOOST_TEST((credential_keys("r.example:5000", "team/app") ==
              std::vector<std::string>{"r.example:5000/team/app", "r.example:5000/team", "r.example:5000"}));
  BOOST_TEST(credential_keys("docker.io", "library/x").back() == "docker.io");
}

BOOST_AUTO_TEST_CASE(auths_entries_most_specific_first_and_first_file_wins) {
  mai::test::TempDir dir;
  mai::test::FakeRunner runner;
  const auto a =
      dir.file("a.json", R"({"auths": {"https://r.example:5000/v1/": {"auth": ")" + base64_encode("host-user:host:pw") +
                             R"("}, "r.example:5000/team": {"username": "team-user", "password": "p2"}}})");
  const auto b = dir.file("b.json", R"({"auths": {"other.example": {"auth": ")" + base64_encode("o:o") + R"("}}})");
  auto c = find_credentials({dir.path() / "missing.json", a, b}, "r.example:5000", "team/app", runner, test_log());
  BOOST_REQUIRE(c);
  BOOST_TEST(c->username == "team-user");
  c = find_credentials({a, b}, "r.example:5000", "other/app", runner, test_log());
  BOOST_TEST(c->username == "host-user");
  BOOST_TEST(c->secret == "host:pw");  // only the first colon separates
  BOOST_TEST(find_credentials({b, a}, "other.example", "x", runner, test_log())->username == "o");
  BOOST_TEST(!find_credentials({a, b}, "nowhere.example", "x", runner, test_log()));
  const auto bad = dir.file("bad.json", R"({"auths": {"r.example:5000": {"auth": "not base64!"}}})");
  BOOST_TEST(static_cast<int>(code_of([&] { find_credentials({bad}, "r.example:5000", "x", runner, test_log()); })) ==
             static_cast<int>(Exit::invalid_input));
  BOOST_TEST(runner.commands.empty());
}

// The helper protocol with a real child process: `get`, the server on stdin, JSON on stdout.
BOOST_AUTO_TEST_CASE(credential_helpers_and_stores_speak_the_docker_protocol) {
  mai::test::TempDir dir;
  const auto bin = dir.path() / "bin";
  std::filesystem::create_directories(bin);
  auto helper = [&](const std::string& name, const std::string& body) { dir.script("bin/docker-credential-" + name, body); };
  helper("fake", "[ \"$1\" = get ] || exit 9\nread -r server\necho \"$server\" >>\"" + (dir.path() / "asked").string() +
                     "\"\nprintf '{\"ServerURL\":\"%s\",\"Username\":\"u-%s\",\"Secret\":\"s3cret\"}' \"$server\" \"$server\"\n");
  helper("empty", "echo 'credentials not found in native keychain'; exit 1\n");
  helper("broken", "echo 'keychain locked' >&2; exit 3\n");
  const auto old_path = std::string(std::getenv("PATH"));
  ::setenv("PATH", (bin.string() + ":" + old_path).c_str(), 1);
  ProcessRunner runner;

  const auto helpers = dir.file("h.json", R"({"credHelpers": {"r.example:5000": "fake"}, "credsStore": "empty",
                                            "auths": {"r.example:5000": {"auth": ")" +
                                              base64_encode("not:used") + R"("}}})");
  auto c = find_credentials({helpers}, "r.example:5000", "team/app", runner, test_log());
  BOOST_REQUIRE(c);
  BOOST_TEST(c->username == "u-r.example:5000");
  BOOST_TEST(c->secret == "s3cret");
  BOOST_TEST(c->origin == "docker-credential-fake");
  // docker.io is asked for under the name `docker login` stores it with.
  const auto store = dir.file("s.json", R"({"credsStore": "fake"})");
  BOOST_TEST(find_credentials({store}, "docker.io", "library/x", runner, test_log())->username ==
             "u-https://index.docker.io/v1/");
  // A store without an entry falls through to auths.
  const auto fallthrough = dir.file(
      "f.json", R"({"credsStore": "empty", "auths": {"r.example:5000": {"auth": ")" + base64_encode("plain:pw") + R"("}}})");
  BOOST_TEST(find_credentials({fallthrough}, "r.example:5000", "x", runner, test_log())->username == "plain");
  const auto broken = dir.file("b.json", R"({"credHelpers": {"r.example:5000": "broken"}})");
  const auto what = error_of([&] { find_credentials({broken}, "r.example:5000", "x", runner, test_log()); });
  BOOST_TEST(what.find("docker-credential-broken failed for r.example:5000 (exit 3): keychain locked") != std::string::npos);
  const auto missing = dir.file("m.json", R"({"credHelpers": {"r.example:5000": "absent"}})");
  BOOST_TEST(error_of([&] { find_credentials({missing}, "r.example:5000", "x", runner, test_log()); }).find("is not installed") !=
             std::string::npos);
  ::setenv("PATH", old_path.c_str(), 1);
  BOOST_TEST(mai::test::read(dir.path() / "asked") == "r.example:5000\nhttps://index.docker.io/v1/\n");
}

BOOST_AUTO_TEST_SUITE_END()
