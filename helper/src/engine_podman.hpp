// Podman: builds and pushes with podman, manifest lists with `podman manifest`, and reads the
// registry back with skopeo (same containers/image library, same auth file, exact bytes).
// A builder is a service URL (--url) or a system connection name (--connection).
#pragma once

#include "engine.hpp"

namespace mai {

class PodmanEngine final : public Engine {
 public:
  PodmanEngine(std::string podman, std::string skopeo, Runner& runner, const std::string& builder = "");
  std::string name() const override { return "podman"; }
  Result probe() override;
  BuiltImage build(const Spec& spec, const Platform& platform, const std::vector<std::string>& references,
                   const std::filesystem::path& scratch, bool no_cache = false) override;
  ImageInfo image_info(const std::string& image_id) override;
  bool has_image(const std::string& image_id) override;
  std::string push(const std::string& image_id, const std::string& reference, const Repository& repository,
                   const std::filesystem::path& scratch) override;
  Result run_image(const Spec& spec, const Platform& platform, const std::string& image_id,
                   const std::vector<std::string>& args) override;

 private:
  Command podman(std::vector<std::string> args) const;  // exe, the builder's global options, args
  Result query(const Command& c);                        // a local store query, retried on store races

  std::string exe_;
  std::string skopeo_;
  Runner& runner_;
  std::vector<std::string> global_;  // --url URL or --connection NAME
};

}  // namespace mai
