#include "registry/challenge.hpp"

#include <cctype>

#include "base/text.hpp"

namespace mai {

namespace {

bool token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

}  // namespace

std::vector<Challenge> parse_challenges(std::string_view h) {
  std::vector<Challenge> out;
  std::size_t i = 0;
  auto skip = [&](std::string_view chars) {
    while (i < h.size() && chars.find(h[i]) != std::string_view::npos) ++i;
  };
  auto token = [&] {
    const auto start = i;
    while (i < h.size() && token_char(h[i])) ++i;
    return std::string(h.substr(start, i - start));
  };
  while (i < h.size()) {
    skip(" \t,");
    auto scheme = token();
    if (scheme.empty()) break;
    Challenge c{lowercase(scheme), {}};
    while (i < h.size()) {
      skip(" \t");
      const auto mark = i;
      auto name = token();
      skip(" \t");
      if (name.empty() || i >= h.size() || h[i] != '=') {  // the next challenge's scheme, or a token68
        i = mark;
        if (name.empty()) ++i;
        break;
      }
      ++i;  // '='
      skip(" \t");
      std::string value;
      if (i < h.size() && h[i] == '"') {
        for (++i; i < h.size() && h[i] != '"'; ++i) {
          if (h[i] == '\\' && i + 1 < h.size()) ++i;
          value += h[i];
        }
        ++i;    // closing quote
      } else {  // a token; realms are sometimes sent unquoted, so read up to the next separator
        const auto start = i;
        while (i < h.size() && h[i] != ',' && h[i] != ' ' && h[i] != '\t') ++i;
        value = std::string(h.substr(start, i - start));
      }
      c.params[lowercase(name)] = value;
      skip(" \t");
      if (i < h.size() && h[i] == ',') ++i;
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace mai
