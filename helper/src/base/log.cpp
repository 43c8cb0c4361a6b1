#include "base/log.hpp"

#include <unistd.h>

#include "base/text.hpp"

namespace mai {
namespace {

void write_line(int fd, std::string_view line) {
  while (!line.empty()) {
    const auto n = ::write(fd, line.data(), line.size());
    if (n <= 0) return;  // a closed console must not fail the step
    line.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace

Log::Log(std::string name, const std::string& platform, Sink sink)
    : name_(std::move(name)), prefix_("[" + name_ + (platform.empty() ? "" : " " + platform) + "]"), sink_(std::move(sink)) {}

// Every line passes here, an engine's output too: a URL's credentials go no further.
void Log::info(std::string_view text) const {
  const auto line = prefix_ + " " + without_userinfo(text);
  if (sink_) return sink_(line, false);
  write_line(STDOUT_FILENO, line + "\n");
}

void Log::warn(std::string_view text) const {
  const auto line = prefix_ + " warning: " + without_userinfo(text);
  if (sink_) return sink_(line, true);
  write_line(STDERR_FILENO, line + "\n");
}

}  // namespace mai
