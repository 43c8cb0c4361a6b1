#include "attest/provenance.hpp"

#include <boost/json.hpp>

#include "base/error.hpp"
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

}  // namespace

SourceRevision source_revision(const ProvenanceSpec& provenance, Runner& runner, const Log& log) {
  if (provenance.git.empty()) return {};
  SourceRevision out;
  out.commit = git(provenance, {"rev-parse", "--verify", "HEAD"}, runner, log);
  if (out.commit.empty()) return {};
  const auto remote = git(provenance, {"remote", "get-url", "origin"}, runner, log);
  // A CI checkout's remote carries its job token (https://gitlab-ci-token:<token>@...): never recorded.
  out.uri = "git+" + (remote.empty() ? "file://" + provenance.source_dir.string() : without_userinfo(remote));
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
