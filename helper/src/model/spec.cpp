#include "model/spec.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <cmath>
#include <optional>

#include "base/error.hpp"
#include "base/json_file.hpp"
#include "base/text.hpp"

namespace mai {
namespace json = boost::json;
namespace {

class Reader {
 public:
  Reader(const json::value& v, std::string origin) : origin_(std::move(origin)) {
    if (!v.is_object()) fail("", "the spec must be a JSON object");
    obj_ = &v.get_object();
  }

  [[noreturn]] void fail(std::string_view key, std::string_view why) const {
    throw Error(Exit::invalid_input,
                origin_ + ": " + (key.empty() ? "" : "field '" + std::string(key) + "': ") + std::string(why));
  }

  const json::value* find(std::string_view key) const { return obj_->if_contains(key); }

  std::string string(std::string_view key, bool required = true, std::string fallback = {}) const {
    const auto* v = find(key);
    if (!v) {
      if (required) fail(key, "missing");
      return fallback;
    }
    if (!v->is_string()) fail(key, "must be a string");
    return std::string(v->get_string());
  }

  std::vector<std::string> strings(std::string_view key, bool required = true) const {
    const auto* v = find(key);
    if (!v) {
      if (required) fail(key, "missing");
      return {};
    }
    if (!v->is_array()) fail(key, "must be an array of strings");
    std::vector<std::string> out;
    for (const auto& e : v->get_array()) {
      if (!e.is_string()) fail(key, "must be an array of strings");
      out.emplace_back(e.get_string());
    }
    return out;
  }

 private:
  const json::object* obj_ = nullptr;
  std::string origin_;
};

std::string with_origin(const std::string& origin, const Error& e) { return origin + ": " + e.what(); }

// SOURCE_DATE_EPOCH as written: whole seconds from 0 to kLatestSourceDateEpoch (an integer, or a
// double with nothing after the point), else nothing.
std::optional<std::int64_t> whole_seconds(const json::value& v) {
  if (v.is_int64() && v.get_int64() >= 0 && v.get_int64() <= kLatestSourceDateEpoch) return v.get_int64();
  if (v.is_double() && v.get_double() >= 0 && v.get_double() <= static_cast<double>(kLatestSourceDateEpoch) &&
      std::floor(v.get_double()) == v.get_double())
    return static_cast<std::int64_t>(v.get_double());
  return std::nullopt;
}
std::string whole_seconds_rule() { return "must be whole seconds from 0 to " + std::to_string(kLatestSourceDateEpoch); }

// How the steps run (retries, timeouts, the image tests' engine options): in settings.json beside the
// spec, which no step depends on; a spec written by hand may hold them too.
void read_run_settings(const Reader& r, Spec& s) {
  auto number = [&](const char* key, double fallback, double low, double high) {
    const auto* v = r.find(key);
    if (!v) return fallback;
    if (!v->is_number()) r.fail(key, "must be a number");
    const auto n = v->to_number<double>();
    if (n < low || n > high)
      r.fail(key, "must be from " + std::to_string(static_cast<long>(low)) + " to " + std::to_string(static_cast<long>(high)));
    return n;
  };
  s.retry.tries = static_cast<int>(number("retries", s.retry.tries, 1, 100));
  s.retry.delay = std::chrono::milliseconds(
      static_cast<long>(number("retry_delay", static_cast<double>(s.retry.delay.count()) / 1000.0, 0, 600) * 1000));
  s.retry.timeout =
      std::chrono::seconds(static_cast<long>(number("timeout", static_cast<double>(s.retry.timeout.count()), 0, 86400)));
  if (r.find("run_options")) s.run_options = r.strings("run_options");
}

// SECRETS, SSH, TARGET_STAGE, PULL and REGISTRY_CACHE, each written only when given.
void read_build_options(const Reader& r, BuildOptions& o) {
  const auto variable_name = [](std::string_view text) {
    if (text.empty() || std::isdigit(static_cast<unsigned char>(text.front()))) return false;
    return std::all_of(text.begin(), text.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
  };
  const auto id_like = [](std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
    });
  };
  if (const auto* secrets = r.find("secrets")) {
    if (!secrets->is_array()) r.fail("secrets", "must be an array of {\"id\", \"env\" or \"src\"} objects");
    for (const auto& e : secrets->get_array()) {
      const auto* obj = e.if_object();
      const auto text = [&](const char* key) -> std::string {
        const auto* v = obj ? obj->if_contains(key) : nullptr;
        if (v && !v->is_string()) r.fail("secrets", std::string("`") + key + "` must be a string");
        return v ? std::string(v->get_string()) : std::string();
      };
      BuildSecret secret{text("id"), text("env"), text("src")};
      if (!obj || !id_like(secret.id)) r.fail("secrets", "each entry needs an `id` of letters, digits, _, - and .");
      if (secret.env.empty() == secret.src.empty())
        r.fail("secrets", "secret `" + secret.id + "` needs exactly one of `env` (a variable's name) and `src` (a file)");
      if (!secret.env.empty() && !variable_name(secret.env))
        r.fail("secrets", "secret `" + secret.id + "`: `" + secret.env + "` is not an environment variable's name");
      if (!secret.src.empty() && (!secret.src.is_absolute() || secret.src.string().find(',') != std::string::npos))
        r.fail("secrets", "secret `" + secret.id + "`: `src` must be an absolute path without `,`");
      for (const auto& other : o.secrets)
        if (other.id == secret.id) r.fail("secrets", "secret `" + secret.id + "` is listed twice");
      o.secrets.push_back(std::move(secret));
    }
  }
  o.ssh = r.strings("ssh", false);
  for (const auto& ssh : o.ssh) {
    const auto id = ssh.substr(0, ssh.find('='));
    if (!id_like(id) || ssh.size() == id.size() + 1)
      r.fail("ssh", "`" + ssh + "` is not `default` or <id>[=<socket or key file>[,<key file>...]]");
  }
  o.target_stage = r.string("target_stage", false);
  o.pull = r.string("pull", false);
  if (!o.pull.empty() && o.pull != "always" && o.pull != "missing" && o.pull != "never")
    r.fail("pull", "`" + o.pull + "` is not one of always, missing, never");
  o.registry_cache = r.string("registry_cache", false);
  if (!o.registry_cache.empty() && o.registry_cache != "inline")
    r.fail("registry_cache", "`" + o.registry_cache + "` is not inline");
  if (!o.registry_cache.empty()) {
    o.registry_cache_tag = r.string("registry_cache_tag");  // written with it: the tag the cache is read under
    validate_tag(o.registry_cache_tag);
  }
}

// An absolute path in the image without empty, `.` or `..` parts (DIRECTORIES, VOLUMES).
bool normal_image_path(std::string_view path) {
  if (path.size() < 2 || path.front() != '/' || path.back() == '/') return false;
  for (const auto& part : split(path.substr(1), '/'))
    if (part.empty() || part == "." || part == "..") return false;
  return path.find("//") == std::string_view::npos;
}

}  // namespace

std::string expand_environment(std::string_view value, const std::function<std::optional<std::string>(std::string_view)>& lookup,
                               const std::string& what) {
  const auto name_char = [](char c, bool first) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || (!first && c >= '0' && c <= '9');
  };
  std::string out;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c == '\\' && i + 1 < value.size() && value[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    if (c != '$' || i + 1 == value.size()) {
      out += c;
      continue;
    }
    std::string_view name;
    std::size_t end = i + 1;
    if (value[end] == '{') {
      const auto close = value.find('}', end);
      if (close == std::string_view::npos)
        throw Error(Exit::invalid_input, what + ": `${` without its `}` (write \\$ for a `$` of its own)");
      name = value.substr(end + 1, close - end - 1);
      if (name.empty() || !name_char(name.front(), true) ||
          !std::all_of(name.begin(), name.end(), [&](char n) { return name_char(n, false); }))
        throw Error(Exit::invalid_input, what + ": `${" + std::string(name) + "}` does not name a variable");
      end = close + 1;
    } else {
      if (!name_char(value[end], true)) {  // `$5`, `$ `, `$/`: a dollar of its own
        out += c;
        continue;
      }
      while (end < value.size() && name_char(value[end], false)) ++end;
      name = value.substr(i + 1, end - i - 1);
    }
    const auto known = lookup(name);
    if (!known)
      throw Error(Exit::invalid_input,
                  what + ": $" + std::string(name) +
                      " is not set by the base image or an earlier ENV entry (write \\$ for a `$` of its own)");
    out += *known;
    i = end - 1;
  }
  return out;
}

bool valid_stop_signal(std::string_view text) {
  if (!text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return text.size() <= 2 && std::stoi(std::string(text)) >= 1 && std::stoi(std::string(text)) <= 64;
  std::string name(text);  // as docker reads it: sigterm is SIGTERM
  for (auto& c : name)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  if (name.starts_with("SIG")) name.erase(0, 3);
  static const std::vector<std::string> names{"HUP",  "INT",   "QUIT", "ILL",  "TRAP", "ABRT", "IOT",   "BUS",    "FPE",
                                              "KILL", "USR1",  "SEGV", "USR2", "PIPE", "ALRM", "TERM",  "STKFLT", "CHLD",
                                              "CONT", "STOP",  "TSTP", "TTIN", "TTOU", "URG",  "XCPU",  "XFSZ",   "VTALRM",
                                              "PROF", "WINCH", "IO",   "POLL", "PWR",  "SYS",  "RTMIN", "RTMAX"};
  if (std::find(names.begin(), names.end(), name) != names.end()) return true;
  // SIGRTMIN+n and SIGRTMAX-n, n from 1 to 15 (glibc's 32 real-time signals, 34 to 64).
  for (const auto* prefix : {"RTMIN+", "RTMAX-"}) {
    if (!name.starts_with(prefix)) continue;
    const auto n = name.substr(6);
    return !n.empty() && n.size() <= 2 && std::all_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
           std::stoi(n) >= 1 && std::stoi(n) <= 15;
  }
  return false;
}

const Platform& Spec::platform(std::string_view text) const {
  const auto wanted = parse_platform(text);
  for (const auto& p : platforms)
    if (p == wanted) return p;
  throw Error(Exit::usage, "platform " + wanted.str() + " is not among the image's platforms");
}

const Builder* Spec::builder_for(const Platform& platform) const {
  for (const auto& [p, b] : builders)
    if (p == platform.str()) return &b;
  return nullptr;
}

Spec parse_spec(const json::value& value, const std::string& origin) {
  const Reader r(value, origin);
  const auto* format = r.find("format");
  if (!format || !format->is_int64() || format->get_int64() != kSpecFormat)
    r.fail("format", "must be " + std::to_string(kSpecFormat) + " (spec written by another version? reconfigure)");

  Spec s;
  try {
    s.name = r.string("name");
    if (s.name.empty()) r.fail("name", "must not be empty");
    s.repository = parse_repository(r.string("repository"));
    s.tags = r.strings("tags");
    if (const auto* git = r.find("git"); git && git->is_object()) {
      const auto& o = git->get_object();
      s.git.enabled = true;
      if (const auto* e = o.if_contains("executable"); e && e->is_string()) s.git.executable = std::string(e->get_string());
      if (const auto* d = o.if_contains("dir"); d && d->is_string()) s.git.dir = std::string(d->get_string());
      if (const auto* l = o.if_contains("latest"); l && l->is_bool()) s.git.latest = l->get_bool();
      if (s.git.dir.empty()) r.fail("git", "needs \"dir\", a directory of the checkout");
    } else if (git) {
      r.fail("git", "must be an object {\"executable\", \"dir\", \"latest\"}");
    }
    if (s.tags.empty() && !s.git.enabled) r.fail("tags", "must list at least one tag");
    for (const auto& t : s.tags) validate_tag(t);
    for (const auto& p : r.strings("platforms")) {
      auto parsed = parse_platform(p);
      for (const auto& seen : s.platforms)
        if (seen == parsed) r.fail("platforms", "'" + p + "' is listed twice (as " + parsed.str() + ")");
      s.platforms.push_back(parsed);
    }
    if (s.platforms.empty()) r.fail("platforms", "must list at least one platform");
  } catch (const Error& e) {
    if (std::string_view(e.what()).starts_with(origin)) throw;
    throw Error(e.code(), with_origin(origin, e));
  }

  s.context = r.string("context");
  if (!s.context.is_absolute()) r.fail("context", "must be an absolute path");
  if (const auto* image = r.find("image")) {
    if (!image->is_object()) r.fail("image", "must be an object");
    const Reader i(*image, origin + ": image");
    auto& m = s.image;
    m.enabled = true;
    m.base = i.string("base");
    if (m.base != "scratch") {
      try {
        parse_image_reference(m.base);
      } catch (const Error& e) {
        i.fail("base", e.what());
      }
    }
    m.entrypoint = i.strings("entrypoint", false);
    m.cmd = i.strings("cmd", false);
    m.env = i.strings("env", false);
    for (const auto& e : m.env) {
      if (e.find('=') == std::string::npos || e.front() == '=') i.fail("env", "'" + e + "' is not KEY=VALUE");
      try {  // the references' syntax now; what they name is known when the build step reads the base
        expand_environment(
            e.substr(e.find('=') + 1), [](std::string_view) { return std::string(); }, "'" + e + "'");
      } catch (const Error& error) {
        i.fail("env", error.what());
      }
    }
    m.user = i.string("user", false);
    m.workdir = i.string("workdir", false);
    if (!m.workdir.empty() && m.workdir.front() != '/') i.fail("workdir", "'" + m.workdir + "' is not absolute");
    // <port>[-<last>]/<protocol>: a range is each of its ports, as docker reads EXPOSE 8000-8010/tcp.
    for (const auto& e : i.strings("expose", false)) {
      const auto slash = e.find('/');
      const auto protocol = slash == std::string::npos ? std::string("tcp") : e.substr(slash + 1);
      const auto ports = e.substr(0, slash);
      const auto dash = ports.find('-');
      const auto port = [&](const std::string& text) {
        if (text.empty() || text.size() > 5 ||
            !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
          return 0;
        return std::stoi(text);
      };
      const int first = port(ports.substr(0, dash));
      const int last = dash == std::string::npos ? first : port(ports.substr(dash + 1));
      if (first < 1 || last > 65535 || last < first || (protocol != "tcp" && protocol != "udp" && protocol != "sctp"))
        i.fail("expose", "'" + e + "' is not <port>[-<port>]/<tcp|udp|sctp> with ports from 1 to 65535");
      for (int p = first; p <= last; ++p) m.expose.push_back(std::to_string(p) + "/" + protocol);
    }
    for (const auto& l : i.strings("labels", false)) {
      const auto eq = l.find('=');
      if (eq == std::string::npos || eq == 0) i.fail("labels", "'" + l + "' is not key=value");
      m.labels.emplace_back(l.substr(0, eq), l.substr(eq + 1));
    }
    // FILES with generator expressions: in a file written when the build system is generated.
    json::value generated;
    const auto* files = i.find("files");
    if (const auto* from = i.find("files_from")) {
      if (files) i.fail("files_from", "and `files` exclude each other");
      if (!from->is_string() || !std::filesystem::path(std::string(from->get_string())).is_absolute())
        i.fail("files_from", "must be an absolute path");
      const std::filesystem::path path(std::string(from->get_string()));
      std::error_code ec;
      if (!std::filesystem::exists(path, ec))
        i.fail("files_from", path.string() + " does not exist (CMake writes it when it generates the build system: reconfigure)");
      generated = read_json_file(path);
      files = &generated;
    }
    // OWNER, MODE and CAPABILITIES of an entry, as the module wrote them ("" when not given).
    const auto permissions_of = [&](const json::object& o, const char* field, const std::string& what) {
      const auto text = [&](const char* name) {
        const auto* v = o.if_contains(name);
        if (v && !v->is_string()) i.fail(field, std::string("`") + name + "` must be a string");
        return v ? std::string(v->get_string()) : std::string();
      };
      try {
        return parse_permissions(text("owner"), text("mode"), text("capabilities"), what);
      } catch (const Error& e) {
        i.fail(field, e.what());
      }
    };
    if (files) {
      constexpr auto form =
          "must be an array of {\"source\": <absolute path>, \"destination\": <absolute path>[, \"owner\", \"mode\", "
          "\"capabilities\"]}";
      if (!files->is_array()) i.fail("files", form);
      for (const auto& f : files->get_array()) {
        const auto* o = f.if_object();
        const auto* src = o ? o->if_contains("source") : nullptr;
        const auto* dst = o ? o->if_contains("destination") : nullptr;
        if (!src || !dst || !src->is_string() || !dst->is_string()) i.fail("files", form);
        ImageSpec::File file{std::string(src->get_string()), std::string(dst->get_string()), {}};
        if (!file.source.is_absolute() || file.destination.empty() || file.destination.front() != '/') i.fail("files", form);
        file.permissions = permissions_of(*o, "files", "FILES entry " + file.source.string() + "=" + file.destination);
        m.files.push_back(std::move(file));
      }
    }
    if (const auto* directories = i.find("directories")) {
      constexpr auto form = "must be an array of {\"path\": <absolute path>[, \"owner\", \"mode\"]}";
      if (!directories->is_array()) i.fail("directories", form);
      for (const auto& d : directories->get_array()) {
        const auto* o = d.if_object();
        const auto* path = o ? o->if_contains("path") : nullptr;
        if (!path || !path->is_string()) i.fail("directories", form);
        ImageSpec::Directory directory{std::string(path->get_string()), {}};
        if (!normal_image_path(directory.path))
          i.fail("directories", "`" + directory.path + "` is not an absolute path in the image without . or .. parts (nor /)");
        if (o->contains("capabilities")) i.fail("directories", "a directory has no capabilities");
        directory.permissions = permissions_of(*o, "directories", "DIRECTORIES " + directory.path);
        try {
          check_permissions(directory.permissions, PathKind::directory, "DIRECTORIES " + directory.path);
        } catch (const Error& e) {
          i.fail("directories", e.what());
        }
        m.directories.push_back(std::move(directory));
      }
    }
    if (const auto* paths = i.find("path_permissions")) {
      constexpr auto form =
          "must be an array of {\"path\": <absolute path>, \"what\": <text>[, \"owner\", \"mode\", \"capabilities\"]}";
      if (!paths->is_array()) i.fail("path_permissions", form);
      for (const auto& p : paths->get_array()) {
        const auto* o = p.if_object();
        const auto* path = o ? o->if_contains("path") : nullptr;
        const auto* what = o ? o->if_contains("what") : nullptr;
        if (!path || !what || !path->is_string() || !what->is_string()) i.fail("path_permissions", form);
        ImageSpec::PathPermissions given{std::string(path->get_string()), std::string(what->get_string()), {}};
        if (!normal_image_path(given.path))
          i.fail("path_permissions", "`" + given.path + "` is not an absolute path in the image without . or .. parts (nor /)");
        given.permissions = permissions_of(*o, "path_permissions", given.what);
        m.path_permissions.push_back(std::move(given));
      }
    }
    m.volumes = i.strings("volumes", false);
    for (const auto& v : m.volumes)
      if (!normal_image_path(v))
        i.fail("volumes", "`" + v + "` is not an absolute path in the image without . or .. parts (nor /)");
    m.stop_signal = i.string("stop_signal", false);
    if (!m.stop_signal.empty() && !valid_stop_signal(m.stop_signal))
      i.fail("stop_signal", "`" + m.stop_signal +
                                "` is not a signal (valid: a name such as SIGTERM, SIGINT, SIGRTMIN+3, or a "
                                "number from 1 to 64)");
    for (const auto& a : i.strings("manifest_annotations", false)) {
      const auto eq = a.find('=');
      if (eq == std::string::npos || eq == 0) i.fail("manifest_annotations", "'" + a + "' is not key=value");
      m.manifest_annotations.emplace_back(a.substr(0, eq), a.substr(eq + 1));
    }
    if (const auto* epoch = i.find("source_date_epoch")) {
      const auto seconds = whole_seconds(*epoch);
      if (!seconds) i.fail("source_date_epoch", whole_seconds_rule());
      m.created = *seconds;
    }
    for (const auto& [key, flag] :
         {std::pair{"staged_targets", &m.staged_targets}, std::pair{"staged_install", &m.staged_install}})
      if (const auto* v = i.find(key)) {
        if (!v->is_bool()) i.fail(key, "must be true or false");
        *flag = v->get_bool();
      }
    // ESSENTIALS: known items, each once, kept in kEssentialItems' order whatever order they came in.
    const auto given = i.strings("essentials", false);
    for (const auto& item : given) {
      if (std::find(kEssentialItems.begin(), kEssentialItems.end(), item) == kEssentialItems.end())
        i.fail("essentials", "`" + item + "` is not one of accounts, ca-certificates, tzdata, tmp");
      if (std::count(given.begin(), given.end(), item) > 1) i.fail("essentials", "`" + item + "` is listed twice");
    }
    for (const auto item : kEssentialItems)
      if (std::find(given.begin(), given.end(), item) != given.end()) m.essentials.emplace_back(item);
    if (i.find("ca_bundle")) {
      m.ca_bundle = i.string("ca_bundle");
      if (!m.ca_bundle.is_absolute()) i.fail("ca_bundle", "must be an absolute path");
    }
    m.debug_symbols = i.string("debug_symbols", false, "KEEP");
    if (m.debug_symbols != "ATTACH" && m.debug_symbols != "KEEP" && m.debug_symbols != "DROP")
      i.fail("debug_symbols", "`" + m.debug_symbols + "` is not one of ATTACH, KEEP, DROP");
    m.layout = i.string("layout");
    if (!m.layout.is_absolute()) i.fail("layout", "must be an absolute path");
  } else {
    s.dockerfile = r.string("dockerfile");
    if (!s.dockerfile.is_absolute()) r.fail("dockerfile", "must be an absolute path");
  }

  if (const auto* args = r.find("build_args")) {
    if (!args->is_array()) r.fail("build_args", "must be an array of {\"name\", \"value\"} objects");
    for (const auto& a : args->get_array()) {
      const auto* o = a.if_object();
      const auto* n = o ? o->if_contains("name") : nullptr;
      const auto* v = o ? o->if_contains("value") : nullptr;
      if (!n || !v || !n->is_string() || !v->is_string() || n->get_string().empty())
        r.fail("build_args", "each entry must be {\"name\": <non-empty string>, \"value\": <string>}");
      s.build_args.push_back({std::string(n->get_string()), std::string(v->get_string())});
    }
  }
  read_build_options(r, s.build_options);
  s.engine = r.string("engine", false, "auto");
  if (s.engine != "auto" && s.engine != "docker" && s.engine != "podman")
    r.fail("engine", "'" + s.engine + "' is not one of auto, docker, podman");
  s.network = r.string("network", false);
  read_run_settings(r, s);
  s.docker = r.string("docker", false, "docker");
  s.podman = r.string("podman", false, "podman");
  s.skopeo = r.string("skopeo", false, "skopeo");
  for (const auto& p : r.strings("deps_exclude", false)) s.deps_exclude.emplace_back(p);
  s.index_format = r.string("index_format", false, "auto");
  if (s.index_format != "auto" && s.index_format != "oci" && s.index_format != "docker")
    r.fail("index_format", "'" + s.index_format + "' is not one of auto, oci, docker");
  for (const auto& a : r.strings("annotations", false)) {
    const auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0) r.fail("annotations", "'" + a + "' is not key=value");
    s.annotations.emplace_back(a.substr(0, eq), a.substr(eq + 1));
  }
  if (s.index_format == "docker" && !s.annotations.empty())
    r.fail("annotations", "need an OCI index; a Docker manifest list has no annotations (INDEX_FORMAT docker)");
  s.insecure_registries = r.strings("insecure_registries", false);
  if (const auto* tags = r.find("platform_tags")) {
    if (!tags->is_bool()) r.fail("platform_tags", "must be true or false");
    s.platform_tags = tags->get_bool();
  }
  if (const auto* stage = r.find("stage")) {
    const auto* o = stage->if_object();
    const auto* composed = o ? o->if_contains("composed") : nullptr;
    if (!composed || !composed->is_string() || !std::filesystem::path(std::string(composed->get_string())).is_absolute())
      r.fail("stage", "must be {\"composed\": <absolute path>}");
    s.stage.enabled = true;
    s.stage.composed = std::string(composed->get_string());
  }
  if (const auto* provenance = r.find("provenance")) {
    if (!provenance->is_object()) r.fail("provenance", "must be an object");
    const auto& o = provenance->get_object();
    const auto text = [&](const char* key) {
      const auto* v = o.if_contains(key);
      if (!v || !v->is_string()) r.fail("provenance", std::string("must have a string `") + key + "`");
      return std::string(v->get_string());
    };
    auto& p = s.provenance;
    const auto flag = [&](const char* key, bool otherwise) {
      const auto* v = o.if_contains(key);
      if (v && !v->is_bool()) r.fail("provenance", std::string("`") + key + "` must be true or false");
      return v ? v->get_bool() : otherwise;
    };
    p.enabled = flag("statement", true);
    p.sbom = flag("sbom", false);
    if (const auto* v = o.if_contains("project"); v && v->is_string()) p.project = v->get_string();
    if (const auto* v = o.if_contains("project_version"); v && v->is_string()) p.project_version = v->get_string();
    p.builder_id = text("builder_id");
    p.cmake_version = text("cmake_version");
    p.generator = text("generator");
    p.source_dir = text("source_dir");
    p.git = text("git");
    if (const auto* epoch = o.if_contains("source_date_epoch")) {
      const auto seconds = whole_seconds(*epoch);
      if (!seconds) r.fail("provenance", "`source_date_epoch` " + whole_seconds_rule());
      p.source_date_epoch = *seconds;
    }
  }
  if (const auto* builders = r.find("builders")) {
    constexpr auto form = "must be an array of {\"platform\", \"builder\", \"origin\"} objects";
    if (!builders->is_array()) r.fail("builders", form);
    for (const auto& b : builders->get_array()) {
      const auto* o = b.if_object();
      auto field = [&](const char* k) -> std::string {
        const auto* v = o ? o->if_contains(k) : nullptr;
        if (!v || !v->is_string() || v->get_string().empty()) r.fail("builders", form);
        return std::string(v->get_string());
      };
      Platform platform;
      try {
        platform = parse_platform(field("platform"));
      } catch (const Error& e) {
        r.fail("builders", e.what());
      }
      if (std::find(s.platforms.begin(), s.platforms.end(), platform) == s.platforms.end())
        r.fail("builders", platform.str() + " is not among the platforms");
      if (s.builder_for(platform)) r.fail("builders", platform.str() + " has two builders");
      s.builders.emplace_back(platform.str(), Builder{field("builder"), field("origin")});
    }
  }
  if (!s.platform_tags && !s.image.enabled)
    r.fail("platform_tags", "false needs an image the helper assembles (BASE): an engine pushes under a tag");
  return s;
}

Spec load_spec(const std::filesystem::path& path) {
  auto spec = parse_spec(read_json_file(path), path.string());
  const auto settings = path.parent_path() / "settings.json";
  std::error_code ec;
  if (std::filesystem::exists(settings, ec)) {
    const auto json = read_json_file(settings);  // the Reader points into it
    read_run_settings(Reader(json, settings.string()), spec);
  }
  return spec;
}

TestSpec load_test_spec(const std::filesystem::path& path) {
  const auto json = read_json_file(path);  // the Reader points into it
  const Reader t(json, path.string());
  return TestSpec{true, t.strings("command"), t.string("expect", false)};
}

}  // namespace mai
