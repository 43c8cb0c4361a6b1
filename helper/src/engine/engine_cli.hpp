// What docker and podman spell alike: a command line of the executable, the builder's global options
// and the arguments; a build's common options; inspecting, probing for and running a local image.
#pragma once

#include "engine/engine.hpp"

namespace mai {

class CliEngine : public Engine {
 public:
  ImageInfo image_info(const std::string& image_id) override;
  void load(const std::filesystem::path& archive) override;
  Result run_image(const Spec& spec, const Platform& platform, const std::string& image_id,
                   const std::vector<std::string>& args) override;

 protected:
  CliEngine(std::string executable, Runner& runner, const Log& log) : exe_(std::move(executable)), runner_(runner), log_(log) {}

  Command command(std::vector<std::string> args) const;  // exe, the builder's global options, args
  // Appends what every build takes: platform, network, cache, Dockerfile, iidfile, tags, build args,
  // and the context last.
  void add_build_options(Command& c, const Spec& spec, const Platform& platform, const std::vector<std::string>& references,
                         const std::filesystem::path& iidfile, Cache cache) const;
  // A query of the local image store; podman's may meet a passing store race and is retried.
  virtual Result query(const Command& c) { return runner_.run(c, Output::capture, log_); }

  std::string exe_;
  Runner& runner_;
  Log log_;
  std::vector<std::string> global_;  // the builder: docker --host/--context, podman --url/--connection
};

}  // namespace mai
