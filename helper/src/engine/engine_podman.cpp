#include "engine/engine_podman.hpp"

#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/files.hpp"
#include "base/retry.hpp"
#include "base/text.hpp"
#include "oci/index.hpp"

namespace mai {
namespace {

// Podman 4.3 reports a store race (a concurrent build's "locating item named manifest ... file does
// not exist") as exit 125, unlike a plain "no such image" (1): worth a few quick attempts.
constexpr RetryPolicy kStoreRace{5, std::chrono::milliseconds(200), std::chrono::seconds(0)};

void add_tls(Command& c, const Repository& repository) {
  if (repository.loopback()) c.argv.push_back("--tls-verify=false");
}

}  // namespace

PodmanEngine::PodmanEngine(std::string podman, std::string skopeo, Runner& runner, const Log& log, const std::string& builder)
    : CliEngine(std::move(podman), runner, log), skopeo_(std::move(skopeo)) {
  if (builder.starts_with("buildx:"))
    throw Error(Exit::invalid_input, "builder '" + builder +
                                         "' is a docker buildx builder; podman takes a service URL "
                                         "(unix://, tcp://, ssh://) or a system connection name");
  if (is_engine_url(builder))
    global_ = {"--url", builder};
  else if (!builder.empty())
    global_ = {"--connection", builder};
}

Result PodmanEngine::query(const Command& c) {
  Backoff backoff(kStoreRace);
  Result r;
  do r = runner_.run(c, Output::capture, log_);
  while (r.exit_code == 125 && backoff.wait_before_next());
  return r;
}

Result PodmanEngine::probe() { return runner_.run(command({"version"}), Output::capture, log_); }

BuiltImage PodmanEngine::build(const Spec& spec, const Platform& platform, const std::vector<std::string>& references,
                               const std::filesystem::path& scratch, Cache cache, const BuildSources& sources) {
  const auto iidfile = scratch / "iid";
  // Podman 4.3's layer cache ignores the platform: a concurrent or earlier build for another platform
  // leaks its cached steps, and with them its architecture variant, into this image's config. The
  // build graph already decides when a platform is rebuilt, so podman's layer cache is not used.
  if (sources.inline_cache)
    throw Error(Exit::invalid_input,
                "REGISTRY_CACHE needs docker with BuildKit: podman's --cache-from needs its layer cache, which is off here "
                "(podman 4.3's does not tell platforms apart); set ENGINE docker, or leave REGISTRY_CACHE out");
  auto c = command({"build", "--layers=false"});
  static constexpr const char* kPull[] = {"", "--pull=always", "--pull=missing", "--pull=never"};
  if (sources.pull != Pull::engine_default) c.argv.push_back(kPull[static_cast<int>(sources.pull)]);
  if (sources.pull == Pull::always || sources.pull == Pull::missing)
    if (std::any_of(sources.registries.begin(), sources.registries.end(), [](const Repository& r) { return r.loopback(); }))
      c.argv.push_back("--tls-verify=false");
  add_build_options(c, spec, platform, references, iidfile, cache);
  require_success(c, runner_.run(c, Output::stream, log_), "podman build for " + platform.str());
  auto id = trim(read_text_file(iidfile));
  if (!id.starts_with("sha256:")) id = "sha256:" + id;
  return {id, "podman"};
}

bool PodmanEngine::has_image(const std::string& image_id) { return query(command({"image", "exists", image_id})).ok(); }

std::string PodmanEngine::push(const std::string& image_id, const std::string& reference, const Repository& repository,
                               const std::filesystem::path& scratch) {
  const auto digestfile = scratch / "digest";
  auto c = command({"push"});
  c.registry = true;
  c.on_rate_limit = wait_for_rate_limit_;
  c.names = names_in_push_output(reference);
  add_tls(c, repository);
  c.argv.insert(c.argv.end(), {"--digestfile", digestfile.string(), image_id, "docker://" + reference});
  const auto pushed = runner_.run(c, Output::stream, log_);
  if (!pushed.ok()) refuse_on_registry_limit(pushed, "podman", reference);
  require_success(c, pushed, "podman push " + reference);
  if (std::filesystem::exists(digestfile)) return trim(read_text_file(digestfile));
  // A remote podman (--url, --connection) writes no --digestfile in 4.3: hash what the registry serves.
  Command raw{{skopeo_, "inspect", "--raw"}};
  raw.registry = true;
  add_tls(raw, repository);
  raw.argv.push_back("docker://" + reference);
  const auto r = runner_.run(raw, Output::capture, log_);
  require_success(raw, r, "reading the pushed manifest of " + reference);
  return sha256_digest(r.out);
}

}  // namespace mai
