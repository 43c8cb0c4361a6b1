#include "registry/auth.hpp"

#include <algorithm>
#include <boost/json.hpp>

#include "base/error.hpp"
#include "base/text.hpp"
#include "registry/errors.hpp"
#include "registry/rate_limit.hpp"

namespace mai {
namespace json = boost::json;

namespace {

// A token answer of at most 128 KiB, holding a token that fits in a header; larger answers are
// refused before they are parsed.
constexpr std::size_t kTokenAnswerLimit = std::size_t{128} << 10;
constexpr std::size_t kTokenLimit = std::size_t{60} << 10;
// A token service's 429s waited for, for one token: one that keeps asking is then an error.
constexpr int kTokenRateLimitWaits = 5;

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

}  // namespace

Authenticator::Authenticator(std::string registry, RegistryTls tls, RetryPolicy retry, Transport& transport,
                             CredentialSource credentials, Log log, std::chrono::seconds max_rate_limit_wait)
    : registry_(std::move(registry)),
      tls_(std::move(tls)),
      retry_(retry),
      max_rate_limit_wait_(max_rate_limit_wait),
      transport_(transport),
      source_(std::move(credentials)),
      log_(std::move(log)) {}

std::string Authenticator::login_hint() const {
  return " (log in with `docker login " + registry_ + "` or `podman login " + registry_ +
         "`; the password goes on stdin with --password-stdin)";
}

const std::optional<Credentials>& Authenticator::credentials() {
  if (!credentials_) credentials_.emplace(source_ ? source_() : std::nullopt);
  return *credentials_;
}

bool Authenticator::authorize(HttpRequest& request, const std::string& scope) {
  auto token = tokens_.find(scope);
  // A token past its time is renewed before the request goes: a body sent with none would meet a
  // 401 that the registry answers while the body is still on its way, and then closes (a broken
  // write). A token just fetched is used at least once, however short its life.
  if (bearer_ && token != tokens_.end() && token->second.expires <= std::chrono::steady_clock::now() && token->second.uses > 0) {
    auto renewal = *bearer_;
    renewal.params.erase("scope");  // the scopes of whatever request met the challenge: ours are enough
    fetch_token(std::move(renewal), scope);
    token = tokens_.find(scope);
  }
  if (bearer_ && token != tokens_.end()) {
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

void Authenticator::fetch_token(Challenge challenge, const std::string& scope) {
  const auto& creds = credentials();
  const auto realm_text = challenge.params.count("realm") ? challenge.params.at("realm") : "";
  if (realm_text.empty()) throw Error(Exit::step_failed, registry_ + " sent a Bearer challenge without a realm");
  auto realm = Url::parse(realm_text, "the Bearer realm");
  const auto service = challenge.params.count("service") ? challenge.params.at("service") : "";
  // Ours first (a repository's push scope, then a mount's source pull scope), then any other the
  // challenge names; one scope= each.
  auto wanted = scopes_of(scope);
  if (challenge.params.count("scope"))
    for (auto& s : scopes_of(challenge.params.at("scope")))
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
  const auto realm_name = tls_.name_for(realm);
  if (realm.scheme == "http" && !tls_.plain_http_allowed(realm_name))
    throw Error(Exit::step_failed, "the token service " + realm.origin() + " is plain HTTP; credentials go only over TLS " +
                                       "except to loopback and MULTIARCH_IMAGE_INSECURE_REGISTRIES");
  Transport::Outcome outcome;
  Backoff backoff(retry_);
  int rate_limit_waits = 0;
  while (true) {
    outcome = transport_.send(request, tls_.settings(realm_name));
    if (outcome.error ? !transient(*outcome.error) : !transient(outcome.response->status)) break;
    // Docker Hub's token service limits anonymous requests too: its 429 is waited for as it asks,
    // announced with the limit it names, and not counted as an attempt of the backoff.
    if (const auto limited =
            outcome.response ? rate_limited(*outcome.response, std::chrono::system_clock::now()) : std::nullopt) {
      const auto what = "the token service " + realm.origin() + " limits the rate of requests (" + limited->limit + ")";
      if (limited->wait > max_rate_limit_wait_)
        throw Error(Exit::step_failed, what + " and asks for a wait of " + std::to_string(limited->wait.count()) +
                                           " s (Retry-After), more than the " + std::to_string(max_rate_limit_wait_.count()) +
                                           " s this client waits; try again later" +
                                           (creds ? "" : ", or with credentials (anonymous limits are lower)"));
      if (++rate_limit_waits > kTokenRateLimitWaits)
        throw Error(Exit::step_failed, what + ", still after " + std::to_string(kTokenRateLimitWaits) + " waits");
      log_.warn(what + ": waiting " + std::to_string(limited->wait.count()) +
                " s as it asks (Retry-After) before asking for a token again");
      pause(limited->wait);
      continue;
    }
    if (!backoff.wait_before_next([&](int next, int tries, std::chrono::milliseconds delay) {
          log_.warn("the token service " + realm.origin() + ": " +
                    (outcome.error ? outcome.error->message : registry_errors(*outcome.response)) + "; attempt " +
                    std::to_string(next) + " of " + std::to_string(tries) + " in " + std::to_string(delay.count()) + " ms");
        }))
      break;
  }
  if (outcome.error) throw Error(Exit::step_failed, "the token service " + realm.origin() + ": " + outcome.error->message);
  const auto& r = *outcome.response;
  if (r.body.size() > kTokenAnswerLimit)
    throw Error(Exit::step_failed, "the token service " + realm.origin() + " answered " + std::to_string(r.body.size()) +
                                       " bytes, more than a token answer may have; refused");
  if (r.status == 401 || r.status == 403)
    throw Error(Exit::step_failed, "the token service " + realm.origin() + " refused " +
                                       (creds ? "the credentials from " + creds->origin : std::string("an anonymous request")) +
                                       " for " + asked + ": " + registry_errors(r) + (creds ? "" : login_hint()));
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
  bearer_ = std::move(challenge);
  tokens_[scope] = Token{token, std::chrono::steady_clock::now() + std::chrono::seconds(lifetime - margin), 0};
}

void Authenticator::authenticate(const std::vector<Challenge>& challenges, const std::string& scope) {
  const auto bearer = std::find_if(challenges.begin(), challenges.end(), [](const Challenge& c) { return c.scheme == "bearer"; });
  const auto basic = std::find_if(challenges.begin(), challenges.end(), [](const Challenge& c) { return c.scheme == "basic"; });
  const auto& creds = credentials();
  if (bearer != challenges.end()) {
    fetch_token(*bearer, scope);
    return;
  }
  if (basic != challenges.end()) {
    if (!creds) throw Error(Exit::step_failed, registry_ + " asks for credentials and none were found" + login_hint());
    if (creds->username.empty())
      throw Error(Exit::step_failed, registry_ + " asks for Basic auth but " + creds->origin + " holds an identity token");
    basic_ = "Basic " + base64_encode(creds->username + ":" + creds->secret);
    return;
  }
  throw Error(Exit::step_failed, registry_ + " asks for authentication with a scheme this client does not speak");
}

}  // namespace mai
