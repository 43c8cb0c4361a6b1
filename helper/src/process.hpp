// Running child processes: always an argv vector, never a shell. The Runner interface lets unit tests
// check every command line an engine builds without starting anything.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace mai {

struct Command {
  std::vector<std::string> argv;                            // argv[0]: a name looked up on PATH, or a path
  std::vector<std::pair<std::string, std::string>> env;     // added to the inherited environment
  std::string input;                                        // written to stdin, then closed (secrets go here)
  bool registry = false;  // talks to a registry: retried on transient failures, bounded by the timeout
};

enum class Output {
  stream,   // stdout and stderr merged, each line printed with the runner's prefix as it arrives
  capture,  // stdout returned in Result::out; stderr kept for the error message only
};

struct Result {
  int exit_code = 0;
  std::string out;   // captured stdout (Output::capture)
  std::string tail;  // the last lines the child printed, for error messages
  bool timed_out = false;
  bool ok() const { return exit_code == 0; }
};

class Runner {
 public:
  virtual ~Runner() = default;
  virtual Result run(const Command& command, Output mode) = 0;
};

// How registry commands are retried and bounded. Defaults match the cache variables' defaults.
struct RetryPolicy {
  int tries = 5;                                         // attempts in all
  std::chrono::milliseconds delay{1000};                 // before the second attempt; doubles, at most 30 s
  std::chrono::seconds timeout{600};                     // per attempt; 0: none
};

// Output that no retry can change: credentials, permissions, missing names, bad certificates.
bool permanent_registry_failure(const std::string& output);

// Runs real processes through Boost.Process, each in a process group of its own so that an
// interrupt or a timeout stops the engine and everything it started. A missing executable is
// Error(engine_missing); an interrupt is Error(interrupted).
class ProcessRunner final : public Runner {
 public:
  explicit ProcessRunner(std::string prefix, RetryPolicy policy = {}) : prefix_(std::move(prefix)), policy_(policy) {}
  Result run(const Command& command, Output mode) override;

 private:
  Result run_once(const Command& command, Output mode);
  std::string prefix_;
  RetryPolicy policy_;
};

// SIGINT, SIGTERM and SIGHUP stop the running child's process group and make the step fail with
// Exit::interrupted. Installed once by main().
void install_interrupt_handlers();
bool interrupted();
void throw_if_interrupted();  // Error(interrupted) once a signal has arrived

// argv rendered for messages, each argument quoted where a reader would otherwise misread it.
std::string describe(const Command& command);

}  // namespace mai
