// Every media type the helper reads or writes, in one place (OCI image spec, Docker's image manifest
// v2 schema 2, and the artifact types of what it attaches).
#pragma once

#include <string>
#include <string_view>

namespace mai::media {

// Manifests and indexes.
inline constexpr const char* oci_index = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* oci_manifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* docker_list = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr const char* docker_manifest = "application/vnd.docker.distribution.manifest.v2+json";
// Configs and layers, in the two families (a manifest keeps to one).
inline constexpr const char* oci_config = "application/vnd.oci.image.config.v1+json";
inline constexpr const char* oci_layer = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr const char* docker_config = "application/vnd.docker.container.image.v1+json";
inline constexpr const char* docker_layer = "application/vnd.docker.image.rootfs.diff.tar.gzip";
// The config of every artifact manifest: the two bytes `{}`.
inline constexpr const char* oci_empty = "application/vnd.oci.empty.v1+json";
// Artifact types of the documents attached as referrers.
inline constexpr const char* in_toto = "application/vnd.in-toto+json";
inline constexpr const char* cyclonedx = "application/vnd.cyclonedx+json";
// DEBUG_SYMBOLS ATTACH: a platform's debug information, a tar of .build-id/ab/cdef….debug files
// (stage/symbols_archive.hpp); the artifact's type and its one layer's media type.
inline constexpr const char* debug_symbols = "application/vnd.multiarch-image.debug-symbols.v1+tar";

bool is_index(std::string_view media_type);
bool is_image_manifest(std::string_view media_type);

// The Accept header of every manifest request: both families, indexes and manifests.
std::string manifest_accept_header();

}  // namespace mai::media
