// The registry's own words for a request it refused: the distribution spec's error body.
#pragma once

#include <string>

#include "registry/transport.hpp"

namespace mai {

// "HTTP <status>", then each error's "; <code>: <message>" from {"errors":[{"code":..,"message":..}]}
// when the body holds that (anything else in the body is left out).
std::string registry_errors(const HttpResponse& answer);

}  // namespace mai
