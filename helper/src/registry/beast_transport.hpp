// The real Transport: HTTP/1.1 over Boost.Beast and Boost.Asio, OpenSSL for TLS. Connections are
// kept alive between requests; every exchange is bounded by timeouts and by the helper's interrupt
// handlers.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "registry/transport.hpp"

namespace boost::asio {
class io_context;
namespace ssl {
class context;
}
}  // namespace boost::asio

namespace mai {

// Connections are kept open (HTTP/1.1 keep-alive) and re-used for the next requests to the same
// origin with the same TLS settings; one the server closed while idle is replaced transparently.
// send_all runs its requests concurrently, opening connections beyond the kept ones as needed.
class BeastTransport final : public Transport {
 public:
  explicit BeastTransport(std::chrono::seconds timeout);
  ~BeastTransport() override;
  Outcome send(const HttpRequest& request, const TlsSettings& tls) override;
  std::vector<Outcome> send_all(const std::vector<HttpRequest>& requests, const TlsSettings& tls) override;

  struct Connection;  // public only so that the .cpp's connecting coroutines can name it

 private:
  struct Contexts;  // TLS contexts, one per distinct TlsSettings, made once
  // The context for `url` under `settings` (nullptr for plain HTTP), and in `key` the pool key of its
  // connections.
  boost::asio::ssl::context* context_for(const Url& url, const TlsSettings& settings, std::string& key);
  std::chrono::seconds timeout_;                 // per request; 0: none (connecting is still bounded)
  std::unique_ptr<boost::asio::io_context> io_;  // declared before the connections it serves
  std::unique_ptr<Contexts> contexts_;
  std::multimap<std::string, std::unique_ptr<Connection>> idle_;  // origin and TLS settings -> open connections
};

}  // namespace mai
