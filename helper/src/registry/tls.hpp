// How one host's TLS is checked, from the certs.d directories docker and podman read.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "oci/reference.hpp"
#include "registry/url.hpp"

namespace mai {

// How one host's TLS is checked.
struct TlsSettings {
  bool verify = true;                                                             // peer certificate and host name
  std::vector<std::filesystem::path> ca_files;                                    // trusted in addition to the system CAs
  std::optional<std::pair<std::filesystem::path, std::filesystem::path>> client;  // certificate, key
};

// The certs.d directories docker and podman read, first match per file kind wins:
// /etc/docker/certs.d, /etc/containers/certs.d, $HOME/.config/containers/certs.d.
std::vector<std::filesystem::path> default_certs_d_roots();
// The settings for host[:port] from `roots`/<host[:port]>/: *.crt are CAs, a *.cert with its *.key a
// client certificate.
TlsSettings tls_settings_for(const std::vector<std::filesystem::path>& roots, const std::string& host_port);

// The TLS rules of one registry's requests, as docker and podman apply them: certs.d looked up under
// the registry's own name (as written in REPOSITORY) for any URL on its host, a token service there
// included; MULTIARCH_IMAGE_INSECURE_REGISTRIES entries reached without verification, else over
// plain HTTP, which loopback registries may use without being listed.
class RegistryTls {
 public:
  RegistryTls(const Repository& repository, std::vector<std::string> insecure, std::vector<std::filesystem::path> certs_d_roots);
  // The name certs.d and the insecure list know `url`'s server by: the registry's own for any URL on
  // its host; else host[:port] with the port only when it is not the scheme's default.
  std::string name_for(const Url& url) const;
  bool insecure(const std::string& name) const;
  // Whether a server of that name may be reached over plain HTTP (loopback, or listed insecure).
  bool plain_http_allowed(const std::string& name) const;
  TlsSettings settings(const std::string& name) const;
  // docker.io's API host, registry-1.docker.io; any other registry's own name.
  std::string api_host() const;

 private:
  Repository repository_;
  std::vector<std::string> insecure_;
  std::vector<std::filesystem::path> roots_;
};

}  // namespace mai
