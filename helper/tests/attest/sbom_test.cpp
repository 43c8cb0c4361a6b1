// The SBOM's pieces without a registry: dpkg's answers read, purls encoded, a Dockerfile's bases
// found, and the CycloneDX document: reproducible, every edge resolvable, the runtime's files inside
// the package that ships them, secrets left out.
#include "attest/sbom.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <set>
#include <thread>

#include "base/digest.hpp"
#include "base/process.hpp"
#include "base/text.hpp"
#include "oci/media_types.hpp"
#include "stage/packages.hpp"
#include "support/fake_runner.hpp"
#include "support/test_support.hpp"

using namespace mai;
using mai::test::FakeRunner;
using mai::test::TempDir;
using mai::test::test_log;
namespace json = boost::json;

BOOST_AUTO_TEST_SUITE(sbom)

BOOST_AUTO_TEST_CASE(dpkg_search_output_names_one_owner_per_path) {
  const auto owners = parse_dpkg_search(
      "libc6:amd64: /lib/x86_64-linux-gnu/libc.so.6\n"
      "libstdc++6-arm64-cross: /usr/aarch64-linux-gnu/lib/libstdc++.so.6\n"
      "diversion by dash from: /bin/sh\n"
      "libfoo, libbar: /usr/lib/shared\n"
      "dpkg-query: no path found matching pattern /usr/lib/x86_64-linux-gnu/libc.so.6\n");
  BOOST_TEST(owners.size() == 2U);
  BOOST_TEST(owners.at("/lib/x86_64-linux-gnu/libc.so.6") == "libc6:amd64");
  BOOST_TEST(owners.at("/usr/aarch64-linux-gnu/lib/libstdc++.so.6") == "libstdc++6-arm64-cross");
}

BOOST_AUTO_TEST_CASE(a_runtime_file_is_found_under_its_merged_usr_name_with_its_version_and_purl) {
  TempDir dir;
  const auto os_release = dir.file("os-release", "PRETTY_NAME=\"Debian GNU/Linux 12\"\nID=debian\nVERSION_ID=\"12\"\n");
  FakeRunner runner;
  runner.on({"-S"}, {1, "libc6:amd64: /lib/x86_64-linux-gnu/libc.so.6\n", ""});
  runner.on({"-W"}, {0, "libc6:amd64\tlibc6\t2.36-9+deb12u9\tamd64\n", ""});
  const std::filesystem::path libc = "/usr/lib/x86_64-linux-gnu/libc.so.6";
  const std::filesystem::path unowned = "/opt/sysroot/lib/libm.so.6";
  const auto found = owning_packages({libc, unowned}, runner, test_log(), os_release);
  BOOST_TEST_REQUIRE(found.size() == 1U);
  const auto& p = found.at(libc);
  BOOST_TEST(p.name == "libc6");
  BOOST_TEST(p.version == "2.36-9+deb12u9");
  BOOST_TEST(p.purl() == "pkg:deb/debian/libc6@2.36-9%2Bdeb12u9?arch=amd64&distro=debian-12");
  // One search for all names, one query for the packages found: no call per file.
  BOOST_TEST_REQUIRE(runner.commands.size() == 2U);
  const auto& search = runner.commands[0].argv;
  BOOST_TEST((std::find(search.begin(), search.end(), "/lib/x86_64-linux-gnu/libc.so.6") != search.end()));
  BOOST_TEST(runner.commands[1].argv.back() == "libc6:amd64");
}

BOOST_AUTO_TEST_CASE(a_machine_without_dpkg_gives_no_packages_and_no_error) {
  class Missing final : public Runner {
   public:
    Result run(const Command& c, Output, const Log&) override {
      throw Error(Exit::engine_missing, "'" + c.argv[0] + "' was not found");
    }
  } runner;
  BOOST_TEST(owning_packages({"/lib/libc.so.6"}, runner, test_log()).empty());
}

namespace {

// A machine with a dpkg database (its status file) and a dpkg-query that knows libc6 at `version`.
struct DpkgMachine {
  TempDir dir;
  std::filesystem::path os_release = dir.file("os-release", "ID=debian\nVERSION_ID=\"12\"\n");
  std::filesystem::path status = dir.file("dpkg/status", "Package: libc6\nVersion: 2.36-9\n");
  PackageCache cache{dir.path() / "state" / "stage-linux-amd64.packages.json", status};
  FakeRunner runner;
  explicit DpkgMachine(const std::string& version) { answer(version); }
  void answer(const std::string& version) {
    runner.rules.clear();
    runner.on({"-S"}, {0, "libc6:amd64: /usr/lib/x86_64-linux-gnu/libc.so.6\n", ""});
    runner.on({"-W"}, {0, "libc6:amd64\tlibc6\t" + version + "\tamd64\n", ""});
  }
  // As dpkg writes it after an install, an upgrade or a removal: a new file renamed over the old one.
  void upgrade(const std::string& version) {
    const auto next = dir.file("dpkg/status-new", "Package: libc6\nVersion: " + version + "\n");
    std::filesystem::rename(next, status);
    answer(version);
  }
  std::map<std::filesystem::path, Package> lookup(const std::vector<std::filesystem::path>& files) {
    std::filesystem::create_directories(cache.file.parent_path());
    return owning_packages(files, runner, test_log(), os_release, cache);
  }
};

const std::filesystem::path kLibc = "/usr/lib/x86_64-linux-gnu/libc.so.6";

}  // namespace

BOOST_AUTO_TEST_CASE(a_rerun_asking_about_the_same_files_in_the_same_dpkg_database_runs_no_dpkg_query) {
  DpkgMachine machine("2.36-9");
  const auto first = machine.lookup({kLibc});
  BOOST_TEST(machine.runner.commands.size() == 2U);
  const auto again = machine.lookup({kLibc});
  BOOST_TEST(machine.runner.commands.size() == 2U);  // nothing more asked
  BOOST_TEST_REQUIRE(again.size() == 1U);
  BOOST_TEST(again.at(kLibc).purl() == first.at(kLibc).purl());
  BOOST_TEST(again.at(kLibc).purl() == "pkg:deb/debian/libc6@2.36-9?arch=amd64&distro=debian-12");
}

BOOST_AUTO_TEST_CASE(an_upgrade_that_rewrites_the_dpkg_database_is_looked_up_again) {
  DpkgMachine machine("2.36-9");
  machine.lookup({kLibc});
  machine.upgrade("2.36-9+deb12u9");
  const auto after = machine.lookup({kLibc});
  BOOST_TEST(machine.runner.commands.size() == 4U);
  BOOST_TEST_REQUIRE(after.size() == 1U);
  BOOST_TEST(after.at(kLibc).version == "2.36-9+deb12u9");
  machine.lookup({kLibc});
  BOOST_TEST(machine.runner.commands.size() == 4U);  // and the new answer is the one remembered
}

BOOST_AUTO_TEST_CASE(a_change_of_the_files_asked_about_is_looked_up_again) {
  DpkgMachine machine("2.36-9");
  machine.lookup({kLibc});
  machine.lookup({kLibc, "/usr/lib/x86_64-linux-gnu/libm.so.6"});
  BOOST_TEST(machine.runner.commands.size() == 4U);
  machine.lookup({kLibc});
  BOOST_TEST(machine.runner.commands.size() == 6U);
}

BOOST_AUTO_TEST_CASE(an_answer_dpkg_failed_to_give_and_an_unreadable_cache_are_not_reused) {
  DpkgMachine machine("2.36-9");
  machine.runner.rules.clear();
  machine.runner.on({"-S"}, {2, "", "dpkg-query: error: the database is locked"});
  BOOST_TEST(machine.lookup({kLibc}).empty());
  machine.answer("2.36-9");
  BOOST_TEST(machine.lookup({kLibc}).size() == 1U);  // asked again, not the failed answer
  BOOST_TEST(machine.runner.commands.size() == 3U);
  std::ofstream(machine.cache.file) << "{\"key\": ";
  BOOST_TEST(machine.lookup({kLibc}).size() == 1U);
  BOOST_TEST(machine.runner.commands.size() == 5U);
}

// ESSENTIALS' packages are asked for by name: the CA bundle is no file of ca-certificates (its
// update-ca-certificates writes it). Only what dpkg says is installed counts; the answer is remembered
// as the file lookups' is, until the database changes.
// Found by fuzzing (fuzz-dpkg): a -W line with an empty package field gave a package without a name.
BOOST_AUTO_TEST_CASE(a_dpkg_listing_line_that_names_no_package_is_dropped) {
  TempDir dir;
  const auto os_release = dir.file("os-release", "ID=debian\nVERSION_ID=\"12\"\n");
  FakeRunner runner;
  runner.on({"-S"}, {0,
                     "libc6:amd64: /lib/x86_64-linux-gnu/libc.so.6\n"
                     "libstdc++6:amd64: /usr/lib/x86_64-linux-gnu/libstdc++.so.6\n"
                     "libgcc-s1:amd64: /lib/x86_64-linux-gnu/libgcc_s.so.1\n",
                     ""});
  runner.on({"-W"}, {0,
                     std::string("libc6:amd64\t\t2.36-9+deb12u9\tamd64\n"           // no package
                                 "libstdc++6:amd64\tlibstdc++6\t12.2\x01\tamd64\n"  // a control character
                                 "libgcc-s1:amd64\tlibgcc-s1\t12.2.0-14\tam d64\n"),
                     ""});
  const auto found = owning_packages(
      {"/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libgcc_s.so.1"},
      runner, test_log(), os_release);
  BOOST_TEST(found.empty());

  FakeRunner installed;
  installed.on({"-W"}, {0, "ii \t\t2025b-0+deb12u2\tall\nii \tTzdata\t2025b\tall\nii \ttzdata\t2025b-0+deb12u2\tall\n", ""});
  const auto listed = installed_packages({"tzdata"}, installed, test_log(), os_release, {});
  BOOST_TEST_REQUIRE(listed.size() == 1U);
  BOOST_TEST(listed.at("tzdata").name == "tzdata");
}

BOOST_AUTO_TEST_CASE(installed_packages_are_asked_by_name_once_until_dpkg_changes) {
  DpkgMachine machine("2.36-9");
  machine.runner.rules.clear();
  machine.runner.on({"-W"}, {1,
                             "ii \ttzdata\t2025b-0+deb12u2\tall\n"
                             "ii \tca-certificates\t20230311+deb12u1\tall\n"
                             "rc \tlibold\t1.0\tamd64\n",
                             "dpkg-query: no packages found matching nothing\n"});
  std::filesystem::create_directories(machine.cache.file.parent_path());
  const auto ask = [&] {
    return installed_packages({"ca-certificates", "tzdata", "libold", "nothing"}, machine.runner, test_log(), machine.os_release,
                              machine.cache);
  };
  auto found = ask();
  BOOST_TEST_REQUIRE(found.size() == 2U);  // removed (rc) and unknown names are not installed
  BOOST_TEST(found.at("tzdata").purl() == "pkg:deb/debian/tzdata@2025b-0%2Bdeb12u2?arch=all&distro=debian-12");
  BOOST_TEST(found.at("ca-certificates").version == "20230311+deb12u1");
  BOOST_TEST_REQUIRE(machine.runner.commands.size() == 1U);
  const auto& argv = machine.runner.commands[0].argv;
  BOOST_TEST((std::vector<std::string>(argv.end() - 4, argv.end()) ==
              std::vector<std::string>{"ca-certificates", "tzdata", "libold", "nothing"}));
  found = ask();
  BOOST_TEST(machine.runner.commands.size() == 1U);  // remembered
  BOOST_TEST(found.at("tzdata").distro == "debian-12");
  machine.upgrade("2.36-10");
  machine.runner.rules.clear();
  machine.runner.on({"-W"}, {0, "ii \ttzdata\t2025c-0+deb12u1\tall\n", ""});
  BOOST_TEST(ask().at("tzdata").version == "2025c-0+deb12u1");
  BOOST_TEST(machine.runner.commands.size() == 2U);
}

// ESSENTIALS' files (the build step's record) sit inside the package that ships them, by path; the
// accounts the helper writes are files of their own; and only an image with ESSENTIALS lists them.
BOOST_AUTO_TEST_CASE(essentials_files_are_listed_inside_their_packages_while_the_image_has_essentials) {
  TempDir dir;
  const auto platform = parse_platform("linux/arm64");
  const Package tzdata{"tzdata", "2025b-0+deb12u2", "all", "debian-12", "debian"};
  write_staged_files(
      essentials_files_path(dir.path(), platform),
      {{"/etc/passwd", "essentials", sha256_digest("p"), "", {}, "", "", std::nullopt},
       {"/usr/share/zoneinfo/Europe/Berlin",
        "essentials",
        sha256_digest("b"),
        "",
        {},
        "",
        "/usr/share/zoneinfo/Europe/Berlin",
        tzdata},
       {"/usr/share/zoneinfo/UTC", "essentials", sha256_digest("u"), "", {}, "", "/usr/share/zoneinfo/UTC", tzdata}});
  auto j = mai::test::spec_json(dir.path());
  j.erase("dockerfile");
  j["image"] = {{"base", "scratch"}, {"layout", (dir.path() / "oci").string()}, {"essentials", {"accounts", "tzdata"}}};
  j["provenance"] = json::object{{"builder_id", "urn:test"},
                                 {"cmake_version", "3.25.1"},
                                 {"generator", "Ninja"},
                                 {"compiler", ""},
                                 {"source_dir", "/src"},
                                 {"git", ""},
                                 {"sbom", true}};
  FakeRunner runner;
  const auto document = [&](const json::object& spec) {
    return json::parse(
               sbom_artifact(parse_spec(spec, "spec.json"), platform, sha256_digest("m"), "", {}, dir.path(), runner, test_log())
                   .document)
        .as_object();
  };
  const auto doc = document(j);
  const json::object* package = nullptr;
  for (const auto& c : doc.at("components").as_array())
    if (c.as_object().at("bom-ref") == "deb:tzdata:all") package = &c.as_object();
  BOOST_TEST_REQUIRE(package);
  BOOST_TEST(package->at("version") == "2025b-0+deb12u2");
  BOOST_TEST(package->at("purl") == "pkg:deb/debian/tzdata@2025b-0%2Bdeb12u2?arch=all&distro=debian-12");
  const auto& files = package->at("components").as_array();
  BOOST_TEST_REQUIRE(files.size() == 2U);
  BOOST_TEST(files[0].as_object().at("name") == "/usr/share/zoneinfo/Europe/Berlin");
  BOOST_TEST(files[0].as_object().at("hashes").as_array()[0].as_object().at("content").as_string() ==
             sha256_digest("b").substr(7));
  const auto text = json::serialize(doc);
  BOOST_TEST(text.find(R"("bom-ref":"file:/etc/passwd")") != std::string::npos);
  BOOST_TEST(text.find(R"("value":"essentials")") != std::string::npos);  // its kind
  j.at("image").as_object().erase("essentials");  // a record left from when it had them is not the image's
  BOOST_TEST(json::serialize(document(j)).find("zoneinfo") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(purl_parts_are_percent_encoded_as_rfc_3986_asks) {
  BOOST_TEST(percent_encode("1:2.3+b1~rc") == "1%3A2.3%2Bb1~rc");
  BOOST_TEST(percent_encode("sha256:ab") == "sha256%3Aab");
}

BOOST_AUTO_TEST_CASE(a_dockerfile_names_its_bases_not_its_stages_nor_scratch) {
  const std::string dockerfile =
      "# syntax=docker/dockerfile:1\n"
      "ARG BASE=registry.example/base/runtime:1\n"
      "ARG TOOLS\n"
      "FROM --platform=$BUILDPLATFORM ${TOOLS} AS tools\n"
      "FROM $BASE AS build\n"
      "RUN make\n"
      "FROM build AS test\n"
      "FROM \\\n"
      "  scratch\n"
      "COPY --from=build /x /x\n"
      "from\tregistry.example/base/runtime:1\n"
      "FROM\tregistry.example/base/debug:2\tAS\tdebug\n";
  const auto bases = dockerfile_bases(dockerfile, {{"TOOLS", "registry.example/tools:2"}});
  BOOST_TEST(bases == (std::vector<std::string>{"registry.example/tools:2", "registry.example/base/runtime:1",
                                                "registry.example/base/debug:2"}),
             boost::test_tools::per_element());
  // A build argument overrides the ARG default; a variable nobody sets leaves the line out.
  BOOST_TEST(dockerfile_bases(dockerfile, {{"BASE", "other/base@sha256:" + std::string(64, 'a')}}).size() == 3U);
  BOOST_TEST(dockerfile_bases("FROM ${UNSET}\n", {}).empty());
}

BOOST_AUTO_TEST_CASE(secret_build_arguments_are_recognised_by_name) {
  for (const char* name : {"NPM_TOKEN", "db_password", "AWS_SECRET_ACCESS_KEY", "SSH_PRIVATE", "api_key", "DB_PASS", "MYSQL_PWD",
                           "GH_PAT", "REGISTRY_CREDS", "ghPat", "DB_PW", "PAT", "SIGNING_PIN", "passphrase", "Credentials"})
    BOOST_TEST(secret_name(name), name);
  for (const char* name : {"VERSION", "MESSAGE", "BASE", "PATH", "COMPAT", "PATTERN", "PIP_INDEX_URL", "SPINNER"})
    BOOST_TEST(!secret_name(name), name);
}

namespace {

// Every bom-ref in the document, nested components too.
void collect_refs(const json::array& components, std::set<std::string>& refs) {
  for (const auto& c : components) {
    refs.insert(std::string(c.at("bom-ref").as_string()));
    if (const auto* nested = c.as_object().if_contains("components")) collect_refs(nested->as_array(), refs);
  }
}

// The case below runs itself again in another process, told where to write its document (after `--`).
std::filesystem::path document_output() {
  const auto& suite = boost::unit_test::framework::master_test_suite();
  for (int i = 1; i + 1 < suite.argc; ++i)
    if (std::string_view(suite.argv[i]) == "--sbom-document-to") return suite.argv[i + 1];
  return {};
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_document_is_cyclonedx_1_6_reproducible_and_its_edges_resolve) {
  TempDir temp;
  const auto output = document_output();
  const auto dir = output.empty() ? temp.path() : output.parent_path();  // the same paths in both processes
  auto j = mai::test::spec_json(dir);
  j["build_args"] =
      json::array{json::object{{"name", "MESSAGE"}, {"value", "hi"}}, json::object{{"name", "NPM_TOKEN"}, {"value", "s3cr3t"}},
                  json::object{{"name", "PIP_INDEX_URL"}, {"value", "https://pip:p1ps3cr3t@pypi.example/simple"}}};
  j["provenance"] = json::object{{"builder_id", "urn:test"},
                                 {"cmake_version", "3.25.1"},
                                 {"generator", "Ninja"},
                                 {"compiler", "GNU 12.2.0"},
                                 {"source_dir", dir.string()},
                                 {"git", ""},
                                 {"source_date_epoch", 1700000000},
                                 {"sbom", true},
                                 {"project", "greeter"},
                                 {"project_version", "3.1.0"}};
  const auto spec = parse_spec(j, "spec.json");
  BOOST_TEST(spec.provenance.sbom);
  BOOST_TEST(spec.provenance.enabled);  // "statement" absent: on
  const Package libc{"libc6", "2.36-9+deb12u9", "amd64", "debian-12", "debian"};
  SbomInput in{spec,
               parse_platform("linux/amd64"),
               sha256_digest("manifest"),
               {"git+https://gitlab-ci-token:glcbt-t0k3n@example.com/greeter.git", std::string(40, 'c')},
               {{"/usr/local/bin/greeter",
                 "program",
                 sha256_digest("p"),
                 "",
                 {"libgreet.so.1", "libc.so.6"},
                 "/lib64/ld-linux-x86-64.so.2",
                 "",
                 std::nullopt},
                {"/usr/lib/libgreet.so.1", "library", sha256_digest("l"), "libgreet.so.1", {"libc.so.6"}, "", "", std::nullopt},
                {"/lib/libc.so.6",
                 "runtime",
                 sha256_digest("c"),
                 "libc.so.6",
                 {"ld-linux-x86-64.so.2"},
                 "",
                 "/usr/lib/x86_64-linux-gnu/libc.so.6",
                 libc},
                {"/lib64/ld-linux-x86-64.so.2",
                 "runtime",
                 sha256_digest("d"),
                 "ld-linux-x86-64.so.2",
                 {},
                 "",
                 "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
                 libc}},
               {{"registry.example/base/runtime:1", "registry.example/base/runtime", sha256_digest("base")}}};
  const auto text = sbom_document(in);
  if (!output.empty()) {  // the run in another process: its document, nothing more
    std::ofstream(output, std::ios::binary) << text;
    return;
  }
  // Reproducible: the same bytes again, and from another process started in a later second (nothing
  // taken from the clock, the process, its addresses or a seed of its own).
  BOOST_TEST(sbom_document(in) == text);
  const auto started = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  while (std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()) == started)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const auto again = dir / "again.json";
  ProcessRunner runner;
  const auto run = runner.run({{std::filesystem::read_symlink("/proc/self/exe").string(),
                                "--run_test=sbom/the_document_is_cyclonedx_1_6_reproducible_and_its_edges_resolve", "--",
                                "--sbom-document-to", again.string()}},
                              Output::capture, test_log());
  BOOST_TEST_REQUIRE(run.ok(), run.tail);
  BOOST_TEST(mai::test::read(again) == text);
  const auto doc = json::parse(text).as_object();
  BOOST_TEST(doc.at("bomFormat").as_string() == "CycloneDX");
  BOOST_TEST(doc.at("specVersion").as_string() == "1.6");
  BOOST_TEST(std::regex_match(std::string(doc.at("serialNumber").as_string()),
                              std::regex("urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")));
  BOOST_TEST(doc.at("metadata").at("timestamp").as_string() == "2023-11-14T22:13:20Z");  // SOURCE_DATE_EPOCH, not `now`
  // Without SOURCE_DATE_EPOCH no time at all: the clock made each build's document another one, and
  // an unchanged image gained an SBOM per build.
  j["provenance"].as_object().erase("source_date_epoch");
  const auto timeless = parse_spec(j, "spec.json");
  SbomInput without{timeless, in.platform, in.digest, in.source, in.files, in.bases, {}};
  const auto undated = json::parse(sbom_document(without)).as_object();
  BOOST_TEST(!undated.at("metadata").as_object().contains("timestamp"));
  const auto& root = doc.at("metadata").at("component").as_object();
  BOOST_TEST(root.at("name").as_string() == "greeter");
  BOOST_TEST(root.at("version").as_string() == "3.1.0");
  BOOST_TEST(json::serialize(root).find(std::string(40, 'c')) != std::string::npos);
  BOOST_TEST(text.find("s3cr3t") == std::string::npos);
  BOOST_TEST(text.find("build-arg:MESSAGE") != std::string::npos);
  // A URL's credentials: the value is kept without them, and the checkout's remote too.
  BOOST_TEST(text.find("https://pypi.example/simple") != std::string::npos);
  BOOST_TEST(text.find("https://example.com/greeter.git") != std::string::npos);
  BOOST_TEST(text.find("p1ps3cr3t") == std::string::npos);
  BOOST_TEST(text.find("t0k3n") == std::string::npos);

  std::set<std::string> refs{"project"};
  collect_refs(doc.at("components").as_array(), refs);
  std::map<std::string, std::set<std::string>> edges;
  for (const auto& d : doc.at("dependencies").as_array()) {
    const auto ref = std::string(d.at("ref").as_string());
    BOOST_TEST(refs.count(ref), ref);
    for (const auto& on : d.at("dependsOn").as_array()) {
      BOOST_TEST(refs.count(std::string(on.as_string())), on);
      edges[ref].insert(std::string(on.as_string()));
    }
  }
  // program -> project library -> runtime library, and the loader through PT_INTERP.
  BOOST_TEST(edges["file:/usr/local/bin/greeter"] == (std::set<std::string>{"file:/usr/lib/libgreet.so.1", "file:/lib/libc.so.6",
                                                                            "file:/lib64/ld-linux-x86-64.so.2"}),
             boost::test_tools::per_element());
  BOOST_TEST(edges["file:/usr/lib/libgreet.so.1"] == std::set<std::string>{"file:/lib/libc.so.6"},
             boost::test_tools::per_element());
  BOOST_TEST(edges["project"].count("image:registry.example/base/runtime:1"));
  // The runtime's two files are inside one package component with the package's purl.
  const auto& components = doc.at("components").as_array();
  const auto package = std::find_if(components.begin(), components.end(),
                                    [](const json::value& c) { return c.at("bom-ref").as_string() == "deb:libc6:amd64"; });
  BOOST_TEST_REQUIRE((package != components.end()));
  BOOST_TEST(package->at("purl").as_string() == "pkg:deb/debian/libc6@2.36-9%2Bdeb12u9?arch=amd64&distro=debian-12");
  BOOST_TEST(package->at("components").as_array().size() == 2U);
  const auto base = std::find_if(components.begin(), components.end(),
                                 [](const json::value& c) { return c.at("type").as_string() == "container"; });
  BOOST_TEST_REQUIRE((base != components.end()));
  BOOST_TEST(base->at("purl").as_string() == "pkg:oci/runtime@" + percent_encode(sha256_digest("base")) +
                                                 "?arch=amd64&repository_url=registry.example%2Fbase%2Fruntime");

  // Another image digest: another document, another serial number.
  SbomInput other = in;
  other.digest = sha256_digest("another manifest");
  const auto second = json::parse(sbom_document(other)).as_object();
  BOOST_TEST(second.at("serialNumber") != doc.at("serialNumber"));
}

BOOST_AUTO_TEST_CASE(what_a_program_links_is_listed_by_package_and_repository_with_edges_from_the_program) {
  TempDir dir;
  auto j = mai::test::spec_json(dir.path());
  j["provenance"] = json::object{{"builder_id", "urn:test"},
                                 {"cmake_version", "3.25.1"},
                                 {"generator", "Ninja"},
                                 {"compiler", ""},
                                 {"source_dir", "/src"},
                                 {"git", ""},
                                 {"sbom", true},
                                 {"project", "zipper"},
                                 {"project_version", "2.0"}};
  const auto spec = parse_spec(j, "spec.json");
  const Package zlib1g{"zlib1g-dev", "1:1.2.13.dfsg-1+deb12u1", "amd64", "debian-12", "debian"};
  const std::string commit(40, 'f');
  const auto repo = "vcs:https://git.example/team/fetched.git@" + commit;
  Linked linked;
  linked.components = {{"deb:zlib1g-dev:amd64",
                        "package",
                        "zlib1g-dev",
                        "/usr/lib/x86_64-linux-gnu/libz.a",
                        sha256_digest("z"),
                        "static",
                        zlib1g,
                        "",
                        "",
                        {}},
                       {"target:core", "static-library", "core", "", "", "", std::nullopt, "", "", {"core"}},
                       // A URL with userinfo, as a record written before CMake stripped it would hold.
                       {repo,
                        "repository",
                        "fetched",
                        "",
                        "",
                        "",
                        std::nullopt,
                        "https://ci:t0k3n@git.example/team/fetched.git",
                        commit,
                        {"fetched"}}};
  LinkedComponent fmt{
      "vcpkg:fmt:x64-linux", "vcpkg", "fmt", "/v/x64-linux/lib/libfmt.a", sha256_digest("f"), "static", std::nullopt, "", "", {}};
  fmt.version = "11.0.2";
  fmt.triplet = "x64-linux";
  fmt.license = "MIT";
  fmt.sources = {"git+https://github.com/fmtlib/fmt@11.0.2"};
  fmt.spdx_sha256 = sha256_digest("spdx");
  linked.components.push_back(fmt);
  // An archive FetchContent downloaded, as a record written before credentials were stripped would hold it.
  const std::string hex(64, 'e');
  const auto tarball = "archive:https://downloads.example/zip-1.2.tar.gz@sha256:" + hex;
  LinkedComponent zip{tarball, "archive", "zip",        "",
                      "",      "",        std::nullopt, "https://ci:t0k3n@downloads.example/zip-1.2.tar.gz?private_token=t0k3n",
                      "",      {"zip"}};
  zip.version = "1.2";
  zip.checksum = "sha256:" + hex;
  linked.components.push_back(zip);
  // A Conan package, described by Conan's own CycloneDX document; another known from CMakeDeps' files alone.
  LinkedComponent foo{
      "conan:foo@1.2.3", "conan", "foo", "/c/p/foo1/p/lib/libfoo.a", sha256_digest("foo"), "static", std::nullopt, "", "", {}};
  foo.version = "1.2.3";
  foo.conan = ConanComponent{"pkg:conan/foo@1.2.3?rrev=0a1b",
                             "foo",
                             "1.2.3",
                             "pkg:conan/foo@1.2.3",
                             "A foo library",
                             "",
                             {{"id", "MIT"}, {"expression", "Apache-2.0 OR MIT"}},
                             {{"SHA-256", std::string(64, 'a')}},
                             {{"website", "https://foo.example/"}}};
  foo.conan_document_sha256 = sha256_digest("conan's sbom");
  linked.components.push_back(foo);
  LinkedComponent bar{
      "conan:bar@2.0", "conan", "bar", "/c/p/bar1/p/lib/libbar.a", sha256_digest("bar"), "static", std::nullopt, "", "", {}};
  bar.version = "2.0";
  linked.components.push_back(bar);
  linked.edges = {
      {"file:/usr/local/bin/zipper",
       {"deb:zlib1g-dev:amd64", "target:core", repo, "vcpkg:fmt:x64-linux", tarball, "conan:foo@1.2.3", "conan:bar@2.0"}},
      {"target:core", {"deb:zlib1g-dev:amd64"}}};
  SbomInput in{spec,
               parse_platform("linux/amd64"),
               sha256_digest("m"),
               {},
               {{"/usr/local/bin/zipper", "program", sha256_digest("p"), "", {}, "", "", std::nullopt}},
               {},
               linked};
  const auto text = sbom_document(in);
  BOOST_TEST(text.find("t0k3n") == std::string::npos);
  const auto doc = json::parse(text).as_object();
  std::set<std::string> refs{"project"};
  collect_refs(doc.at("components").as_array(), refs);
  std::map<std::string, std::set<std::string>> edges;
  for (const auto& d : doc.at("dependencies").as_array())
    for (const auto& on : d.at("dependsOn").as_array()) {
      BOOST_TEST(refs.count(std::string(on.as_string())), on);
      edges[std::string(d.at("ref").as_string())].insert(std::string(on.as_string()));
    }
  BOOST_TEST(edges["file:/usr/local/bin/zipper"] ==
                 (std::set<std::string>{"deb:zlib1g-dev:amd64", "target:core", repo, "vcpkg:fmt:x64-linux", tarball,
                                        "conan:foo@1.2.3", "conan:bar@2.0"}),
             boost::test_tools::per_element());
  BOOST_TEST(edges["target:core"] == std::set<std::string>{"deb:zlib1g-dev:amd64"}, boost::test_tools::per_element());
  const auto& components = doc.at("components").as_array();
  const auto find = [&](const std::string& ref) {
    const auto it = std::find_if(components.begin(), components.end(),
                                 [&](const json::value& c) { return c.at("bom-ref").as_string() == ref; });
    BOOST_TEST_REQUIRE((it != components.end()), ref);
    return it->as_object();
  };
  const auto zlib = find("deb:zlib1g-dev:amd64");
  BOOST_TEST(zlib.at("version").as_string() == "1:1.2.13.dfsg-1+deb12u1");
  BOOST_TEST(zlib.at("purl").as_string() == "pkg:deb/debian/zlib1g-dev@1%3A1.2.13.dfsg-1%2Bdeb12u1?arch=amd64&distro=debian-12");
  const auto& archive = zlib.at("components").as_array().at(0).as_object();
  BOOST_TEST(archive.at("name").as_string() == "/usr/lib/x86_64-linux-gnu/libz.a");
  BOOST_TEST(archive.at("hashes").as_array().at(0).at("content").as_string() == sha256_digest("z").substr(7));
  const auto fetched = find(repo);
  BOOST_TEST(fetched.at("version").as_string() == commit);
  BOOST_TEST(fetched.at("purl").as_string() ==
             "pkg:generic/fetched@" + commit + "?vcs_url=git%2Bhttps%3A%2F%2Fgit.example%2Fteam%2Ffetched.git%40" + commit);
  BOOST_TEST(fetched.at("externalReferences").as_array().at(0).at("url").as_string() == "https://git.example/team/fetched.git");
  BOOST_TEST(find("target:core").at("version").as_string() == "2.0");  // the project's own, at its version
  BOOST_TEST(edges["project"].count("target:core"));
  // A vcpkg port: what its own SBOM says, that document referenced by its hash, the archive inside.
  const auto port = find("vcpkg:fmt:x64-linux");
  BOOST_TEST(port.at("purl").as_string() == "pkg:vcpkg/fmt@11.0.2");
  BOOST_TEST(port.at("licenses").as_array().at(0).at("expression").as_string() == "MIT");
  BOOST_TEST(port.at("externalReferences").as_array().at(0).at("url").as_string() == "https://github.com/fmtlib/fmt@11.0.2");
  BOOST_TEST(json::serialize(port.at("properties")).find(sha256_digest("spdx")) != std::string::npos);
  BOOST_TEST(port.at("components").as_array().at(0).at("name").as_string() == "/v/x64-linux/lib/libfmt.a");
  // An archive: the generic purl with its checksum and download URL, the URL as a distribution reference.
  const auto archive_component = find(tarball);
  BOOST_TEST(archive_component.at("version").as_string() == "1.2");
  BOOST_TEST(archive_component.at("purl").as_string() ==
             "pkg:generic/zip@1.2?checksum=sha256:" + hex + "&download_url=https%3A%2F%2Fdownloads.example%2Fzip-1.2.tar.gz");
  const auto& distribution = archive_component.at("externalReferences").as_array().at(0).as_object();
  BOOST_TEST(distribution.at("type").as_string() == "distribution");
  BOOST_TEST(distribution.at("url").as_string() == "https://downloads.example/zip-1.2.tar.gz");
  BOOST_TEST(distribution.at("hashes").as_array().at(0).at("alg").as_string() == "SHA-256");
  BOOST_TEST(distribution.at("hashes").as_array().at(0).at("content").as_string() == hex);
  // Conan's packages: the document's component merged (its purl, description, licenses as CycloneDX takes
  // them: objects, so an expression among them is a name; its hashes and website), the source said.
  const auto conan = find("conan:foo@1.2.3");
  BOOST_TEST(conan.at("version").as_string() == "1.2.3");
  BOOST_TEST(conan.at("purl").as_string() == "pkg:conan/foo@1.2.3");
  BOOST_TEST(conan.at("description").as_string() == "A foo library");
  BOOST_TEST(conan.at("licenses").as_array().at(0).at("license").at("id").as_string() == "MIT");
  BOOST_TEST(conan.at("licenses").as_array().at(1).at("license").at("name").as_string() == "Apache-2.0 OR MIT");
  BOOST_TEST(conan.at("hashes").as_array().at(0).at("alg").as_string() == "SHA-256");
  BOOST_TEST(conan.at("externalReferences").as_array().at(0).at("url").as_string() == "https://foo.example/");
  const auto conan_properties = json::serialize(conan.at("properties"));
  BOOST_TEST(conan_properties.find(R"("cmake-multiarch-image:conan-source","value":"cyclonedx")") != std::string::npos);
  BOOST_TEST(conan_properties.find("pkg:conan/foo@1.2.3?rrev=0a1b") != std::string::npos);
  BOOST_TEST(conan_properties.find(sha256_digest("conan's sbom")) != std::string::npos);
  BOOST_TEST(conan.at("components").as_array().at(0).at("name").as_string() == "/c/p/foo1/p/lib/libfoo.a");
  const auto plain = find("conan:bar@2.0");
  BOOST_TEST(plain.at("purl").as_string() == "pkg:conan/bar@2.0");
  BOOST_TEST(!plain.contains("licenses"));
  BOOST_TEST(json::serialize(plain.at("properties")).find(R"("cmake-multiarch-image:conan-source","value":"cmakedeps")") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_spec_says_which_documents_and_refuses_a_flag_that_is_no_boolean) {
  TempDir dir;
  auto j = mai::test::spec_json(dir.path());
  j["provenance"] = json::object{{"builder_id", "urn:test"}, {"cmake_version", "3.25.1"},
                                 {"generator", "Ninja"},     {"compiler", ""},
                                 {"source_dir", "/src"},     {"git", ""},
                                 {"statement", false},       {"sbom", true}};
  const auto spec = parse_spec(j, "spec.json");
  BOOST_TEST(!spec.provenance.enabled);
  BOOST_TEST(spec.provenance.sbom);
  j["provenance"].as_object()["sbom"] = "yes";
  const auto message = mai::test::error_of([&] { parse_spec(j, "spec.json"); });
  BOOST_TEST(message.find("`sbom` must be true or false") != std::string::npos, message);
}

BOOST_AUTO_TEST_CASE(only_an_image_with_a_stage_lists_the_stage_record) {
  TempDir dir;
  const auto platform = parse_platform("linux/amd64");
  write_staged_files(staged_files_path(dir.path(), platform),
                     {{"/usr/local/bin/old", "program", sha256_digest("p"), "", {}, "", "", std::nullopt}});
  auto j = mai::test::spec_json(dir.path());
  j["provenance"] = json::object{{"builder_id", "urn:test"},
                                 {"cmake_version", "3.25.1"},
                                 {"generator", "Ninja"},
                                 {"compiler", ""},
                                 {"source_dir", "/src"},
                                 {"git", ""},
                                 {"sbom", true}};
  FakeRunner runner;
  const auto listed = [&](const json::object& spec) {
    const auto artifact =
        sbom_artifact(parse_spec(spec, "spec.json"), platform, sha256_digest("m"), "", {}, dir.path(), runner, test_log());
    BOOST_TEST(artifact.artifact_type == media::cyclonedx);
    return artifact.document.find("/usr/local/bin/old") != std::string::npos;
  };
  BOOST_TEST(!listed(j));  // no TARGETS or INSTALL (any more): a record left behind is not the image's
  j["stage"] = json::object{{"composed", (dir.path() / "context").string()}};
  BOOST_TEST(listed(j));
}

BOOST_AUTO_TEST_CASE(staged_files_round_trip_and_are_not_rewritten_unchanged) {
  TempDir dir;
  const auto path = dir.path() / "stage-linux-amd64.files.json";
  const std::vector<StagedFile> files{{"/lib/libc.so.6",
                                       "runtime",
                                       sha256_digest("c"),
                                       "libc.so.6",
                                       {},
                                       "",
                                       "/lib/x86_64-linux-gnu/libc.so.6",
                                       Package{"libc6", "2.36", "amd64", "debian-12", "debian"}},
                                      {"/usr/local/bin/hello",
                                       "program",
                                       sha256_digest("p"),
                                       "",
                                       {"libc.so.6"},
                                       "/lib64/ld-linux-x86-64.so.2",
                                       "",
                                       std::nullopt}};
  write_staged_files(path, files);
  const auto before = std::filesystem::last_write_time(path);
  write_staged_files(path, files);
  BOOST_TEST((std::filesystem::last_write_time(path) == before));
  const auto back = read_staged_files(path);
  BOOST_TEST_REQUIRE(back.size() == 2U);
  BOOST_TEST(back[0].package->purl() == files[0].package->purl());
  BOOST_TEST(back[1].needed == files[1].needed, boost::test_tools::per_element());
  BOOST_TEST(read_staged_files(dir.path() / "none.json").empty());
}

BOOST_AUTO_TEST_SUITE_END()
