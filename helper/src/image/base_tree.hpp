// A base image's layers in the image's OCI layout, and what our layers must know of the tree they
// make: the base's symbolic links (a merged-/usr base has /bin -> usr/bin, and a layer holding a
// directory entry for bin/ would replace that link for the container) and its account files (USER).
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/log.hpp"
#include "oci/descriptor.hpp"
#include "registry/client.hpp"

namespace mai {

// A layer no registry may serve (Windows' foreign layers): listed, never fetched or read.
bool is_foreign_layer(const std::string& media_type);

// Puts each of `layers` (the base's descriptors, as its manifest lists them) that the layout's blob
// directory `blobs` lacks there, streamed from `client` (the base's repository), its digest checked as
// it arrives. A blob already there with the listed size (any size for a size < 0: not known) is kept:
// fetched once per digest, shared by the image's platforms and the builds after. Returns how many
// were fetched.
int fetch_base_layers(RegistryClient& client, const std::vector<Descriptor>& layers, const std::filesystem::path& blobs,
                      const std::string& base_name, const Log& log);

// The tree the base's layers make, as far as our layers need it.
struct BaseTree {
  std::map<std::string, std::string> links;  // path (relative, "bin") -> link target as written ("usr/bin")
  std::optional<std::string> passwd, group;  // /etc/passwd and /etc/group, when the base has them
  bool complete = true;                      // false: a layer could not be read (zstd, foreign): links may be missing
};

// Reads the base's layers from `blobs` in order (gzip or uncompressed tar; whiteouts applied), once:
// the result is kept in `cache` under the base manifest's digest. A layer missing from `blobs` is an
// error naming the base.
BaseTree read_base_tree(const std::vector<Descriptor>& layers, const std::string& manifest_digest,
                        const std::filesystem::path& blobs, const std::filesystem::path& cache, const std::string& base_name,
                        const Log& log);

// `path` (relative, "bin/entry.sh") as it lands in the base's tree, its directories followed through
// the base's links as COPY follows them ("usr/bin/entry.sh" when bin -> usr/bin); the last part is
// followed too when `follow_last` (a directory entry). Links never lead out of the image: ".." stops
// at its root, absolute targets start there. A loop of links is an error naming `path`.
std::string resolve_in_base(const BaseTree& tree, const std::string& path, bool follow_last);

}  // namespace mai
