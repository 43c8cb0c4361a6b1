// The image spec: what add_multiarch_image() wrote at configure time, re-validated on every read
// because it is a file a person can edit.
#pragma once

#include <boost/json/fwd.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "platform.hpp"
#include "reference.hpp"

namespace mai {

struct BuildArg {
  std::string name;
  std::string value;
};

struct Spec {
  std::string name;
  Repository repository;
  std::vector<std::string> tags;
  std::vector<Platform> platforms;
  std::filesystem::path context;
  std::filesystem::path dockerfile;
  std::vector<BuildArg> build_args;
  std::string engine = "auto";  // auto, docker or podman
  std::string network;          // passed as --network when not empty
  std::string docker = "docker", podman = "podman", skopeo = "skopeo";  // executables
  std::vector<std::filesystem::path> deps_exclude;  // never listed in the depfile (e.g. the build tree)

  // The spec's own entry for a platform named on the command line; throws if not listed.
  const Platform& platform(std::string_view text) const;
};

constexpr int kSpecFormat = 1;

Spec parse_spec(const boost::json::value& json, const std::string& origin);
Spec load_spec(const std::filesystem::path& path);

}  // namespace mai
