#include "engine_docker.hpp"

#include <regex>

#include "console.hpp"
#include "error.hpp"
#include "json_file.hpp"
#include "text.hpp"

namespace mai {

std::string parse_push_digest(const std::string& output) {
  static const std::regex digest(R"(digest: (sha256:[0-9a-f]{64}))");
  std::smatch m;
  std::string last;
  for (auto it = output.cbegin(); std::regex_search(it, output.cend(), m, digest); it = m.suffix().first) last = m[1];
  return last;
}

DockerEngine::DockerEngine(std::string executable, Runner& runner, const std::string& builder)
    : exe_(std::move(executable)), runner_(runner) {
  if (builder.starts_with("buildx:")) buildx_builder_ = builder.substr(7);
  else if (is_engine_url(builder)) global_ = {"--host", builder};
  else if (!builder.empty()) global_ = {"--context", builder};
}

Command DockerEngine::docker(std::vector<std::string> args) const {
  Command c{{exe_}};
  c.argv.insert(c.argv.end(), global_.begin(), global_.end());
  c.argv.insert(c.argv.end(), std::make_move_iterator(args.begin()), std::make_move_iterator(args.end()));
  return c;
}

Result DockerEngine::probe() {
  // Server.Version needs the daemon: the client alone answering is not enough.
  return runner_.run(docker({"version", "--format", "{{.Server.Version}}"}), Output::capture);
}

DockerEngine::Method DockerEngine::detect_method() {
  if (runner_.run(docker({"buildx", "version"}), Output::capture).ok()) return Method::buildx;
  if (!buildx_builder_.empty())
    throw Error(Exit::engine_missing, "builder buildx:" + buildx_builder_ + " needs the docker buildx plugin, which " +
                                          exe_ + " does not have");
  const auto version = docker({"version", "--format", "{{.Client.Version}}"});
  const auto r = runner_.run(version, Output::capture);
  // With the daemon down, `docker version` prints the client's version and exits 1: the client's
  // version is all this needs, and the build then reports the daemon in docker's own words.
  if (trim(r.out).empty()) require_success(version, r, "asking docker for its version");
  const auto major = std::atoi(trim(r.out).c_str());
  // Clients from 23.0 on delegate BuildKit to the buildx plugin; older ones have it built in.
  return major > 0 && major < 23 ? Method::buildkit : Method::legacy;
}

BuiltImage DockerEngine::build(const Spec& spec, const Platform& platform, const std::vector<std::string>& references,
                               const std::filesystem::path& scratch, bool no_cache) {
  const auto method = detect_method();
  const auto iidfile = scratch / "iid";
  Command c = docker({});
  if (method == Method::buildx) {
    c.argv.insert(c.argv.end(), {"buildx", "build", "--load"});
    if (!buildx_builder_.empty()) c.argv.insert(c.argv.end(), {"--builder", buildx_builder_});
  } else {
    c.argv.push_back("build");
  }
  if (method != Method::legacy) c.argv.push_back("--progress=plain");
  c.env.emplace_back("DOCKER_BUILDKIT", method == Method::legacy ? "0" : "1");
  if (method == Method::legacy)
    warn_line("", "docker has no BuildKit here (no buildx plugin, client 23.0 or newer): using the legacy builder, "
                  "which leaves TARGETARCH/TARGETPLATFORM empty and cannot build FROM scratch for foreign platforms. "
                  "Install the buildx plugin or point MULTIARCH_IMAGE_DOCKER at a client with BuildKit.");
  c.argv.insert(c.argv.end(), {"--platform", platform.str()});
  if (!spec.network.empty()) c.argv.insert(c.argv.end(), {"--network", spec.network});
  if (no_cache) c.argv.push_back("--no-cache");
  c.argv.insert(c.argv.end(), {"--file", spec.dockerfile.string(), "--iidfile", iidfile.string()});
  for (const auto& r : references) c.argv.insert(c.argv.end(), {"--tag", r});
  for (const auto& a : spec.build_args) c.argv.insert(c.argv.end(), {"--build-arg", a.name + "=" + a.value});
  c.argv.push_back(spec.context.string());
  require_success(c, runner_.run(c, Output::stream), "docker build for " + platform.str());
  static constexpr const char* kNames[] = {"buildx", "buildkit", "legacy"};
  return {trim(read_text_file(iidfile)), kNames[static_cast<int>(method)]};
}

Engine::ImageInfo DockerEngine::image_info(const std::string& image_id) {
  const auto c = docker({"image", "inspect", "--format", "{{.Os}}/{{.Architecture}} {{.Size}}", image_id});
  const auto r = runner_.run(c, Output::capture);
  require_success(c, r, "docker image inspect " + image_id);
  const auto text = trim(r.out);
  const auto space = text.find(' ');
  return {text.substr(0, space), space == std::string::npos ? 0 : std::atoll(text.c_str() + space + 1)};
}

bool DockerEngine::has_image(const std::string& image_id) {
  return runner_.run(docker({"image", "inspect", "--format", "{{.Id}}", image_id}), Output::capture).ok();
}

std::string DockerEngine::push(const std::string& image_id, const std::string& reference, const Repository&,
                               const std::filesystem::path&) {
  // Tag the exact image that was built: another build tree may have moved the tag since.
  const auto tag = docker({"tag", image_id, reference});
  require_success(tag, runner_.run(tag, Output::capture), "docker tag " + reference);
  auto push = docker({"push", reference});
  push.registry = true;
  const auto r = runner_.run(push, Output::stream);
  require_success(push, r, "docker push " + reference);
  const auto digest = parse_push_digest(r.tail);
  if (digest.empty()) throw Error(Exit::step_failed, "docker push " + reference + " printed no digest:\n" + r.tail);
  return digest;
}

Result DockerEngine::run_image(const Spec& spec, const Platform& platform, const std::string& image_id,
                              const std::vector<std::string>& args) {
  auto c = docker({"run", "--rm", "--platform", platform.str()});
  if (!spec.network.empty()) c.argv.insert(c.argv.end(), {"--network", spec.network});
  c.argv.insert(c.argv.end(), spec.run_options.begin(), spec.run_options.end());
  c.argv.push_back(image_id);
  c.argv.insert(c.argv.end(), args.begin(), args.end());
  return runner_.run(c, Output::capture);
}

}  // namespace mai
