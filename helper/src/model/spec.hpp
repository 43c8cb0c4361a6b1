// The image spec: what add_multiarch_image() wrote at configure time, re-validated on every read
// because it is a file a person can edit.
#pragma once

#include <array>
#include <boost/json/fwd.hpp>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/retry.hpp"
#include "model/permissions.hpp"
#include "oci/platform.hpp"
#include "oci/reference.hpp"

namespace mai {

struct BuildArg {
  std::string name;
  std::string value;
};

// SECRETS: a build secret the Dockerfile's RUN steps mount (`RUN --mount=type=secret,id=<id>`). Its
// value comes from the environment variable `env` or the file `src` when the build runs, and is never
// in the spec, a record, an argv or a log: only the id and where the value is.
struct BuildSecret {
  std::string id;
  std::string env;            // the variable's name; empty when `src` is set
  std::filesystem::path src;  // an absolute path; empty when `env` is set
};

// SSH, TARGET_STAGE, PULL and REGISTRY_CACHE: what a Dockerfile build takes beyond its context and build
// arguments.
struct BuildOptions {
  std::vector<BuildSecret> secrets;
  std::vector<std::string> ssh;    // `default` or <id>[=<socket or key>[,<key>...]], as docker and podman read --ssh
  std::string target_stage;        // --target; empty: the last stage
  std::string pull;                // always, missing, never; empty: the engine's default, or always for the SBOM
  std::string registry_cache;      // inline: the build cache travels in the published image; empty: none
  std::string registry_cache_tag;  // with registry_cache: the tag whose image the cache is read from
};

// Where one platform builds: an engine address or name, and which setting chose it (for messages).
struct Builder {
  std::string address;  // unix://, tcp://, ssh:// URL; a docker context / podman connection; buildx:<name>
  std::string origin;   // BUILDERS or MULTIARCH_IMAGE_BUILDERS
};

struct GitTags {
  bool enabled = false;
  std::string executable = "git";
  std::filesystem::path dir;  // a directory inside the checkout
  bool latest = false;        // also tag a clean vX.Y.Z commit as latest
};

// TARGETS: the context the engine gets is `composed` (the source context mirrored, plus each
// platform's staged tree under `dir`/<platform suffix>).
// TEST_COMMAND and TEST_EXPECT, exactly as written (`@PLATFORM@` in expect stands for the platform).
struct TestSpec {
  bool enabled = false;
  std::vector<std::string> command;  // empty: the image's own entrypoint
  std::string expect;                // a regular expression; empty: exit status 0 is enough
};

struct StageSpec {
  bool enabled = false;
  std::filesystem::path composed;
  std::string dir = ".multiarch-stage";
};

// The latest SOURCE_DATE_EPOCH: 8^11 - 1 seconds (the year 2242), the most a tar header's 11 octal digits
// of mtime hold; the spec refuses a later one, and the layer writer too.
inline constexpr std::int64_t kLatestSourceDateEpoch = 8589934591;

// ESSENTIALS' items, in the order an image lists them (ALL in add_multiarch_image() is all of them).
inline constexpr std::array<std::string_view, 4> kEssentialItems{"accounts", "ca-certificates", "tzdata", "tmp"};
// Where Debian's ca-certificates writes its bundle, and so where TLS libraries look for it first.
inline constexpr const char* kDefaultCaBundle = "/etc/ssl/certs/ca-certificates.crt";

// BASE: an image the helper assembles itself from the staged targets and FILES, with no Dockerfile
// and no engine. Values exactly as add_multiarch_image() was given them, checked there and here.
struct ImageSpec {
  bool enabled = false;
  std::string base = "scratch";
  std::vector<std::string> entrypoint;  // empty: none (the module infers one at configure time, or none)
  std::vector<std::string> cmd;
  std::vector<std::string> env;  // KEY=VALUE
  std::string user, workdir;
  std::vector<std::string> expose;                          // <port>/<tcp|udp|sctp>, ranges listed port by port
  std::vector<std::pair<std::string, std::string>> labels;  // in order
  struct File {
    std::filesystem::path source;  // a file, or a directory whose contents are copied
    std::string destination;       // absolute in the image; a directory when it ends in '/'
    Permissions permissions;       // OWNER, MODE, CAPABILITIES after the entry (a directory: OWNER only)
  };
  std::vector<File> files;
  // DIRECTORIES: empty directories of the image (a service's writable /var/lib/<name>).
  struct Directory {
    std::string path;  // absolute, normal, not /
    Permissions permissions;
  };
  std::vector<Directory> directories;
  // Permissions given to a path of the staged tree by the module (a target's MULTIARCH_IMAGE_OWNER,
  // _MODE, _CAPABILITIES on the file it is staged as).
  struct PathPermissions {
    std::string path;  // absolute in the image
    std::string what;  // what gave them, for errors
    Permissions permissions;
  };
  std::vector<PathPermissions> path_permissions;
  std::vector<std::string> volumes;                                       // VOLUMES: absolute paths
  std::string stop_signal;                                                // STOP_SIGNAL: SIGTERM, 15, SIGRTMIN+3; "" none
  std::vector<std::pair<std::string, std::string>> manifest_annotations;  // MANIFEST_ANNOTATIONS: on each platform's manifest
  bool staged_targets = true, staged_install = false;                     // what the staged tree holds: TARGETS, INSTALL
  // ESSENTIALS: what a minimal image needs to run a service (image/essentials.hpp), each at most once,
  // in kEssentialItems' order.
  std::vector<std::string> essentials;
  std::filesystem::path ca_bundle = kDefaultCaBundle;  // MULTIARCH_IMAGE_CA_BUNDLE: what ca-certificates puts in
  // What tzdata puts in: the build machine's time zone database (not in the spec; unit tests set it).
  std::filesystem::path zoneinfo = "/usr/share/zoneinfo";
  // DEBUG_SYMBOLS: ATTACH (the staged programs and libraries stripped, their debug information
  // published beside each platform's image), KEEP (staged as built) or DROP (stripped, nothing kept).
  std::string debug_symbols = "KEEP";
  std::int64_t created = 0;      // SOURCE_DATE_EPOCH: every mtime and the config's created
  std::filesystem::path layout;  // the image's OCI image layout in the build tree
};

// What the push step's provenance statements (PROVENANCE) and SBOMs (SBOM) say about the build:
// known at configure time; the git commit and remote are read from `source_dir` when a push step runs.
struct ProvenanceSpec {
  bool enabled = false;                  // attach a provenance statement to every pushed platform
  bool sbom = false;                     // attach a CycloneDX SBOM to every pushed platform
  std::string project, project_version;  // the SBOM's root component: PROJECT_NAME, PROJECT_VERSION
  std::string builder_id;                // a URI
  std::string cmake_version, generator;
  std::filesystem::path source_dir;
  std::string git;                     // the git executable; "" when none was found
  std::int64_t source_date_epoch = 0;  // > 0: the statements' times
};

struct Spec {
  std::string name;
  Repository repository;
  std::vector<std::string> tags;
  std::vector<Platform> platforms;
  std::filesystem::path context;
  std::filesystem::path dockerfile;
  std::vector<BuildArg> build_args;
  BuildOptions build_options;
  std::string engine = "auto";                                          // auto, docker or podman
  std::string network;                                                  // passed as --network when not empty
  std::string docker = "docker", podman = "podman", skopeo = "skopeo";  // executables
  std::vector<std::filesystem::path> deps_exclude;                      // never listed in the depfile (e.g. the build tree)
  std::vector<std::pair<std::string, Builder>> builders;                // normalised platform -> builder
  RetryPolicy retry;                                                    // for registry commands
  std::vector<std::string> run_options;                          // extra engine options for image tests (e.g. --ulimit ...)
  GitTags git;                                                   // tags derived from git when a step runs
  std::string index_format = "auto";                             // auto (follow the platforms' manifests), oci or docker
  std::vector<std::pair<std::string, std::string>> annotations;  // on the index (OCI), in order
  std::vector<std::string> insecure_registries;                  // host[:port]: TLS unverified, then plain HTTP
  // PLATFORM_TAGS: each platform tagged <tag>-<arch>, and referrers tags kept; false: no tag is written
  // but `tags` (per-platform images by digest; immutable tags). Assembled images only.
  bool platform_tags = true;
  StageSpec stage;
  ImageSpec image;  // enabled: BASE, assembled by the helper
  ProvenanceSpec provenance;

  // The platform's builder, or nullptr for the engine's default.
  const Builder* builder_for(const Platform& platform) const;

  // The spec's own entry for a platform named on the command line; throws if not listed.
  const Platform& platform(std::string_view text) const;
};

// An ENV value with `$NAME` and `${NAME}` replaced by what `lookup` gives for NAME (the environment
// so far: the base's Env, the default PATH when there is none, the entries before this one), as a
// Dockerfile's ENV reads them; `\$` is a `$`, and a `$` before anything but a name stays as it is.
// A NAME `lookup` does not know, or a `${` without its `}`, is an error naming `what`.
std::string expand_environment(std::string_view value, const std::function<std::optional<std::string>(std::string_view)>& lookup,
                               const std::string& what);

// STOP_SIGNAL as docker reads it: a number from 1 to 64, or a signal's name with or without SIG
// (SIGTERM, TERM, SIGRTMIN+3).
bool valid_stop_signal(std::string_view text);

constexpr int kSpecFormat = 1;

Spec parse_spec(const boost::json::value& json, const std::string& origin);
Spec load_spec(const std::filesystem::path& path);
// test.json, which add_multiarch_image() writes beside the spec when the image has TEST_COMMAND or
// TEST_EXPECT: {"command": [strings], "expect": string}.
TestSpec load_test_spec(const std::filesystem::path& path);

}  // namespace mai
