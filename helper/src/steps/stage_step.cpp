// stage: one platform's staged tree from the project's build (TARGETS, INSTALL, RUNTIME), planned in
// passes (stage/staging.hpp) and written with its record and stamp.
#include "stage/staging.hpp"
#include "steps/steps.hpp"

namespace mai {

std::vector<std::string> stage_step(const StageRequest& request, Runner& runner, const Log& log) {
  StagePlan plan;
  plan_targets(request, plan);
  plan_installed(request, plan, runner, log);
  plan_needed_libraries(request, plan, log);
  return write_stage(request, plan, runner, log);
}

}  // namespace mai
