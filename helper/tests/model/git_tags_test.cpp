#include "model/git_tags.hpp"

#include <boost/test/unit_test.hpp>

using namespace mai;
using Tags = std::vector<std::string>;

BOOST_AUTO_TEST_SUITE(git_tags)

BOOST_AUTO_TEST_CASE(a_commit_gets_its_sha_tag) {
  BOOST_TEST(derive_git_tags("abc1234", false, "", false) == Tags{"sha-abc1234"}, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_version_tag_gives_major_minor_and_patch_tags) {
  BOOST_TEST(derive_git_tags("abc1234", false, "v1.2.3", false) == (Tags{"sha-abc1234", "1.2.3", "1.2", "1"}),
             boost::test_tools::per_element());
  BOOST_TEST(derive_git_tags("abc1234", false, "v1.2.3", true).back() == "latest");
}

BOOST_AUTO_TEST_CASE(a_dirty_tree_is_marked_and_never_tagged_as_the_release) {
  BOOST_TEST(derive_git_tags("abc1234", true, "v1.2.3", true) == Tags{"sha-abc1234-dirty"}, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(tags_that_are_not_versions_add_nothing) {
  BOOST_TEST(derive_git_tags("abc1234", false, "v1.2", true).size() == 1u);
  BOOST_TEST(derive_git_tags("abc1234", false, "release-1", true).size() == 1u);
  BOOST_TEST(derive_git_tags("abc1234", false, "v1.2.3-rc1", true).size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
