// plan: the engine commands each step would run, in order, for review in CI logs. Nothing is built,
// pushed or published; only the engines' version probes, which decide the build command, are asked.
#include <fstream>

#include "base/error.hpp"
#include "base/scratch.hpp"
#include "engine/factory.hpp"
#include "stage/staging.hpp"
#include "steps/steps.hpp"

namespace mai {
namespace {

class PlanRunner final : public Runner {
 public:
  explicit PlanRunner(Runner& real) : real_(real) {}
  std::string platform;  // os/arch the current step's image inspections answer with

  Result run(const Command& c, Output, const Log& log) override {
    std::size_t first = 1;  // past global options such as --host URL
    while (first + 1 < c.argv.size() && c.argv[first].starts_with("--")) first += 2;
    const auto verb = first < c.argv.size() ? c.argv[first] : "";
    const auto next = first + 1 < c.argv.size() ? c.argv[first + 1] : "";
    if (verb == "version" || (verb == "buildx" && next == "version")) return real_.run(c, Output::capture, log);

    log.info("    " + describe(c));
    for (const auto* flag : {"--iidfile", "--digestfile"})
      for (std::size_t i = 0; i + 1 < c.argv.size(); ++i)
        if (c.argv[i] == flag)
          std::ofstream(c.argv[i + 1]) << "<" << (flag == std::string("--iidfile") ? "image" : "digest") << ">";
    Result r;
    if (verb == "image" && next == "inspect")
      r.out = platform + " 0";
    else
      r.out = "sha256:" + std::string(64, '0');  // a well-formed placeholder for steps that parse it
    r.tail = "digest: sha256:" + std::string(64, '0');
    return r;
  }

 private:
  Runner& real_;
};

}  // namespace

void plan_step(const Spec& spec, Runner& real, const Log& log) {
  PlanRunner runner(real);
  log.info("plan for " + spec.repository.str() + " (" + std::to_string(spec.platforms.size()) +
           " platforms; <...> stands for what earlier steps produce):");
  const auto scratch = ScratchDir::temporary("multiarch-plan-" + spec.name);
  for (const auto& platform : spec.platforms) {
    if (spec.image.enabled) {  // assembled: no engine command at all
      const auto api = "/v2/" + spec.repository.path;
      log.info("  build " + platform.str() + ": assembled by the helper (base " + spec.image.base + ") into " +
               spec.image.layout.string() + ", no engine command");
      log.info("  push " + platform.str() + ": HEAD " + api + "/blobs/<digest> for each layer and the config, POST " + api +
               "/blobs/uploads/ and PUT <location> for each missing one, PUT " + api + "/manifests/" +
               (spec.platform_tags ? "<tag>-" + platform.tag_suffix() + " for each tag and by digest"
                                   : std::string("<digest> (PLATFORM_TAGS OFF: no tag)")) +
               ", then GET it back");
      continue;
    }
    const auto* builder = spec.builder_for(platform);
    auto e = resolve_engine(spec, runner, log, builder ? builder->address : "");
    runner.platform = platform.os + "/" + platform.arch;
    const auto image = "<image of " + platform.str() + ">";
    log.info("  build " + platform.str() + (builder ? " on " + builder->address : "") + ":");
    e->build(spec_for_platform_build(spec, platform), platform, platform_references(spec, platform), scratch.path(), Cache::use,
             {pull_policy(spec.build_options.pull), {}});
    e->image_info(image);
    log.info("  push " + platform.str() + ":");
    e->has_image(image);
    for (const auto& ref : platform_references(spec, platform)) e->push(image, ref, spec.repository, scratch.path());
  }
  // The manifest step speaks to the registry itself: no engine command, so the plan names the requests.
  const auto api = "/v2/" + spec.repository.path;
  log.info("  manifest (requests to https://" + spec.repository.registry +
           (spec.repository.loopback() ? ", or http:// if this loopback registry has no TLS" : "") + "; no engine command):");
  log.info("    GET " + api + "/manifests/<digest> and its config blob, for each platform");
  log.info("    GET " + api + "/manifests/<tag>, for each tag (an equivalent list there is kept)");
  log.info("    PUT " + api + "/manifests/<digest of the list>");
  for (const auto& tag : spec.tags) log.info("    PUT " + api + "/manifests/" + tag + ", then GET it back to verify");
}

}  // namespace mai
