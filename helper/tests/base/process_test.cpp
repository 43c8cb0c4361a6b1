// ProcessRunner against real child processes: retries, permanent failures and timeouts.
#include "base/process.hpp"

#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <set>
#include <sstream>

#include "base/error.hpp"
#include "base/files.hpp"
#include "base/log.hpp"
#include "base/retry.hpp"
#include "base/runner.hpp"
#include "support/test_support.hpp"

using namespace mai;
using mai::test::test_log;

namespace {

// A script that counts its runs in `counter` and fails (printing `failure`) until run `succeed_on`.
std::filesystem::path flaky(const mai::test::TempDir& dir, int succeed_on, const std::string& failure) {
  const auto counter = dir.path() / "runs";
  return dir.script("flaky", "echo run >>'" + counter.string() + "'\n" + "[ $(wc -l <'" + counter.string() + "') -ge " +
                                 std::to_string(succeed_on) + " ] && exit 0\necho '" + failure + "' >&2\nexit 1\n");
}

std::size_t runs(const mai::test::TempDir& dir) {
  const auto text = read_text_file(dir.path() / "runs");
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

RetryPolicy quick(int tries) { return {tries, std::chrono::milliseconds(10), std::chrono::seconds(1)}; }

}  // namespace

BOOST_AUTO_TEST_SUITE(process)

BOOST_AUTO_TEST_CASE(registry_commands_are_retried_until_they_succeed) {
  mai::test::TempDir dir;
  ProcessRunner runner(quick(5));
  Command c{{flaky(dir, 3, "connection reset by peer").string()}};
  c.registry = true;
  BOOST_TEST(runner.run(c, Output::capture, test_log()).ok());
  BOOST_TEST(runs(dir) == 3u);
}

BOOST_AUTO_TEST_CASE(retries_stop_after_the_configured_tries) {
  mai::test::TempDir dir;
  ProcessRunner runner(quick(2));
  Command c{{flaky(dir, 10, "503 Service Unavailable").string()}};
  c.registry = true;
  BOOST_TEST(!runner.run(c, Output::capture, test_log()).ok());
  BOOST_TEST(runs(dir) == 2u);
}

BOOST_AUTO_TEST_CASE(permanent_answers_are_not_retried) {
  mai::test::TempDir dir;
  ProcessRunner runner(quick(5));
  Command c{{flaky(dir, 10, "unauthorized: authentication required").string()}};
  c.registry = true;
  BOOST_TEST(!runner.run(c, Output::capture, test_log()).ok());
  BOOST_TEST(runs(dir) == 1u);
}

// An engine's push refused for the rate of requests (docker prints no Retry-After): the registry is
// asked how long to wait, and after that wait the push goes again without spending an attempt of the
// policy; when the registry names no wait, the policy's backoff decides, attempts counted.
BOOST_AUTO_TEST_CASE(a_push_refused_for_the_rate_of_requests_goes_again_after_the_registry_s_wait) {
  for (const auto* refusal : {"toomanyrequests: You have reached your pull rate limit.",
                              "error parsing HTTP 429 response body: unexpected end of JSON input: \"\""}) {
    mai::test::TempDir dir;
    ProcessRunner runner(quick(2));
    Command c{{flaky(dir, 4, refusal).string()}};
    c.registry = true;
    int asked = 0;
    c.on_rate_limit = [&] { return ++asked > 0; };
    BOOST_TEST(runner.run(c, Output::capture, test_log()).ok(), refusal);
    BOOST_TEST(runs(dir) == 4u);  // two policy attempts would have ended it at 2
    BOOST_TEST(asked == 3);
  }
  mai::test::TempDir dir;
  ProcessRunner runner(quick(2));
  Command c{{flaky(dir, 4, "toomanyrequests: slow down").string()}};
  c.registry = true;
  int asked = 0;
  c.on_rate_limit = [&] { return ++asked < 0; };  // the registry names no wait
  BOOST_TEST(!runner.run(c, Output::capture, test_log()).ok());
  BOOST_TEST(runs(dir) == 2u);
  BOOST_TEST(asked == 2);
  // A repository named like a rate limit is no rate limit: a reset is retried on the policy's clock.
  {
    mai::test::TempDir named;
    ProcessRunner runner(quick(3));
    Command c{
        {flaky(named, 3, "The push refers to repository [127.0.0.1:5000/team/api-429]; connection reset by peer").string()}};
    c.registry = true;
    c.names = {"127.0.0.1:5000/team/api-429", "127.0.0.1:5000", "team/api-429", "1.0-amd64"};
    int asked = 0;
    c.on_rate_limit = [&] { return ++asked > 0; };
    BOOST_TEST(runner.run(c, Output::capture, test_log()).ok());
    BOOST_TEST(asked == 0);
  }
  BOOST_TEST(rate_limit_refusal("received unexpected HTTP status: 429 Too Many Requests"));
  BOOST_TEST(!rate_limit_refusal("received unexpected HTTP status: 503 Service Unavailable"));
  BOOST_TEST(!rate_limit_refusal("blob sha256:4290aa unknown"));
}

BOOST_AUTO_TEST_CASE(commands_that_do_not_talk_to_a_registry_run_once) {
  mai::test::TempDir dir;
  ProcessRunner runner(quick(5));
  BOOST_TEST(!runner.run({{flaky(dir, 3, "build failed").string()}}, Output::capture, test_log()).ok());
  BOOST_TEST(runs(dir) == 1u);
}

BOOST_AUTO_TEST_CASE(a_registry_command_that_stalls_is_stopped_at_the_timeout) {
  mai::test::TempDir dir;
  const auto script = dir.script("stall", "sleep 30\n");
  ProcessRunner runner({1, std::chrono::milliseconds(10), std::chrono::seconds(1)});
  Command c{{script.string()}};
  c.registry = true;
  const auto start = std::chrono::steady_clock::now();
  const auto r = runner.run(c, Output::capture, test_log());
  const auto took = std::chrono::steady_clock::now() - start;
  BOOST_TEST(r.timed_out);
  BOOST_TEST(!r.ok());
  BOOST_TEST(r.tail.find("MULTIARCH_IMAGE_TIMEOUT") != std::string::npos);
  BOOST_TEST(took < std::chrono::seconds(10));  // the sleeping grandchild went with its group
}

// What a child is given on stdin (a credential helper's question and answer go there) reaches it
// there alone: not its argv, not its environment, not the messages that describe the command. The
// child fails and is retried, so the retry warning and the failure's tail are written too.
BOOST_AUTO_TEST_CASE(secrets_go_through_stdin_never_argv) {
  mai::test::TempDir dir;
  const auto seen = [&](const std::string& what) { return (dir.path() / what).string(); };
  const auto script = dir.script("child", "tr '\\0' '\\n' </proc/$$/cmdline >'" + seen("argv") + "'\n" +
                                              "tr '\\0' '\\n' </proc/$$/environ >'" + seen("environ") + "'\n" + "cat >'" +
                                              seen("stdin") + "'\n" + "echo 'connection reset by peer' >&2\nexit 1\n");
  std::vector<std::string> lines;
  const Log log("secret", "", [&](std::string_view line, bool) { lines.emplace_back(line); });
  ProcessRunner runner(quick(2));
  Command c{{script.string(), "get"}};
  c.input = "s3cret-on-stdin\n";
  c.registry = true;
  const auto r = runner.run(c, Output::capture, log);
  BOOST_TEST(!r.ok());
  BOOST_TEST(mai::test::read(seen("stdin")) == "s3cret-on-stdin\n");
  const auto argv = mai::test::read(seen("argv"));
  BOOST_TEST(argv.find("get") != std::string::npos, argv);  // what the child was given is what was read
  BOOST_TEST(argv.find("s3cret") == std::string::npos, argv);
  BOOST_TEST(mai::test::read(seen("environ")).find("s3cret") == std::string::npos);
  BOOST_TEST_REQUIRE(!lines.empty());  // the retry warning, naming the command
  for (const auto& line : lines) BOOST_TEST(line.find("s3cret") == std::string::npos, line);
  BOOST_TEST(r.tail.find("s3cret") == std::string::npos, r.tail);
  BOOST_TEST(describe(c).find("s3cret") == std::string::npos);
}

// A child that exits without reading its input (a credential helper with nothing stored does) fails as
// itself; more input than a pipe holds makes the write meet the closed pipe every time.
BOOST_AUTO_TEST_CASE(a_child_that_ignores_its_input_is_an_ordinary_failure) {
  mai::test::TempDir dir;
  const auto script = dir.script("refuse", "echo 'credentials not found'\nexit 1\n");
  ProcessRunner runner;
  Command c{{script.string()}};
  c.input = std::string(1 << 20, 'x');
  const auto r = runner.run(c, Output::capture, test_log());
  BOOST_TEST(r.exit_code == 1);
  BOOST_TEST(r.out == "credentials not found\n");
}

// Children get SIGPIPE's default back: `producer | head` in an engine's scripts must still end.
BOOST_AUTO_TEST_CASE(children_do_not_inherit_an_ignored_sigpipe) {
  mai::test::TempDir dir;
  const auto script = dir.script("mask", "sed -n 's/^SigIgn:[[:space:]]*//p' /proc/$$/status\n");
  ProcessRunner runner;
  const auto r = runner.run({{script.string()}}, Output::capture, test_log());
  BOOST_REQUIRE(r.ok());
  const auto ignored = std::stoull(r.out, nullptr, 16);
  BOOST_TEST((ignored & (1ull << (SIGPIPE - 1))) == 0u);
}

// A credential helper must not hold the registry connection the helper has open: children get
// stdin, stdout and stderr, and none of the descriptors this process opened without FD_CLOEXEC.
BOOST_AUTO_TEST_CASE(children_inherit_no_descriptor_but_the_standard_three) {
  mai::test::TempDir dir;
  int leaked[2];
  BOOST_REQUIRE(::pipe(leaked) == 0);  // no O_CLOEXEC, as Asio opens its sockets
  const auto script = dir.script("fds", "ls /proc/$$/fd\n");
  ProcessRunner runner;
  const auto r = runner.run({{script.string()}}, Output::capture, test_log());
  ::close(leaked[0]);
  ::close(leaked[1]);
  BOOST_REQUIRE(r.ok());
  std::istringstream listed(r.out);
  std::set<int> fds;
  for (int fd; listed >> fd;) fds.insert(fd);
  BOOST_TEST(fds.count(leaked[0]) == 0u, r.out);
  BOOST_TEST(fds.count(leaked[1]) == 0u, r.out);
  BOOST_TEST(fds.count(0) + fds.count(1) + fds.count(2) == 3u);
}

BOOST_AUTO_TEST_CASE(a_missing_executable_is_reported_as_such) {
  ProcessRunner runner;
  try {
    runner.run({{"/nonexistent/docker", "version"}}, Output::capture, test_log());
    BOOST_FAIL("no error");
  } catch (const Error& e) {
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(Exit::engine_missing));
    BOOST_TEST(std::string(e.what()).find("'/nonexistent/docker' was not found") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(permanent_failures_are_recognised) {
  BOOST_TEST(permanent_failure("unauthorized: authentication required"));
  BOOST_TEST(permanent_failure("denied: requested access to the resource is denied"));
  BOOST_TEST(permanent_failure("manifest unknown"));
  BOOST_TEST(permanent_failure("dial tcp: lookup registry.invalid: no such host"));
  BOOST_TEST(permanent_failure("x509: certificate signed by unknown authority"));
  BOOST_TEST(!permanent_failure("read: connection reset by peer"));
  BOOST_TEST(!permanent_failure("received unexpected HTTP status: 503 Service Unavailable"));
  BOOST_TEST(!permanent_failure("net/http: timeout awaiting response headers"));
}

BOOST_AUTO_TEST_SUITE_END()
