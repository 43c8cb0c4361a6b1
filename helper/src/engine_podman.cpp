#include "engine_podman.hpp"

#include <unistd.h>

#include <chrono>
#include <thread>

#include "digest.hpp"
#include "error.hpp"
#include "index.hpp"
#include "json_file.hpp"
#include "text.hpp"

namespace mai {
namespace {

void add_tls(Command& c, const Repository& repository) {
  if (repository.loopback()) c.argv.push_back("--tls-verify=false");
}

}  // namespace

PodmanEngine::PodmanEngine(std::string podman, std::string skopeo, Runner& runner, const std::string& builder)
    : exe_(std::move(podman)), skopeo_(std::move(skopeo)), runner_(runner) {
  if (builder.starts_with("buildx:"))
    throw Error(Exit::invalid_input, "builder '" + builder + "' is a docker buildx builder; podman takes a service URL "
                                     "(unix://, tcp://, ssh://) or a system connection name");
  if (is_engine_url(builder)) global_ = {"--url", builder};
  else if (!builder.empty()) global_ = {"--connection", builder};
}

Command PodmanEngine::podman(std::vector<std::string> args) const {
  Command c{{exe_}};
  c.argv.insert(c.argv.end(), global_.begin(), global_.end());
  c.argv.insert(c.argv.end(), std::make_move_iterator(args.begin()), std::make_move_iterator(args.end()));
  return c;
}

Result PodmanEngine::query(const Command& c) {
  // Concurrent builds in one store can make a query fail for a moment ("locating item named manifest
  // ... file does not exist"); podman reports that as exit 125, unlike a plain "no such image" (1).
  Result r;
  for (int attempt = 0; attempt < 5; ++attempt) {
    r = runner_.run(c, Output::capture);
    if (r.exit_code != 125) return r;
    std::this_thread::sleep_for(std::chrono::milliseconds(200 << attempt));
  }
  return r;
}

Result PodmanEngine::probe() { return runner_.run(podman({"version"}), Output::capture); }

BuiltImage PodmanEngine::build(const Spec& spec, const Platform& platform, const std::vector<std::string>& references,
                               const std::filesystem::path& scratch, bool no_cache) {
  const auto iidfile = scratch / "iid";
  // Podman 4.3's layer cache ignores the platform: a concurrent or earlier build for another platform
  // leaks its cached steps, and with them its architecture variant, into this image's config. The
  // build graph already decides when a platform is rebuilt, so podman's layer cache is not used.
  auto c = podman({"build", "--layers=false", "--platform", platform.str()});
  if (!spec.network.empty()) c.argv.insert(c.argv.end(), {"--network", spec.network});
  if (no_cache) c.argv.push_back("--no-cache");
  c.argv.insert(c.argv.end(), {"--file", spec.dockerfile.string(), "--iidfile", iidfile.string()});
  for (const auto& r : references) c.argv.insert(c.argv.end(), {"--tag", r});
  for (const auto& a : spec.build_args) c.argv.insert(c.argv.end(), {"--build-arg", a.name + "=" + a.value});
  c.argv.push_back(spec.context.string());
  require_success(c, runner_.run(c, Output::stream), "podman build for " + platform.str());
  auto id = trim(read_text_file(iidfile));
  if (!id.starts_with("sha256:")) id = "sha256:" + id;
  return {id, "podman"};
}

Engine::ImageInfo PodmanEngine::image_info(const std::string& image_id) {
  const auto c = podman({"image", "inspect", "--format", "{{.Os}}/{{.Architecture}} {{.Size}}", image_id});
  const auto r = query(c);
  require_success(c, r, "podman image inspect " + image_id);
  const auto text = trim(r.out);
  const auto space = text.find(' ');
  return {text.substr(0, space), space == std::string::npos ? 0 : std::atoll(text.c_str() + space + 1)};
}

bool PodmanEngine::has_image(const std::string& image_id) {
  return query(podman({"image", "exists", image_id})).ok();
}

std::string PodmanEngine::push(const std::string& image_id, const std::string& reference, const Repository& repository,
                               const std::filesystem::path& scratch) {
  const auto digestfile = scratch / "digest";
  auto c = podman({"push"});
  c.registry = true;
  add_tls(c, repository);
  c.argv.insert(c.argv.end(), {"--digestfile", digestfile.string(), image_id, "docker://" + reference});
  require_success(c, runner_.run(c, Output::stream), "podman push " + reference);
  if (std::filesystem::exists(digestfile)) return trim(read_text_file(digestfile));
  // A remote podman (--url, --connection) writes no --digestfile in 4.3: hash what the registry serves.
  Command raw{{skopeo_, "inspect", "--raw"}};
  raw.registry = true;
  add_tls(raw, repository);
  raw.argv.push_back("docker://" + reference);
  const auto r = runner_.run(raw, Output::capture);
  require_success(raw, r, "reading the pushed manifest of " + reference);
  return sha256_digest(r.out);
}

Result PodmanEngine::run_image(const Spec& spec, const Platform& platform, const std::string& image_id,
                              const std::vector<std::string>& args) {
  auto c = podman({"run", "--rm", "--platform", platform.str()});
  if (!spec.network.empty()) c.argv.insert(c.argv.end(), {"--network", spec.network});
  c.argv.insert(c.argv.end(), spec.run_options.begin(), spec.run_options.end());
  c.argv.push_back(image_id);
  c.argv.insert(c.argv.end(), args.begin(), args.end());
  return runner_.run(c, Output::capture);
}

}  // namespace mai
