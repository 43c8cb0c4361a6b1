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

}  // namespace mai
