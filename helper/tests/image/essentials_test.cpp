// ESSENTIALS in an assembled image: what each item puts where (as distroless has it), in a layer of
// its own below the project's, reproducibly; the paths the project makes too; the homes and /tmp
// keeping their owners and modes under the layers above; sources missing on this machine named by
// the package that provides them.
#include "image/essentials.hpp"

#include <boost/test/unit_test.hpp>
#include <filesystem>

#include "base/files.hpp"
#include "image/assemble.hpp"
#include "support/tar_reader.hpp"
#include "support/test_support.hpp"

using namespace mai;
using mai::test::entries_of;
using mai::test::error_of;
using mai::test::gunzip;
using mai::test::TarEntry;
using mai::test::test_log;

namespace {

const Platform kAmd64{"linux", "amd64", ""};
const std::string kPem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

// An image with every item, its sources in a directory of the test's: a CA bundle, and a time zone
// database with a file, a link inside it, and links out of it (Debian's localtime -> /etc/localtime).
struct Image {
  mai::test::TempDir dir;
  Spec spec;
  Image() {
    spec.name = "x";
    spec.tags = {"1"};
    spec.image.enabled = true;
    spec.image.layout = dir.path() / "state" / "oci";
    spec.image.created = 1700000000;
    spec.image.user = "nonroot";
    spec.image.essentials = {"accounts", "ca-certificates", "tzdata", "tmp"};
    spec.image.ca_bundle = dir.file("bundle.crt", kPem);
    spec.image.zoneinfo = dir.path() / "zoneinfo";
    dir.file("zoneinfo/Europe/Berlin", "TZif2 Berlin");
    dir.file("zoneinfo/zone.tab", "DE\t+5230+01322\tEurope/Berlin\n");
    std::filesystem::create_directories(spec.image.zoneinfo / "US");
    std::filesystem::create_symlink("../Europe/Berlin", spec.image.zoneinfo / "US/Eastern");  // as tzdata's links
    std::filesystem::create_symlink("/etc/localtime", spec.image.zoneinfo / "localtime");
    std::filesystem::create_symlink("../../etc/passwd", spec.image.zoneinfo / "outside");
  }
  AssembledImage assemble() { return assemble_image(spec, kAmd64, {}, test_log()); }
  std::vector<TarEntry> layer(const AssembledImage& image, std::size_t i) {
    return entries_of(gunzip(read_text_file(layout_blob(spec.image.layout, image.layers.at(i).blob.digest))));
  }
};

const TarEntry& entry(const std::vector<TarEntry>& tar, const std::string& name) {
  for (const auto& e : tar)
    if (e.name == name) return e;
  BOOST_FAIL("no entry " + name);
  static const TarEntry none;
  return none;
}

bool has(const std::vector<TarEntry>& tar, const std::string& name) {
  return std::any_of(tar.begin(), tar.end(), [&](const TarEntry& e) { return e.name == name; });
}

}  // namespace

BOOST_AUTO_TEST_SUITE(essentials)

BOOST_AUTO_TEST_CASE(each_item_puts_what_distroless_has_in_a_layer_of_its_own) {
  Image t;
  t.spec.image.files = {{t.dir.file("app.toml", "conf"), "/etc/app.toml"}};
  const auto image = t.assemble();  // USER nonroot: the account is found in the essentials' /etc/passwd
  BOOST_TEST_REQUIRE(image.layers.size() == 2u);
  BOOST_TEST(image.layers.at(0).comment == "what a service needs (ESSENTIALS accounts, ca-certificates, tzdata, tmp)");
  const auto tar = t.layer(image, 0);
  for (const auto& e : tar) BOOST_TEST(e.mtime == 1700000000, e.name);  // never a time of this machine
  // accounts
  BOOST_TEST(entry(tar, "etc/passwd").body == kEssentialPasswd);
  BOOST_TEST(entry(tar, "etc/passwd").mode == 0644u);
  BOOST_TEST(entry(tar, "etc/group").body == kEssentialGroup);
  BOOST_TEST(entry(tar, "root/").mode == 0700u);
  BOOST_TEST(entry(tar, "root/").uid == 0u);
  BOOST_TEST(entry(tar, "home/").mode == 0755u);
  BOOST_TEST(entry(tar, "home/nonroot/").mode == 0700u);
  BOOST_TEST(entry(tar, "home/nonroot/").uid == 65532u);
  BOOST_TEST(entry(tar, "home/nonroot/").gid == 65532u);
  // ca-certificates: the bundle as it is, and links where other TLS libraries look.
  BOOST_TEST(entry(tar, "etc/ssl/certs/ca-certificates.crt").body == kPem);
  BOOST_TEST(entry(tar, "etc/ssl/certs/ca-certificates.crt").mode == 0644u);
  BOOST_TEST(entry(tar, "usr/lib/ssl/cert.pem").link == "../../../etc/ssl/certs/ca-certificates.crt");
  BOOST_TEST(entry(tar, "etc/ssl/cert.pem").link == "certs/ca-certificates.crt");
  BOOST_TEST(entry(tar, "etc/pki/tls/certs/ca-bundle.crt").link == "../../../ssl/certs/ca-certificates.crt");
  for (const auto& [link, target] : kCaBundleLinks)  // each lands on the bundle
    BOOST_TEST((std::filesystem::path(link).parent_path() / target).lexically_normal() == "etc/ssl/certs/ca-certificates.crt");
  // tzdata: files and the links inside the database; none that leads out of it.
  BOOST_TEST(entry(tar, "usr/share/zoneinfo/Europe/Berlin").body == "TZif2 Berlin");
  BOOST_TEST(entry(tar, "usr/share/zoneinfo/US/Eastern").link == "../Europe/Berlin");
  BOOST_TEST(has(tar, "usr/share/zoneinfo/zone.tab"));
  BOOST_TEST(!has(tar, "usr/share/zoneinfo/localtime"));
  BOOST_TEST(!has(tar, "usr/share/zoneinfo/outside"));
  // tmp
  BOOST_TEST(entry(tar, "tmp/").mode == 01777u);
  BOOST_TEST(entry(tar, "tmp/").uid == 0u);
  // This machine's files are inputs of the build step: a changed bundle or database rebuilds it.
  for (const auto& input : {t.spec.image.ca_bundle, t.spec.image.zoneinfo / "Europe/Berlin", t.spec.image.zoneinfo / "US"})
    BOOST_TEST((std::find(image.inputs.begin(), image.inputs.end(), input) != image.inputs.end()), input);

  // The same sources, the same layer; a changed bundle changes that layer only.
  const auto again = t.assemble();
  BOOST_TEST(again.layers.at(0).blob.digest == image.layers.at(0).blob.digest);
  BOOST_TEST(again.manifest.digest == image.manifest.digest);
  t.dir.file("bundle.crt", kPem + kPem);
  const auto renewed = t.assemble();
  BOOST_TEST(renewed.layers.at(0).blob.digest != image.layers.at(0).blob.digest);
  BOOST_TEST(renewed.layers.at(1).blob.digest == image.layers.at(1).blob.digest);
}

BOOST_AUTO_TEST_CASE(items_left_out_put_nothing_and_none_leaves_the_image_as_it_was) {
  Image t;
  t.spec.image.user.clear();
  t.spec.image.files = {{t.dir.file("app.toml", "conf"), "/etc/app.toml"}};
  t.spec.image.essentials = {"tmp"};
  auto tar = t.layer(t.assemble(), 0);
  BOOST_TEST(tar.size() == 1u);
  BOOST_TEST(entry(tar, "tmp/").mode == 01777u);
  // No ESSENTIALS: no layer for them, and the image's digest is the one it had before they existed.
  t.spec.image.essentials.clear();
  const auto image = t.assemble();
  BOOST_TEST(image.layers.size() == 1u);
  BOOST_TEST(image.layers.at(0).comment == "FILES");
  BOOST_TEST(!std::filesystem::exists(t.spec.image.layout.parent_path() / "essentials"));
}

BOOST_AUTO_TEST_CASE(a_path_they_make_that_the_project_makes_too_is_refused_and_nothing_is_written) {
  Image t;
  const auto refused = [&](const std::string& expected) {
    std::filesystem::remove_all(t.spec.image.layout);
    const auto what = error_of([&] { t.assemble(); });
    BOOST_TEST(what.find(expected) != std::string::npos, what);
    BOOST_TEST(!std::filesystem::exists(t.spec.image.layout / "index.json"));
  };
  const auto passwd = t.dir.file("files/etc/passwd", "app:x:1000:1000::/:/sbin/nologin\n");
  t.spec.image.files = {{passwd, "/etc/passwd"}};
  refused("/etc/passwd is made by ESSENTIALS accounts and given by " + passwd.string() + " too: leave one of them out");
  t.spec.image.files = {{t.dir.path() / "files", "/"}};  // a directory bringing one
  refused("/etc/passwd is made by ESSENTIALS accounts and given by " + passwd.string() + " too");
  t.spec.image.files.clear();
  t.spec.image.directories = {{"/tmp", {std::nullopt, std::nullopt, 0700, 0}}};
  refused("/tmp is made by ESSENTIALS tmp and given by DIRECTORIES or FILES too with another owner or mode");
  t.spec.image.directories = {{"/usr/share/zoneinfo/Europe/Berlin", {}}};
  refused("/usr/share/zoneinfo/Europe/Berlin is made by ESSENTIALS tzdata");
  // The same directory with the same owner and mode is no conflict.
  t.spec.image.directories = {{"/tmp", {std::nullopt, std::nullopt, 01777, 0}}};
  t.assemble();
}

// An upper layer's entry replaces a lower one's for the container: a directory ESSENTIALS give an
// owner or a mode keeps them where the project's files put something inside it.
BOOST_AUTO_TEST_CASE(homes_and_tmp_keep_their_owner_and_mode_under_the_project_s_files) {
  Image t;
  t.spec.image.files = {{t.dir.file("app.toml", "conf"), "/home/nonroot/.config/app.toml", {65532, 65532, 0600, 0}},
                        {t.dir.file("seed", "x"), "/tmp/seed"}};
  const auto image = t.assemble();
  const auto files = t.layer(image, 1);
  BOOST_TEST(entry(files, "home/nonroot/").uid == 65532u);
  BOOST_TEST(entry(files, "home/nonroot/").mode == 0700u);
  BOOST_TEST(entry(files, "home/nonroot/.config/").uid == 0u);  // what nobody gave stays root's
  BOOST_TEST(entry(files, "tmp/").mode == 01777u);
  BOOST_TEST(entry(files, "home/").mode == 0755u);
}

BOOST_AUTO_TEST_CASE(a_missing_source_names_the_package_that_provides_it_and_nothing_is_written) {
  Image t;
  const auto refused = [&](const std::string& expected) {
    std::filesystem::remove_all(t.spec.image.layout);
    const auto what = error_of([&] { t.assemble(); });
    BOOST_TEST(what.find(expected) != std::string::npos, what);
    BOOST_TEST(!std::filesystem::exists(t.spec.image.layout / "index.json"));
  };
  const auto bundle = t.spec.image.ca_bundle;
  t.spec.image.ca_bundle = t.dir.path() / "nowhere.crt";
  refused("ESSENTIALS ca-certificates: there is no CA bundle at " + t.spec.image.ca_bundle.string() +
          " (MULTIARCH_IMAGE_CA_BUNDLE) on this machine; install the package ca-certificates");
  t.spec.image.ca_bundle = t.dir.file("key.pem", "-----BEGIN PRIVATE KEY-----\n");
  refused("holds no PEM certificate (no -----BEGIN CERTIFICATE----- line)");
  t.spec.image.ca_bundle = bundle;
  t.spec.image.zoneinfo = t.dir.path() / "no-zoneinfo";
  refused("ESSENTIALS tzdata: there is no time zone database at " + t.spec.image.zoneinfo.string() +
          " on this machine; install the package tzdata (apt-get install tzdata)");
}

BOOST_AUTO_TEST_SUITE_END()
