// Small helpers shared by the unit tests: temporary directories and a minimal valid spec.
#pragma once

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "base/error.hpp"
#include "base/log.hpp"
#include "model/spec.hpp"

namespace mai::test {

// Lines printed by code under test that takes a step's log: the console, prefixed "[test]".
inline const Log& test_log() {
  static const Log log("test");
  return log;
}

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("mai-unit-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path file(const std::string& relative, const std::string& content = "") const {
    const auto p = path_ / relative;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << content;
    return p;
  }
  // An executable shell script with `body` after its #! line.
  std::filesystem::path script(const std::string& relative, const std::string& body) const {
    const auto p = file(relative, "#!/bin/sh\n" + body);
    std::filesystem::permissions(p, std::filesystem::perms::owner_all);
    return p;
  }

 private:
  std::filesystem::path path_;
};

// What a call throws as mai::Error: its message ("" when it throws nothing), or its exit code.
std::string error_of(auto f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
Exit code_of(auto f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  return Exit::ok;
}

inline std::string read(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline boost::json::object spec_json(const std::filesystem::path& context) {
  return {{"format", 1},
          {"name", "hello"},
          {"repository", "127.0.0.1:5000/demo/hello"},
          {"tags", {"1.0", "latest"}},
          {"platforms", {"linux/amd64", "linux/arm/v7"}},
          {"context", context.string()},
          {"dockerfile", (context / "Dockerfile").string()},
          {"build_args", boost::json::array{boost::json::object{{"name", "MSG"}, {"value", "a b;$(x) `y` \"z\""}}}},
          {"engine", "docker"},
          {"network", "none"}};
}

inline Spec make_spec(const std::filesystem::path& context) { return parse_spec(spec_json(context), "spec.json"); }

}  // namespace mai::test
