#include "json_file.hpp"

#include <unistd.h>

#include <fstream>
#include <sstream>

#include "error.hpp"

namespace mai {

std::string read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(Exit::invalid_input, "cannot read " + path.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

boost::json::value read_json_file(const std::filesystem::path& path) {
  const auto text = read_text_file(path);
  boost::system::error_code ec;
  auto value = boost::json::parse(text, ec);
  if (ec) throw Error(Exit::invalid_input, path.string() + " is not valid JSON: " + ec.message());
  return value;
}

void write_file_atomically(const std::filesystem::path& path, const std::string& content) {
  std::filesystem::create_directories(path.parent_path());
  auto tmp = path;
  tmp += ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    out.flush();
    if (!out) throw Error(Exit::step_failed, "cannot write " + tmp.string());
  }
  std::filesystem::rename(tmp, path);
}

void write_json_atomically(const std::filesystem::path& path, const boost::json::value& value) {
  write_file_atomically(path, boost::json::serialize(value) + "\n");
}

}  // namespace mai
