#include "stage/install.hpp"

#include <boost/test/unit_test.hpp>
#include <set>

#include "support/test_support.hpp"

using namespace mai;
using mai::test::code_of;
using mai::test::error_of;
using mai::test::test_log;
namespace fs = std::filesystem;

BOOST_AUTO_TEST_SUITE(install_rules)

BOOST_AUTO_TEST_CASE(install_sources_are_the_files_the_install_scripts_copy) {
  mai::test::TempDir dir;
  const auto tree = dir.path() / "build";
  const auto data = dir.file("src/data/a.txt", "a").parent_path();
  dir.file("src/data/deeper/b.txt", "b");
  dir.file("build/sub/cmake_install.cmake",
           "if(CMAKE_INSTALL_COMPONENT STREQUAL \"data\" OR NOT CMAKE_INSTALL_COMPONENT)\n"
           "  file(INSTALL DESTINATION \"${CMAKE_INSTALL_PREFIX}/share/x\" TYPE DIRECTORY FILES \"" +
               data.string() + "\")\nendif()\n");
  dir.file(
      "build/cmake_install.cmake",
      "  file(INSTALL DESTINATION \"${CMAKE_INSTALL_PREFIX}/lib\" TYPE SHARED_LIBRARY FILES\n"
      "    \"" +
          tree.string() + "/libx.so.1.2\"\n    \"" + tree.string() +
          "/libx.so.1\"\n    )\n"
          "  file(INSTALL DESTINATION \"${CMAKE_INSTALL_PREFIX}/share\" TYPE FILE RENAME \"y\" FILES \"/src/a \\\"q\\\".txt\")\n"
          "  file(INSTALL DESTINATION \"${CMAKE_INSTALL_PREFIX}/bin\" TYPE EXECUTABLE FILES \"$ENV{X}/generated\")\n"
          "  include(\"" +
          (tree / "sub/cmake_install.cmake").string() + "\")\n");
  std::set<std::string> got;
  for (const auto& p : read_install_rules(tree, {}, "").sources) got.insert(p.lexically_relative(dir.path()).generic_string());
  const std::set<std::string> want{"build/cmake_install.cmake",
                                   "build/libx.so.1.2",
                                   "build/libx.so.1",
                                   "build/sub/cmake_install.cmake",
                                   "src/data",
                                   "src/data/a.txt",
                                   "src/data/deeper",
                                   "src/data/deeper/b.txt",
                                   "../../src/a \"q\".txt"};
  std::set<std::string> want_here;
  for (const auto& w : want)
    want_here.insert(w.starts_with("../../") ? fs::path("/src/a \"q\".txt").lexically_relative(dir.path()).generic_string() : w);
  BOOST_TEST((got == want_here));
}

namespace {
std::set<std::string> names(const std::vector<fs::path>& paths, const fs::path& base) {
  std::set<std::string> out;
  for (const auto& p : paths) out.insert(p.lexically_relative(base).generic_string());
  return out;
}
}  // namespace

// Issue 22: with Ninja Multi-Config every configuration's files were listed (a missing Debug program
// made every build rerun each stage), and an edit of one component's file restaged every INSTALL
// image of the tree. The scripts' conditions are evaluated as `cmake --install` would for the
// image's components and configuration; install(SCRIPT) files are listed, so an edit restages.
BOOST_AUTO_TEST_CASE(only_what_runs_for_the_image_s_components_and_configuration_is_listed) {
  mai::test::TempDir dir;
  const auto tree = dir.path() / "build";
  const auto script = dir.file("src/extra.cmake", "file(WRITE \"$ENV{DESTDIR}/x\" \"\")\n");
  const auto file = [&](const std::string& name) { return "\"" + (tree / name).string() + "\""; };
  dir.file("build/cmake_install.cmake",
           "if(NOT DEFINED CMAKE_INSTALL_CONFIG_NAME)\n  if(BUILD_TYPE)\n    string(REGEX REPLACE \"^[^A-Za-z0-9_]+\" \"\"\n"
           "           CMAKE_INSTALL_CONFIG_NAME \"${BUILD_TYPE}\")\n  else()\n    set(CMAKE_INSTALL_CONFIG_NAME \"Release\")\n"
           "  endif()\nendif()\n"
           "if(CMAKE_INSTALL_COMPONENT STREQUAL \"runtime\" OR NOT CMAKE_INSTALL_COMPONENT)\n"
           "  if(CMAKE_INSTALL_CONFIG_NAME MATCHES \"^([Dd][Ee][Bb][Uu][Gg])$\")\n"
           "    file(INSTALL DESTINATION \"${CMAKE_INSTALL_PREFIX}/bin\" TYPE EXECUTABLE FILES " +
               file("Debug/app") +
               ")\n"
               "  elseif(CMAKE_INSTALL_CONFIG_NAME MATCHES \"^([Rr][Ee][Ll][Ee][Aa][Ss][Ee])$\")\n"
               "    file(INSTALL DESTINATION \"${CMAKE_INSTALL_PREFIX}/bin\" TYPE EXECUTABLE FILES " +
               file("Release/app") +
               ")\n"
               "  endif()\n"
               "endif()\n"
               "# a comment: file(INSTALL DESTINATION \"/x\" FILES \"/commented\")\n"
               "if(CMAKE_INSTALL_COMPONENT STREQUAL \"notes\" OR NOT CMAKE_INSTALL_COMPONENT)\n"
               "  file(INSTALL DESTINATION \"/etc/notes\" TYPE FILE FILES " +
               file("notes.txt") +
               ")\n"
               "endif()\n"
               "if(CMAKE_INSTALL_COMPONENT STREQUAL \"dev\")\n"  // EXCLUDE_FROM_ALL: only when asked for
               "  file(INSTALL DESTINATION \"${CMAKE_INSTALL_PREFIX}/include\" TYPE FILE FILES " +
               file("x.h") +
               ")\n"
               "endif()\n"
               "if(CMAKE_INSTALL_COMPONENT STREQUAL \"runtime\" OR NOT CMAKE_INSTALL_COMPONENT)\n"
               "  include(\"" +
               script.string() +
               "\")\n"
               "  message([[ include(\"/not/a/call.cmake\") ]])\n"
               "endif()\n");
  const auto listed = [&](std::vector<std::string> components, const std::string& config) {
    return names(read_install_rules(tree, components, config).sources, dir.path());
  };
  using S = std::set<std::string>;
  BOOST_TEST((listed({"runtime"}, "Debug") == S{"build/cmake_install.cmake", "build/Debug/app", "src/extra.cmake"}));
  BOOST_TEST((listed({"runtime"}, "") == S{"build/cmake_install.cmake", "build/Release/app", "src/extra.cmake"}));
  BOOST_TEST((listed({"notes"}, "Release") == S{"build/cmake_install.cmake", "build/notes.txt"}));
  BOOST_TEST((listed({"notes", "dev"}, "Release") == S{"build/cmake_install.cmake", "build/notes.txt", "build/x.h"}));
  BOOST_TEST(
      (listed({}, "Release") == S{"build/cmake_install.cmake", "build/Release/app", "build/notes.txt", "src/extra.cmake"}));
  const auto rules = read_install_rules(tree, {"notes"}, "Release");
  BOOST_TEST_REQUIRE(rules.destinations.size() == 1u);
  BOOST_TEST(rules.destinations[0].text == "/etc/notes");
}

BOOST_AUTO_TEST_CASE(destinations_that_climb_above_the_root_are_told_apart) {
  BOOST_TEST(!destination_leaving_the_root("${CMAKE_INSTALL_PREFIX}/share/x", "/usr/local"));
  BOOST_TEST(!destination_leaving_the_root("/etc/app", "/usr/local"));
  BOOST_TEST(!destination_leaving_the_root("${CMAKE_INSTALL_PREFIX}/../../etc", "/usr/local"));  // /etc: inside
  BOOST_TEST(*destination_leaving_the_root("${CMAKE_INSTALL_PREFIX}/../../../etc", "/usr/local") ==
             "${CMAKE_INSTALL_PREFIX}/../../../etc");
  BOOST_TEST(destination_leaving_the_root("/../tmp", "/usr").has_value());
  BOOST_TEST(!destination_leaving_the_root("${SOMETHING}/../../../..", "/usr"));  // cannot tell
}

BOOST_AUTO_TEST_SUITE_END()
