#include "registry/http.hpp"

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
#include "base/text.hpp"

namespace mai {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

std::string default_port(std::string_view scheme) { return scheme == "https" ? "443" : "80"; }

}  // namespace

Url Url::parse(std::string_view text, std::string_view what) {
  auto bad = [&](const std::string& why) {
    return Error(Exit::invalid_input, std::string(what) + " `" + std::string(text) + "` is not an http(s) URL: " + why);
  };
  const auto sep = text.find("://");
  if (sep == std::string_view::npos) throw bad("no scheme");
  Url u;
  u.scheme = lowercase(text.substr(0, sep));
  if (u.scheme != "http" && u.scheme != "https") throw bad("the scheme must be http or https");
  auto rest = text.substr(sep + 3);
  const auto slash = rest.find_first_of("/?");
  auto authority = rest.substr(0, slash);
  u.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (u.target.front() == '?') u.target.insert(0, "/");
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  if (authority.empty()) throw bad("no host");
  if (authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) throw bad("unclosed [");
    u.host = std::string(authority.substr(1, close - 1));
    authority.remove_prefix(close + 1);
    if (!authority.empty() && authority.front() != ':') throw bad("junk after ]");
    u.port = authority.empty() ? "" : std::string(authority.substr(1));
  } else {
    const auto colon = authority.find(':');
    u.host = std::string(authority.substr(0, colon));
    u.port = colon == std::string_view::npos ? "" : std::string(authority.substr(colon + 1));
  }
  if (u.host.empty()) throw bad("no host");
  if (u.port.empty()) u.port = default_port(u.scheme);
  if (u.port.size() > 5 || !std::all_of(u.port.begin(), u.port.end(), [](unsigned char c) { return std::isdigit(c); }) ||
      std::stoi(u.port) < 1 || std::stoi(u.port) > 65535)
    throw bad("the port must be a number from 1 to 65535");
  if (const auto hash = u.target.find('#'); hash != std::string::npos) u.target.erase(hash);
  return u;
}

namespace {

// RFC 3986 section 5.2.4: the "." and ".." segments of a path removed.
std::string remove_dot_segments(std::string_view in) {
  std::string out;
  while (!in.empty()) {
    if (in.starts_with("../")) {
      in.remove_prefix(3);
    } else if (in.starts_with("./") || in.starts_with("/./")) {
      in.remove_prefix(2);
    } else if (in == "/.") {
      in = "/";
    } else if (in.starts_with("/../") || in == "/..") {
      in = in.size() == 3 ? std::string_view("/") : in.substr(3);
      const auto slash = out.rfind('/');
      out.erase(slash == std::string::npos ? 0 : slash);
    } else if (in == "." || in == "..") {
      in = {};
    } else {
      const auto next = in.find('/', in.front() == '/' ? 1 : 0);
      out += in.substr(0, next);
      in.remove_prefix(next == std::string_view::npos ? in.size() : next);
    }
  }
  return out;
}

// A reference that starts with a scheme ("https:", "x+y:") before any '/', '?' or '#'.
bool has_scheme(std::string_view ref) {
  const auto colon = ref.find(':');
  if (colon == std::string_view::npos || colon == 0 || ref.find_first_of("/?#") < colon) return false;
  return std::isalpha(static_cast<unsigned char>(ref.front())) &&
         std::all_of(ref.begin(), ref.begin() + static_cast<std::ptrdiff_t>(colon),
                     [](unsigned char c) { return std::isalnum(c) || c == '+' || c == '-' || c == '.'; });
}

}  // namespace

Url Url::resolve(std::string_view location) const {
  const auto ref = location.substr(0, location.find('#'));
  if (has_scheme(ref)) return parse(ref, "Location");
  if (ref.starts_with("//")) return parse(scheme + ":" + std::string(ref), "Location");
  Url u = *this;
  const auto path = target.substr(0, target.find('?'));
  if (ref.empty()) return u;  // the same resource, its query kept
  if (ref.front() == '?') {   // the same path, another query
    u.target = path + std::string(ref);
    return u;
  }
  const auto query_at = ref.find('?');
  const auto ref_path = ref.substr(0, query_at);
  const auto ref_query = query_at == std::string_view::npos ? std::string_view() : ref.substr(query_at);
  const auto merged =
      ref_path.front() == '/' ? std::string(ref_path) : path.substr(0, path.rfind('/') + 1) + std::string(ref_path);
  u.target = remove_dot_segments(merged) + std::string(ref_query);
  if (u.target.empty() || u.target.front() != '/') u.target.insert(0, "/");
  return u;
}

std::string Url::authority() const {
  const auto h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + (port == default_port(scheme) ? "" : ":" + port);
}

std::string Url::origin() const { return scheme + "://" + authority(); }

std::string percent_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0xf];
    }
  }
  return out;
}

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

namespace {

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

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

TransportError io_error(const beast::error_code& ec, const std::string& what) {
  if (ec == beast::error::timeout) return {TransportError::Kind::timeout, what + ": timed out"};
  // An alert inside the session (TLS 1.3 reports a refused client certificate only here).
  if (ec.category() == asio::error::get_ssl_category()) return {TransportError::Kind::tls_failed, what + ": " + ec.message()};
  return {TransportError::Kind::io, what + ": " + ec.message()};
}

// CR or LF in a value would end the header and start another (or a second request): values from a
// token service or a registry's JSON are checked here, where every request passes.
bool has_control(std::string_view s, bool tab_allowed) {
  return std::any_of(s.begin(), s.end(), [&](unsigned char c) { return (c < 0x20 && !(tab_allowed && c == '\t')) || c == 0x7f; });
}

// The body of every message: text in memory, or (requests) a span of a file read while it is sent,
// or (2xx answers) a sink that takes the bytes as they arrive.
struct Body {
  struct value_type {
    std::string text;
    const FileSpan* file = nullptr;
    BodySink* sink = nullptr;
  };
  static std::uint64_t size(const value_type& v) { return v.file ? v.file->length : v.text.size(); }

  class reader {
   public:
    // A parser makes its reader before the header arrives: the status is looked at in init().
    template <bool isRequest, class Fields>
    reader(http::header<isRequest, Fields>& h, value_type& v) : v_(v) {
      if constexpr (!isRequest) status_ = [&h] { return h.result_int(); };
    }
    void init(const boost::optional<std::uint64_t>& length, beast::error_code& ec) {
      ec = {};
      streaming_ = v_.sink && status_ && status_() / 100 == 2;
      if (streaming_)
        v_.sink->begin();
      else if (length)
        v_.text.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(*length, kDefaultResponseLimit)));
    }
    template <class Buffers>
    std::size_t put(const Buffers& buffers, beast::error_code& ec) {
      ec = {};
      std::size_t n = 0;
      for (const auto b : beast::buffers_range_ref(buffers)) {
        const std::string_view bytes(static_cast<const char*>(b.data()), b.size());
        if (streaming_)
          v_.sink->write(bytes);
        else
          v_.text.append(bytes);
        n += b.size();
      }
      return n;
    }
    void finish(beast::error_code& ec) { ec = {}; }

   private:
    value_type& v_;
    std::function<unsigned()> status_;
    bool streaming_ = false;
  };

  class writer {
   public:
    using const_buffers_type = asio::const_buffer;
    template <bool isRequest, class Fields>
    writer(const http::header<isRequest, Fields>&, const value_type& v) : v_(v) {}
    void init(beast::error_code& ec) {
      ec = {};
      if (!v_.file) return;
      in_.open(v_.file->path, std::ios::binary);
      in_.seekg(static_cast<std::streamoff>(v_.file->offset));
      if (!in_) ec = beast::errc::make_error_code(beast::errc::io_error);
      left_ = v_.file->length;
    }
    boost::optional<std::pair<const_buffers_type, bool>> get(beast::error_code& ec) {
      ec = {};
      if (!v_.file) return {{const_buffers_type(v_.text.data(), v_.text.size()), false}};
      if (left_ == 0) return boost::none;
      buffer_.resize(static_cast<std::size_t>(std::min<std::uint64_t>(left_, kChunk)));
      in_.read(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
      if (static_cast<std::size_t>(in_.gcount()) != buffer_.size()) {
        // The file is shorter than the span: a blob changed under the upload.
        ec = beast::errc::make_error_code(beast::errc::io_error);
        return boost::none;
      }
      left_ -= buffer_.size();
      return {{const_buffers_type(buffer_.data(), buffer_.size()), left_ > 0}};
    }

   private:
    static constexpr std::uint64_t kChunk = 64 << 10;
    const value_type& v_;
    std::ifstream in_;
    std::vector<char> buffer_;
    std::uint64_t left_ = 0;
  };
};

http::request<Body> to_beast(const HttpRequest& r) {
  const auto refuse = [&](const std::string& what) {
    return Error(Exit::step_failed, "refusing to send " + r.method + " to " + r.url.origin() + ": " + what +
                                        " holds a control character or a space, which would split the request");
  };
  if (has_control(r.url.target, false) || r.url.target.find(' ') != std::string::npos) throw refuse("the request target");
  if (has_control(r.url.host, false) || r.url.host.find(' ') != std::string::npos) throw refuse("the host name");
  http::request<Body> req;
  req.method_string(r.method);
  req.target(r.url.target);
  req.version(11);  // keep-alive unless the server says otherwise
  req.set(http::field::host, r.url.authority());
  req.set(http::field::user_agent, "multiarch-image");
  for (const auto& [k, v] : r.headers) {
    // The header's name only: its value may be a secret.
    if (k.empty() || has_control(k, false) || k.find_first_of(" :") != std::string::npos || has_control(v, true))
      throw refuse("the header " + k);
    try {
      req.insert(k, v);
    } catch (const std::length_error&) {
      throw Error(Exit::step_failed, "refusing to send " + r.method + " to " + r.url.origin() + ": the header " + k + " is " +
                                         std::to_string(v.size()) + " bytes, more than an HTTP header holds");
    }
  }
  if (!r.body.empty() || r.body_file || r.method == "PUT" || r.method == "POST" || r.method == "PATCH") {
    req.body().text = r.body;
    if (r.body_file) req.body().file = &*r.body_file;
    req.prepare_payload();
  }
  return req;
}

HttpResponse from_beast(http::response<Body>& res) {
  HttpResponse out;
  out.status = static_cast<int>(res.result_int());
  for (const auto& field : res) out.headers.emplace_back(lowercase(field.name_string()), std::string(field.value()));
  out.body = std::move(res.body().text);
  return out;
}

struct Exchanged {
  Transport::Outcome outcome;
  bool answered = false;  // some of a response arrived (so the request reached the server)
  bool reusable = false;  // the whole response was read and the server keeps the connection open
};

template <class AsyncStream>
asio::awaitable<Exchanged> exchange(AsyncStream& stream, const HttpRequest& request, std::chrono::steady_clock::duration limit) {
  Exchanged out;
  auto req = to_beast(request);
  beast::get_lowest_layer(stream).expires_after(limit);
  auto [wec, written] = co_await http::async_write(stream, req, asio::as_tuple(asio::use_awaitable));
  if (wec) {
    out.outcome.error = io_error(wec, "sending " + request.method + " " + request.url.str());
    co_return out;
  }
  beast::flat_buffer buffer;
  http::response_parser<Body> parser;
  parser.get().body().sink = request.sink;
  if (request.method == "HEAD") parser.skip(true);
  // The body is bounded before a byte of it is read: a stated length over the limit fails as the
  // header completes, a chunked body as its chunks arrive. A hostile answer costs at most its limit.
  parser.body_limit(request.response_limit);
  auto [hec, header_bytes] = co_await http::async_read_header(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
  out.answered = parser.got_some();
  const bool error_status = parser.is_header_done() && parser.get().result_int() >= 400;
  // What a failed read leaves: an error page too long to be of use (its status and headers are the
  // answer; the connection, with the rest of the body unread, is not kept), an answer over the
  // limit, or an I/O failure. True when the exchange is settled.
  const auto settled = [&](const beast::error_code& ec, bool cut_anyway) {
    if (error_status && (cut_anyway || ec == http::error::body_limit)) {
      auto answer = from_beast(parser.get());
      answer.body.clear();
      out.outcome.response = std::move(answer);
    } else if (ec == http::error::body_limit) {
      out.outcome.error = TransportError{TransportError::Kind::too_large,
                                         "the answer to " + request.method + " " + request.url.str() + " is larger than " +
                                             std::to_string(request.response_limit) + " bytes; refused"};
    } else if (ec) {
      out.outcome.error = io_error(ec, "reading the answer to " + request.method + " " + request.url.str());
    }
    return cut_anyway || ec;
  };
  if (settled(hec, error_status && parser.content_length().value_or(0) > kErrorBodyLimit)) co_return out;
  if (error_status) parser.body_limit(std::min(request.response_limit, kErrorBodyLimit));
  auto [rec, read] = co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
  if (settled(rec, false)) co_return out;
  beast::get_lowest_layer(stream).expires_never();
  out.reusable = parser.get().keep_alive() && buffer.size() == 0;
  auto response = parser.release();
  out.outcome.response = from_beast(response);
  co_return out;
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
  boost::system::error_code ignored;
  tcp_stream.socket().set_option(tcp::no_delay(true), ignored);
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
    // was not handled there. Once more on a new connection.
    if (!result->outcome.error || result->answered || result->outcome.error->kind == TransportError::Kind::timeout) co_return;
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
