#include "stage/install.hpp"

#include <cctype>
#include <set>

#include "base/files.hpp"

namespace fs = std::filesystem;

namespace mai {

namespace {

// A CMake quoted argument's text: \" \\ \$ and the like unescaped.
std::string unquote_cmake(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) ++i;
    out += text[i];
  }
  return out;
}

void collect_install_sources(const fs::path& script, std::vector<fs::path>& out, std::set<fs::path>& seen) {
  if (!seen.insert(script).second) return;
  std::error_code ec;
  if (!fs::is_regular_file(script, ec)) return;
  out.push_back(script);
  const auto text = read_text_file(script);
  // The quoted arguments of each call of interest, in order; a call ends at the first ')' outside quotes.
  const auto arguments = [&](std::size_t from, std::size_t& end) {
    std::vector<std::pair<bool, std::string>> args;  // quoted?, text
    std::size_t i = from;
    while (i < text.size() && text[i] != ')') {
      if (std::isspace(static_cast<unsigned char>(text[i]))) {
        ++i;
      } else if (text[i] == '"') {
        std::size_t j = i + 1;
        while (j < text.size() && text[j] != '"') j += text[j] == '\\' ? 2 : 1;
        args.emplace_back(true, unquote_cmake(std::string_view(text).substr(i + 1, j - i - 1)));
        i = j + 1;
      } else {
        std::size_t j = i;
        while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j])) && text[j] != ')' && text[j] != '"') ++j;
        args.emplace_back(false, text.substr(i, j - i));
        i = j;
      }
    }
    end = i;
    return args;
  };
  for (std::size_t at = 0; (at = text.find("include(", at)) != std::string::npos;) {
    std::size_t end = 0;
    const auto args = arguments(at + 8, end);
    if (!args.empty() && args.front().first && args.front().second.ends_with("cmake_install.cmake"))
      collect_install_sources(args.front().second, out, seen);
    at = end;
  }
  for (std::size_t at = 0; (at = text.find("file(INSTALL ", at)) != std::string::npos;) {
    std::size_t end = 0;
    const auto args = arguments(at + 5, end);
    bool files = false;
    for (const auto& [quoted, arg] : args) {
      if (!quoted) {
        files = arg == "FILES";
        continue;
      }
      if (!files || arg.find("${") != std::string::npos || !fs::path(arg).is_absolute()) continue;
      out.emplace_back(arg);
      if (fs::is_directory(fs::symlink_status(arg, ec)))
        for (auto it = fs::recursive_directory_iterator(arg, ec); !ec && it != fs::recursive_directory_iterator();
             it.increment(ec))
          out.push_back(it->path());
    }
    at = end;
  }
}

}  // namespace

std::vector<fs::path> install_sources(const fs::path& tree) {
  std::vector<fs::path> out;
  std::set<fs::path> seen;
  collect_install_sources(tree / "cmake_install.cmake", out, seen);
  return out;
}

}  // namespace mai
