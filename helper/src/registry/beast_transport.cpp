#include "registry/beast_transport.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "base/error.hpp"
#include "base/interrupt.hpp"
#include "registry/beast_exchange.hpp"

namespace mai {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

constexpr std::chrono::seconds kConnectTimeout{30};

std::chrono::steady_clock::duration budget(std::chrono::seconds timeout) {
  return timeout.count() > 0 ? std::chrono::steady_clock::duration(timeout) : std::chrono::hours(24 * 365);
}

// A TLS record or handshake error that means "this server does not speak TLS": what OpenSSL says
// when a plain-HTTP server answers a ClientHello. A connection that just ends (reset, EOF) says
// nothing of the kind: a TLS registry that drops one connection must not be taken for plain HTTP.
bool not_tls(const beast::error_code& ec) {
  if (ec.category() != asio::error::get_ssl_category()) return false;
  const auto reason = ERR_GET_REASON(static_cast<unsigned long>(ec.value()));
  return reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_HTTP_REQUEST || reason == SSL_R_PACKET_LENGTH_TOO_LONG ||
         reason == SSL_R_RECORD_LENGTH_MISMATCH || reason == SSL_R_UNEXPECTED_EOF_WHILE_READING;
}

}  // namespace

// One open connection, plain or TLS, kept for the next request to the same origin with the same TLS
// settings.
struct BeastTransport::Connection {
  std::optional<beast::tcp_stream> plain;
  std::optional<TlsStream> tls;

  asio::awaitable<Exchanged> exchange(const HttpRequest& request, std::chrono::steady_clock::duration limit) {
    if (tls) co_return co_await mai::exchange(*tls, request, limit);
    co_return co_await mai::exchange(*plain, request, limit);
  }
};

namespace {

// Connects `c` to the request's origin, with a TLS session when `tls` is given; an error otherwise.
asio::awaitable<std::optional<TransportError>> open(BeastTransport::Connection& c, const Url& url, ssl::context* tls, bool verify,
                                                    std::chrono::seconds timeout) {
  auto executor = co_await asio::this_coro::executor;
  const auto where = url.host + ":" + url.port;
  const auto connect_limit = std::min<std::chrono::steady_clock::duration>(kConnectTimeout, budget(timeout));

  // An address needs no resolver (whose lookups run on a thread of their own).
  boost::system::error_code not_ip;
  const auto address = asio::ip::make_address(url.host, not_ip);
  std::vector<tcp::endpoint> endpoints;
  if (!not_ip) {
    endpoints.emplace_back(address, static_cast<unsigned short>(std::stoul(url.port)));  // 1 to 65535: Url::parse checked it
  } else {
    tcp::resolver resolver(executor);
    auto [rec, found] = co_await resolver.async_resolve(url.host, url.port, asio::as_tuple(asio::use_awaitable));
    if (rec) {
      // A name that does not exist stays so; a lookup that could not be made (EAI_AGAIN) may work later.
      const auto kind = rec == asio::error::host_not_found ? TransportError::Kind::unknown_host : TransportError::Kind::connect;
      co_return TransportError{kind, "cannot resolve " + url.host + ": " + rec.message()};
    }
    for (const auto& e : found) endpoints.push_back(e.endpoint());
  }
  beast::tcp_stream tcp_stream(executor);
  tcp_stream.expires_after(connect_limit);
  auto [cec, endpoint] = co_await tcp_stream.async_connect(endpoints, asio::as_tuple(asio::use_awaitable));
  if (cec)
    co_return TransportError{cec == beast::error::timeout ? TransportError::Kind::timeout : TransportError::Kind::connect,
                             "cannot connect to " + where + ": " + (cec == beast::error::timeout ? "timed out" : cec.message())};
  // Requests are small writes, and a TLS handshake ends in two of them; with Nagle's algorithm the
  // second waits for the server's delayed ACK (40 ms on Linux).
  // Without it (a socket that refuses the option), requests are only slower.
  boost::system::error_code refused;
  static_cast<void>(tcp_stream.socket().set_option(tcp::no_delay(true), refused));
  if (!tls) {
    c.plain.emplace(std::move(tcp_stream));
    co_return std::nullopt;
  }

  auto& stream = c.tls.emplace(std::move(tcp_stream), *tls);
  if (not_ip) SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str());
  if (verify) stream.set_verify_callback(ssl::host_name_verification(url.host));
  beast::get_lowest_layer(stream).expires_after(connect_limit);
  auto [hec] = co_await stream.async_handshake(ssl::stream_base::client, asio::as_tuple(asio::use_awaitable));
  if (!hec) co_return std::nullopt;
  const auto verify_result = SSL_get_verify_result(stream.native_handle());
  if (hec == beast::error::timeout)
    co_return TransportError{TransportError::Kind::timeout, "TLS handshake with " + where + ": timed out"};
  if (verify && verify_result != X509_V_OK)
    co_return TransportError{TransportError::Kind::tls_verify,
                             "the certificate of " + where + " is not trusted: " + X509_verify_cert_error_string(verify_result)};
  if (not_tls(hec))
    co_return TransportError{TransportError::Kind::tls_not_spoken, where + " does not speak TLS (" + hec.message() + ")"};
  if (hec.category() == asio::error::get_ssl_category())
    co_return TransportError{TransportError::Kind::tls_failed, "the TLS handshake with " + where + " failed: " + hec.message()};
  co_return io_error(hec, "TLS handshake with " + where);
}

// The system's CAs are loaded on the first certificate a context cannot verify without them: parsing
// the bundle takes ~20 ms, and neither a plain-HTTP registry on loopback nor one whose CA is in
// certs.d needs it.
struct LazySystemCas {
  bool loaded = false;
};

// Whether `chain` verifies against the CAs its store holds so far (the certs.d ones), in a trial
// context of its own: the real one runs the host-name check and reports errors.
bool verifies_without_system_cas(X509_STORE_CTX* chain) {
  X509_STORE_CTX* trial = X509_STORE_CTX_new();
  if (!trial) return false;
  bool ok = X509_STORE_CTX_init(trial, X509_STORE_CTX_get0_store(chain), X509_STORE_CTX_get0_cert(chain),
                                X509_STORE_CTX_get0_untrusted(chain)) == 1 &&
            X509_verify_cert(trial) == 1;
  X509_STORE_CTX_free(trial);
  return ok;
}

// OpenSSL's whole-chain verification hook: a registry whose CA is in certs.d is verified with that
// CA alone; otherwise the system CAs (SSL_CERT_FILE/SSL_CERT_DIR or the defaults) join the store,
// once, before the usual verification.
int verify_with_system_cas(X509_STORE_CTX* chain, void* arg) {
  auto* cas = static_cast<LazySystemCas*>(arg);
  if (!cas->loaded && !verifies_without_system_cas(chain)) {
    cas->loaded = true;
    X509_STORE_set_default_paths(X509_STORE_CTX_get0_store(chain));
  }
  return X509_verify_cert(chain);
}

}  // namespace

struct BeastTransport::Contexts {
  struct Entry {
    std::unique_ptr<ssl::context> context;
    std::unique_ptr<LazySystemCas> cas;
  };
  std::map<std::string, Entry> by_settings;
};

BeastTransport::BeastTransport(std::chrono::seconds timeout)
    : timeout_(timeout), io_(std::make_unique<asio::io_context>()), contexts_(std::make_unique<Contexts>()) {}

BeastTransport::~BeastTransport() = default;

namespace {

// One request on `connection` (a kept one, or a new one when it is empty or the server dropped it).
// Its parameters are copies or pointers that outlive it: it runs as a coroutine of its own.
asio::awaitable<void> exchange_on(std::unique_ptr<BeastTransport::Connection>* connection, const HttpRequest* request,
                                  ssl::context* tls, bool verify, std::chrono::seconds timeout, Exchanged* result) {
  if (*connection) {
    *result = co_await (*connection)->exchange(*request, budget(timeout));
    // The server closed the kept connection while it was idle: nothing came back, so the request
    // was not handled there. Once more on a new connection. Not a request cut while it was being
    // sent: the server may have kept part of it (an upload's body), and the caller knows what then.
    if (!result->outcome.error || result->answered || result->broke_while_sending ||
        result->outcome.error->kind == TransportError::Kind::timeout)
      co_return;
    connection->reset();
  }
  *connection = std::make_unique<BeastTransport::Connection>();
  if (auto failed = co_await open(**connection, request->url, tls, verify, timeout)) {
    *result = {};
    result->outcome.error = std::move(failed);
    connection->reset();
    co_return;
  }
  *result = co_await (*connection)->exchange(*request, budget(timeout));
}

}  // namespace

ssl::context* BeastTransport::context_for(const Url& url, const TlsSettings& settings, std::string& key) {
  if (url.scheme != "https") {
    key = url.origin() + " plain";
    return nullptr;
  }
  std::string settings_key = settings.verify ? "verify" : "no-verify";
  for (const auto& ca : settings.ca_files) settings_key += "|" + ca.string();
  if (settings.client) settings_key += "|client " + settings.client->first.string() + " " + settings.client->second.string();
  key = url.origin() + " " + settings_key;
  auto& slot = contexts_->by_settings[settings_key];
  if (!slot.context) {
    auto made = std::make_unique<ssl::context>(ssl::context::tls_client);
    made->set_verify_mode(settings.verify ? ssl::verify_peer : ssl::verify_none);
    slot.cas = std::make_unique<LazySystemCas>();
    if (settings.verify) SSL_CTX_set_cert_verify_callback(made->native_handle(), verify_with_system_cas, slot.cas.get());
    try {
      for (const auto& ca : settings.ca_files) made->load_verify_file(ca.string());
      if (settings.client) {
        made->use_certificate_chain_file(settings.client->first.string());
        made->use_private_key_file(settings.client->second.string(), ssl::context::pem);
      }
    } catch (const boost::system::system_error& e) {
      throw Error(Exit::invalid_input, "cannot load the TLS files for " + url.host + ":" + url.port + ": " + e.what());
    }
    slot.context = std::move(made);
  }
  return slot.context.get();
}

Transport::Outcome BeastTransport::send(const HttpRequest& request, const TlsSettings& settings) {
  return std::move(send_all({request}, settings).front());
}

std::vector<Transport::Outcome> BeastTransport::send_all(const std::vector<HttpRequest>& requests, const TlsSettings& settings) {
  const auto n = requests.size();
  std::vector<std::string> keys(n);
  std::vector<ssl::context*> contexts(n);
  std::vector<std::unique_ptr<Connection>> connections(n);
  for (std::size_t i = 0; i < n; ++i) {
    contexts[i] = context_for(requests[i].url, settings, keys[i]);
    if (const auto kept = idle_.find(keys[i]); kept != idle_.end()) {
      connections[i] = std::move(kept->second);
      idle_.erase(kept);
    }
  }
  std::vector<Exchanged> results(n);
  std::size_t running = n;
  std::exception_ptr failure;
  io_->restart();
  for (std::size_t i = 0; i < n; ++i)
    asio::co_spawn(*io_, exchange_on(&connections[i], &requests[i], contexts[i], settings.verify, timeout_, &results[i]),
                   [&](const std::exception_ptr& e) {
                     if (e && !failure) failure = e;
                     --running;
                   });
  // Short slices, so that an interrupt stops the exchanges within 100 ms. An interrupt ends the
  // step, and with it this transport.
  while (running > 0 && !io_->stopped()) {
    io_->run_for(std::chrono::milliseconds(100));
    throw_if_interrupted();
  }
  if (failure) std::rethrow_exception(failure);
  if (running > 0)
    throw Error(Exit::step_failed, "the exchange with " + requests.front().url.origin() + " ended without an answer");
  std::vector<Outcome> out;
  for (std::size_t i = 0; i < n; ++i) {
    if (connections[i] && results[i].reusable) idle_.emplace(keys[i], std::move(connections[i]));
    out.push_back(std::move(results[i].outcome));
  }
  return out;
}

}  // namespace mai
