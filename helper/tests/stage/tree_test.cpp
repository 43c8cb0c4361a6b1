#include "stage/tree.hpp"

#include <boost/test/unit_test.hpp>
#include <fstream>

#include "base/digest.hpp"
#include "base/error.hpp"
#include "support/test_support.hpp"

using namespace mai;
namespace fs = std::filesystem;

BOOST_AUTO_TEST_SUITE(tree)

namespace {
// This process's peak resident set since the last reset_peak_rss(), in bytes (Linux: VmHWM, which
// writing 5 to clear_refs resets), so what earlier tests used does not count.
void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }
std::size_t peak_rss() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.starts_with("VmHWM:")) return std::stoull(line.substr(6)) * 1024;
  BOOST_FAIL("no VmHWM in /proc/self/status");
  return 0;
}
}  // namespace

BOOST_AUTO_TEST_CASE(a_link_that_became_a_directory_is_replaced_not_written_through) {
  mai::test::TempDir dir;
  const auto root = dir.path() / "stage";
  const auto source = dir.file("src/x", "x");
  // An earlier stage left `foo -> bar` (inside) and `esc -> ../../outside` (out of the stage tree).
  fs::create_directories(root / "bar");
  fs::create_directories(dir.path() / "outside");
  fs::create_directory_symlink("bar", root / "foo");
  fs::create_directory_symlink("../outside", root / "esc");
  fs::create_directories(root / "deep");
  fs::create_directory_symlink("../../outside", root / "deep/link");
  BOOST_TEST(sync_file(source, root / "foo/x", root).written);
  BOOST_TEST(sync_file(source, root / "esc/pwned", root).written);
  BOOST_TEST(sync_file(source, root / "deep/link/sub/pwned", root).written);
  BOOST_TEST(fs::is_directory(fs::symlink_status(root / "foo")));
  BOOST_TEST(fs::is_directory(fs::symlink_status(root / "esc")));
  BOOST_TEST(fs::is_directory(fs::symlink_status(root / "deep/link")));
  BOOST_TEST(mai::test::read(root / "foo/x") == "x");
  BOOST_TEST(fs::is_empty(root / "bar"));
  BOOST_TEST(fs::is_empty(dir.path() / "outside"));  // nothing written through a link
  // A file where a directory is now wanted, and a directory where a file is.
  mai::test::TempDir other;
  other.file("stage/f", "plain file");
  BOOST_TEST(sync_file(source, other.path() / "stage/f/x", other.path() / "stage").written);
  other.file("stage/d/inner", "inner");
  BOOST_TEST(sync_file(source, other.path() / "stage/d", other.path() / "stage").written);
  BOOST_TEST(mai::test::read(other.path() / "stage/d") == "x");
}

BOOST_AUTO_TEST_CASE(an_unchanged_file_is_compared_not_written_and_a_patch_is_applied_on_the_way) {
  mai::test::TempDir dir;
  const auto root = dir.path() / "stage";
  std::string content(3 * (1 << 20) + 17, 'a');  // pieces of 1 MiB and a tail
  const auto source = dir.file("src/f", content);
  const std::vector<BytePatch> patches{{(1 << 20) - 2, "XYZW"}, {content.size() - 1, "!"}};
  const auto first = sync_file(source, root / "f", root, patches);
  BOOST_TEST(first.written);
  auto expected = content;
  expected.replace((1 << 20) - 2, 4, "XYZW");
  expected.back() = '!';
  BOOST_TEST(mai::test::read(root / "f") == expected);
  BOOST_TEST(first.sha256 == sha256_digest(expected));
  const auto time = fs::last_write_time(root / "f");
  const auto second = sync_file(source, root / "f", root, patches);
  BOOST_TEST(!second.written);
  BOOST_TEST(second.sha256 == first.sha256);
  BOOST_TEST((fs::last_write_time(root / "f") == time));
  BOOST_TEST(sync_file(source, root / "f", root).written);  // without the patches the content differs
  BOOST_TEST(mai::test::read(root / "f") == content);
  // Same content, the execute bit gained: written (the layer's mode changes).
  fs::permissions(source, fs::perms::owner_exec, fs::perm_options::add);
  BOOST_TEST(sync_file(source, root / "f", root).written);
  BOOST_TEST(((fs::status(root / "f").permissions() & fs::perms::owner_exec) != fs::perms::none));
}

// Issue 22, item 15: a 1 GiB installed file took 1.97 GB of memory to stage. Streamed, staging it (a
// copy, then a comparison on the rerun) costs a buffer: the peak stays far below the file's size
// (read whole, it would grow by the size, twice over for the comparison).
BOOST_AUTO_TEST_CASE(a_large_file_is_staged_in_pieces_not_read_whole) {
  mai::test::TempDir dir;
  const auto source = dir.path() / "big.bin";
  constexpr std::uintmax_t size = std::uintmax_t{256} << 20;
  { std::ofstream(source) << "start"; }
  fs::resize_file(source, size);  // sparse: no disk space for the source itself
  reset_peak_rss();
  const auto before = peak_rss();
  const auto root = dir.path() / "stage";
  const auto copied = sync_file(source, root / "usr/share/big.bin", root);
  const auto compared = sync_file(source, root / "usr/share/big.bin", root);
  const auto grown = peak_rss() - before;
  BOOST_TEST(copied.written);
  BOOST_TEST(!compared.written);
  BOOST_TEST(fs::file_size(root / "usr/share/big.bin") == size);
  BOOST_TEST(copied.sha256 == compared.sha256);
  BOOST_TEST(grown < std::size_t{32} << 20,
             "the peak grew by " << (grown >> 20) << " MiB for a file of " << (size >> 20) << " MiB");
}

BOOST_AUTO_TEST_SUITE_END()
