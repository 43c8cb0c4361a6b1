// A step's console: every line it prints, its engines' streamed output and its warnings included,
// starts with "[<name> <platform>]" ("[<name>]" for the image's own steps). Each line leaves in one
// write, so the lines of parallel steps interleave whole, never mid-line.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace mai {

class Log {
 public:
  // Where lines go; the console when empty. Tests capture them.
  using Sink = std::function<void(std::string_view line, bool warning)>;

  explicit Log(std::string name, const std::string& platform = {}, Sink sink = {});

  // The same image's log for one of its platforms (a step nested in the image's manifest step).
  Log for_platform(const std::string& platform) const { return Log(name_, platform, sink_); }

  void info(std::string_view text) const;  // stdout
  void warn(std::string_view text) const;  // stderr, after "warning: "
  const std::string& prefix() const { return prefix_; }

 private:
  std::string name_;
  std::string prefix_;
  Sink sink_;
};

}  // namespace mai
