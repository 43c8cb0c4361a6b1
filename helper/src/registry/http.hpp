// A small HTTP/1.1 client for registry calls: Boost.Beast over Boost.Asio, OpenSSL for TLS.
// Connections are kept alive between requests; every exchange is bounded by timeouts and by the
// helper's interrupt handlers. The Transport interface lets unit tests drive the registry client
// without a network.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace boost::asio {
class io_context;
namespace ssl {
class context;
}
}  // namespace boost::asio

namespace mai {

struct Url {
  std::string scheme;  // http or https
  std::string host;    // without brackets for IPv6
  std::string port;    // always set: 80/443 when the text had none
  std::string target;  // path and query, "/" at least

  // Parses an absolute http(s) URL (port 1 to 65535); throws Error(invalid_input) naming `what` otherwise.
  static Url parse(std::string_view text, std::string_view what);
  // `location` (an absolute URL or any relative reference) resolved against this URL as RFC 3986
  // section 5 says; the fragment is dropped.
  Url resolve(std::string_view location) const;
  std::string authority() const;  // host[:port], IPv6 in brackets, port omitted when it is the scheme's default
  std::string origin() const;     // scheme://authority
  std::string str() const { return origin() + target; }
};

std::string percent_encode(std::string_view text);  // RFC 3986 unreserved characters kept

using Headers = std::vector<std::pair<std::string, std::string>>;

// The most of an answer's body a request takes (a larger one is TransportError::too_large), and the
// most of an error answer's body (status 400 and up) that is read: a longer one arrives cut to nothing.
inline constexpr std::size_t kDefaultResponseLimit = std::size_t{64} << 20;
inline constexpr std::size_t kErrorBodyLimit = std::size_t{64} << 10;

// A request body read from a file while it is sent: `length` bytes from `offset`. A blob of any size
// goes out through a 64 KiB buffer.
struct FileSpan {
  std::filesystem::path path;
  std::uint64_t offset = 0, length = 0;
};

// Where a successful (2xx) answer's body goes as it arrives, instead of into HttpResponse::body: a
// layer copied between registries never lies whole in memory. begin() starts every answer that
// streams into it (a retried request starts over); write() may throw, which ends the exchange.
class BodySink {
 public:
  virtual ~BodySink() = default;
  virtual void begin() = 0;
  virtual void write(std::string_view bytes) = 0;
};

struct HttpRequest {
  std::string method = "GET";
  Url url;
  Headers headers;  // values must hold no control characters other than tab: they are refused, never sent
  std::string body;
  std::size_t response_limit = kDefaultResponseLimit;
  std::optional<FileSpan> body_file;  // set: the body, streamed (`body` is then empty)
  BodySink* sink = nullptr;           // set: a 2xx answer's body goes there (the limit still applies)
};

struct HttpResponse {
  int status = 0;
  Headers headers;  // names lower-cased
  std::string body;
  std::string header(std::string_view name) const;  // first value, "" when absent
  std::vector<std::string> headers_named(std::string_view name) const;
};

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

// A failure to exchange a request at all (as opposed to an HTTP status).
struct TransportError {
  // tls_not_spoken: the server answered the TLS handshake with something that is not TLS (a plain
  // HTTP answer); a connection that merely ended is io, which a retry may change.
  // tls_failed: the server speaks TLS but refused the session (an alert: a client certificate it
  // wants, no common protocol); no retry changes that.
  // too_large: the answer's body is larger than the request's response_limit.
  // unknown_host: the name does not resolve (a lookup that may succeed later is connect).
  // retry.hpp's transient() says which kinds are worth another attempt.
  enum class Kind { connect, unknown_host, tls_not_spoken, tls_verify, tls_failed, timeout, io, too_large } kind;
  std::string message;
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Either a response or a TransportError; interrupts throw Error(interrupted), and a request with a
  // control character in its target or a header value throws Error(step_failed) unsent.
  struct Outcome {
    std::optional<HttpResponse> response;
    std::optional<TransportError> error;
  };
  virtual Outcome send(const HttpRequest& request, const TlsSettings& tls) = 0;
  // Several requests at once, each on a connection of its own; outcomes in the order of `requests`.
  // This default sends them one after another.
  virtual std::vector<Outcome> send_all(const std::vector<HttpRequest>& requests, const TlsSettings& tls) {
    std::vector<Outcome> out;
    out.reserve(requests.size());
    for (const auto& r : requests) out.push_back(send(r, tls));
    return out;
  }
};

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
