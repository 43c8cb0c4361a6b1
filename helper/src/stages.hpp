// The pipeline's steps, one file each: build.cpp, push.cpp, manifest.cpp. Each removes its record
// first and writes it last, so only a step that succeeded leaves one.
#pragma once

#include <filesystem>
#include <vector>

#include "http.hpp"
#include "process.hpp"
#include "spec.hpp"

namespace mai {

void build_step(const Spec& spec, const Platform& platform, const std::filesystem::path& record,
                const std::filesystem::path& depfile, Runner& runner);

void push_step(const Spec& spec, const Platform& platform, const std::filesystem::path& build_record,
               const std::filesystem::path& record, Runner& runner);

// `record` is the image's metadata.json. The list is published through `transport` (the registry
// client's); `runner` pushes platforms whose push record is unusable and runs credential helpers.
void manifest_step(const Spec& spec, const std::vector<std::filesystem::path>& push_records,
                   const std::filesystem::path& record, Runner& runner, Transport& transport);

// Prints the engine commands every step would run, in order, without running them.
void plan_step(const Spec& spec, Runner& runner);

// <repository>:<tag>-<arch><variant> for every tag: the platform's own references.
std::vector<std::string> platform_references(const Spec& spec, const Platform& platform);

// Runs the platform's built image with `args`; passes on exit 0 and output matching `expect` (if any).
void test_step(const Spec& spec, const Platform& platform, const std::filesystem::path& build_record,
               const std::vector<std::string>& args, const std::string& expect, Runner& runner);

// "[name platform]": the prefix of every line a step prints.
inline std::string step_prefix(const Spec& spec, const Platform* platform) {
  return "[" + spec.name + (platform ? " " + platform->str() : "") + "]";
}

}  // namespace mai
