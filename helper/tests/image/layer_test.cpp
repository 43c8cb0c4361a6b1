// Layers the helper writes itself: reproducible bytes, a tar that tar reads back (PAX for long
// names, parents present, sorted), and hostile input refused.
#include "image/layer.hpp"

#include <zlib.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>

#include "base/error.hpp"
#include "base/files.hpp"
#include "image/assemble.hpp"
#include "oci/media_types.hpp"
#include "registry/client.hpp"
#include "registry/session.hpp"
#include "support/fake_registry.hpp"
#include "support/test_support.hpp"

using namespace mai;
using mai::test::error_of;
using mai::test::test_log;

namespace {

std::string gunzip(const std::string& packed) {
  z_stream z{};
  BOOST_REQUIRE(inflateInit2(&z, 15 + 16) == Z_OK);
  std::string out;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(packed.data()));
  z.avail_in = static_cast<uInt>(packed.size());
  char buffer[65536];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(buffer);
    z.avail_out = sizeof buffer;
    rc = inflate(&z, Z_NO_FLUSH);
    BOOST_REQUIRE(rc == Z_OK || rc == Z_STREAM_END);
    out.append(buffer, sizeof buffer - z.avail_out);
  }
  inflateEnd(&z);
  return out;
}

struct TarEntry {
  std::string name;
  char type;
  std::string body;
};

// Headers in order; names from PAX records where present.
std::vector<TarEntry> entries_of(const std::string& tar) {
  std::vector<TarEntry> out;
  std::string pax_path;
  for (std::size_t at = 0; at + 512 <= tar.size();) {
    const auto header = tar.substr(at, 512);
    if (header == std::string(512, '\0')) break;
    unsigned sum = 0;
    for (std::size_t i = 0; i < 512; ++i) sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(header[i]);
    BOOST_TEST(sum == std::stoul(header.substr(148, 7), nullptr, 8));
    const auto size = std::stoull(header.substr(124, 11), nullptr, 8);
    const auto body = tar.substr(at + 512, size);
    std::string name = header.substr(0, header.find('\0') < 100 ? header.find('\0') : 100);
    if (header[156] == 'x') {
      const auto key = body.find(" path=");
      pax_path = body.substr(key + 6, body.find('\n', key) - key - 6);
    } else {
      if (!pax_path.empty()) name = pax_path, pax_path.clear();
      out.push_back({name, header[156], body});
    }
    at += 512 + (size + 511) / 512 * 512;
  }
  return out;
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

BOOST_AUTO_TEST_CASE(a_link_out_of_what_was_staged_is_refused_and_nothing_is_written) {
  mai::test::TempDir dir;
  dir.file("files/ok.txt", "x");
  std::filesystem::create_symlink("/etc/passwd", dir.path() / "files/passwd");
  Spec spec;
  spec.name = "x";
  spec.tags = {"1"};
  spec.image.enabled = true;
  spec.image.layout = dir.path() / "oci";
  spec.image.files = {{dir.path() / "files", "/srv/"}};
  const auto what = error_of([&] { assemble_image(spec, Platform{"linux", "amd64", ""}, {}, test_log()); });
  BOOST_TEST(what.find("is a symlink to /etc/passwd") != std::string::npos, what);
  BOOST_TEST(!std::filesystem::exists(spec.image.layout / "index.json"));
  // A link that stays inside is kept as a link.
  std::filesystem::remove(dir.path() / "files/passwd");
  std::filesystem::create_symlink("ok.txt", dir.path() / "files/alias");
  spec.image.entrypoint = {"/srv/ok.txt"};
  const auto image = assemble_image(spec, Platform{"linux", "amd64", ""}, {}, test_log());
  const auto tar = entries_of(gunzip(read_text_file(layout_blob(spec.image.layout, image.layers.at(0).blob.digest))));
  BOOST_TEST(std::any_of(tar.begin(), tar.end(), [](const TarEntry& e) { return e.name == "srv/alias" && e.type == '2'; }));
}

BOOST_AUTO_TEST_CASE(a_layer_from_unchanged_files_is_taken_from_the_cache_and_an_edit_makes_a_new_one) {
  mai::test::TempDir dir;
  const auto data = dir.file("files/data.txt", "first");
  Spec spec;
  spec.name = "x";
  spec.tags = {"1"};
  spec.image.enabled = true;
  spec.image.layout = dir.path() / "oci";
  spec.image.entrypoint = {"/srv/data.txt"};
  spec.image.files = {{dir.path() / "files", "/srv/"}};
  const Platform amd64{"linux", "amd64", ""};
  const auto first = assemble_image(spec, amd64, {}, test_log()).layers.at(0);
  // Not compressed again: the blob in the layout is taken as it is (here, bytes swapped behind its back).
  const auto blob = layout_blob(spec.image.layout, first.blob.digest);
  std::filesystem::remove(blob);
  { std::ofstream(blob) << std::string(static_cast<std::size_t>(first.blob.size), '#'); }
  const auto again = assemble_image(spec, amd64, {}, test_log()).layers.at(0);
  BOOST_TEST(again.blob.digest == first.blob.digest);
  BOOST_TEST(again.diff_id == first.diff_id);
  BOOST_TEST(read_text_file(blob) == std::string(static_cast<std::size_t>(first.blob.size), '#'));
  // An edit (new content, new time) is a new layer.
  { std::ofstream(data) << "second"; }
  const auto edited = assemble_image(spec, amd64, {}, test_log()).layers.at(0);
  BOOST_TEST(edited.blob.digest != first.blob.digest);
  BOOST_TEST(edited.diff_id != first.diff_id);
  // A cached blob that is gone is written again.
  std::filesystem::remove(layout_blob(spec.image.layout, edited.blob.digest));
  BOOST_TEST(assemble_image(spec, amd64, {}, test_log()).layers.at(0).blob.digest == edited.blob.digest);
  BOOST_TEST(std::filesystem::exists(layout_blob(spec.image.layout, edited.blob.digest)));
}

BOOST_AUTO_TEST_CASE(a_files_directory_with_a_loop_of_links_is_refused_and_nothing_is_written) {
  mai::test::TempDir dir;
  dir.file("files/ok.txt", "x");
  std::filesystem::create_directories(dir.path() / "files/sub");
  std::filesystem::create_symlink("../b", dir.path() / "files/sub/a");
  std::filesystem::create_symlink("sub/a", dir.path() / "files/b");
  Spec spec;
  spec.name = "x";
  spec.tags = {"1"};
  spec.image.enabled = true;
  spec.image.layout = dir.path() / "oci";
  spec.image.entrypoint = {"/srv/ok.txt"};
  spec.image.files = {{dir.path() / "files", "/srv/"}};
  const auto what = error_of([&] { assemble_image(spec, Platform{"linux", "amd64", ""}, {}, test_log()); });
  BOOST_TEST(what.find("in a loop of links that never reaches a file") != std::string::npos, what);
  BOOST_TEST(!std::filesystem::exists(spec.image.layout / "index.json"));
  // A directory link that points back up is a link, not a loop to walk: kept as it is.
  std::filesystem::remove(dir.path() / "files/b");
  std::filesystem::remove(dir.path() / "files/sub/a");
  std::filesystem::create_symlink("..", dir.path() / "files/sub/up");
  assemble_image(spec, Platform{"linux", "amd64", ""}, {}, test_log());
}

BOOST_AUTO_TEST_CASE(a_staged_file_replaced_by_a_link_out_of_the_stage_is_refused) {
  mai::test::TempDir dir;
  const auto staged = dir.path() / "stage";
  std::filesystem::create_directories(staged / "usr/local/bin");
  std::filesystem::create_symlink("/bin/sh", staged / "usr/local/bin/server");
  Spec spec;
  spec.name = "x";
  spec.tags = {"1"};
  spec.image.enabled = true;
  spec.image.layout = dir.path() / "oci";
  spec.image.entrypoint = {"/usr/local/bin/server"};
  const auto what = error_of([&] { assemble_image(spec, Platform{"linux", "amd64", ""}, staged, test_log()); });
  BOOST_TEST(what.find("server is a symlink to /bin/sh, outside") != std::string::npos, what);
  BOOST_TEST(!std::filesystem::exists(spec.image.layout / "index.json"));
}

BOOST_AUTO_TEST_SUITE_END()

// A BASE is what a registry says it is: each malformed or hostile answer fails the build step with
// the BASE named, before anything is written.
BOOST_AUTO_TEST_SUITE(base_images)

namespace {

struct Base {
  mai::test::FakeRegistry registry;
  Spec spec;
  Base() {
    spec.name = "x";
    spec.tags = {"1"};
    spec.image.enabled = true;
    spec.image.base = "registry.test/team/base:1";
    spec.retry = RetryPolicy{1, std::chrono::milliseconds(0), std::chrono::seconds(5)};
  }
  BaseImage resolve(const Platform& platform) {
    RegistryClient client(
        parse_image_reference(spec.image.base).repository, registry_settings(spec), registry,
        [] { return std::optional<Credentials>(); }, test_log());
    return resolve_base(client, spec.image.base, platform, test_log());
  }
  std::string resolve_error(const Platform& platform) {
    return error_of([&] { resolve(platform); });
  }
  std::string index_of(const std::vector<std::pair<std::string, std::string>>& platforms) {  // digest, "os/arch"
    std::string entries;
    for (const auto& [digest, p] : platforms)
      entries += std::string(entries.empty() ? "" : ",") +
                 R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","size":1,"digest":")" + digest +
                 R"(","platform":{"os":")" + p.substr(0, p.find('/')) + R"(","architecture":")" + p.substr(p.find('/') + 1) +
                 R"("}})";
    return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)" + entries + "]}";
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_base_without_the_platform_names_the_platforms_it_has) {
  Base t;
  const auto amd64 = t.registry.put_image("team/base", "linux", "amd64");
  const auto arm64 = t.registry.put_image("team/base", "linux", "arm64");
  t.registry.put_manifest("team/base", "1", media::oci_index, t.index_of({{amd64, "linux/amd64"}, {arm64, "linux/arm64"}}));
  const auto what = t.resolve_error(Platform{"linux", "arm", "v7"});
  BOOST_TEST(what.find("BASE registry.test/team/base:1 has no linux/arm/v7 image (it has linux/amd64, linux/arm64)") !=
                 std::string::npos,
             what);
  const auto base = t.resolve(Platform{"linux", "arm64", ""});
  BOOST_TEST(base.digest == arm64);
}

BOOST_AUTO_TEST_CASE(malformed_huge_or_mislabelled_answers_are_refused) {
  const Platform amd64{"linux", "amd64", ""};
  {
    Base t;
    t.registry.put_manifest("team/base", "1", media::oci_manifest, "{\"schemaVersion\":2,\"config\":");
    const auto what = t.resolve_error(amd64);
    BOOST_TEST(what.find("BASE registry.test/team/base:1: its manifest sha256:") != std::string::npos, what);
    BOOST_TEST(what.find("is not a JSON object") != std::string::npos, what);
  }
  {
    Base t;
    t.registry.put_manifest("team/base", "1", media::oci_manifest, std::string(5 << 20, ' ') + "{}");
    const auto what = t.resolve_error(amd64);
    BOOST_TEST(what.find("with more than 4 MiB, the most a manifest may have") != std::string::npos, what);
  }
  {
    Base t;  // an index whose entry points nowhere
    t.registry.put_manifest("team/base", "1", media::oci_index, t.index_of({{"sha256:" + std::string(64, 'a'), "linux/amd64"}}));
    const auto what = t.resolve_error(amd64);
    BOOST_TEST(what.find("which the registry does not have") != std::string::npos, what);
  }
  {
    Base t;  // listed as amd64, configured as arm64
    const auto arm64 = t.registry.put_image("team/base", "linux", "arm64");
    t.registry.put_manifest("team/base", "1", media::oci_index, t.index_of({{arm64, "linux/amd64"}}));
    const auto what = t.resolve_error(amd64);
    BOOST_TEST(what.find("the image listed for linux/amd64 is linux/arm64") != std::string::npos, what);
  }
  {
    Base t;  // a layer digest that would be a path
    const auto config = t.registry.put_blob(R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}})");
    t.registry.put_manifest("team/base", "1", media::oci_manifest,
                            R"({"schemaVersion":2,"config":{"digest":")" + config +
                                R"(","size":1},"layers":[{"digest":"sha256:../../x","size":1}]})");
    const auto what = t.resolve_error(amd64);
    BOOST_TEST(what.find("is not a sha256 digest") != std::string::npos, what);
  }
  {
    Base t;  // a config served with other content
    const auto digest = t.registry.put_image("team/base", "linux", "amd64");
    const auto manifest = t.registry.manifests.at("team/base@" + digest).bytes;
    t.registry.put_manifest("team/base", "1", media::docker_manifest, manifest);
    for (auto& [d, bytes] : t.registry.blobs) bytes = "{}";
    const auto what = t.resolve_error(amd64);
    BOOST_TEST(what.find("other content") != std::string::npos, what);
  }
}

BOOST_AUTO_TEST_SUITE_END()
