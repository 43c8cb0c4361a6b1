// Layers the helper writes itself: reproducible bytes, a tar that tar reads back (PAX for long
// names, parents present, sorted), and hostile input refused.
#include "image/layer.hpp"

#include <boost/test/unit_test.hpp>
#include <filesystem>

#include "base/error.hpp"
#include "base/files.hpp"
#include "support/tar_reader.hpp"
#include "support/test_support.hpp"

using namespace mai;
using mai::test::entries_of;
using mai::test::error_of;
using mai::test::gunzip;
using mai::test::TarEntry;
using mai::test::test_log;

BOOST_AUTO_TEST_SUITE(layers)

BOOST_AUTO_TEST_CASE(the_same_files_give_the_same_bytes_whatever_their_times) {
  mai::test::TempDir dir;
  const auto a = dir.file("src/a.txt", "alpha\n");
  const auto b = dir.script("src/run", "echo b\n");
  const std::vector<LayerEntry> entries{{"usr/local/bin/run", LayerEntry::Kind::file, b, {}, true},
                                        {"etc/a.txt", LayerEntry::Kind::file, a, {}, false}};
  const auto first = write_layer(entries, 1700000000, dir.path() / "blobs", "test");
  std::filesystem::last_write_time(a, std::filesystem::file_time_type::clock::now() - std::chrono::hours(48));
  const auto second = write_layer(entries, 1700000000, dir.path() / "blobs", "test");
  BOOST_TEST(first.blob.digest == second.blob.digest);
  BOOST_TEST(first.diff_id == second.diff_id);
  BOOST_TEST(write_layer(entries, 0, dir.path() / "blobs", "test").diff_id != first.diff_id);  // another epoch

  const auto packed = read_text_file(dir.path() / "blobs" / first.blob.digest.substr(7));
  BOOST_TEST(packed.substr(0, 3) == std::string("\x1f\x8b\x08", 3));
  BOOST_TEST(packed.substr(4, 4) == std::string(4, '\0'));  // gzip mtime 0
  const auto tar = entries_of(gunzip(packed));
  std::vector<std::string> names;
  for (const auto& e : tar) names.push_back(e.name);
  BOOST_TEST(
      names == (std::vector<std::string>{"etc/", "etc/a.txt", "usr/", "usr/local/", "usr/local/bin/", "usr/local/bin/run"}),
      boost::test_tools::per_element());
  BOOST_TEST(tar[1].body == "alpha\n");
}

// A time a tar header cannot hold (past 8^11 - 1 seconds) was cut to its low bits; the spec refuses such a
// SOURCE_DATE_EPOCH (spec/source_date_epoch_is_whole_seconds_a_tar_header_can_hold), the writer too.
BOOST_AUTO_TEST_CASE(a_time_a_tar_header_cannot_hold_is_refused) {
  mai::test::TempDir dir;
  const auto f = dir.file("f", "x");
  const auto layer =
      write_layer({{"etc/f", LayerEntry::Kind::file, f, {}, false}}, kLatestSourceDateEpoch, dir.path() / "blobs", "t");
  const auto tar = entries_of(gunzip(read_text_file(dir.path() / "blobs" / layer.blob.digest.substr(7))));
  BOOST_TEST(tar.at(0).mtime == kLatestSourceDateEpoch);
  BOOST_TEST(
      error_of([&] {
        write_layer({{"etc/f", LayerEntry::Kind::file, f, {}, false}}, kLatestSourceDateEpoch + 1, dir.path() / "blobs", "t");
      }) == "a layer's time of 8589934592 seconds is later than a tar header holds (8589934591)");
}

BOOST_AUTO_TEST_CASE(long_names_and_link_targets_get_pax_records) {
  mai::test::TempDir dir;
  const std::string deep = "usr/share/" + std::string(120, 'd') + "/file.txt";
  const std::string target = std::string(130, 't');
  const auto f = dir.file("f", "x");
  const auto layer =
      write_layer({{deep, LayerEntry::Kind::file, f, {}, false}, {"usr/link", LayerEntry::Kind::symlink, {}, target, false}}, 0,
                  dir.path() / "blobs", "test");
  const auto raw = gunzip(read_text_file(dir.path() / "blobs" / layer.blob.digest.substr(7)));
  BOOST_TEST(raw.find(" linkpath=" + target + "\n") != std::string::npos);
  const auto tar = entries_of(raw);
  BOOST_TEST(std::any_of(tar.begin(), tar.end(), [&](const TarEntry& e) { return e.name == deep && e.type == '0'; }));
  BOOST_TEST(std::any_of(tar.begin(), tar.end(),
                         [&](const TarEntry& e) { return e.name == "usr/share/" + std::string(120, 'd') + "/"; }));
}

BOOST_AUTO_TEST_CASE(paths_out_of_the_image_and_twice_the_same_path_are_refused) {
  mai::test::TempDir dir;
  const auto f = dir.file("f", "x");
  for (const auto* bad : {"../etc/passwd", "/etc/passwd", "usr/../../x", "usr//x", "usr/./x"})
    BOOST_TEST(error_of([&] {
                 write_layer({{bad, LayerEntry::Kind::file, f, {}, false}}, 0, dir.path() / "blobs", "t");
               }).find("is not a relative path inside the image") != std::string::npos,
               bad);
  BOOST_TEST(error_of([&] {
               write_layer({{"a/x", LayerEntry::Kind::file, f, {}, false}, {"a/x", LayerEntry::Kind::file, f, {}, false}}, 0,
                           dir.path() / "blobs", "t");
             }).find("two files for /a/x") != std::string::npos);
  const bool nothing_stored = !std::filesystem::exists(dir.path() / "blobs") ||
                              std::filesystem::directory_iterator(dir.path() / "blobs") == std::filesystem::directory_iterator();
  BOOST_TEST(nothing_stored);
}

BOOST_AUTO_TEST_SUITE_END()
