// Wall time of a step, for its "done in" line and its record.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

namespace mai {

class Stopwatch {
 public:
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }
  std::string str() const {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f s", seconds());
    return buf;
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace mai
