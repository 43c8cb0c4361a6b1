#include "engine/engine.hpp"

namespace mai {

bool is_engine_url(const std::string& builder) {
  for (const char* scheme : {"unix://", "tcp://", "ssh://", "npipe://"})
    if (builder.starts_with(scheme)) return true;
  return false;
}

}  // namespace mai
