// A Runner that starts nothing: it records each command and answers from a script, so tests can
// check exactly which command lines an engine or a stage builds.
#pragma once

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "base/runner.hpp"

namespace mai::test {

class FakeRunner final : public Runner {
 public:
  // A rule answers commands whose argv, after argv[0] and any global `--option value` pairs (such as
  // --host URL), starts with `prefix`.
  struct Rule {
    std::vector<std::string> prefix;
    Result result;
    std::function<void(const Command&)> effect;  // e.g. write the --iidfile the engine would write
  };

  Result run(const Command& command, Output, const Log&) override {
    commands.push_back(command);
    std::size_t first = 1;
    while (first + 1 < command.argv.size() && command.argv[first].starts_with("--")) first += 2;
    for (const auto& rule : rules) {
      if (command.argv.size() < rule.prefix.size() + first) continue;
      if (!std::equal(rule.prefix.begin(), rule.prefix.end(), command.argv.begin() + first)) continue;
      if (rule.effect) rule.effect(command);
      return rule.result;
    }
    return Result{0, "", ""};
  }

  void on(std::vector<std::string> prefix, Result result = {}, std::function<void(const Command&)> effect = {}) {
    rules.push_back({std::move(prefix), std::move(result), std::move(effect)});
  }

  // Value following `flag` in the command, e.g. the path after --iidfile.
  static std::string value_of(const Command& c, const std::string& flag) {
    for (std::size_t i = 0; i + 1 < c.argv.size(); ++i)
      if (c.argv[i] == flag) return c.argv[i + 1];
    return {};
  }
  static void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

  std::vector<Rule> rules;
  std::vector<Command> commands;
};

}  // namespace mai::test
