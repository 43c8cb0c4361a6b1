#include "stage/staged_files.hpp"

#include <boost/json.hpp>

#include "base/error.hpp"
#include "base/files.hpp"

namespace fs = std::filesystem;

namespace mai {

namespace json = boost::json;

void tag_invoke(json::value_from_tag, json::value& v, const StagedFile& f) {
  json::object o{{"path", f.path},
                 {"kind", f.kind},
                 {"sha256", f.sha256},
                 {"soname", f.soname},
                 {"needed", json::value_from(f.needed)},
                 {"interpreter", f.interpreter},
                 {"source", f.source}};
  if (f.package)
    o["package"] = json::object{{"name", f.package->name},
                                {"version", f.package->version},
                                {"architecture", f.package->architecture},
                                {"distro", f.package->distro},
                                {"namespace", f.package->namespace_}};
  v = std::move(o);
}

StagedFile tag_invoke(json::value_to_tag<StagedFile>, const json::value& v) {
  const auto& o = v.as_object();
  const auto text = [&](const char* key) { return json::value_to<std::string>(o.at(key)); };
  StagedFile f{text("path"),
               text("kind"),
               text("sha256"),
               text("soname"),
               json::value_to<std::vector<std::string>>(o.at("needed")),
               text("interpreter"),
               text("source"),
               std::nullopt};
  if (const auto* p = o.if_contains("package"); p && p->is_object()) {
    const auto& po = p->as_object();
    const auto field = [&](const char* key) { return json::value_to<std::string>(po.at(key)); };
    f.package = Package{field("name"), field("version"), field("architecture"), field("distro"), field("namespace")};
  }
  return f;
}

void write_staged_files(const fs::path& path, const std::vector<StagedFile>& files) {
  const auto text = json::serialize(json::object{{"format", 1}, {"files", json::value_from(files)}}) + "\n";
  std::error_code ec;
  if (fs::is_regular_file(path, ec) && read_text_file(path) == text) return;
  write_file_atomically(path, text);
}

std::vector<StagedFile> read_staged_files(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return {};
  try {
    const auto v = json::parse(read_text_file(path));
    return json::value_to<std::vector<StagedFile>>(v.as_object().at("files"));
  } catch (const std::exception& e) {
    throw Error(Exit::step_failed, path.string() + " (what the stage step staged) is unreadable: " + e.what() +
                                       "; rebuild the image's stage target");
  }
}

}  // namespace mai
