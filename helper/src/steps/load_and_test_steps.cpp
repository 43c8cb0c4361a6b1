// test and load: one platform's built image run as a ctest test (TEST_COMMAND / TEST_EXPECT: exit
// status 0 and, when given, output matching a regular expression); an assembled image put into
// docker or podman first (load), which <name>-load-<platform> also does on its own.
#include <regex>

#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/files.hpp"
#include "base/scratch.hpp"
#include "base/stopwatch.hpp"
#include "engine/factory.hpp"
#include "image/assemble.hpp"
#include "image/base_tree.hpp"
#include "model/records.hpp"
#include "registry/session.hpp"
#include "steps/steps.hpp"

namespace mai {

std::string load_step(const Spec& spec, const Platform& platform, const std::filesystem::path& build_record, Runner& runner,
                      const Log& log, Engine* engine) {
  const auto built = read_build_record(build_record, log);
  if (!built || built->engine != "none")
    throw Error(Exit::step_failed, "no assembled image of " + platform.str() + " at " + build_record.string() +
                                       ": build it first (cmake --build <dir> --target " + spec.name + "-build-" +
                                       platform.target_suffix() + ")");
  // The base's layers, which the build step put into the layout, fetched again if they went since.
  if (!built->base_layers.empty()) {
    std::vector<Descriptor> missing;
    std::error_code ec;
    for (const auto& digest : built->base_layers)
      if (!std::filesystem::exists(layout_blob(spec.image.layout, digest), ec)) missing.push_back({"", digest, -1});
    if (!missing.empty()) {
      log.warn(std::to_string(missing.size()) + " of the base's layers are no longer in " + spec.image.layout.string() +
               "; fetching them");
      RegistrySession source(parse_repository(built->base_repository), registry_settings(spec), "none", runner, log);
      fetch_base_layers(source.client, missing, spec.image.layout / "blobs" / "sha256", built->base_repository, log);
    }
  }
  std::unique_ptr<Engine> resolved;
  if (!engine) engine = (resolved = resolve_engine(spec, runner, log, "")).get();
  auto reference = platform_references(spec, platform).front();
  const ScratchDir scratch(build_record);
  const auto archive = scratch.path() / "image.tar";
  // skopeo's oci: transport lists only OCI-typed manifests, and an image on a Docker base is in the
  // Docker family: its dir: transport takes either, so the image goes through a dir: view of the
  // layout (its manifest, and its blobs linked, not copied).
  const auto view = scratch.path() / "dir";
  std::filesystem::create_directories(view);
  const auto manifest = read_text_file(layout_blob(spec.image.layout, built->image_id));
  if (sha256_digest(manifest) != built->image_id)
    throw Error(Exit::verify_failed,
                "the manifest " + built->image_id + " in " + spec.image.layout.string() + " has other content");
  write_file_atomically(view / "manifest.json", manifest);
  write_file_atomically(view / "version", "Directory Transport Version: 1.1\n");
  std::vector<std::string> blobs{built->config_digest};
  blobs.insert(blobs.end(), built->base_layers.begin(), built->base_layers.end());
  blobs.insert(blobs.end(), built->layers.begin(), built->layers.end());
  for (const auto& digest : blobs) {
    const auto from = layout_blob(spec.image.layout, digest);
    const auto to = view / digest.substr(7);
    std::error_code ec;
    if (std::filesystem::exists(to, ec)) continue;
    std::filesystem::create_hard_link(from, to, ec);
    if (ec) std::filesystem::copy_file(from, to);  // another file system
  }
  const Command copy{
      {spec.skopeo, "copy", "--quiet", "dir:" + view.string(), "docker-archive:" + archive.string() + ":" + reference}};
  require_success(copy, runner.run(copy, Output::capture, log), "copying " + platform.str() + " out of the layout");
  engine->load(archive);
  log.info("loaded " + reference + " (" + built->image_id.substr(0, 19) + ") into " + engine->name());
  return reference;
}

void test_step(const Spec& spec, const Platform& platform, const std::filesystem::path& build_record,
               const std::vector<std::string>& args, const std::string& expect, Runner& runner, const Log& log) {
  const Stopwatch clock;
  const auto built = read_build_record(build_record, log);
  if (!built)
    throw Error(Exit::step_failed, "no image of " + platform.str() + " to test: build it first (cmake --build <dir> --target " +
                                       spec.name + "-build-" + platform.target_suffix() + ", or image-build)");
  // An assembled image is in no engine yet: loaded into one, then run like the others.
  auto engine = built->engine == "none" ? resolve_engine(spec, runner, log, "")
                                        : make_engine(built->engine, spec, runner, log, built->builder);
  const auto image =
      built->engine == "none" ? load_step(spec, platform, build_record, runner, log, engine.get()) : built->image_id;
  const auto r = engine->run_image(spec, platform, image, args);
  std::string output = r.out;
  log.info("test output:");
  std::size_t start = 0;
  while (start < output.size()) {
    const auto nl = output.find('\n', start);
    log.info("  " + output.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  if (!r.ok())
    throw Error(Exit::step_failed, "the image of " + platform.str() + " exited " + std::to_string(r.exit_code) +
                                       (r.tail.empty() ? "" : ":\n" + r.tail));
  if (!expect.empty()) {
    std::regex re;
    try {
      re = std::regex(expect, std::regex::ECMAScript | std::regex::multiline);
    } catch (const std::regex_error& e) {
      throw Error(Exit::invalid_input, "TEST_EXPECT '" + expect + "' is not a valid regular expression: " + e.what());
    }
    if (!std::regex_search(output, re))
      throw Error(Exit::step_failed, "the output of " + platform.str() + " does not match TEST_EXPECT '" + expect + "'");
  }
  log.info("test passed in " + clock.str());
}

}  // namespace mai
