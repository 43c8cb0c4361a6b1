// The step log's promise: every line a step prints, warnings and nested steps included, starts with
// "[<name> <platform>]" ("[<name>]" for the image's own steps).
#include "base/log.hpp"

#include <boost/test/unit_test.hpp>

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
