#include "oci/media_types.hpp"

namespace mai::media {

bool is_index(std::string_view t) { return t == oci_index || t == docker_list; }
bool is_image_manifest(std::string_view t) { return t == oci_manifest || t == docker_manifest; }

std::string manifest_accept_header() {
  return std::string(oci_index) + ", " + docker_list + ", " + oci_manifest + ", " + docker_manifest;
}

}  // namespace mai::media
