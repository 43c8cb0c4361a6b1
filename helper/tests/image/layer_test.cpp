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

namespace {

// A service's program: nonroot's (65532), 0750, allowed to bind ports below 1024 (cap_net_bind_service).
Permissions bind_service() {
  Permissions p;
  p.uid = p.gid = 65532;
  p.mode = 0750;
  p.capabilities = std::uint64_t{1} << 10;
  return p;
}

}  // namespace

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

// Owners, modes and capabilities reach the tar headers and PAX records that docker, containerd and
// GNU tar read; parents nobody gave stay root's 0755, a directory given with an owner keeps it.
BOOST_AUTO_TEST_CASE(owners_modes_and_capabilities_reach_the_tar_headers) {
  mai::test::TempDir dir;
  const auto program = dir.script("bind80", "exit 0\n");
  const auto service = bind_service();
  Permissions data_dir;
  data_dir.uid = data_dir.gid = 65532;
  data_dir.mode = 0700;
  Permissions tmp;
  tmp.mode = 01777;
  Permissions large;
  large.uid = 3000000;  // past a ustar header's octal field: a PAX record
  large.gid = 3000001;
  const std::vector<LayerEntry> entries{{"usr/local/bin/bind80", LayerEntry::Kind::file, program, {}, true, service},
                                        {"var/lib/server", LayerEntry::Kind::directory, {}, {}, true, data_dir},
                                        {"var/lib/server/cache", LayerEntry::Kind::directory, {}, {}, true, data_dir},
                                        {"tmp", LayerEntry::Kind::directory, {}, {}, true, tmp},
                                        {"srv/big-ids", LayerEntry::Kind::file, program, {}, false, large}};
  const auto layer = write_layer(entries, 0, dir.path() / "blobs", "t");
  const auto tar = entries_of(gunzip(read_text_file(dir.path() / "blobs" / layer.blob.digest.substr(7))));
  const auto find = [&](const std::string& name) {
    const auto it = std::find_if(tar.begin(), tar.end(), [&](const TarEntry& e) { return e.name == name; });
    BOOST_REQUIRE(it != tar.end());
    return *it;
  };
  const auto bind = find("usr/local/bin/bind80");
  BOOST_TEST(bind.uid == 65532U);
  BOOST_TEST(bind.gid == 65532U);
  BOOST_TEST(bind.mode == 0750U);
  BOOST_TEST(bind.xattrs.at("security.capability") == capability_xattr(std::uint64_t{1} << 10));
  BOOST_TEST(find("var/lib/server/").uid == 65532U);
  BOOST_TEST(find("var/lib/server/").mode == 0700U);
  BOOST_TEST(find("var/lib/").uid == 0U);  // a parent nobody gave: root's
  BOOST_TEST(find("var/lib/").mode == 0755U);
  BOOST_TEST(find("tmp/").mode == 01777U);
  BOOST_TEST(find("srv/big-ids").uid == 3000000U);
  BOOST_TEST(find("srv/big-ids").gid == 3000001U);
  BOOST_TEST(find("srv/big-ids").mode == 0644U);  // no mode given: the default for a file
  BOOST_TEST(find("usr/local/bin/").xattrs.empty());
}

BOOST_AUTO_TEST_CASE(permissions_without_meaning_and_one_directory_two_ways_are_refused) {
  mai::test::TempDir dir;
  const auto f = dir.file("f", "x");
  Permissions setuid_dir;
  setuid_dir.mode = 04755;
  BOOST_TEST(error_of([&] {
               write_layer({{"srv", LayerEntry::Kind::directory, {}, {}, true, setuid_dir}}, 0, dir.path() / "blobs", "t");
             }).find("/srv: MODE 4755 sets setuid on a directory") != std::string::npos);
  Permissions a, b;
  a.uid = a.gid = 1;
  b.uid = b.gid = 2;
  BOOST_TEST(error_of([&] {
               write_layer(
                   {{"srv", LayerEntry::Kind::directory, {}, {}, true, a}, {"srv", LayerEntry::Kind::directory, {}, {}, true, b}},
                   0, dir.path() / "blobs", "t");
             }) == "the directory /srv is given twice with different owners or modes");
  BOOST_TEST(error_of([&] {
               write_layer({{"srv", LayerEntry::Kind::file, f, {}, false}, {"srv/x", LayerEntry::Kind::file, f, {}, false}}, 0,
                           dir.path() / "blobs", "t");
             }) == "/srv is a file in the layer and the directory of /srv/x");
  // The same directory twice the same way is one entry.
  const auto layer =
      write_layer({{"srv", LayerEntry::Kind::directory, {}, {}, true, a}, {"srv", LayerEntry::Kind::directory, {}, {}, true, a}},
                  0, dir.path() / "blobs", "t");
  BOOST_TEST(entries_of(gunzip(read_text_file(dir.path() / "blobs" / layer.blob.digest.substr(7)))).size() == 1U);
}

// The bytes of a layer are its identity: a registry that has a layer is not sent it again, and an
// image rebuilt from the same files keeps its digest. The diff_id (the tar's own digest, whatever
// zlib's version) of a layer with every kind of header the writer makes is pinned here, as the
// writer made it before its ustar header moved to base/ustar.cpp.
BOOST_AUTO_TEST_CASE(a_layer_keeps_its_bytes) {
  mai::test::TempDir dir;
  const auto text = dir.file("text", "the same bytes\n");
  const auto program = dir.script("program", "exit 0\n");
  const auto service = bind_service();
  Permissions large;
  large.uid = 3000000;
  large.gid = 7;
  Permissions sticky;
  sticky.mode = 01777;
  const std::vector<LayerEntry> entries{
      {"etc/app.conf", LayerEntry::Kind::file, text, {}, false},
      {"usr/local/bin/app", LayerEntry::Kind::file, program, {}, true, service},
      {"usr/bin/app", LayerEntry::Kind::symlink, {}, "../local/bin/app", false},
      {"usr/share/" + std::string(120, 'n') + "/long.txt", LayerEntry::Kind::file, text, {}, false, large},
      {"usr/lib/far", LayerEntry::Kind::symlink, {}, std::string(130, 't'), false},
      {"tmp", LayerEntry::Kind::directory, {}, {}, true, sticky}};
  const auto layer = write_layer(entries, 1700000000, dir.path() / "blobs", "test");
  BOOST_TEST(layer.diff_id == "sha256:5f41f4999b8eefab647e2126bcfe0ab56298ca0f1a7c1212512ce7db39058448");
}

BOOST_AUTO_TEST_SUITE_END()
