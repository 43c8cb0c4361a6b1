// How the registry client proves who it is: the Authorization header a request gets (a Bearer token
// for its scope, or Basic credentials), and the answer to a 401's challenges (a token asked of the
// token service the challenge names, with the stored credentials; or Basic). Tokens are kept per
// scope and renewed a little before they expire.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/log.hpp"
#include "base/retry.hpp"
#include "registry/challenge.hpp"
#include "registry/credentials.hpp"
#include "registry/tls.hpp"
#include "registry/transport.hpp"

namespace mai {

class Authenticator {
 public:
  // Asked at most once, when the registry first asks for authentication.
  using CredentialSource = std::function<std::optional<Credentials>()>;

  // `registry` names the registry in messages; token services are reached under `tls`'s rules,
  // through `transport`, retried under `retry`; a token service's 429 is waited for as it asks
  // (Retry-After), up to `max_rate_limit_wait`, and a longer wait is an error.
  Authenticator(std::string registry, RegistryTls tls, RetryPolicy retry, Transport& transport, CredentialSource credentials,
                Log log, std::chrono::seconds max_rate_limit_wait = std::chrono::seconds(300));

  // Adds what the registry asked for to `request` (for `scope`), renewing a token past its time
  // first; true if anything was added.
  bool authorize(HttpRequest& request, const std::string& scope);
  // Answers a 401's challenges for `scope` (space-separated scopes, ours first): fetches a token or
  // takes Basic credentials. Throws Error(step_failed) saying why when neither can be had.
  void authenticate(const std::vector<Challenge>& challenges, const std::string& scope);
  // The stored credentials, looked up on first use.
  const std::optional<Credentials>& credentials();

 private:
  // A token for `scope` from the token service `challenge` names.
  void fetch_token(Challenge challenge, const std::string& scope);
  std::string login_hint() const;

  std::string registry_;
  RegistryTls tls_;
  RetryPolicy retry_;
  std::chrono::seconds max_rate_limit_wait_;
  Transport& transport_;
  CredentialSource source_;
  Log log_;
  std::optional<std::optional<Credentials>> credentials_;  // outer: asked yet
  std::string basic_;                                      // Authorization value once Basic was asked for
  std::optional<Challenge> bearer_;                        // the registry's Bearer challenge, once seen
  struct Token {
    std::string value;
    std::chrono::steady_clock::time_point expires;
    int uses = 0;
  };
  std::map<std::string, Token> tokens_;  // by scope
};

}  // namespace mai
