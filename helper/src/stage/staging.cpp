#include "stage/staging.hpp"

#include <algorithm>
#include <cctype>
#include <deque>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <set>

#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/files.hpp"
#include "stage/context.hpp"
#include "stage/elf.hpp"
#include "stage/packages.hpp"
#include "stage/staged_files.hpp"

namespace fs = std::filesystem;

namespace mai {
namespace {

bool under(const fs::path& file, const fs::path& dir) {
  const auto f = fs::weakly_canonical(file).generic_string();
  auto d = fs::weakly_canonical(dir).generic_string();
  if (!d.ends_with('/')) d += '/';
  return f.starts_with(d);
}

// Writes `content` (from `source`) to `dest` unless it is already there; keeps the source's execute bits.
bool sync_file(const fs::path& source, const std::string& content, const fs::path& dest) {
  std::error_code ec;
  if (fs::is_regular_file(dest, ec) && !fs::is_symlink(fs::symlink_status(dest, ec)) &&
      fs::file_size(dest, ec) == content.size() && read_text_file(dest) == content)
    return false;
  fs::create_directories(dest.parent_path());
  write_file_atomically(dest, content);
  fs::permissions(dest,
                  fs::status(source).permissions() | fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  return true;
}

// Removes entries under `root` that are not in `keep` (relative paths), then empty directories not in
// `keep`; true when anything went.
bool prune(const fs::path& root, const std::set<std::string>& keep, const std::string& spare = "") {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return false;
  std::vector<fs::path> files, dirs;
  // Entries are judged by their own status, never their target's: a symlink that loops, dangles or
  // points at a directory is an entry like a file (the iterator does not follow it either).
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const auto rel = it->path().lexically_relative(root).generic_string();
    const bool real_dir = fs::is_directory(it->symlink_status(ec));
    if (!spare.empty() && (rel == spare || rel.starts_with(spare + "/"))) {
      if (real_dir && rel == spare) it.disable_recursion_pending();
      continue;
    }
    if (real_dir) {
      if (!keep.count(rel)) dirs.push_back(it->path());
    } else if (!keep.count(rel)) {
      files.push_back(it->path());
    }
  }
  if (ec) throw Error(Exit::step_failed, "cannot list " + root.string() + ": " + ec.message());
  for (const auto& f : files) fs::remove(f, ec);
  std::sort(dirs.rbegin(), dirs.rend());  // deepest first
  bool removed_dir = false;
  for (const auto& d : dirs)
    if (fs::is_empty(d, ec) && fs::remove(d, ec)) removed_dir = true;
  return !files.empty() || removed_dir;
}

// The ELF machine (e_machine) and class a platform's binaries have; {0, 0} when unknown.
std::pair<int, int> expected_elf(const Platform& p) {
  static const std::map<std::string, std::pair<int, int>> table{
      {"amd64", {62, 2}}, {"arm64", {183, 2}},   {"arm", {40, 1}},      {"386", {3, 1}},     {"ppc64le", {21, 2}},
      {"s390x", {22, 2}}, {"riscv64", {243, 2}}, {"loong64", {258, 2}}, {"mips64le", {8, 2}}};
  const auto it = table.find(p.arch);
  return it == table.end() ? std::pair<int, int>{0, 0} : it->second;
}

}  // namespace

namespace {

// A CMake quoted argument's text: \" \\ \$ and the like unescaped.
std::string unquote_cmake(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) ++i;
    out += text[i];
  }
  return out;
}

void collect_install_sources(const fs::path& script, std::vector<fs::path>& out, std::set<fs::path>& seen) {
  if (!seen.insert(script).second) return;
  std::error_code ec;
  if (!fs::is_regular_file(script, ec)) return;
  out.push_back(script);
  const auto text = read_text_file(script);
  // The quoted arguments of each call of interest, in order; a call ends at the first ')' outside quotes.
  const auto arguments = [&](std::size_t from, std::size_t& end) {
    std::vector<std::pair<bool, std::string>> args;  // quoted?, text
    std::size_t i = from;
    while (i < text.size() && text[i] != ')') {
      if (std::isspace(static_cast<unsigned char>(text[i]))) {
        ++i;
      } else if (text[i] == '"') {
        std::size_t j = i + 1;
        while (j < text.size() && text[j] != '"') j += text[j] == '\\' ? 2 : 1;
        args.emplace_back(true, unquote_cmake(std::string_view(text).substr(i + 1, j - i - 1)));
        i = j + 1;
      } else {
        std::size_t j = i;
        while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j])) && text[j] != ')' && text[j] != '"') ++j;
        args.emplace_back(false, text.substr(i, j - i));
        i = j;
      }
    }
    end = i;
    return args;
  };
  for (std::size_t at = 0; (at = text.find("include(", at)) != std::string::npos;) {
    std::size_t end = 0;
    const auto args = arguments(at + 8, end);
    if (!args.empty() && args.front().first && args.front().second.ends_with("cmake_install.cmake"))
      collect_install_sources(args.front().second, out, seen);
    at = end;
  }
  for (std::size_t at = 0; (at = text.find("file(INSTALL ", at)) != std::string::npos;) {
    std::size_t end = 0;
    const auto args = arguments(at + 5, end);
    bool files = false;
    for (const auto& [quoted, arg] : args) {
      if (!quoted) {
        files = arg == "FILES";
        continue;
      }
      if (!files || arg.find("${") != std::string::npos || !fs::path(arg).is_absolute()) continue;
      out.emplace_back(arg);
      if (fs::is_directory(fs::symlink_status(arg, ec)))
        for (auto it = fs::recursive_directory_iterator(arg, ec); !ec && it != fs::recursive_directory_iterator();
             it.increment(ec))
          out.push_back(it->path());
    }
    at = end;
  }
}

}  // namespace

std::vector<fs::path> install_sources(const fs::path& tree) {
  std::vector<fs::path> out;
  std::set<fs::path> seen;
  collect_install_sources(tree / "cmake_install.cmake", out, seen);
  return out;
}

std::vector<std::string> stage_step(const StageRequest& r, Runner& runner, const Log& log) {
  const auto expected = expected_elf(r.platform);
  const auto machine = expected.first;
  const auto elf_class = expected.second;
  struct Staged {
    fs::path source;
    std::optional<std::string> run_path;  // set: the file's run path becomes this ("" removes it)
    std::string kind;                     // program, library, runtime or file (what the SBOM says)
  };
  std::map<std::string, Staged> staged;  // relative destination -> source
  std::deque<std::pair<fs::path, ElfInfo>> queue;
  std::set<std::string> seen;

  auto check = [&](const fs::path& file) {
    const auto info = read_elf(file);
    if (!info)
      throw Error(Exit::invalid_input, file.string() + " is not an ELF file; TARGETS must be executables or shared libraries");
    if (machine != 0 && (info->machine != machine || info->elf_class != elf_class))
      throw Error(Exit::invalid_input, file.string() + " is built for " + elf_machine_name(info->machine) + " (" +
                                           (info->elf_class == 2 ? "64" : "32") + "-bit), not for " + r.platform.str() + " (" +
                                           elf_machine_name(machine) + "): check its TOOLCHAINS entry");
    return *info;
  };
  // Every destination stays inside the stage: names come from the binaries themselves.
  auto add = [&](const fs::path& file, const std::string& dest, std::optional<std::string> run_path, const char* kind) {
    const auto normal = fs::path(dest).lexically_normal();
    if (dest.empty() || normal.is_absolute() || normal.empty() || *normal.begin() == "..")
      throw Error(Exit::invalid_input, "staging " + file.string() + " would write " + dest + ", outside " + r.out.string());
    const auto info = check(file);
    if (staged.emplace(normal.generic_string(), Staged{file, std::move(run_path), kind}).second) queue.emplace_back(file, info);
  };
  auto install_rpath = [&](const fs::path& file) {
    const auto name = file.filename().string() + ":";
    for (const auto& entry : r.install_rpaths)
      if (entry.starts_with(name)) return entry.substr(name.size());
    return std::string();
  };
  for (const auto& e : r.executables) add(e, "usr/local/bin/" + e.filename().string(), install_rpath(e), "program");
  for (const auto& l : r.libraries) add(l, "usr/lib/" + l.filename().string(), install_rpath(l), "library");

  // INSTALL: the install rules run into a fresh tree beside the stamp; what they put there is staged
  // as it is (their run paths are cmake --install's), links as links.
  std::map<std::string, fs::path> links;  // relative destination -> link target
  fs::path installed;
  if (r.install) {
    const auto& in = *r.install;
    installed = r.stamp.string() + ".install";
    fs::remove_all(installed);
    const auto root = installed / fs::path(in.prefix).relative_path();
    fs::create_directories(root);
    std::vector<std::string> components = in.components;
    if (components.empty()) components.emplace_back();  // one run: every component installed by default
    for (const auto& component : components) {
      Command install{{in.cmake, "--install", in.tree.string(), "--prefix", root.string()}};
      if (!component.empty()) install.argv.insert(install.argv.end(), {"--component", component});
      if (!in.config.empty()) install.argv.insert(install.argv.end(), {"--config", in.config});
      const auto result = runner.run(install, Output::capture, log);
      require_success(install, result, "the project's install rules (INSTALL)");
    }
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(installed, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      const auto rel = it->path().lexically_relative(installed).generic_string();
      const auto status = it->symlink_status(ec);
      if (fs::is_symlink(status)) {
        const auto target = fs::read_symlink(it->path());
        // Relative and inside the prefix (as CMake makes a library's version links); never out to the
        // machine that built it.
        const auto within =
            (fs::path("/") / fs::path(rel).parent_path() / target).lexically_normal().lexically_relative(in.prefix);
        if (target.is_absolute() || within.empty() || *within.begin() == "..")
          throw Error(Exit::invalid_input, "INSTALL: the install rules made /" + rel + " a link to " + target.string() +
                                               ", which is not a relative link inside the prefix " + in.prefix +
                                               ": an image gets files, not links out");
        links.emplace(rel, target);
      } else if (fs::is_regular_file(status)) {
        if (staged.count(rel)) continue;  // TARGETS staged it already
        const auto info = read_elf(it->path());
        staged.emplace(rel, Staged{it->path(), std::nullopt,
                                   !info                        ? "file"
                                   : !info->interpreter.empty() ? "program"
                                                                : "library"});
        if (info && (!info->interpreter.empty() || !info->needed.empty())) {
          if (machine != 0 && (info->machine != machine || info->elf_class != elf_class))
            throw Error(Exit::invalid_input, "INSTALL: /" + rel + " is built for " + elf_machine_name(info->machine) +
                                                 ", not for " + r.platform.str() + " (" + elf_machine_name(machine) + ")");
          queue.emplace_back(it->path(), *info);
        }
      } else if (!fs::is_directory(status)) {
        throw Error(Exit::invalid_input, "INSTALL: /" + rel + " is neither a file, a directory nor a symlink");
      }
    }
    if (ec) throw Error(Exit::step_failed, "cannot list " + installed.string() + ": " + ec.message());
    write_depfile(in.depfile, r.stamp, install_sources(in.tree));
    log.info("INSTALL: " + std::to_string(staged.size() + links.size()) + " entries from the install rules of " +
             in.tree.string());
  }

  // Needed libraries, breadth first: the project's through RUNPATH/RPATH, the runtime's with RUNTIME.
  std::string unresolved;
  while (!queue.empty()) {
    const auto [file, info] = queue.front();
    queue.pop_front();
    if (r.runtime && !info.interpreter.empty() && seen.insert("interp:" + info.interpreter).second) {
      const fs::path interpreter(info.interpreter);
      if (!interpreter.is_absolute() || interpreter.lexically_normal() != interpreter || !interpreter.has_filename())
        throw Error(Exit::invalid_input, file.string() + " names the program interpreter `" + info.interpreter +
                                             "` (PT_INTERP), which is not an absolute, normal path: refused");
      const auto name = interpreter.filename();
      auto found =
          std::find_if(r.runtime_dirs.begin(), r.runtime_dirs.end(), [&](const fs::path& d) { return fs::exists(d / name); });
      if (found == r.runtime_dirs.end())
        unresolved += "\n  the loader " + info.interpreter + " (needed by " + file.filename().string() + ")";
      else
        add(*found / name, interpreter.relative_path().generic_string(), std::nullopt, "runtime");
    }
    for (const auto& needed : info.needed) {
      if (!seen.insert(needed).second) continue;
      if (needed.empty() || needed.find('/') != std::string::npos || needed == "." || needed == "..")
        throw Error(Exit::invalid_input,
                    file.string() + " needs `" + needed + "` (DT_NEEDED), which is not a plain file name: " +
                        "staging places libraries by name and refuses paths (link the library by its SONAME)");
      std::vector<fs::path> dirs;
      for (auto dir : info.search_path) {
        if (const auto o = dir.find("$ORIGIN"); o != std::string::npos) dir.replace(o, 7, file.parent_path().string());
        dirs.emplace_back(dir);
      }
      dirs.insert(dirs.end(), r.project_dirs.begin(), r.project_dirs.end());
      if (r.runtime) dirs.insert(dirs.end(), r.runtime_dirs.begin(), r.runtime_dirs.end());
      std::optional<fs::path> hit;
      for (const auto& d : dirs) {
        std::error_code ec;
        const auto candidate = d / needed;
        if (!fs::is_regular_file(candidate, ec)) continue;
        const auto ci = read_elf(candidate);
        if (ci && ci->compatible(info)) {
          hit = candidate;
          break;
        }
      }
      const bool project =
          hit && std::any_of(r.project_dirs.begin(), r.project_dirs.end(), [&](const fs::path& d) { return under(*hit, d); });
      if (hit && !installed.empty() && under(*hit, installed)) {
        // Installed by the install rules: staged where they put it.
      } else if (project)
        add(*hit, "usr/lib/" + needed, std::string(), "library");
      else if (r.runtime && hit)
        add(*hit, "lib/" + needed, std::nullopt, "runtime");
      else if (r.runtime)
        unresolved += "\n  " + needed + " (needed by " + file.filename().string() + ")";
      // Otherwise a system library: the base image provides it.
    }
  }
  if (!unresolved.empty())
    throw Error(Exit::invalid_input,
                "RUNTIME: not found for " + r.platform.str() + " in the toolchain's library directories:" + unresolved);

  std::set<std::string> keep;
  bool changed = false;
  std::vector<StagedFile> facts;  // for the SBOM: what each file is, its hash and its ELF edges
  std::vector<fs::path> runtime_sources;
  for (const auto& [dest, file] : staged) {
    keep.insert(dest);
    auto content = read_text_file(file.source);
    auto info = parse_elf(content, file.source.string());
    if (file.run_path && info) content = with_run_path(std::move(content), *info, *file.run_path, file.source.string());
    changed |= sync_file(file.source, content, r.out / dest);
    StagedFile fact{"/" + dest, file.kind, sha256_digest(content), "", {}, "", "", std::nullopt};
    if (info) {
      fact.soname = info->soname;
      fact.needed = info->needed;
      fact.interpreter = info->interpreter;
    }
    if (file.kind == "runtime") {
      fact.source = file.source.string();
      runtime_sources.push_back(file.source);
    }
    facts.push_back(std::move(fact));
  }
  // The distribution packages that ship the runtime's files, as the package manager says.
  const auto packages = owning_packages(runtime_sources, runner, log);
  for (auto& fact : facts)
    if (const auto it = packages.find(fact.source); !fact.source.empty() && it != packages.end()) fact.package = it->second;
  write_staged_files(staged_files_path(r.stamp.parent_path(), r.platform), facts);
  for (const auto& [dest, target] : links) {
    keep.insert(dest);
    const auto at = r.out / dest;
    std::error_code ec;
    if (fs::is_symlink(fs::symlink_status(at, ec)) && fs::read_symlink(at, ec) == target) continue;
    if (fs::exists(fs::symlink_status(at, ec))) fs::remove_all(at);
    fs::create_directories(at.parent_path());
    fs::create_symlink(target, at);
    changed = true;
  }
  changed |= prune(r.out, keep);
  std::error_code ec;
  if (changed || !fs::exists(r.stamp, ec)) {
    std::string list;
    for (const auto& k : keep) list += k + "\n";
    write_file_atomically(r.stamp, list);
  }
  return {keep.begin(), keep.end()};
}

void compose_step(const fs::path& context, const fs::path& dockerfile, const std::vector<fs::path>& exclude,
                  const fs::path& composed, const std::string& keep, const fs::path& stamp, const fs::path& depfile) {
  if (!fs::is_directory(context)) throw Error(Exit::invalid_input, "context directory " + context.string() + " does not exist");
  // BuildKit reads `<Dockerfile>.dockerignore` for the composed context too, and this step cannot
  // add the staged trees' exceptions to a file beside the Dockerfile.
  if (const auto rules = ignore_file_for(context, dockerfile);
      rules != context / ".dockerignore" && IgnoreRules::load(rules).excluded(keep + "/usr"))
    throw Error(Exit::invalid_input, rules.string() + " excludes " + keep + "/, where the staged TARGETS are: add the lines `!" +
                                         keep + "` and `!" + keep + "/**` to it");
  auto excluded = exclude;
  excluded.push_back(composed);  // the composed context may live inside the source context's build tree
  const auto inputs = context_inputs(context, dockerfile, excluded);
  std::set<std::string> mirrored;
  bool changed = false;
  // Whatever stands at `dest` and is not of the kind wanted goes first (a directory with its contents).
  auto clear = [&](const fs::path& dest) {
    std::error_code ec;
    if (fs::exists(fs::symlink_status(dest, ec))) fs::remove_all(dest);
  };
  for (const auto& input : inputs) {
    std::error_code ec;
    // Lexically, as the engine sends it: a symlink is an entry of its own, never what it points to.
    const auto rel_path = input.lexically_relative(context);
    if (rel_path.empty() || rel_path == "." || *rel_path.begin() == "..") continue;  // the context itself, a Dockerfile outside
    const auto rel = rel_path.generic_string();
    if (rel == keep || rel.starts_with(keep + "/"))
      throw Error(Exit::invalid_input, "the context has a " + keep + " entry, the name the staged trees take; rename it");
    mirrored.insert(rel);
    const auto dest = composed / rel;
    const auto source = fs::symlink_status(input, ec);
    const auto current = fs::symlink_status(dest, ec);
    if (fs::is_directory(source)) {  // empty ones are sent too
      if (fs::is_directory(current)) continue;
      clear(dest);
      fs::create_directories(dest);
      changed = true;
      continue;
    }
    if (fs::is_symlink(source)) {  // the same link, whatever it points to (a file, a directory, nothing, outside)
      const auto target = fs::read_symlink(input);
      if (fs::is_symlink(current) && fs::read_symlink(dest, ec) == target) continue;
      clear(dest);
      fs::create_directories(dest.parent_path());
      fs::create_symlink(target, dest);
      changed = true;
      continue;
    }
    if (rel == ".dockerignore") {
      // The staged trees are sent whatever the rules say (a context often ignores `*`).
      auto rules = read_text_file(input);
      if (!rules.empty() && rules.back() != '\n') rules += '\n';
      rules += "!" + keep + "\n!" + keep + "/**\n";
      if (!fs::is_regular_file(current) || read_text_file(dest) != rules) {
        clear(dest);
        fs::create_directories(dest.parent_path());
        write_file_atomically(dest, rules);
        changed = true;
      }
      continue;
    }
    if (fs::is_regular_file(current) && fs::equivalent(input, dest, ec)) continue;  // the same inode: nothing to do
    clear(dest);
    fs::create_directories(dest.parent_path());
    const auto tmp = dest.string() + ".mai-tmp";
    fs::remove(tmp, ec);
    fs::create_hard_link(input, tmp, ec);
    if (ec) fs::copy_file(input, tmp, fs::copy_options::overwrite_existing);  // another file system
    fs::rename(tmp, dest);
    changed = true;
  }
  // Whatever the source no longer has goes, except the staged trees.
  changed |= prune(composed, mirrored, keep);
  std::error_code ec;
  fs::create_directories(composed / keep);
  if (changed || !fs::exists(stamp, ec)) write_file_atomically(stamp, std::to_string(mirrored.size()) + " entries\n");
  write_depfile(depfile, stamp, inputs);
}

Spec spec_for_platform_build(const Spec& spec, const Platform& platform) {
  if (!spec.stage.enabled) return spec;
  Spec s = spec;
  s.context = spec.stage.composed;
  s.build_args.push_back({"MULTIARCH_STAGE", spec.stage.dir + "/" + platform.target_suffix()});
  for (const auto& other : spec.platforms)
    if (!(other == platform)) s.deps_exclude.push_back(spec.stage.composed / spec.stage.dir / other.target_suffix());
  return s;
}

}  // namespace mai
