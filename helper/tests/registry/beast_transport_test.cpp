// BeastTransport against a real HTTP server on loopback: connections are kept and re-used, and a
// connection the server dropped is replaced without the caller seeing it.
#include "registry/beast_transport.hpp"

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/test/unit_test.hpp>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <optional>
#include <thread>
#include <vector>

#include "registry/client.hpp"
#include "support/test_support.hpp"

using namespace mai;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

// A self-signed certificate for 127.0.0.1 (P-256), written as cert.pem and key.pem under `dir`.
struct SelfSigned {
  std::filesystem::path cert, key;
};
SelfSigned make_certificate(const std::filesystem::path& dir) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, x, x, nullptr, nullptr, 0);
  for (auto [nid, value] :
       {std::pair{NID_subject_alt_name, "IP:127.0.0.1"}, std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(x, key, EVP_sha256());
  SelfSigned out{dir / "cert.pem", dir / "key.pem"};
  FILE* f = std::fopen(out.cert.c_str(), "w");
  PEM_write_X509(f, x);
  std::fclose(f);
  f = std::fopen(out.key.c_str(), "w");
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  X509_free(x);
  EVP_PKEY_free(key);
  return out;
}

// A blocking server on 127.0.0.1, a thread per connection; it answers each request with its target
// and counts the connections it accepted. Its clients must be gone before it is.
class CountingServer {
 public:
  enum class Mode {
    keep_alive,     // HTTP/1.1 keep-alive
    drop_silently,  // keeps nothing but says nothing: closes the socket after each answer
    say_close,      // answers with `Connection: close` and closes
    close_first,    // ends its first connection at once, unread (a reset at first contact); then keep_alive
    answer_early,   // answers 413 as soon as a request's header is in, and closes with the body unread
  };

  // With `tls`, every connection is a TLS session with that certificate. With `together` > 1, no
  // request is answered before that many have arrived (or 5 s have passed): the answers say which.
  explicit CountingServer(Mode mode, const SelfSigned* tls = nullptr, int together = 1)
      : mode_(mode), together_(together), acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    if (tls) {
      tls_.emplace(ssl::context::tls_server);
      tls_->use_certificate_chain_file(tls->cert.string());
      tls_->use_private_key_file(tls->key.string(), ssl::context::pem);
    }
    thread_ = std::thread([this] { serve(); });
  }
  ~CountingServer() {
    stopping_ = true;
    // Wake a blocking accept() with one last connection.
    beast::error_code ec;
    asio::io_context io;
    tcp::socket s(io);
    s.connect({asio::ip::make_address("127.0.0.1"), port()}, ec);
    s.close(ec);
    thread_.join();
  }
  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  int connections() const { return connections_; }
  int requests() const { return requests_; }

 private:
  void serve() {
    while (!stopping_) {
      auto socket = std::make_shared<tcp::socket>(io_);
      beast::error_code ec;
      acceptor_.accept(*socket, ec);
      if (ec || stopping_) break;
      if (++connections_ == 1 && mode_ == Mode::close_first) {
        socket->set_option(asio::socket_base::linger(true, 0), ec);  // an RST, not a FIN
        socket->close(ec);
        continue;
      }
      sessions_.emplace_back([this, socket] {
        beast::error_code ec;
        if (tls_) {
          ssl::stream<tcp::socket&> session(*socket, *tls_);
          session.handshake(ssl::stream_base::server, ec);
          if (!ec) converse(session);
        } else {
          converse(*socket);
        }
        // No TLS close_notify, no shutdown: the connection just ends, as when a server drops idle ones.
        socket->close(ec);
      });
    }
    for (auto& t : sessions_) t.join();  // each ends when its client goes
  }

  template <class Stream>
  void converse(Stream& stream) {
    beast::error_code ec;
    beast::flat_buffer buffer;
    if (mode_ == Mode::answer_early) {
      // As a proxy with a body limit (or distribution with a 401) does: the answer goes out before
      // the body is read; the socket, closed with the body unread, ends in a reset.
      bhttp::request_parser<bhttp::empty_body> header;
      header.body_limit(boost::none);
      bhttp::read_header(stream, buffer, header, ec);
      if (ec) return;
      ++requests_;
      bhttp::response<bhttp::string_body> res{bhttp::status::payload_too_large, 11};
      res.body() = "too large";
      res.keep_alive(false);
      res.prepare_payload();
      bhttp::write(stream, res, ec);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the answer reaches the client first
      return;
    }
    while (true) {
      bhttp::request<bhttp::string_body> req;
      bhttp::read(stream, buffer, req, ec);
      if (ec) return;
      std::string body = std::string(req.target()) + " " + req.body();
      {
        std::unique_lock lock(mutex_);
        ++requests_;
        arrived_.notify_all();
        if (together_ > 1)
          body = arrived_.wait_for(lock, std::chrono::seconds(5), [&] { return requests_ >= together_; }) ? "together" : "alone";
      }
      // /big/N: N bytes with 200; /missing/N: N bytes with 404; /moved/N: N bytes with a 307.
      std::optional<bhttp::status> sized;
      if (req.target().starts_with("/big/")) sized = bhttp::status::ok;
      if (req.target().starts_with("/missing/")) sized = bhttp::status::not_found;
      if (req.target().starts_with("/moved/")) sized = bhttp::status::temporary_redirect;
      if (sized) {
        const auto n = std::stoul(std::string(req.target().substr(req.target().rfind('/') + 1)));
        bhttp::response<bhttp::string_body> res{*sized, 11};
        if (*sized == bhttp::status::temporary_redirect) res.set(bhttp::field::location, "/big/1");
        res.body() = std::string(n, 'x');
        res.prepare_payload();
        bhttp::write(stream, res, ec);
        if (ec) return;
        continue;
      }
      if (req.method() == bhttp::verb::head) {  // the length of what a GET would get, no body
        bhttp::response<bhttp::empty_body> res{bhttp::status::ok, 11};
        res.content_length(body.size());
        res.keep_alive(mode_ != Mode::say_close);
        bhttp::write(stream, res, ec);
      } else {
        bhttp::response<bhttp::string_body> res{bhttp::status::ok, 11};
        res.body() = body;
        res.keep_alive(mode_ != Mode::say_close);
        res.prepare_payload();
        bhttp::write(stream, res, ec);
      }
      if (ec || mode_ != Mode::keep_alive) return;
    }
  }

  Mode mode_;
  int together_;
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::optional<ssl::context> tls_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::atomic<int> requests_{0};
  std::vector<std::thread> sessions_;
  std::thread thread_;
};

HttpRequest get(const CountingServer& server, const std::string& path, const std::string& method = "GET",
                const std::string& scheme = "http") {
  HttpRequest r;
  r.method = method;
  r.url = Url::parse(scheme + "://127.0.0.1:" + std::to_string(server.port()) + path, "test URL");
  if (method == "PUT") r.body = "payload";
  return r;
}

std::string body_of(const Transport::Outcome& o) {
  BOOST_REQUIRE_MESSAGE(o.response, (o.error ? o.error->message : std::string("no response")));
  return o.response->body;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(http_transport)

BOOST_AUTO_TEST_CASE(one_connection_serves_every_request_to_an_origin) {
  CountingServer server(CountingServer::Mode::keep_alive);
  BeastTransport transport(std::chrono::seconds(10));
  for (int i = 0; i < 5; ++i)
    BOOST_TEST(body_of(transport.send(get(server, "/v2/x/" + std::to_string(i)), {})) == "/v2/x/" + std::to_string(i) + " ");
  BOOST_TEST(body_of(transport.send(get(server, "/v2/x/manifests/t", "PUT"), {})) == "/v2/x/manifests/t payload");
  BOOST_TEST(body_of(transport.send(get(server, "/v2/x/manifests/t", "HEAD"), {})).empty());
  BOOST_TEST(body_of(transport.send(get(server, "/after-head"), {})) == "/after-head ");
  BOOST_TEST(server.requests() == 8);
  BOOST_TEST(server.connections() == 1);
}

// What a server that closes idle connections looks like to a client: the next request on the kept
// connection meets a closed socket. It goes out again on a new connection.
BOOST_AUTO_TEST_CASE(a_connection_the_server_dropped_is_replaced) {
  CountingServer server(CountingServer::Mode::drop_silently);
  BeastTransport transport(std::chrono::seconds(10));
  for (int i = 0; i < 4; ++i) {
    BOOST_TEST(body_of(transport.send(get(server, "/r" + std::to_string(i)), {})) == "/r" + std::to_string(i) + " ");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the close reaches this side
  }
  BOOST_TEST(server.requests() == 4);  // each request was handled once
  BOOST_TEST(server.connections() == 4);
}

BOOST_AUTO_TEST_CASE(connection_close_is_honoured) {
  CountingServer server(CountingServer::Mode::say_close);
  BeastTransport transport(std::chrono::seconds(10));
  for (int i = 0; i < 3; ++i) BOOST_TEST(body_of(transport.send(get(server, "/c"), {})) == "/c ");
  BOOST_TEST(server.requests() == 3);
  BOOST_TEST(server.connections() == 3);
}

BOOST_AUTO_TEST_CASE(each_origin_gets_its_own_connection) {
  CountingServer a(CountingServer::Mode::keep_alive);
  CountingServer b(CountingServer::Mode::keep_alive);
  BeastTransport transport(std::chrono::seconds(10));
  for (int i = 0; i < 3; ++i) {
    BOOST_TEST(body_of(transport.send(get(a, "/a"), {})) == "/a ");
    BOOST_TEST(body_of(transport.send(get(b, "/b"), {})) == "/b ");
  }
  BOOST_TEST(a.connections() == 1);
  BOOST_TEST(b.connections() == 1);
}

BOOST_AUTO_TEST_CASE(a_port_nobody_listens_on_is_a_connect_error) {
  unsigned short port;
  {
    CountingServer gone(CountingServer::Mode::keep_alive);
    port = gone.port();
  }
  BeastTransport transport(std::chrono::seconds(10));
  HttpRequest r;
  r.url = Url::parse("http://127.0.0.1:" + std::to_string(port) + "/", "test URL");
  const auto o = transport.send(r, {});
  BOOST_REQUIRE(o.error);
  BOOST_TEST(static_cast<int>(o.error->kind) == static_cast<int>(TransportError::Kind::connect));
}

// Over TLS the saving is a handshake per request: one session serves them all, verified each time
// against the CA the settings name; a dropped session is replaced like a dropped connection.
BOOST_AUTO_TEST_CASE(tls_sessions_are_kept_and_replaced_like_connections) {
  mai::test::TempDir dir;
  const auto cert = make_certificate(dir.path());
  TlsSettings trusted;
  trusted.ca_files = {cert.cert};
  {
    CountingServer server(CountingServer::Mode::keep_alive, &cert);
    BeastTransport transport(std::chrono::seconds(10));
    for (int i = 0; i < 4; ++i) BOOST_TEST(body_of(transport.send(get(server, "/t", "GET", "https"), trusted)) == "/t ");
    BOOST_TEST(server.connections() == 1);
    // Other TLS settings for the same origin do not borrow that session.
    const auto untrusted = transport.send(get(server, "/t", "GET", "https"), {});
    BOOST_REQUIRE(untrusted.error);
    BOOST_TEST(static_cast<int>(untrusted.error->kind) == static_cast<int>(TransportError::Kind::tls_verify));
  }
  CountingServer dropping(CountingServer::Mode::drop_silently, &cert);
  BeastTransport transport(std::chrono::seconds(10));
  for (int i = 0; i < 3; ++i) {
    BOOST_TEST(body_of(transport.send(get(dropping, "/d", "GET", "https"), trusted)) == "/d ");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  BOOST_TEST(dropping.requests() == 3);
  BOOST_TEST(dropping.connections() == 3);
}

// send_all: the requests are in flight together (the server answers none before all have arrived),
// each on a connection of its own, and the connections are kept for the next batch.
BOOST_AUTO_TEST_CASE(a_batch_is_sent_concurrently_and_its_connections_kept) {
  CountingServer server(CountingServer::Mode::keep_alive, nullptr, 3);
  BeastTransport transport(std::chrono::seconds(10));
  const std::vector<HttpRequest> batch{get(server, "/1"), get(server, "/2"), get(server, "/3")};
  const auto first = transport.send_all(batch, {});
  BOOST_REQUIRE(first.size() == 3u);
  for (const auto& o : first) BOOST_TEST(body_of(o) == "together");
  BOOST_TEST(server.connections() == 3);
  const auto second = transport.send_all(batch, {});
  for (const auto& o : second) BOOST_TEST(body_of(o) == "together");
  BOOST_TEST(server.connections() == 3);
}

BOOST_AUTO_TEST_CASE(a_batch_answers_in_the_order_it_was_given) {
  CountingServer server(CountingServer::Mode::keep_alive);
  BeastTransport transport(std::chrono::seconds(10));
  std::vector<HttpRequest> batch;
  for (int i = 0; i < 6; ++i) batch.push_back(get(server, "/" + std::to_string(i)));
  const auto out = transport.send_all(batch, {});
  for (int i = 0; i < 6; ++i) BOOST_TEST(body_of(out[i]) == "/" + std::to_string(i) + " ");
  BOOST_TEST(body_of(transport.send(get(server, "/after"), {})) == "/after ");
  BOOST_TEST(server.connections() <= 6);
}

// The body limit holds before the body is read; an error page past its own small limit still
// gives its status (a 404 stays a 404), and the connection is not kept.
BOOST_AUTO_TEST_CASE(answers_are_bounded_before_their_body_is_read) {
  CountingServer server(CountingServer::Mode::keep_alive);
  BeastTransport transport(std::chrono::seconds(10));
  auto big = get(server, "/big/100000");
  big.response_limit = 1000;
  const auto refused = transport.send(big, {});
  BOOST_REQUIRE(refused.error);
  BOOST_TEST(static_cast<int>(refused.error->kind) == static_cast<int>(TransportError::Kind::too_large));
  big.response_limit = 100000;
  BOOST_TEST(body_of(transport.send(big, {})).size() == 100000u);
  const auto missing = transport.send(get(server, "/missing/" + std::to_string(kErrorBodyLimit + 1)), {});
  BOOST_REQUIRE(missing.response);
  BOOST_TEST(missing.response->status == 404);
  BOOST_TEST(missing.response->body.empty());
  BOOST_TEST(body_of(transport.send(get(server, "/after"), {})) == "/after ");
}

// Every answer but a success is cut at kErrorBodyLimit, a redirect's too: a 307 whose body is a
// whole blob (or gigabytes of junk) costs 64 KiB, whatever the request would take from a 2xx.
BOOST_AUTO_TEST_CASE(a_redirect_s_body_is_cut_like_an_error_page) {
  CountingServer server(CountingServer::Mode::keep_alive);
  BeastTransport transport(std::chrono::seconds(10));
  auto moved = get(server, "/moved/" + std::to_string(8u << 20));
  moved.response_limit = kStreamedLimit;
  const auto o = transport.send(moved, {});
  BOOST_REQUIRE(o.response);
  BOOST_TEST(o.response->status == 307);
  BOOST_TEST(o.response->header("location") == "/big/1");
  BOOST_TEST(o.response->body.empty());
  BOOST_TEST(body_of(transport.send(get(server, "/after"), {})) == "/after ");
}

// A server that answers before the body is all there and closes: the write breaks, and the answer
// (a 413 here; a 401 for an expired token) is what the exchange returns, not "Broken pipe".
BOOST_AUTO_TEST_CASE(an_answer_sent_before_the_body_was_read_is_returned_not_the_broken_write) {
  mai::test::TempDir dir;
  const auto cert = make_certificate(dir.path());
  TlsSettings trusted;
  trusted.ca_files = {cert.cert};
  const auto file = dir.path() / "blob";
  std::ofstream(file).close();
  std::filesystem::resize_file(file, std::uint64_t{32} << 20);  // more than the sockets on both ends buffer
  for (const auto* scheme : {"http", "https"}) {
    CountingServer server(CountingServer::Mode::answer_early, std::string(scheme) == "https" ? &cert : nullptr);
    BeastTransport transport(std::chrono::seconds(10));
    auto put = get(server, "/v2/x/blobs/uploads/u1", "PUT", scheme);
    put.body.clear();
    put.body_file = FileSpan{file, 0, std::uint64_t{32} << 20};
    const auto o = transport.send(put, trusted);
    BOOST_REQUIRE_MESSAGE(o.response, scheme << ": " << (o.error ? o.error->message : std::string()));
    BOOST_TEST(o.response->status == 413, scheme);
    BOOST_TEST(o.response->body == "too large", scheme);
  }
}

BOOST_AUTO_TEST_CASE(bodies_stream_from_a_file_span_and_into_a_sink_for_success_only) {
  CountingServer server(CountingServer::Mode::keep_alive);
  BeastTransport transport(std::chrono::seconds(10));
  const mai::test::TempDir dir;
  const auto file = dir.file("blob", "0123456789" + std::string(200000, 'y') + "abc");
  auto put = get(server, "/up", "PATCH");
  put.body_file = FileSpan{file, 5, 200006};
  BOOST_TEST(body_of(transport.send(put, {})) == "/up 56789" + std::string(200000, 'y') + "a");
  struct Collect final : BodySink {
    int begun = 0;
    std::string bytes;
    void begin() override { ++begun, bytes.clear(); }
    void write(std::string_view b) override { bytes += b; }
  } sink;
  auto big = get(server, "/big/300000");
  big.sink = &sink;
  big.response_limit = 300000;
  const auto streamed = transport.send(big, {});
  BOOST_TEST(body_of(streamed).empty());
  BOOST_TEST(sink.begun == 1);
  BOOST_TEST(sink.bytes.size() == 300000u);
  auto missing = get(server, "/missing/100");
  missing.sink = &sink;
  const auto refused = transport.send(missing, {});
  BOOST_REQUIRE(refused.response);
  BOOST_TEST(refused.response->status == 404);
  BOOST_TEST(refused.response->body == std::string(100, 'x'));  // an error's body is for the message
  BOOST_TEST(sink.begun == 1);
}

BOOST_AUTO_TEST_CASE(control_characters_in_a_request_are_refused_unsent) {
  CountingServer server(CountingServer::Mode::keep_alive);
  BeastTransport transport(std::chrono::seconds(10));
  auto header = get(server, "/x");
  header.headers.emplace_back("Authorization", "Bearer abc\r\nX-Injected: 1");
  BOOST_TEST(mai::test::error_of([&] {
               transport.send(header, {});
             }).find("the header Authorization holds a control character") != std::string::npos);
  auto target = get(server, "/x");
  target.url.target = "/v2/x HTTP/1.1\r\nX: y";
  BOOST_TEST(mai::test::error_of([&] { transport.send(target, {}); }).find("the request target holds") != std::string::npos);
  auto huge = get(server, "/x");
  huge.headers.emplace_back("Authorization", std::string(70 * 1024, 'a'));
  BOOST_TEST(mai::test::error_of([&] { transport.send(huge, {}); }).find("more than an HTTP header holds") != std::string::npos);
  BOOST_TEST(server.requests() == 0);
}

// A TLS server that resets one connection before the handshake is still a TLS server: the reset is
// an error that is retried, not "does not speak TLS" (which would switch a loopback registry to HTTP).
BOOST_AUTO_TEST_CASE(a_reset_at_first_contact_is_not_taken_for_plain_http) {
  mai::test::TempDir dir;
  const auto cert = make_certificate(dir.path());
  TlsSettings trusted;
  trusted.ca_files = {cert.cert};
  CountingServer server(CountingServer::Mode::close_first, &cert);
  BeastTransport transport(std::chrono::seconds(10));
  const auto first = transport.send(get(server, "/t", "GET", "https"), trusted);
  BOOST_REQUIRE(first.error);
  // io, or connect when the reset overtakes the connection's own handshake: both are retried.
  const auto kind = first.error->kind;
  BOOST_TEST((kind == TransportError::Kind::io || kind == TransportError::Kind::connect), first.error->message);
  BOOST_TEST(body_of(transport.send(get(server, "/t", "GET", "https"), trusted)) == "/t ");
}

BOOST_AUTO_TEST_SUITE_END()
