// Images the helper writes itself (BASE): one platform's layers, config and manifest from its staged
// tree and FILES, stored in the image's OCI image layout in the build tree. No engine, no network.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "layer.hpp"
#include "log.hpp"
#include "spec.hpp"

namespace mai {

struct AssembledImage {
  Blob manifest;
  Blob config;
  std::vector<Layer> layers;
  std::string base_digest;                    // empty for scratch
  std::vector<std::filesystem::path> inputs;  // FILES sources, files and directories, for the depfile
};

inline constexpr const char* kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* kOciConfig = "application/vnd.oci.image.config.v1+json";

// The staged tree of `platform` (may be absent: no TARGETS staged for it) and the spec's FILES,
// layered (C/C++ runtime, project libraries, executables, FILES: one layer each, empty ones left out),
// with the config and the manifest. The manifest is added to the layout's index.json, annotated with
// its platform reference name; the layout is shared by the image's platforms and updated under a lock.
AssembledImage assemble_image(const Spec& spec, const Platform& platform, const std::filesystem::path& staged, const Log& log);

// The blob file of `digest` in the layout.
std::filesystem::path layout_blob(const std::filesystem::path& layout, const std::string& digest);

}  // namespace mai
