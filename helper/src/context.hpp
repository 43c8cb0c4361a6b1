// The build context as the engine sees it (.dockerignore applied), listed as a depfile so that
// editing one context file re-runs exactly the builds that send it.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace mai {

// .dockerignore rules with moby's semantics: a rule matches a path or any of its parent directories,
// `**` spans directories, `!` re-includes, and the last matching rule wins.
class IgnoreRules {
 public:
  static IgnoreRules parse(std::string_view text);
  static IgnoreRules load(const std::filesystem::path& dockerignore);  // no file: no rules
  bool excluded(std::string_view relative_path) const;                  // '/'-separated, no leading '/'
  bool has_exceptions() const { return has_exceptions_; }

 private:
  struct Rule {
    std::vector<std::string> segments;
    bool exception = false;
  };
  std::vector<Rule> rules_;
  bool has_exceptions_ = false;
};

// Every file and directory of the context that is sent to the engine, plus the Dockerfile and
// .dockerignore. Directories are listed so that adding or removing a file also counts as a change.
std::vector<std::filesystem::path> context_inputs(const std::filesystem::path& context,
                                                  const std::filesystem::path& dockerfile,
                                                  const std::vector<std::filesystem::path>& exclude);

// Make/Ninja depfile syntax; paths that cannot be expressed there (newlines) are skipped.
std::string render_depfile(const std::filesystem::path& target, const std::vector<std::filesystem::path>& inputs);

}  // namespace mai
