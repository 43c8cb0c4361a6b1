// A content descriptor (the OCI image spec's descriptor): what points at a blob or a manifest by its
// media type, digest and size. One type for every use: a layer or a config in a manifest, a blob the
// helper wrote to a layout, a manifest in an index (with the platform the index states), an artifact
// in a referrers index (with its artifact type). What differs in meaning has a type of its own:
// registry/client.hpp's Manifest is a document as a registry served it (its bytes), not a pointer.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace mai {

struct Descriptor {
  std::string media_type;
  std::string digest;  // sha256:<hex>
  std::int64_t size = 0;
  // In an index: "os/architecture[/variant]" as the entry states it, normalised when it names a
  // known platform ("unknown/unknown" for entries without one, such as attestations); "" elsewhere.
  std::string platform;
  std::string artifact_type;                       // an artifact manifest's; "" none
  std::map<std::string, std::string> annotations;  // the string-valued ones, sorted
};

}  // namespace mai
