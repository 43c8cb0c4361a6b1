// A request and its answer, and the Transport that exchanges them: the registry client speaks through
// this interface, the real one (beast_transport.hpp) over the network, unit tests' fakes without one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "registry/tls.hpp"
#include "registry/url.hpp"

namespace mai {

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

// The User-Agent every request of this process sends: "multiarch-image" until set (main sets
// "multiarch-image/<version> (<subcommand>[; <platform>])", so that a registry's log, and a test's
// front, can tell a platform's push from the manifest step).
const std::string& user_agent();
void set_user_agent(std::string value);

// An exchange worth another attempt: a connection, timeout or I/O failure. An unknown host, a TLS
// failure or an answer over its limit is not (retry.hpp's transient(int) says which statuses are).
bool transient(const TransportError& error);

}  // namespace mai
