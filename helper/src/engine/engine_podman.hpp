// Podman: builds and pushes with podman; reads a pushed manifest back with skopeo (same
// containers/image library, same auth file, exact bytes) when podman cannot say its digest.
// A builder is a service URL (--url) or a system connection name (--connection).
#pragma once

#include "engine/engine_cli.hpp"

namespace mai {

class PodmanEngine final : public CliEngine {
 public:
  PodmanEngine(std::string podman, std::string skopeo, Runner& runner, const Log& log, const std::string& builder);
  std::string name() const override { return "podman"; }
  Result probe() override;
  BuiltImage build(const Spec& spec, const Platform& platform, const std::vector<std::string>& references,
                   const std::filesystem::path& scratch, Cache cache, const BuildSources& sources) override;
  bool has_image(const std::string& image_id) override;
  std::string push(const std::string& image_id, const std::string& reference, const Repository& repository,
                   const std::filesystem::path& scratch) override;

 private:
  Result query(const Command& c) override;  // retried on store races

  std::string skopeo_;
};

}  // namespace mai
