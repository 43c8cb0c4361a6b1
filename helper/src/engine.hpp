// The engine interface: the only place that knows how docker and podman spell each step.
// Stages (build.cpp, push.cpp, manifest.cpp) talk to this interface and nothing else.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "platform.hpp"
#include "process.hpp"
#include "reference.hpp"
#include "spec.hpp"

namespace mai {

struct BuiltImage {
  std::string image_id;
  std::string method;  // how the engine built it: buildx, buildkit, legacy, podman
};

class Engine {
 public:
  virtual ~Engine() = default;
  virtual std::string name() const = 0;

  // Asks the engine instance (daemon, remote service) whether it answers.
  virtual Result probe() = 0;

  // Builds one platform and tags it with every reference; scratch is a private directory for files
  // the engine writes (image id). no_cache: ignore the engine's layer cache.
  virtual BuiltImage build(const Spec& spec, const Platform& platform, const std::vector<std::string>& references,
                           const std::filesystem::path& scratch, bool no_cache = false) = 0;

  // A local image's platform ("os/arch", as its config states it) and size in bytes.
  struct ImageInfo {
    std::string platform;
    std::int64_t size = 0;
  };
  virtual ImageInfo image_info(const std::string& image_id) = 0;

  // Whether the engine (this builder) still holds the image.
  virtual bool has_image(const std::string& image_id) = 0;

  // Pushes the local image `image_id` as `reference`; returns the digest of the manifest pushed.
  virtual std::string push(const std::string& image_id, const std::string& reference, const Repository& repository,
                           const std::filesystem::path& scratch) = 0;

  // Runs a local image for `platform` with `args` (under emulation when foreign); output captured.
  virtual Result run_image(const Spec& spec, const Platform& platform, const std::string& image_id,
                           const std::vector<std::string>& args) = 0;
};

// The engine called `name` (docker or podman), talking to `builder` (empty: its default). No command is run.
std::unique_ptr<Engine> make_engine(const std::string& name, const Spec& spec, Runner& runner,
                                    const std::string& builder = "");

// The spec's engine for a platform's builder; for "auto", the first of docker and podman that answers.
std::unique_ptr<Engine> resolve_engine(const Spec& spec, Runner& runner, const std::string& builder = "");

// Throws Error(step_failed) with the command and the child's last output lines.
void require_success(const Command& command, const Result& result, const std::string& what);

// True for unix://, tcp://, ssh:// and npipe:// addresses (as opposed to context/connection names).
bool is_engine_url(const std::string& builder);

}  // namespace mai
