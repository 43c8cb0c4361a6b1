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
  for (const auto& p : install_sources(tree)) got.insert(p.lexically_relative(dir.path()).generic_string());
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

BOOST_AUTO_TEST_SUITE_END()
