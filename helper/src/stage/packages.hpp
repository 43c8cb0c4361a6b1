// Which distribution package shipped a file, as the machine's package manager says (dpkg): what an
// SBOM names for the C/C++ runtime files a stage copies from the toolchain's directories.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/log.hpp"
#include "base/runner.hpp"

namespace mai {

struct Package {
  std::string name;          // the binary package, e.g. libstdc++6 or libc6-arm64-cross
  std::string version;       // e.g. 12.2.0-14+deb12u1
  std::string architecture;  // dpkg's: amd64, arm64, all
  std::string distro;        // os-release ID and VERSION_ID of the machine: debian-12; "" unknown
  std::string namespace_;    // os-release ID: debian, ubuntu
  // pkg:deb/<namespace>/<name>@<version>?arch=<architecture>&distro=<distro>, percent-encoded.
  std::string purl() const;
};

// Where a lookup is remembered between runs, and the dpkg database it is keyed on. The answer is reused
// only while the names asked about and the database's status file (its inode, size and modification
// time, which every install, upgrade or removal changes: dpkg replaces the file) are the same.
struct PackageCache {
  std::filesystem::path file;  // "" remembers nothing
  std::filesystem::path dpkg_status = default_dpkg_status();
  // $DPKG_ADMINDIR/status when the variable is set (dpkg-query then reads that database), else dpkg's.
  static std::filesystem::path default_dpkg_status();
};

// The package owning each of `files` (host paths; a file is also looked up under its resolved path and
// its other name on a merged-/usr system, /lib <-> /usr/lib), found with two dpkg-query calls for all of
// them, or none when `cache` holds the answer for the same names and database. Files no package owns,
// and all files on a machine without dpkg-query, are missing from the map.
std::map<std::filesystem::path, Package> owning_packages(const std::vector<std::filesystem::path>& files, Runner& runner,
                                                         const Log& log,
                                                         const std::filesystem::path& os_release = "/etc/os-release",
                                                         const PackageCache& cache = {});

// The installed version of each of `names` (binary packages: tzdata, ca-certificates), from one
// dpkg-query call, or none when `cache` holds the answer for the same names and database. A name dpkg
// does not list as installed, and every name on a machine without dpkg-query, is missing from the map.
std::map<std::string, Package> installed_packages(const std::vector<std::string>& names, Runner& runner, const Log& log,
                                                  const std::filesystem::path& os_release = "/etc/os-release",
                                                  const PackageCache& cache = {});

// dpkg-query -S output: path -> the one package owning it (lines naming several packages or a
// diversion are skipped). Exposed for tests.
std::map<std::string, std::string> parse_dpkg_search(std::string_view output);

}  // namespace mai
