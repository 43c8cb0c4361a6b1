// Every step of the pipeline, as the helper's subcommands run them, each in a file named after it
// (<step>_step.cpp; the image test and load steps share load_and_test_steps.cpp, attach and referrers
// sign_step.cpp): stage and compose (TARGETS, INSTALL), build, push, manifest (the index), sign,
// test and load, plan. Each removes its record first and writes it last, so only a step that
// succeeded leaves one. Every line a step prints goes through its log (step_log), nested steps
// through theirs.
#pragma once

#include <filesystem>
#include <vector>

#include "base/log.hpp"
#include "base/runner.hpp"
#include "model/spec.hpp"
#include "registry/transport.hpp"
#include "stage/staging.hpp"

namespace mai {

class Engine;

// Stages one platform's files (TARGETS, INSTALL, RUNTIME) into request.out, as stage/staging.hpp
// describes, writing the staged-files record and the stamp. Returns the staged entries, relative to
// out.
std::vector<std::string> stage_step(const StageRequest& request, Runner& runner, const Log& log);

// Mirrors the source context (what .dockerignore lets through, less `exclude`) into `composed` with
// hard links (copies across file systems), leaving `keep` (the staged trees) alone, and writes a
// depfile of the source inputs for `stamp`. Only changed entries are touched.
void compose_step(const std::filesystem::path& context, const std::filesystem::path& dockerfile,
                  const std::vector<std::filesystem::path>& exclude, const std::filesystem::path& composed,
                  const std::string& keep, const std::filesystem::path& stamp, const std::filesystem::path& depfile);

// The spec as one platform's build sees it when the image has staged targets: the composed context,
// MULTIARCH_STAGE=<dir>/<platform suffix> as a build arg, and other platforms' trees kept out of the
// depfile. Unchanged when the spec has no stage.
Spec spec_for_platform_build(const Spec& spec, const Platform& platform);

void build_step(const Spec& spec, const Platform& platform, const std::filesystem::path& record,
                const std::filesystem::path& depfile, Runner& runner, const Log& log);

void push_step(const Spec& spec, const Platform& platform, const std::filesystem::path& build_record,
               const std::filesystem::path& record, Runner& runner, const Log& log);

// `record` is the image's metadata.json. The list is published through `transport` (the registry
// client's); `runner` pushes platforms whose push record is unusable and runs credential helpers.
void manifest_step(const Spec& spec, const std::vector<std::filesystem::path>& push_records, const std::filesystem::path& record,
                   Runner& runner, Transport& transport, const Log& log);
// The manifest step of a merge job (MULTIARCH_IMAGE_MERGE_RECORDS): the push records are those other
// build trees wrote (MULTIARCH_IMAGE_ONLY_PLATFORMS), found anywhere under `dirs`; exactly one digest per
// platform of the spec, for its repository, each manifest in the registry, else nothing is published.
// Nothing is built or pushed again. `depfile` lists the records used.
void merge_step(const Spec& spec, const std::vector<std::filesystem::path>& dirs, const std::filesystem::path& record,
                const std::filesystem::path& depfile, Runner& runner, Transport& transport, const Log& log);

// SIGN_COMMAND: `command` run once for the index metadata.json names, @REFERENCE@ in each argument
// replaced by <repository>@<index digest>; `record` is written when it succeeds, and names that
// reference, so the same index is not signed twice. Secrets reach the command through the
// environment the build runs in, never through arguments of ours or records.
void sign_step(const Spec& spec, const std::vector<std::string>& command, const std::filesystem::path& metadata,
               const std::filesystem::path& record, Runner& runner, const Log& log);
// PROMOTE_TO: the index `metadata` (metadata.json) names, copied with everything below it and every
// referrer to each repository `destinations` (promote-to.json) lists, byte for byte, tagged with its
// tags there, everything read back; `record` names what went where, keyed on the index, its tags,
// documents and signature and the destinations, so the same promotion is not done twice.
// `signed_record` (signed.json; "" none) names the signed index. Credentials for every destination
// come from where the push's come from (the engine's files, credential helpers).
struct PromoteRequest {
  std::filesystem::path metadata, destinations, signed_record, record;
};
void promote_step(const Spec& spec, const PromoteRequest& request, Runner& runner, Transport& transport, const Log& log);

// `attach`: `artifact` published as a referrer of `reference` (<repository>@sha256:...), for the
// commands a signer runs. `referrers`: the referrers of `reference`, one JSON object per line.
struct Artifact;
void attach_command(const std::string& reference, const Artifact& artifact, Runner& runner, const Log& log);
void referrers_command(const std::string& reference, Runner& runner, const Log& log);

// `symbols`: the debug symbols DEBUG_SYMBOLS ATTACH published beside a platform's image, fetched into
// `out` as .build-id/ab/cdef….debug files (what GDB's debug-file-directory and debuginfod -F read).
struct SymbolsRequest {
  std::string reference;  // <repository>[:<tag>|@<digest>]; "" the index `metadata` names
  Platform platform;
  std::filesystem::path out;
  const Spec* spec = nullptr;      // registry settings from the spec; else from the environment
  std::filesystem::path metadata;  // metadata.json: names the artifact (a registry that lists no referrers); "" none
};
void symbols_command(const SymbolsRequest& request, Runner& runner, const Log& log);

// Prints the engine commands every step would run, in order, without running them.
void plan_step(const Spec& spec, Runner& runner, const Log& log);

// <repository>:<tag>-<arch><variant> for every tag: the platform's own references.
std::vector<std::string> platform_references(const Spec& spec, const Platform& platform);

// An assembled image (BASE) of `platform` put into the spec's engine (docker or podman, "auto": the
// first that answers), tagged <repository>:<tag>-<arch><variant>; returns that reference. Through
// skopeo: the layout's image copied to a docker-archive, which the engine loads. `engine` may be
// given (the test step has one); else one is resolved.
std::string load_step(const Spec& spec, const Platform& platform, const std::filesystem::path& build_record, Runner& runner,
                      const Log& log, Engine* engine = nullptr);

// Runs the platform's built image with `args`; passes on exit 0 and output matching `expect` (if any).
void test_step(const Spec& spec, const Platform& platform, const std::filesystem::path& build_record,
               const std::vector<std::string>& args, const std::string& expect, Runner& runner, const Log& log);

// The log of an image's step for `platform`, or of the image's own steps (manifest, plan) for nullptr.
inline Log step_log(const Spec& spec, const Platform* platform) { return Log(spec.name, platform ? platform->str() : ""); }

}  // namespace mai
