// A private directory for files an engine writes during one step (image id, digest); removed after.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

namespace mai {

class ScratchDir {
 public:
  explicit ScratchDir(const std::filesystem::path& beside)
      : path_(beside.string() + ".work." + std::to_string(::getpid())) {
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace mai
