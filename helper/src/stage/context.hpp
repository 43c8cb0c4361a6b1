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
  bool excluded(std::string_view relative_path) const;                 // '/'-separated, no leading '/'
  bool has_exceptions() const { return has_exceptions_; }

 private:
  struct Rule {
    std::vector<std::string> segments;
    bool exception = false;
  };
  std::vector<Rule> rules_;
  bool has_exceptions_ = false;
};

// The ignore file a BuildKit build of `dockerfile` reads: `<dockerfile>.dockerignore` when there is
// one beside it, else `<context>/.dockerignore`.
std::filesystem::path ignore_file_for(const std::filesystem::path& context, const std::filesystem::path& dockerfile);

// Every file and directory of the context that is sent to the engine, plus the Dockerfile and
// the ignore file. Directories are listed so that adding or removing a file also counts as a change.
std::vector<std::filesystem::path> context_inputs(const std::filesystem::path& context, const std::filesystem::path& dockerfile,
                                                  const std::vector<std::filesystem::path>& exclude);

// Writes `depfile`: `target` depends on `inputs`, in the depfile syntax Ninja and Make (through
// CMake's transform) both read. An input whose name that syntax cannot carry (':' '#' '$' a tab, a
// newline, ...) is named through a symlink in `<depfile>.inputs/` (created here, stale ones removed);
// symlinks among the inputs are left out (their directory stands for them).
void write_depfile(const std::filesystem::path& depfile, const std::filesystem::path& target,
                   const std::vector<std::filesystem::path>& inputs);

}  // namespace mai
