#include "registry/rate_limit.hpp"

#include <ctime>
#include <iomanip>
#include <locale>
#include <sstream>

#include "base/text.hpp"
#include "registry/errors.hpp"

namespace mai {

std::optional<std::chrono::seconds> retry_after(std::string_view value, std::chrono::system_clock::time_point now) {
  const auto text = trim(std::string(value));
  if (text.empty()) return std::nullopt;
  if (text.size() <= 9 && text.find_first_not_of("0123456789") == std::string::npos)
    return std::chrono::seconds(std::stoll(text));
  std::tm tm{};
  std::istringstream in(text);
  in.imbue(std::locale::classic());
  in >> std::get_time(&tm, "%a, %d %b %Y %H:%M:%S");
  std::string zone;
  in >> zone;
  if (in.fail() || zone != "GMT") return std::nullopt;
  // In whole seconds of time_t: a date in the year 99999 overflows a clock of nanoseconds, not this.
  const std::time_t at = timegm(&tm);
  const std::time_t from = std::chrono::system_clock::to_time_t(now);
  if (at <= from) return std::chrono::seconds(0);
  // `from` is `now` rounded down, so this is the wait rounded up: one that ended before the date would
  // be answered 429 again.
  return std::chrono::seconds(at - from);
}

std::optional<RateLimited> rate_limited(const HttpResponse& response, std::chrono::system_clock::time_point now) {
  if (response.status != 429) return std::nullopt;
  const auto wait = retry_after(response.header("retry-after"), now);
  if (!wait) return std::nullopt;
  RateLimited out{*wait, ""};
  // Docker Hub: ratelimit-limit "100;w=21600" and ratelimit-remaining; GitHub's APIs x-ratelimit-*.
  for (const auto& [name, value] : response.headers)
    if (name.starts_with("ratelimit-") || name.starts_with("x-ratelimit-") || name == "docker-ratelimit-source")
      out.limit += (out.limit.empty() ? "" : ", ") + name + ": " + value;
  const auto errors = registry_errors(response);
  out.limit = errors + (out.limit.empty() ? "" : "; " + out.limit);
  return out;
}

}  // namespace mai
