// GIT_TAGS: tags computed from the source tree's git state when a step runs, not at configure time.
#pragma once

#include <string>
#include <vector>

#include "base/log.hpp"
#include "base/runner.hpp"
#include "model/spec.hpp"

namespace mai {

// The tags for a commit: sha-<short>[-dirty]; and X.Y.Z, X.Y, X (and latest) for a clean vX.Y.Z.
std::vector<std::string> derive_git_tags(const std::string& short_sha, bool dirty, const std::string& exact_tag, bool latest);

// Appends the git-derived tags to spec.tags when the spec asks for them (runs git).
void resolve_git_tags(Spec& spec, Runner& runner, const Log& log);

}  // namespace mai
