#include "engine/engine_cli.hpp"

#include <limits>

#include "base/error.hpp"
#include "base/text.hpp"

namespace mai {

Command CliEngine::command(std::vector<std::string> args) const {
  Command c{{exe_}};
  c.argv.insert(c.argv.end(), global_.begin(), global_.end());
  c.argv.insert(c.argv.end(), std::make_move_iterator(args.begin()), std::make_move_iterator(args.end()));
  return c;
}

void CliEngine::add_build_options(Command& c, const Spec& spec, const Platform& platform,
                                  const std::vector<std::string>& references, const std::filesystem::path& iidfile,
                                  Cache cache) const {
  c.argv.insert(c.argv.end(), {"--platform", platform.str()});
  if (!spec.network.empty()) c.argv.insert(c.argv.end(), {"--network", spec.network});
  if (cache == Cache::ignore) c.argv.push_back("--no-cache");
  c.argv.insert(c.argv.end(), {"--file", spec.dockerfile.string(), "--iidfile", iidfile.string()});
  for (const auto& r : references) c.argv.insert(c.argv.end(), {"--tag", r});
  for (const auto& a : spec.build_args) c.argv.insert(c.argv.end(), {"--build-arg", a.name + "=" + a.value});
  const auto& options = spec.build_options;
  if (!options.target_stage.empty()) c.argv.insert(c.argv.end(), {"--target", options.target_stage});
  // Where each secret's value is, never the value: docker and podman read it themselves.
  for (const auto& s : options.secrets)
    c.argv.insert(c.argv.end(), {"--secret", "id=" + s.id + (s.env.empty() ? ",src=" + s.src.string() : ",env=" + s.env)});
  for (const auto& ssh : options.ssh) c.argv.insert(c.argv.end(), {"--ssh", ssh});
  c.argv.push_back(spec.context.string());
}

Engine::ImageInfo CliEngine::image_info(const std::string& image_id) {
  const auto c = command({"image", "inspect", "--format", "{{.Os}}/{{.Architecture}} {{.Size}}", image_id});
  const auto r = query(c);
  require_success(c, r, name() + " image inspect " + image_id);
  // "<os>/<architecture> <bytes>"
  const auto text = trim(r.out);
  const auto space = text.find(' ');
  const auto size = space == std::string::npos ? std::nullopt : whole_number<std::uint64_t>(trim(text.substr(space + 1)));
  if (!size || *size > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    throw Error(Exit::step_failed,
                name() + " image inspect " + image_id + " answered '" + text + "', not the image's platform and size in bytes");
  return {text.substr(0, space), static_cast<std::int64_t>(*size)};
}

void CliEngine::load(const std::filesystem::path& archive) {
  const auto c = command({"load", "--input", archive.string()});
  require_success(c, runner_.run(c, Output::capture, log_), name() + " load");
}

Result CliEngine::run_image(const Spec& spec, const Platform& platform, const std::string& image_id,
                            const std::vector<std::string>& args) {
  auto c = command({"run", "--rm", "--platform", platform.str()});
  if (!spec.network.empty()) c.argv.insert(c.argv.end(), {"--network", spec.network});
  c.argv.insert(c.argv.end(), spec.run_options.begin(), spec.run_options.end());
  c.argv.push_back(image_id);
  c.argv.insert(c.argv.end(), args.begin(), args.end());
  return runner_.run(c, Output::capture, log_);
}

}  // namespace mai
