#include "stage/context.hpp"

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <set>

#include "support/test_support.hpp"

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
  BOOST_TEST(!rules.excluded("README.md"));     // re-included by the later exception
  BOOST_TEST(!rules.excluded("sub/notes.md"));  // * does not cross directories
  BOOST_TEST(rules.excluded("build"));
  BOOST_TEST(rules.excluded("build/x/y.txt"));  // a rule also matches everything below a directory
  BOOST_TEST(rules.excluded("a/b/c.o"));
  BOOST_TEST(rules.excluded("c.o"));  // ** matches zero directories
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

// Names Ninja or Make would misread (a trailing ':' taken for the rule's colon, a tab splitting a
// name, '#' or '$' mangled) are named through a symlink with a plain name; plain names, spaces
// included, are written as they are; symlinks are left to their directory.
BOOST_AUTO_TEST_CASE(depfile_names_every_input_so_that_ninja_and_make_read_it_back) {
  mai::test::TempDir dir;
  const auto depfile = dir.path() / "build/rec.d";
  const std::vector<std::filesystem::path> odd{dir.file("c/x:"),     dir.file("c/tab\there"), dir.file("c/back\\ slash"),
                                               dir.file("c/hash#1"), dir.file("c/dollar$x"),  dir.file("c/new\nline")};
  const auto plain = dir.file("c/with space-and_more.txt");
  std::filesystem::create_symlink("with space-and_more.txt", dir.path() / "c/link");
  auto inputs = odd;
  inputs.push_back(plain);
  inputs.push_back(dir.path() / "c/link");
  write_depfile(depfile, dir.path() / "build/rec.json", inputs);
  const auto text = mai::test::read(depfile);
  BOOST_TEST(text.find(" \\\n  " + std::string(dir.path() / "c/with\\ space-and_more.txt")) != std::string::npos, text);
  BOOST_TEST(text.find("link") == std::string::npos);
  const auto stand_ins = dir.path() / "build/rec.d.inputs";
  std::size_t links = 0;
  for (const auto& entry : std::filesystem::directory_iterator(stand_ins)) {
    ++links;
    const auto target = std::filesystem::read_symlink(entry.path());
    BOOST_TEST((std::find(odd.begin(), odd.end(), target) != odd.end()), target);
    BOOST_TEST(text.find(entry.path().string()) != std::string::npos);
  }
  BOOST_TEST(links == odd.size());
  for (const auto& p : odd) BOOST_TEST(text.find(p.filename().string()) == std::string::npos, p);
  // Stand-ins no longer needed go; the directory too when none is left.
  write_depfile(depfile, dir.path() / "build/rec.json", {plain});
  BOOST_TEST(!std::filesystem::exists(stand_ins));
}

BOOST_AUTO_TEST_CASE(a_trailing_double_star_spares_the_directory_itself) {
  const auto rules = IgnoreRules::parse("a/**\n");
  BOOST_TEST(!rules.excluded("a"));
  BOOST_TEST(rules.excluded("a/b"));
  BOOST_TEST(rules.excluded("a/b/c"));
  BOOST_TEST(IgnoreRules::parse("**\n").excluded("x"));
}

// BuildKit reads `<Dockerfile>.dockerignore` instead of the context's when there is one.
BOOST_AUTO_TEST_CASE(a_dockerfile_s_own_ignore_file_wins) {
  mai::test::TempDir dir;
  dir.file("ctx/.dockerignore", "*.txt\n");
  dir.file("ctx/a.txt");
  dir.file("ctx/b.log");
  dir.file("docker/app.Dockerfile", "FROM scratch");
  dir.file("docker/app.Dockerfile.dockerignore", "*.log\n");
  const auto ctx = dir.path() / "ctx";
  const auto rel = relative(context_inputs(ctx, dir.path() / "docker/app.Dockerfile", {}), ctx);
  BOOST_TEST(rel.count("a.txt") == 1u);
  BOOST_TEST(rel.count("b.log") == 0u);
  BOOST_TEST(rel.count("../docker/app.Dockerfile.dockerignore") == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
