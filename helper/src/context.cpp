#include "context.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <sstream>

#include "json_file.hpp"

namespace mai {
namespace fs = std::filesystem;
namespace {

std::vector<std::string> split_path(std::string_view p) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= p.size()) {
    const auto slash = p.find('/', start);
    const auto part = p.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (part == "..") {
      if (!out.empty()) out.pop_back();
    } else if (!part.empty() && part != ".") {
      out.emplace_back(part);
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

// Does the pattern match the path, or a parent directory of it?
bool match(const std::vector<std::string>& pat, std::size_t i, const std::vector<std::string>& path, std::size_t j) {
  if (i == pat.size()) return true;  // what is left of the path lies below a matched directory
  if (pat[i] == "**") return match(pat, i + 1, path, j) || (j < path.size() && match(pat, i, path, j + 1));
  if (j == path.size()) return false;
  return ::fnmatch(pat[i].c_str(), path[j].c_str(), 0) == 0 && match(pat, i + 1, path, j + 1);
}

bool under(const fs::path& p, const fs::path& dir) {
  auto [d, pi] = std::mismatch(dir.begin(), dir.end(), p.begin(), p.end());
  return d == dir.end();
}

}  // namespace

IgnoreRules IgnoreRules::parse(std::string_view text) {
  IgnoreRules rules;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.starts_with('#')) continue;
    const auto b = line.find_first_not_of(" \t");
    if (b == std::string::npos) continue;
    line = line.substr(b, line.find_last_not_of(" \t") - b + 1);
    Rule r;
    if (line.starts_with('!')) {
      r.exception = true;
      line.erase(0, 1);
      rules.has_exceptions_ = true;
    }
    r.segments = split_path(line);
    if (!r.segments.empty()) rules.rules_.push_back(std::move(r));
  }
  return rules;
}

IgnoreRules IgnoreRules::load(const fs::path& dockerignore) {
  std::error_code ec;
  if (!fs::exists(dockerignore, ec)) return {};
  return parse(read_text_file(dockerignore));
}

bool IgnoreRules::excluded(std::string_view relative_path) const {
  const auto path = split_path(relative_path);
  bool out = false;
  for (const auto& r : rules_)
    if (match(r.segments, 0, path, 0)) out = !r.exception;
  return out;
}

std::vector<fs::path> context_inputs(const fs::path& context, const fs::path& dockerfile,
                                     const std::vector<fs::path>& exclude) {
  const auto ignore_file = context / ".dockerignore";
  const auto rules = IgnoreRules::load(ignore_file);
  std::vector<fs::path> inputs{dockerfile, context};
  if (fs::exists(ignore_file)) inputs.push_back(ignore_file);

  std::error_code ec;
  fs::recursive_directory_iterator it(context, fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const auto& entry = *it;
    const auto& p = entry.path();
    const bool is_dir = entry.is_directory(ec) && !entry.is_symlink(ec);
    if (std::any_of(exclude.begin(), exclude.end(), [&](const fs::path& x) { return under(p, x); })) {
      if (is_dir) it.disable_recursion_pending();
      continue;
    }
    if (p == dockerfile || p == ignore_file) continue;  // listed above, whatever the rules say
    if (rules.excluded(p.lexically_relative(context).generic_string())) {
      // An excluded directory can still hold a re-included file when there are `!` rules.
      if (is_dir && !rules.has_exceptions()) it.disable_recursion_pending();
      continue;
    }
    inputs.push_back(p);
  }
  return inputs;
}

std::string render_depfile(const fs::path& target, const std::vector<fs::path>& inputs) {
  auto escape = [](const std::string& s) {
    std::string out;
    for (char c : s) {
      if (c == ' ' || c == '#') out += '\\';
      if (c == '$') out += '$';
      out += c;
    }
    return out;
  };
  std::string out = escape(target.string()) + ":";
  for (const auto& p : inputs) {
    const auto s = p.string();
    if (s.find_first_of("\n\r") != std::string::npos) continue;
    out += " \\\n  " + escape(s);
  }
  return out + "\n";
}

}  // namespace mai
