// Which engine a step talks to: one by name (a record says which engine built an image), or the
// spec's ENGINE, where "auto" asks docker, then podman, whether it answers. Above the engines: the
// interface knows none of its implementations.
#pragma once

#include <memory>
#include <string>

#include "base/log.hpp"
#include "base/runner.hpp"
#include "engine/engine.hpp"
#include "model/spec.hpp"

namespace mai {

// The engine called `name` (docker or podman), talking to `builder` (empty: its default), printing
// through `log`. No command is run.
std::unique_ptr<Engine> make_engine(const std::string& name, const Spec& spec, Runner& runner, const Log& log,
                                    const std::string& builder);

// The spec's engine for a platform's builder; for "auto", the first of docker and podman that answers.
std::unique_ptr<Engine> resolve_engine(const Spec& spec, Runner& runner, const Log& log, const std::string& builder);

}  // namespace mai
