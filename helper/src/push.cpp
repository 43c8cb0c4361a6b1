// push: one platform's built image to the registry under each per-platform tag.
#include "engine.hpp"
#include "error.hpp"
#include "records.hpp"
#include "scratch.hpp"
#include "steps.hpp"
#include "stopwatch.hpp"

namespace mai {

void push_step(const Spec& spec, const Platform& platform, const std::filesystem::path& build_record,
               const std::filesystem::path& record, Runner& runner, const Log& log) {
  const Stopwatch clock;
  remove_record(record);
  auto built = read_build_record(build_record, log);
  // Stale state: the record is unusable, or the image behind it was removed (docker image rm, podman
  // rmi, a pruned builder). Build it again here rather than fail obscurely at the push.
  std::string stale;
  if (!built || built->platform != platform.str()) {
    stale = "no usable build record at " + build_record.string();
  } else if (!make_engine(built->engine, spec, runner, log, built->builder)->has_image(built->image_id)) {
    stale = "image " + built->image_id.substr(0, 19) + " is no longer in " + built->engine +
            (built->builder.empty() ? "" : " on " + built->builder);
  }
  if (!stale.empty()) {
    log.warn(stale + "; building " + platform.str() + " again");
    build_step(spec, platform, build_record, build_depfile_path(build_record.parent_path(), platform), runner, log);
    built = read_build_record(build_record, log);
    if (!built) throw Error(Exit::step_failed, "the build record of " + platform.str() + " is unreadable after a rebuild");
  }
  log.info("push started (" + spec.repository.registry + ")");

  // The image lives where it was built: push from there.
  auto engine = make_engine(built->engine, spec, runner, log, built->builder);
  const ScratchDir scratch(record);
  std::string digest;
  for (const auto& ref : built->references) {
    const auto d = engine->push(built->image_id, ref, spec.repository, scratch.path());
    if (!digest.empty() && d != digest)
      throw Error(Exit::step_failed,
                  ref + " was pushed as " + d + " but the same image went out as " + digest + " under another tag");
    digest = d;
  }
  write_record(record, PushRecord{spec.name, platform.str(), engine->name(), built->builder, built->image_id,
                                  spec.repository.str(), digest, built->references, clock.seconds()});
  log.info("push done in " + clock.str() + " (" + spec.repository.str() + "@" + digest + ")");
}

}  // namespace mai
