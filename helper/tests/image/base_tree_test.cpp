// A base image's layers as our layers meet them: fetched once per digest, read for their links and
// account files (whiteouts applied, layer over layer), and our paths placed through its links as
// COPY places them (a merged-/usr base's bin -> usr/bin stays a link).
#include "image/base_tree.hpp"

#include <boost/test/unit_test.hpp>
#include <filesystem>

#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/files.hpp"
#include "image/assemble.hpp"
#include "oci/media_types.hpp"
#include "registry/session.hpp"
#include "support/fake_registry.hpp"
#include "support/tar_builder.hpp"
#include "support/tar_reader.hpp"
#include "support/test_support.hpp"

using namespace mai;
using mai::test::error_of;
using mai::test::gunzip;
using mai::test::gzip_of;
using mai::test::tar_of;
using mai::test::TarEntry;
using mai::test::TarInput;
using mai::test::test_log;

namespace {

// Debian's layout since bookworm: the top-level directories are links into /usr.
std::vector<TarInput> merged_usr(
    const std::string& passwd = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n") {
  return {{"./", '5'},
          {"./bin", '2', "", "usr/bin"},
          {"./etc/", '5'},
          {"./etc/group", '0', "root:x:0:\nstaff:x:50:\n"},
          {"./etc/passwd", '0', passwd},
          {"./lib", '2', "", "usr/lib"},
          {"./lib64", '2', "", "usr/lib64"},
          {"./sbin", '2', "", "usr/sbin"},
          {"./usr/", '5'},
          {"./usr/bin/", '5'},
          {"./usr/bin/sh", '2', "", "busybox"},
          {"./usr/bin/busybox", '0',
           "\x7f"
           "ELF"},
          {"./usr/lib/", '5'},
          {"./usr/lib64/", '5'}};
}

// A base in a fake registry, its layers (tar bytes, gzip-compressed unless `plain`) in the layout as
// the build step leaves them.
struct Base {
  mai::test::FakeRegistry registry;
  mai::test::TempDir dir;
  Spec spec;
  std::vector<std::string> layer_blobs;
  explicit Base(const std::vector<std::string>& tars, bool plain = false) {
    spec.name = "x";
    spec.tags = {"1"};
    spec.image.enabled = true;
    spec.image.base = "registry.test/team/base:1";
    spec.image.layout = dir.path() / "oci";
    spec.retry = RetryPolicy{1, std::chrono::milliseconds(0), std::chrono::seconds(5)};
    std::string layers, diff_ids;
    for (const auto& tar : tars) {
      const auto blob = plain ? tar : gzip_of(tar);
      layer_blobs.push_back(blob);
      const auto digest = registry.put_blob(blob);
      layers += std::string(layers.empty() ? "" : ",") + R"({"mediaType":")" +
                (plain ? "application/vnd.oci.image.layer.v1.tar" : media::oci_layer) + R"(","digest":")" + digest +
                R"(","size":)" + std::to_string(blob.size()) + "}";
      diff_ids += std::string(diff_ids.empty() ? "" : ",") + "\"" + sha256_digest(tar) + "\"";
    }
    const auto config =
        registry.put_blob(R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[)" + diff_ids + "]}}");
    registry.put_manifest("team/base", "1", media::oci_manifest,
                          R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{)"
                          R"("mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
                              config + R"(","size":1},"layers":[)" + layers + "]}");
  }
  RegistryClient client() {
    return RegistryClient(
        parse_image_reference(spec.image.base).repository, registry_settings(spec), registry,
        [] { return std::optional<Credentials>(); }, test_log());
  }
  BaseImage resolve() {
    auto c = client();
    return resolve_base(c, spec.image.base, Platform{"linux", "amd64", ""}, test_log());
  }
  // What the build step does before assembling: the base's layers into the layout.
  BaseImage resolved_with_layers() {
    auto base = resolve();
    for (const auto& blob : layer_blobs) write_file_atomically(layout_blob(spec.image.layout, sha256_digest(blob)), blob);
    return base;
  }
  std::vector<TarEntry> our_layer(const AssembledImage& image, std::size_t i = 0) {
    return mai::test::entries_of(gunzip(read_text_file(layout_blob(spec.image.layout, image.layers.at(i).blob.digest))));
  }
};

bool has(const std::vector<TarEntry>& tar, const std::string& name) {
  return std::any_of(tar.begin(), tar.end(), [&](const TarEntry& e) { return e.name == name; });
}

std::string names(const std::vector<TarEntry>& tar) {
  std::string out;
  for (const auto& e : tar) out += e.name + " ";
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(base_tree)

BOOST_AUTO_TEST_CASE(paths_are_placed_through_the_base_s_links_as_copy_places_them) {
  BaseTree tree;
  tree.links = {{"bin", "usr/bin"}, {"lib64", "/usr/lib64"}, {"usr/lib64", "lib"},         {"up", "../../.."},
                {"loop/a", "b"},    {"loop/b", "a"},         {"etc/alternatives", "/opt"}, {"self", "."}};
  BOOST_TEST(resolve_in_base(tree, "bin/entry.sh", false) == "usr/bin/entry.sh");
  BOOST_TEST(resolve_in_base(tree, "bin", false) == "bin");                    // a file named bin replaces the link
  BOOST_TEST(resolve_in_base(tree, "bin", true) == "usr/bin");                 // a directory bin/ merges into it
  BOOST_TEST(resolve_in_base(tree, "lib64/ld.so", false) == "usr/lib/ld.so");  // absolute, then relative to its directory
  BOOST_TEST(resolve_in_base(tree, "up/etc/x", false) == "etc/x");             // ".." stops at the root
  BOOST_TEST(resolve_in_base(tree, "self/self/bin/x", false) == "usr/bin/x");
  BOOST_TEST(resolve_in_base(tree, "usr/local/bin/x", false) == "usr/local/bin/x");
  BOOST_TEST(resolve_in_base(tree, "etc/alternatives/java", false) == "opt/java");
  const auto what = error_of([&] { resolve_in_base(tree, "loop/a/x", false); });
  BOOST_TEST(what.find("/loop/a/x goes through a loop of the base's links") != std::string::npos, what);
}

BOOST_AUTO_TEST_CASE(layers_are_read_in_order_with_their_whiteouts_and_kept_by_digest) {
  // Layer 2 (plain tar) deletes lib and empties etc; layer 3 puts a directory where sbin linked.
  Base t({tar_of(merged_usr()),
          tar_of({{"lib64/.wh..wh..opq", '0'}, {".wh.lib", '0'}, {"etc/.wh..wh..opq", '0'}, {"etc/group", '0', "g:x:7:\n"}}),
          tar_of({{"sbin/", '5'}, {std::string(120, 'd') + "/x", '2', "", "y"}})});
  const auto base = t.resolved_with_layers();
  const auto blobs = t.spec.image.layout / "blobs" / "sha256";
  const auto cache = t.dir.path() / "cache";
  const auto tree = read_base_tree(base.layer_descriptors, base.digest, blobs, cache, base.name, test_log());
  BOOST_TEST(tree.complete);
  BOOST_TEST(tree.links.count("bin") == 1);
  BOOST_TEST(tree.links.count("lib") == 0);                         // whited out
  BOOST_TEST(tree.links.count("sbin") == 0);                        // a directory in its place
  BOOST_TEST(tree.links.count("lib64") == 1);                       // an opaque directory below a link does not remove the link
  BOOST_TEST(tree.links.count(std::string(120, 'd') + "/x") == 1);  // a PAX name
  BOOST_TEST(!tree.passwd.has_value());                             // etc emptied by layer 2
  BOOST_TEST(tree.group.value_or("") == "g:x:7:\n");
  // Read once: the next build takes the summary kept under the base's digest, layers or not.
  for (const auto& blob : t.layer_blobs) std::filesystem::remove(layout_blob(t.spec.image.layout, sha256_digest(blob)));
  const auto again = read_base_tree(base.layer_descriptors, base.digest, blobs, cache, base.name, test_log());
  BOOST_TEST((again.links == tree.links));
  BOOST_TEST((again.group == tree.group));
  // Without the summary and without the layers, the base is named.
  std::filesystem::remove_all(cache);
  const auto what = error_of([&] { read_base_tree(base.layer_descriptors, base.digest, blobs, cache, base.name, test_log()); });
  BOOST_TEST(what.find("BASE registry.test/team/base:1: its layer sha256:") != std::string::npos, what);
}

BOOST_AUTO_TEST_CASE(base_layers_are_fetched_once_per_digest_and_checked) {
  Base t({tar_of(merged_usr()), tar_of({{"srv/", '5'}})}, true);
  const auto base = t.resolve();
  const auto blobs = t.spec.image.layout / "blobs" / "sha256";
  auto client = t.client();
  BOOST_TEST(fetch_base_layers(client, base.layer_descriptors, blobs, base.name, test_log()) == 2);
  const auto reads = t.registry.count("GET", "/blobs/");
  BOOST_TEST(fetch_base_layers(client, base.layer_descriptors, blobs, base.name, test_log()) == 0);
  BOOST_TEST(t.registry.count("GET", "/blobs/") == reads);  // no request: they are in the layout
  for (const auto& blob : t.layer_blobs)
    BOOST_TEST(read_text_file(layout_blob(t.spec.image.layout, sha256_digest(blob))) == blob);
  // A layer served with other content fails, and leaves nothing in the layout.
  std::filesystem::remove_all(blobs);
  for (auto& [digest, bytes] : t.registry.blobs)
    if (bytes == t.layer_blobs[1]) bytes = "other";
  const auto what = error_of([&] { fetch_base_layers(client, base.layer_descriptors, blobs, base.name, test_log()); });
  BOOST_TEST(what.find("other content") != std::string::npos, what);
  BOOST_TEST(!std::filesystem::exists(layout_blob(t.spec.image.layout, sha256_digest(t.layer_blobs[1]))));
  for (const auto& e : std::filesystem::directory_iterator(blobs))
    BOOST_TEST(!e.path().filename().string().starts_with(".fetch-"), e.path());
}

BOOST_AUTO_TEST_CASE(on_a_merged_usr_base_files_for_bin_go_to_usr_bin_and_bin_stays_a_link) {
  Base t({tar_of(merged_usr())});
  const auto entry = t.dir.file("entry.sh", "echo hi\n");
  t.dir.file("tree/bin/tool", "t");
  t.dir.file("tree/lib/x86_64-linux-gnu/libc.so.6", "c");
  t.spec.image.files = {{entry, "/bin/entry.sh"}, {t.dir.path() / "tree", "/"}};
  const auto base = t.resolved_with_layers();
  const auto image = assemble_image(t.spec, Platform{"linux", "amd64", ""}, {}, test_log(), &base);
  const auto tar = t.our_layer(image);
  BOOST_TEST(has(tar, "usr/bin/entry.sh"), names(tar));
  BOOST_TEST(has(tar, "usr/bin/tool"), names(tar));
  BOOST_TEST(has(tar, "usr/lib/x86_64-linux-gnu/libc.so.6"), names(tar));
  for (const auto* link : {"bin/", "bin", "lib/", "lib"}) BOOST_TEST(!has(tar, link), link << " in " << names(tar));
  // On scratch nothing is a link: the paths stay as given.
  t.spec.image.files = {{entry, "/bin/entry.sh"}};
  const auto scratch = assemble_image(t.spec, Platform{"linux", "amd64", ""}, {}, test_log());
  BOOST_TEST(has(t.our_layer(scratch), "bin/entry.sh"));
}

BOOST_AUTO_TEST_CASE(a_user_name_must_be_an_account_of_the_image) {
  const Platform amd64{"linux", "amd64", ""};
  Base t({tar_of(merged_usr())});
  const auto f = t.dir.file("f.txt", "x");
  t.spec.image.files = {{f, "/srv/f.txt"}};
  t.spec.image.entrypoint = {"/bin/sh"};
  // On scratch there is no /etc/passwd: a name cannot start; numeric ids can.
  t.spec.image.user = "app";
  auto what = error_of([&] { assemble_image(t.spec, amd64, {}, test_log()); });
  BOOST_TEST(what.find("USER app: the image has no /etc/passwd (scratch has none, nor do FILES)") != std::string::npos, what);
  BOOST_TEST(!std::filesystem::exists(t.spec.image.layout / "index.json"));
  t.spec.image.user = "65532:65532";
  assemble_image(t.spec, amd64, {}, test_log());
  // FILES may bring the accounts.
  t.spec.image.user = "app";
  t.spec.image.files.push_back({t.dir.file("passwd", "app:x:1000:1000::/:/sbin/nologin\n"), "/etc/passwd"});
  assemble_image(t.spec, amd64, {}, test_log());
  t.spec.image.files.pop_back();
  // On a base: its /etc/passwd and /etc/group.
  const auto base = t.resolved_with_layers();
  assemble_image(t.spec, amd64, {}, test_log(), &base);
  t.spec.image.user = "app:staff";
  assemble_image(t.spec, amd64, {}, test_log(), &base);
  t.spec.image.user = "nobody";
  what = error_of([&] { assemble_image(t.spec, amd64, {}, test_log(), &base); });
  BOOST_TEST(
      what.find("USER nobody: /etc/passwd of the base registry.test/team/base:1 has no user `nobody`") != std::string::npos,
      what);
  t.spec.image.user = "app:wheel";
  what = error_of([&] { assemble_image(t.spec, amd64, {}, test_log(), &base); });
  BOOST_TEST(what.find("has no group `wheel`") != std::string::npos, what);
}

// ESSENTIALS accounts would replace the accounts of a base that has its own: refused, naming them;
// the other items go on such a base, and accounts on a base without any.
BOOST_AUTO_TEST_CASE(essentials_accounts_on_a_base_with_accounts_of_its_own_are_refused) {
  const Platform amd64{"linux", "amd64", ""};
  Base t({tar_of(merged_usr())});
  t.spec.image.files = {{t.dir.file("f.txt", "x"), "/srv/f.txt"}};
  t.spec.image.essentials = {"accounts", "tmp"};
  const auto base = t.resolved_with_layers();
  const auto what = error_of([&] { assemble_image(t.spec, amd64, {}, test_log(), &base); });
  BOOST_TEST(what.find("ESSENTIALS accounts: the base registry.test/team/base:1 has its own /etc/passwd (root, app), which "
                       "accounts would replace; leave accounts out of ESSENTIALS") != std::string::npos,
             what);
  BOOST_TEST(!std::filesystem::exists(t.spec.image.layout / "index.json"));
  t.spec.image.essentials = {"tmp"};
  t.spec.image.user = "app";  // the base's account
  const auto image = assemble_image(t.spec, amd64, {}, test_log(), &base);
  BOOST_TEST(has(t.our_layer(image), "tmp/"));
  Base bare({tar_of({{"./", '5'}, {"./usr/", '5'}})});
  bare.spec.image.files = t.spec.image.files;
  bare.spec.image.essentials = {"accounts"};
  bare.spec.image.user = "nonroot";
  const auto bare_base = bare.resolved_with_layers();
  BOOST_TEST(has(bare.our_layer(assemble_image(bare.spec, amd64, {}, test_log(), &bare_base)), "etc/passwd"));
}

BOOST_AUTO_TEST_SUITE_END()
