// Console output shared by concurrent helper processes: every line leaves in one write, so lines of
// parallel steps interleave whole, never mid-line.
#pragma once

#include <string_view>

namespace mai {

void print_line(std::string_view prefix, std::string_view text);  // stdout
void warn_line(std::string_view prefix, std::string_view text);   // stderr, "warning: "

}  // namespace mai
