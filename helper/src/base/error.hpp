// Exit codes of the helper and the one exception type that carries them to main().
#pragma once

#include <stdexcept>
#include <string>

namespace mai {

// Documented in docs/reference.md; keep the two in step.
enum class Exit : int {
  ok = 0,
  step_failed = 1,     // the engine or the registry reported a failure
  usage = 2,           // bad command line
  invalid_input = 3,   // spec, record or argument that does not validate
  verify_failed = 4,   // the registry does not hold what was published
  engine_missing = 5,  // no engine answered, or the named one is not installed
  interrupted = 130,   // SIGINT/SIGTERM stopped the step
};

class Error : public std::runtime_error {
 public:
  Error(Exit code, const std::string& message) : std::runtime_error(message), code_(code) {}
  Exit code() const noexcept { return code_; }

 private:
  Exit code_;
};

}  // namespace mai
