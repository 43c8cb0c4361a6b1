// Commands for child processes: always an argv vector, never a shell. The Runner interface lets unit
// tests check every command line an engine builds without starting anything.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace mai {

class Log;

struct Command {
  std::vector<std::string> argv;                         // argv[0]: a name looked up on PATH, or a path
  std::vector<std::pair<std::string, std::string>> env;  // added to the inherited environment
  std::string input;                                     // written to stdin, then closed (secrets go here)
  bool registry = false;  // talks to a registry: retried on transient failures, bounded by the timeout
  // An engine's push whose output names a rate limit (rate_limit_refusal) asks this how long the
  // registry wants it to wait: true when it waited that long (the command then goes again at once),
  // false when the registry said nothing (the retry policy's backoff applies). Engines pass no
  // Retry-After on: the registry is asked again for it.
  std::function<bool()> on_rate_limit;
  // Names the output holds that say nothing about why the command failed (the repository and tag a
  // push names): left out before the retry rules read it (without_names).
  std::vector<std::string> names;
};

enum class Output {
  stream,   // stdout and stderr merged, each line printed through the step's log as it arrives
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
  // Runs `command` for the step whose lines go to `log` (streamed output, retry warnings).
  virtual Result run(const Command& command, Output mode, const Log& log) = 0;
};

// argv rendered for messages, each argument quoted where a reader would otherwise misread it.
std::string describe(const Command& command);

// Throws Error(step_failed) naming `what`, with the command and the child's last output lines.
void require_success(const Command& command, const Result& result, const std::string& what);

}  // namespace mai
