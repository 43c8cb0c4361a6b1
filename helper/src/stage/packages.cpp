#include "stage/packages.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include "base/error.hpp"
#include "base/files.hpp"
#include "base/text.hpp"

namespace fs = std::filesystem;

namespace mai {

namespace {

// The names dpkg may list a file under: as given, resolved, and each with /lib <-> /usr/lib swapped
// (Debian 12's packages still list /lib/<triplet>/libc.so.6 while the file is found in /usr/lib).
std::vector<std::string> candidate_names(const fs::path& file) {
  std::vector<std::string> out;
  auto add = [&](const std::string& p) {
    if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
  };
  std::error_code ec;
  const auto resolved = fs::canonical(file, ec);
  for (const auto& p : {file.lexically_normal().string(), ec ? std::string() : resolved.string()}) {
    if (p.empty()) continue;
    add(p);
    if (p.starts_with("/usr/lib/"))
      add(p.substr(4));
    else if (p.starts_with("/lib/") || p.starts_with("/lib64/"))
      add("/usr" + p);
  }
  return out;
}

std::pair<std::string, std::string> os_release_id(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return {};
  std::string id, version;
  for (const auto& line : split(read_text_file(path), '\n')) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    auto value = line.substr(eq + 1);
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'')) value = value.substr(1, value.size() - 2);
    if (line.compare(0, eq, "ID") == 0) id = value;
    if (line.compare(0, eq, "VERSION_ID") == 0) version = value;
  }
  return {id, version};
}

}  // namespace

std::string Package::purl() const {
  std::string out = "pkg:deb/" + percent_encode(namespace_.empty() ? "debian" : namespace_) + "/" + percent_encode(name) + "@" +
                    percent_encode(version) + "?arch=" + percent_encode(architecture);
  if (!distro.empty()) out += "&distro=" + percent_encode(distro);
  return out;
}

std::map<std::string, std::string> parse_dpkg_search(std::string_view output) {
  std::map<std::string, std::string> out;
  for (const auto& line : split(std::string(output), '\n')) {
    if (line.starts_with("diversion by ")) continue;
    const auto sep = line.find(": /");
    if (sep == std::string::npos) continue;
    const auto owners = line.substr(0, sep);
    if (owners.empty() || owners.find(',') != std::string::npos || owners.find(' ') != std::string::npos) continue;
    out.emplace(line.substr(sep + 2), owners);
  }
  return out;
}

std::map<fs::path, Package> owning_packages(const std::vector<fs::path>& files, Runner& runner, const Log& log,
                                            const fs::path& os_release) {
  std::map<fs::path, Package> out;
  if (files.empty()) return out;
  Command search{{"dpkg-query", "-S"}};
  std::map<fs::path, std::vector<std::string>> names;
  for (const auto& file : files) {
    names[file] = candidate_names(file);
    search.argv.insert(search.argv.end(), names[file].begin(), names[file].end());
  }
  Result found;
  try {
    found = runner.run(search, Output::capture, log);  // exit status 1 when some name is owned by no package
  } catch (const Error& e) {
    if (e.code() != Exit::engine_missing) throw;
    log.info("no dpkg-query on this machine: the SBOM names the runtime's files without their packages");
    return out;
  }
  const auto owners = parse_dpkg_search(found.out);
  std::map<fs::path, std::string> owner_of;
  std::set<std::string> packages;
  for (const auto& [file, candidates] : names)
    for (const auto& name : candidates)
      if (const auto it = owners.find(name); it != owners.end()) {
        owner_of[file] = it->second;
        packages.insert(it->second);
        break;
      }
  if (packages.empty()) return out;
  Command query{{"dpkg-query", "-W", "-f", "${binary:Package}\\t${Package}\\t${Version}\\t${Architecture}\\n"}};
  query.argv.insert(query.argv.end(), packages.begin(), packages.end());
  const auto listed = runner.run(query, Output::capture, log);
  const auto [id, version_id] = os_release_id(os_release);
  std::map<std::string, Package> by_name;
  for (const auto& line : split(listed.out, '\n')) {
    const auto fields = split(line, '\t');
    if (fields.size() != 4 || fields[2].empty()) continue;
    Package p{fields[1], fields[2], fields[3], id.empty() || version_id.empty() ? "" : id + "-" + version_id, id};
    by_name.emplace(fields[0], p);
    by_name.emplace(fields[1], p);  // dpkg-query -S names a package without :arch when only one is installed
  }
  for (const auto& [file, owner] : owner_of)
    if (const auto it = by_name.find(owner); it != by_name.end()) out.emplace(file, it->second);
  return out;
}

}  // namespace mai
