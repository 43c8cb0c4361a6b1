#include "registry/tls.hpp"

#include <algorithm>
#include <cstdlib>

#include "base/text.hpp"

namespace mai {

std::vector<std::filesystem::path> default_certs_d_roots() {
  std::vector<std::filesystem::path> roots{"/etc/docker/certs.d", "/etc/containers/certs.d"};
  if (const char* home = std::getenv("HOME"); home && *home)
    roots.emplace_back(std::filesystem::path(home) / ".config/containers/certs.d");
  return roots;
}

TlsSettings tls_settings_for(const std::vector<std::filesystem::path>& roots, const std::string& host_port) {
  TlsSettings out;
  for (const auto& root : roots) {
    std::error_code ec;
    const auto dir = root / host_port;
    if (!std::filesystem::is_directory(dir, ec)) continue;
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      if (f.extension() == ".crt") out.ca_files.push_back(f);
      if (f.extension() == ".cert" && !out.client) {
        auto key = f;
        key.replace_extension(".key");
        if (std::filesystem::exists(key, ec)) out.client.emplace(f, key);
      }
    }
  }
  return out;
}

RegistryTls::RegistryTls(const Repository& repository, std::vector<std::string> insecure,
                         std::vector<std::filesystem::path> certs_d_roots)
    : repository_(repository), insecure_(std::move(insecure)), roots_(std::move(certs_d_roots)) {}

std::string RegistryTls::api_host() const {
  return repository_.registry == "docker.io" ? "registry-1.docker.io" : repository_.registry;
}

std::string RegistryTls::name_for(const Url& url) const {
  if (lowercase(url.host) == lowercase(repository_.host()) || (repository_.registry == "docker.io" && url.host == api_host()))
    return repository_.registry;
  return url.authority();
}

bool RegistryTls::insecure(const std::string& name) const {
  const auto wanted = lowercase(name);
  return std::any_of(insecure_.begin(), insecure_.end(), [&](const std::string& e) { return lowercase(e) == wanted; });
}

bool RegistryTls::plain_http_allowed(const std::string& name) const {
  Repository server;
  server.registry = name;
  return server.loopback() || insecure(name);
}

TlsSettings RegistryTls::settings(const std::string& name) const {
  auto tls = tls_settings_for(roots_, name);
  tls.verify = !insecure(name);
  return tls;
}

}  // namespace mai
