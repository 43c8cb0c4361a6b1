// The WWW-Authenticate grammar (RFC 7235): the challenges a registry answers 401 with.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace mai {

// One authentication challenge from a WWW-Authenticate header.
struct Challenge {
  std::string scheme;                         // lower-case: basic, bearer
  std::map<std::string, std::string> params;  // lower-case names: realm, service, scope, ...
};
// Every challenge of a header value (RFC 7235: several may share one header). Malformed text yields
// what could be read before it.
std::vector<Challenge> parse_challenges(std::string_view header);

}  // namespace mai
