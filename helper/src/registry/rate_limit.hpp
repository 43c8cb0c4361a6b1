// A registry's answer 429 (Too Many Requests): how long it asks the client to wait (Retry-After, in
// seconds or as an HTTP date, RFC 9110 §10.2.3) and which limit it names (the ratelimit-* headers
// Docker Hub and GHCR send), so that the client waits that long, once, instead of backing off blindly.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "registry/transport.hpp"

namespace mai {

// The wait a Retry-After value asks for at `now`: delay-seconds, or an IMF-fixdate
// ("Sun, 06 Nov 1994 08:49:37 GMT"; a date already past is no wait). nullopt when it is neither.
std::optional<std::chrono::seconds> retry_after(std::string_view value, std::chrono::system_clock::time_point now);

struct RateLimited {
  std::chrono::seconds wait{0};  // what Retry-After asks
  std::string limit;             // the limit as the registry named it, for messages; never empty
};
// What a 429 answer asks; nullopt for another status or a 429 without a readable Retry-After.
std::optional<RateLimited> rate_limited(const HttpResponse& response, std::chrono::system_clock::time_point now);

}  // namespace mai
