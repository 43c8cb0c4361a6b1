// The provenance statement: what it records of the source, of each platform's build, and of time.
#include "attest/provenance.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include "base/process.hpp"
#include "support/fake_runner.hpp"
#include "support/test_support.hpp"

using namespace mai;
using mai::test::FakeRunner;
using mai::test::TempDir;
using mai::test::test_log;
namespace json = boost::json;

namespace {

json::object provenance_json(const TempDir& dir) {
  return {{"builder_id", "urn:test"}, {"cmake_version", "3.25.1"},         {"generator", "Ninja"},
          {"compiler", "GNU 12.2.0"}, {"source_dir", dir.path().string()}, {"git", "git"}};
}

// The real git, each command counted.
class CountingRunner final : public Runner {
 public:
  Result run(const Command& command, Output mode, const Log& log) override {
    ++calls;
    return real_.run(command, mode, log);
  }
  int calls = 0;

 private:
  ProcessRunner real_;
};

// A checkout of its own (no global configuration read), with one commit.
struct Checkout {
  TempDir dir;
  CountingRunner counted;
  ProcessRunner runner;
  std::filesystem::path cache = dir.path() / "state" / "source-revision.json";
  ProvenanceSpec spec;
  Checkout() {
    spec.git = "git";
    spec.source_dir = dir.path() / "src";
    std::filesystem::create_directories(spec.source_dir / "sub");
    git({"init", "-q", "-b", "main"});
    git({"remote", "add", "origin", "https://git.example/team/app.git"});
    commit();
  }
  void git(std::vector<std::string> args) {
    Command c{{"git", "-C", spec.source_dir.string(), "-c", "user.name=t", "-c", "user.email=t@example"}};
    c.argv.insert(c.argv.end(), args.begin(), args.end());
    BOOST_TEST_REQUIRE(runner.run(c, Output::capture, test_log()).ok());
  }
  void commit() { git({"commit", "-q", "--allow-empty", "-m", "x"}); }
  SourceRevision revision() { return source_revision(spec, counted, test_log(), cache); }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(provenance)

BOOST_AUTO_TEST_CASE(git_is_asked_again_only_after_a_commit_a_checkout_or_a_new_remote) {
  Checkout c;
  const auto first = c.revision();
  BOOST_TEST(first.commit.size() == 40U);
  BOOST_TEST(first.uri == "git+https://git.example/team/app.git");
  BOOST_TEST(c.counted.calls == 2);
  BOOST_TEST(c.revision().commit == first.commit);
  BOOST_TEST(c.counted.calls == 2);  // the same checkout: git is not asked
  c.commit();
  const auto second = c.revision();
  BOOST_TEST(second.commit != first.commit);
  BOOST_TEST(c.counted.calls == 4);
  c.git({"checkout", "-q", "--detach", first.commit});
  BOOST_TEST(c.revision().commit == first.commit);
  BOOST_TEST(c.counted.calls == 6);
  c.git({"remote", "set-url", "origin", "https://git.example/team/other.git"});
  BOOST_TEST(c.revision().uri == "git+https://git.example/team/other.git");
  BOOST_TEST(c.counted.calls == 8);
  BOOST_TEST(c.revision().uri == "git+https://git.example/team/other.git");
  BOOST_TEST(c.counted.calls == 8);
}

// A source directory below the checkout's top, in a worktree (`.git` a file naming its git directory,
// whose refs and configuration are the main checkout's): remembered, and asked again after a commit.
BOOST_AUTO_TEST_CASE(a_subdirectory_of_a_worktree_is_remembered_too) {
  Checkout c;
  const auto worktree = c.dir.path() / "wt";
  c.git({"worktree", "add", "-q", "-b", "other", worktree.string()});
  std::filesystem::create_directories(worktree / "sub");
  c.spec.source_dir = worktree / "sub";
  const auto first = c.revision();
  BOOST_TEST(first.commit.size() == 40U);
  BOOST_TEST(c.revision().commit == first.commit);
  BOOST_TEST(c.counted.calls == 2);
  BOOST_TEST(std::filesystem::exists(c.cache));
  Command commit{{"git", "-C", worktree.string(), "-c", "user.name=t", "-c", "user.email=t@example", "commit", "-q",
                  "--allow-empty", "-m", "y"}};
  BOOST_TEST_REQUIRE(c.runner.run(commit, Output::capture, test_log()).ok());
  BOOST_TEST(c.revision().commit != first.commit);
  BOOST_TEST(c.counted.calls == 4);
}

BOOST_AUTO_TEST_CASE(a_branch_moved_by_packed_refs_alone_is_asked_again) {
  Checkout c;
  c.git({"pack-refs", "--all"});  // the branch's loose ref goes: packed-refs names it
  const auto first = c.revision();
  c.commit();
  c.git({"pack-refs", "--all"});  // no loose ref before nor after, HEAD untouched: packed-refs alone changed
  BOOST_TEST(c.revision().commit != first.commit);
  BOOST_TEST(c.counted.calls == 4);
}

// GitLab CI checks out https://gitlab-ci-token:<token>@gitlab.../x.git: the statement names the
// repository, never the token.
BOOST_AUTO_TEST_CASE(the_source_s_url_is_recorded_without_its_credentials) {
  TempDir dir;
  auto j = mai::test::spec_json(dir.path());
  j["provenance"] = provenance_json(dir);
  const auto spec = parse_spec(j, "spec.json");
  FakeRunner runner;
  runner.on({"-C", dir.path().string(), "rev-parse"}, {0, std::string(40, 'a') + "\n", ""});
  runner.on({"-C", dir.path().string(), "remote"}, {0, "https://gitlab-ci-token:glcbt-t0k3n@gitlab.example/team/app.git\n", ""});
  const auto source = source_revision(spec.provenance, runner, test_log());
  BOOST_TEST(source.uri == "git+https://gitlab.example/team/app.git");
  const auto statement =
      provenance_statement(spec, parse_platform("linux/amd64"), "sha256:" + std::string(64, 'b'), "", source, {});
  BOOST_TEST(statement.find("t0k3n") == std::string::npos, statement);
  BOOST_TEST(statement.find("gitlab-ci-token") == std::string::npos, statement);
}

// Without SOURCE_DATE_EPOCH the statement records no time: the clock would make each build's another
// one, and an unchanged image would gain a statement per build. With it, its time.
BOOST_AUTO_TEST_CASE(times_only_from_source_date_epoch) {
  TempDir dir;
  auto j = mai::test::spec_json(dir.path());
  j["provenance"] = provenance_json(dir);
  const auto platform = parse_platform("linux/amd64");
  const auto digest = "sha256:" + std::string(64, 'b');
  const auto undated = json::parse(provenance_statement(parse_spec(j, "spec.json"), platform, digest, "", {}, {}));
  BOOST_TEST(!undated.at("predicate").at("runDetails").as_object().contains("metadata"));
  j["provenance"].as_object()["source_date_epoch"] = 1700000000;
  const auto dated = json::parse(provenance_statement(parse_spec(j, "spec.json"), platform, digest, "", {}, {}));
  BOOST_TEST(dated.at("predicate").at("runDetails").at("metadata").at("startedOn").as_string() == "2023-11-14T22:13:20Z");
}

// An arm64 sub-build compiled with clang 14 is recorded as such, with its toolchain file's SHA-256 as
// the sub-build saw it when it last configured (built-with-<suffix>.json); the main build's own
// platform gets its own compiler; a platform none of our builds compiled for names none.
BOOST_AUTO_TEST_CASE(each_platform_names_what_compiled_it) {
  TempDir dir;
  auto j = mai::test::spec_json(dir.path());
  j["provenance"] = provenance_json(dir);
  const auto spec = parse_spec(j, "spec.json");
  dir.file("state/built-with-linux-arm64.json",
           R"({"compiler":"Clang 14.0.6","toolchain":{"file":"/src/arm64.cmake","sha256":")" + std::string(64, 'f') + R"("}})");
  dir.file("state/built-with-linux-amd64.json", R"({"compiler":"GNU 12.2.0"})");
  const auto digest = "sha256:" + std::string(64, 'b');
  const auto internal = [&](const char* platform) {
    const auto p = parse_platform(platform);
    const auto built = read_built_with(dir.path() / "state", p, test_log());
    return json::parse(provenance_statement(spec, p, digest, "", {}, built))
        .at("predicate")
        .at("buildDefinition")
        .at("internalParameters")
        .as_object();
  };
  const auto arm64 = internal("linux/arm64");
  BOOST_TEST(arm64.at("compiler").as_string() == "Clang 14.0.6");
  BOOST_TEST(arm64.at("toolchain").at("sha256").as_string() == std::string(64, 'f'));
  BOOST_TEST(arm64.at("toolchain").at("file").as_string() == "/src/arm64.cmake");
  const auto amd64 = internal("linux/amd64");
  BOOST_TEST(amd64.at("compiler").as_string() == "GNU 12.2.0");
  BOOST_TEST(!amd64.contains("toolchain"));
  const auto emulated = internal("linux/arm/v7");
  BOOST_TEST(!emulated.contains("compiler"));
  BOOST_TEST(emulated.at("cmake").at("version").as_string() == "3.25.1");
}

BOOST_AUTO_TEST_SUITE_END()
