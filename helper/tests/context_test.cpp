#include <boost/test/unit_test.hpp>
#include <set>

#include "context.hpp"
#include "test_support.hpp"

using namespace mai;

namespace {
std::set<std::string> relative(const std::vector<std::filesystem::path>& inputs, const std::filesystem::path& base) {
  std::set<std::string> out;
  for (const auto& p : inputs) out.insert(p.lexically_relative(base).generic_string());
  return out;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(context)

BOOST_AUTO_TEST_CASE(dockerignore_rules_match_like_moby) {
  const auto rules = IgnoreRules::parse("# comment\n*.md\n!README.md\nbuild\n**/*.o\n/tmp/*\n  docs/**/draft*  \n");
  BOOST_TEST(rules.excluded("notes.md"));
  BOOST_TEST(!rules.excluded("README.md"));    // re-included by the later exception
  BOOST_TEST(!rules.excluded("sub/notes.md"));  // * does not cross directories
  BOOST_TEST(rules.excluded("build"));
  BOOST_TEST(rules.excluded("build/x/y.txt"));  // a rule also matches everything below a directory
  BOOST_TEST(rules.excluded("a/b/c.o"));
  BOOST_TEST(rules.excluded("c.o"));            // ** matches zero directories
  BOOST_TEST(rules.excluded("tmp/file"));
  BOOST_TEST(rules.excluded("docs/a/b/draft-1.txt"));
  BOOST_TEST(!rules.excluded("docs/a/b/final.txt"));
  BOOST_TEST(!rules.excluded("src/main.cpp"));
  BOOST_TEST(rules.has_exceptions());
}

BOOST_AUTO_TEST_CASE(last_matching_rule_wins) {
  const auto rules = IgnoreRules::parse("!keep.txt\n*\n");
  BOOST_TEST(rules.excluded("keep.txt"));
  BOOST_TEST(!IgnoreRules::parse("*\n!keep.txt\n").excluded("keep.txt"));
}

BOOST_AUTO_TEST_CASE(inputs_list_sent_files_and_directories_only) {
  mai::test::TempDir dir;
  const auto ctx = dir.path() / "ctx";
  dir.file("ctx/Dockerfile", "FROM scratch");
  dir.file("ctx/.dockerignore", "ignored\n*.log\n");
  dir.file("ctx/src/a.cpp");
  dir.file("ctx/ignored/big.bin");
  dir.file("ctx/x.log");
  dir.file("ctx/build/CMakeCache.txt");
  const auto inputs = context_inputs(ctx, ctx / "Dockerfile", {ctx / "build"});
  const auto rel = relative(inputs, ctx);
  BOOST_TEST(rel.size() == inputs.size());  // nothing listed twice
  BOOST_TEST(rel.count("src/a.cpp") == 1u);
  BOOST_TEST(rel.count("src") == 1u);  // directories count: adding a file changes them
  BOOST_TEST(rel.count("Dockerfile") == 1u);
  BOOST_TEST(rel.count(".dockerignore") == 1u);
  BOOST_TEST(rel.count("ignored/big.bin") == 0u);
  BOOST_TEST(rel.count("ignored") == 0u);
  BOOST_TEST(rel.count("x.log") == 0u);
  BOOST_TEST(rel.count("build/CMakeCache.txt") == 0u);
}

BOOST_AUTO_TEST_CASE(exceptions_reach_into_excluded_directories) {
  mai::test::TempDir dir;
  dir.file("Dockerfile");
  dir.file(".dockerignore", "vendor\n!vendor/keep.h\n");
  dir.file("vendor/keep.h");
  dir.file("vendor/drop.h");
  const auto rel = relative(context_inputs(dir.path(), dir.path() / "Dockerfile", {}), dir.path());
  BOOST_TEST(rel.count("vendor/keep.h") == 1u);
  BOOST_TEST(rel.count("vendor/drop.h") == 0u);
}

BOOST_AUTO_TEST_CASE(depfile_escapes_spaces_hashes_and_dollars) {
  const auto text = render_depfile("/b/rec.json", {"/c/with space", "/c/hash#1", "/c/dollar$x", "/c/new\nline"});
  BOOST_TEST(text == "/b/rec.json: \\\n  /c/with\\ space \\\n  /c/hash\\#1 \\\n  /c/dollar$$x\n");
}

BOOST_AUTO_TEST_SUITE_END()
