#include "console.hpp"

#include <unistd.h>

#include <string>

namespace mai {
namespace {

void write_line(int fd, std::string_view prefix, std::string_view infix, std::string_view text) {
  std::string line;
  line.reserve(prefix.size() + infix.size() + text.size() + 2);
  line.append(prefix);
  if (!prefix.empty()) line.push_back(' ');
  line.append(infix).append(text).push_back('\n');
  std::string_view rest = line;
  while (!rest.empty()) {
    const auto n = ::write(fd, rest.data(), rest.size());
    if (n <= 0) return;  // a closed console must not fail the step
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace

void print_line(std::string_view prefix, std::string_view text) { write_line(STDOUT_FILENO, prefix, "", text); }
void warn_line(std::string_view prefix, std::string_view text) { write_line(STDERR_FILENO, prefix, "warning: ", text); }

}  // namespace mai
