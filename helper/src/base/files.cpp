#include "base/files.hpp"

#include <unistd.h>

#include <atomic>
#include <fstream>
#include <iterator>

#include "base/error.hpp"

namespace mai {

std::string read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(Exit::invalid_input, "cannot read " + path.string());
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
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

std::filesystem::path temporary_name_in(const std::filesystem::path& dir, std::string_view prefix) {
  static std::atomic<unsigned> count{0};
  return dir / (std::string(prefix) + std::to_string(::getpid()) + "-" + std::to_string(count++));
}

}  // namespace mai
