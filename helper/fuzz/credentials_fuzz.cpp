// Credentials as docker and podman store them: config.json / auth.json (auths, credHelpers,
// credsStore) and a credential helper's answer. Input, separated by the record separator: the first
// file (config.json), the second (auth.json), the helper's stdout, the registry and repository asked
// for ("host[:port]/path"; a default when empty).
#include "fuzz_support.hpp"
#include "registry/credentials.hpp"
#include "support/fake_runner.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto in = mai::fuzz::parts(data, size, 4);
  const auto& dir = mai::fuzz::scratch();
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (int i = 0; i < 2; ++i) {
    const auto file = dir / (i == 0 ? "config.json" : "auth.json");
    std::filesystem::remove(file, ec);
    if (!in[i].empty()) mai::fuzz::write_file(file, in[i]);
    files.push_back(file);
  }
  const auto name = in[3].empty() ? std::string("registry.example.com/team/app") : in[3];
  const auto slash = name.find('/');
  const auto registry = name.substr(0, slash), path = slash == std::string::npos ? std::string("app") : name.substr(slash + 1);
  mai::test::FakeRunner runner;
  runner.rules.push_back({{"get"}, {0, in[2], ""}, {}});
  mai::fuzz::only_mai_errors([&] {
    const auto found = mai::find_credentials(files, registry, path, runner, mai::fuzz::quiet_log());
    if (!found) return;
    MAI_FUZZ_CHECK(!found->origin.empty(), "credentials without their origin");
    for (const auto& c : runner.commands) {
      MAI_FUZZ_CHECK(c.argv.size() == 2 && c.argv[0].starts_with("docker-credential-") && c.argv[1] == "get",
                     "a credential helper run otherwise than `docker-credential-<name> get`");
      MAI_FUZZ_CHECK(!c.registry, "a credential helper run as a registry command (retried)");
    }
  });
  return 0;
}
