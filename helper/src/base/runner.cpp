#include "base/runner.hpp"

#include "base/error.hpp"

namespace mai {

std::string describe(const Command& command) {
  std::string out;
  for (const auto& a : command.argv) {
    if (!out.empty()) out += ' ';
    const bool plain = !a.empty() && a.find_first_of(" \t\n'\"\\$`;|&<>()*?[]{}!#~") == std::string::npos;
    if (plain) {
      out += a;
      continue;
    }
    out += '\'';
    for (char c : a) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    out += '\'';
  }
  return out;
}

void require_success(const Command& command, const Result& result, const std::string& what) {
  if (result.ok()) return;
  throw Error(Exit::step_failed, what + " failed (exit " + std::to_string(result.exit_code) + "): " + describe(command) +
                                     (result.tail.empty() ? "" : "\n--- last output ---\n" + result.tail));
}

}  // namespace mai
