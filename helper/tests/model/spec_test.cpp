#include "model/spec.hpp"

#include <boost/test/unit_test.hpp>

#include "base/error.hpp"
#include "support/test_support.hpp"

using namespace mai;
using mai::test::spec_json;

namespace {
std::string error_of(const boost::json::value& v) {
  try {
    parse_spec(v, "spec.json");
  } catch (const Error& e) {
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(Exit::invalid_input));
    return e.what();
  }
  return "";
}
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
}  // namespace

BOOST_AUTO_TEST_SUITE(spec)

BOOST_AUTO_TEST_CASE(reads_every_field) {
  const auto s = parse_spec(spec_json("/ctx"), "spec.json");
  BOOST_TEST(s.name == "hello");
  BOOST_TEST(s.repository.str() == "127.0.0.1:5000/demo/hello");
  BOOST_TEST(s.tags.size() == 2u);
  BOOST_TEST(s.platforms.size() == 2u);
  BOOST_TEST(s.platforms[1].str() == "linux/arm/v7");
  BOOST_TEST(s.build_args.at(0).value == "a b;$(x) `y` \"z\"");
  BOOST_TEST(s.engine == "docker");
  BOOST_TEST(s.network == "none");
  BOOST_TEST(s.docker == "docker");
}

// test.json, as add_multiarch_image() writes it beside the spec: values exactly as written.
BOOST_AUTO_TEST_CASE(a_test_file_gives_the_command_and_the_expectation) {
  mai::test::TempDir dir;
  const auto file = dir.file("test.json", R"({"command": ["x;y", "z\\", "["], "expect": "^a;b$"})");
  const auto test = load_test_spec(file);
  BOOST_TEST((test.command == std::vector<std::string>{"x;y", "z\\", "["}));
  BOOST_TEST(test.expect == "^a;b$");
  BOOST_TEST(load_test_spec(dir.file("bare.json", R"({"command": []})")).expect.empty());
  BOOST_TEST(!mai::test::error_of([&] { load_test_spec(dir.file("bad.json", R"({"command": "x"})")); }).empty());
}

BOOST_AUTO_TEST_CASE(rejects_hand_edited_nonsense_with_the_field_name) {
  BOOST_TEST(contains(error_of(boost::json::value("nonsense")), "must be a JSON object"));
  auto j = spec_json("/ctx");
  j["format"] = 99;
  BOOST_TEST(contains(error_of(j), "field 'format'"));
  j = spec_json("/ctx");
  j.erase("repository");
  BOOST_TEST(contains(error_of(j), "field 'repository': missing"));
  j = spec_json("/ctx");
  j["tags"] = 5;
  BOOST_TEST(contains(error_of(j), "field 'tags': must be an array"));
  j = spec_json("/ctx");
  j["tags"] = boost::json::array{};
  BOOST_TEST(contains(error_of(j), "at least one tag"));
  j = spec_json("/ctx");
  j["platforms"] = {"linux/arm64", "linux/aarch64"};
  BOOST_TEST(contains(error_of(j), "listed twice"));
  j = spec_json("/ctx");
  j["platforms"] = boost::json::array{"linux/amd65"};  // {"x"} alone is a string to clang, an array to gcc
  BOOST_TEST(contains(error_of(j), "spec.json: invalid platform 'linux/amd65'"));
  j = spec_json("/ctx");
  j["engine"] = "containerd";
  BOOST_TEST(contains(error_of(j), "'containerd' is not one of auto, docker, podman"));
  j = spec_json("/ctx");
  j["context"] = "relative/dir";
  BOOST_TEST(contains(error_of(j), "field 'context': must be an absolute path"));
  j = spec_json("/ctx");
  j["build_args"] = {{{"name", ""}, {"value", "x"}}};
  BOOST_TEST(contains(error_of(j), "field 'build_args'"));
  j = spec_json("/ctx");
  j["repository"] = "Registry.example.com/Team/x";
  BOOST_TEST(contains(error_of(j), "uppercase"));
}

// SECRETS, SSH, TARGET_STAGE and PULL: where a secret's value is (a variable or a file), never the
// value; each field checked as add_multiarch_image() checks its keyword.
BOOST_AUTO_TEST_CASE(build_secrets_ssh_target_stage_and_pull_are_read_and_checked) {
  auto j = spec_json("/ctx");
  j["secrets"] = {{{"id", "npm"}, {"env", "NPM_TOKEN"}}, {{"id", "git.cred-1"}, {"src", "/run/ci/git-credentials"}}};
  j["ssh"] = {"default", "github=/home/ci/.ssh/id_ed25519,/home/ci/.ssh/id_rsa"};
  j["target_stage"] = "runtime";
  j["pull"] = "always";
  j["registry_cache"] = "inline";
  j["registry_cache_tag"] = "main";
  const auto s = parse_spec(j, "spec.json");
  BOOST_TEST(s.build_options.secrets.size() == 2u);
  BOOST_TEST(s.build_options.secrets[0].env == "NPM_TOKEN");
  BOOST_TEST(s.build_options.secrets[0].src.empty());
  BOOST_TEST(s.build_options.secrets[1].src == "/run/ci/git-credentials");
  BOOST_TEST(s.build_options.ssh.size() == 2u);
  BOOST_TEST(s.build_options.target_stage == "runtime");
  BOOST_TEST(s.build_options.pull == "always");
  BOOST_TEST(s.build_options.registry_cache == "inline");
  BOOST_TEST(s.build_options.registry_cache_tag == "main");
  const auto without = parse_spec(spec_json("/ctx"), "spec.json").build_options;
  BOOST_TEST((without.secrets.empty() && without.ssh.empty() && without.target_stage.empty() && without.pull.empty() &&
              without.registry_cache.empty()));

  const std::vector<std::pair<boost::json::value, std::string>> bad{
      {boost::json::array{{{"id", "x"}}}, "exactly one of `env`"},
      {boost::json::array{{{"id", "x"}, {"env", "A"}, {"src", "/f"}}}, "exactly one of `env`"},
      {boost::json::array{{{"id", "a b"}, {"env", "A"}}}, "needs an `id`"},
      {boost::json::array{{{"id", "x"}, {"env", "1A"}}}, "not an environment variable's name"},
      {boost::json::array{{{"id", "x"}, {"src", "relative"}}}, "absolute path"},
      {boost::json::array{{{"id", "x"}, {"src", "/a,b"}}}, "without `,`"},
      {boost::json::array{{{"id", "x"}, {"env", "A"}}, {{"id", "x"}, {"env", "B"}}}, "listed twice"},
      {boost::json::value("x"), "must be an array"}};
  for (const auto& [secrets, message] : bad) {
    j = spec_json("/ctx");
    j["secrets"] = secrets;
    const auto error = error_of(j);
    BOOST_TEST(contains(error, "field 'secrets'"), error);
    BOOST_TEST(contains(error, message), error);
  }
  for (const auto* ssh : {"", "=x", "a b", "default="}) {
    j = spec_json("/ctx");
    j["ssh"] = boost::json::array{ssh};
    BOOST_TEST(contains(error_of(j), "field 'ssh'"), ssh);
  }
  j = spec_json("/ctx");
  j["pull"] = "newer";
  BOOST_TEST(contains(error_of(j), "`newer` is not one of always, missing, never"));
  j = spec_json("/ctx");
  j["registry_cache"] = "registry";
  BOOST_TEST(contains(error_of(j), "field 'registry_cache'"));
  j["registry_cache"] = "inline";  // without the tag it is read under
  BOOST_TEST(contains(error_of(j), "field 'registry_cache_tag'"));
}

// Found by fuzzing (tests/fuzz/seeds/spec/regression-source-date-epoch-beyond-int64): a
// source_date_epoch of 1.5 or 2^64 escaped as boost's "not exact" instead of naming the field; and one
// beyond 8^11 - 1 seconds passed, though a tar header's 11 octal digits cannot hold it (the layers' times
// were cut). Whole seconds from 0 to 8589934591 (the year 2242), in an image and in provenance.
BOOST_AUTO_TEST_CASE(source_date_epoch_is_whole_seconds_a_tar_header_can_hold) {
  auto j = spec_json("/ctx");
  j.erase("dockerfile");
  j["image"] = {{"base", "scratch"}, {"layout", "/b/oci"}, {"source_date_epoch", 8589934591}};
  BOOST_TEST(parse_spec(j, "spec.json").image.created == 8589934591);
  for (const auto& bad : {boost::json::value(1.5), boost::json::value(8589934592), boost::json::value(1.7e29),
                          boost::json::value(-1), boost::json::value("1700000000")}) {
    j["image"].as_object()["source_date_epoch"] = bad;
    BOOST_TEST(contains(error_of(j), "spec.json: image: field 'source_date_epoch': must be whole seconds from 0 to 8589934591"),
               error_of(j));
  }
  j = spec_json("/ctx");
  j["provenance"] = {{"builder_id", "urn:test"},       {"cmake_version", "3.25.1"},
                     {"generator", "Ninja"},           {"compiler", ""},
                     {"source_dir", "/src"},           {"git", ""},
                     {"source_date_epoch", 1700000000}};
  BOOST_TEST(parse_spec(j, "spec.json").provenance.source_date_epoch == 1700000000);
  j["provenance"].as_object()["source_date_epoch"] = 1e300;
  BOOST_TEST(contains(error_of(j), "field 'provenance': `source_date_epoch` must be whole seconds from 0 to 8589934591"),
             error_of(j));
}

BOOST_AUTO_TEST_CASE(builders_are_read_per_platform_and_validated) {
  auto j = spec_json("/ctx");
  j["builders"] = {{{"platform", "linux/arm/v7"}, {"builder", "ssh://ci@arm"}, {"origin", "BUILDERS"}}};
  const auto s = parse_spec(j, "spec.json");
  BOOST_REQUIRE(s.builder_for(s.platforms[1]));
  BOOST_TEST(s.builder_for(s.platforms[1])->address == "ssh://ci@arm");
  BOOST_TEST(s.builder_for(s.platforms[1])->origin == "BUILDERS");
  BOOST_TEST(!s.builder_for(s.platforms[0]));
  j["builders"] = {{{"platform", "linux/s390x"}, {"builder", "x"}, {"origin", "BUILDERS"}}};
  BOOST_TEST(contains(error_of(j), "linux/s390x is not among the platforms"));
  j["builders"] = {{{"platform", "linux/amd64"}, {"builder", ""}, {"origin", "BUILDERS"}}};
  BOOST_TEST(contains(error_of(j), "field 'builders'"));
}

BOOST_AUTO_TEST_CASE(finds_a_platform_by_any_spelling) {
  const auto s = parse_spec(spec_json("/ctx"), "spec.json");
  BOOST_TEST(s.platform("linux/armhf").str() == "linux/arm/v7");
  BOOST_CHECK_THROW(s.platform("linux/arm64"), Error);
}

BOOST_AUTO_TEST_CASE(load_reports_invalid_json_with_the_path) {
  mai::test::TempDir dir;
  const auto path = dir.file("spec.json", "{ not json");
  try {
    load_spec(path);
    BOOST_FAIL("no error");
  } catch (const Error& e) {
    BOOST_TEST(contains(e.what(), path.string()));
    BOOST_TEST(contains(e.what(), "not valid JSON"));
  }
}

// settings.json beside the spec: how the steps run, read by every step, depended on by none.
BOOST_AUTO_TEST_CASE(the_settings_beside_the_spec_say_how_the_steps_run) {
  mai::test::TempDir dir;
  auto j = spec_json("/ctx");
  const auto path = dir.file("spec.json", boost::json::serialize(j));
  auto s = load_spec(path);
  BOOST_TEST(s.retry.tries == 5);
  BOOST_TEST(s.retry.delay.count() == 1000);
  BOOST_TEST(s.retry.timeout.count() == 600);
  BOOST_TEST(s.run_options.empty());
  dir.file("settings.json", R"({"format": 1, "retries": 3, "retry_delay": 0.5, "timeout": 42, "run_options": ["--read-only"]})");
  s = load_spec(path);
  BOOST_TEST(s.retry.tries == 3);
  BOOST_TEST(s.retry.delay.count() == 500);
  BOOST_TEST(s.retry.timeout.count() == 42);
  BOOST_TEST((s.run_options == std::vector<std::string>{"--read-only"}));
  dir.file("settings.json", R"({"retries": 0})");
  const auto what = mai::test::error_of([&] { load_spec(path); });
  BOOST_TEST(contains(what, "settings.json: field 'retries': must be from 1 to 100"), what);
}

BOOST_AUTO_TEST_CASE(an_image_s_ports_may_be_ranges_and_its_files_may_come_from_files_json) {
  mai::test::TempDir dir;
  auto j = spec_json("/ctx");
  j.erase("dockerfile");
  const auto files = dir.file("files.json", R"([{"source": "/built/tool", "destination": "/usr/bin/tool"}])");
  j["image"] = {{"base", "scratch"},
                {"layout", (dir.path() / "oci").string()},
                {"expose", {"8000-8002/tcp", "53/udp"}},
                {"files_from", files.string()}};
  const auto s = parse_spec(j, "spec.json");
  BOOST_TEST((s.image.expose == std::vector<std::string>{"8000/tcp", "8001/tcp", "8002/tcp", "53/udp"}));
  BOOST_TEST(s.image.files.size() == 1u);
  BOOST_TEST(s.image.files.at(0).source == "/built/tool");
  for (const auto* bad : {"8002-8000/tcp", "0/tcp", "80-70000/tcp", "80/http", "x-1/tcp"}) {
    j.at("image").as_object()["expose"] = {bad};
    BOOST_TEST(contains(error_of(j), "field 'expose'"), bad);
  }
  j.at("image").as_object()["expose"] = boost::json::array{};
  j.at("image").as_object()["files_from"] = (dir.path() / "nowhere.json").string();
  BOOST_TEST(contains(error_of(j), "nowhere.json does not exist (CMake writes it when it generates the build system"));
}

// OWNER, MODE and CAPABILITIES as the module writes them after FILES entries, DIRECTORIES and a
// target's properties: parsed into numbers, and a value the module would refuse refused here too,
// naming the field and the entry.
BOOST_AUTO_TEST_CASE(permissions_of_files_directories_and_targets_are_read_and_checked) {
  mai::test::TempDir dir;
  auto j = spec_json("/ctx");
  j.erase("dockerfile");
  j["image"] = {
      {"base", "scratch"},
      {"layout", (dir.path() / "oci").string()},
      {"files",
       {{{"source", "/built/tool"},
         {"destination", "/usr/bin/tool"},
         {"owner", "0:nonroot"},
         {"mode", "04750"},
         {"capabilities", "cap_net_bind_service,NET_RAW"}},
        {{"source", "/assets"}, {"destination", "/srv/"}}}},
      {"directories", {{{"path", "/var/lib/app"}, {"owner", "nonroot"}, {"mode", "0750"}}, {{"path", "/tmp"}, {"mode", "1777"}}}},
      {"path_permissions",
       {{{"path", "/usr/local/bin/server"}, {"what", "TARGETS entry server"}, {"capabilities", "cap_net_bind_service"}}}}};
  const auto s = parse_spec(j, "spec.json");
  const auto& tool = s.image.files.at(0).permissions;
  BOOST_TEST(tool.uid.value() == 0u);
  BOOST_TEST(tool.gid.value() == 65532u);
  BOOST_TEST(tool.mode.value() == 04750u);
  BOOST_TEST(tool.capabilities == ((std::uint64_t{1} << 10) | (std::uint64_t{1} << 13)));
  BOOST_TEST(s.image.files.at(1).permissions.empty());
  BOOST_TEST(s.image.directories.size() == 2u);
  BOOST_TEST(s.image.directories.at(0).permissions.uid.value() == 65532u);
  BOOST_TEST(s.image.directories.at(1).permissions.mode.value() == 01777u);
  BOOST_TEST(s.image.path_permissions.at(0).path == "/usr/local/bin/server");
  BOOST_TEST(s.image.path_permissions.at(0).permissions.capabilities == std::uint64_t{1} << 10);

  const auto with = [&](const char* field, boost::json::value value) {
    auto bad = j;
    bad.at("image").as_object()[field] = std::move(value);
    return error_of(bad);
  };
  auto what = with("files", {{{"source", "/t"}, {"destination", "/t"}, {"capabilities", "cap_fly"}}});
  BOOST_TEST(
      (contains(what, "field 'files'") && contains(what, "FILES entry /t=/t: CAPABILITIES `cap_fly` is not a Linux capability")),
      what);
  what = with("files", {{{"source", "/t"}, {"destination", "/t"}, {"mode", "17777"}}});
  BOOST_TEST(contains(what, "MODE `17777` is not an octal mode from 0000 to 7777"), what);
  what = with("files", {{{"source", "/t"}, {"destination", "/t"}, {"owner", 65532}}});
  BOOST_TEST(contains(what, "`owner` must be a string"), what);
  what = with("directories", {{{"path", "/var/lib/app"}, {"mode", "4755"}}});
  BOOST_TEST((contains(what, "field 'directories'") && contains(what, "sets setuid on a directory")), what);
  what = with("directories", {{{"path", "/var/lib/app"}, {"capabilities", "cap_net_raw"}}});
  BOOST_TEST(contains(what, "a directory has no capabilities"), what);
  for (const auto* path : {"var/lib", "/", "/a/../b", "/a//b", "/a/"}) {
    what = with("directories", {{{"path", path}}});
    BOOST_TEST(contains(what, "is not an absolute path in the image"), path);
  }
  what = with("path_permissions", {{{"path", "/usr/local/bin/server"}, {"what", "TARGETS entry server"}, {"owner", "app"}}});
  BOOST_TEST(contains(what, "TARGETS entry server: OWNER `app` is not <user>[:<group>]"), what);
}

// ESSENTIALS as the module writes them: known items, each once, kept in one order whatever order they
// came in (the spec a person edits gets the same checks), and the CA bundle an absolute path.
BOOST_AUTO_TEST_CASE(essentials_are_known_items_each_once_in_one_order) {
  auto j = spec_json("/ctx");
  j.erase("dockerfile");
  j["image"] = {{"base", "scratch"}, {"layout", "/b/oci"}, {"essentials", {"tmp", "accounts", "tzdata"}}};
  auto s = parse_spec(j, "spec.json");
  BOOST_TEST((s.image.essentials == std::vector<std::string>{"accounts", "tzdata", "tmp"}));
  BOOST_TEST(s.image.ca_bundle == kDefaultCaBundle);
  j.at("image").as_object()["ca_bundle"] = "/opt/corp/bundle.pem";
  BOOST_TEST(parse_spec(j, "spec.json").image.ca_bundle == "/opt/corp/bundle.pem");
  const auto with = [&](const char* field, boost::json::value value) {
    auto bad = j;
    bad.at("image").as_object()[field] = std::move(value);
    return error_of(bad);
  };
  BOOST_TEST(contains(with("essentials", {"accounts", "certs"}),
                      "field 'essentials': `certs` is not one of accounts, ca-certificates, tzdata, tmp"));
  BOOST_TEST(contains(with("essentials", {"tmp", "tmp"}), "field 'essentials': `tmp` is listed twice"));
  BOOST_TEST(contains(with("essentials", "ALL"), "field 'essentials': must be an array of strings"));
  BOOST_TEST(contains(with("ca_bundle", "bundle.pem"), "field 'ca_bundle': must be an absolute path"));
}

// VOLUMES, STOP_SIGNAL and MANIFEST_ANNOTATIONS read and checked; ENV references' syntax checked
// when the spec is read (what they name only when the base is known).
BOOST_AUTO_TEST_CASE(volumes_stop_signals_manifest_annotations_and_env_references_are_checked) {
  auto j = spec_json("/ctx");
  j.erase("dockerfile");
  j["image"] = {{"base", "scratch"},
                {"layout", "/b/oci"},
                {"volumes", {"/var/lib/app"}},
                {"stop_signal", "SIGRTMIN+3"},
                {"manifest_annotations", {"a.b=c=d"}},
                {"env", {"PATH=/opt/x/bin:$PATH", "A=${B}"}}};
  const auto s = parse_spec(j, "spec.json");
  BOOST_TEST(s.image.volumes.at(0) == "/var/lib/app");
  BOOST_TEST(s.image.stop_signal == "SIGRTMIN+3");
  BOOST_TEST(s.image.manifest_annotations.at(0).second == "c=d");
  for (const auto* good : {"SIGTERM", "TERM", "sigint", "9", "64", "SIGRTMAX-1", "RTMIN+15"})
    BOOST_TEST(valid_stop_signal(good), good);
  for (const auto* bad : {"SIGFOO", "0", "65", "SIGRTMIN+16", "RTMIN+", "-1", "", "SIG"})
    BOOST_TEST(!valid_stop_signal(bad), bad);
  const auto with = [&](const char* field, boost::json::value value) {
    auto bad = j;
    bad.at("image").as_object()[field] = std::move(value);
    return error_of(bad);
  };
  BOOST_TEST(contains(with("stop_signal", "SIGFOO"), "field 'stop_signal': `SIGFOO` is not a signal"));
  BOOST_TEST(contains(with("volumes", {"data"}), "field 'volumes': `data` is not an absolute path"));
  BOOST_TEST(contains(with("manifest_annotations", {"=x"}), "field 'manifest_annotations': '=x' is not key=value"));
  BOOST_TEST(contains(with("env", {"A=${B"}), "'A=${B': `${` without its `}`"));
  BOOST_TEST(contains(with("env", {"A=${1B}"}), "`${1B}` does not name a variable"));
  const auto lookup = [](std::string_view name) -> std::optional<std::string> {
    if (name == "PATH") return std::string("/bin");
    return std::nullopt;
  };
  BOOST_TEST(expand_environment("/x:$PATH:${PATH}/y \\$PATH $ $5 end$", lookup, "v") == "/x:/bin:/bin/y $PATH $ $5 end$");
  BOOST_TEST(contains(mai::test::error_of([&] { expand_environment("$HOME", lookup, "ENV entry `A=$HOME`"); }),
                      "ENV entry `A=$HOME`: $HOME is not set by the base image or an earlier ENV entry"));
}

BOOST_AUTO_TEST_SUITE_END()
