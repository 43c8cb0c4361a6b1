#include "attest/sbom.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <map>
#include <set>

#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/files.hpp"
#include "base/text.hpp"
#include "oci/media_types.hpp"
#include "registry/platform_manifest.hpp"
#include "registry/referrers.hpp"
#include "registry/session.hpp"

namespace fs = std::filesystem;

namespace mai {

namespace json = boost::json;

namespace {

constexpr const char* kProperty = "cmake-multiarch-image:";

json::object property(const std::string& name, const std::string& value) {
  return {{"name", kProperty + name}, {"value", value}};
}

json::array sha256_hash(const std::string& digest) {
  return json::array{json::object{{"alg", "SHA-256"}, {"content", digest.substr(7)}}};
}

// CycloneDX's name of the algorithm of a declared <alg>:<hex> hash; "" for one it has no name for.
std::string cyclonedx_algorithm(const std::string& checksum) {
  static const std::map<std::string, std::string> names{
      {"md5", "MD5"},        {"sha1", "SHA-1"},        {"sha256", "SHA-256"},    {"sha384", "SHA-384"},
      {"sha512", "SHA-512"}, {"sha3_256", "SHA3-256"}, {"sha3_384", "SHA3-384"}, {"sha3_512", "SHA3-512"}};
  const auto it = names.find(checksum.substr(0, checksum.find(':')));
  return it == names.end() ? std::string() : it->second;
}

// pkg:oci/<last path segment>@<digest>?arch=..&repository_url=<registry/path>, as the purl spec's
// OCI type has it.
std::string oci_purl(const std::string& repository, const std::string& digest, const Platform& platform) {
  const auto slash = repository.rfind('/');
  const auto name = slash == std::string::npos ? repository : repository.substr(slash + 1);
  return "pkg:oci/" + percent_encode(name) + "@" + percent_encode(digest) + "?arch=" + percent_encode(platform.arch) +
         "&repository_url=" + percent_encode(repository);
}

// A UUID (version 5 layout, RFC 9562 variant) from the first bytes of a SHA-256: the same document,
// the same serial number.
std::string uuid_from(const std::string& sha256_hex) {
  auto h = sha256_hex.substr(0, 32);
  h[12] = '5';
  static constexpr char variant[] = "89ab";
  h[16] = variant[std::stoi(h.substr(16, 1), nullptr, 16) & 3];
  return "urn:uuid:" + h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" +
         h.substr(20, 12);
}

}  // namespace

bool secret_name(std::string_view name) {
  const auto lower = lowercase(name);
  // Anywhere in the name: DB_PASS, MYSQL_PWD, REGISTRY_CREDS, NPM_TOKEN, ...
  for (const char* part : {"token", "pass", "pwd", "secret", "key", "cred", "auth", "private", "cert"})
    if (lower.find(part) != std::string::npos) return true;
  // Short ones only as a word of their own (GH_PAT, DB_PW, ghPat; not PATH or COMPAT): words end at
  // anything but a letter or digit, and where a lower-case letter meets an upper-case one.
  std::vector<std::string> words{""};
  for (std::size_t i = 0; i < name.size(); ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (!std::isalnum(c) || (i > 0 && std::isupper(c) && std::islower(static_cast<unsigned char>(name[i - 1]))))
      words.emplace_back();
    if (std::isalnum(c)) words.back() += static_cast<char>(std::tolower(c));
  }
  return std::any_of(words.begin(), words.end(), [](const std::string& w) { return w == "pat" || w == "pw" || w == "pin"; });
}

std::vector<std::string> dockerfile_bases(const std::string& dockerfile, const std::vector<BuildArg>& build_args) {
  std::map<std::string, std::string> args;  // ARG defaults before the first FROM, then the given values
  std::set<std::string> stages;
  std::vector<std::string> out;
  bool seen_from = false;
  // Logical lines: a backslash at the end continues the instruction.
  std::vector<std::string> lines;
  std::string current;
  for (const auto& raw : split(dockerfile, '\n')) {
    auto line = trim(raw);
    if (current.empty() && line.starts_with('#')) continue;
    if (line.ends_with('\\')) {
      current += line.substr(0, line.size() - 1) + " ";
      continue;
    }
    lines.push_back(current + line);
    current.clear();
  }
  const auto substitute = [&](std::string text) {
    for (std::size_t at = 0; (at = text.find('$', at)) != std::string::npos;) {
      std::size_t end = at + 1;
      std::string name;
      if (end < text.size() && text[end] == '{') {
        const auto close = text.find('}', end);
        if (close == std::string::npos) return std::string();
        name = text.substr(end + 1, close - end - 1);
        end = close + 1;
      } else {
        while (end < text.size() && (std::isalnum(static_cast<unsigned char>(text[end])) || text[end] == '_')) ++end;
        name = text.substr(at + 1, end - at - 1);
      }
      const auto it = args.find(name);
      if (it == args.end()) return std::string();  // unknown: not resolvable here
      text.replace(at, end - at, it->second);
      at += it->second.size();
    }
    return text;
  };
  for (const auto& line : lines) {
    std::vector<std::string> words;
    auto spaced = line;
    std::replace(spaced.begin(), spaced.end(), '\t', ' ');  // words are separated by spaces or tabs
    for (const auto& w : split(spaced, ' '))
      if (!trim(w).empty()) words.push_back(trim(w));
    if (words.empty()) continue;
    const auto instruction = lowercase(words[0]);
    if (instruction == "arg" && !seen_from) {
      for (std::size_t i = 1; i < words.size(); ++i) {
        const auto eq = words[i].find('=');
        if (eq != std::string::npos) args[words[i].substr(0, eq)] = words[i].substr(eq + 1);
      }
    } else if (instruction == "from") {
      if (!seen_from)
        for (const auto& a : build_args) args[a.name] = a.value;
      seen_from = true;
      std::size_t i = 1;
      while (i < words.size() && words[i].starts_with("--")) ++i;  // --platform=...
      if (i >= words.size()) continue;
      const auto image = substitute(words[i]);
      const bool stage = stages.count(lowercase(image)) > 0;  // FROM <an earlier stage>
      if (i + 2 < words.size() && lowercase(words[i + 1]) == "as") stages.insert(lowercase(words[i + 2]));
      if (image.empty() || image == "scratch" || stage) continue;
      if (std::find(out.begin(), out.end(), image) == out.end()) out.push_back(image);
    }
  }
  return out;
}

std::string sbom_document(const SbomInput& in) {
  const auto& spec = in.spec;
  const auto& p = spec.provenance;
  json::array components, dependencies;
  json::array project_needs;
  // Which component a DT_NEEDED name or a PT_INTERP path means: the staged file of that name.
  std::map<std::string, std::string> by_name;
  for (const auto& f : in.files) {
    const auto ref = "file:" + f.path;
    by_name.emplace(f.path, ref);
    by_name.emplace(fs::path(f.path).filename().string(), ref);
    if (!f.soname.empty()) by_name.emplace(f.soname, ref);
  }
  // The runtime's files (and ESSENTIALS' from this machine's packages), one component per package that
  // ships them, each file nested inside.
  std::map<std::string, json::object> packages;  // bom-ref -> component
  for (const auto& f : in.files) {
    const auto ref = "file:" + f.path;
    json::object c{{"bom-ref", ref},
                   {"name", f.kind == "program" || f.kind == "library" ? fs::path(f.path).filename().string() : f.path},
                   {"hashes", sha256_hash(f.sha256)},
                   {"evidence", json::object{{"occurrences", json::array{json::object{{"location", f.path}}}}}}};
    if (f.kind == "program") {
      c["type"] = "application";
    } else if (f.kind == "library") {
      c["type"] = "library";
    } else {
      c["type"] = "file";
    }
    if (f.kind == "program" || f.kind == "library") {
      if (!p.project_version.empty()) c["version"] = p.project_version;
      project_needs.push_back(json::string(ref));
    }
    json::array properties{property("kind", f.kind)};
    if (!f.source.empty()) properties.push_back(property("source", f.source));
    c["properties"] = std::move(properties);
    // The edges this file's ELF dynamic section states.
    json::array needs;
    std::set<std::string> listed;
    for (const auto& name : f.needed)
      if (const auto it = by_name.find(name); it != by_name.end() && it->second != ref && listed.insert(it->second).second)
        needs.push_back(json::string(it->second));
    if (!f.interpreter.empty())
      if (const auto it = by_name.find(f.interpreter); it != by_name.end() && listed.insert(it->second).second)
        needs.push_back(json::string(it->second));
    // And what its link put inside it (static libraries, fetched sources), as CMake's link closure says.
    if (const auto it = in.linked.edges.find(ref); it != in.linked.edges.end())
      for (const auto& to : it->second)
        if (listed.insert(to).second) needs.push_back(json::string(to));
    dependencies.push_back(json::object{{"ref", ref}, {"dependsOn", std::move(needs)}});
    if ((f.kind == "runtime" || f.kind == "essentials") && f.package) {
      const auto& pkg = *f.package;
      const auto pref = "deb:" + pkg.name + ":" + pkg.architecture;
      auto [it, added] = packages.try_emplace(pref);
      if (added) {
        it->second = json::object{
            {"type", "library"},          {"bom-ref", pref},
            {"name", pkg.name},           {"version", pkg.version},
            {"purl", pkg.purl()},         {"properties", json::array{property("package-architecture", pkg.architecture)}},
            {"components", json::array{}}};
        project_needs.push_back(json::string(pref));
      }
      it->second["components"].as_array().push_back(std::move(c));
    } else {
      components.push_back(std::move(c));
    }
  }
  // What the staged files link. A library file a package ships is inside that package's component (the
  // runtime's, when the runtime has one already), the others are components of their own.
  for (const auto& l : in.linked.components) {
    json::array properties{property("kind", l.kind == "package" ? "linked" : l.kind)};
    if (!l.linkage.empty()) properties.push_back(property("linkage", l.linkage));
    if (l.kind == "package" && l.package) {
      const auto& pkg = *l.package;
      auto [it, added] = packages.try_emplace(l.ref);
      if (added) {
        it->second = json::object{
            {"type", "library"},          {"bom-ref", l.ref},
            {"name", pkg.name},           {"version", pkg.version},
            {"purl", pkg.purl()},         {"properties", json::array{property("package-architecture", pkg.architecture)}},
            {"components", json::array{}}};
        project_needs.push_back(json::string(l.ref));
      }
      it->second["components"].as_array().push_back(json::object{{"type", "file"},
                                                                 {"bom-ref", "linked:" + l.file},
                                                                 {"name", l.file},
                                                                 {"hashes", sha256_hash(l.sha256)},
                                                                 {"properties", std::move(properties)}});
      continue;
    }
    json::object c{{"type", "library"}, {"bom-ref", l.ref}, {"name", l.name}};
    if (l.kind == "file") {
      c["hashes"] = sha256_hash(l.sha256);
      properties.push_back(property("linked-file", l.file));
    } else if (l.kind == "static-library") {
      if (!p.project_version.empty()) c["version"] = p.project_version;
    } else if (l.kind == "vcpkg") {
      // What vcpkg's own SBOM of the port says, and that document referenced by its SHA-256.
      if (!l.version.empty()) {
        c["version"] = l.version;
        c["purl"] = vcpkg_purl(l.name, l.version);
      }
      if (!l.license.empty()) c["licenses"] = json::array{json::object{{"expression", l.license}}};
      json::array references;
      for (const auto& source : l.sources)
        references.push_back(source.starts_with("git+") ? json::object{{"type", "vcs"}, {"url", source.substr(4)}}
                                                        : json::object{{"type", "distribution"}, {"url", source}});
      if (!references.empty()) c["externalReferences"] = std::move(references);
      properties.push_back(property("vcpkg-triplet", l.triplet));
      if (!l.abi.empty()) properties.push_back(property("vcpkg-abi", l.abi));
      if (!l.spdx_sha256.empty()) properties.push_back(property("vcpkg-spdx-sha256", l.spdx_sha256));
      c["components"] = json::array{
          json::object{{"type", "file"}, {"bom-ref", "linked:" + l.file}, {"name", l.file}, {"hashes", sha256_hash(l.sha256)}}};
    } else if (l.kind == "conan") {
      // Named by CMakeDeps' files (the package folder the file is in); described, where Conan's own
      // CycloneDX document has the package, as that document describes it.
      c["version"] = l.version;
      c["purl"] = l.conan && !l.conan->purl.empty() ? l.conan->purl : conan_purl(l.name, l.version);
      properties.push_back(property("conan-source", l.conan ? "cyclonedx" : "cmakedeps"));
      if (l.conan) {
        const auto& from = *l.conan;
        if (!from.description.empty()) c["description"] = from.description;
        if (!from.cpe.empty()) c["cpe"] = from.cpe;
        // CycloneDX takes either license objects (an SPDX id or a name) or one expression.
        if (from.licenses.size() == 1 && from.licenses[0].first == "expression") {
          c["licenses"] = json::array{json::object{{"expression", from.licenses[0].second}}};
        } else if (!from.licenses.empty()) {
          json::array licenses;
          for (const auto& [field, value] : from.licenses)
            licenses.push_back(json::object{{"license", json::object{{field == "id" ? "id" : "name", value}}}});
          c["licenses"] = std::move(licenses);
        }
        if (!from.hashes.empty()) {
          json::array hashes;
          for (const auto& [alg, content] : from.hashes) hashes.push_back(json::object{{"alg", alg}, {"content", content}});
          c["hashes"] = std::move(hashes);
        }
        if (!from.references.empty()) {
          json::array references;
          for (const auto& [type, url] : from.references) references.push_back(json::object{{"type", type}, {"url", url}});
          c["externalReferences"] = std::move(references);
        }
        if (!from.bom_ref.empty()) properties.push_back(property("conan-bom-ref", from.bom_ref));
        if (!l.conan_document_sha256.empty()) properties.push_back(property("conan-sbom-sha256", l.conan_document_sha256));
      }
      c["components"] = json::array{
          json::object{{"type", "file"}, {"bom-ref", "linked:" + l.file}, {"name", l.file}, {"hashes", sha256_hash(l.sha256)}}};
    } else if (l.kind == "repository") {
      c["version"] = l.commit;
      c["purl"] = repository_purl(l.name, without_userinfo(l.url), l.commit);
      if (!l.url.empty()) c["externalReferences"] = json::array{json::object{{"type", "vcs"}, {"url", without_userinfo(l.url)}}};
      properties.push_back(property("git-commit", l.commit));
    } else if (l.kind == "archive") {
      // The archive FetchContent downloaded: its URL and the hash it was declared with.
      if (!l.version.empty()) c["version"] = l.version;
      c["purl"] = archive_purl(l.name, l.version, url_without_credentials(l.url), l.checksum);
      json::object distribution{{"type", "distribution"}, {"url", url_without_credentials(l.url)}};
      if (const auto algorithm = cyclonedx_algorithm(l.checksum); !algorithm.empty())
        distribution["hashes"] =
            json::array{json::object{{"alg", algorithm}, {"content", l.checksum.substr(l.checksum.find(':') + 1)}}};
      c["externalReferences"] = json::array{std::move(distribution)};
      if (!l.checksum.empty()) properties.push_back(property("archive-checksum", l.checksum));
    }
    for (const auto& target : l.targets) properties.push_back(property("target", target));
    c["properties"] = std::move(properties);
    components.push_back(std::move(c));
    project_needs.push_back(json::string(l.ref));
    json::array needs;
    if (const auto it = in.linked.edges.find(l.ref); it != in.linked.edges.end())
      for (const auto& to : it->second) needs.push_back(json::string(to));
    dependencies.push_back(json::object{{"ref", l.ref}, {"dependsOn", std::move(needs)}});
  }
  for (auto& [ref, c] : packages) {
    json::array files;
    for (const auto& f : c["components"].as_array()) files.push_back(f.as_object().at("bom-ref"));
    dependencies.push_back(json::object{{"ref", ref}, {"dependsOn", std::move(files)}});
    components.push_back(std::move(c));
  }
  for (std::size_t i = 0; i < in.bases.size(); ++i) {
    const auto& b = in.bases[i];
    const auto ref = "image:" + b.reference;
    json::object c{{"type", "container"}, {"bom-ref", ref}, {"name", b.repository}};
    json::array properties{property("reference", b.reference)};
    if (!b.digest.empty()) {
      c["version"] = b.digest;
      c["purl"] = oci_purl(b.repository, b.digest, in.platform);
      c["hashes"] = sha256_hash(b.digest);
    } else {
      properties.push_back(property("digest", "unresolved"));
    }
    c["properties"] = std::move(properties);
    components.push_back(std::move(c));
    project_needs.push_back(json::string(ref));
    dependencies.push_back(json::object{{"ref", ref}, {"dependsOn", json::array{}}});
  }
  json::object project{{"type", "application"}, {"bom-ref", "project"}, {"name", p.project.empty() ? spec.name : p.project}};
  if (!p.project_version.empty()) project["version"] = p.project_version;
  json::array project_properties;
  if (!in.source.commit.empty()) {
    project["externalReferences"] = json::array{json::object{
        {"type", "vcs"}, {"url", without_userinfo(in.source.uri.substr(in.source.uri.starts_with("git+") ? 4 : 0))}}};
    project_properties.push_back(property("git-commit", in.source.commit));
  }
  if (!project_properties.empty()) project["properties"] = std::move(project_properties);
  dependencies.push_back(json::object{{"ref", "project"}, {"dependsOn", std::move(project_needs)}});

  json::array metadata_properties{property("image", spec.repository.str()), property("platform", in.platform.str()),
                                  property("image-digest", in.digest)};
  for (const auto& tag : spec.tags) metadata_properties.push_back(property("tag", tag));
  if (!spec.image.enabled)
    for (const auto& a : spec.build_args)
      if (a.name != "MULTIARCH_STAGE" && !secret_name(a.name))
        metadata_properties.push_back(property("build-arg:" + a.name, without_userinfo(a.value)));
  json::object document{{"bomFormat", "CycloneDX"},
                        {"specVersion", "1.6"},
                        {"version", 1},
                        {"metadata", json::object{{"lifecycles", json::array{json::object{{"phase", "build"}}}},
                                                  {"tools", json::object{{"components", json::array{json::object{
                                                                                            {"type", "application"},
                                                                                            {"name", "cmake-multiarch-image"},
                                                                                        }}}}},
                                                  {"component", std::move(project)},
                                                  {"properties", std::move(metadata_properties)}}},
                        {"components", std::move(components)},
                        {"dependencies", std::move(dependencies)}};
  // A time only when SOURCE_DATE_EPOCH gives one: the same image must get the same document.
  if (p.source_date_epoch > 0) document["metadata"].as_object()["timestamp"] = rfc3339(p.source_date_epoch);
  // The serial number names this content: derived from the document without it.
  const auto digest = sha256_digest(json::serialize(document));
  document["serialNumber"] = uuid_from(digest.substr(7));
  return json::serialize(document);
}

Artifact sbom_artifact(const Spec& spec, const Platform& platform, const std::string& digest, const std::string& base_digest,
                       const SourceRevision& source, const fs::path& state, Runner& runner, const Log& log) {
  SbomInput in{spec,
               platform,
               digest,
               source,
               // Only an image with a stage has staged files: a record left from when it had one is not read.
               spec.stage.enabled ? read_staged_files(staged_files_path(state, platform)) : std::vector<StagedFile>(),
               {},
               spec.stage.enabled ? read_linked(linked_path(state, platform.target_suffix())) : Linked()};
  // ESSENTIALS' files, as the build step recorded them: only while the image has ESSENTIALS.
  if (spec.image.enabled && !spec.image.essentials.empty()) {
    const auto essentials = read_staged_files(essentials_files_path(state, platform));
    in.files.insert(in.files.end(), essentials.begin(), essentials.end());
  }
  if (spec.image.enabled) {
    if (!base_digest.empty()) {
      const auto reference = parse_image_reference(spec.image.base);
      in.bases.push_back({spec.image.base, reference.repository.str(), base_digest});
    }
  } else {
    // A Dockerfile image: the bases its FROM lines name, resolved for this platform where the registry
    // answers; a base it cannot resolve is listed as written, with no digest made up.
    std::error_code ec;
    const auto dockerfile = fs::is_regular_file(spec.dockerfile, ec) ? read_text_file(spec.dockerfile) : std::string();
    for (const auto& written : dockerfile_bases(dockerfile, spec.build_args)) {
      SbomBase base{written, written, ""};
      try {
        const auto reference = parse_image_reference(written);
        base.repository = reference.repository.str();
        RegistrySession source(reference.repository, registry_settings(spec), "none", runner, log);
        base.digest = platform_manifest(source.client, reference, platform, "FROM " + written).digest;
      } catch (const Error& e) {
        log.warn("SBOM: the base " + written + " is listed without its digest: " + e.what());
      }
      in.bases.push_back(base);
    }
  }
  log.info("SBOM of " + platform.str() + ": " + std::to_string(in.files.size()) + " files, " +
           std::to_string(in.linked.components.size()) + " linked components, " + std::to_string(in.bases.size()) +
           " base images");
  return {media::cyclonedx, media::cyclonedx, sbom_document(in), {{kDocumentAnnotation, "sbom"}}};
}

bool is_our_sbom(const Descriptor& referrer) {
  const auto mark = referrer.annotations.find(kDocumentAnnotation);
  return referrer.artifact_type == media::cyclonedx && mark != referrer.annotations.end() && mark->second == "sbom";
}

}  // namespace mai
