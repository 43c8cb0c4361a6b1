#include "stage/packages.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <cstdlib>
#include <optional>
#include <set>

#include "base/error.hpp"
#include "base/files.hpp"
#include "base/json_file.hpp"
#include "base/text.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;

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

// The database's identity: every install, upgrade or removal replaces its status file. Null when it
// cannot be read (no dpkg here).
json::value status_identity(const fs::path& status) {
  struct stat st {};
  if (::stat(status.c_str(), &st) != 0) return nullptr;
  return json::object{{"path", status.string()},
                      {"device", st.st_dev},
                      {"inode", st.st_ino},
                      {"size", st.st_size},
                      {"mtime_ns", static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec}};
}

// What the cached answer depends on: the database's identity and every name asked about, per file.
// Null when the database cannot be read (no dpkg here): nothing is remembered then.
json::value cache_key(const fs::path& status, const std::map<fs::path, std::vector<std::string>>& names) {
  auto identity = status_identity(status);
  if (identity.is_null()) return nullptr;
  json::object key{{"format", 1}, {"dpkg_status", std::move(identity)}};
  json::array files;
  for (const auto& [file, candidates] : names) {
    json::array c;
    for (const auto& n : candidates) c.emplace_back(n);
    files.emplace_back(json::object{{"file", file.string()}, {"names", std::move(c)}});
  }
  key["files"] = std::move(files);
  return key;
}

// The remembered answer for `key`, when the cache holds one; a missing, unreadable or stale cache is
// no error: dpkg is asked again.
std::optional<std::map<fs::path, Package>> cached(const fs::path& file, const json::value& key) {
  std::error_code ec;
  if (file.empty() || key.is_null() || !fs::is_regular_file(file, ec)) return std::nullopt;
  try {
    const auto v = read_json_file(file);
    if (v.at("key") != key) return std::nullopt;
    std::map<fs::path, Package> out;
    for (const auto& [path, p] : v.at("packages").as_object())
      out.emplace(std::string(path),
                  Package{json::value_to<std::string>(p.at("name")), json::value_to<std::string>(p.at("version")),
                          json::value_to<std::string>(p.at("architecture")), "", ""});
    return out;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

void remember(const fs::path& file, const json::value& key, const std::map<fs::path, Package>& found) {
  if (file.empty() || key.is_null()) return;
  json::object packages;
  for (const auto& [path, p] : found)
    packages[path.string()] = json::object{{"name", p.name}, {"version", p.version}, {"architecture", p.architecture}};
  write_json_atomically(file, json::object{{"key", key}, {"packages", std::move(packages)}});
}

// dpkg's answer: file -> package (name, version, architecture; no distribution yet). `complete` is
// false when dpkg could not answer (missing, or an error rather than "not found"): not to be remembered.
// A package as dpkg-query -W lists it, or nullopt for a line that is none: a name as Debian's policy
// allows (lowercase letters, digits, + - ., at least two, starting with a letter or digit) and a
// version and an architecture of printable characters without blanks. Other lines are dropped.
std::optional<Package> listed_package(const std::string& name, const std::string& version, const std::string& architecture) {
  const auto printable = [](const std::string& text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c > ' ' && c < 0x7f; });
  };
  const bool named = name.size() >= 2 && std::isalnum(static_cast<unsigned char>(name[0])) != 0 &&
                     std::all_of(name.begin(), name.end(), [](char c) {
                       return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
                     });
  if (!named || !printable(version) || !printable(architecture)) return std::nullopt;
  return Package{name, version, architecture, "", ""};
}

std::map<fs::path, Package> ask_dpkg(const std::map<fs::path, std::vector<std::string>>& names, Runner& runner, const Log& log,
                                     bool& complete) {
  std::map<fs::path, Package> out;
  Command search{{"dpkg-query", "-S"}};
  for (const auto& [file, candidates] : names) search.argv.insert(search.argv.end(), candidates.begin(), candidates.end());
  Result found;
  try {
    found = runner.run(search, Output::capture, log);  // exit status 1 when some name is owned by no package
  } catch (const Error& e) {
    if (e.code() != Exit::engine_missing) throw;
    log.info("no dpkg-query on this machine: the SBOM names the runtime's files without their packages");
    complete = false;
    return out;
  }
  complete = found.exit_code == 0 || found.exit_code == 1;  // 1: some name is owned by no package
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
  complete = complete && listed.ok();
  std::map<std::string, Package> by_name;
  for (const auto& line : split(listed.out, '\n')) {
    const auto fields = split(line, '\t');
    if (fields.size() != 4) continue;
    const auto p = listed_package(fields[1], fields[2], fields[3]);
    if (!p) continue;
    by_name.emplace(fields[0], *p);
    by_name.emplace(fields[1], *p);  // dpkg-query -S names a package without :arch when only one is installed
  }
  for (const auto& [file, owner] : owner_of)
    if (const auto it = by_name.find(owner); it != by_name.end()) out.emplace(file, it->second);
  return out;
}

// The distribution of this machine on each package: os-release's, read each time (one small file,
// and not dpkg's to say).
template <class Key>
void with_distribution(std::map<Key, Package>& packages, const fs::path& os_release) {
  const auto [id, version_id] = os_release_id(os_release);
  for (auto& [key, p] : packages) {
    p.distro = id.empty() || version_id.empty() ? "" : id + "-" + version_id;
    p.namespace_ = id;
  }
}

}  // namespace

std::map<std::string, Package> installed_packages(const std::vector<std::string>& names, Runner& runner, const Log& log,
                                                  const fs::path& os_release, const PackageCache& cache) {
  if (names.empty()) return {};
  auto identity = status_identity(cache.dpkg_status);
  json::value key = nullptr;
  if (!identity.is_null())
    key = json::object{{"format", 1}, {"dpkg_status", std::move(identity)}, {"installed", json::value_from(names)}};
  std::map<std::string, Package> out;
  if (const auto remembered = cached(cache.file, key)) {
    for (const auto& [name, p] : *remembered) out.emplace(name.string(), p);
    with_distribution(out, os_release);
    return out;
  }
  Command query{{"dpkg-query", "-W", "-f", "${db:Status-Abbrev}\t${Package}\t${Version}\t${Architecture}\n"}};
  query.argv.insert(query.argv.end(), names.begin(), names.end());
  Result listed;
  try {
    listed = runner.run(query, Output::capture, log);  // exit status 1 when some name is not known at all
  } catch (const Error& e) {
    if (e.code() != Exit::engine_missing) throw;
    log.info("no dpkg-query on this machine: the SBOM names ESSENTIALS' files without their packages");
    return out;
  }
  for (const auto& line : split(listed.out, '\n')) {
    const auto fields = split(line, '\t');
    // "ii ": wanted and installed; a removed package whose configuration is left ("rc ") ships nothing.
    if (fields.size() != 4 || fields[0].size() < 2 || fields[0][1] != 'i') continue;
    if (const auto p = listed_package(fields[1], fields[2], fields[3])) out.emplace(fields[1], *p);
  }
  if (listed.exit_code == 0 || listed.exit_code == 1) {
    std::map<fs::path, Package> by_path(out.begin(), out.end());
    remember(cache.file, key, by_path);
  }
  with_distribution(out, os_release);
  return out;
}

fs::path PackageCache::default_dpkg_status() {
  const char* admindir = std::getenv("DPKG_ADMINDIR");  // NOLINT(concurrency-mt-unsafe): read before any thread starts
  return fs::path(admindir && *admindir ? admindir : "/var/lib/dpkg") / "status";
}

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
                                            const fs::path& os_release, const PackageCache& cache) {
  if (files.empty()) return {};
  std::map<fs::path, std::vector<std::string>> names;
  for (const auto& file : files) names[file] = candidate_names(file);
  const auto key = cache_key(cache.dpkg_status, names);
  auto out = cached(cache.file, key);
  if (!out) {
    bool complete = false;
    out = ask_dpkg(names, runner, log, complete);
    if (complete) remember(cache.file, key, *out);
  }
  with_distribution(*out, os_release);
  return std::move(*out);
}

}  // namespace mai
