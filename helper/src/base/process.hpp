// The Runner that starts real processes (Boost.Process), each in a process group of its own so that
// an interrupt or a timeout stops the engine and everything it started.
#pragma once

#include "base/retry.hpp"
#include "base/runner.hpp"

namespace mai {

// Registry commands (Command::registry) are retried under `policy` unless their output shows a
// permanent failure, and each attempt is bounded by its timeout. A missing executable is
// Error(engine_missing); an interrupt is Error(interrupted).
class ProcessRunner final : public Runner {
 public:
  explicit ProcessRunner(RetryPolicy policy = {}) : policy_(policy) {}
  Result run(const Command& command, Output mode, const Log& log) override;

 private:
  Result run_once(const Command& command, Output mode, const Log& log);
  RetryPolicy policy_;
};

}  // namespace mai
