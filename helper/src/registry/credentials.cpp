#include "registry/credentials.hpp"

#include <boost/json.hpp>
#include <cstdlib>

#include "base/error.hpp"
#include "base/json_file.hpp"
#include "base/text.hpp"

namespace mai {
namespace json = boost::json;

namespace {

// An auths/credHelpers key as the host[/path] it names: "https://host:5000/v1/" -> "host:5000".
std::string normalise_key(std::string key) {
  for (const char* scheme : {"https://", "http://"})
    if (key.starts_with(scheme)) key.erase(0, std::string_view(scheme).size());
  while (!key.empty() && key.back() == '/') key.pop_back();
  for (const char* api : {"/v1", "/v2"})
    if (key.ends_with(api)) key.resize(key.size() - std::string_view(api).size());
  const auto slash = key.find('/');
  auto host = key.substr(0, slash);
  if (host == "index.docker.io" || host == "registry-1.docker.io") host = "docker.io";
  return host + (slash == std::string::npos ? "" : key.substr(slash));
}

// docker-credential-<helper> get, with the server address on stdin.
std::optional<Credentials> ask_helper(const std::string& helper, const std::string& server, Runner& runner, const Log& log) {
  Command command{{"docker-credential-" + helper, "get"}, {}, server + "\n", false};
  Result result;
  try {
    result = runner.run(command, Output::capture, log);
  } catch (const Error& e) {
    if (e.code() != Exit::engine_missing) throw;
    throw Error(Exit::step_failed, "the credential helper docker-credential-" + helper + " is not installed (" + e.what() + ")");
  }
  if (!result.ok()) {
    // The protocol's answer for "no entry" is this message on a failing exit.
    if ((result.out + result.tail).find("credentials not found") != std::string::npos) return std::nullopt;
    throw Error(Exit::step_failed, "the credential helper docker-credential-" + helper + " failed for " + server + " (exit " +
                                       std::to_string(result.exit_code) + "): " + trim(result.tail));
  }
  boost::system::error_code ec;
  const auto value = json::parse(result.out, ec);
  const auto* o = ec ? nullptr : value.if_object();
  if (!o) throw Error(Exit::step_failed, "the credential helper docker-credential-" + helper + " did not print a JSON object");
  Credentials c{string_member(*o, "Username"), string_member(*o, "Secret"), "docker-credential-" + helper};
  if (c.username == "<token>") c.username.clear();  // an identity token
  if (c.secret.empty()) return std::nullopt;
  return c;
}

std::optional<Credentials> from_file(const std::filesystem::path& file, const std::vector<std::string>& keys,
                                     const std::string& registry, Runner& runner, const Log& log) {
  const auto value = read_json_file(file);
  const auto* root = value.if_object();
  if (!root) throw Error(Exit::invalid_input, file.string() + " is not a JSON object");
  auto section = [&](const char* name) -> const json::object* {
    const auto* s = root->if_contains(name);
    return s && s->is_object() ? &s->get_object() : nullptr;
  };
  // The server name helpers are asked for: what `docker login` stored them under.
  const auto server = registry == "docker.io" ? std::string("https://index.docker.io/v1/") : registry;

  if (const auto* helpers = section("credHelpers")) {
    for (const auto& key : keys)
      for (const auto& [k, v] : *helpers)
        if (normalise_key(std::string(k)) == key && v.is_string())
          return ask_helper(std::string(v.get_string()), server, runner, log);
  }
  if (const auto store = string_member(*root, "credsStore"); !store.empty()) {
    if (auto c = ask_helper(store, server, runner, log)) return c;
  }
  if (const auto* auths = section("auths")) {
    for (const auto& key : keys) {
      for (const auto& [k, v] : *auths) {
        if (normalise_key(std::string(k)) != key || !v.is_object()) continue;
        const auto& entry = v.get_object();
        const auto where = file.string() + ": auths[\"" + std::string(k) + "\"]";
        if (const auto token = string_member(entry, "identitytoken"); !token.empty()) return Credentials{"", token, where};
        if (const auto auth = string_member(entry, "auth"); !auth.empty()) {
          const auto decoded = base64_decode(auth);
          const auto colon = decoded ? decoded->find(':') : std::string::npos;
          if (colon == std::string::npos) throw Error(Exit::invalid_input, where + ".auth is not base64 of user:password");
          return Credentials{decoded->substr(0, colon), decoded->substr(colon + 1), where};
        }
        if (const auto user = string_member(entry, "username"); !user.empty())
          return Credentials{user, string_member(entry, "password"), where};
      }
    }
  }
  return std::nullopt;
}

}  // namespace

Environment process_environment() {
  return [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    if (!v || !*v) return std::nullopt;
    return std::string(v);
  };
}

std::vector<std::filesystem::path> credential_files(const std::string& engine, const Environment& env) {
  std::vector<std::filesystem::path> docker, podman;
  const auto home = env("HOME");
  if (const auto dir = env("DOCKER_CONFIG"))
    docker.push_back(std::filesystem::path(*dir) / "config.json");
  else if (home)
    docker.push_back(std::filesystem::path(*home) / ".docker/config.json");
  if (const auto file = env("REGISTRY_AUTH_FILE")) {
    podman.emplace_back(*file);
  } else {
    if (const auto run = env("XDG_RUNTIME_DIR")) podman.push_back(std::filesystem::path(*run) / "containers/auth.json");
    if (home) podman.push_back(std::filesystem::path(*home) / ".config/containers/auth.json");
  }
  auto& first = engine == "podman" ? podman : docker;
  auto& second = engine == "podman" ? docker : podman;
  first.insert(first.end(), second.begin(), second.end());
  return first;
}

std::vector<std::string> credential_keys(const std::string& registry, const std::string& path) {
  const auto host = normalise_key(registry);
  std::vector<std::string> keys;
  std::string prefix = host + "/" + path;
  while (true) {
    keys.push_back(prefix);
    const auto slash = prefix.rfind('/');
    if (slash == std::string::npos || slash < host.size()) break;
    prefix.resize(slash);
  }
  return keys;  // host/a/b, host/a, host
}

std::optional<Credentials> find_credentials(const std::vector<std::filesystem::path>& files, const std::string& registry,
                                            const std::string& path, Runner& runner, const Log& log) {
  const auto keys = credential_keys(registry, path);
  for (const auto& file : files) {
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) continue;
    if (auto c = from_file(file, keys, normalise_key(registry), runner, log)) return c;
  }
  return std::nullopt;
}

std::function<std::optional<Credentials>()> stored_credentials(const Repository& repository, const std::string& engine,
                                                               Runner& runner, const Log& log) {
  return [files = credential_files(engine, process_environment()), repository, &runner, log] {
    return find_credentials(files, repository.registry, repository.path, runner, log);
  };
}

}  // namespace mai
