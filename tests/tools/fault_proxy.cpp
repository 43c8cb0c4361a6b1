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
// --quirk NAME (implies --http, may be repeated) makes the front answer as another registry does; its
// requests and answers are then read whole, and no fault is injected:
//   gitlab-referrers-tag   no referrers API (404), and a manifest reference sha256-<hex> taken as the
//                          digest sha256:<hex>, so the referrers tag of a subject is the subject itself
//                          (GitLab's registry, oras-project/oras-go#1396)
//   immutable-tags         a PUT of a tag that holds other content: 400 TAG_INVALID, as ECR answers
//   immutable-tags-denied  the same refused 403 DENIED (Docker Hub's immutable tags, distribution style)
//   rate-limit             429 TOOMANYREQUESTS with ratelimit-limit/-remaining: the first blob HEAD/GET
//                          with Retry-After: 2 (seconds), the first manifest PUT with an HTTP date; a
//                          request of that kind before its time is logged "too early"
//   rate-limit-account     the same two limits, each refusing every request until its time (a limit
//                          on an account or an address rather than on one kind of request)
//   no-chunked-upload      PATCH refused (405 UNSUPPORTED): a blob goes whole in the closing PUT
//   head-405               HEAD answered 405
//   no-digest-header       answers without Docker-Content-Digest
//   manifest-content-type  manifests served as application/json, whatever the client accepts
//   docker-media-types-only  an OCI manifest, index or artifact refused 400 MANIFEST_INVALID (old Quay,
//                          old Artifactory)
//   no-mount               POST ?mount=&from= opens an ordinary upload session (202)
//   referrers-api          the OCI 1.1 referrers API: a manifest PUT with a subject is indexed (OCI-Subject)
//                          and listed at GET /v2/<name>/referrers/<digest>
// Each quirk a request meets is logged ("quirk NAME METHOD TARGET what it did"), every forwarded one
// "pass METHOD TARGET STATUS". A quirk is an entry of the table in quirks().
//
//   multiarch-fault-proxy --target 127.0.0.1:5000 --port-file F --log F
//                         [--reset PCT] [--stall PCT] [--error PCT] [--stall-seconds N] [--seed N] [--port N]
//                         [--delay-ms N] [--http] [--match REGEX]
//                         [--first reset|stall|error|stall-body|reset-body,...] [--stall-body-after N]
//                         [--reset-body-after N] [--quirk NAME]... [--timing-log F]
#include <algorithm>
#include <array>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
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

// With a quirk, each request and its answer are read whole (string bodies; the tests' blobs are
// small), so that a quirk can read a manifest it is sent, ask the registry something first, or change
// the answer.
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

struct Options;
// One exchange with the registry on a connection of its own (a quirk's question, not the client's).
Response ask_registry(const Options& o, Request request);

// What a quirk does: before the request is forwarded, it may change it (its target) or answer it
// itself (then the registry never sees it); after the registry answered, it may change the answer.
// Either logs what it did through `note`.
using Note = std::function<void(const std::string&)>;
struct Quirk {
  std::string name;
  std::function<std::optional<Response>(Request&, const Options&, const Note&)> on_request;
  std::function<void(const Request&, Response&, const Note&)> on_response;
};

Response answer(const Request& r, http::status status, const std::string& body, const std::string& type = "application/json") {
  Response out{status, 11};
  out.set(http::field::content_type, type);
  out.set("Docker-Distribution-Api-Version", "registry/2.0");
  out.body() = r.method() == http::verb::head ? "" : body;
  out.prepare_payload();
  if (r.method() == http::verb::head) out.content_length(0);
  out.keep_alive(r.keep_alive());
  return out;
}

std::string error_body(const std::string& code, const std::string& message) {
  return R"({"errors":[{"code":")" + code + R"(","message":")" + message + R"("}]})";
}

std::string path_of(const Request& r) {
  const std::string target(r.target());
  return target.substr(0, target.find('?'));
}

// /v2/<name>/manifests/<reference>: name and reference, or nothing.
std::optional<std::pair<std::string, std::string>> manifest_path(const std::string& path) {
  static const std::regex manifest("^/v2/(.+)/manifests/([^/]+)$");
  std::smatch m;
  if (!std::regex_match(path, m, manifest)) return std::nullopt;
  return std::pair{m[1].str(), m[2].str()};
}
bool is_digest(const std::string& reference) { return reference.starts_with("sha256:"); }

const char* kAnyManifest =
    "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";

// GitLab's registry: no referrers API, and the reference of GET/HEAD/PUT/DELETE
// /v2/<name>/manifests/sha256-<64 hex> read as the digest sha256:<hex>.
std::optional<Response> gitlab_referrers_tag(Request& r, const Options&, const Note& note) {
  static const std::regex referrers("^/v2/.+/referrers/[^/]+$");
  static const std::regex tag("^(/v2/.+/manifests/)sha256-([0-9a-f]{64})$");
  const auto path = path_of(r);
  if (std::regex_match(path, referrers)) {
    note("answered 404");
    return answer(r, http::status::not_found, error_body("NOT_FOUND", "404 page not found"));
  }
  std::smatch m;
  if (std::regex_match(path, m, tag)) {
    const auto target = m[1].str() + "sha256:" + m[2].str() + std::string(r.target()).substr(path.size());
    note("as " + target);
    r.target(target);
  }
  return std::nullopt;
}

// Immutable tags: a PUT of a tag that exists with other content is refused. ECR answers 400
// TAG_INVALID ("... cannot be overwritten because the repository is immutable"); Docker Hub's
// immutable tags and distribution-style registries 403 DENIED. The same content again is accepted.
std::optional<Response> immutable_tag(Request& r, const Options& o, const Note& note, bool ecr) {
  if (r.method() != http::verb::put) return std::nullopt;
  const auto where = manifest_path(path_of(r));
  if (!where || is_digest(where->second)) return std::nullopt;
  Request look{http::verb::get, "/v2/" + where->first + "/manifests/" + where->second, 11};
  look.set(http::field::host, r[http::field::host]);
  look.set(http::field::accept, kAnyManifest);
  if (r.count(http::field::authorization)) look.set(http::field::authorization, r[http::field::authorization]);
  const auto current = ask_registry(o, look);
  if (current.result() != http::status::ok || current.body() == r.body()) return std::nullopt;
  note("refused " + where->second);
  if (ecr)
    return answer(r, http::status::bad_request,
                  error_body("TAG_INVALID", "The image tag '" + where->second + "' already exists in the '" + where->first +
                                                "' repository and cannot be overwritten because the repository is immutable."));
  return answer(r, http::status::forbidden,
                error_body("DENIED", "The tag '" + where->second + "' of '" + where->first + "' is immutable"));
}

// Rate limits as Docker Hub and GHCR answer them: 429 TOOMANYREQUESTS with ratelimit-limit and
// ratelimit-remaining, and Retry-After: the first request for a blob waits 2 seconds, the first
// manifest PUT until an HTTP date 2 seconds ahead. Until then a request of that kind (`account`:
// every request) is answered 429 too; one from a client (its User-Agent) that was told the time over
// half a second before, which requests sent together cannot have been, is logged "too early".
class RateLimit {
 public:
  RateLimit(int seconds, bool account) : seconds_(seconds), account_(account) {}
  std::optional<Response> on_request(Request& r, const Note& note) {
    const auto path = path_of(r);
    const bool blob =
        path.find("/blobs/") != std::string::npos && (r.method() == http::verb::head || r.method() == http::verb::get);
    const bool manifest = r.method() == http::verb::put && manifest_path(path);
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::system_clock::now();
    Kind* limiting = blob ? &blobs_ : manifest ? &manifests_ : nullptr;
    if (account_)  // a limit in force refuses whatever is asked
      for (auto* k : {&blobs_, &manifests_})
        if (k->limited && now < k->until) limiting = k;
    if (!limiting) return std::nullopt;
    auto& kind = *limiting;
    const bool dated = limiting == &manifests_;                  // a manifest PUT's limit is told as an HTTP date
    if (kind.limited && now >= kind.until) return std::nullopt;  // waited as asked: passes from now on
    const std::string client(r[http::field::user_agent]);
    const auto told = kind.told.find(client);
    const bool early = told != kind.told.end() && now - told->second > std::chrono::milliseconds(500);
    if (told == kind.told.end()) kind.told.emplace(client, now);
    if (!kind.limited) {
      kind.limited = true;
      // An HTTP date has whole seconds: the wait ends at the next whole second after seconds_.
      kind.until = now + std::chrono::seconds(seconds_);
      if (dated) kind.until = std::chrono::time_point_cast<std::chrono::seconds>(kind.until) + std::chrono::seconds(1);
    }
    std::string retry_after = std::to_string(std::chrono::ceil<std::chrono::seconds>(kind.until - now).count());
    if (dated) {
      const std::time_t t = std::chrono::system_clock::to_time_t(kind.until);
      std::tm tm{};
      gmtime_r(&t, &tm);
      std::array<char, 64> date{};
      std::strftime(date.data(), date.size(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
      retry_after = date.data();
    }
    note(std::string(early ? "too early; " : "") + "answered 429, Retry-After: " + retry_after + " (to " +
         client.substr(0, client.find(' ')) + ")");
    auto out =
        answer(r, http::status::too_many_requests,
               error_body("TOOMANYREQUESTS",
                          "You have reached your pull rate limit. You may increase the limit by authenticating and upgrading"));
    out.set("Retry-After", retry_after);
    out.set("ratelimit-limit", "100;w=21600");
    out.set("ratelimit-remaining", "0;w=21600");
    return out;
  }

 private:
  struct Kind {
    bool limited = false;
    std::chrono::system_clock::time_point until;                        // when the wait the first 429 asked for ends
    std::map<std::string, std::chrono::system_clock::time_point> told;  // each client's first 429
  };
  int seconds_;
  bool account_;
  std::mutex mutex_;
  Kind blobs_, manifests_;
};

// A registry that takes no upload in chunks: a PATCH is refused (the blob must come whole, in the
// closing PUT or a monolithic POST ?digest=).
std::optional<Response> no_chunked_upload(Request& r, const Options&, const Note& note) {
  if (r.method() != http::verb::patch) return std::nullopt;
  note("answered 405");
  return answer(r, http::status::method_not_allowed,
                error_body("UNSUPPORTED", "chunked uploads are not supported: send the blob whole in the closing PUT"));
}

// A registry (or a proxy before it) that answers HEAD with 405.
std::optional<Response> head_405(Request& r, const Options&, const Note& note) {
  if (r.method() != http::verb::head) return std::nullopt;
  note("answered 405");
  return answer(r, http::status::method_not_allowed, "");
}

// Answers that carry no Docker-Content-Digest (the header is a SHOULD of the spec).
void no_digest_header(const Request&, Response& response, const Note& note) {
  if (response.find("Docker-Content-Digest") == response.end()) return;
  response.erase("Docker-Content-Digest");
  note("without Docker-Content-Digest");
}

// Manifests served with another Content-Type than any the client accepts (application/json, as some
// proxies and old registries answer): a client must read the manifest's own mediaType.
void manifest_content_type(const Request& r, Response& response, const Note& note) {
  if ((r.method() != http::verb::get && r.method() != http::verb::head) || !manifest_path(path_of(r)) ||
      response.result() != http::status::ok)
    return;
  response.set(http::field::content_type, "application/json");
  note("served as application/json");
}

// A registry that knows only Docker's media types (old Quay, old Artifactory): an OCI manifest, index
// or artifact manifest is refused as Quay refused it.
std::optional<Response> docker_media_types_only(Request& r, const Options&, const Note& note) {
  if (r.method() != http::verb::put || !manifest_path(path_of(r))) return std::nullopt;
  const std::string type(r[http::field::content_type]);
  if (!type.starts_with("application/vnd.oci.")) return std::nullopt;
  note("refused " + type);
  return answer(r, http::status::bad_request,
                R"({"errors":[{"code":"MANIFEST_INVALID","message":"manifest invalid","detail":{"message":"manifest schema )"
                R"(version not supported"}}]})");
}

// No cross-repository mount (ECR without the feature, GHCR across owners): POST ?mount=&from= opens an
// ordinary upload session (202), as the spec allows.
std::optional<Response> no_mount(Request& r, const Options&, const Note& note) {
  const std::string target(r.target());
  if (r.method() != http::verb::post || target.find("mount=") == std::string::npos) return std::nullopt;
  r.target(path_of(r));
  note("as " + path_of(r));
  return std::nullopt;
}

// The OCI 1.1 referrers API (Harbor, Zot, ECR, recent distribution): a manifest PUT with a subject is
// indexed (the answer says OCI-Subject), and GET /v2/<name>/referrers/<digest> lists what was indexed
// for that subject. A write of a referrers tag (sha256-<hex>) is logged: a client that sees the API
// has no reason to write one.
class ReferrersApi {
 public:
  std::optional<Response> on_request(Request& r, const Note& note) {
    static const std::regex referrers("^/v2/(.+)/referrers/(sha256:[0-9a-f]{64})$");
    const auto path = path_of(r);
    std::smatch m;
    if (r.method() == http::verb::get && std::regex_match(path, m, referrers)) {
      std::string listed;
      {
        std::lock_guard lock(mutex_);
        for (const auto& entry : index_[m[1].str() + "@" + m[2].str()]) listed += (listed.empty() ? "" : ",") + entry;
      }
      note("answered 200");
      return answer(r, http::status::ok,
                    R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)" + listed + "]}",
                    "application/vnd.oci.image.index.v1+json");
    }
    if (const auto where = manifest_path(path); where && where->second.starts_with("sha256-") && r.method() == http::verb::put)
      note("a referrers tag written");
    return std::nullopt;
  }
  void on_response(const Request& r, Response& response, const Note& note) {
    const auto where = manifest_path(path_of(r));
    if (r.method() != http::verb::put || !where || response.result() != http::status::created) return;
    boost::system::error_code ec;
    const auto manifest = boost::json::parse(r.body(), ec);
    const auto* o = ec ? nullptr : manifest.if_object();
    const auto* subject = o ? o->if_contains("subject") : nullptr;
    const auto* subject_digest = subject && subject->is_object() ? subject->as_object().if_contains("digest") : nullptr;
    const std::string digest(response["Docker-Content-Digest"]);
    if (!subject_digest || !subject_digest->is_string() || digest.empty()) return;
    boost::json::object entry{{"mediaType", std::string(r[http::field::content_type])},
                              {"digest", digest},
                              {"size", static_cast<std::int64_t>(r.body().size())}};
    if (const auto* t = o->if_contains("artifactType"); t && t->is_string())
      entry["artifactType"] = *t;
    else if (const auto* c = o->if_contains("config"); c && c->is_object() && c->as_object().if_contains("mediaType"))
      entry["artifactType"] = c->as_object().at("mediaType");
    if (const auto* a = o->if_contains("annotations")) entry["annotations"] = *a;
    const std::string subject_text(subject_digest->get_string());
    {
      std::lock_guard lock(mutex_);
      auto& list = index_[where->first + "@" + subject_text];
      const auto text = boost::json::serialize(entry);
      if (std::find(list.begin(), list.end(), text) == list.end()) list.push_back(text);
    }
    response.set("OCI-Subject", subject_text);
    note("indexed " + digest + " for " + subject_text);
  }

 private:
  std::mutex mutex_;
  std::map<std::string, std::vector<std::string>> index_;  // <name>@<subject digest>: descriptors (JSON)
};

const std::vector<Quirk>& quirks() {
  static RateLimit rate_limit(2, false);
  static RateLimit account_rate_limit(2, true);
  static ReferrersApi referrers_api;
  static const std::vector<Quirk> table{
      {"gitlab-referrers-tag", gitlab_referrers_tag, {}},
      {"immutable-tags", [](Request& r, const Options& o, const Note& n) { return immutable_tag(r, o, n, true); }, {}},
      {"immutable-tags-denied", [](Request& r, const Options& o, const Note& n) { return immutable_tag(r, o, n, false); }, {}},
      {"rate-limit", [](Request& r, const Options&, const Note& n) { return rate_limit.on_request(r, n); }, {}},
      {"rate-limit-account", [](Request& r, const Options&, const Note& n) { return account_rate_limit.on_request(r, n); }, {}},
      {"no-chunked-upload", no_chunked_upload, {}},
      {"head-405", head_405, {}},
      {"no-digest-header", {}, no_digest_header},
      {"manifest-content-type", {}, manifest_content_type},
      {"docker-media-types-only", docker_media_types_only, {}},
      {"no-mount", no_mount, {}},
      {"referrers-api", [](Request& r, const Options&, const Note& n) { return referrers_api.on_request(r, n); },
       [](const Request& r, Response& a, const Note& n) { referrers_api.on_response(r, a, n); }},
  };
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
  std::string timing_file;  // --timing-log: each request's start and end, for counting round trips
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

// With --timing-log, one line per request answered in HTTP mode: "<start µs> <end µs> METHOD TARGET
// STATUS\tUSER-AGENT", from its header's arrival to its answer's last byte (a steady clock, µs since
// its epoch). Requests of one client (the helper names its step and platform in its User-Agent) that
// did not overlap in time waited for each other: the longest chain of them is that step's round trips
// (bench/run.sh, row 14).
std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
void log_timing(const Options& o, std::int64_t start, std::int64_t end, const std::string& line, const std::string& status,
                const std::string& agent) {
  if (o.timing_file.empty()) return;
  std::lock_guard lock(log_mutex);
  std::ofstream(o.timing_file, std::ios::app) << start << " " << end << " " << line << " " << status << "\t" << agent << "\n";
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

Response ask_registry(const Options& o, Request request) {
  asio::io_context io;
  tcp::socket upstream(io);
  Response out{http::status::bad_gateway, 11};
  if (!connect_upstream(upstream, o)) return out;
  boost::system::error_code ec;
  request.keep_alive(false);
  request.prepare_payload();
  http::write(upstream, request, ec);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(boost::none);
  parser.skip(request.method() == http::verb::head);
  if (!ec) http::read(upstream, buffer, parser, ec);
  return ec ? out : parser.release();
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
  // The header of a message without a body, or a chunked body's last chunk. A message without a body
  // is held once too: with --delay-ms every request and every answer takes its way's time.
  if (!serializer.is_done()) {
    if (sent == 0) hold(o);
    body.data = nullptr;
    body.size = 0;
    body.more = false;
    http::write(out, serializer, ec);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) return false;
  }
  return true;
}

// One request with quirks: read whole, each quirk's turn before it is forwarded (the first answer a
// quirk gives is the answer) and after the registry answered. False once the connection is done.
bool exchange_quirked(tcp::socket& client, tcp::socket& upstream, bool& connected, beast::flat_buffer& from_client,
                      beast::flat_buffer& from_upstream, http::request_parser<http::buffer_body>&& header, const Options& o) {
  boost::system::error_code ec;
  http::request_parser<http::string_body> whole(std::move(header));
  whole.body_limit(boost::none);
  http::read(client, from_client, whole, ec);
  if (ec) return false;
  Request request = whole.release();
  const std::string line = std::string(request.method_string()) + " " + std::string(request.target());
  const auto note_of = [&](const Quirk& quirk) {
    return Note([&o, &quirk, &line](const std::string& what) { log_line(o, "quirk " + quirk.name + " " + line + " " + what); });
  };
  std::optional<Response> reply;
  for (const auto* quirk : o.quirks)
    if (quirk->on_request && (reply = quirk->on_request(request, o, note_of(*quirk)))) break;
  if (!reply) {
    if (!connected && !(connected = connect_upstream(upstream, o))) return false;
    http::write(upstream, request, ec);
    if (ec) return false;
    http::response_parser<http::string_body> parser;
    parser.body_limit(boost::none);
    parser.skip(request.method() == http::verb::head);
    http::read(upstream, from_upstream, parser, ec);
    if (ec) return false;
    reply = parser.release();
    for (const auto* quirk : o.quirks)
      if (quirk->on_response) quirk->on_response(request, *reply, note_of(*quirk));
    log_line(o, "pass " + line + " " + std::to_string(reply->result_int()));
  }
  const bool keep = reply->keep_alive() && request.keep_alive();
  http::write(client, *reply, ec);
  if (ec) return false;
  if (!keep) client.shutdown(tcp::socket::shutdown_send, ec);
  return keep;
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
    const auto start = now_us();
    if (!o.quirks.empty()) {
      if (!exchange_quirked(client, upstream, connected, from_client, from_upstream, std::move(request), o)) return;
      continue;
    }
    auto& r = request.get();
    const std::string line = std::string(r.method_string()) + " " + std::string(r.target());
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
    // The end as the client saw it, before this thread waits for a log (the client may be sending its
    // next request meanwhile).
    const auto end = now_us();
    log_line(o, "pass " + line + " " + status);
    log_timing(o, start, end, line, status, std::string(request.get()[http::field::user_agent]));
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
      else if (k == "--timing-log")
        o.timing_file = v;
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
                 "[--first KIND,...] [--stall-body-after N] [--reset-body-after N] [--quirk NAME]... [--timing-log F]\n";
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
