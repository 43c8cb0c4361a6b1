#include "engine/factory.hpp"

#include "base/error.hpp"
#include "engine/engine_docker.hpp"
#include "engine/engine_podman.hpp"

namespace mai {

std::unique_ptr<Engine> make_engine(const std::string& name, const Spec& spec, Runner& runner, const Log& log,
                                    const std::string& builder) {
  if (name == "docker") return std::make_unique<DockerEngine>(spec.docker, runner, log, builder);
  if (name == "podman") return std::make_unique<PodmanEngine>(spec.podman, spec.skopeo, runner, log, builder);
  throw Error(Exit::invalid_input, "unknown engine '" + name + "' (valid: auto, docker, podman)");
}

std::unique_ptr<Engine> resolve_engine(const Spec& spec, Runner& runner, const Log& log, const std::string& builder) {
  if (spec.engine != "auto") return make_engine(spec.engine, spec, runner, log, builder);
  std::string why;
  for (const char* name : {"docker", "podman"}) {
    auto engine = make_engine(name, spec, runner, log, builder);
    try {
      const auto r = engine->probe();
      if (r.ok()) return engine;
      why += std::string("\n  ") + name + ": exited " + std::to_string(r.exit_code) + ": " + r.tail;
    } catch (const Error& e) {
      why += std::string("\n  ") + name + ": " + e.what();
    }
  }
  throw Error(Exit::engine_missing,
              "ENGINE auto: neither docker nor podman answered; start one or set ENGINE / MULTIARCH_IMAGE_ENGINE:" + why);
}

}  // namespace mai
