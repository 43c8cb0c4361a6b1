// The JSON records each step writes as its CMake OUTPUT. A record exists only when its step succeeded;
// one that is unreadable or from another format version reads as absent.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/log.hpp"
#include "oci/platform.hpp"

namespace mai {

constexpr int kRecordFormat = 1;

struct BuildRecord {
  std::string name;
  std::string platform;
  std::string engine;
  std::string method;   // how the engine built it: buildx, buildkit, legacy, podman
  std::string builder;  // the engine instance that built it (empty: the default)
  std::string image_id;
  std::int64_t image_size = 0;          // bytes, as the engine reports the local image
  std::vector<std::string> references;  // <repository>:<tag>-<arch><variant>
  double seconds = 0;
  // Images the helper assembled (engine "none"): image_id is the manifest's digest, in the layout.
  std::string config_digest;
  std::vector<std::string> layers;  // layer blob digests, in order
  std::string base_digest;          // the base image's manifest; empty for scratch
  std::string base_repository;      // where the base's layers are (pushed by mount or copy)
  std::vector<std::string> base_layers;
};

// DEBUG_SYMBOLS ATTACH: the debug information published beside a platform's image.
struct PublishedSymbols {
  std::string artifact;   // the artifact manifest, a referrer of the pushed digest; "" none
  std::string archive;    // its one layer: the tar of .build-id/ab/cdef….debug files
  std::int64_t size = 0;  // the archive's bytes
  struct File {
    std::string path;  // the stripped file in the image
    std::string build_id;
  };
  std::vector<File> files;
};

struct PushRecord {
  std::string name;
  std::string platform;
  std::string engine;
  std::string builder;
  std::string image_id;
  std::string repository;
  std::string digest;  // of the pushed manifest
  std::vector<std::string> references;
  double seconds = 0;
  std::string provenance;  // the provenance statement's artifact manifest, a referrer of `digest`; "" none
  std::string sbom;        // the SBOM's artifact manifest, a referrer of `digest`; "" none
  // Where the registry lists them: "api" (its referrers API), "tag" (the referrers tag schema) or
  // "none" (nowhere: a registry that keeps them by digest only); "" when there are none.
  std::string referrers_index;
  PublishedSymbols debug_symbols;  // DEBUG_SYMBOLS ATTACH: also a referrer of `digest`
};

struct PlatformEntry {
  std::string platform;
  std::string digest;  // the platform's image manifest
  std::string media_type;
  std::int64_t size = 0;  // bytes of the platform's manifest, as the index states it
  std::string image_id;
  std::string builder;
  std::string pushed_digest;              // what the push made: the image, or an index around it and its attestations
  std::vector<std::string> attestations;  // attestation manifests listed beside the image (BuildKit provenance)
  std::string base_digest;                // an assembled image's base (BASE): its platform manifest
  std::string provenance;                 // its provenance statement (a referrer of pushed_digest); "" none
  std::string sbom;                       // its SBOM (a referrer of pushed_digest); "" none
  std::string referrers_index;            // where the registry lists them (PushRecord::referrers_index)
  PublishedSymbols debug_symbols;         // DEBUG_SYMBOLS ATTACH: its debug information (a referrer of pushed_digest)
};

// The manifest step's record, which is also <build>/multiarch-image/<name>/metadata.json.
struct ManifestRecord {
  std::string name;
  std::string repository;
  std::vector<std::string> tags;
  std::string engine;
  std::string index_digest;
  std::string index_media_type;
  std::vector<PlatformEntry> platforms;
  double seconds = 0;
};

void write_record(const std::filesystem::path& path, const BuildRecord& r);
void write_record(const std::filesystem::path& path, const PushRecord& r);
void write_record(const std::filesystem::path& path, const ManifestRecord& r);

// nullopt when the file is missing; a warning to `log` and nullopt when it is corrupt or of another
// format.
std::optional<BuildRecord> read_build_record(const std::filesystem::path& path, const Log& log);
std::optional<PushRecord> read_push_record(const std::filesystem::path& path, const Log& log);
std::optional<ManifestRecord> read_manifest_record(const std::filesystem::path& path, const Log& log);

// A platform's records in an image's state directory, named as the module's _multiarch_step_files() names
// them (e2e.stale_state_is_rebuilt relies on both: the manifest step finds the push and build records).
inline std::filesystem::path build_record_path(const std::filesystem::path& dir, const Platform& p) {
  return dir / ("build-" + p.target_suffix() + ".json");
}
inline std::filesystem::path build_depfile_path(const std::filesystem::path& dir, const Platform& p) {
  return dir / ("build-" + p.target_suffix() + ".d");
}
inline std::filesystem::path push_record_path(const std::filesystem::path& dir, const Platform& p) {
  return dir / ("push-" + p.target_suffix() + ".json");
}

// Removes a step's record before the step runs, so a failure cannot leave the old one standing.
void remove_record(const std::filesystem::path& path);

}  // namespace mai
