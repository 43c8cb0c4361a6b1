#include "registry/transport.hpp"

#include "base/text.hpp"

namespace mai {

namespace {
std::string& agent() {
  static std::string value = "multiarch-image";
  return value;
}
}  // namespace

const std::string& user_agent() { return agent(); }
void set_user_agent(std::string value) { agent() = std::move(value); }

std::string HttpResponse::header(std::string_view name) const {
  const auto key = lowercase(name);
  for (const auto& [k, v] : headers)
    if (k == key) return v;
  return "";
}

std::vector<std::string> HttpResponse::headers_named(std::string_view name) const {
  const auto key = lowercase(name);
  std::vector<std::string> out;
  for (const auto& [k, v] : headers)
    if (k == key) out.push_back(v);
  return out;
}

bool transient(const TransportError& error) {
  switch (error.kind) {
    case TransportError::Kind::connect:
    case TransportError::Kind::timeout:
    case TransportError::Kind::io:
      return true;
    case TransportError::Kind::unknown_host:
    case TransportError::Kind::tls_not_spoken:
    case TransportError::Kind::tls_verify:
    case TransportError::Kind::tls_failed:
    case TransportError::Kind::too_large:
      return false;
  }
  return false;
}

}  // namespace mai
