// Tags derived from git at build time (GIT_TAGS), in the spirit of docker/metadata-action:
// sha-<short> always (-dirty for a modified tree); X.Y.Z, X.Y and X when a clean HEAD is exactly at
// tag vX.Y.Z; latest there too when asked (GIT_LATEST).
#include "model/git_tags.hpp"

#include <regex>

#include "base/error.hpp"
#include "base/text.hpp"

namespace mai {

std::vector<std::string> derive_git_tags(const std::string& short_sha, bool dirty, const std::string& exact_tag, bool latest) {
  std::vector<std::string> tags{"sha-" + short_sha + (dirty ? "-dirty" : "")};
  static const std::regex version(R"(^v(\d+)\.(\d+)\.(\d+)$)");
  std::smatch m;
  if (!dirty && std::regex_match(exact_tag, m, version)) {
    tags.push_back(std::string(m[1]) + "." + std::string(m[2]) + "." + std::string(m[3]));
    tags.push_back(std::string(m[1]) + "." + std::string(m[2]));
    tags.push_back(m[1]);
    if (latest) tags.push_back("latest");
  }
  return tags;
}

void resolve_git_tags(Spec& spec, Runner& runner, const Log& log) {
  if (!spec.git.enabled) return;
  auto git = [&](std::vector<std::string> args, bool required) {
    Command c{{spec.git.executable, "-C", spec.git.dir.string()}};
    c.argv.insert(c.argv.end(), args.begin(), args.end());
    const auto r = runner.run(c, Output::capture, log);
    if (required && !r.ok())
      throw Error(Exit::step_failed,
                  "GIT_TAGS: " + describe(c) + " failed (exit " + std::to_string(r.exit_code) + "): " + r.tail);
    return r.ok() ? trim(r.out) : std::string();
  };
  const auto sha = git({"rev-parse", "--short=7", "HEAD"}, true);
  const bool dirty = !git({"status", "--porcelain", "--untracked-files=no"}, true).empty();
  const auto exact = git({"describe", "--tags", "--exact-match", "--match", "v[0-9]*", "HEAD"}, false);
  for (auto& tag : derive_git_tags(sha, dirty, exact, spec.git.latest)) {
    validate_tag(tag);
    if (std::find(spec.tags.begin(), spec.tags.end(), tag) == spec.tags.end()) spec.tags.push_back(tag);
  }
}

}  // namespace mai
