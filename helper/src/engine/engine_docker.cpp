#include "engine/engine_docker.hpp"

#include <regex>

#include "base/error.hpp"
#include "base/files.hpp"
#include "base/text.hpp"

namespace mai {

std::string parse_push_digest(const std::string& output) {
  static const std::regex digest(R"(digest: (sha256:[0-9a-f]{64}))");
  std::smatch m;
  std::string last;
  for (auto it = output.cbegin(); std::regex_search(it, output.cend(), m, digest); it = m.suffix().first) last = m[1];
  return last;
}

DockerEngine::DockerEngine(std::string executable, Runner& runner, const Log& log, const std::string& builder)
    : CliEngine(std::move(executable), runner, log) {
  if (builder.starts_with("buildx:"))
    buildx_builder_ = builder.substr(7);
  else if (is_engine_url(builder))
    global_ = {"--host", builder};
  else if (!builder.empty())
    global_ = {"--context", builder};
}

Result DockerEngine::probe() {
  // Server.Version needs the daemon: the client alone answering is not enough.
  return runner_.run(command({"version", "--format", "{{.Server.Version}}"}), Output::capture, log_);
}

DockerEngine::Method DockerEngine::detect_method() {
  if (runner_.run(command({"buildx", "version"}), Output::capture, log_).ok()) return Method::buildx;
  if (!buildx_builder_.empty())
    throw Error(Exit::engine_missing,
                "builder buildx:" + buildx_builder_ + " needs the docker buildx plugin, which " + exe_ + " does not have");
  const auto version = command({"version", "--format", "{{.Client.Version}}"});
  const auto r = runner_.run(version, Output::capture, log_);
  // With the daemon down, `docker version` prints the client's version and exits 1: the client's
  // version is all this needs, and the build then reports the daemon in docker's own words.
  if (trim(r.out).empty()) require_success(version, r, "asking docker for its version");
  // Clients from 23.0 on delegate BuildKit to the buildx plugin; older ones have it built in. A version
  // that does not begin with a number ("dev") is taken for a current client's.
  const auto version_text = trim(r.out);
  const auto major = whole_number<unsigned>(version_text.substr(0, version_text.find('.')));
  return major && *major > 0 && *major < 23 ? Method::buildkit : Method::legacy;
}

BuiltImage DockerEngine::build(const Spec& spec, const Platform& platform, const std::vector<std::string>& references,
                               const std::filesystem::path& scratch, Cache cache, const BuildSources& sources) {
  const auto method = detect_method();
  const auto iidfile = scratch / "iid";
  Command c = command({});
  if (method == Method::buildx) {
    c.argv.insert(c.argv.end(), {"buildx", "build", "--load"});
    if (!buildx_builder_.empty()) c.argv.insert(c.argv.end(), {"--builder", buildx_builder_});
  } else {
    c.argv.push_back("build");
  }
  if (method != Method::legacy) c.argv.push_back("--progress=plain");
  c.env.emplace_back("DOCKER_BUILDKIT", method == Method::legacy ? "0" : "1");
  if (method == Method::legacy)
    log_.warn(
        "docker has no BuildKit here (no buildx plugin, client 23.0 or newer): using the legacy builder, "
        "which leaves TARGETARCH/TARGETPLATFORM empty and cannot build FROM scratch for foreign platforms. "
        "Install the buildx plugin or point MULTIARCH_IMAGE_DOCKER at a client with BuildKit.");
  if (method == Method::legacy &&
      (!spec.build_options.secrets.empty() || !spec.build_options.ssh.empty() || sources.inline_cache))
    throw Error(Exit::invalid_input,
                "SECRETS, SSH and REGISTRY_CACHE need BuildKit, which " + exe_ +
                    " does not have here (no buildx plugin, client 23.0 or newer): install the buildx plugin or point "
                    "MULTIARCH_IMAGE_DOCKER at a client with BuildKit built in (20.10), or use podman");
  if (sources.pull == Pull::never)
    throw Error(Exit::invalid_input,
                "PULL NEVER: docker build cannot be told never to pull a base (it pulls a missing one); use PULL MISSING, "
                "or ENGINE podman");
  if (sources.pull == Pull::always) c.argv.push_back("--pull");
  // The cache's metadata goes into the image's config, which the push carries to the registry; a
  // build argument to BuildKit's frontend, not to the Dockerfile (buildx's docker driver reads it too).
  if (sources.inline_cache) c.argv.insert(c.argv.end(), {"--build-arg", "BUILDKIT_INLINE_CACHE=1"});
  if (!sources.cache_from.empty() && cache == Cache::use) {  // (built again without any cache: none)
    // The image is pulled first: a cache BuildKit only imports leaves the steps it takes from it out of
    // the cache it writes, so every other build ran them again (moby/buildkit#1981; seen here with
    // docker 20.10: the third of three runners with empty daemons ran the RUN step again). A failed
    // pull leaves BuildKit to import it.
    auto pull = command({"pull", "--quiet", sources.cache_from});
    pull.registry = true;
    if (const auto pulled = runner_.run(pull, Output::capture, log_); !pulled.ok())
      log_.warn("REGISTRY_CACHE: docker pull " + sources.cache_from + " failed (exit " + std::to_string(pulled.exit_code) +
                "); BuildKit imports its cache instead, which a later build may miss:\n" + pulled.tail);
    c.argv.insert(c.argv.end(), {"--cache-from", sources.cache_from});
  }
  add_build_options(c, spec, platform, references, iidfile, cache);
  require_success(c, runner_.run(c, Output::stream, log_), "docker build for " + platform.str());
  static constexpr const char* kNames[] = {"buildx", "buildkit", "legacy"};
  return {trim(read_text_file(iidfile)), kNames[static_cast<int>(method)]};
}

bool DockerEngine::has_image(const std::string& image_id) {
  return runner_.run(command({"image", "inspect", "--format", "{{.Id}}", image_id}), Output::capture, log_).ok();
}

std::string DockerEngine::push(const std::string& image_id, const std::string& reference, const Repository&,
                               const std::filesystem::path&) {
  // Tag the exact image that was built: another build tree may have moved the tag since.
  const auto tag = command({"tag", image_id, reference});
  require_success(tag, runner_.run(tag, Output::capture, log_), "docker tag " + reference);
  auto push = command({"push", reference});
  push.registry = true;
  push.on_rate_limit = wait_for_rate_limit_;
  push.names = names_in_push_output(reference);
  const auto r = runner_.run(push, Output::stream, log_);
  if (!r.ok()) refuse_on_registry_limit(r, "docker", reference);
  require_success(push, r, "docker push " + reference);
  auto digest = parse_push_digest(r.tail);
  if (digest.empty()) throw Error(Exit::step_failed, "docker push " + reference + " printed no digest:\n" + r.tail);
  return digest;
}

}  // namespace mai
