#include "stage/context.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <sstream>

#include "base/digest.hpp"
#include "base/files.hpp"

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
  if (pat[i] == "**") {
    // A trailing `**` matches what lies below a directory, not the directory itself (`a/**` keeps `a`).
    if (i + 1 == pat.size()) return j < path.size();
    return match(pat, i + 1, path, j) || (j < path.size() && match(pat, i, path, j + 1));
  }
  if (j == path.size()) return false;
  return ::fnmatch(pat[i].c_str(), path[j].c_str(), 0) == 0 && match(pat, i + 1, path, j + 1);
}

bool within(const fs::path& p, const fs::path& dir) {
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

fs::path ignore_file_for(const fs::path& context, const fs::path& dockerfile) {
  std::error_code ec;
  if (fs::path specific = dockerfile.string() + ".dockerignore"; fs::is_regular_file(specific, ec)) return specific;
  return context / ".dockerignore";
}

std::vector<fs::path> context_inputs(const fs::path& context, const fs::path& dockerfile, const std::vector<fs::path>& exclude) {
  const auto ignore_file = ignore_file_for(context, dockerfile);
  const auto rules = IgnoreRules::load(ignore_file);
  std::vector<fs::path> inputs{dockerfile, context};
  if (fs::exists(ignore_file)) inputs.push_back(ignore_file);

  std::error_code ec;
  fs::recursive_directory_iterator it(context, fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const auto& entry = *it;
    const auto& p = entry.path();
    const bool is_dir = entry.is_directory(ec) && !entry.is_symlink(ec);
    if (std::any_of(exclude.begin(), exclude.end(), [&](const fs::path& x) { return within(p, x); })) {
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

namespace {

// The characters a path may hold to be written into a depfile as it is, read back the same by Ninja
// (1.11) and by CMake's depfile transform for Makefiles (tried one by one): others, like ':' '#' '$'
// '*' '|' ';' '(' ')' quotes and backslashes, are misread by one of them.
bool depfile_safe(const std::string& path) {
  return std::all_of(path.begin(), path.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return std::isalnum(c) || c >= 0x80 || std::string_view("+,-._/=@~ ").find(ch) != std::string_view::npos;
  });
}

std::string escape_for_depfile(const std::string& path) {
  std::string out;
  for (char c : path) {
    if (c == ' ') out += '\\';  // the only character of the safe set that needs it
    out += c;
  }
  return out;
}

}  // namespace

void write_depfile(const fs::path& depfile, const fs::path& target, const std::vector<fs::path>& inputs) {
  const fs::path stand_ins = depfile.string() + ".inputs";
  std::set<std::string> wanted;
  std::string out = escape_for_depfile(target.string()) + ":";
  std::size_t listed_count = 0;
  for (const auto& p : inputs) {
    std::error_code ec;
    // A symlink is sent as a link: its target's content is not an input, and a change of the link
    // itself changes its directory, which is listed.
    if (fs::is_symlink(fs::symlink_status(p, ec))) continue;
    auto listed = p.string();
    if (!depfile_safe(listed)) {
      // Named through a link whose name is safe: Ninja and Make stat through it, so the time they
      // see is the input's own, and a removed input is a missing one.
      const auto name = sha256_digest(listed).substr(7, 32);
      const auto link = stand_ins / name;
      if (!wanted.count(name)) {
        fs::create_directories(stand_ins);
        if (!(fs::is_symlink(fs::symlink_status(link, ec)) && fs::read_symlink(link, ec) == p)) {
          fs::remove(link, ec);
          fs::create_symlink(p, link);
        }
        wanted.insert(name);
      }
      listed = link.string();
    }
    out += " \\\n  " + escape_for_depfile(listed);
    ++listed_count;
  }
  // Ninja reads a depfile that names nothing (CMake's transformed copy of it is empty) as a missing
  // one, and reruns the step every time: it names itself then, written before the step's output.
  if (listed_count == 0 && depfile_safe(depfile.string())) out += " \\\n  " + escape_for_depfile(depfile.string());
  std::error_code ec;
  if (fs::is_directory(stand_ins, ec)) {
    for (const auto& entry : fs::directory_iterator(stand_ins, ec))
      if (!wanted.count(entry.path().filename().string())) fs::remove(entry.path(), ec);
    if (wanted.empty()) fs::remove(stand_ins, ec);
  }
  write_file_atomically(depfile, out + "\n");
}

}  // namespace mai
