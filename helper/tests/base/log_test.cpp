// The step log's promise: every line a step prints, warnings and nested steps included, starts with
// "[<name> <platform>]" ("[<name>]" for the image's own steps).
#include "base/log.hpp"

#include <boost/test/unit_test.hpp>

#include "base/text.hpp"
#include "model/records.hpp"
#include "support/test_support.hpp"

using namespace mai;

namespace {

struct Captured {
  std::vector<std::pair<std::string, bool>> lines;
  Log log(const std::string& name, const std::string& platform = "") {
    return Log(name, platform, [this](std::string_view line, bool warning) { lines.emplace_back(line, warning); });
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(step_log)

BOOST_AUTO_TEST_CASE(lines_carry_the_image_and_platform) {
  Captured c;
  const auto image = c.log("hello");
  image.info("manifest started");
  image.for_platform("linux/arm/v7").warn("pushing it again");
  c.log("hello", "linux/amd64").info("build done");
  BOOST_TEST(c.lines.size() == 3u);
  BOOST_TEST(c.lines[0].first == "[hello] manifest started");
  BOOST_TEST(c.lines[1].first == "[hello linux/arm/v7] warning: pushing it again");
  BOOST_TEST(c.lines[1].second);
  BOOST_TEST(c.lines[2].first == "[hello linux/amd64] build done");
}

// GitLab CI's checkout has https://gitlab-ci-token:<token>@... as its remote; a build argument may be
// https://user:password@...: no line of a log carries such credentials, warnings and engine output
// included.
BOOST_AUTO_TEST_CASE(no_line_carries_a_url_s_credentials) {
  Captured c;
  const auto log = c.log("hello", "linux/amd64");
  log.info("git+https://gitlab-ci-token:glcbt-s3cr3t@gitlab.example/team/app.git at HEAD");
  log.warn("docker build --build-arg PIP_INDEX_URL=https://u:p%40ss@pypi.example/simple failed");
  BOOST_TEST(c.lines[0].first == "[hello linux/amd64] git+https://gitlab.example/team/app.git at HEAD");
  BOOST_TEST(c.lines[1].first ==
             "[hello linux/amd64] warning: docker build --build-arg PIP_INDEX_URL=https://pypi.example/simple failed");
}

BOOST_AUTO_TEST_CASE(userinfo_is_left_out_of_every_url_in_a_text) {
  const std::pair<const char*, const char*> cases[] = {
      {"https://oauth2:tok@host:8443/p?q=a@b#f", "https://host:8443/p?q=a@b#f"},
      {"ssh://git@host/x and http://a:b@c", "ssh://host/x and http://c"},
      {"git+https://t@h", "git+https://h"},
      {"user@example.com wrote https://host/a@b", "user@example.com wrote https://host/a@b"},  // no userinfo there
      {"https://h/x https://u:p@h2/y", "https://h/x https://h2/y"},
      {"://u@h", "://u@h"},  // no scheme: not a URL
      {"x://", "x://"},
      {"", ""},
  };
  for (const auto& [in, out] : cases) BOOST_TEST(without_userinfo(in) == out, in);
}

BOOST_AUTO_TEST_CASE(a_corrupt_record_is_reported_through_the_step_log) {
  mai::test::TempDir dir;
  Captured c;
  BOOST_TEST(!read_push_record(dir.file("push.json", "{\"format\": 1, \"kind\": \"pu"), c.log("hello", "linux/arm64")));
  BOOST_TEST(!read_push_record(dir.file("other.json", R"({"format": 1, "kind": "build"})"), c.log("hello", "linux/arm64")));
  BOOST_TEST(c.lines.size() == 2u);
  for (const auto& [line, warning] : c.lines) {
    BOOST_TEST(line.starts_with("[hello linux/arm64] warning: "), line);
    BOOST_TEST(warning);
  }
}

BOOST_AUTO_TEST_SUITE_END()
