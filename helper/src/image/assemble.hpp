// Images the helper writes itself (BASE): one platform's layers, config and manifest from its staged
// tree and FILES, stored in the image's OCI image layout in the build tree. No engine, no network.
#pragma once

#include <boost/json.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "base/log.hpp"
#include "image/essentials.hpp"
#include "image/layer.hpp"
#include "model/spec.hpp"
#include "oci/media_types.hpp"
#include "oci/reference.hpp"
#include "registry/client.hpp"

namespace mai {

// The platform's image of BASE, as its registry serves it.
struct BaseImage {
  std::string name;  // BASE as given
  Repository repository;
  std::string digest;                         // the platform's image manifest
  bool docker = false;                        // Docker media types (else OCI): the new layers and manifest follow them
  boost::json::object config;                 // its config, to be extended
  boost::json::array layers;                  // its layers' descriptors, as its manifest lists them
  std::vector<Descriptor> layer_descriptors;  // the same, read
};

// Resolves the base image `name` (BASE as given) for `platform` through `client`, a client of its
// repository: the tag (or pinned digest) to an index or a manifest, an index to the platform's
// manifest (an error lists the platforms it has), then its config. Only manifests and the config
// are read, never layers. What the registry answers is checked: a manifest or config over 4 MiB,
// malformed JSON, a platform other than asked for, a digest that is not sha256 each fail the step
// with the BASE named.
BaseImage resolve_base(RegistryClient& client, const std::string& name, const Platform& platform, const Log& log);

struct AssembledImage {
  Descriptor manifest;
  Descriptor config;
  std::vector<Layer> layers;
  std::string base_digest;                    // empty for scratch
  std::string base_repository;                // where the base's layers are
  std::vector<std::string> base_layers;       // the base's layer digests, pushed by mount or copy
  std::vector<std::filesystem::path> inputs;  // FILES sources, files and directories, for the depfile
  Essentials essentials;                      // ESSENTIALS' entries as given (paths before a base's links)
};

// The staged tree of `platform` (may be absent: no TARGETS staged for it), the spec's ESSENTIALS and
// FILES, layered (ESSENTIALS, C/C++ runtime, project libraries, executables, FILES: one layer each,
// empty ones left out),
// with the config and the manifest. The manifest is added to the layout's index.json, annotated with
// its platform reference name; the layout is shared by the image's platforms and updated under a lock.
// With `base`: its config extended and its layers listed first, in its media-type family; its layers
// must be in the layout (fetch_base_layers): our paths are placed through its links, and USER's
// account looked up in its /etc/passwd.
AssembledImage assemble_image(const Spec& spec, const Platform& platform, const std::filesystem::path& staged, const Log& log,
                              const BaseImage* base = nullptr);

// The blob file of `digest` in the layout.
std::filesystem::path layout_blob(const std::filesystem::path& layout, const std::string& digest);

}  // namespace mai
