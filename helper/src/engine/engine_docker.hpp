// Docker: BuildKit through buildx when the plugin is there, else the client's built-in BuildKit
// (clients before 23.0), else the legacy builder with a warning. Pushes with `docker push`.
// A builder is a daemon URL (--host), a context name (--context) or buildx:<name> (--builder).
#pragma once

#include "engine/engine_cli.hpp"

namespace mai {

class DockerEngine final : public CliEngine {
 public:
  DockerEngine(std::string executable, Runner& runner, const Log& log, const std::string& builder);
  std::string name() const override { return "docker"; }
  Result probe() override;
  BuiltImage build(const Spec& spec, const Platform& platform, const std::vector<std::string>& references,
                   const std::filesystem::path& scratch, Cache cache, const BuildSources& sources) override;
  bool has_image(const std::string& image_id) override;
  std::string push(const std::string& image_id, const std::string& reference, const Repository& repository,
                   const std::filesystem::path& scratch) override;

  enum class Method { buildx, buildkit, legacy };
  Method detect_method();

 private:
  std::string buildx_builder_;  // from buildx:<name>
};

// "<tag>: digest: sha256:... size: N" from `docker push` output; empty when absent.
std::string parse_push_digest(const std::string& output);

}  // namespace mai
