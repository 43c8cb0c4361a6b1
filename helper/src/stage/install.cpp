#include "stage/install.hpp"

#include <cctype>
#include <regex>
#include <set>

#include "base/files.hpp"

namespace fs = std::filesystem;

namespace mai {

namespace {

struct Argument {
  bool quoted = false;  // "..." or [[...]]: never a keyword
  std::string text;
};

struct Call {
  std::string name;  // lower case
  std::vector<Argument> arguments;
};

// The commands of a CMake script in order, as far as CMake's own grammar goes: comments (# and
// #[[...]]), quoted arguments with their escapes, bracket arguments, unquoted ones, nested
// parentheses. The scripts are CMake's, but install(CODE) copies the project's text into them.
class Scanner {
 public:
  explicit Scanner(const std::string& text) : t_(text) {}

  std::vector<Call> calls() {
    std::vector<Call> out;
    while (i_ < t_.size()) {
      const char c = t_[i_];
      if (c == '#') {
        skip_comment();
      } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        auto j = i_;
        while (j < t_.size() && (std::isalnum(static_cast<unsigned char>(t_[j])) || t_[j] == '_')) ++j;
        Call call;
        for (auto k = i_; k < j; ++k) call.name += static_cast<char>(std::tolower(static_cast<unsigned char>(t_[k])));
        while (j < t_.size() && (t_[j] == ' ' || t_[j] == '\t')) ++j;
        i_ = j;
        if (j < t_.size() && t_[j] == '(') {
          ++i_;
          call.arguments = arguments();
          out.push_back(std::move(call));
        }
      } else {
        ++i_;  // white space, or what starts no command
      }
    }
    return out;
  }

 private:
  // The number of '=' of a bracket opening at `at` ("[==["), or -1 when there is none there.
  int bracket_at(std::size_t at) const {
    if (at >= t_.size() || t_[at] != '[') return -1;
    auto j = at + 1;
    while (j < t_.size() && t_[j] == '=') ++j;
    return j < t_.size() && t_[j] == '[' ? static_cast<int>(j - at - 1) : -1;
  }
  // The bracket's content; i_ moves past its end.
  std::string bracket(int level) {
    const auto open = i_ + static_cast<std::size_t>(level) + 2;
    const auto close = "]" + std::string(static_cast<std::size_t>(level), '=') + "]";
    const auto end = t_.find(close, open);
    if (end == std::string::npos) {
      i_ = t_.size();
      return t_.substr(std::min(open, t_.size()));
    }
    i_ = end + close.size();
    return t_.substr(open, end - open);
  }
  void skip_comment() {
    if (const int level = bracket_at(i_ + 1); level >= 0) {
      ++i_;
      bracket(level);
      return;
    }
    const auto end = t_.find('\n', i_);
    i_ = end == std::string::npos ? t_.size() : end + 1;
  }
  std::vector<Argument> arguments() {
    std::vector<Argument> out;
    int depth = 0;
    while (i_ < t_.size()) {
      const char c = t_[i_];
      if (std::isspace(static_cast<unsigned char>(c))) {
        ++i_;
      } else if (c == '#') {
        skip_comment();
      } else if (c == '(') {
        ++depth;
        out.push_back({false, "("});
        ++i_;
      } else if (c == ')') {
        ++i_;
        if (depth-- == 0) return out;
        out.push_back({false, ")"});
      } else if (c == '"') {
        std::string text;
        auto j = i_ + 1;
        while (j < t_.size() && t_[j] != '"') {
          if (t_[j] == '\\' && j + 1 < t_.size()) {
            ++j;
            if (t_[j] == 'n') {
              text += '\n';
            } else if (t_[j] == 't') {
              text += '\t';
            } else if (t_[j] != '\n') {  // a backslash before a newline continues the line
              text += t_[j];
            }
          } else {
            text += t_[j];
          }
          ++j;
        }
        out.push_back({true, std::move(text)});
        i_ = std::min(j + 1, t_.size());
      } else if (const int level = bracket_at(i_); level >= 0) {
        out.push_back({true, bracket(level)});
      } else {
        std::string text;
        while (i_ < t_.size() && !std::isspace(static_cast<unsigned char>(t_[i_])) &&
               std::string_view("()\"#").find(t_[i_]) == std::string_view::npos) {
          if (t_[i_] == '\\' && i_ + 1 < t_.size()) ++i_;
          text += t_[i_++];
        }
        out.push_back({false, std::move(text)});
      }
    }
    return out;
  }

  const std::string& t_;
  std::size_t i_ = 0;
};

enum class Truth { no, yes, maybe };

bool word(const Argument& a, std::string_view w) { return !a.quoted && a.text == w; }

// The conditions CMake writes around install rules, for the run `cmake --install --component
// <component>` (empty: none) makes in `config` (empty: unknown); any other condition is `maybe`.
Truth evaluate(const std::vector<Argument>& c, const std::string& component, const std::string& config) {
  if (c.size() >= 3 && word(c[0], "CMAKE_INSTALL_COMPONENT") && word(c[1], "STREQUAL")) {
    const bool named = component == c[2].text;
    if (c.size() == 3) return named ? Truth::yes : Truth::no;
    if (c.size() == 6 && word(c[3], "OR") && word(c[4], "NOT") && word(c[5], "CMAKE_INSTALL_COMPONENT"))
      return named || component.empty() ? Truth::yes : Truth::no;
  }
  if (c.size() == 3 && word(c[0], "CMAKE_INSTALL_CONFIG_NAME") && word(c[1], "MATCHES") && !config.empty()) {
    try {
      return std::regex_search(config, std::regex(c[2].text, std::regex::extended)) ? Truth::yes : Truth::no;
    } catch (const std::regex_error&) {
      return Truth::maybe;
    }
  }
  return Truth::maybe;
}

class Collector {
 public:
  Collector(std::string component, std::string config, InstallRules& out, std::set<fs::path>& listed)
      : component_(std::move(component)), config_(std::move(config)), out_(out), listed_(listed) {}

  void script(const fs::path& path) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec) || !visited_.insert(path).second) return;
    list(path);
    const auto text = read_text_file(path);
    const auto calls = Scanner(text).calls();
    if (config_.empty()) config_ = default_config(calls);
    // The if/elseif/else chain each call sits in: whether a branch may run, whether one surely did.
    struct Frame {
      bool parent, taken, active;
    };
    std::vector<Frame> frames;
    const auto active = [&] { return frames.empty() || frames.back().active; };
    for (const auto& call : calls) {
      if (call.name == "if") {
        const auto t = evaluate(call.arguments, component_, config_);
        frames.push_back({active(), t == Truth::yes, active() && t != Truth::no});
      } else if (call.name == "elseif" && !frames.empty()) {
        auto& f = frames.back();
        const auto t = evaluate(call.arguments, component_, config_);
        f.active = f.parent && !f.taken && t != Truth::no;
        f.taken = f.taken || t == Truth::yes;
      } else if (call.name == "else" && !frames.empty()) {
        auto& f = frames.back();
        f.active = f.parent && !f.taken;
        f.taken = true;
      } else if (call.name == "endif" && !frames.empty()) {
        frames.pop_back();
      } else if (active() && call.name == "include") {
        include(call.arguments);
      } else if (active() && call.name == "file" && !call.arguments.empty() && word(call.arguments[0], "INSTALL")) {
        install(call.arguments, path);
      }
    }
  }

 private:
  // What `cmake --install` without --config installs: the configuration the top script names.
  static std::string default_config(const std::vector<Call>& calls) {
    for (const auto& call : calls)
      if (call.name == "set" && call.arguments.size() == 2 && word(call.arguments[0], "CMAKE_INSTALL_CONFIG_NAME"))
        return call.arguments[1].text;
    return {};
  }
  void list(const fs::path& p) {
    if (listed_.insert(p).second) out_.sources.push_back(p);
  }
  void include(const std::vector<Argument>& args) {
    if (args.empty() || !args[0].quoted || args[0].text.find("${") != std::string::npos) return;
    const fs::path file(args[0].text);
    if (!file.is_absolute()) return;
    if (file.filename() == "cmake_install.cmake")
      script(file);
    else if (std::error_code ec; fs::is_regular_file(file, ec))
      list(file);  // install(SCRIPT): an edit of it restages
  }
  void install(const std::vector<Argument>& args, const fs::path& script) {
    bool files = false;
    for (std::size_t i = 1; i < args.size(); ++i) {
      const auto& arg = args[i];
      if (!arg.quoted) {
        files = arg.text == "FILES";
        if (arg.text == "DESTINATION" && i + 1 < args.size()) out_.destinations.push_back({args[i + 1].text, script});
        continue;
      }
      if (!files || arg.text.find("${") != std::string::npos || !fs::path(arg.text).is_absolute()) continue;
      list(arg.text);
      std::error_code ec;
      if (fs::is_directory(fs::symlink_status(arg.text, ec)))
        for (auto it = fs::recursive_directory_iterator(arg.text, ec); !ec && it != fs::recursive_directory_iterator();
             it.increment(ec))
          list(it->path());
    }
  }

  std::string component_, config_;
  InstallRules& out_;
  std::set<fs::path>& listed_;
  std::set<fs::path> visited_;
};

}  // namespace

InstallRules read_install_rules(const fs::path& tree, const std::vector<std::string>& components, const std::string& config) {
  InstallRules out;
  std::set<fs::path> listed;
  std::vector<std::string> runs = components;
  if (runs.empty()) runs.emplace_back();  // the default run: every component not excluded from it
  for (const auto& component : runs) Collector(component, config, out, listed).script(tree / "cmake_install.cmake");
  return out;
}

std::optional<std::string> destination_leaving_the_root(const std::string& destination, const std::string& prefix) {
  auto path = destination;
  for (std::size_t at; (at = path.find("${CMAKE_INSTALL_PREFIX}")) != std::string::npos;) path.replace(at, 23, prefix);
  if (path.find('$') != std::string::npos || !path.starts_with('/')) return std::nullopt;  // cannot tell
  int depth = 0;
  for (const auto& part : fs::path(path).relative_path()) {
    if (part == "..") {
      if (--depth < 0) return destination;
    } else if (!part.empty() && part != ".") {
      ++depth;
    }
  }
  return std::nullopt;
}

}  // namespace mai
