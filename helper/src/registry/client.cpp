#include "registry/client.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <utility>

#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/interrupt.hpp"
#include "base/retry.hpp"
#include "base/text.hpp"
#include "oci/media_types.hpp"
#include "registry/errors.hpp"

namespace mai {
namespace json = boost::json;

namespace {

constexpr int kMaxRedirects = 5;
// 429s waited for in all by one client: a registry that keeps asking is then an error.
constexpr int kRateLimitWaits = 20;
// A manifest refused because a blob it names is unknown, sent again (again_if_blob_unknown).
constexpr int kBlobUnknownRounds = 2;
std::string mebibytes(std::size_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

bool same_origin(const Url& a, const Url& b) { return a.scheme == b.scheme && a.host == b.host && a.port == b.port; }

}  // namespace

RegistryClient::RegistryClient(Repository repository, RegistrySettings settings, Transport& transport,
                               CredentialSource credentials, Log log)
    : repository_(std::move(repository)),
      settings_(std::move(settings)),
      transport_(transport),
      tls_(repository_, settings_.insecure, settings_.certs_d_roots),
      auth_(repository_.registry, tls_, settings_.retry, transport, std::move(credentials), log, settings_.max_rate_limit_wait),
      log_(std::move(log)) {}

std::string RegistryClient::base_url() const { return scheme_ + "://" + tls_.api_host(); }

Transport::Outcome RegistryClient::send_once(const HttpRequest& request, const std::string& scope, bool to_registry,
                                             bool& credentials_sent) {
  HttpRequest sent = request;
  credentials_sent = to_registry && auth_.authorize(sent, scope);
  // The registry's host name decides its TLS files (certs.d/<host:port>), as docker and podman do.
  return transport_.send(sent, tls_.settings(to_registry ? repository_.registry : tls_.name_for(request.url)));
}

std::string RegistryClient::scope_for(const std::string& method) const {
  return "repository:" + repository_.path + ":" + (method == "GET" || method == "HEAD" ? "pull" : "pull,push");
}

std::vector<HttpResponse> RegistryClient::send_all(const std::vector<Call>& calls) {
  std::vector<std::optional<HttpResponse>> answers(calls.size());
  const auto registry = Url::parse(base_url() + "/", "the registry URL");
  // Together: the calls at the registry itself (an upload's Location elsewhere goes alone, without
  // credentials), in at most three rounds. Before the scheme is settled they all go at once, as one
  // probe: a plain-HTTP registry answering the TLS handshake settles it for all, a challenge is
  // answered once per scope, and the next round sends what those held back. What is left then goes
  // the careful way, one at a time (an upload's closing PUT, Call::once, does not).
  const auto together = [&](const Call& c) {
    const bool absolute = c.path.starts_with("http://") || c.path.starts_with("https://");
    return !absolute || same_origin(Url::parse(c.path, "an upload's Location"), registry);
  };
  std::vector<std::string> problems(calls.size());
  std::vector<bool> failed(calls.size(), false);  // a round's attempt failed (not a challenge, not a redirect)
  const bool rounds = calls.size() > 1 || std::any_of(calls.begin(), calls.end(), [](const Call& c) { return c.once; });
  std::vector<std::string> answered_scopes;  // challenges answered in this call: once per scope
  for (int round = 0; round < 3 && rounds; ++round) {
    std::vector<std::size_t> pending;
    for (std::size_t i = 0; i < calls.size(); ++i)
      if (!answers[i] && together(calls[i])) pending.push_back(i);
    if (pending.empty() || (pending.size() < 2 && !calls[pending.front()].once)) break;
    std::vector<HttpRequest> requests;
    for (const auto i : pending) {
      const auto& c = calls[i];
      const bool absolute = c.path.starts_with("http://") || c.path.starts_with("https://");
      HttpRequest r{c.method, Url::parse(absolute ? c.path : base_url() + c.path, "the registry URL"), c.headers, c.body, c.limit,
                    c.file};
      auth_.authorize(r, scope_for(r.method));
      requests.push_back(std::move(r));
    }
    auto outcomes = transport_.send_all(requests, tls_.settings(repository_.registry));
    std::size_t limited_at = calls.size();
    bool again = false;
    std::vector<std::pair<std::string, std::vector<Challenge>>> challenged;  // scope, what the registry asked
    for (std::size_t k = 0; k < outcomes.size(); ++k) {
      const auto i = pending[k];
      auto& r = outcomes[k].response;
      if (const auto& e = outcomes[k].error) {
        problems[i] = e->message;
        // Only a failure another attempt may change counts as one (a refused client certificate, an
        // untrusted one: the careful path says why, at once).
        failed[i] = transient(*e);
        if (e->kind == TransportError::Kind::too_large) refuse_larger(calls[i]);
        if (e->kind == TransportError::Kind::tls_not_spoken && !scheme_settled_ &&
            tls_.plain_http_allowed(repository_.registry) && !calls[i].path.starts_with("https://")) {
          scheme_ = "http";
          scheme_settled_ = true;
          again = true;
        }
        continue;
      }
      scheme_settled_ = true;
      if (r->status == 401) {
        const auto scope = scope_for(calls[i].method);
        if (std::find(answered_scopes.begin(), answered_scopes.end(), scope) == answered_scopes.end() &&
            std::none_of(challenged.begin(), challenged.end(), [&](const auto& c) { return c.first == scope; })) {
          std::vector<Challenge> challenges;
          for (const auto& h : r->headers_named("www-authenticate"))
            for (auto& c : parse_challenges(h)) challenges.push_back(std::move(c));
          challenged.emplace_back(scope, std::move(challenges));
        }
        continue;
      }
      problems[i] = registry_errors(*r);
      failed[i] = transient(r->status);
      if (r->status / 100 != 3 && !transient(r->status)) answers[i] = std::move(*r);
      // The longest wait a 429 among them asked for is waited before any is sent again.
      if (const auto asked = rate_limited(*r, std::chrono::system_clock::now());
          asked && (!rate_limited_ || asked->wait > rate_limited_->wait)) {
        rate_limited_ = asked;
        limited_at = i;
      }
    }
    for (const auto& [scope, challenges] : challenged) {
      auth_.authenticate(challenges, scope);
      answered_scopes.push_back(scope);
    }
    if (limited_at < calls.size()) {
      Backoff unused(settings_.retry);  // a rate limit's wait is not the backoff's
      wait_before_retry(calls[limited_at], "", unused);
    }
    if (!again && challenged.empty()) break;
  }
  // What did not settle together (a connection error, a challenge met twice, a redirect, a 5xx or
  // 429, a Location elsewhere) goes the careful way: one at a time, with authentication, redirects
  // and retries.
  std::vector<HttpResponse> out;
  for (std::size_t i = 0; i < calls.size(); ++i) {
    if (!answers[i] && calls[i].once) answers[i] = HttpResponse{0, {}, problems[i].empty() ? "not sent" : problems[i]};
    if (!answers[i]) answers[i] = send(calls[i], failed[i] ? problems[i] : "");
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

std::string RegistryClient::shown(const std::string& path) const {
  // An upload's Location is a whole URL already; parsing it leaves out any userinfo it carries.
  if (path.starts_with("http://") || path.starts_with("https://")) return Url::parse(path, "the registry URL").str();
  return base_url() + path;
}

void RegistryClient::announce_retry(const Call& call, const std::string& problem, int next, int tries,
                                    std::chrono::milliseconds delay) const {
  log_.warn(call.method + " " + shown(call.path) + ": " + problem + "; attempt " + std::to_string(next) + " of " +
            std::to_string(tries) + " in " + std::to_string(delay.count()) + " ms");
}

bool RegistryClient::wait_before_retry(const Call& call, const std::string& problem, Backoff& backoff) {
  const auto limited = std::exchange(rate_limited_, std::nullopt);
  if (!limited)
    return backoff.wait_before_next(
        [&](int next, int tries, std::chrono::milliseconds delay) { announce_retry(call, problem, next, tries, delay); });
  const auto what = repository_.registry + " limits the rate of requests (" + limited->limit + ")";
  if (limited->wait > settings_.max_rate_limit_wait)
    throw Error(Exit::step_failed, call.method + " " + shown(call.path) + ": " + what + " and asks for a wait of " +
                                       std::to_string(limited->wait.count()) + " s (Retry-After), more than the " +
                                       std::to_string(settings_.max_rate_limit_wait.count()) +
                                       " s this client waits; try again later, or with credentials (anonymous limits are lower)");
  if (++rate_limit_waits_ > kRateLimitWaits)
    throw Error(Exit::step_failed, call.method + " " + shown(call.path) + ": " + what + ", still after " +
                                       std::to_string(kRateLimitWaits) + " waits");
  log_.warn(what + ": waiting " + std::to_string(limited->wait.count()) + " s as it asks (Retry-After) before " + call.method +
            " " + shown(call.path) + " again");
  pause(limited->wait);
  return true;
}

HttpResponse RegistryClient::send(const Call& call, const std::string& failed) {
  std::string problem = failed;
  Backoff backoff(settings_.retry);
  if (!failed.empty() && !wait_before_retry(call, problem, backoff))
    throw Error(Exit::step_failed, call.method + " " + shown(call.path) + " failed after " + std::to_string(backoff.tries()) +
                                       " attempts: " + problem);
  do {
    if (auto answer = try_once(call, problem)) return std::move(*answer);
  } while (wait_before_retry(call, problem, backoff));
  throw Error(Exit::step_failed, call.method + " " + shown(call.path) + " failed after " + std::to_string(backoff.tries()) +
                                     " attempts: " + problem);
}

std::optional<HttpResponse> RegistryClient::try_once(const Call& call, std::string& problem) {
  const auto& [method, path, headers, body, limit, what, file, sink, also_scope, once] = call;
  (void)once;  // the careful path sends any call; send_all keeps Call::once ones from it
  const auto scope = scope_for(method) + (also_scope.empty() ? "" : " " + also_scope);
  const bool may_use_http = tls_.plain_http_allowed(repository_.registry);
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
        if (absolute) throw Error(Exit::step_failed, shown(path) + ": the registry stopped speaking TLS");
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
      if (!transient(e)) throw Error(Exit::step_failed, method + " " + request.url.str() + ": " + e.message);
      problem = e.message;
      return std::nullopt;
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
                        (auth_.credentials() ? "the credentials from " + auth_.credentials()->origin : std::string("access")) +
                        " for " + method + " " + path + ": " + registry_errors(r));
      auth_.authenticate(challenges, scope);
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
      rate_limited_ = rate_limited(r, std::chrono::system_clock::now());
      return std::nullopt;
    }
    return r;
  }
}

std::vector<std::optional<Manifest>> RegistryClient::get_manifests(const std::vector<std::string>& references) {
  std::vector<std::optional<Manifest>> out(references.size());
  Batch batch(*this);
  for (std::size_t i = 0; i < references.size(); ++i) batch.get_manifest(references[i], out[i]);
  batch.run();
  return out;
}

std::optional<Manifest> RegistryClient::get_manifest(const std::string& reference) { return get_manifests({reference}).front(); }

std::vector<std::string> RegistryClient::put_manifests(const std::vector<std::string>& references, const std::string& media_type,
                                                       const std::string& bytes) {
  std::vector<std::string> out(references.size());
  Batch batch(*this);
  for (std::size_t i = 0; i < references.size(); ++i) batch.put_manifest(references[i], media_type, bytes, &out[i]);
  batch.run();
  return out;
}

std::string RegistryClient::put_manifest(const std::string& reference, const std::string& media_type, const std::string& bytes,
                                         bool* subject_indexed) {
  std::string stated;
  Batch batch(*this);
  batch.put_manifest(reference, media_type, bytes, &stated, subject_indexed);
  batch.run();
  return stated;
}

HttpResponse RegistryClient::again_if_blob_unknown(const Call& call, HttpResponse answer) {
  // Distribution rewrites a repository's link to a blob in place when another upload of the same blob
  // completes (two platforms sharing a layer, pushed at once): a manifest PUT that reads it meanwhile
  // is refused MANIFEST_BLOB_UNKNOWN. Its blobs were all there a moment before; it goes again, twice at
  // most.
  for (int round = 1; round <= kBlobUnknownRounds && answer.status == 400; ++round) {
    const auto said = registry_errors(answer);
    if (said.find("BLOB_UNKNOWN") == std::string::npos) break;
    log_.warn(call.method + " " + shown(call.path) + ": " + said +
              " (another upload of a blob it names completing, or its subject put beside it?); again in " +
              std::to_string(250 * round) + " ms");
    pause(std::chrono::milliseconds(250 * round));
    answer = send(call);
  }
  return answer;
}

void RegistryClient::refused_manifest(const std::string& reference, const std::string& media_type, const std::string& bytes,
                                      const HttpResponse& answer) {
  const bool by_digest = reference.starts_with("sha256:");
  const auto what = repository_.str() + (by_digest ? "@" : ":") + reference;
  const auto said = registry_errors(answer);
  const auto generic = "publishing " + what + " failed: " + said;
  if (answer.status == 401 || answer.status == 404 || answer.status / 100 != 4) throw Error(Exit::step_failed, generic);
  // A tag that holds something else, and a registry that refuses to replace it: immutable tags. (A
  // manifest that names a blob the registry lacks is refused 400 too: that is something else.)
  if (!by_digest && said.find("BLOB_UNKNOWN") == std::string::npos) {
    const auto current = get_manifest(reference);
    if (current && current->digest != sha256_digest(bytes)) {
      const bool referrers = reference.starts_with("sha256-");
      throw Error(
          Exit::step_failed,
          repository_.registry + " refused to replace the " + (referrers ? "referrers tag " : "tag ") + reference + " of " +
              repository_.str() + ", which holds " + current->digest +
              ": its tags are immutable (ECR's tag immutability, Harbor's immutable tag rules, GitLab's protected tags; " + said +
              "). " +
              (referrers ? "The referrers tag is rewritten whenever an image gains a document"
                         : "Per-platform tags are rewritten by every changed build, the image's TAGS by every publish") +
              ": set PLATFORM_TAGS OFF (or MULTIARCH_IMAGE_PLATFORM_TAGS=OFF) to publish each platform by digest "
              "only and write no referrers tag, and give every publish TAGS of its own");
    }
  }
  // An OCI manifest refused as invalid, or its media type as unsupported: a registry that knows only
  // Docker's (old Quay, old Artifactory). What is refused decides what would work there. (A manifest
  // whose blobs are missing is refused 400 too, as MANIFEST_BLOB_UNKNOWN: that is something else.)
  const bool unsupported = answer.status == 415 || (answer.status == 400 && said.find("MANIFEST_INVALID") != std::string::npos) ||
                           said.find("UNSUPPORTED") != std::string::npos;
  if (media_type.starts_with("application/vnd.oci.") && unsupported && said.find("BLOB_UNKNOWN") == std::string::npos) {
    std::string hint;
    if (media_type == media::oci_index)
      hint = "INDEX_FORMAT docker publishes a Docker manifest list, and makes the images the helper assembles Docker's";
    else if (bytes.find("\"subject\"") != std::string::npos)
      hint =
          "SBOMs, provenance and signatures are OCI artifact manifests, which such a registry cannot hold: set SBOM OFF "
          "and PROVENANCE OFF (MULTIARCH_IMAGE_SBOM=OFF, MULTIARCH_IMAGE_PROVENANCE=OFF) for it";
    else
      hint =
          "an image the helper assembles takes Docker's format throughout with INDEX_FORMAT docker (and SBOM OFF, "
          "PROVENANCE OFF: those are OCI artifacts); one docker builds from a Dockerfile is Docker's already";
    throw Error(Exit::step_failed, repository_.registry + " refused " + what + ", an " + media_type + " (" + said +
                                       "): a registry that takes only Docker media types (old Quay, old Artifactory) "
                                       "answers so. " +
                                       hint);
  }
  throw Error(Exit::step_failed, generic);
}

namespace {

// The target of a Link header's rel="next" (RFC 8288: `<target>; rel="next"`, several links separated
// by commas), "" when there is none.
std::string next_link(const HttpResponse& r) {
  for (const auto& value : r.headers_named("link")) {
    std::size_t at = 0;
    while ((at = value.find('<', at)) != std::string::npos) {
      const auto close = value.find('>', at);
      if (close == std::string::npos) break;
      auto target = value.substr(at + 1, close - at - 1);
      const auto end = std::min(value.find('<', close), value.size());
      auto params = lowercase(value.substr(close + 1, end - close - 1));
      params.erase(std::remove_if(params.begin(), params.end(), [](char c) { return c == ' ' || c == '"'; }), params.end());
      if (params.find(";rel=next") != std::string::npos) return target;
      at = close;
    }
  }
  return "";
}

}  // namespace

std::optional<std::vector<Manifest>> RegistryClient::get_referrers(const std::string& digest) {
  if (no_referrers_api_) return std::nullopt;
  std::vector<Manifest> pages;
  // A registry pages a long list (the distribution spec: a Link header with rel="next" while more
  // are left); each page is an index of its own.
  std::string path = "/v2/" + repository_.path + "/referrers/" + checked_digest(digest, "the subject digest");
  while (!path.empty()) {
    if (pages.size() == kReferrersPages)
      throw Error(Exit::verify_failed, "the referrers of " + repository_.str() + "@" + digest + " go on for more than " +
                                           std::to_string(kReferrersPages) + " pages; refused");
    const auto r = send({"GET", path, {{"Accept", media::oci_index}}, "", kManifestLimit, "a referrers index"});
    if (pages.empty() && (r.status == 404 || r.status == 400 || r.status == 405)) {
      no_referrers_api_ = true;
      return std::nullopt;
    }
    if (r.status != 200)
      throw Error(Exit::step_failed, "reading the referrers of " + repository_.str() + "@" + digest + ": " + registry_errors(r));
    Manifest m;
    m.bytes = r.body;
    m.digest = sha256_digest(m.bytes);
    m.media_type = media::oci_index;
    pages.push_back(std::move(m));
    // The next page, relative to this one, at the registry: its credentials go nowhere else.
    const auto here = Url::parse(base_url() + path, "the registry URL");
    path.clear();
    if (const auto next = next_link(r); !next.empty()) {
      const auto url = here.resolve(next);
      if (url.origin() != here.origin())
        throw Error(Exit::verify_failed, "the referrers of " + repository_.str() + "@" + digest + " continue at " + url.origin() +
                                             ", another origin; refused");
      path = url.target;
    }
  }
  return pages;
}

}  // namespace mai
