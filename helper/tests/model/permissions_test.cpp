// Owners, modes and capabilities as the spec gives them: parsed, refused with the rule they break,
// and the capability attribute's bytes as setcap writes them.
#include "model/permissions.hpp"

#include <boost/test/unit_test.hpp>

#include "support/test_support.hpp"

using namespace mai;
using mai::test::error_of;

BOOST_AUTO_TEST_SUITE(permissions)

BOOST_AUTO_TEST_CASE(owners_are_numeric_ids_or_the_essential_accounts) {
  BOOST_TEST((parse_owner("65532:65532", "OWNER") == std::pair<std::uint32_t, std::uint32_t>{65532, 65532}));
  BOOST_TEST((parse_owner("1000", "OWNER") == std::pair<std::uint32_t, std::uint32_t>{1000, 1000}));  // as COPY --chown
  BOOST_TEST((parse_owner("nonroot:root", "OWNER") == std::pair<std::uint32_t, std::uint32_t>{65532, 0}));
  BOOST_TEST((parse_owner("nobody", "OWNER") == std::pair<std::uint32_t, std::uint32_t>{65534, 65534}));
  BOOST_TEST((parse_owner("4294967294", "OWNER").first == 4294967294U));
  for (const auto* bad : {"", "app", "-1", "4294967295", "1:", ":1", "1:2:3", "12345678901"})
    BOOST_TEST(error_of([&] { parse_owner(bad, "OWNER"); }).find("is not <user>[:<group>]") != std::string::npos, bad);
}

BOOST_AUTO_TEST_CASE(modes_are_octal_up_to_7777) {
  BOOST_TEST(parse_mode("0750", "MODE") == 0750U);
  BOOST_TEST(parse_mode("4755", "MODE") == 04755U);
  BOOST_TEST(parse_mode("01777", "MODE") == 01777U);
  BOOST_TEST(parse_mode("644", "MODE") == 0644U);
  for (const auto* bad : {"", "08", "17777", "0x1ff", "rwx", "-1", "755 "})
    BOOST_TEST(error_of([&] { parse_mode(bad, "MODE"); }).find("is not an octal mode from 0000 to 7777") != std::string::npos,
               bad);
  BOOST_TEST(parse_mode("0", "MODE") == 0U);
  BOOST_TEST(error_of([&] { parse_mode("10000", "FILES entry `a=/b`: MODE"); }) ==
             "FILES entry `a=/b`: MODE `10000` is not an octal mode from 0000 to 7777 (valid: e.g. 0644, 0750, 4755 for setuid, "
             "1777 for a sticky directory)");
}

BOOST_AUTO_TEST_CASE(capabilities_are_the_kernels_names) {
  BOOST_TEST(parse_capabilities("cap_net_bind_service", "C") == std::uint64_t{1} << 10);
  BOOST_TEST(parse_capabilities("NET_BIND_SERVICE,cap_net_raw", "C") == ((std::uint64_t{1} << 10) | (std::uint64_t{1} << 13)));
  BOOST_TEST(parse_capabilities("cap_checkpoint_restore", "C") == std::uint64_t{1} << 40);
  BOOST_TEST(capability_names((std::uint64_t{1} << 13) | (std::uint64_t{1} << 10)) == "cap_net_bind_service,cap_net_raw");
  BOOST_TEST(error_of([] { parse_capabilities("cap_net_bind", "CAPABILITIES"); }) ==
             "CAPABILITIES `cap_net_bind` is not a Linux capability (valid: names such as cap_net_bind_service, cap_net_raw, "
             "cap_sys_nice, separated by commas)");
  BOOST_TEST(error_of([] { parse_capabilities("cap_chown,CHOWN", "C"); }) == "C names cap_chown twice");
  BOOST_TEST(error_of([] { parse_capabilities("cap_chown,", "C"); }).find("`` is not a Linux capability") != std::string::npos);
  BOOST_TEST(error_of([] { parse_capabilities("all", "C"); }).find("is not a Linux capability") != std::string::npos);
}

// The bytes `setcap cap_net_bind_service+ep` and `setcap cap_net_bind_service,cap_checkpoint_restore+ep`
// leave in security.capability on this machine (read back with os.getxattr).
BOOST_AUTO_TEST_CASE(the_capability_attribute_is_what_setcap_writes) {
  const auto hex = [](const std::string& bytes) {
    std::string out;
    for (unsigned char c : bytes) {
      static const char* digits = "0123456789abcdef";
      out += digits[c >> 4];
      out += digits[c & 15];
    }
    return out;
  };
  BOOST_TEST(hex(capability_xattr(std::uint64_t{1} << 10)) == "0100000200040000000000000000000000000000");
  BOOST_TEST(hex(capability_xattr((std::uint64_t{1} << 10) | (std::uint64_t{1} << 40))) ==
             "0100000200040000000000000001000000000000");
}

BOOST_AUTO_TEST_CASE(combinations_without_meaning_or_with_a_hole_are_refused) {
  const auto with = [](const char* mode, std::uint64_t caps = 0) {
    Permissions p;
    p.mode = parse_mode(mode, "MODE");
    p.capabilities = caps;
    return p;
  };
  const auto refused = [](const Permissions& p, PathKind kind) { return error_of([&] { check_permissions(p, kind, "/x"); }); };
  BOOST_TEST(refused(with("4755"), PathKind::directory).find("setuid on a directory") != std::string::npos);
  BOOST_TEST(refused(with("2775"), PathKind::directory).empty());  // setgid directories inherit their group
  BOOST_TEST(refused(with("1777"), PathKind::directory).empty());
  BOOST_TEST(refused(with("1644"), PathKind::file).find("sticky bit on a file") != std::string::npos);
  BOOST_TEST(refused(with("4644"), PathKind::file).find("setuid on a file its owner may not execute") != std::string::npos);
  BOOST_TEST(refused(with("2745"), PathKind::file).find("setgid on a file its group may not execute") != std::string::npos);
  BOOST_TEST(refused(with("4777"), PathKind::file).find("writable by others than its owner") != std::string::npos);
  BOOST_TEST(refused(with("4755"), PathKind::file).empty());
  BOOST_TEST(refused(with("0644", 1U << 10), PathKind::file).find("on a file nobody may execute") != std::string::npos);
  BOOST_TEST(refused(with("0750", 1U << 10), PathKind::file).empty());
  BOOST_TEST(refused(with("0755", 1U << 10), PathKind::directory).find("a directory cannot have them") != std::string::npos);
  BOOST_TEST(refused(with("0644"), PathKind::symlink).find("a symbolic link has no mode") != std::string::npos);
  Permissions owner_only;
  owner_only.uid = owner_only.gid = 65532;
  BOOST_TEST(refused(owner_only, PathKind::symlink).empty());
  BOOST_TEST(mode_text(01777) == "1777");
  BOOST_TEST(mode_text(0750) == "0750");
}

BOOST_AUTO_TEST_SUITE_END()
