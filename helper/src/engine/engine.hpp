// The engine interface: how a Dockerfile image is built, inspected, pushed and run on docker or podman.
// The build, push and test steps talk to engines through it; the manifest step talks to the registry
// (registry_client.hpp) and needs no engine. Only engine_*.cpp and plan.cpp know CLI spellings.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/log.hpp"
#include "base/runner.hpp"
#include "model/spec.hpp"
#include "oci/platform.hpp"
#include "oci/reference.hpp"

namespace mai {

struct BuiltImage {
  std::string image_id;
  std::string method;  // how the engine built it: buildx, buildkit, legacy, podman
};

enum class Cache { use, ignore };  // the engine's layer cache

// Where a build's FROM images come from: the engine's own copy when it keeps one (its default);
// `always` each base's registry asked again (docker --pull, podman --pull=always); `missing` the
// registry only for a base the engine lacks; `never` the engine's copy or a failed build (podman only:
// docker 20.10 cannot be told). `registries` are those bases' repositories, for their TLS settings.
enum class Pull { engine_default, always, missing, never };
struct BuildSources {
  Pull pull = Pull::engine_default;
  std::vector<Repository> registries;
  // REGISTRY_CACHE INLINE: the build writes its cache into the image, and reads the one in
  // `cache_from` (the platform's image last published, by digest; empty: none published yet).
  bool inline_cache = false;
  std::string cache_from;
};
// PULL as the spec writes it (always, missing, never; empty: the engine's default).
Pull pull_policy(std::string_view pull);

class Engine {
 public:
  virtual ~Engine() = default;
  virtual std::string name() const = 0;

  // Asks the engine instance (daemon, remote service) whether it answers.
  virtual Result probe() = 0;

  // Builds one platform and tags it with every reference; scratch is a private directory for files
  // the engine writes (image id).
  virtual BuiltImage build(const Spec& spec, const Platform& platform, const std::vector<std::string>& references,
                           const std::filesystem::path& scratch, Cache cache, const BuildSources& sources) = 0;

  // A local image's platform ("os/arch", as its config states it) and size in bytes.
  struct ImageInfo {
    std::string platform;
    std::int64_t size = 0;
  };
  virtual ImageInfo image_info(const std::string& image_id) = 0;

  // Whether the engine (this builder) still holds the image.
  virtual bool has_image(const std::string& image_id) = 0;

  // Pushes the local image `image_id` as `reference`; returns the digest of the manifest pushed. A
  // push refused for the rate of requests goes again after `wait_for_rate_limit` (Command::on_rate_limit).
  void on_rate_limit(std::function<bool()> wait_for_rate_limit) { wait_for_rate_limit_ = std::move(wait_for_rate_limit); }
  virtual std::string push(const std::string& image_id, const std::string& reference, const Repository& repository,
                           const std::filesystem::path& scratch) = 0;

  // Loads a docker-archive tarball into the engine's local images.
  virtual void load(const std::filesystem::path& archive) = 0;

  // Runs a local image for `platform` with `args` (under emulation when foreign); output captured.
  virtual Result run_image(const Spec& spec, const Platform& platform, const std::string& image_id,
                           const std::vector<std::string>& args) = 0;

 protected:
  std::function<bool()> wait_for_rate_limit_;
};

// True for unix://, tcp://, ssh:// and npipe:// addresses (as opposed to context/connection names).
bool is_engine_url(const std::string& builder);

// After an engine's push failed: when its output says the registry cannot take what the push needs
// (registry_limit: a method refused, no uploads in chunks, no Docker-Content-Digest) or refused to
// replace a tag (immutable tags: ECR's TAG_INVALID "... cannot be overwritten because the repository is
// immutable", Harbor's and Docker Hub's immutable tags, GitLab's protected tags), throws the error that
// names the limit and what works there; otherwise returns.
void refuse_on_registry_limit(const Result& push, const std::string& engine, const std::string& reference);
// What an engine's push of `reference` prints that is no answer of the registry's: the repository, its
// registry and path, the tag (Command::names).
std::vector<std::string> names_in_push_output(const std::string& reference);

}  // namespace mai
