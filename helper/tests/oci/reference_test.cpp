#include "oci/reference.hpp"

#include <boost/test/unit_test.hpp>

#include "base/error.hpp"
#include "support/test_support.hpp"

using namespace mai;

namespace {
using mai::test::error_of;
}  // namespace

BOOST_AUTO_TEST_SUITE(reference)

BOOST_AUTO_TEST_CASE(splits_registry_and_path) {
  auto r = parse_repository("registry.example.com/team/hello");
  BOOST_TEST(r.registry == "registry.example.com");
  BOOST_TEST(r.path == "team/hello");
  r = parse_repository("127.0.0.1:5000/demo/hello");
  BOOST_TEST(r.registry == "127.0.0.1:5000");
  r = parse_repository("library/hello");
  BOOST_TEST(r.registry == "docker.io");
  BOOST_TEST(r.path == "library/hello");
  r = parse_repository("localhost/a");
  BOOST_TEST(r.registry == "localhost");
  r = parse_repository("[::1]:5000/a/b-c__d.e");
  BOOST_TEST(r.registry == "[::1]:5000");
}

BOOST_AUTO_TEST_CASE(loopback_registries_are_recognised) {
  BOOST_TEST(parse_repository("127.0.0.1:5000/a").loopback());
  BOOST_TEST(parse_repository("127.3.4.5/a").loopback());
  BOOST_TEST(parse_repository("localhost:5000/a").loopback());
  BOOST_TEST(parse_repository("[::1]:5000/a").loopback());
  BOOST_TEST(!parse_repository("registry.example.com/a").loopback());
  BOOST_TEST(!parse_repository("128.0.0.1/a").loopback());
  BOOST_TEST(!parse_repository("127.0.0.1.example.com/a").loopback());
}

BOOST_AUTO_TEST_CASE(rejects_bad_repositories_with_the_reason) {
  BOOST_TEST(error_of([] { parse_repository("registry.example.com/Team/hello"); }).find("uppercase") != std::string::npos);
  BOOST_TEST(error_of([] { parse_repository("registry.example.com/team/hello:1.0"); }).find("contains a tag") !=
             std::string::npos);
  BOOST_TEST(error_of([] { parse_repository("registry.example.com/team/hello@sha256:00"); }).find("digest") != std::string::npos);
  BOOST_TEST(error_of([] { parse_repository("registry.example.com:99999/a"); }).find("from 1 to 65535") != std::string::npos);
  BOOST_TEST(error_of([] { parse_repository("registry.example.com:/a"); }).find("port") != std::string::npos);
  BOOST_TEST(error_of([] { parse_repository("registry.example.com//a"); }).find("empty path component") != std::string::npos);
  BOOST_TEST(error_of([] { parse_repository("r.example.com/a--/b"); }).find("bad path component") != std::string::npos);
  BOOST_TEST(error_of([] { parse_repository("-bad.example.com/a"); }).find("bad registry host") != std::string::npos);
  BOOST_TEST(error_of([] { parse_repository(""); }).find("empty") != std::string::npos);
  BOOST_TEST(error_of([] { parse_repository(std::string(256, 'a')); }).find("255") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(tags_follow_the_grammar) {
  BOOST_CHECK_NO_THROW(validate_tag("1.2.0"));
  BOOST_CHECK_NO_THROW(validate_tag("v1_RC-2"));
  BOOST_CHECK_NO_THROW(validate_tag(std::string(128, 'a')));
  BOOST_TEST(error_of([] { validate_tag(std::string(129, 'a')); }).find("128") != std::string::npos);
  BOOST_TEST(error_of([] { validate_tag("a/b"); }).find("'/'") != std::string::npos);
  BOOST_TEST(error_of([] { validate_tag(".a"); }).find("starts with") != std::string::npos);
  BOOST_TEST(error_of([] { validate_tag(""); }).find("empty") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(digests_are_sha256_hex) {
  BOOST_CHECK_NO_THROW(validate_digest("sha256:" + std::string(64, 'a')));
  BOOST_CHECK_THROW(validate_digest("sha256:" + std::string(63, 'a')), Error);
  BOOST_CHECK_THROW(validate_digest("sha256:" + std::string(64, 'A')), Error);
  BOOST_CHECK_THROW(validate_digest("md5:" + std::string(64, 'a')), Error);
}

BOOST_AUTO_TEST_SUITE_END()
