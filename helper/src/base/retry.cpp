#include "base/retry.hpp"

#include <algorithm>
#include <cctype>
#include <regex>
#include <thread>

#include "base/interrupt.hpp"

namespace mai {

bool Backoff::wait_before_next(const Announce& announce) {
  if (attempt_ >= tries()) return false;
  if (announce) announce(attempt_ + 1, tries(), delay_);
  pause(delay_);
  delay_ = std::min<std::chrono::milliseconds>(delay_ * 2, std::chrono::seconds(30));
  ++attempt_;
  return true;
}

void pause(std::chrono::milliseconds delay) {
  const auto until = std::chrono::steady_clock::now() + delay;
  for (auto now = std::chrono::steady_clock::now(); now < until; now = std::chrono::steady_clock::now()) {
    throw_if_interrupted();
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(std::chrono::milliseconds(50), until - now));
  }
  throw_if_interrupted();
}

bool permanent_failure(std::string_view output) {
  static const std::regex permanent(
      R"(unauthorized|authentication required|no basic auth credentials|access (to the resource is )?denied|)"
      R"(forbidden|\b40[134]\b|manifest unknown|name unknown|not found|no such host|x509:|certificate)",
      std::regex::icase);
  return std::regex_search(output.begin(), output.end(), permanent) || immutable_tag_refusal(output) ||
         registry_limit(output) != RegistryLimit::none;
}

RegistryLimit registry_limit(std::string_view said) {
  static const std::regex method_refused(R"(\b405\b|method not allowed)", std::regex::icase);
  static const std::regex no_chunks(R"((^|\n)unsupported: [^\n]*chunk|uploading layer chunked: [^\n]*unsupported)",
                                    std::regex::icase);
  if (std::regex_search(said.begin(), said.end(), method_refused)) return RegistryLimit::method_refused;
  if (std::regex_search(said.begin(), said.end(), no_chunks)) return RegistryLimit::no_chunked_uploads;
  if (said.find("invalid checksum digest format") != std::string_view::npos) return RegistryLimit::no_digest_header;
  return RegistryLimit::none;
}

std::string without_names(std::string_view output, std::vector<std::string> names) {
  std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  // Whole names only: a tag `1` is not the 1 of "401".
  const auto name_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-'; };
  std::string said(output);
  const std::string stand_in = "<name>";  // (which may hold a name: searched on after it)
  for (const auto& name : names) {
    if (name.empty()) continue;
    for (auto at = said.find(name); at != std::string::npos;) {
      const auto end = at + name.size();
      if ((at > 0 && name_char(said[at - 1])) || (end < said.size() && name_char(said[end]))) {
        at = said.find(name, at + 1);
        continue;
      }
      said.replace(at, name.size(), stand_in);
      at = said.find(name, at + stand_in.size());
    }
  }
  return said;
}

bool rate_limit_refusal(std::string_view output) {
  static const std::regex limited(R"(\b429\b|toomanyrequests|too many requests)", std::regex::icase);
  return std::regex_search(output.begin(), output.end(), limited);
}

bool immutable_tag_refusal(std::string_view said) {
  static const std::regex refusal(R"(cannot be overwritten|is immutable|configured as immutable|immutable tag|tag immutability|)"
                                  R"(imagetagalreadyexists|protected tag)",
                                  std::regex::icase);
  return std::regex_search(said.begin(), said.end(), refusal);
}

bool transient(int http_status) { return http_status >= 500 || http_status == 429; }

}  // namespace mai
