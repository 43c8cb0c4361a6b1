// A loopback TCP proxy for reliability tests: it stands between clients and the registry and injects
// faults: a reset, a stall (the request is never answered), a 503 answer, or (with --http) a stall in
// the middle of an answer's body. Every fault it injects is appended to --log, so a test can assert
// that each one happened and was survived. With --delay-ms it holds every chunk it forwards that long,
// in each direction: a registry that far away (the benchmarks).
//
// By default a fault hits a whole connection, decided at its first request (clients keep connections
// alive, so later requests on it pass unseen). With --http the proxy reads each request and answer on
// a connection, decides per request, and logs every request it passes ("pass METHOD TARGET STATUS"):
// a counting front. --match restricts faults to requests whose "METHOD TARGET" matches the regex.
// --first KIND,... injects those kinds, in order, on the first requests (or connections) that match,
// before the random shares apply: each kind happens, whatever the timing. reset-body lets the first
// --reset-body-after bytes of a request's body through to the registry, then resets both sides (a
// request with no longer body leaves the fault to the next one).
//
// --quirk NAME (implies --http, may be repeated) makes the front answer as another registry does:
//   gitlab-referrers-tag   no referrers API (404), and a manifest reference sha256-<hex> taken as the
//                          digest sha256:<hex>, so the referrers tag of a subject is the subject itself
//                          (GitLab's registry, oras-project/oras-go#1396)
// Each quirk a request meets is logged ("quirk NAME METHOD TARGET ..."). A quirk is an entry of the
// table in quirks(): what it does to a request before it is forwarded (another target, or an answer
// of its own).
//
//   multiarch-fault-proxy --target 127.0.0.1:5000 --port-file F --log F
//                         [--reset PCT] [--stall PCT] [--error PCT] [--stall-seconds N] [--seed N] [--port N]
//                         [--delay-ms N] [--http] [--match REGEX]
//                         [--first reset|stall|error|stall-body|reset-body,...] [--stall-body-after N]
//                         [--reset-body-after N] [--quirk NAME]...
#include <array>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <functional>
#include <iostream>
#include <mutex>
#include <optional>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

enum class Kind { pass, reset, stall, error, stall_body, reset_body };

const char* name_of(Kind k) {
  switch (k) {
    case Kind::pass:
      return "pass";
    case Kind::reset:
      return "reset";
    case Kind::stall:
      return "stall";
    case Kind::error:
      return "error";
    case Kind::stall_body:
      return "stall-body";
    case Kind::reset_body:
      return "reset-body";
  }
  return "?";
}

// --- registry quirks ------------------------------------------------------------------------------------

// What a quirk does to one request before it is forwarded: nothing, forward it with another target,
// or answer it itself (a whole HTTP answer; the connection then closes).
struct QuirkAction {
  std::string target;
  std::string answer;
};

struct Quirk {
  std::string name;
  std::function<QuirkAction(http::verb method, const std::string& target)> on_request;
};

std::string json_answer(int status, const std::string& reason, const std::string& body, bool head) {
  return "HTTP/1.1 " + std::to_string(status) + " " + reason +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + (head ? "" : body);
}

// GitLab's registry: no referrers API, and the reference of GET/HEAD/PUT/DELETE
// /v2/<name>/manifests/sha256-<64 hex> read as the digest sha256:<hex>.
QuirkAction gitlab_referrers_tag(http::verb method, const std::string& target) {
  static const std::regex referrers("^/v2/.+/referrers/[^/]+$");
  static const std::regex tag("^(/v2/.+/manifests/)sha256-([0-9a-f]{64})$");
  const auto path = target.substr(0, target.find('?'));
  if (std::regex_match(path, referrers))
    return {"", json_answer(404, "Not Found", R"({"errors":[{"code":"NOT_FOUND","message":"404 page not found"}]})",
                            method == http::verb::head)};
  std::smatch m;
  if (std::regex_match(path, m, tag)) return {m[1].str() + "sha256:" + m[2].str() + target.substr(path.size()), ""};
  return {};
}

const std::vector<Quirk>& quirks() {
  static const std::vector<Quirk> table{{"gitlab-referrers-tag", gitlab_referrers_tag}};
  return table;
}

const Quirk& quirk_named(const std::string& name) {
  std::string known;
  for (const auto& q : quirks()) {
    if (q.name == name) return q;
    known += (known.empty() ? "" : ", ") + q.name;
  }
  throw std::invalid_argument("--quirk: unknown quirk '" + name + "' (known: " + known + ")");
}

struct Options {
  std::string target_host = "127.0.0.1";
  unsigned short target_port = 0;
  std::string port_file, log_file;
  int reset = 0, stall = 0, error = 0, stall_seconds = 5, delay_ms = 0;
  unsigned seed = 1;
  unsigned short port = 0;  // 0: a free port chosen by the kernel
  bool http = false;
  std::optional<std::regex> match;
  std::uint64_t stall_body_after = 16;
  std::uint64_t reset_body_after = 1 << 20;
  std::vector<const Quirk*> quirks;
};

// What the next matching request (or connection) gets: the --first plan, then random draws.
class Faults {
 public:
  Faults(const Options& o, std::deque<Kind> plan) : o_(o), plan_(std::move(plan)), random_(o.seed) {}
  Kind next() {
    std::lock_guard lock(mutex_);
    if (!plan_.empty()) {
      const auto k = plan_.front();
      plan_.pop_front();
      return k;
    }
    const int draw = std::uniform_int_distribution<int>(0, 99)(random_);
    if (draw < o_.reset) return Kind::reset;
    if (draw < o_.reset + o_.stall) return Kind::stall;
    if (draw < o_.reset + o_.stall + o_.error) return Kind::error;
    return Kind::pass;
  }
  // A stall-body drawn for an answer too short to cut is owed to the next matching request.
  void give_back(Kind k) {
    std::lock_guard lock(mutex_);
    plan_.push_front(k);
  }

 private:
  const Options& o_;
  std::mutex mutex_;
  std::deque<Kind> plan_;
  std::mt19937 random_;
};

std::mutex log_mutex;
void log_line(const Options& o, const std::string& line) {
  std::lock_guard lock(log_mutex);
  std::ofstream(o.log_file, std::ios::app) << line << "\n";
}

void hold(const Options& o) {
  if (o.delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(o.delay_ms));
}

// The faults that end a request before it reaches the registry. False for pass and stall-body.
bool inject_before_forwarding(tcp::socket& client, Kind kind, const Options& o) {
  boost::system::error_code ec;
  switch (kind) {
    case Kind::reset:
      client.set_option(asio::socket_base::linger(true, 0), ec);  // close with RST
      client.close(ec);
      return true;
    case Kind::stall:
      std::this_thread::sleep_for(std::chrono::seconds(o.stall_seconds));
      client.close(ec);
      return true;
    case Kind::error:
      asio::write(client,
                  asio::buffer(std::string("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")),
                  ec);
      client.close(ec);
      return true;
    case Kind::pass:
    case Kind::stall_body:
    case Kind::reset_body:
      return false;
  }
  return false;
}

// --- connection mode: bytes piped both ways once the first request is seen ---------------------------

void pipe(tcp::socket& from, tcp::socket& to, const Options& o) {
  std::array<char, 65536> buf;
  boost::system::error_code ec;
  while (true) {
    const auto n = from.read_some(asio::buffer(buf), ec);
    if (ec || n == 0) break;
    hold(o);
    asio::write(to, asio::buffer(buf.data(), n), ec);
    if (ec) break;
  }
  to.shutdown(tcp::socket::shutdown_send, ec);
}

bool connect_upstream(tcp::socket& upstream, const Options& o) {
  boost::system::error_code ec;
  upstream.connect({asio::ip::make_address(o.target_host), o.target_port}, ec);
  return !ec;
}

void forward(tcp::socket& client, asio::streambuf& head, const Options& o) {
  boost::system::error_code ec;
  asio::io_context io;
  tcp::socket upstream(io);
  if (!connect_upstream(upstream, o)) return;
  // The head, read before forwarding began, is held like any other chunk.
  hold(o);
  asio::write(upstream, head.data(), ec);
  std::thread back([&] { pipe(upstream, client, o); });
  pipe(client, upstream, o);
  back.join();
}

// --- HTTP mode: each request and answer read as messages ---------------------------------------------

// Copies one message, whose header `parser` has read from `in`, to `out` as its body arrives. With
// `cut`, only that many body bytes go out; then false, the rest withheld.
template <bool isRequest>
bool relay(tcp::socket& out, tcp::socket& in, beast::flat_buffer& buffer, http::parser<isRequest, http::buffer_body>& parser,
           std::optional<std::uint64_t> cut, const Options& o) {
  boost::system::error_code ec;
  http::serializer<isRequest, http::buffer_body> serializer{parser.get()};
  auto& body = parser.get().body();
  std::array<char, 16384> chunk;
  std::uint64_t sent = 0;
  while (!parser.is_done()) {
    const std::size_t room = cut ? static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), *cut - sent)) : chunk.size();
    body.data = chunk.data();
    body.size = room;
    http::read(in, buffer, parser, ec);
    if (ec == http::error::need_buffer) ec = {};  // the chunk is full
    if (ec) return false;
    body.size = room - body.size;  // what arrived
    body.data = chunk.data();
    body.more = !parser.is_done();
    sent += body.size;
    hold(o);
    http::write(out, serializer, ec);
    if (ec == http::error::need_buffer) ec = {};  // the chunk went out; the serializer wants the next
    if (ec) return false;
    if (cut && sent >= *cut && !parser.is_done()) return false;
  }
  // The header of a message without a body, or a chunked body's last chunk.
  if (!serializer.is_done()) {
    body.data = nullptr;
    body.size = 0;
    body.more = false;
    http::write(out, serializer, ec);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) return false;
  }
  return true;
}

void serve_http(tcp::socket& client, asio::streambuf& head, const Options& o, Faults& faults) {
  boost::system::error_code ec;
  asio::io_context io;
  tcp::socket upstream(io);
  bool connected = false;
  beast::flat_buffer from_client, from_upstream;
  // What was read to tell TLS from HTTP is the start of the first request.
  from_client.commit(asio::buffer_copy(from_client.prepare(head.size()), head.data()));
  while (true) {
    http::request_parser<http::buffer_body> request;
    request.body_limit(boost::none);
    http::read_header(client, from_client, request, ec);
    if (ec) return;
    auto& r = request.get();
    const std::string line = std::string(r.method_string()) + " " + std::string(r.target());
    for (const auto* quirk : o.quirks) {
      const auto action = quirk->on_request(r.method(), std::string(r.target()));
      if (!action.answer.empty()) {
        log_line(o, "quirk " + quirk->name + " " + line + " answered " + action.answer.substr(9, 3));
        asio::write(client, asio::buffer(action.answer), ec);
        client.shutdown(tcp::socket::shutdown_send, ec);
        return;
      }
      if (!action.target.empty()) {
        log_line(o, "quirk " + quirk->name + " " + line + " as " + action.target);
        r.target(action.target);
      }
    }
    const bool matches = !o.match || std::regex_search(line, *o.match);
    Kind kind = matches ? faults.next() : Kind::pass;
    const auto request_length = request.content_length();
    if (kind == Kind::reset_body && !(request.chunked() || (request_length && *request_length > o.reset_body_after))) {
      faults.give_back(kind);  // owed to the next request with a longer body
      kind = Kind::pass;
    }
    if (kind != Kind::pass && kind != Kind::stall_body && kind != Kind::reset_body)
      log_line(o, std::string(name_of(kind)) + " " + line);
    if (inject_before_forwarding(client, kind, o)) return;
    if (!connected && !(connected = connect_upstream(upstream, o))) return;
    const bool head_request = r.method() == http::verb::head;
    if (kind == Kind::reset_body) {
      // The registry gets the first bytes of the body, then the connection ends; the client a reset.
      relay(upstream, client, from_client, request, o.reset_body_after, o);
      log_line(o, "reset-body " + line + " after " + std::to_string(o.reset_body_after) + " body bytes");
      client.set_option(asio::socket_base::linger(true, 0), ec);
      client.close(ec);
      upstream.close(ec);
      return;
    }
    // A stall-body drawn for a request that goes no further is owed to the next one.
    const auto lost = [&] {
      if (kind == Kind::stall_body) faults.give_back(kind);
    };
    if (!relay(upstream, client, from_client, request, std::nullopt, o)) return lost();
    http::response_parser<http::buffer_body> response;
    response.body_limit(boost::none);
    response.skip(head_request);
    http::read_header(upstream, from_upstream, response, ec);
    if (ec) return lost();
    const auto status = std::to_string(response.get().result_int());
    const auto length = response.content_length();
    const bool cuttable = !head_request && (response.chunked() || (length && *length > o.stall_body_after));
    if (kind == Kind::stall_body && !cuttable) faults.give_back(kind);
    if (kind == Kind::stall_body && cuttable) {
      relay(client, upstream, from_upstream, response, o.stall_body_after, o);
      log_line(o, "stall-body " + line + " " + status + " after " + std::to_string(o.stall_body_after) + " body bytes");
      std::this_thread::sleep_for(std::chrono::seconds(o.stall_seconds));
      client.close(ec);
      return;
    }
    const bool keep = response.get().keep_alive() && request.get().keep_alive();
    if (!relay(client, upstream, from_upstream, response, std::nullopt, o)) return;
    log_line(o, "pass " + line + " " + status);
    if (!keep) {
      client.shutdown(tcp::socket::shutdown_send, ec);
      return;
    }
  }
}

void serve(tcp::socket client, const Options& o, Faults& faults) {
  boost::system::error_code ec;
  asio::streambuf head;
  // A TLS ClientHello (clients try HTTPS first on loopback) goes straight through: the registry's
  // plain-HTTP answer to it is what makes clients fall back to HTTP.
  const auto n = client.read_some(head.prepare(1), ec);
  head.commit(n);
  if (ec) return;
  if (static_cast<unsigned char>(*static_cast<const char*>(head.data().data())) == 0x16) return forward(client, head, o);
  if (o.http) return serve_http(client, head, o, faults);
  asio::read_until(client, head, "\r\n\r\n", ec);
  if (ec) return;
  std::string request_line;
  {
    const auto* data = static_cast<const char*>(head.data().data());
    const std::string text(data, head.size());
    request_line = text.substr(0, text.find("\r\n"));
  }
  const bool matches = !o.match || std::regex_search(request_line, *o.match);
  Kind kind = matches ? faults.next() : Kind::pass;
  // A connection's bytes are not read as messages here.
  if (kind == Kind::stall_body) kind = Kind::stall;
  if (kind == Kind::reset_body) kind = Kind::reset;
  if (kind != Kind::pass) log_line(o, std::string(name_of(kind)) + " " + request_line);
  if (inject_before_forwarding(client, kind, o)) return;
  forward(client, head, o);
}

std::deque<Kind> parse_plan(const std::string& text) {
  std::deque<Kind> plan;
  std::istringstream in(text);
  for (std::string word; std::getline(in, word, ',');) {
    if (word == "reset")
      plan.push_back(Kind::reset);
    else if (word == "stall")
      plan.push_back(Kind::stall);
    else if (word == "error")
      plan.push_back(Kind::error);
    else if (word == "stall-body")
      plan.push_back(Kind::stall_body);
    else if (word == "reset-body")
      plan.push_back(Kind::reset_body);
    else if (word == "pass")
      plan.push_back(Kind::pass);
    else
      throw std::invalid_argument("--first: unknown fault '" + word +
                                  "' (valid: reset, stall, error, stall-body, reset-body, pass)");
  }
  return plan;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::deque<Kind> plan;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string k = argv[i];
      if (k == "--http") {
        o.http = true;
        continue;
      }
      if (i + 1 >= argc) throw std::invalid_argument(k + " needs a value");
      const std::string v = argv[++i];
      if (k == "--target") {
        o.target_host = v.substr(0, v.rfind(':'));
        o.target_port = static_cast<unsigned short>(std::stoi(v.substr(v.rfind(':') + 1)));
      } else if (k == "--port-file")
        o.port_file = v;
      else if (k == "--log")
        o.log_file = v;
      else if (k == "--reset")
        o.reset = std::stoi(v);
      else if (k == "--stall")
        o.stall = std::stoi(v);
      else if (k == "--error")
        o.error = std::stoi(v);
      else if (k == "--stall-seconds")
        o.stall_seconds = std::stoi(v);
      else if (k == "--seed")
        o.seed = static_cast<unsigned>(std::stoul(v));
      else if (k == "--port")
        o.port = static_cast<unsigned short>(std::stoi(v));
      else if (k == "--delay-ms")
        o.delay_ms = std::stoi(v);
      else if (k == "--match")
        o.match.emplace(v, std::regex::extended);
      else if (k == "--first")
        plan = parse_plan(v);
      else if (k == "--stall-body-after")
        o.stall_body_after = std::stoull(v);
      else if (k == "--reset-body-after")
        o.reset_body_after = std::stoull(v);
      else if (k == "--quirk") {
        o.quirks.push_back(&quirk_named(v));
        o.http = true;  // a quirk reads requests as messages
      } else
        throw std::invalid_argument("unknown option " + k);
    }
  } catch (const std::exception& e) {
    std::cerr << "fault-proxy: " << e.what() << "\n";
    return 2;
  }
  if (o.target_port == 0 || o.port_file.empty() || o.log_file.empty()) {
    std::cerr << "usage: multiarch-fault-proxy --target HOST:PORT --port-file F --log F [--reset PCT] [--stall PCT] "
                 "[--error PCT] [--stall-seconds N] [--seed N] [--port N] [--delay-ms N] [--http] [--match REGEX] "
                 "[--first KIND,...] [--stall-body-after N] [--reset-body-after N] [--quirk NAME]...\n";
    return 2;
  }
  asio::io_context io;
  tcp::acceptor acceptor(io);
  const tcp::endpoint endpoint{asio::ip::make_address("127.0.0.1"), o.port};
  acceptor.open(endpoint.protocol());
  acceptor.set_option(tcp::acceptor::reuse_address(true));  // a restarted proxy takes its old port back
  acceptor.bind(endpoint);
  acceptor.listen();
  std::ofstream(o.log_file, std::ios::app).flush();
  std::ofstream(o.port_file) << acceptor.local_endpoint().port() << "\n";
  Faults faults(o, std::move(plan));
  while (true) {
    tcp::socket client(io);
    acceptor.accept(client);
    std::thread(serve, std::move(client), std::cref(o), std::ref(faults)).detach();
  }
}
