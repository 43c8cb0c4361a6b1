// A private directory for files an engine writes during one step (image id, digest); removed after.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "base/error.hpp"

namespace mai {

class ScratchDir {
 public:
  // Beside a record in the build tree, which only this build writes.
  explicit ScratchDir(const std::filesystem::path& beside) : path_(beside.string() + ".work." + std::to_string(::getpid())) {
    std::filesystem::create_directories(path_);
  }
  // Under the system's temporary directory, where anyone may have prepared a guessable name: a new
  // directory (mode 0700) made with mkdtemp.
  static ScratchDir temporary(const std::string& prefix) {
    auto pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    if (!::mkdtemp(pattern.data()))
      throw Error(Exit::step_failed, "cannot create a temporary directory in " + std::filesystem::temp_directory_path().string());
    return ScratchDir(std::filesystem::path(pattern), 0);
  }
  ScratchDir(ScratchDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  ScratchDir(std::filesystem::path made, int) : path_(std::move(made)) {}
  std::filesystem::path path_;
};

}  // namespace mai
