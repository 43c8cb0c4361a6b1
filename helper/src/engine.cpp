#include "engine.hpp"

#include "engine_docker.hpp"
#include "engine_podman.hpp"
#include "error.hpp"

namespace mai {

void require_success(const Command& command, const Result& result, const std::string& what) {
  if (result.ok()) return;
  throw Error(Exit::step_failed, what + " failed (exit " + std::to_string(result.exit_code) + "): " + describe(command) +
                                     (result.tail.empty() ? "" : "\n--- last output ---\n" + result.tail));
}

std::unique_ptr<Engine> make_engine(const std::string& name, const Spec& spec, Runner& runner) {
  if (name == "docker") return std::make_unique<DockerEngine>(spec.docker, runner);
  if (name == "podman") return std::make_unique<PodmanEngine>(spec.podman, spec.skopeo, runner);
  throw Error(Exit::invalid_input, "unknown engine '" + name + "' (valid: auto, docker, podman)");
}

std::unique_ptr<Engine> resolve_engine(const Spec& spec, Runner& runner) {
  if (spec.engine != "auto") return make_engine(spec.engine, spec, runner);
  std::string why;
  for (const auto& [name, exe] : {std::pair{"docker", spec.docker}, std::pair{"podman", spec.podman}}) {
    const Command probe{{exe, "version"}};
    try {
      const auto r = runner.run(probe, Output::capture);
      if (r.ok()) return make_engine(name, spec, runner);
      why += std::string("\n  ") + name + ": " + describe(probe) + " exited " + std::to_string(r.exit_code) + ": " + r.tail;
    } catch (const Error& e) {
      why += std::string("\n  ") + name + ": " + e.what();
    }
  }
  throw Error(Exit::engine_missing,
              "ENGINE auto: neither docker nor podman answered; start one or set ENGINE / MULTIARCH_IMAGE_ENGINE:" + why);
}

}  // namespace mai
