#include "registry/registry_client.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <fstream>
#include <thread>

#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/interrupt.hpp"
#include "base/retry.hpp"
#include "base/text.hpp"
#include "oci/index.hpp"

namespace mai {
namespace json = boost::json;

// ---- challenges -------------------------------------------------------------------------------

namespace {

bool token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

}  // namespace

std::vector<Challenge> parse_challenges(std::string_view h) {
  std::vector<Challenge> out;
  std::size_t i = 0;
  auto skip = [&](std::string_view chars) {
    while (i < h.size() && chars.find(h[i]) != std::string_view::npos) ++i;
  };
  auto token = [&] {
    const auto start = i;
    while (i < h.size() && token_char(h[i])) ++i;
    return std::string(h.substr(start, i - start));
  };
  while (i < h.size()) {
    skip(" \t,");
    auto scheme = token();
    if (scheme.empty()) break;
    Challenge c{lowercase(scheme), {}};
    while (i < h.size()) {
      skip(" \t");
      const auto mark = i;
      auto name = token();
      skip(" \t");
      if (name.empty() || i >= h.size() || h[i] != '=') {  // the next challenge's scheme, or a token68
        i = mark;
        if (name.empty()) ++i;
        break;
      }
      ++i;  // '='
      skip(" \t");
      std::string value;
      if (i < h.size() && h[i] == '"') {
        for (++i; i < h.size() && h[i] != '"'; ++i) {
          if (h[i] == '\\' && i + 1 < h.size()) ++i;
          value += h[i];
        }
        ++i;    // closing quote
      } else {  // a token; realms are sometimes sent unquoted, so read up to the next separator
        const auto start = i;
        while (i < h.size() && h[i] != ',' && h[i] != ' ' && h[i] != '\t') ++i;
        value = std::string(h.substr(start, i - start));
      }
      c.params[lowercase(name)] = value;
      skip(" \t");
      if (i < h.size() && h[i] == ',') ++i;
    }
    out.push_back(std::move(c));
  }
  return out;
}

// ---- media types ------------------------------------------------------------------------------

bool media::is_index(std::string_view t) { return t == oci_index || t == docker_list; }
bool media::is_image_manifest(std::string_view t) { return t == oci_manifest || t == docker_manifest; }

std::string manifest_accept_header() {
  return std::string(media::oci_index) + ", " + media::docker_list + ", " + media::oci_manifest + ", " + media::docker_manifest;
}

// ---- client -----------------------------------------------------------------------------------

namespace {

constexpr int kMaxRedirects = 5;
// What a registry may send: a manifest or index of at most 4 MiB (the distribution spec's limit on
// what registries must accept), an image config of at most 4 MiB, a token answer of at most
// 128 KiB holding a token that fits in a header. Larger answers are refused before they are parsed.
constexpr std::size_t kMiB = std::size_t{1} << 20;
constexpr std::size_t kKiB = std::size_t{1} << 10;
constexpr std::size_t kManifestLimit = 4 * kMiB;
constexpr std::size_t kConfigLimit = 4 * kMiB;
constexpr std::size_t kTokenAnswerLimit = 128 * kKiB;
constexpr std::size_t kTokenLimit = 60 * kKiB;
// A blob streamed to a file: bounded only against an answer that never ends.
constexpr std::size_t kStreamedLimit = std::size_t{64} << 30;

std::string mebibytes(std::size_t bytes) { return std::to_string(bytes / kMiB) + " MiB"; }

// A token goes into an Authorization header: visible ASCII only (RFC 6750's b64token and JWTs are).
bool header_safe_token(std::string_view token) {
  return !token.empty() && std::all_of(token.begin(), token.end(), [](unsigned char c) { return c > 0x20 && c < 0x7f; });
}

// expires_in as the token service sent it (integer or not), in whole seconds from 1 to a day: a
// hostile value neither throws nor overflows the clock.
std::int64_t token_lifetime(const json::value* expires_in) {
  if (!expires_in || !expires_in->is_number()) return 60;  // the distribution spec's default
  boost::system::error_code ec;
  const double seconds = expires_in->to_number<double>(ec);
  if (ec || !(seconds >= 1)) return 1;  // NaN, negative, zero
  return seconds > 86400 ? 86400 : static_cast<std::int64_t>(seconds);
}

// A challenge's scope names one or more scopes separated by spaces; each is its own `scope=`.
std::vector<std::string> scopes_of(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto end = std::min(text.find(' ', start), text.size());
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// The registry's own words: {"errors":[{"code":..,"message":..}]}, else the status line.
std::string registry_errors(const HttpResponse& r) {
  std::string out = "HTTP " + std::to_string(r.status);
  boost::system::error_code ec;
  const auto v = json::parse(r.body, ec);
  const auto* o = ec ? nullptr : v.if_object();
  const auto* errors = o ? o->if_contains("errors") : nullptr;
  if (errors && errors->is_array()) {
    for (const auto& e : errors->get_array()) {
      if (!e.is_object()) continue;
      const auto& eo = e.get_object();
      const auto* code = eo.if_contains("code");
      const auto* msg = eo.if_contains("message");
      out += "; ";
      if (code && code->is_string()) out += std::string(code->get_string()) + ": ";
      if (msg && msg->is_string()) out += std::string(msg->get_string());
    }
  }
  return out;
}

bool same_origin(const Url& a, const Url& b) { return a.scheme == b.scheme && a.host == b.host && a.port == b.port; }

}  // namespace

RegistryClient::RegistryClient(Repository repository, RegistrySettings settings, Transport& transport,
                               CredentialSource credentials, Log log)
    : repository_(std::move(repository)),
      settings_(std::move(settings)),
      transport_(transport),
      source_(std::move(credentials)),
      log_(std::move(log)) {}

std::string RegistryClient::api_host() const {
  return repository_.registry == "docker.io" ? "registry-1.docker.io" : repository_.registry;
}

std::string RegistryClient::base_url() const { return scheme_ + "://" + api_host(); }

bool RegistryClient::insecure(const std::string& hp) const {
  const auto name = lowercase(hp);
  return std::any_of(settings_.insecure.begin(), settings_.insecure.end(),
                     [&](const std::string& e) { return lowercase(e) == name; });
}

std::string RegistryClient::settings_name(const Url& url) const {
  if (lowercase(url.host) == lowercase(repository_.host()) || (repository_.registry == "docker.io" && url.host == api_host()))
    return repository_.registry;
  return url.authority();
}

TlsSettings RegistryClient::tls_for(const std::string& hp) const {
  auto tls = tls_settings_for(settings_.certs_d_roots, hp);
  tls.verify = !insecure(hp);
  return tls;
}

const std::optional<Credentials>& RegistryClient::credentials() {
  if (!credentials_) credentials_.emplace(source_ ? source_() : std::nullopt);
  return *credentials_;
}

bool RegistryClient::authorize(HttpRequest& request, const std::string& scope) {
  const auto token = tokens_.find(scope);
  // A token just fetched is used at least once, however short its life.
  if (bearer_ && token != tokens_.end() &&
      (token->second.expires > std::chrono::steady_clock::now() || token->second.uses == 0)) {
    ++token->second.uses;
    request.headers.emplace_back("Authorization", "Bearer " + token->second.value);
    return true;
  }
  if (!basic_.empty()) {
    request.headers.emplace_back("Authorization", basic_);
    return true;
  }
  return false;
}

Transport::Outcome RegistryClient::send_once(const HttpRequest& request, const std::string& scope, bool to_registry,
                                             bool& credentials_sent) {
  HttpRequest sent = request;
  credentials_sent = to_registry && authorize(sent, scope);
  // The registry's host name decides its TLS files (certs.d/<host:port>), as docker and podman do.
  return transport_.send(sent, tls_for(to_registry ? repository_.registry : settings_name(request.url)));
}

void RegistryClient::authenticate(const std::vector<Challenge>& challenges, const std::string& scope) {
  const auto bearer = std::find_if(challenges.begin(), challenges.end(), [](const Challenge& c) { return c.scheme == "bearer"; });
  const auto basic = std::find_if(challenges.begin(), challenges.end(), [](const Challenge& c) { return c.scheme == "basic"; });
  const auto& creds = credentials();
  const auto login_hint = " (log in with `docker login " + repository_.registry + "` or `podman login " + repository_.registry +
                          "`; the password goes on stdin with --password-stdin)";
  if (bearer != challenges.end()) {
    const auto realm_text = bearer->params.count("realm") ? bearer->params.at("realm") : "";
    if (realm_text.empty()) throw Error(Exit::step_failed, repository_.registry + " sent a Bearer challenge without a realm");
    auto realm = Url::parse(realm_text, "the Bearer realm");
    const auto service = bearer->params.count("service") ? bearer->params.at("service") : "";
    // Ours first (a repository's push scope, then a mount's source pull scope), then any other the
    // challenge names; one scope= each.
    auto wanted = scopes_of(scope);
    if (bearer->params.count("scope"))
      for (auto& s : scopes_of(bearer->params.at("scope")))
        if (std::find(wanted.begin(), wanted.end(), s) == wanted.end()) wanted.push_back(std::move(s));
    std::string scopes, asked;
    for (const auto& s : wanted) {
      scopes += "&scope=" + percent_encode(s);
      asked += (asked.empty() ? "" : " ") + s;
    }
    HttpRequest request;
    request.url = realm;
    request.response_limit = kTokenAnswerLimit;
    if (creds && creds->username.empty()) {
      // An identity token: the OAuth2 refresh-token grant, as docker does.
      request.method = "POST";
      request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
      request.body = "grant_type=refresh_token&client_id=multiarch-image&service=" + percent_encode(service) + scopes +
                     "&refresh_token=" + percent_encode(creds->secret);
    } else {
      const auto query = (service.empty() ? "" : "&service=" + percent_encode(service)) + scopes;  // each part starts with &
      if (!query.empty()) request.url.target += (realm.target.find('?') == std::string::npos ? "?" : "&") + query.substr(1);
      if (creds) request.headers.emplace_back("Authorization", "Basic " + base64_encode(creds->username + ":" + creds->secret));
    }
    // A token service on the registry's own host is reached with the registry's TLS settings.
    const auto realm_name = settings_name(realm);
    Repository realm_host;
    realm_host.registry = realm_name;
    if (realm.scheme == "http" && !realm_host.loopback() && !insecure(realm_name))
      throw Error(Exit::step_failed, "the token service " + realm.origin() + " is plain HTTP; credentials go only over TLS " +
                                         "except to loopback and MULTIARCH_IMAGE_INSECURE_REGISTRIES");
    Transport::Outcome outcome;
    Backoff backoff(settings_.retry);
    do {
      outcome = transport_.send(request, tls_for(realm_name));
      if (outcome.error ? !transient(*outcome.error) : !transient(outcome.response->status)) break;
    } while (backoff.wait_before_next([&](int next, int tries, std::chrono::milliseconds delay) {
      log_.warn("the token service " + realm.origin() + ": " +
                (outcome.error ? outcome.error->message : registry_errors(*outcome.response)) + "; attempt " +
                std::to_string(next) + " of " + std::to_string(tries) + " in " + std::to_string(delay.count()) + " ms");
    }));
    if (outcome.error) throw Error(Exit::step_failed, "the token service " + realm.origin() + ": " + outcome.error->message);
    const auto& r = *outcome.response;
    if (r.body.size() > kTokenAnswerLimit)
      throw Error(Exit::step_failed, "the token service " + realm.origin() + " answered " + std::to_string(r.body.size()) +
                                         " bytes, more than a token answer may have; refused");
    if (r.status == 401 || r.status == 403)
      throw Error(Exit::step_failed, "the token service " + realm.origin() + " refused " +
                                         (creds ? "the credentials from " + creds->origin : std::string("an anonymous request")) +
                                         " for " + asked + ": " + registry_errors(r) + (creds ? "" : login_hint));
    if (r.status / 100 != 2)
      throw Error(Exit::step_failed, "the token service " + realm.origin() + " answered " + registry_errors(r));
    boost::system::error_code ec;
    const auto v = json::parse(r.body, ec);
    const auto* o = ec ? nullptr : v.if_object();
    std::string token;
    for (const char* key : {"token", "access_token"})
      if (const auto* t = o ? o->if_contains(key) : nullptr; t && t->is_string() && token.empty())
        token = std::string(t->get_string());
    if (token.empty()) throw Error(Exit::step_failed, "the token service " + realm.origin() + " answered without a token");
    if (token.size() > kTokenLimit)
      throw Error(Exit::step_failed, "the token service " + realm.origin() + " answered a token of " +
                                         std::to_string(token.size()) +
                                         " bytes, more than an Authorization header can carry; refused");
    if (!header_safe_token(token))
      throw Error(Exit::step_failed,
                  "the token service " + realm.origin() +
                      " answered a token with spaces or control characters, which cannot go into a header; refused");
    const auto lifetime = token_lifetime(o->if_contains("expires_in"));
    // Renewed a little early: a request must not arrive with a token that expired on the way.
    const auto margin = std::clamp<std::int64_t>(lifetime / 10, 1, 30);
    bearer_ = *bearer;
    tokens_[scope] = Token{token, std::chrono::steady_clock::now() + std::chrono::seconds(lifetime - margin), 0};
    return;
  }
  if (basic != challenges.end()) {
    if (!creds) throw Error(Exit::step_failed, repository_.registry + " asks for credentials and none were found" + login_hint);
    if (creds->username.empty())
      throw Error(Exit::step_failed,
                  repository_.registry + " asks for Basic auth but " + creds->origin + " holds an identity token");
    basic_ = "Basic " + base64_encode(creds->username + ":" + creds->secret);
    return;
  }
  throw Error(Exit::step_failed, repository_.registry + " asks for authentication with a scheme this client does not speak");
}

std::string RegistryClient::scope_for(const std::string& method) const {
  return "repository:" + repository_.path + ":" + (method == "GET" || method == "HEAD" ? "pull" : "pull,push");
}

std::vector<HttpResponse> RegistryClient::send_all(const std::vector<Call>& calls) {
  std::vector<std::optional<HttpResponse>> answers(calls.size());
  std::size_t from = 0;
  // The first exchange settles the scheme and the authentication; then the rest can go at once.
  if (!calls.empty() && (!scheme_settled_ || calls.size() == 1)) {
    answers[0] = send(calls[0]);
    from = 1;
  }
  if (from < calls.size()) {
    std::vector<HttpRequest> requests;
    for (std::size_t i = from; i < calls.size(); ++i) {
      HttpRequest r{calls[i].method, Url::parse(base_url() + calls[i].path, "the registry URL"), calls[i].headers, calls[i].body,
                    calls[i].limit};
      authorize(r, scope_for(r.method));
      requests.push_back(std::move(r));
    }
    auto outcomes = transport_.send_all(requests, tls_for(repository_.registry));
    for (std::size_t k = 0; k < outcomes.size(); ++k) {
      auto& r = outcomes[k].response;
      if (r && r->status != 401 && r->status / 100 != 3 && !transient(r->status)) answers[from + k] = std::move(*r);
      if (outcomes[k].error && outcomes[k].error->kind == TransportError::Kind::too_large) refuse_larger(calls[from + k]);
    }
  }
  // What did not settle at once (a connection error, a challenge, a redirect, a 5xx or 429) goes the
  // careful way: one at a time, with authentication, redirects and retries.
  std::vector<HttpResponse> out;
  for (std::size_t i = 0; i < calls.size(); ++i) {
    if (!answers[i]) answers[i] = send(calls[i]);
    // A transport that does not bound bodies itself (a test's) is held to the same limit here.
    if (answers[i]->body.size() > calls[i].limit) refuse_larger(calls[i]);
    out.push_back(std::move(*answers[i]));
  }
  return out;
}

void RegistryClient::refuse_larger(const Call& call) const {
  throw Error(Exit::verify_failed, repository_.registry + " answered " + call.method + " " + call.path + " with more than " +
                                       mebibytes(call.limit) + ", the most " + call.what + " may have; refused");
}

HttpResponse RegistryClient::send(const Call& call) {
  const auto& [method, path, headers, body, limit, what, file, sink, also_scope] = call;
  const auto scope = scope_for(method) + (also_scope.empty() ? "" : " " + also_scope);
  const bool may_use_http = repository_.loopback() || insecure(repository_.registry);
  std::string problem;
  Backoff backoff(settings_.retry);
  do {
    // A path, or an absolute URL (an upload's Location) that may lie elsewhere.
    const bool absolute = path.starts_with("http://") || path.starts_with("https://");
    HttpRequest request{method, Url::parse(absolute ? path : base_url() + path, "the registry URL"), headers, body, limit, file,
                        sink};
    int auth_rounds = 0, redirects = 0;
    // false once at another origin (blob storage): credentials stay with the registry
    bool at_registry = !absolute || same_origin(request.url, Url::parse(base_url() + "/", "the registry URL"));
    while (true) {
      bool credentials_sent = false;
      const auto outcome = send_once(request, scope, at_registry, credentials_sent);
      if (outcome.error) {
        const auto& e = *outcome.error;
        if (at_registry && e.kind == TransportError::Kind::tls_not_spoken && !scheme_settled_ && may_use_http) {
          scheme_ = "http";
          scheme_settled_ = true;
          if (absolute) throw Error(Exit::step_failed, path + ": the registry stopped speaking TLS");
          request.url = Url::parse(base_url() + path, "the registry URL");
          continue;
        }
        if (e.kind == TransportError::Kind::tls_verify)
          throw Error(Exit::step_failed, e.message + " (put its CA in /etc/docker/certs.d/" + repository_.registry +
                                             "/ca.crt or /etc/containers/certs.d/" + repository_.registry + "/ca.crt)");
        if (e.kind == TransportError::Kind::tls_not_spoken)
          throw Error(Exit::step_failed, e.message +
                                             "; plain HTTP is used only for loopback registries and those in "
                                             "MULTIARCH_IMAGE_INSECURE_REGISTRIES");
        if (e.kind == TransportError::Kind::too_large) refuse_larger(call);
        if (e.kind == TransportError::Kind::tls_failed)
          throw Error(Exit::step_failed, e.message +
                                             " (if the registry asks for a client certificate, put client.cert and "
                                             "client.key in /etc/docker/certs.d/" +
                                             repository_.registry + "/)");
        if (!transient(e)) throw Error(Exit::step_failed, method + " " + request.url.origin() + path + ": " + e.message);
        problem = e.message;
        break;
      }
      if (at_registry) scheme_settled_ = true;
      const auto& r = *outcome.response;
      if (r.status == 401 && at_registry) {
        std::vector<Challenge> challenges;
        for (const auto& h : r.headers_named("www-authenticate"))
          for (auto& c : parse_challenges(h)) challenges.push_back(std::move(c));
        if ((auth_rounds >= 1 && credentials_sent) || auth_rounds >= 2)
          throw Error(Exit::step_failed,
                      repository_.registry + " refused " +
                          (credentials() ? "the credentials from " + credentials()->origin : std::string("access")) + " for " +
                          method + " " + path + ": " + registry_errors(r));
        authenticate(challenges, scope);
        ++auth_rounds;
        continue;
      }
      const auto location = r.header("location");
      if ((method == "GET" || method == "HEAD") && r.status / 100 == 3 && !location.empty()) {
        if (++redirects > kMaxRedirects) throw Error(Exit::step_failed, method + " " + path + ": more than 5 redirects");
        auto next = request.url.resolve(location);
        // Credentials stay with the registry: a redirect to storage elsewhere gets none.
        if (!same_origin(next, request.url)) at_registry = false;
        request.url = next;
        continue;
      }
      if (transient(r.status)) {
        problem = registry_errors(r);
        break;
      }
      return r;
    }
  } while (backoff.wait_before_next([&](int next, int tries, std::chrono::milliseconds delay) {
    log_.warn(call.method + " " + base_url() + call.path + ": " + problem + "; attempt " + std::to_string(next) + " of " +
              std::to_string(tries) + " in " + std::to_string(delay.count()) + " ms");
  }));
  throw Error(Exit::step_failed,
              method + " " + base_url() + path + " failed after " + std::to_string(backoff.tries()) + " attempts: " + problem);
}

std::vector<std::optional<Manifest>> RegistryClient::get_manifests(const std::vector<std::string>& references) {
  std::vector<Call> calls;
  for (const auto& reference : references) {
    if (reference.starts_with("sha256:")) checked_digest(reference, "the manifest digest to read");
    calls.push_back({"GET",
                     "/v2/" + repository_.path + "/manifests/" + reference,
                     {{"Accept", manifest_accept_header()}},
                     "",
                     kManifestLimit,
                     "a manifest"});
  }
  const auto responses = send_all(calls);
  std::vector<std::optional<Manifest>> out;
  for (std::size_t i = 0; i < references.size(); ++i) {
    const auto& reference = references[i];
    const auto& r = responses[i];
    if (r.status == 404) {
      out.emplace_back();
      continue;
    }
    if (r.status != 200)
      throw Error(Exit::step_failed, "reading " + repository_.str() + (reference.starts_with("sha256:") ? "@" : ":") + reference +
                                         " failed: " + registry_errors(r));
    Manifest m;
    m.bytes = r.body;
    m.digest = sha256_digest(m.bytes);
    if (reference.starts_with("sha256:") && m.digest != reference)
      throw Error(Exit::verify_failed,
                  repository_.str() + "@" + reference + " was served with content whose digest is " + m.digest);
    boost::system::error_code ec;
    const auto v = json::parse(m.bytes, ec);
    if (const auto* o = ec ? nullptr : v.if_object())
      if (const auto* t = o->if_contains("mediaType"); t && t->is_string()) m.media_type = std::string(t->get_string());
    if (m.media_type.empty()) m.media_type = trim(r.header("content-type").substr(0, r.header("content-type").find(';')));
    out.push_back(std::move(m));
  }
  return out;
}

std::optional<Manifest> RegistryClient::get_manifest(const std::string& reference) { return get_manifests({reference}).front(); }

std::vector<std::string> RegistryClient::get_blobs(const std::vector<std::string>& digests) {
  std::vector<Call> calls;
  calls.reserve(digests.size());
  for (const auto& digest : digests)
    calls.push_back({"GET",
                     "/v2/" + repository_.path + "/blobs/" + checked_digest(digest, "the blob digest to read"),
                     {},
                     "",
                     kConfigLimit,
                     "an image config"});
  auto responses = send_all(calls);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < digests.size(); ++i) {
    const auto& r = responses[i];
    if (r.status != 200)
      throw Error(Exit::step_failed,
                  "reading blob " + digests[i] + " of " + repository_.str() + " failed: " + registry_errors(r));
    if (sha256_digest(r.body) != digests[i])
      throw Error(Exit::verify_failed, "blob " + digests[i] + " of " + repository_.str() + " was served with other content");
    out.push_back(std::move(responses[i].body));
  }
  return out;
}

std::string RegistryClient::get_blob(const std::string& digest) { return get_blobs({digest}).front(); }

namespace {

// A blob as it arrives: into a file, hashed on the way.
class FileSink final : public BodySink {
 public:
  explicit FileSink(std::filesystem::path path) : path_(std::move(path)) {}
  void begin() override {
    out_.close();
    out_.open(path_, std::ios::binary | std::ios::trunc);
    if (!out_) throw Error(Exit::step_failed, "cannot write " + path_.string());
    hash_ = Sha256();
    bytes_ = 0;
  }
  void write(std::string_view bytes) override {
    hash_.update(bytes.data(), bytes.size());
    bytes_ += bytes.size();
    if (!out_.write(bytes.data(), static_cast<std::streamsize>(bytes.size())))
      throw Error(Exit::step_failed, "cannot write " + path_.string() + " (disk full?)");
  }
  // The digest of what arrived, the file closed.
  std::string finish() {
    out_.close();
    if (!out_) throw Error(Exit::step_failed, "cannot write " + path_.string());
    return hash_.digest();
  }
  std::uint64_t bytes() const { return bytes_; }

 private:
  std::filesystem::path path_;
  std::ofstream out_;
  Sha256 hash_;
  std::uint64_t bytes_ = 0;
};

}  // namespace

void RegistryClient::fetch_blob(const std::string& digest, const std::filesystem::path& file) {
  FileSink sink(file);
  try {
    Call call{"GET",
              "/v2/" + repository_.path + "/blobs/" + checked_digest(digest, "the blob digest to read"),
              {},
              "",
              kStreamedLimit,
              "a blob"};
    call.sink = &sink;
    const auto r = send(call);
    if (r.status != 200)
      throw Error(Exit::step_failed, "reading blob " + digest + " of " + repository_.str() + ": " + registry_errors(r));
    if (sink.finish() != digest)
      throw Error(Exit::verify_failed, "blob " + digest + " of " + repository_.str() + " was served with other content (" +
                                           std::to_string(sink.bytes()) + " bytes whose digest is not that)");
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove(file, ec);
    throw;
  }
}

RegistryClient::Mount RegistryClient::mount_blob(const std::string& digest, const std::string& from) {
  Call call{"POST",
            "/v2/" + repository_.path + "/blobs/uploads/?mount=" + percent_encode(checked_digest(digest, "the blob to mount")) +
                "&from=" + percent_encode(from),
            {},
            "",
            kErrorBodyLimit,
            "a mount's answer"};
  call.also_scope = "repository:" + from + ":pull";
  HttpResponse r;
  try {
    r = send(call);
  } catch (const Error& e) {
    if (e.code() != Exit::step_failed) throw;
    // A token without the source's pull scope, say: the blob is uploaded instead.
    log_.warn("mounting " + digest.substr(0, 19) + " from " + from + " was refused (" + e.what() + "); uploading it");
    return {};
  }
  if (r.status == 201) return {true, ""};
  // 202: the registry would rather take an upload, and this is its session.
  if (r.status == 202 && !r.header("location").empty()) return {false, r.header("location")};
  log_.warn("mounting " + digest.substr(0, 19) + " from " + from + " was refused: " + registry_errors(r) + "; uploading it");
  return {};
}

bool RegistryClient::has_blob(const std::string& digest) {
  const auto r = send({"HEAD",
                       "/v2/" + repository_.path + "/blobs/" + checked_digest(digest, "the blob digest"),
                       {},
                       "",
                       kDefaultResponseLimit,
                       "a blob's headers"});
  if (r.status == 200) return true;
  if (r.status == 404) return false;
  throw Error(Exit::step_failed, "HEAD blob " + digest + " of " + repository_.str() + ": " + registry_errors(r));
}

void RegistryClient::put_blob(const std::string& digest, const std::filesystem::path& file, const std::string& session) {
  checked_digest(digest, "the blob digest to upload");
  std::error_code ec;
  const std::uint64_t size = std::filesystem::file_size(file, ec);
  if (ec) throw Error(Exit::step_failed, "cannot read the blob " + digest + " at " + file.string() + ": " + ec.message());
  upload(digest, size, &file, nullptr, session);
}

void RegistryClient::put_blob_bytes(const std::string& digest, const std::string& bytes) {
  checked_digest(digest, "the blob digest to upload");
  if (sha256_digest(bytes) != digest) throw Error(Exit::step_failed, "the blob to upload as " + digest + " has other content");
  upload(digest, bytes.size(), nullptr, &bytes, "");
}

void RegistryClient::upload(const std::string& digest, std::uint64_t size, const std::filesystem::path* file,
                            const std::string* bytes, const std::string& session) {
  // Every answer's Location is where the upload goes on (relative or absolute, its query kept).
  auto url = Url::parse(base_url() + "/", "the registry URL");
  const auto follow = [&](const std::string& location) {
    if (location.empty()) throw Error(Exit::step_failed, repository_.registry + " answered an upload without a Location");
    url = url.resolve(location);
  };
  if (session.empty()) {
    const auto start =
        send({"POST", "/v2/" + repository_.path + "/blobs/uploads/", {}, "", kErrorBodyLimit, "an upload session"});
    if (start.status != 202)
      throw Error(Exit::step_failed, "starting an upload to " + repository_.str() + ": " + registry_errors(start));
    follow(start.header("location"));
  } else {
    follow(session);
  }
  const bool chunked = file && size > settings_.monolithic_upload;
  for (std::uint64_t offset = 0; chunked && offset < size; offset += settings_.upload_chunk) {
    const auto length = std::min(settings_.upload_chunk, size - offset);
    Call patch{"PATCH",
               url.str(),
               {{"Content-Type", "application/octet-stream"},
                {"Content-Range", std::to_string(offset) + "-" + std::to_string(offset + length - 1)}},
               "",
               kErrorBodyLimit,
               "an upload's answer"};
    patch.file = FileSpan{*file, offset, length};
    const auto r = send(patch);
    if (r.status != 202)
      throw Error(Exit::step_failed, "uploading " + digest + " to " + repository_.str() + " (bytes " + std::to_string(offset) +
                                         " on): " + registry_errors(r));
    follow(r.header("location"));
  }
  url.target += (url.target.find('?') == std::string::npos ? "?" : "&") + std::string("digest=") + percent_encode(digest);
  Call put{"PUT", url.str(), {{"Content-Type", "application/octet-stream"}}, "", kErrorBodyLimit, "an upload's answer"};
  if (bytes) put.body = *bytes;
  if (file && !chunked) put.file = FileSpan{*file, 0, size};
  const auto done = send(put);
  if (done.status != 201)
    throw Error(Exit::step_failed, "uploading " + digest + " to " + repository_.str() + ": " + registry_errors(done));
  if (const auto stated = done.header("docker-content-digest"); !stated.empty() && stated != digest)
    throw Error(Exit::verify_failed, repository_.registry + " stored the blob " + digest + " as " + stated);
}

std::vector<std::string> RegistryClient::put_manifests(const std::vector<std::string>& references, const std::string& media_type,
                                                       const std::string& bytes) {
  std::vector<Call> calls;
  calls.reserve(references.size());
  for (const auto& reference : references)
    calls.push_back({"PUT",
                     "/v2/" + repository_.path + "/manifests/" + reference,
                     {{"Content-Type", media_type}},
                     bytes,
                     kDefaultResponseLimit,
                     "an answer to a manifest upload"});
  const auto responses = send_all(calls);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < references.size(); ++i) {
    const auto& r = responses[i];
    if (r.status / 100 != 2)
      throw Error(Exit::step_failed, "publishing " + repository_.str() + (references[i].starts_with("sha256:") ? "@" : ":") +
                                         references[i] + " failed: " + registry_errors(r));
    out.push_back(r.header("docker-content-digest"));
  }
  return out;
}

std::string RegistryClient::put_manifest(const std::string& reference, const std::string& media_type, const std::string& bytes,
                                         bool* subject_indexed) {
  if (!subject_indexed) return put_manifests({reference}, media_type, bytes).front();
  const auto r = send({"PUT",
                       "/v2/" + repository_.path + "/manifests/" + reference,
                       {{"Content-Type", media_type}},
                       bytes,
                       kDefaultResponseLimit,
                       "an answer to a manifest upload"});
  if (r.status / 100 != 2)
    throw Error(Exit::step_failed, "publishing " + repository_.str() + (reference.starts_with("sha256:") ? "@" : ":") +
                                       reference + " failed: " + registry_errors(r));
  *subject_indexed = !r.header("oci-subject").empty();
  return r.header("docker-content-digest");
}

std::optional<Manifest> RegistryClient::get_referrers(const std::string& digest) {
  if (no_referrers_api_) return std::nullopt;
  const auto r = send({"GET",
                       "/v2/" + repository_.path + "/referrers/" + checked_digest(digest, "the subject digest"),
                       {{"Accept", media::oci_index}},
                       "",
                       kManifestLimit,
                       "a referrers index"});
  if (r.status == 404 || r.status == 400 || r.status == 405) {
    no_referrers_api_ = true;
    return std::nullopt;
  }
  if (r.status != 200)
    throw Error(Exit::step_failed, "reading the referrers of " + repository_.str() + "@" + digest + ": " + registry_errors(r));
  Manifest m;
  m.bytes = r.body;
  m.digest = sha256_digest(m.bytes);
  m.media_type = media::oci_index;
  return m;
}

RegistryClient::CredentialSource stored_credentials(const Repository& repository, const std::string& engine, Runner& runner,
                                                    const Log& log) {
  return [files = credential_files(engine, process_environment()), repository, &runner, log] {
    return find_credentials(files, repository.registry, repository.path, runner, log);
  };
}

}  // namespace mai
