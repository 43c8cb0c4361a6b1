// push: one platform's built image to the registry under each per-platform tag.
#include "console.hpp"
#include "engine.hpp"
#include "error.hpp"
#include "records.hpp"
#include "scratch.hpp"
#include "stages.hpp"
#include "stopwatch.hpp"

namespace mai {

void push_step(const Spec& spec, const Platform& platform, const std::filesystem::path& build_record,
               const std::filesystem::path& record, Runner& runner) {
  const Stopwatch clock;
  const auto prefix = step_prefix(spec, &platform);
  remove_record(record);
  const auto built = read_build_record(build_record);
  if (!built || built->platform != platform.str())
    throw Error(Exit::step_failed, "no build record for " + platform.str() + " at " + build_record.string() +
                                       "; build the platform first (target " + spec.name + "-build-" +
                                       platform.target_suffix() + ")");
  print_line(prefix, "push started (" + spec.repository.registry + ")");

  // The image lives where it was built: push from there.
  auto engine = make_engine(built->engine, spec, runner, built->builder);
  const ScratchDir scratch(record);
  std::string digest;
  for (const auto& ref : built->references) {
    const auto d = engine->push(built->image_id, ref, spec.repository, scratch.path());
    if (!digest.empty() && d != digest)
      throw Error(Exit::step_failed, ref + " was pushed as " + d + " but the same image went out as " +
                                         digest + " under another tag");
    digest = d;
  }
  write_record(record, PushRecord{spec.name, platform.str(), engine->name(), built->builder, built->image_id,
                                  spec.repository.str(), digest, built->references, clock.seconds()});
  print_line(prefix, "push done in " + clock.str() + " (" + spec.repository.str() + "@" + digest + ")");
}

}  // namespace mai
