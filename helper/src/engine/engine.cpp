#include "engine/engine.hpp"

namespace mai {

bool is_engine_url(const std::string& builder) {
  for (const char* scheme : {"unix://", "tcp://", "ssh://", "npipe://"})
    if (builder.starts_with(scheme)) return true;
  return false;
}

Pull pull_policy(std::string_view pull) {
  if (pull == "always") return Pull::always;
  if (pull == "missing") return Pull::missing;
  if (pull == "never") return Pull::never;
  return Pull::engine_default;
}

}  // namespace mai
