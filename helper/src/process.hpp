// Running child processes: always an argv vector, never a shell. The Runner interface lets unit tests
// check every command line an engine builds without starting anything.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace mai {

struct Command {
  std::vector<std::string> argv;                            // argv[0]: a name looked up on PATH, or a path
  std::vector<std::pair<std::string, std::string>> env;     // added to the inherited environment
  std::string input;                                        // written to stdin, then closed (secrets go here)
};

enum class Output {
  stream,   // stdout and stderr merged, each line printed with the runner's prefix as it arrives
  capture,  // stdout returned in Result::out; stderr kept for the error message only
};

struct Result {
  int exit_code = 0;
  std::string out;   // captured stdout (Output::capture)
  std::string tail;  // the last lines the child printed, for error messages
  bool ok() const { return exit_code == 0; }
};

class Runner {
 public:
  virtual ~Runner() = default;
  virtual Result run(const Command& command, Output mode) = 0;
};

// Runs real processes through Boost.Process. A missing executable is Error(engine_missing).
class ProcessRunner final : public Runner {
 public:
  explicit ProcessRunner(std::string prefix) : prefix_(std::move(prefix)) {}
  Result run(const Command& command, Output mode) override;

 private:
  std::string prefix_;
};

// argv rendered for messages, each argument quoted where a reader would otherwise misread it.
std::string describe(const Command& command);

}  // namespace mai
