// Images the helper assembles: staged trees and FILES into layers (the layer cache, links that
// stay inside what was staged), and a base image resolved from a registry.
#include "image/assemble.hpp"

#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "base/error.hpp"
#include "base/files.hpp"
#include "oci/media_types.hpp"
#include "registry/client.hpp"
#include "registry/session.hpp"
#include "support/fake_registry.hpp"
#include "support/tar_reader.hpp"
#include "support/test_support.hpp"

using namespace mai;
using mai::test::entries_of;
using mai::test::error_of;
using mai::test::gunzip;
using mai::test::TarEntry;
using mai::test::test_log;

BOOST_AUTO_TEST_SUITE(assemble)

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

BOOST_AUTO_TEST_CASE(a_file_rewritten_in_place_with_its_size_and_time_kept_makes_a_new_layer) {
  // As tools that pin times do (touch -d @1700000000 after writing): same size, same mtime, same inode.
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
  const auto pinned = std::filesystem::file_time_type(std::chrono::seconds(1700000000));
  std::filesystem::last_write_time(data, pinned);
  const auto first = assemble_image(spec, amd64, {}, test_log()).layers.at(0);
  struct stat before {};
  ::stat(data.c_str(), &before);
  // The kernel's change time moves in ticks of a few milliseconds: write again once it can differ.
  struct stat after {};
  for (int i = 0; i < 200; ++i) {
    {
      std::ofstream out(data, std::ios::in | std::ios::out);  // in place: the same inode
      out << "fresh";
    }
    std::filesystem::last_write_time(data, pinned);
    ::stat(data.c_str(), &after);
    if (after.st_ctim.tv_sec != before.st_ctim.tv_sec || after.st_ctim.tv_nsec != before.st_ctim.tv_nsec) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  BOOST_REQUIRE(after.st_ino == before.st_ino);
  BOOST_REQUIRE(after.st_size == before.st_size);
  BOOST_REQUIRE(after.st_mtim.tv_sec == before.st_mtim.tv_sec);
  const auto rewritten = assemble_image(spec, amd64, {}, test_log()).layers.at(0);
  BOOST_TEST(rewritten.diff_id != first.diff_id);
  const auto tar = entries_of(gunzip(read_text_file(layout_blob(spec.image.layout, rewritten.blob.digest))));
  BOOST_TEST(
      std::any_of(tar.begin(), tar.end(), [](const TarEntry& e) { return e.name == "srv/data.txt" && e.body == "fresh"; }));
}

BOOST_AUTO_TEST_CASE(a_files_source_that_is_a_link_is_followed_as_copy_does) {
  mai::test::TempDir dir;
  dir.file("real/app.conf", "conf");
  dir.file("real-dir/a.txt", "a");
  std::filesystem::create_symlink(dir.path() / "real/app.conf", dir.path() / "app.conf");
  std::filesystem::create_symlink("real-dir", dir.path() / "assets");
  Spec spec;
  spec.name = "x";
  spec.tags = {"1"};
  spec.image.enabled = true;
  spec.image.layout = dir.path() / "oci";
  spec.image.entrypoint = {"/bin/x"};
  spec.image.files = {{dir.path() / "app.conf", "/etc/app.conf"}, {dir.path() / "assets", "/srv/"}};
  const auto image = assemble_image(spec, Platform{"linux", "amd64", ""}, {}, test_log());
  const auto tar = entries_of(gunzip(read_text_file(layout_blob(spec.image.layout, image.layers.at(0).blob.digest))));
  BOOST_TEST(std::any_of(tar.begin(), tar.end(),
                         [](const TarEntry& e) { return e.name == "etc/app.conf" && e.type == '0' && e.body == "conf"; }));
  BOOST_TEST(std::any_of(tar.begin(), tar.end(), [](const TarEntry& e) { return e.name == "srv/a.txt" && e.body == "a"; }));
  // A link that leads nowhere is named.
  std::filesystem::create_symlink(dir.path() / "nowhere", dir.path() / "dangling");
  spec.image.files = {{dir.path() / "dangling", "/etc/x"}};
  const auto what = error_of([&] { assemble_image(spec, Platform{"linux", "amd64", ""}, {}, test_log()); });
  BOOST_TEST(what.find("dangling is not a file or a directory") != std::string::npos, what);
}

BOOST_AUTO_TEST_CASE(whiteout_names_never_reach_a_layer) {
  const Platform amd64{"linux", "amd64", ""};
  for (const auto* name : {".wh.base.txt", ".wh..wh..opq", "sub/.wh.x"}) {
    mai::test::TempDir dir;
    dir.file("files/ok.txt", "x");
    dir.file(std::string("files/") + name, "");
    Spec spec;
    spec.name = "x";
    spec.tags = {"1"};
    spec.image.enabled = true;
    spec.image.layout = dir.path() / "oci";
    spec.image.entrypoint = {"/srv/ok.txt"};
    spec.image.files = {{dir.path() / "files", "/srv/"}};
    const auto what = error_of([&] { assemble_image(spec, amd64, {}, test_log()); });
    BOOST_TEST(what.find((dir.path() / "files" / name).string()) != std::string::npos, what);
    BOOST_TEST(what.find("whiteout") != std::string::npos, what);
    BOOST_TEST(!std::filesystem::exists(spec.image.layout / "index.json"));
  }
  {  // a single file given a whiteout name as its destination, and a staged tree holding one
    mai::test::TempDir dir;
    const auto f = dir.file("f.txt", "x");
    Spec spec;
    spec.name = "x";
    spec.tags = {"1"};
    spec.image.enabled = true;
    spec.image.layout = dir.path() / "oci";
    spec.image.entrypoint = {"/x"};
    spec.image.files = {{f, "/etc/.wh.passwd"}};
    auto what = error_of([&] { assemble_image(spec, amd64, {}, test_log()); });
    BOOST_TEST(what.find("/etc/.wh.passwd") != std::string::npos, what);
    spec.image.files.clear();
    dir.file("stage/usr/lib/.wh..wh..opq", "");
    what = error_of([&] { assemble_image(spec, amd64, dir.path() / "stage", test_log()); });
    BOOST_TEST(what.find("usr/lib/.wh..wh..opq") != std::string::npos, what);
    BOOST_TEST(what.find("whiteout") != std::string::npos, what);
  }
  // The layer writer refuses them too, whoever asks.
  mai::test::TempDir dir;
  const auto f = dir.file("f", "x");
  const auto what = error_of([&] {
    write_layer({{"etc/.wh.passwd", LayerEntry::Kind::file, f, {}, false}}, 0, dir.path(), "t");
  });
  BOOST_TEST(what.find("whiteout") != std::string::npos, what);
}

BOOST_AUTO_TEST_CASE(each_layer_s_history_names_what_it_holds) {
  mai::test::TempDir dir;
  dir.file("stage/usr/bin/server", "program");
  dir.file("stage/usr/lib/libp.so.1", "library");
  dir.file("stage/usr/share/p/data.txt", "data");
  Spec spec;
  spec.name = "x";
  spec.tags = {"1"};
  spec.image.enabled = true;
  spec.image.layout = dir.path() / "oci";
  spec.image.entrypoint = {"/usr/bin/server"};
  const auto history = [&] {
    const auto image = assemble_image(spec, Platform{"linux", "amd64", ""}, dir.path() / "stage", test_log());
    const auto config = boost::json::parse(read_text_file(layout_blob(spec.image.layout, image.config.digest)));
    std::vector<std::string> lines;
    for (const auto& h : config.at("history").as_array()) lines.emplace_back(h.at("created_by").as_string());
    return lines;
  };
  spec.image.staged_targets = false;
  spec.image.staged_install = true;
  BOOST_TEST(history() == (std::vector<std::string>{"multiarch-image: the project's shared libraries (INSTALL)",
                                                    "multiarch-image: the project's installed programs (INSTALL)",
                                                    "multiarch-image: the other files INSTALL installed"}),
             boost::test_tools::per_element());
  spec.image.staged_targets = true;
  spec.image.files = {{dir.file("f.conf", "c"), "/etc/f.conf"}};
  BOOST_TEST(history() == (std::vector<std::string>{"multiarch-image: the project's shared libraries (TARGETS, INSTALL)",
                                                    "multiarch-image: the project's executables (TARGETS, INSTALL)",
                                                    "multiarch-image: FILES, and the other files INSTALL installed"}),
             boost::test_tools::per_element());
  std::filesystem::remove_all(dir.path() / "stage/usr/share");
  spec.image.staged_install = false;  // TARGETS alone: as before, so its images keep their digests
  BOOST_TEST(
      history() == (std::vector<std::string>{"multiarch-image: the project's shared libraries",
                                             "multiarch-image: the project's executables (TARGETS)", "multiarch-image: FILES"}),
      boost::test_tools::per_element());
}

// Owner, mode and capabilities reach the layer's tar headers: a target's properties on the file it
// was staged as, a FILES file's, a FILES directory's OWNER on everything it copies and on the
// destination made for it, DIRECTORIES kept empty with theirs; what cannot apply is refused before
// any layout is written.
BOOST_AUTO_TEST_CASE(owners_modes_and_capabilities_reach_the_tar_headers) {
  mai::test::TempDir dir;
  const auto server = dir.file("stage/usr/local/bin/server",
                               "\x7f"
                               "ELF");
  std::filesystem::permissions(server, std::filesystem::perms(0755));
  dir.file("files/app.toml", "conf");
  dir.file("files/data/seed.txt", "seed");
  Spec spec;
  spec.name = "x";
  spec.tags = {"1"};
  spec.image.enabled = true;
  spec.image.layout = dir.path() / "oci";
  spec.image.entrypoint = {"/usr/local/bin/server"};
  const auto nonroot = Permissions{65532, 65532, std::nullopt, 0};
  spec.image.path_permissions = {{"/usr/local/bin/server", "TARGETS entry server", {65532, 65532, std::nullopt, 1u << 10}}};
  spec.image.files = {{dir.path() / "files/app.toml", "/etc/app.toml", {0, 65532, 0640, 0}},
                      {dir.path() / "files/data", "/var/lib/app/seed/", nonroot}};
  spec.image.directories = {{"/var/lib/app/cache", {65532, 65532, 0750, 0}}, {"/tmp", {std::nullopt, std::nullopt, 01777, 0}}};
  const auto image = assemble_image(spec, Platform{"linux", "amd64", ""}, dir.path() / "stage", test_log());
  std::vector<TarEntry> tar;
  for (const auto& layer : image.layers) {
    const auto more = entries_of(gunzip(read_text_file(layout_blob(spec.image.layout, layer.blob.digest))));
    tar.insert(tar.end(), more.begin(), more.end());
  }
  const auto entry = [&](const std::string& name) {
    for (const auto& e : tar)
      if (e.name == name) return e;
    BOOST_FAIL("no entry " + name);
    return TarEntry{};
  };
  const auto program = entry("usr/local/bin/server");
  BOOST_TEST(program.uid == 65532u);
  BOOST_TEST(program.mode == 0755u);
  BOOST_TEST(program.xattrs.at("security.capability") == capability_xattr(1u << 10));
  BOOST_TEST(entry("etc/app.toml").mode == 0640u);
  BOOST_TEST(entry("etc/app.toml").gid == 65532u);
  BOOST_TEST(entry("etc/app.toml").xattrs.empty());
  BOOST_TEST(entry("var/lib/app/seed/").uid == 65532u);
  BOOST_TEST(entry("var/lib/app/seed/seed.txt").uid == 65532u);
  BOOST_TEST(entry("var/lib/app/seed/seed.txt").mode == 0644u);
  BOOST_TEST(entry("var/lib/app/").uid == 0u);  // a parent nobody gave stays root's
  BOOST_TEST(entry("var/lib/app/cache/").uid == 65532u);
  BOOST_TEST(entry("var/lib/app/cache/").mode == 0750u);
  BOOST_TEST(entry("tmp/").mode == 01777u);
  BOOST_TEST(entry("tmp/").uid == 0u);

  // Refused, nothing written: capabilities on a file nobody may execute, a path the stage did not
  // make, MODE on a FILES directory.
  const auto refused = [&](const std::function<void(Spec&)>& change, const std::string& expected) {
    std::filesystem::remove_all(spec.image.layout);
    auto bad = spec;
    change(bad);
    const auto what = error_of([&] { assemble_image(bad, Platform{"linux", "amd64", ""}, dir.path() / "stage", test_log()); });
    BOOST_TEST(what.find(expected) != std::string::npos, what);
    BOOST_TEST(!std::filesystem::exists(spec.image.layout / "index.json"));
  };
  refused([](Spec& s) { s.image.files.at(0).permissions.capabilities = 1u << 13; },
          "FILES entry " + (dir.path() / "files/app.toml").string() +
              "=/etc/app.toml: capabilities cap_net_raw on a file nobody may execute");
  refused([](Spec& s) { s.image.path_permissions.at(0).path = "/usr/local/bin/client"; },
          "TARGETS entry server: /usr/local/bin/client is not in what was staged for linux/amd64");
  refused([](Spec& s) { s.image.files.at(1).permissions.mode = 0700; }, "the source is a directory, which takes OWNER only");
}

// The config fields people set: VOLUMES and STOP_SIGNAL in the config (a base's volumes kept), ENV
// values naming what the base and earlier entries set (the default PATH where the base sets none),
// MANIFEST_ANNOTATIONS on the platform's manifest beside the base's; a name nothing sets, and
// annotations for a Docker manifest, refused before any layout is written.
BOOST_AUTO_TEST_CASE(volumes_stop_signal_env_references_and_manifest_annotations_reach_config_and_manifest) {
  mai::test::TempDir dir;
  Spec spec;
  spec.name = "x";
  spec.tags = {"1"};
  spec.image.enabled = true;
  spec.image.layout = dir.path() / "oci";
  spec.image.entrypoint = {"/srv/x"};
  spec.image.files = {{dir.file("x", "x"), "/srv/x"}};
  spec.image.volumes = {"/var/lib/app", "/srv/cache"};
  spec.image.stop_signal = "SIGINT";
  spec.image.env = {"PATH=/opt/app/bin:$PATH", "APP_HOME=/srv", "APP_STATE=${APP_HOME}/state", "PRICE=\\$5 $ $5"};
  spec.image.manifest_annotations = {{"org.opencontainers.image.description", "the x service"}};
  const auto read = [&](const std::string& digest) {
    return boost::json::parse(read_text_file(layout_blob(spec.image.layout, digest))).as_object();
  };
  auto image = assemble_image(spec, Platform{"linux", "arm64", ""}, {}, test_log());
  auto config = read(image.config.digest).at("config").as_object();
  BOOST_TEST(boost::json::serialize(config.at("Volumes")) == R"({"/var/lib/app":{},"/srv/cache":{}})");
  BOOST_TEST(config.at("StopSignal").as_string() == "SIGINT");
  BOOST_TEST(boost::json::serialize(config.at("Env")) ==
             R"(["PATH=/opt/app/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","APP_HOME=/srv",)"
             R"("APP_STATE=/srv/state","PRICE=$5 $ $5"])");
  BOOST_TEST(read(image.manifest.digest).at("annotations").at("org.opencontainers.image.description").as_string() ==
             "the x service");

  // On a base: its Env is what the values name, its volumes stay, its annotations stay beside ours.
  BaseImage base;
  base.name = "registry.example/base:1";
  base.repository = parse_repository("registry.example/base");
  base.digest = "sha256:" + std::string(64, 'a');
  base.config = {
      {"architecture", "arm64"},
      {"os", "linux"},
      {"config", {{"Env", {"PATH=/opt/base/bin:/usr/bin", "LANG=C.UTF-8"}}, {"Volumes", {{"/data", boost::json::object{}}}}}},
      {"rootfs", {{"type", "layers"}, {"diff_ids", boost::json::array{}}}}};
  spec.image.env = {"PATH=/opt/app/bin:$PATH", "MESSAGE=${LANG}"};
  image = assemble_image(spec, Platform{"linux", "arm64", ""}, {}, test_log(), &base);
  config = read(image.config.digest).at("config").as_object();
  BOOST_TEST(boost::json::serialize(config.at("Env")) ==
             R"(["LANG=C.UTF-8","PATH=/opt/app/bin:/opt/base/bin:/usr/bin","MESSAGE=C.UTF-8"])");
  BOOST_TEST(boost::json::serialize(config.at("Volumes")) == R"({"/data":{},"/var/lib/app":{},"/srv/cache":{}})");
  const auto manifest = read(image.manifest.digest);
  BOOST_TEST(manifest.at("annotations").at("org.opencontainers.image.base.name").as_string() == base.name);
  BOOST_TEST(manifest.at("annotations").at("org.opencontainers.image.description").as_string() == "the x service");

  std::filesystem::remove_all(spec.image.layout);
  spec.image.env = {"PATH=$JAVA_HOME/bin:$PATH"};
  auto what = error_of([&] { assemble_image(spec, Platform{"linux", "arm64", ""}, {}, test_log(), &base); });
  BOOST_TEST(what.find("ENV entry `PATH=$JAVA_HOME/bin:$PATH` (on the base registry.example/base:1): $JAVA_HOME is not set by "
                       "the base image or an earlier ENV entry") != std::string::npos,
             what);
  BOOST_TEST(!std::filesystem::exists(spec.image.layout / "index.json"));
  spec.image.env = {};
  base.docker = true;
  what = error_of([&] { assemble_image(spec, Platform{"linux", "arm64", ""}, {}, test_log(), &base); });
  BOOST_TEST(what.find("MANIFEST_ANNOTATIONS need an OCI manifest, and the base registry.example/base:1 is a Docker one") !=
                 std::string::npos,
             what);
  BOOST_TEST(!std::filesystem::exists(spec.image.layout / "index.json"));
}

// Issue 24: a registry that knows only Docker's media types (old Quay, old Artifactory) could take no
// image assembled on scratch or an OCI base. INDEX_FORMAT docker now makes the whole image Docker's:
// its layers, config and manifest; an OCI base's gzip layers are named as Docker's (the same bytes).
BOOST_AUTO_TEST_CASE(index_format_docker_assembles_docker_manifests_on_scratch_and_on_an_oci_base) {
  mai::test::TempDir dir;
  Spec spec;
  spec.name = "x";
  spec.tags = {"1"};
  spec.index_format = "docker";
  spec.image.enabled = true;
  spec.image.layout = dir.path() / "oci";
  spec.image.entrypoint = {"/srv/x"};
  spec.image.files = {{dir.file("x", "x"), "/srv/x"}};
  const auto read = [&](const std::string& digest) {
    return boost::json::parse(read_text_file(layout_blob(spec.image.layout, digest))).as_object();
  };
  const auto check = [&](const AssembledImage& image, std::size_t layers) {
    BOOST_TEST(image.manifest.media_type == media::docker_manifest);
    BOOST_TEST(image.config.media_type == media::docker_config);
    const auto manifest = read(image.manifest.digest);
    BOOST_TEST(manifest.at("mediaType").as_string() == media::docker_manifest);
    BOOST_TEST(manifest.at("config").at("mediaType").as_string() == media::docker_config);
    BOOST_TEST(!manifest.contains("annotations"));  // Docker manifests have none
    BOOST_TEST_REQUIRE(manifest.at("layers").as_array().size() == layers);
    for (const auto& layer : manifest.at("layers").as_array())
      BOOST_TEST(layer.at("mediaType").as_string() == media::docker_layer);
  };
  check(assemble_image(spec, Platform{"linux", "arm64", ""}, {}, test_log()), 1U);

  BaseImage base;
  base.name = "registry.example/base:1";
  base.repository = parse_repository("registry.example/base");
  base.digest = "sha256:" + std::string(64, 'a');
  const auto layer_digest = "sha256:" + std::string(64, 'b');
  base.config = {{"architecture", "arm64"},
                 {"os", "linux"},
                 {"rootfs", {{"type", "layers"}, {"diff_ids", {"sha256:" + std::string(64, 'c')}}}}};
  base.layers = {{{"mediaType", media::oci_layer}, {"digest", layer_digest}, {"size", 10}}};
  check(assemble_image(spec, Platform{"linux", "arm64", ""}, {}, test_log(), &base), 2U);

  // A layer Docker's format has no name for (zstd) is refused, naming the base; as are annotations.
  base.layers = {{{"mediaType", "application/vnd.oci.image.layer.v1.tar+zstd"}, {"digest", layer_digest}, {"size", 10}}};
  auto what = error_of([&] { assemble_image(spec, Platform{"linux", "arm64", ""}, {}, test_log(), &base); });
  BOOST_TEST(what.find("INDEX_FORMAT docker makes Docker manifests, and the base registry.example/base:1 has a layer of "
                       "type application/vnd.oci.image.layer.v1.tar+zstd") != std::string::npos,
             what);
  spec.image.manifest_annotations = {{"org.opencontainers.image.description", "x"}};
  what = error_of([&] { assemble_image(spec, Platform{"linux", "arm64", ""}, {}, test_log()); });
  BOOST_TEST(what.find("MANIFEST_ANNOTATIONS need an OCI manifest, and INDEX_FORMAT docker") != std::string::npos, what);
  // Without it, the same image is OCI.
  spec.index_format = "auto";
  spec.image.manifest_annotations.clear();
  BOOST_TEST(assemble_image(spec, Platform{"linux", "arm64", ""}, {}, test_log()).manifest.media_type == media::oci_manifest);
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

// Also found by fuzzing (tests/fuzz/seeds/base_config/regression-diff-ids-not-one-per-layer).
BOOST_AUTO_TEST_CASE(a_config_whose_diff_ids_do_not_match_its_layers_is_refused_naming_base_and_platform) {
  const Platform amd64{"linux", "amd64", ""};
  const auto layer = "sha256:" + std::string(64, 'b');
  const auto diff = "\"sha256:" + std::string(64, 'c') + "\"";
  for (const auto& [rootfs, expected] : std::vector<std::pair<std::string, std::string>>{
           {R"({"type":"layers","diff_ids":"sha256:x"})", "its config's rootfs.diff_ids is not an array"},
           {R"({"type":"layers","diff_ids":[]})", "its config lists 0 diff_ids for the 1 layers of its manifest"},
           {R"({"type":"layers","diff_ids":[)" + diff + "," + diff + "]}", "lists 2 diff_ids for the 1 layers"},
           {R"({"type":"layers","diff_ids":[7]})", "its config's rootfs.diff_ids holds 7, not a sha256 digest"},
           {R"("layers")", "its config's rootfs is not an object"},
       }) {
    Base t;
    const auto config = t.registry.put_blob(R"({"architecture":"amd64","os":"linux","rootfs":)" + rootfs + "}");
    t.registry.put_manifest("team/base", "1", media::oci_manifest,
                            R"({"schemaVersion":2,"config":{"digest":")" + config + R"(","size":1},"layers":[{"digest":")" +
                                layer + R"(","size":1}]})");
    const auto what = t.resolve_error(amd64);
    BOOST_TEST(what.find("BASE registry.test/team/base:1 for linux/amd64") != std::string::npos, what);
    BOOST_TEST(what.find(expected) != std::string::npos, what);
    BOOST_TEST(static_cast<int>(mai::test::code_of([&] { t.resolve(amd64); })) == static_cast<int>(Exit::verify_failed));
  }
}

BOOST_AUTO_TEST_SUITE_END()
