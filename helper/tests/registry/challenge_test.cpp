#include "registry/challenge.hpp"

#include <boost/test/unit_test.hpp>

using namespace mai;

BOOST_AUTO_TEST_SUITE(challenges)

BOOST_AUTO_TEST_CASE(bearer_with_quoted_commas_and_escapes) {
  const auto c = parse_challenges(
      R"(Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push", error="x \"y\"")");
  BOOST_REQUIRE(c.size() == 1u);
  BOOST_TEST(c[0].scheme == "bearer");
  BOOST_TEST(c[0].params.at("realm") == "https://auth.example.com/token");
  BOOST_TEST(c[0].params.at("scope") == "repository:a/b:pull,push");
  BOOST_TEST(c[0].params.at("error") == "x \"y\"");
}

BOOST_AUTO_TEST_CASE(several_challenges_in_one_header_and_token_values) {
  const auto c = parse_challenges(R"(Basic realm="Registry Realm", charset=UTF-8, Bearer realm=https://a/t,service=s)");
  BOOST_REQUIRE(c.size() == 2u);
  BOOST_TEST(c[0].scheme == "basic");
  BOOST_TEST(c[0].params.at("realm") == "Registry Realm");
  BOOST_TEST(c[0].params.at("charset") == "UTF-8");
  BOOST_TEST(c[1].scheme == "bearer");
  BOOST_TEST(c[1].params.at("realm") == "https://a/t");
  BOOST_TEST(c[1].params.at("service") == "s");
}

BOOST_AUTO_TEST_CASE(malformed_text_yields_what_could_be_read) {
  BOOST_TEST(parse_challenges("").empty());
  BOOST_TEST(parse_challenges("Bearer realm=\"unterminated").at(0).params.at("realm") == "unterminated");
  BOOST_TEST(parse_challenges("Negotiate abc==").at(0).scheme == "negotiate");
}

BOOST_AUTO_TEST_SUITE_END()
