// The pipeline's steps, one file each: build.cpp, push.cpp, manifest.cpp, test_image.cpp, plan.cpp.
// Each removes its record first and writes it last, so only a step that succeeded leaves one. Every
// line a step prints goes through its log (step_log), nested steps through theirs.
#pragma once

#include <filesystem>
#include <vector>

#include "base/log.hpp"
#include "base/runner.hpp"
#include "model/spec.hpp"
#include "registry/transport.hpp"

namespace mai {

class Engine;

void build_step(const Spec& spec, const Platform& platform, const std::filesystem::path& record,
                const std::filesystem::path& depfile, Runner& runner, const Log& log);

void push_step(const Spec& spec, const Platform& platform, const std::filesystem::path& build_record,
               const std::filesystem::path& record, Runner& runner, const Log& log);

// `record` is the image's metadata.json. The list is published through `transport` (the registry
// client's); `runner` pushes platforms whose push record is unusable and runs credential helpers.
void manifest_step(const Spec& spec, const std::vector<std::filesystem::path>& push_records, const std::filesystem::path& record,
                   Runner& runner, Transport& transport, const Log& log);

// SIGN_COMMAND: `command` run once for the index metadata.json names, @REFERENCE@ in each argument
// replaced by <repository>@<index digest>; `record` is written when it succeeds, and names that
// reference, so the same index is not signed twice. Secrets reach the command through the
// environment the build runs in, never through arguments of ours or records.
void sign_step(const Spec& spec, const std::vector<std::string>& command, const std::filesystem::path& metadata,
               const std::filesystem::path& record, Runner& runner, const Log& log);
// `attach`: `artifact` published as a referrer of `reference` (<repository>@sha256:...), for the
// commands a signer runs. `referrers`: the referrers of `reference`, one JSON object per line.
struct Artifact;
void attach_command(const std::string& reference, const Artifact& artifact, Runner& runner, const Log& log);
void referrers_command(const std::string& reference, Runner& runner, const Log& log);

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
