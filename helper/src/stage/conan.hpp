// Conan 2 packages a build links, for the SBOM. CMake writes into the link record the package folders it
// found in the CMakeDeps files of the build's generators folders, and the CycloneDX documents beside
// them (cmake/MultiArchImage/staging.cmake, _multiarch_conan_packages); a linked library file inside one
// of those folders is that package, described as Conan's own document describes it when it has one.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mai {

// A package folder, as CMakeDeps' <file name>-<config>-<arch>-data.cmake sets it, with the package's name
// (its <pkg>_PACKAGE_FOLDER_<CONFIG> variable) and version (its config-version file).
struct ConanPackage {
  std::string name;
  std::string version;
  std::filesystem::path folder;
};

// A CycloneDX document a Conan hook wrote (conan.tools.sbom), and its SHA-256 when CMake read it.
struct ConanDocument {
  std::filesystem::path path;
  std::string sha256;
};

// One component of Conan's CycloneDX document: the fields the SBOM takes over, each only when it has the
// form CycloneDX gives it (a license is ("id" | "name" | "expression", value), a hash (alg, hex content),
// a reference (type, URL without userinfo)).
struct ConanComponent {
  std::string bom_ref;  // Conan's: pkg:conan/<name>@<version>?rrev=<recipe revision>[&user=...&channel=...]
  std::string name;
  std::string version;
  std::string purl;
  std::string description;
  std::string cpe;
  std::vector<std::pair<std::string, std::string>> licenses;
  std::vector<std::pair<std::string, std::string>> hashes;
  std::vector<std::pair<std::string, std::string>> references;
};

// The components of a CycloneDX document (1.4 or 1.6, as Conan writes them); throws mai::Error when the
// text is no JSON object with a components array. A component without a name and version is skipped.
std::vector<ConanComponent> conan_components(std::string_view text);

// The package whose folder holds `file` (both canonical), if any.
std::optional<ConanPackage> conan_package_of(const std::filesystem::path& file, const std::vector<ConanPackage>& packages);

// pkg:conan/<name>@<version>, as Conan's documents write it.
std::string conan_purl(const std::string& name, const std::string& version);

// A CycloneDX hash algorithm name (SHA-256, SHA3-512, BLAKE2b-256, ...)?
bool cyclonedx_hash_algorithm(std::string_view alg);

}  // namespace mai
