#include "base/json_file.hpp"

#include "base/error.hpp"
#include "base/files.hpp"

namespace mai {

boost::json::value read_json_file(const std::filesystem::path& path) {
  const auto text = read_text_file(path);
  boost::system::error_code ec;
  auto value = boost::json::parse(text, ec);
  if (ec) throw Error(Exit::invalid_input, path.string() + " is not valid JSON: " + ec.message());
  return value;
}

void write_json_atomically(const std::filesystem::path& path, const boost::json::value& value) {
  write_file_atomically(path, boost::json::serialize(value) + "\n");
}

std::string string_member(const boost::json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

}  // namespace mai
