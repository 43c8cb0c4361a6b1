// One retry policy for everything that talks to a registry or may meet a passing fault: engine
// commands, registry requests, token requests, store queries. Attempts are spaced by a delay that
// doubles up to 30 s, and every wait can be interrupted. What no retry can change fails at once; the
// rules for that are here and nowhere else.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace mai {

// Defaults match the cache variables' defaults.
struct RetryPolicy {
  int tries = 5;                          // attempts in all
  std::chrono::milliseconds delay{1000};  // before the second attempt; doubles, at most 30 s
  std::chrono::seconds timeout{600};      // per attempt; 0: none
};

// Counts attempts and waits between them:
//   Backoff backoff(policy);
//   do { ... if (done) return; } while (backoff.wait_before_next(announce));
class Backoff {
 public:
  explicit Backoff(const RetryPolicy& policy) : policy_(policy), delay_(policy.delay) {}
  // After a failed attempt: false when it was the last one; otherwise calls `announce` (the next
  // attempt's number, the number of attempts, the delay), waits, and returns true.
  using Announce = std::function<void(int next, int tries, std::chrono::milliseconds delay)>;
  bool wait_before_next(const Announce& announce = {});
  int attempt() const { return attempt_; }  // the current attempt, from 1
  int tries() const { return policy_.tries < 1 ? 1 : policy_.tries; }

 private:
  RetryPolicy policy_;
  std::chrono::milliseconds delay_;
  int attempt_ = 1;
};

// Sleeps for `delay`, throwing Error(interrupted) as soon as a signal arrives.
void pause(std::chrono::milliseconds delay);

// An engine's output with each of `names` (the repository, its registry and path, the tag a push names)
// replaced by a stand-in where it stands whole (not inside a longer name or number), longest first:
// what the registry said, for the rules below to read. A name may hold any of their words
// ("team/api-405", "mirror-429.example.com", a tag "build-405").
std::string without_names(std::string_view output, std::vector<std::string> names);

// Engine output that says a registry limits the rate of requests: an HTTP 429, Docker Hub's and GHCR's
// TOOMANYREQUESTS, "too many requests". What the registry asked to wait is not in it.
bool rate_limit_refusal(std::string_view output);

// What a registry cannot take that an engine's push needs, as the engine's output says it (docker 20.10,
// podman 4.3, measured through the tests' front): a request answered 405 (a HEAD, or the PATCH of an
// upload in chunks), an upload in chunks refused (the registry's UNSUPPORTED, podman's "uploading layer
// chunked"), answers without Docker-Content-Digest (docker: "invalid checksum digest format").
enum class RegistryLimit { none, method_refused, no_chunked_uploads, no_digest_header };
RegistryLimit registry_limit(std::string_view said);

// Engine output that no retry can change: credentials, permissions, missing names, unknown hosts,
// bad certificates, a tag the registry keeps (immutable_tag_refusal), what the registry cannot take
// (registry_limit).
bool permanent_failure(std::string_view output);

// A registry's refusal to replace a tag it keeps: ECR's "... cannot be overwritten because the
// repository is immutable" and "the tag ... is immutable" (a distribution-style DENIED) as the tests'
// front sends them, and the terms the other registries document for the rule (ImageTagAlreadyExists,
// immutable tags, tag immutability, Harbor's "configured as immutable", GitLab's protected tags). Give
// it what the registry said, not the names of the repository it was said about.
bool immutable_tag_refusal(std::string_view said);
// An HTTP answer worth another attempt: a 5xx or 429 (registry/transport.hpp says which failures to
// exchange one are).
bool transient(int http_status);

}  // namespace mai
