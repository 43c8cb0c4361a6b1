#include "greeting.hpp"

namespace greeting {

std::string version() { return "1.0.0"; }

std::string message(const std::string& who) {
  return "hello " + who + " from the greeting library " + version() + " built for " + built_for();
}

}  // namespace greeting
