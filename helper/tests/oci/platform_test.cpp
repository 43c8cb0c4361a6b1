#define BOOST_TEST_MODULE multiarch - image unit tests
#include "oci/platform.hpp"

#include <boost/test/unit_test.hpp>
#include <fstream>
#include <sstream>

#include "base/error.hpp"

using namespace mai;

BOOST_AUTO_TEST_SUITE(platform)

BOOST_AUTO_TEST_CASE(normalises_every_case_of_the_shared_table) {
  std::ifstream table(MULTIARCH_IMAGE_TEST_DATA "/platforms.txt");
  BOOST_REQUIRE(table);
  std::string line;
  int cases = 0;
  while (std::getline(table, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string input, expected;
    fields >> input >> expected;
    BOOST_TEST_CONTEXT("input " << input) {
      if (expected == "!error") {
        BOOST_CHECK_THROW(parse_platform(input), Error);
      } else {
        BOOST_TEST(parse_platform(input).str() == expected);
      }
    }
    ++cases;
  }
  BOOST_TEST(cases >= 30);
}

BOOST_AUTO_TEST_CASE(tag_and_target_suffixes_follow_the_manual_convention) {
  BOOST_TEST(parse_platform("linux/arm/v7").tag_suffix() == "armv7");
  BOOST_TEST(parse_platform("linux/amd64").tag_suffix() == "amd64");
  BOOST_TEST(parse_platform("linux/arm/v7").target_suffix() == "linux-arm-v7");
  BOOST_TEST(parse_platform("linux/aarch64").target_suffix() == "linux-arm64");
}

BOOST_AUTO_TEST_CASE(error_names_the_input_and_the_valid_forms) {
  try {
    parse_platform("linux/amd65");
    BOOST_FAIL("no error");
  } catch (const Error& e) {
    const std::string what = e.what();
    BOOST_TEST(what.find("'linux/amd65'") != std::string::npos);
    BOOST_TEST(what.find("unknown architecture 'amd65'") != std::string::npos);
    BOOST_TEST(what.find("valid: <os>/<arch>") != std::string::npos);
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(Exit::invalid_input));
  }
}

BOOST_AUTO_TEST_SUITE_END()
