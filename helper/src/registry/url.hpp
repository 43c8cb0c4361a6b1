// Absolute http(s) URLs as the registry client meets them: a registry's base URL, a Bearer realm, an
// upload's Location (relative or absolute) resolved against the URL it answered.
#pragma once

#include <string>
#include <string_view>

namespace mai {

struct Url {
  std::string scheme;  // http or https
  std::string host;    // without brackets for IPv6
  std::string port;    // always set: 80/443 when the text had none
  std::string target;  // path and query, "/" at least

  // Parses an absolute http(s) URL (port 1 to 65535); throws Error(invalid_input) naming `what` otherwise.
  static Url parse(std::string_view text, std::string_view what);
  // `location` (an absolute URL or any relative reference) resolved against this URL as RFC 3986
  // section 5 says; the fragment is dropped.
  Url resolve(std::string_view location) const;
  std::string authority() const;  // host[:port], IPv6 in brackets, port omitted when it is the scheme's default
  std::string origin() const;     // scheme://authority
  std::string str() const { return origin() + target; }
};

}  // namespace mai
