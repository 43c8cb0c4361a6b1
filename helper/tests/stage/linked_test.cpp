// What the staged targets link, from CMake's record to the SBOM's components: staged files stay
// the staged files, fetched sources become their repository at its commit, library files are named
// by their package, the project's static libraries are listed, interface libraries pass their links on.
#include "stage/linked.hpp"

#include <boost/test/unit_test.hpp>

#include "base/digest.hpp"
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
  const auto nodes = read_link_record(record);
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
  BOOST_TEST(read_link_record(dir.path() / "missing.json").empty());
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
