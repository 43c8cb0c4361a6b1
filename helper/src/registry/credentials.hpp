// Registry credentials as docker and podman store them: config.json / auth.json files with `auths`
// entries, `credHelpers` and `credsStore` (docker-credential-<name> get: the server on stdin, JSON on
// stdout). Credentials live only in memory; no message ever prints one.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/log.hpp"
#include "base/runner.hpp"
#include "oci/reference.hpp"

namespace mai {

struct Credentials {
  std::string username;
  std::string secret;  // password, or an identity (refresh) token when username is empty
  std::string origin;  // where they came from, for messages: "<file>: auths[...]" or "docker-credential-x"
};

// The files searched, in order. Docker reads $DOCKER_CONFIG/config.json (else ~/.docker/config.json);
// podman reads $REGISTRY_AUTH_FILE (else $XDG_RUNTIME_DIR/containers/auth.json, then
// ~/.config/containers/auth.json) and then docker's file. The engine that pushed comes first.
using Environment = std::function<std::optional<std::string>(const char*)>;
std::vector<std::filesystem::path> credential_files(const std::string& engine, const Environment& env);
Environment process_environment();

// The keys an auths/credHelpers entry may use for `registry` (host[:port]) and repository `path`,
// most specific first: host/path..., host, and docker.io's historical spellings.
std::vector<std::string> credential_keys(const std::string& registry, const std::string& path);

// Looks `registry`/`path` up in each file in turn; the first file with an answer wins. Helpers run
// through `runner`. Throws Error(invalid_input) for an unreadable file, Error(step_failed) for a
// failing helper (not for one that has no entry).
std::optional<Credentials> find_credentials(const std::vector<std::filesystem::path>& files, const std::string& registry,
                                            const std::string& path, Runner& runner, const Log& log);

// The credentials for `repository` from the files `engine` reads (credential_files), helpers run by
// `runner`: looked up when the registry first asks for them, not before.
std::function<std::optional<Credentials>()> stored_credentials(const Repository& repository, const std::string& engine,
                                                               Runner& runner, const Log& log);

}  // namespace mai
