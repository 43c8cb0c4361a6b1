// A small client of the OCI distribution API for one repository: manifests read and written by tag
// and by digest, blobs read, with Basic and Bearer auth, TLS by default, retries with backoff. The
// manifest step publishes and verifies manifest lists with it, so no engine's `manifest` command is
// involved.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/log.hpp"
#include "base/retry.hpp"
#include "oci/reference.hpp"
#include "registry/auth.hpp"
#include "registry/rate_limit.hpp"
#include "registry/tls.hpp"
#include "registry/transport.hpp"

namespace mai {

// What a registry may send: a manifest or index of at most 4 MiB (the distribution spec's limit on
// what registries must accept), an image config of at most 4 MiB; larger answers are refused before
// they are parsed. A blob streamed to a file is bounded only against an answer that never ends.
inline constexpr std::size_t kManifestLimit = std::size_t{4} << 20;
inline constexpr std::size_t kConfigLimit = std::size_t{4} << 20;
inline constexpr std::size_t kStreamedLimit = std::size_t{64} << 30;
inline constexpr std::size_t kReferrersPages = 100;

struct Manifest {
  std::string media_type;  // the body's mediaType, else the Content-Type
  std::string digest;      // sha256 of bytes, computed here
  std::string bytes;
};

struct RegistrySettings {
  RetryPolicy retry;
  std::vector<std::string> insecure;  // host[:port] entries: TLS unverified, then plain HTTP
  std::vector<std::filesystem::path> certs_d_roots = default_certs_d_roots();
  // A blob up to this size goes up in one PUT; a larger one in PATCHes of upload_chunk bytes, so that
  // no one request carries more (each is bounded by the request timeout).
  std::uint64_t monolithic_upload = std::uint64_t{32} << 20;
  std::uint64_t upload_chunk = std::uint64_t{32} << 20;
  // A registry that limits the rate of requests (429 with Retry-After) is waited for as it asks, up to
  // this long each time; a longer wait fails the step at once, naming the limit.
  std::chrono::seconds max_rate_limit_wait{300};
};

class RegistryClient {
 public:
  // `credentials` is asked at most once, when the registry first asks for authentication.
  using CredentialSource = Authenticator::CredentialSource;

  // Retries are announced through `log`.
  RegistryClient(Repository repository, RegistrySettings settings, Transport& transport, CredentialSource credentials, Log log);

  // nullopt when the registry has no such manifest (404). The digest is checked when `reference`
  // is one. Throws Error(step_failed) for anything else the registry refuses.
  std::optional<Manifest> get_manifest(const std::string& reference);
  std::string get_blob(const std::string& digest);  // follows redirects; checks the digest
  // Whether the repository holds the blob: HEAD, or, from a registry that answers HEAD 405 (then never
  // asked again), a GET of its first byte.
  bool has_blob(const std::string& digest);
  int rate_limit_waits() const { return rate_limit_waits_; }  // waits a 429's Retry-After asked for, so far
  // Streams the blob `digest` into `file` (replaced; never whole in memory), its digest checked as it
  // arrives; on any failure `file` is removed.
  void fetch_blob(const std::string& digest, const std::filesystem::path& file);
  // Cross-repository mount of `digest` from the repository `from` (a path on the same registry). The
  // token asks for this repository's push scope first and the pull scope of `from` second. 201: mounted.
  // 202: the registry would rather take an upload, and `session` is its Location, for put_blob to
  // continue. A refusal (a token without the pull scope, an error) is warned about: upload instead.
  struct Mount {
    bool mounted = false;
    std::string session;
  };
  Mount mount_blob(const std::string& digest, const std::string& from);
  // Uploads `file` as the blob `digest`, streamed from disk: an upload session, then, up to
  // RegistrySettings::monolithic_upload bytes, one PUT with the body at the session's Location; larger
  // blobs go in PATCHes of upload_chunk bytes (Content-Range), each at the latest Location (relative or absolute,
  // its query kept), then an empty PUT. The registry's stated digest must be ours. A `session` (a
  // mount's 202) is continued instead of starting one. A registry that refuses the first PATCH (405,
  // 400, 416, 501: no uploads in chunks) gets the whole blob in the closing PUT of a new session, and
  // every later blob so too.
  void put_blob(const std::string& digest, const std::filesystem::path& file, const std::string& session = "");
  // A small blob from memory (a document, an empty config): one upload session, one PUT.
  void put_blob_bytes(const std::string& digest, const std::string& bytes);
  // PUT; returns the digest the registry reported, or "" when it reported none. A refusal names what the
  // registry's rule is where it can tell: a tag that holds other content (immutable tags), an OCI
  // manifest refused (a registry that knows only Docker's media types). `subject_indexed`,
  // when given, says whether the registry answered OCI-Subject (it indexes the manifest's subject in
  // its referrers API).
  std::string put_manifest(const std::string& reference, const std::string& media_type, const std::string& bytes,
                           bool* subject_indexed = nullptr);
  // GET /v2/<name>/referrers/<digest>: the index of the manifests whose subject is `digest`, each page
  // of it (Link: rel="next", at most kReferrersPages), or nullopt when the registry has no referrers
  // API (404, 400, 405; a registry with one answers an unknown subject with an empty index), which
  // this client then remembers and asks no more.
  std::optional<std::vector<Manifest>> get_referrers(const std::string& digest);

  // The same for several at once: the requests go out together (once the first exchange with the
  // registry has settled its scheme and authentication); answers in the order asked.
  std::vector<std::optional<Manifest>> get_manifests(const std::vector<std::string>& references);
  std::vector<std::string> get_blobs(const std::vector<std::string>& digests);
  std::vector<std::string> put_manifests(const std::vector<std::string>& references, const std::string& media_type,
                                         const std::string& bytes);

  std::string base_url() const;  // scheme://host[:port] as decided so far, for messages

  // Requests of different kinds that do not wait for each other, sent together in one round (as
  // send_all sends them): each queued with where its result goes, which must outlive run(). run()
  // writes the results in the order queued and throws, as the single call would, at the first
  // refusal. A registry that answers HEAD 405, an upload refused or broken on the way, a blob too large
  // for one PUT: that one goes the careful way, alone, after the round.
  class Batch;

 private:
  struct Call {
    std::string method, path;
    Headers headers;
    std::string body;
    std::size_t limit = kDefaultResponseLimit;  // the most of an answer's body taken (HttpRequest::response_limit)
    std::string what;                           // what the answer is, for the message when it is larger
    std::optional<FileSpan> file;               // the body streamed from a file instead of `body`
    BodySink* sink = nullptr;                   // a 2xx answer's body streamed there
    std::string also_scope;                     // a token scope asked for after this repository's own
    // Sent in a batch's rounds only, never again as it is (an upload's closing PUT: a body broken on
    // its way may have left part of it in the session). Unsettled there, its answer is status 0
    // with the problem as its body, for the caller to start over.
    bool once = false;
  };
  // One call with authentication, redirects and retries; `failed` (not empty): its first attempt, in
  // a batch's round, failed so, and counts as one.
  HttpResponse send(const Call& call, const std::string& failed = "");
  // One attempt of `call` (authentication and redirects included): its answer, or nullopt after a
  // failure worth another attempt, with `problem` saying what it was. What no retry changes throws.
  std::optional<HttpResponse> try_once(const Call& call, std::string& problem);
  // After a failed attempt of `call`: waits what a 429 asked (Retry-After, announced with the limit, at
  // most RegistrySettings::max_rate_limit_wait: a longer wait throws), else the backoff's delay. False
  // when no attempt is left.
  bool wait_before_retry(const Call& call, const std::string& problem, Backoff& backoff);
  // A manifest PUT answered MANIFEST_BLOB_UNKNOWN sent again (a blob's link being rewritten by another
  // upload of it): the last answer.
  HttpResponse again_if_blob_unknown(const Call& call, HttpResponse answer);
  // Why the registry refused to PUT the manifest `bytes` (`media_type`) as `reference`: throws.
  [[noreturn]] void refused_manifest(const std::string& reference, const std::string& media_type, const std::string& bytes,
                                     const HttpResponse& answer);
  // The warning before attempt `next` of `tries`.
  void announce_retry(const Call& call, const std::string& problem, int next, int tries, std::chrono::milliseconds delay) const;
  // A call's path as a URL for messages: the registry's base URL and the path, or the absolute URL a
  // Location gave, once, without userinfo.
  std::string shown(const std::string& path) const;
  // Several: first all at once; any that meets a challenge, a redirect or a failure then alone, as above.
  std::vector<HttpResponse> send_all(const std::vector<Call>& calls);
  [[noreturn]] void refuse_larger(const Call& call) const;
  // An upload of `size` bytes from `file` or `bytes` (one of them), in `session` or a new one;
  // `broken`: a request of `session` broke on its way, so where it stands is asked first.
  void upload(const std::string& digest, std::uint64_t size, const std::filesystem::path* file, const std::string* bytes,
              const std::string& session, bool broken = false);
  std::string scope_for(const std::string& method) const;
  // Sends `request`, with the Authorization the authenticator has for `scope` when it goes to the
  // registry itself (`to_registry`; never to storage a redirect points at).
  Transport::Outcome send_once(const HttpRequest& request, const std::string& scope, bool to_registry, bool& credentials_sent);

  Repository repository_;
  RegistrySettings settings_;
  Transport& transport_;
  RegistryTls tls_;
  Authenticator auth_;
  Log log_;
  std::string scheme_ = "https";
  bool no_referrers_api_ = false;            // get_referrers() was answered 404, 400 or 405
  bool no_head_ = false;                     // HEAD was answered 405: has_blob() asks with a GET
  bool no_chunked_uploads_ = false;          // a PATCH was refused: blobs go up whole
  std::optional<RateLimited> rate_limited_;  // what the last attempt's 429 asked, until it is waited for
  int rate_limit_waits_ = 0;                 // in all, bounded (kRateLimitWaits)
  bool scheme_settled_ = false;
};

class RegistryClient::Batch {
 public:
  explicit Batch(RegistryClient& client) : client_(client) {}
  void get_manifest(const std::string& reference, std::optional<Manifest>& out);
  void has_blob(const std::string& digest, bool& out);
  // POST: an upload session, its Location in `location`.
  void start_upload(std::string& location);
  // The closing PUT of the session at `location` with the whole blob: `file`'s bytes or `bytes`
  // (one of them, kept alive until run()). A refusal uploads the blob again in a session of its own.
  void finish_upload(const std::string& location, const std::string& digest, const std::filesystem::path* file,
                     const std::string* bytes);
  // PUT; `stated` gets the digest the registry reported ("" none), `subject_indexed` whether it
  // answered OCI-Subject.
  void put_manifest(const std::string& reference, const std::string& media_type, const std::string& bytes,
                    std::string* stated = nullptr, bool* subject_indexed = nullptr);
  std::size_t size() const { return calls_.size() + alone_.size(); }
  void run();

 private:
  RegistryClient& client_;
  std::vector<Call> calls_;
  std::vector<std::function<void(HttpResponse&)>> then_;  // one per call, in order
  std::vector<std::function<void()>> alone_;              // after the round
};

}  // namespace mai
