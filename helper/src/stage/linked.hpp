// What a platform's staged targets link, for the SBOM: static libraries and library files from
// distribution packages, the project's own static libraries, and the source repositories (FetchContent,
// CPM, submodules) targets were compiled from. CMake knows the link closure when it generates the build
// system and writes it (cmake/MultiArchImage/staging.cmake, _multiarch_link_record); the stage step
// resolves it against what it staged and what the package manager says, and records the result beside
// its staged files, which the push step's SBOM reads.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "stage/conan.hpp"
#include "stage/packages.hpp"

namespace mai {

// One node of CMake's record: a target, or a library file named by its path.
struct LinkNode {
  std::string ref;   // target:<name> or file:<path>
  std::string type;  // the target's TYPE (STATIC_LIBRARY, UNKNOWN_LIBRARY, ...), FILE for a path
  bool imported = false;
  std::string file;  // the target's file in this build; "" for interface and object libraries
  std::vector<std::string> links;
  std::string repository_url;     // the git remote of a source tree not the project's, without userinfo
  std::string repository_commit;  // "" for an ExternalProject's: the one checked out in repository_dir
  std::string repository_dir;     // its top-level directory (named after it when it has no remote)
  // A source tree FetchContent populated from an archive (declared with URL): its content name, the
  // URL without credentials, its hash as <alg>:<hex>, and the fetched project's version ("" unknown).
  std::string archive_name;
  std::string archive_url;
  std::string archive_hash;
  std::string archive_version;
};

// CMake's record (format 1): its nodes; the staged targets' refs (`roots`: when given, only what they
// reach is listed, through the links this configuration's record kept); the Conan packages and documents
// the configure found. Empty when the file is missing (an older build tree).
struct LinkRecord {
  std::vector<LinkNode> nodes;
  std::vector<std::string> roots;
  std::vector<ConanPackage> conan_packages;
  std::vector<ConanDocument> conan_documents;
};
LinkRecord read_link_record(const std::filesystem::path& path);

// A component the SBOM lists because the staged files link it.
struct LinkedComponent {
  // bom-ref: deb:<package>:<arch>, vcpkg:<port>:<triplet>, conan:<name>@<version>, linked:<path>, target:<name>,
  // vcs:<url>@<commit>, archive:<url>@<alg>:<hex>
  std::string ref;
  // package, vcpkg, conan, file (a library file nothing names), static-library (the project's), repository,
  // archive
  std::string kind;
  std::string name;
  std::string file;     // package, file: the library file linked, on the build machine
  std::string sha256;   // package, file: sha256:<hex> of that file
  std::string linkage;  // package, file: static or shared
  std::optional<Package> package;
  std::string url;                   // repository: its remote, without userinfo ("" when it has none)
  std::string commit;                // repository: the commit compiled
  std::vector<std::string> targets;  // repository, static-library, archive: the targets compiled from it
  // vcpkg: what the port's own SBOM (share/<port>/vcpkg.spdx.json) says, referenced by its SHA-256.
  std::string version;               // vcpkg: the port's version, "#<port version>" included; archive: as declared
  std::string checksum;              // archive: the declared hash, <alg>:<hex> (sha256:..., md5:...); "" none
  std::string triplet;               // vcpkg: the triplet installed
  std::string license;               // vcpkg: licenseConcluded; "" NOASSERTION or none
  std::vector<std::string> sources;  // vcpkg: the upstream sources' downloadLocation
  std::string abi;                   // vcpkg: the binary package's versionInfo (its ABI hash)
  std::string spdx_sha256;           // vcpkg: sha256:<hex> of vcpkg.spdx.json; "" when it has none
  // conan (name and version from CMakeDeps' files): the component of Conan's CycloneDX document of the same
  // name and version, and that document's SHA-256; none when no document names the package.
  std::optional<ConanComponent> conan;
  std::string conan_document_sha256;
};

// The vcpkg port that installed `file`, when it is in a tree laid out as vcpkg lays out its installed
// packages (<root>/<triplet>/lib/libz.a, <root>/vcpkg/info/<port>_<version>_<triplet>.list naming each
// file a port installed, <root>/<triplet>/share/<port>/vcpkg.spdx.json): a `vcpkg` component from the
// port's own SPDX document, without its `file`, `sha256` and `linkage`. What it read that says so (the
// info directory, the list naming the file, the SBOM or the directory it would be in) joins `read`.
// Exposed for tests.
std::optional<LinkedComponent> vcpkg_port(const std::filesystem::path& file, std::vector<std::filesystem::path>* read = nullptr);

// The commit checked out in the git working tree `dir` (ExternalProject's clone: its .git/HEAD, the
// branch it names, or packed-refs), read without running git; "" when there is none.
std::string checked_out_commit(const std::filesystem::path& dir);

// pkg:vcpkg/<port>@<version>, a "#<n>" port version as ?port_version=<n>.
std::string vcpkg_purl(const std::string& port, const std::string& version);

struct Linked {
  std::vector<LinkedComponent> components;
  // What each component, or staged file (file:/usr/local/bin/x), links: bom-refs of `components`.
  std::map<std::string, std::vector<std::string>> edges;
  // The package managers' files read to name components (vcpkg's info lists and SBOMs): not part of the
  // record, the stage's depfile names them.
  std::vector<std::filesystem::path> read;
};

// The library files the record names that are not built here (imported targets, plain paths): what the
// package manager is asked about.
std::vector<std::filesystem::path> linked_library_files(const std::vector<LinkNode>& nodes);
inline std::vector<std::filesystem::path> linked_library_files(const LinkRecord& record) {
  return linked_library_files(record.nodes);
}

// The record resolved: a target or file the stage put in the image is that staged file (`staged`: the
// build machine's file, canonical, -> file:/<path in the image>); a target compiled from another
// repository is that repository; an imported library or a plain path is its file, named by the package
// that ships it (`packages`), the vcpkg port or the Conan package (the record's) that installed it; the
// project's other static and object libraries are their own components; interface libraries pass their
// links on.
Linked resolve_links(const LinkRecord& record, const std::map<std::filesystem::path, std::string>& staged,
                     const std::map<std::filesystem::path, Package>& packages);
inline Linked resolve_links(const std::vector<LinkNode>& nodes, const std::map<std::filesystem::path, std::string>& staged,
                            const std::map<std::filesystem::path, Package>& packages) {
  return resolve_links(LinkRecord{nodes, {}, {}, {}}, staged, packages);
}

// A repository's purl: pkg:github/<owner>/<name>@<commit> for github.com, else
// pkg:generic/<name>@<commit>?vcs_url=git%2B<url>%40<commit> (without vcs_url when there is no URL).
std::string repository_purl(const std::string& name, const std::string& url, const std::string& commit);
// An archive's purl: pkg:generic/<name>[@<version>]?checksum=<alg>:<hex>&download_url=<url>, the
// generic type's two qualifiers, in their canonical (sorted) order, each left off when unknown.
std::string archive_purl(const std::string& name, const std::string& version, const std::string& url,
                         const std::string& checksum);
// The last path segment of a repository URL without .git: its name.
std::string repository_name(const std::string& url);

// The stage step's record of the resolved links, beside its staged files; written only when it changes.
inline std::filesystem::path linked_path(const std::filesystem::path& state, const std::string& target_suffix) {
  return state / ("stage-" + target_suffix + ".linked.json");
}
void write_linked(const std::filesystem::path& path, const Linked& linked);
Linked read_linked(const std::filesystem::path& path);  // empty when missing

}  // namespace mai
