// What the staged targets link, from CMake's record to the SBOM's components: staged files stay
// the staged files, fetched sources become their repository at its commit, library files are named
// by their package, the project's static libraries are listed, interface libraries pass their links on.
#include "stage/linked.hpp"

#include <boost/test/unit_test.hpp>

#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/files.hpp"
#include "base/text.hpp"
#include "support/test_support.hpp"

using namespace mai;
using mai::test::TempDir;

BOOST_AUTO_TEST_SUITE(linked)

BOOST_AUTO_TEST_CASE(the_link_closure_resolves_to_staged_files_repositories_packages_and_project_libraries) {
  TempDir dir;
  const auto program = dir.file("b/hello");
  const auto zlib = dir.file("usr/lib/libz.a", "zlib archive");
  const auto vendored = dir.file("opt/libvendored.a", "vendored archive");
  // CMake's record, as _multiarch_link_record writes it (the token CMake failed to strip, say).
  const auto record = dir.file("links.json", R"({"format": 1, "nodes": [
    {"ref": "target:hello", "type": "EXECUTABLE", "imported": false, "file": ")" +
                                                 program.string() + R"(",
     "links": ["target:fetched", "target:ZLIB::ZLIB", "target:core"]},
    {"ref": "target:fetched", "type": "STATIC_LIBRARY", "imported": false, "file": "/b/_deps/libfetched.a",
     "links": ["target:fetched_util"],
     "repository": {"url": "https://ci:t0k3n@git.example/team/fetched.git", "commit": "aaaa", "dir": "/b/_deps/fetched-src"}},
    {"ref": "target:fetched_util", "type": "STATIC_LIBRARY", "imported": false, "file": "/b/_deps/libutil.a", "links": [],
     "repository": {"url": "https://git.example/team/fetched.git", "commit": "aaaa", "dir": "/b/_deps/fetched-src"}},
    {"ref": "target:ZLIB::ZLIB", "type": "UNKNOWN_LIBRARY", "imported": true, "file": ")" +
                                                 zlib.string() + R"(", "links": []},
    {"ref": "target:core", "type": "STATIC_LIBRARY", "imported": false, "file": "/b/libcore.a", "links": ["target:options"]},
    {"ref": "target:options", "type": "INTERFACE_LIBRARY", "imported": false,
     "links": ["file:)" + vendored.string() + R"(", "target:ZLIB::ZLIB"]},
    {"ref": "file:)" + vendored.string() + R"(", "type": "FILE", "file": ")" +
                                                 vendored.string() + R"(", "links": []}]})");
  const auto nodes = read_link_record(record).nodes;
  BOOST_TEST_REQUIRE(nodes.size() == 7U);
  const auto files = linked_library_files(nodes);
  BOOST_TEST(files.size() == 2U);  // libz.a and the vendored archive: the ones not built here
  const Package zlib1g{"zlib1g-dev", "1:1.2.13.dfsg-1", "amd64", "debian-12", "debian"};
  const auto linked = resolve_links(nodes, {{std::filesystem::weakly_canonical(program), "file:/usr/local/bin/hello"}},
                                    {{std::filesystem::weakly_canonical(zlib), zlib1g}});
  std::map<std::string, LinkedComponent> by_ref;
  for (const auto& c : linked.components) by_ref.emplace(c.ref, c);
  const std::string repo = "vcs:https://git.example/team/fetched.git@aaaa";
  BOOST_TEST_REQUIRE(by_ref.size() == 4U);  // the repository (two targets), zlib's package, core, the vendored file
  BOOST_TEST(by_ref.at(repo).kind == "repository");
  BOOST_TEST(by_ref.at(repo).name == "fetched");
  BOOST_TEST(by_ref.at(repo).url == "https://git.example/team/fetched.git");  // never the token
  BOOST_TEST(by_ref.at(repo).targets == (std::vector<std::string>{"fetched", "fetched_util"}), boost::test_tools::per_element());
  BOOST_TEST(by_ref.at("deb:zlib1g-dev:amd64").kind == "package");
  BOOST_TEST(by_ref.at("deb:zlib1g-dev:amd64").linkage == "static");
  BOOST_TEST(by_ref.at("deb:zlib1g-dev:amd64").sha256 == sha256_digest("zlib archive"));
  BOOST_TEST(by_ref.at("target:core").kind == "static-library");
  const auto vendored_ref = "linked:" + std::filesystem::weakly_canonical(vendored).string();
  BOOST_TEST(by_ref.at(vendored_ref).kind == "file");
  BOOST_TEST(by_ref.at(vendored_ref).sha256 == sha256_digest("vendored archive"));
  // The staged program links the repository, zlib and core; core links through its interface library;
  // the repository's own targets linking each other is no edge.
  BOOST_TEST(
      linked.edges.at("file:/usr/local/bin/hello") == (std::vector<std::string>{"deb:zlib1g-dev:amd64", "target:core", repo}),
      boost::test_tools::per_element());
  BOOST_TEST(linked.edges.at("target:core") == (std::vector<std::string>{"deb:zlib1g-dev:amd64", vendored_ref}),
             boost::test_tools::per_element());
  BOOST_TEST(linked.edges.at(repo).empty());

  // The stage's record reads back as written.
  const auto path = linked_path(dir.path(), "linux-amd64");
  write_linked(path, linked);
  const auto again = read_linked(path);
  BOOST_TEST(again.edges == linked.edges);
  BOOST_TEST_REQUIRE(again.components.size() == linked.components.size());
  BOOST_TEST(again.components[0].package->version == "1:1.2.13.dfsg-1");
  BOOST_TEST(read_linked(dir.path() / "missing.json").components.empty());
  BOOST_TEST(read_link_record(dir.path() / "missing.json").nodes.empty());
}

// A tree laid out as vcpkg lays out vcpkg_installed (manifest mode) or installed (classic mode): each
// port's files listed in vcpkg/info/<port>_<version>_<triplet>.list, relative to the root; its SBOM in
// <triplet>/share/<port>/vcpkg.spdx.json (SPDX 2.2: the port, the binary package, the upstream sources).
BOOST_AUTO_TEST_CASE(a_library_vcpkg_installed_is_named_by_its_port_from_the_port_s_own_sbom) {
  TempDir dir;
  const auto root = dir.path() / "vcpkg_installed";
  const auto archive = dir.file("vcpkg_installed/x64-linux/lib/libz.a", "vcpkg's zlib");
  dir.file("vcpkg_installed/x64-linux/lib/libother.a", "no port lists it");
  dir.file("vcpkg_installed/vcpkg/info/zlib_1.3.1-2_x64-linux.list",
           "x64-linux/\nx64-linux/include/zlib.h\nx64-linux/lib/\nx64-linux/lib/libz.a\nx64-linux/share/zlib/vcpkg.spdx.json\n");
  dir.file("vcpkg_installed/vcpkg/info/fmt_11.0.2_x64-linux.list", "x64-linux/lib/libfmt.a\n");
  const std::string spdx = R"({"spdxVersion": "SPDX-2.2", "SPDXID": "SPDXRef-DOCUMENT", "packages": [
    {"name": "zlib", "SPDXID": "SPDXRef-port", "versionInfo": "1.3.1#2", "licenseConcluded": "Zlib",
     "downloadLocation": "git+https://github.com/Microsoft/vcpkg#ports/zlib"},
    {"name": "zlib:x64-linux", "SPDXID": "SPDXRef-binary", "versionInfo": "ab12", "downloadLocation": "NONE"},
    {"name": "madler/zlib", "SPDXID": "SPDXRef-resource-0", "downloadLocation": "git+https://github.com/madler/zlib@v1.3.1"}]})";
  dir.file("vcpkg_installed/x64-linux/share/zlib/vcpkg.spdx.json", spdx);
  const auto port = vcpkg_port(archive);
  BOOST_TEST_REQUIRE(port.has_value());
  BOOST_TEST(port->ref == "vcpkg:zlib:x64-linux");
  BOOST_TEST(port->name == "zlib");
  BOOST_TEST(port->version == "1.3.1#2");  // the SPDX document's, not the list's file name
  BOOST_TEST(port->license == "Zlib");
  BOOST_TEST(port->abi == "ab12");
  BOOST_TEST(port->sources == std::vector<std::string>{"git+https://github.com/madler/zlib@v1.3.1"},
             boost::test_tools::per_element());
  BOOST_TEST(port->spdx_sha256 == sha256_digest(spdx));
  BOOST_TEST(vcpkg_purl(port->name, port->version) == "pkg:vcpkg/zlib@1.3.1?port_version=2");
  // A file no port lists, and a file outside any vcpkg tree, are no port: nothing is guessed.
  BOOST_TEST(!vcpkg_port(root / "x64-linux/lib/libother.a").has_value());
  BOOST_TEST(!vcpkg_port(dir.file("elsewhere/lib/libz.a")).has_value());
  // What named it is what the stage's depfile lists: the info directory, the list, the document.
  std::vector<std::filesystem::path> read;
  BOOST_TEST_REQUIRE(vcpkg_port(archive, &read).has_value());
  BOOST_TEST(read == (std::vector<std::filesystem::path>{root / "vcpkg/info", root / "vcpkg/info/zlib_1.3.1-2_x64-linux.list",
                                                         root / "x64-linux/share/zlib/vcpkg.spdx.json"}),
             boost::test_tools::per_element());
  // Without its SBOM the port is still named, at the version its list's name gives; the directory the
  // document would be written to stands for it.
  std::filesystem::remove(root / "x64-linux/share/zlib/vcpkg.spdx.json");
  read.clear();
  BOOST_TEST(vcpkg_port(archive, &read)->version == "1.3.1-2");
  BOOST_TEST_REQUIRE(read.size() == 3U);
  BOOST_TEST(read[2] == root / "x64-linux/share/zlib");
  std::filesystem::remove(root / "x64-linux/share/zlib");
  read.clear();
  BOOST_TEST(vcpkg_port(archive, &read).has_value());
  BOOST_TEST(read.back() == root / "x64-linux/share");  // the port's directory gone: the nearest there is
  dir.file("vcpkg_installed/x64-linux/share/zlib/vcpkg.spdx.json", spdx);

  // Linked by an imported target: the port's component, the archive's hash with it.
  const auto linked = resolve_links({{"target:hello", "EXECUTABLE", false, "/b/hello", {"target:ZLIB::ZLIB"}, "", "", ""},
                                     {"target:ZLIB::ZLIB", "UNKNOWN_LIBRARY", true, archive.string(), {}, "", "", ""}},
                                    {{"/b/hello", "file:/usr/local/bin/hello"}}, {});
  BOOST_TEST_REQUIRE(linked.components.size() == 1U);
  BOOST_TEST(linked.components[0].kind == "vcpkg");
  BOOST_TEST(linked.components[0].sha256 == sha256_digest("vcpkg's zlib"));
  BOOST_TEST(linked.components[0].linkage == "static");
  BOOST_TEST(linked.edges.at("file:/usr/local/bin/hello") == std::vector<std::string>{"vcpkg:zlib:x64-linux"},
             boost::test_tools::per_element());
  const auto path = dir.path() / "linked.json";
  write_linked(path, linked);
  const auto again = read_linked(path).components.at(0);
  BOOST_TEST(again.version == "1.3.1#2");
  BOOST_TEST(again.spdx_sha256 == sha256_digest(spdx));
  BOOST_TEST(again.sources == port->sources, boost::test_tools::per_element());
}

// A tree laid out as Conan 2 lays out its cache (<home>/p/<folder>/p/lib/libfoo.a) and as its CMakeDeps
// generator links it: foo::foo links $<$<CONFIG:Release>:CONAN_LIB::foo_foo_RELEASE>, which the record
// of a Debug build holds as an empty link. CMake found the package folder in foo-release-x86_64-data.cmake
// and the document a post_generate hook wrote (conan.tools.sbom's cyclonedx_1_6) beside it.
BOOST_AUTO_TEST_CASE(a_library_in_a_conan_package_folder_is_named_by_its_package_from_conan_s_sbom) {
  TempDir dir;
  const auto folder = dir.path() / "conan2/p/foo3b1f0e9a4c2d7/p";
  const auto archive = dir.file("conan2/p/foo3b1f0e9a4c2d7/p/lib/libfoo.a", "conan's foo");
  const auto debug_archive = dir.file("conan2/p/foo8c4d2a1b9e0f3/p/lib/libfoo.a", "conan's debug foo");
  const std::string document = R"({"components": [
    {"authors": [{"name": "Foo Team"}], "bom-ref": "pkg:conan/foo@1.2.3?rrev=0a1b2c3d4e5f60718293a4b5c6d7e8f9",
     "description": "A foo library", "externalReferences": [{"type": "website", "url": "https://ci:t0k3n@foo.example/"}],
     "licenses": [{"license": {"id": "MIT"}}], "name": "foo", "purl": "pkg:conan/foo@1.2.3", "type": "library",
     "version": "1.2.3"},
    {"bom-ref": "pkg:conan/bar@2.0?rrev=ff", "name": "bar", "purl": "pkg:conan/bar@2.0", "type": "library", "version": "2.0"}],
    "dependencies": [{"ref": "x", "dependsOn": ["pkg:conan/foo@1.2.3?rrev=0a1b2c3d4e5f60718293a4b5c6d7e8f9"]}],
    "metadata": {"component": {"bom-ref": "x", "name": "conan-sbom", "type": "library"}},
    "serialNumber": "urn:uuid:1c9b7d5e-4a3f-4e2b-9d8c-7a6b5c4d3e2f", "bomFormat": "CycloneDX", "specVersion": "1.6",
    "version": 1})";
  const auto sbom = dir.file("build/generators/sbom/sbom.cdx.json", document);
  const auto record = dir.file("links.json", R"({"format": 1, "roots": ["target:hello"],
    "conan": {"packages": [{"name": "foo", "version": "1.2.3", "folder": ")" +
                                                 folder.string() + R"("},
                           {"name": "foo", "version": "1.2.3", "folder": ")" +
                                                 debug_archive.parent_path().parent_path().string() + R"("}],
              "documents": [{"path": ")" + sbom.string() +
                                                 R"(", "sha256": "sha256:00"}]},
    "nodes": [
    {"ref": "target:hello", "type": "EXECUTABLE", "imported": false, "file": "/b/hello", "links": ["target:foo::foo"]},
    {"ref": "target:foo::foo", "type": "INTERFACE_LIBRARY", "imported": true,
     "links": ["target:CONAN_LIB::foo_foo_RELEASE", ""]},
    {"ref": "target:CONAN_LIB::foo_foo_RELEASE", "type": "STATIC_LIBRARY", "imported": true, "file": ")" +
                                                 archive.string() + R"(", "links": ["target:foo_DEPS_TARGET"]},
    {"ref": "target:foo_DEPS_TARGET", "type": "INTERFACE_LIBRARY", "imported": true, "links": []},
    {"ref": "target:CONAN_LIB::foo_foo_DEBUG", "type": "STATIC_LIBRARY", "imported": true, "file": ")" +
                                                 debug_archive.string() + R"(", "links": []}]})");
  const auto links = read_link_record(record);
  BOOST_TEST(links.roots == std::vector<std::string>{"target:hello"}, boost::test_tools::per_element());
  BOOST_TEST_REQUIRE(links.conan_packages.size() == 2U);
  BOOST_TEST(links.nodes.at(1).links.size() == 1U);  // the other configuration's link is none
  const auto linked = resolve_links(links, {{"/b/hello", "file:/usr/local/bin/hello"}}, {});
  // Only what this configuration links: the Debug library is in the record, but nothing reaches it.
  BOOST_TEST_REQUIRE(linked.components.size() == 1U);
  const auto& foo = linked.components[0];
  BOOST_TEST(foo.ref == "conan:foo@1.2.3");
  BOOST_TEST(foo.kind == "conan");
  BOOST_TEST(foo.version == "1.2.3");
  BOOST_TEST(foo.file == std::filesystem::weakly_canonical(archive).string());
  BOOST_TEST(foo.sha256 == sha256_digest("conan's foo"));
  BOOST_TEST(foo.linkage == "static");
  BOOST_TEST_REQUIRE(foo.conan.has_value());
  BOOST_TEST(foo.conan->bom_ref == "pkg:conan/foo@1.2.3?rrev=0a1b2c3d4e5f60718293a4b5c6d7e8f9");
  BOOST_TEST(foo.conan->purl == "pkg:conan/foo@1.2.3");
  BOOST_TEST(foo.conan->description == "A foo library");
  BOOST_CHECK(foo.conan->licenses == (std::vector<std::pair<std::string, std::string>>{{"id", "MIT"}}));
  BOOST_CHECK(foo.conan->references == (std::vector<std::pair<std::string, std::string>>{{"website", "https://foo.example/"}}));
  BOOST_TEST(foo.conan_document_sha256 == sha256_digest(document));  // what was read, not what CMake saw
  BOOST_TEST(linked.edges.at("file:/usr/local/bin/hello") == std::vector<std::string>{"conan:foo@1.2.3"},
             boost::test_tools::per_element());
  const auto path = dir.path() / "linked.json";
  write_linked(path, linked);
  const auto again = read_linked(path).components.at(0);
  BOOST_CHECK(again.conan->licenses == foo.conan->licenses);
  BOOST_TEST(again.conan->bom_ref == foo.conan->bom_ref);
  BOOST_TEST(again.conan_document_sha256 == foo.conan_document_sha256);

  // Without the document, the package is still named, from CMakeDeps' files alone.
  std::filesystem::remove(sbom);
  const auto without = resolve_links(links, {{"/b/hello", "file:/usr/local/bin/hello"}}, {});
  BOOST_TEST_REQUIRE(without.components.size() == 1U);
  BOOST_TEST(without.components[0].ref == "conan:foo@1.2.3");
  BOOST_TEST(!without.components[0].conan.has_value());
  // A document that is no CycloneDX fails the step with its name, rather than being taken for none.
  dir.file("build/generators/sbom/sbom.cdx.json", R"({"spdxVersion": "SPDX-2.3"})");
  BOOST_CHECK_THROW(resolve_links(links, {{"/b/hello", "file:/usr/local/bin/hello"}}, {}), Error);
  // A file outside every package folder is no Conan package.
  BOOST_TEST(!conan_package_of(dir.path() / "conan2/p/other/p/lib/libfoo.a", links.conan_packages).has_value());
  BOOST_TEST(!conan_package_of(folder.parent_path() / "pother/lib/libfoo.a", links.conan_packages).has_value());
}

// Conan's CycloneDX components as the SBOM takes them over: licenses in each of the forms Conan writes,
// only hashes CycloneDX names, references without userinfo, components without name or version skipped.
BOOST_AUTO_TEST_CASE(conan_s_cyclonedx_components_keep_only_what_cyclonedx_allows) {
  const auto components = conan_components(R"({"bomFormat": "CycloneDX", "specVersion": "1.4", "components": [
    {"name": "a", "version": "1", "purl": "pkg:npm/a@1", "licenses": [{"license": {"name": "Custom"}},
     {"license": {"expression": "MIT OR Apache-2.0"}}, {"expression": "BSD-3-Clause"}, 7],
     "hashes": [{"alg": "SHA-256", "content": "ABCDEF"}, {"alg": "CRC32", "content": "00"}, {"alg": "MD5", "content": "zz"}],
     "externalReferences": [{"type": "website", "url": ""}, {"type": "bogus", "url": "https://x"}]},
    {"name": "nameless-version"}, 3, {"version": "2"}]})");
  BOOST_TEST_REQUIRE(components.size() == 1U);
  BOOST_TEST(components[0].purl.empty());  // not a pkg:conan purl: the SBOM makes its own
  BOOST_CHECK(components[0].licenses ==
              (std::vector<std::pair<std::string, std::string>>{
                  {"name", "Custom"}, {"expression", "MIT OR Apache-2.0"}, {"expression", "BSD-3-Clause"}}));
  BOOST_CHECK(components[0].hashes == (std::vector<std::pair<std::string, std::string>>{{"SHA-256", "abcdef"}}));
  BOOST_TEST(components[0].references.empty());
  BOOST_CHECK_THROW(conan_components("[]"), Error);
  BOOST_CHECK_THROW(conan_components("{\"bomFormat\": \"CycloneDX\"}"), Error);
  BOOST_CHECK_THROW(conan_components("not json"), Error);
  BOOST_TEST(conan_purl("foo bar", "1.0+x") == "pkg:conan/foo%20bar@1.0%2Bx");
}

// FetchContent_Declare(... URL ... URL_HASH SHA256=...): CMake's record names the archive by what was
// declared; its tree has no git metadata. A token in the URL (userinfo or query) reaches no record.
BOOST_AUTO_TEST_CASE(a_library_fetched_as_an_archive_is_named_by_its_url_and_hash_without_credentials) {
  TempDir dir;
  const std::string hex(64, 'c');
  const auto record = dir.file("links.json", R"({"format": 1, "nodes": [
    {"ref": "target:hello", "type": "EXECUTABLE", "imported": false, "file": "/b/hello", "links": ["target:zip"]},
    {"ref": "target:zip", "type": "STATIC_LIBRARY", "imported": false, "file": "/b/_deps/libzip.a", "links": ["target:zip_util"],
     "archive": {"name": "zip", "url": "https://ci:t0k3n@downloads.example/zip-1.2.tar.gz?private_token=s3cr3t",
                 "hash": "SHA256:)" + hex + R"(", "version": "1.2"}},
    {"ref": "target:zip_util", "type": "STATIC_LIBRARY", "imported": false, "file": "/b/_deps/libzip_util.a", "links": [],
     "archive": {"name": "zip", "url": "https://downloads.example/zip-1.2.tar.gz", "hash": "sha256:)" +
                                                 hex + R"(",
                 "version": "1.2"}}]})");
  const auto nodes = read_link_record(record).nodes;
  BOOST_TEST_REQUIRE(nodes.size() == 3U);
  BOOST_TEST(nodes[1].archive_url == "https://downloads.example/zip-1.2.tar.gz");
  const auto linked = resolve_links(nodes, {{"/b/hello", "file:/usr/local/bin/hello"}}, {});
  const auto ref = "archive:https://downloads.example/zip-1.2.tar.gz@sha256:" + hex;
  BOOST_TEST_REQUIRE(linked.components.size() == 1U);  // both targets compiled from the one archive
  const auto& zip = linked.components[0];
  BOOST_TEST(zip.ref == ref);
  BOOST_TEST(zip.kind == "archive");
  BOOST_TEST(zip.name == "zip");
  BOOST_TEST(zip.version == "1.2");
  BOOST_TEST(zip.checksum == "sha256:" + hex);
  BOOST_TEST(zip.targets == (std::vector<std::string>{"zip", "zip_util"}), boost::test_tools::per_element());
  BOOST_TEST(linked.edges.at("file:/usr/local/bin/hello") == std::vector<std::string>{ref}, boost::test_tools::per_element());
  const auto path = dir.path() / "linked.json";
  write_linked(path, linked);
  const auto text = read_text_file(path);
  BOOST_TEST(text.find("t0k3n") == std::string::npos);
  BOOST_TEST(text.find("s3cr3t") == std::string::npos);
  const auto again = read_linked(path).components.at(0);
  BOOST_TEST(again.checksum == zip.checksum);
  BOOST_TEST(again.version == "1.2");
  BOOST_TEST(again.url == zip.url);
}

BOOST_AUTO_TEST_CASE(an_archive_purl_is_generic_with_its_checksum_and_download_url) {
  const std::string hex(64, 'd');
  BOOST_TEST(archive_purl("zip", "1.2", "https://downloads.example/zip-1.2.tar.gz", "sha256:" + hex) ==
             "pkg:generic/zip@1.2?checksum=sha256:" + hex + "&download_url=https%3A%2F%2Fdownloads.example%2Fzip-1.2.tar.gz");
  BOOST_TEST(archive_purl("zip", "", "file:///a/zip.tgz", "") == "pkg:generic/zip?download_url=file%3A%2F%2F%2Fa%2Fzip.tgz");
  BOOST_TEST(url_without_credentials("https://u:p@host/x.tgz?X-Amz-Signature=1#f") == "https://host/x.tgz");
}

// An imported library an ExternalProject built: CMake's record names the project's source (its URL and
// hash, or its git remote and the tree it clones into); the commit is the one checked out there at
// stage time, read from .git without running git.
BOOST_AUTO_TEST_CASE(a_library_an_external_project_built_is_named_by_that_project_s_source) {
  TempDir dir;
  const std::string commit(40, 'b');
  const std::string branch_commit(40, '7');
  const auto cloned = dir.path() / "ep" / "src" / "cloned";
  dir.file("ep/src/cloned/.git/HEAD", commit + "\n");
  const auto built = dir.file("ep/install/lib/libcloned.a", "built by the external project");
  const auto unpacked = dir.file("ep/install/lib/libunpacked.a", "built from an archive");
  const std::string hex(64, 'a');
  const auto record = dir.file("links.json", R"({"format": 1, "nodes": [
    {"ref": "target:hello", "type": "EXECUTABLE", "imported": false, "file": "/b/hello",
     "links": ["target:cloned", "target:unpacked"]},
    {"ref": "target:cloned", "type": "STATIC_LIBRARY", "imported": true, "file": ")" +
                                                 built.string() + R"(", "links": [],
     "repository": {"url": "https://ci:t0k3n@git.example/team/cloned.git", "commit": "", "dir": ")" +
                                                 cloned.string() + R"("}},
    {"ref": "target:unpacked", "type": "STATIC_LIBRARY", "imported": true, "file": ")" +
                                                 unpacked.string() + R"(", "links": [],
     "archive": {"name": "unpacked_ep", "url": "https://downloads.example/unpacked.tgz", "hash": "sha256:)" +
                                                 hex + R"(", "version": ""}}]})");
  const auto linked = resolve_links(read_link_record(record), {{"/b/hello", "file:/usr/local/bin/hello"}}, {});
  const auto repo = "vcs:https://git.example/team/cloned.git@" + commit;
  const auto archive = "archive:https://downloads.example/unpacked.tgz@sha256:" + hex;
  BOOST_TEST(linked.edges.at("file:/usr/local/bin/hello") == (std::vector<std::string>{archive, repo}),
             boost::test_tools::per_element());
  BOOST_TEST_REQUIRE(linked.components.size() == 2U);
  BOOST_TEST(linked.components[0].name == "unpacked_ep");
  BOOST_TEST(linked.components[1].kind == "repository");
  BOOST_TEST(linked.components[1].name == "cloned");
  BOOST_TEST(linked.components[1].commit == commit);
  BOOST_TEST(linked.components[1].targets == std::vector<std::string>{"cloned"}, boost::test_tools::per_element());

  // A branch checked out: its ref file, else packed-refs; no git metadata, no commit (and the library
  // is then named by its file, as any imported library).
  dir.file("ep/src/cloned/.git/HEAD", "ref: refs/heads/main\n");
  dir.file("ep/src/cloned/.git/packed-refs", "# pack-refs with: peeled\n" + branch_commit + " refs/heads/main\n");
  BOOST_TEST(checked_out_commit(cloned) == branch_commit);
  dir.file("ep/src/cloned/.git/refs/heads/main", commit + "\n");
  BOOST_TEST(checked_out_commit(cloned) == commit);
  BOOST_TEST(checked_out_commit(dir.path() / "ep" / "install").empty());
  std::filesystem::remove_all(cloned / ".git");
  const auto without_git = resolve_links(read_link_record(record), {{"/b/hello", "file:/usr/local/bin/hello"}}, {});
  BOOST_TEST(without_git.components[1].kind == "file");
}

BOOST_AUTO_TEST_CASE(a_repository_purl_is_github_for_github_and_generic_with_its_vcs_url_otherwise) {
  const std::string commit(40, 'a');
  for (const auto* url : {"https://github.com/fmtlib/fmt.git", "https://github.com/FmtLib/fmt/",
                          "ssh://git@github.com/fmtlib/fmt", "git@github.com:fmtlib/fmt.git"})
    BOOST_TEST(repository_purl("fmt", url, commit) == "pkg:github/fmtlib/fmt@" + commit, url);
  BOOST_TEST(repository_purl("lib", "https://git.example/team/lib.git", commit) ==
             "pkg:generic/lib@" + commit + "?vcs_url=git%2Bhttps%3A%2F%2Fgit.example%2Fteam%2Flib.git%40" + commit);
  BOOST_TEST(repository_purl("vendored", "", commit) == "pkg:generic/vendored@" + commit);
  BOOST_TEST(repository_name("https://git.example/team/lib.git") == "lib");
  BOOST_TEST(repository_name("git@host:team/lib") == "lib");
}

BOOST_AUTO_TEST_SUITE_END()
