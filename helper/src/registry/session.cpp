#include "registry/session.hpp"

#include <cstdlib>

#include "base/text.hpp"
#include "registry/credentials.hpp"

namespace mai {

RegistrySettings registry_settings(const Spec& spec) {
  RegistrySettings settings;
  settings.retry = spec.retry;
  settings.insecure = spec.insecure_registries;
  return settings;
}

RegistrySettings registry_settings_from_environment() {
  RegistrySettings settings;
  settings.retry.timeout = std::chrono::seconds(300);
  if (const char* insecure = std::getenv("MULTIARCH_IMAGE_INSECURE_REGISTRIES"))
    for (const auto& entry : split(insecure, ';'))
      if (!trim(entry).empty()) settings.insecure.push_back(trim(entry));
  return settings;
}

RegistryClient open_registry(const Repository& repository, const RegistrySettings& settings, const std::string& engine,
                             Transport& transport, Runner& runner, const Log& log) {
  return RegistryClient(repository, settings, transport, stored_credentials(repository, engine, runner, log), log);
}

RegistrySession::RegistrySession(const Repository& repository, const RegistrySettings& settings, const std::string& engine,
                                 Runner& runner, const Log& log)
    : transport(settings.retry.timeout), client(open_registry(repository, settings, engine, transport, runner, log)) {}

}  // namespace mai
