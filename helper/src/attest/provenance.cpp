#include "attest/provenance.hpp"

#include <sys/stat.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <optional>

#include "base/error.hpp"
#include "base/files.hpp"
#include "base/json_file.hpp"
#include "base/text.hpp"
#include "oci/media_types.hpp"
#include "registry/referrers.hpp"

namespace mai {

namespace json = boost::json;

namespace {

std::string git(const ProvenanceSpec& p, const std::vector<std::string>& args, Runner& runner, const Log& log) {
  Command c{{p.git, "-C", p.source_dir.string()}};
  c.argv.insert(c.argv.end(), args.begin(), args.end());
  const auto r = runner.run(c, Output::capture, log);
  return r.ok() ? trim(r.out) : std::string();
}

json::value identity(const std::filesystem::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return nullptr;
  return json::array{st.st_dev, st.st_ino, st.st_size,
                     static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

std::string first_line(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) return {};
  const auto text = read_text_file(file);
  return trim(text.substr(0, text.find('\n')));
}

// What git's answers for `dir` depend on, read from the files git keeps them in; null (ask git) when
// the checkout is not found the plain way: a variable redirecting git, no .git above `dir`.
json::value git_state_key(const ProvenanceSpec& p) {
  for (const char* v : {"GIT_DIR", "GIT_COMMON_DIR", "GIT_WORK_TREE", "GIT_CONFIG", "GIT_CONFIG_GLOBAL"})
    if (std::getenv(v) != nullptr) return nullptr;  // NOLINT(concurrency-mt-unsafe): read before any thread starts
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto start = fs::absolute(p.source_dir, ec).lexically_normal();
  if (ec) return nullptr;
  fs::path git_dir;
  for (auto at = start;; at = at.parent_path()) {
    const auto dot_git = at / ".git";
    const auto type = fs::symlink_status(dot_git, ec).type();  // ec is set where there is none: not an error here
    if (type == fs::file_type::directory) {
      git_dir = dot_git;
    } else if (type == fs::file_type::regular) {  // a worktree or a submodule: "gitdir: <path>"
      const auto line = first_line(dot_git);
      if (!line.starts_with("gitdir: ")) return nullptr;
      git_dir = (at / line.substr(8)).lexically_normal();
    }
    if (!git_dir.empty() || at == at.parent_path()) break;
  }
  if (git_dir.empty()) return nullptr;
  const auto common = first_line(git_dir / "commondir");
  const auto common_dir = common.empty() ? git_dir : (git_dir / common).lexically_normal();
  const auto head = first_line(git_dir / "HEAD");
  json::object files;
  for (const auto& f : {git_dir / "HEAD", git_dir / "config.worktree", common_dir / "config", common_dir / "packed-refs",
                        common_dir / "reftable" / "tables.list"})
    files[f.string()] = identity(f);
  // Where else git reads the configuration that may rewrite the remote's URL (url.<base>.insteadOf).
  const char* home = std::getenv("HOME");            // NOLINT(concurrency-mt-unsafe): read before any thread starts
  const char* xdg = std::getenv("XDG_CONFIG_HOME");  // NOLINT(concurrency-mt-unsafe)
  const fs::path home_dir = home != nullptr ? home : "";
  for (const auto& f : {fs::path("/etc/gitconfig"), home_dir / ".gitconfig",
                        (xdg != nullptr && *xdg ? fs::path(xdg) : home_dir / ".config") / "git" / "config"})
    files[f.string()] = identity(f);
  if (head.starts_with("ref: ")) files[(common_dir / head.substr(5)).string()] = identity(common_dir / head.substr(5));
  return json::object{{"format", 1},
                      {"git", p.git},
                      {"source_dir", p.source_dir.string()},
                      {"git_dir", git_dir.string()},
                      {"head", head},
                      {"files", std::move(files)}};
}

std::optional<SourceRevision> cached_revision(const std::filesystem::path& cache, const json::value& key) {
  std::error_code ec;
  if (cache.empty() || key.is_null() || !std::filesystem::is_regular_file(cache, ec)) return std::nullopt;
  try {
    const auto v = read_json_file(cache);
    if (v.at("key") != key) return std::nullopt;
    return SourceRevision{json::value_to<std::string>(v.at("uri")), json::value_to<std::string>(v.at("commit"))};
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

SourceRevision ask_git(const ProvenanceSpec& provenance, Runner& runner, const Log& log) {
  SourceRevision out;
  out.commit = git(provenance, {"rev-parse", "--verify", "HEAD"}, runner, log);
  if (out.commit.empty()) return {};
  const auto remote = git(provenance, {"remote", "get-url", "origin"}, runner, log);
  // A CI checkout's remote carries its job token (https://gitlab-ci-token:<token>@...): never recorded.
  out.uri = "git+" + (remote.empty() ? "file://" + provenance.source_dir.string() : without_userinfo(remote));
  return out;
}

}  // namespace

SourceRevision source_revision(const ProvenanceSpec& provenance, Runner& runner, const Log& log,
                               const std::filesystem::path& cache) {
  if (provenance.git.empty()) return {};
  const auto key = cache.empty() ? json::value(nullptr) : git_state_key(provenance);
  if (auto known = cached_revision(cache, key)) return *known;
  auto out = ask_git(provenance, runner, log);
  // Only a checkout's answer is kept: outside one, or when git failed, it is asked again next time.
  if (!key.is_null() && !out.commit.empty())
    write_json_atomically(cache, json::object{{"key", key}, {"uri", out.uri}, {"commit", out.commit}});
  return out;
}

BuiltWith read_built_with(const std::filesystem::path& state, const Platform& platform, const Log& log) {
  const auto path = state / ("built-with-" + platform.target_suffix() + ".json");
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return {};
  try {
    const auto v = read_json_file(path);
    const auto& o = v.as_object();
    BuiltWith out;
    if (const auto* c = o.if_contains("compiler"); c && c->is_string()) out.compiler = c->get_string();
    if (const auto* t = o.if_contains("toolchain"); t && t->is_object()) {
      out.toolchain_file = json::value_to<std::string>(t->as_object().at("file"));
      out.toolchain_sha256 = json::value_to<std::string>(t->as_object().at("sha256"));
    }
    return out;
  } catch (const std::exception& e) {
    log.warn(path.string() + " is unreadable (" + e.what() + "); the provenance names no compiler for " + platform.str());
    return {};
  }
}

std::string provenance_statement(const Spec& spec, const Platform& platform, const std::string& digest,
                                 const std::string& base_digest, const SourceRevision& source, const BuiltWith& built) {
  const auto& p = spec.provenance;
  json::object external{{"image", spec.name},
                        {"platform", platform.str()},
                        {"repository", spec.repository.str()},
                        {"tags", json::value_from(spec.tags)}};
  if (!source.commit.empty()) external["source"] = json::object{{"uri", source.uri}, {"commit", source.commit}};
  // What compiled this platform's files: a cross platform's sub-build has a compiler and a toolchain
  // file of its own, as its build saw them.
  json::object internal{{"cmake", json::object{{"version", p.cmake_version}, {"generator", p.generator}}}};
  if (!built.compiler.empty()) internal["compiler"] = built.compiler;
  if (!built.toolchain_file.empty())
    internal["toolchain"] = json::object{{"file", built.toolchain_file}, {"sha256", built.toolchain_sha256}};
  json::array dependencies;
  if (!source.commit.empty())
    dependencies.push_back(json::object{{"uri", source.uri}, {"digest", json::object{{"gitCommit", source.commit}}}});
  if (!base_digest.empty())
    dependencies.push_back(
        json::object{{"uri", "oci://" + spec.image.base}, {"digest", json::object{{"sha256", base_digest.substr(7)}}}});
  // Times only when SOURCE_DATE_EPOCH gives them: the clock would make every build's statement
  // another one, and an unchanged image gains a statement only when something it records changed.
  json::object run{{"builder", json::object{{"id", p.builder_id}}}};
  if (p.source_date_epoch > 0)
    run["metadata"] = json::object{{"startedOn", rfc3339(p.source_date_epoch)}, {"finishedOn", rfc3339(p.source_date_epoch)}};
  json::object statement{
      {"_type", "https://in-toto.io/Statement/v1"},
      {"subject",
       json::array{json::object{{"name", spec.repository.str()}, {"digest", json::object{{"sha256", digest.substr(7)}}}}}},
      {"predicateType", kSlsaProvenanceV1},
      {"predicate", json::object{{"buildDefinition", json::object{{"buildType", kBuildType},
                                                                  {"externalParameters", std::move(external)},
                                                                  {"internalParameters", std::move(internal)},
                                                                  {"resolvedDependencies", std::move(dependencies)}}},
                                 {"runDetails", std::move(run)}}}};
  return json::serialize(statement);
}

Artifact provenance_artifact(const Spec& spec, const Platform& platform, const std::string& digest,
                             const std::string& base_digest, const SourceRevision& source, const BuiltWith& built) {
  return {media::in_toto,
          media::in_toto,
          provenance_statement(spec, platform, digest, base_digest, source, built),
          {{"in-toto.io/predicate-type", kSlsaProvenanceV1}}};
}

}  // namespace mai
