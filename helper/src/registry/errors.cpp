#include "registry/errors.hpp"

#include <boost/json.hpp>

namespace mai {
namespace json = boost::json;

std::string registry_errors(const HttpResponse& r) {
  std::string out = "HTTP " + std::to_string(r.status);
  boost::system::error_code ec;
  const auto v = json::parse(r.body, ec);
  const auto* o = ec ? nullptr : v.if_object();
  const auto* errors = o ? o->if_contains("errors") : nullptr;
  if (errors && errors->is_array()) {
    for (const auto& e : errors->get_array()) {
      if (!e.is_object()) continue;
      const auto& eo = e.get_object();
      const auto* code = eo.if_contains("code");
      const auto* msg = eo.if_contains("message");
      out += "; ";
      if (code && code->is_string()) out += std::string(code->get_string()) + ": ";
      if (msg && msg->is_string()) out += std::string(msg->get_string());
    }
  }
  return out;
}

}  // namespace mai
