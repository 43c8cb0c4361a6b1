#include "stage/linked.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <fstream>
#include <functional>
#include <set>

#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/files.hpp"
#include "base/json_file.hpp"
#include "base/text.hpp"

namespace fs = std::filesystem;

namespace mai {

namespace json = boost::json;

namespace {

std::string file_sha256(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(Exit::step_failed, "cannot read " + path.string() + ", a library the targets link");
  Sha256 hash;
  std::string buffer(1 << 16, '\0');
  while (in.read(buffer.data(), static_cast<std::streamsize>(buffer.size())) || in.gcount() > 0)
    hash.update(buffer.data(), static_cast<std::size_t>(in.gcount()));
  return hash.digest();
}

fs::path canonical_or_given(const fs::path& path) {
  std::error_code ec;
  auto c = fs::weakly_canonical(path, ec);
  return ec ? path : c;
}

bool is_library_file(const LinkNode& n) { return !n.file.empty() && (n.type == "FILE" || n.imported); }

std::string linkage_of(const fs::path& file) {
  const auto name = file.filename().string();
  return name.ends_with(".a") ? "static" : "shared";
}

}  // namespace

std::string checked_out_commit(const fs::path& dir) {
  std::error_code ec;
  auto git = dir / ".git";
  if (fs::is_regular_file(git, ec)) {  // a worktree's or submodule's pointer: "gitdir: <path>"
    const auto line = trim(read_text_file(git));
    if (!line.starts_with("gitdir:")) return {};
    const fs::path to = trim(line.substr(7));
    git = to.is_absolute() ? to : dir / to;
  }
  if (!fs::is_regular_file(git / "HEAD", ec)) return {};
  const auto is_commit = [](const std::string& text) {
    return (text.size() == 40 || text.size() == 64) &&
           std::all_of(text.begin(), text.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
  };
  auto head = trim(read_text_file(git / "HEAD"));
  if (is_commit(head)) return head;  // detached, as ExternalProject and FetchContent check out a tag or commit
  if (!head.starts_with("ref:")) return {};
  const auto ref = trim(head.substr(4));
  if (fs::is_regular_file(git / ref, ec)) {
    auto commit = trim(read_text_file(git / ref));
    return is_commit(commit) ? commit : std::string();
  }
  if (fs::is_regular_file(git / "packed-refs", ec))
    for (const auto& line : split(read_text_file(git / "packed-refs"), '\n'))
      if (const auto space = line.find(' '); space != std::string::npos && trim(line.substr(space + 1)) == ref)
        return is_commit(line.substr(0, space)) ? line.substr(0, space) : std::string();
  return {};
}

std::string vcpkg_purl(const std::string& port, const std::string& version) {
  const auto hash = version.find('#');
  auto purl = "pkg:vcpkg/" + percent_encode(port) + "@" + percent_encode(version.substr(0, hash));
  if (hash != std::string::npos) purl += "?port_version=" + percent_encode(version.substr(hash + 1));
  return purl;
}

std::optional<LinkedComponent> vcpkg_port(const fs::path& file, std::vector<fs::path>* read) {
  std::error_code ec;
  // The installed root: the directory holding vcpkg/info beside the triplets.
  fs::path root;
  for (auto dir = file.parent_path(); !dir.empty() && dir != dir.root_path(); dir = dir.parent_path())
    if (fs::is_directory(dir / "vcpkg" / "info", ec)) {
      root = dir;
      break;
    }
  if (root.empty()) return std::nullopt;
  const auto relative = file.lexically_relative(root).generic_string();
  const auto slash = relative.find('/');
  if (slash == std::string::npos) return std::nullopt;
  const auto triplet = relative.substr(0, slash);
  const auto note = [&](const fs::path& p) {
    if (read) read->push_back(p);
  };
  // Which port installed it: the info list that names it. No list names it, no port: nothing guessed.
  // (A port installed, removed or upgraded adds or removes a list: the directory stands for them.)
  note(root / "vcpkg" / "info");
  std::string port;
  std::string listed_version;
  const auto suffix = "_" + triplet + ".list";
  for (const auto& entry : fs::directory_iterator(root / "vcpkg" / "info", ec)) {
    const auto name = entry.path().filename().string();
    if (!name.ends_with(suffix)) continue;
    for (const auto& line : split(read_text_file(entry.path()), '\n'))
      if (trim(line) == relative) {
        note(entry.path());
        const auto stem = name.substr(0, name.size() - suffix.size());
        const auto underscore = stem.find('_');  // port names have none
        port = stem.substr(0, underscore);
        listed_version = underscore == std::string::npos ? std::string() : stem.substr(underscore + 1);
        break;
      }
    if (!port.empty()) break;
  }
  if (port.empty()) return std::nullopt;
  LinkedComponent c;
  c.ref = "vcpkg:" + port + ":" + triplet;
  c.kind = "vcpkg";
  c.name = port;
  c.version = listed_version;
  c.triplet = triplet;
  const auto spdx = root / triplet / "share" / port / "vcpkg.spdx.json";
  if (!fs::is_regular_file(spdx, ec)) {
    // Written later, it lands in the port's share directory (or makes it): the nearest that exists.
    for (auto dir = spdx.parent_path(); dir != root; dir = dir.parent_path())
      if (fs::is_directory(dir, ec)) {
        note(dir);
        break;
      }
    return c;
  }
  note(spdx);
  const auto text = read_text_file(spdx);
  c.spdx_sha256 = sha256_digest(text);
  try {
    const auto doc = json::parse(text);
    for (const auto& item : doc.as_object().at("packages").as_array()) {
      const auto& p = item.as_object();
      const auto id = string_member(p, "SPDXID");
      if (id == "SPDXRef-port") {
        if (auto v = string_member(p, "versionInfo"); !v.empty()) c.version = std::move(v);
        if (auto l = string_member(p, "licenseConcluded"); !l.empty() && l != "NOASSERTION" && l != "NONE")
          c.license = std::move(l);
      } else if (id == "SPDXRef-binary") {
        c.abi = string_member(p, "versionInfo");
      } else if (id.starts_with("SPDXRef-resource-")) {
        if (auto at = string_member(p, "downloadLocation"); !at.empty() && at != "NONE" && at != "NOASSERTION")
          c.sources.push_back(without_userinfo(at));
      }
    }
  } catch (const std::exception& e) {
    throw Error(Exit::step_failed, spdx.string() + " (vcpkg's SBOM of " + port + ") is unreadable: " + e.what());
  }
  return c;
}

LinkRecord read_link_record(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return {};
  LinkRecord record;
  auto& nodes = record.nodes;
  try {
    const auto v = json::parse(read_text_file(path));
    const auto& root = v.as_object();
    if (const auto* roots = root.if_contains("roots"); roots && roots->is_array())
      for (const auto& r : roots->as_array()) record.roots.emplace_back(r.as_string());
    if (const auto* conan = root.if_contains("conan"); conan && conan->is_object()) {
      for (const auto& p : conan->as_object().at("packages").as_array())
        record.conan_packages.push_back({string_member(p.as_object(), "name"), string_member(p.as_object(), "version"),
                                         string_member(p.as_object(), "folder")});
      for (const auto& d : conan->as_object().at("documents").as_array())
        record.conan_documents.push_back({string_member(d.as_object(), "path"), string_member(d.as_object(), "sha256")});
    }
    for (const auto& item : root.at("nodes").as_array()) {
      const auto& o = item.as_object();
      LinkNode n;
      n.ref = string_member(o, "ref");
      n.type = string_member(o, "type");
      n.file = string_member(o, "file");
      if (const auto* i = o.if_contains("imported"); i && i->is_bool()) n.imported = i->as_bool();
      // A link written inside $<$<CONFIG:...>:...> is empty in another configuration: no link there.
      for (const auto& l : o.at("links").as_array())
        if (!l.as_string().empty()) n.links.emplace_back(l.as_string());
      if (const auto* r = o.if_contains("repository"); r && r->is_object()) {
        // Stripped by CMake already; again here, so no path lets a credential through.
        n.repository_url = without_userinfo(string_member(r->as_object(), "url"));
        n.repository_commit = string_member(r->as_object(), "commit");
        n.repository_dir = string_member(r->as_object(), "dir");
      }
      if (const auto* a = o.if_contains("archive"); a && a->is_object()) {
        const auto& ao = a->as_object();
        n.archive_name = string_member(ao, "name");
        n.archive_url = url_without_credentials(string_member(ao, "url"));
        n.archive_hash = lowercase(string_member(ao, "hash"));
        n.archive_version = string_member(ao, "version");
      }
      nodes.push_back(std::move(n));
    }
  } catch (const std::exception& e) {
    throw Error(Exit::step_failed, path.string() + " (what the targets link, written by CMake) is unreadable: " + e.what() +
                                       "; configure the build again");
  }
  return record;
}

std::vector<fs::path> linked_library_files(const std::vector<LinkNode>& nodes) {
  std::vector<fs::path> out;
  for (const auto& n : nodes)
    if (is_library_file(n)) out.push_back(canonical_or_given(n.file));
  return out;
}

std::string repository_name(const std::string& url) {
  auto trimmed = url;
  while (!trimmed.empty() && trimmed.back() == '/') trimmed.pop_back();
  const auto cut = trimmed.find_last_of("/:");
  auto name = cut == std::string::npos ? trimmed : trimmed.substr(cut + 1);
  if (name.ends_with(".git")) name.resize(name.size() - 4);
  return name;
}

std::string repository_purl(const std::string& name, const std::string& url, const std::string& commit) {
  // github.com in any of git's spellings: https://github.com/o/r(.git), ssh://git@github.com/o/r,
  // git@github.com:o/r.
  for (const std::string host : {"://github.com/", "@github.com/", "@github.com:"}) {
    const auto at = url.find(host);
    if (at == std::string::npos) continue;
    auto path = url.substr(at + host.size());
    while (!path.empty() && path.back() == '/') path.pop_back();
    if (path.ends_with(".git")) path.resize(path.size() - 4);
    const auto slash = path.find('/');
    if (slash == std::string::npos || path.find('/', slash + 1) != std::string::npos) break;
    return "pkg:github/" + percent_encode(lowercase(path.substr(0, slash))) + "/" +
           percent_encode(lowercase(path.substr(slash + 1))) + "@" + commit;
  }
  auto purl = "pkg:generic/" + percent_encode(name) + "@" + commit;
  if (!url.empty()) purl += "?vcs_url=" + percent_encode("git+" + url + "@" + commit);
  return purl;
}

std::string archive_purl(const std::string& name, const std::string& version, const std::string& url,
                         const std::string& checksum) {
  auto purl = "pkg:generic/" + percent_encode(name);
  if (!version.empty()) purl += "@" + percent_encode(version);
  std::vector<std::string> qualifiers;
  if (const auto colon = checksum.find(':'); colon != std::string::npos)  // <alg>:<hex>, the colon kept as it is
    qualifiers.push_back("checksum=" + percent_encode(checksum.substr(0, colon)) + ":" +
                         percent_encode(checksum.substr(colon + 1)));
  if (!url.empty()) qualifiers.push_back("download_url=" + percent_encode(url));
  for (std::size_t i = 0; i < qualifiers.size(); ++i) purl += (i == 0 ? "?" : "&") + qualifiers[i];
  return purl;
}

namespace {

// The Conan package that installed `file`, as a `conan` component (without its file's facts): its name and
// version from CMakeDeps' files, and the component of the same name and version in Conan's own CycloneDX
// document when one of the record's documents has it. Each document is read once (`read`).
std::optional<LinkedComponent> conan_package(const fs::path& file, const LinkRecord& record,
                                             std::map<fs::path, std::pair<std::string, std::vector<ConanComponent>>>& read) {
  const auto package = conan_package_of(file, record.conan_packages);
  if (!package) return std::nullopt;
  LinkedComponent c;
  c.ref = "conan:" + package->name + "@" + package->version;
  c.kind = "conan";
  c.name = package->name;
  c.version = package->version;
  for (const auto& document : record.conan_documents) {
    auto it = read.find(document.path);
    if (it == read.end()) {
      std::error_code ec;
      if (!fs::is_regular_file(document.path, ec)) continue;  // gone since the configure: nothing to merge
      const auto text = read_text_file(document.path);
      try {
        it = read.emplace(document.path, std::make_pair(sha256_digest(text), conan_components(text))).first;
      } catch (const Error& e) {
        throw Error(Exit::step_failed, document.path.string() + " (a CycloneDX document of Conan's) is unreadable: " + e.what());
      }
    }
    for (const auto& component : it->second.second)
      if (component.name == package->name && component.version == package->version) {
        c.conan = component;
        c.conan_document_sha256 = it->second.first;
        return c;
      }
  }
  return c;
}

}  // namespace

Linked resolve_links(const LinkRecord& record, const std::map<fs::path, std::string>& staged,
                     const std::map<fs::path, Package>& packages) {
  Linked out;
  std::map<std::string, const LinkNode*> by_ref;
  for (const auto& n : record.nodes) by_ref.emplace(n.ref, &n);
  // With roots, only the nodes they reach through this configuration's links are listed.
  std::vector<LinkNode> reached;
  if (!record.roots.empty()) {
    std::set<std::string> seen;
    std::vector<std::string> queue(record.roots.begin(), record.roots.end());
    while (!queue.empty()) {
      const auto ref = queue.back();
      queue.pop_back();
      const auto it = by_ref.find(ref);
      if (it == by_ref.end() || !seen.insert(ref).second) continue;
      queue.insert(queue.end(), it->second->links.begin(), it->second->links.end());
    }
    for (const auto& n : record.nodes)
      if (seen.count(n.ref) > 0) reached.push_back(n);
    by_ref.clear();
    for (const auto& n : reached) by_ref.emplace(n.ref, &n);
  }
  const auto& nodes = record.roots.empty() ? record.nodes : reached;
  std::map<fs::path, std::pair<std::string, std::vector<ConanComponent>>> documents;
  std::map<std::string, std::size_t> listed;  // component bom-ref -> index in out.components
  const auto add = [&](LinkedComponent c) -> LinkedComponent& {
    const auto [it, added] = listed.try_emplace(c.ref, out.components.size());
    if (added) out.components.push_back(std::move(c));
    return out.components[it->second];
  };
  // What each node stands for in the SBOM: a bom-ref, or "" when it passes its links on.
  std::map<std::string, std::string> component_of;
  for (const auto& n : nodes) {
    std::string ref;
    const auto target = n.ref.starts_with("target:") ? n.ref.substr(7) : std::string();
    if (!n.file.empty())
      if (const auto it = staged.find(canonical_or_given(n.file)); it != staged.end()) ref = it->second;
    // An ExternalProject's clone: the commit checked out now, after its build made the file.
    const auto commit =
        n.repository_commit.empty() && !n.repository_dir.empty() ? checked_out_commit(n.repository_dir) : n.repository_commit;
    if (!ref.empty()) {
      // A staged file: already a component.
    } else if (!n.archive_url.empty()) {
      ref = "archive:" + n.archive_url + "@" + n.archive_hash;
      LinkedComponent c{ref, "archive", n.archive_name, "", "", "", std::nullopt, n.archive_url, "", {}};
      c.version = n.archive_version;
      c.checksum = n.archive_hash;
      auto& listed_archive = add(std::move(c));
      if (!target.empty()) listed_archive.targets.push_back(target);
    } else if (!commit.empty()) {
      ref = "vcs:" + n.repository_url + "@" + commit;
      const auto name =
          n.repository_url.empty() ? fs::path(n.repository_dir).filename().string() : repository_name(n.repository_url);
      auto& c = add({ref, "repository", name, "", "", "", std::nullopt, n.repository_url, commit, {}});
      if (!target.empty()) c.targets.push_back(target);
    } else if (is_library_file(n)) {
      const auto file = canonical_or_given(n.file);
      LinkedComponent c{"linked:" + file.string(),
                        "file",
                        file.filename().string(),
                        file.string(),
                        file_sha256(file),
                        linkage_of(file),
                        std::nullopt,
                        "",
                        "",
                        {}};
      if (const auto p = packages.find(file); p != packages.end()) {
        c.ref = "deb:" + p->second.name + ":" + p->second.architecture;
        c.kind = "package";
        c.name = p->second.name;
        c.package = p->second;
      } else if (auto port = vcpkg_port(file, &out.read)) {
        port->file = c.file;
        port->sha256 = c.sha256;
        port->linkage = c.linkage;
        c = std::move(*port);
      } else if (auto conan = conan_package(file, record, documents)) {
        conan->file = c.file;
        conan->sha256 = c.sha256;
        conan->linkage = c.linkage;
        c = std::move(*conan);
      }
      ref = c.ref;
      add(std::move(c));
    } else if (!n.imported && (n.type == "STATIC_LIBRARY" || n.type == "OBJECT_LIBRARY" || n.type == "SHARED_LIBRARY" ||
                               n.type == "MODULE_LIBRARY")) {
      ref = n.ref;
      add({ref, "static-library", target, "", "", "", std::nullopt, "", "", {target}});
    }
    component_of[n.ref] = ref;
  }
  // Each component's links: through the nodes that pass theirs on, never to itself.
  for (const auto& n : nodes) {
    const auto& from = component_of[n.ref];
    if (from.empty()) continue;
    auto& edges = out.edges[from];
    std::set<std::string> visited{n.ref};
    const std::function<void(const std::string&)> walk = [&](const std::string& ref) {
      if (!visited.insert(ref).second) return;
      const auto it = component_of.find(ref);
      if (it == component_of.end()) return;  // a node the record does not hold
      if (!it->second.empty()) {
        if (it->second != from && std::find(edges.begin(), edges.end(), it->second) == edges.end()) edges.push_back(it->second);
        return;
      }
      for (const auto& next : by_ref.at(ref)->links) walk(next);
    };
    for (const auto& l : n.links) walk(l);
  }
  for (auto& [from, to] : out.edges) std::sort(to.begin(), to.end());
  std::sort(out.components.begin(), out.components.end(),
            [](const LinkedComponent& a, const LinkedComponent& b) { return a.ref < b.ref; });
  for (auto& c : out.components) std::sort(c.targets.begin(), c.targets.end());
  return out;
}

void write_linked(const fs::path& path, const Linked& linked) {
  json::array components;
  for (const auto& c : linked.components) {
    json::object o{{"ref", c.ref},
                   {"kind", c.kind},
                   {"name", c.name},
                   {"file", c.file},
                   {"sha256", c.sha256},
                   {"linkage", c.linkage},
                   {"url", c.url},
                   {"commit", c.commit},
                   {"targets", json::value_from(c.targets)},
                   {"version", c.version},
                   {"checksum", c.checksum},
                   {"triplet", c.triplet},
                   {"license", c.license},
                   {"sources", json::value_from(c.sources)},
                   {"abi", c.abi},
                   {"spdx_sha256", c.spdx_sha256}};
    if (c.conan) {
      const auto pairs = [](const std::vector<std::pair<std::string, std::string>>& list) {
        json::array a;
        for (const auto& [k, v] : list) a.push_back(json::array{json::string(k), json::string(v)});
        return a;
      };
      o["conan"] = json::object{{"bom_ref", c.conan->bom_ref},
                                {"purl", c.conan->purl},
                                {"description", c.conan->description},
                                {"cpe", c.conan->cpe},
                                {"licenses", pairs(c.conan->licenses)},
                                {"hashes", pairs(c.conan->hashes)},
                                {"references", pairs(c.conan->references)},
                                {"document_sha256", c.conan_document_sha256}};
    }
    if (c.package)
      o["package"] = json::object{{"name", c.package->name},
                                  {"version", c.package->version},
                                  {"architecture", c.package->architecture},
                                  {"distro", c.package->distro},
                                  {"namespace", c.package->namespace_}};
    components.push_back(std::move(o));
  }
  json::object edges;
  for (const auto& [from, to] : linked.edges) edges[from] = json::value_from(to);
  const auto text =
      json::serialize(json::object{{"format", 1}, {"components", std::move(components)}, {"edges", std::move(edges)}}) + "\n";
  std::error_code ec;
  if (fs::is_regular_file(path, ec) && read_text_file(path) == text) return;
  write_file_atomically(path, text);
}

Linked read_linked(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return {};
  Linked out;
  try {
    const auto v = json::parse(read_text_file(path));
    const auto& root = v.as_object();
    for (const auto& item : root.at("components").as_array()) {
      const auto& o = item.as_object();
      LinkedComponent c{string_member(o, "ref"),
                        string_member(o, "kind"),
                        string_member(o, "name"),
                        string_member(o, "file"),
                        string_member(o, "sha256"),
                        string_member(o, "linkage"),
                        std::nullopt,
                        string_member(o, "url"),
                        string_member(o, "commit"),
                        json::value_to<std::vector<std::string>>(o.at("targets"))};
      c.version = string_member(o, "version");
      c.checksum = string_member(o, "checksum");
      c.triplet = string_member(o, "triplet");
      c.license = string_member(o, "license");
      if (const auto* sources = o.if_contains("sources"); sources && sources->is_array())
        c.sources = json::value_to<std::vector<std::string>>(*sources);
      c.abi = string_member(o, "abi");
      c.spdx_sha256 = string_member(o, "spdx_sha256");
      if (const auto* conan = o.if_contains("conan"); conan && conan->is_object()) {
        const auto& co = conan->as_object();
        const auto pairs = [&](const char* key) {
          std::vector<std::pair<std::string, std::string>> list;
          for (const auto& item : co.at(key).as_array())
            list.emplace_back(item.as_array().at(0).as_string(), item.as_array().at(1).as_string());
          return list;
        };
        c.conan = ConanComponent{string_member(co, "bom_ref"),
                                 c.name,
                                 c.version,
                                 string_member(co, "purl"),
                                 string_member(co, "description"),
                                 string_member(co, "cpe"),
                                 pairs("licenses"),
                                 pairs("hashes"),
                                 pairs("references")};
        c.conan_document_sha256 = string_member(co, "document_sha256");
      }
      if (const auto* p = o.if_contains("package"); p && p->is_object()) {
        const auto& po = p->as_object();
        c.package = Package{string_member(po, "name"), string_member(po, "version"), string_member(po, "architecture"),
                            string_member(po, "distro"), string_member(po, "namespace")};
      }
      out.components.push_back(std::move(c));
    }
    for (const auto& [from, to] : root.at("edges").as_object())
      out.edges[std::string(from)] = json::value_to<std::vector<std::string>>(to);
  } catch (const std::exception& e) {
    throw Error(Exit::step_failed, path.string() + " (what the staged files link) is unreadable: " + e.what() +
                                       "; rebuild the image's stage target");
  }
  return out;
}

}  // namespace mai
