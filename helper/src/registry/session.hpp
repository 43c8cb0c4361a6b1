// How every step reaches a registry: a client of one repository under the spec's settings (retries,
// timeouts, insecure registries), with the credentials an engine keeps for that registry. One
// factory, so that no step spells the settings, the TLS rules or the credential lookup itself.
#pragma once

#include <string>

#include "base/log.hpp"
#include "base/runner.hpp"
#include "model/spec.hpp"
#include "oci/reference.hpp"
#include "registry/beast_transport.hpp"
#include "registry/client.hpp"

namespace mai {

// The spec's registry settings: its retry policy and timeout, MULTIARCH_IMAGE_INSECURE_REGISTRIES.
RegistrySettings registry_settings(const Spec& spec);
// The same for commands that run outside a step (attach, referrers: a signer's calls), read from the
// environment the step gave them (MULTIARCH_IMAGE_INSECURE_REGISTRIES, `;`-separated).
RegistrySettings registry_settings_from_environment();

// A client of `repository` through `transport`, with the credentials `engine` (docker, podman, or
// "none": both engines' files) keeps for its registry.
RegistryClient open_registry(const Repository& repository, const RegistrySettings& settings, const std::string& engine,
                             Transport& transport, Runner& runner, const Log& log);

// A client with a network transport of its own.
struct RegistrySession {
  RegistrySession(const Repository& repository, const RegistrySettings& settings, const std::string& engine, Runner& runner,
                  const Log& log);
  RegistrySession(const RegistrySession&) = delete;
  RegistrySession& operator=(const RegistrySession&) = delete;

  BeastTransport transport;
  RegistryClient client;
};

}  // namespace mai
