#include "stage/staging.hpp"

#include <algorithm>
#include <fstream>

#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/files.hpp"
#include "base/text.hpp"
#include "stage/context.hpp"
#include "stage/install.hpp"
#include "stage/linked.hpp"
#include "stage/packages.hpp"
#include "stage/staged_files.hpp"
#include "stage/tree.hpp"

namespace fs = std::filesystem;

namespace mai {
namespace {

bool resolves_under(const fs::path& file, const fs::path& dir) {
  const auto f = fs::weakly_canonical(file).generic_string();
  auto d = fs::weakly_canonical(dir).generic_string();
  if (!d.ends_with('/')) d += '/';
  return f.starts_with(d);
}

// The ELF machine (e_machine) and class a platform's binaries have; {0, 0} when unknown.
std::pair<int, int> expected_elf(const Platform& p) {
  static const std::map<std::string, std::pair<int, int>> table{
      {"amd64", {62, 2}}, {"arm64", {183, 2}},   {"arm", {40, 1}},      {"386", {3, 1}},     {"ppc64le", {21, 2}},
      {"s390x", {22, 2}}, {"riscv64", {243, 2}}, {"loong64", {258, 2}}, {"mips64le", {8, 2}}};
  const auto it = table.find(p.arch);
  return it == table.end() ? std::pair<int, int>{0, 0} : it->second;
}

// Whether an ELF file is for the platform's machine and class (any, when the platform's is unknown).
bool for_platform(const ElfInfo& info, const Platform& platform) {
  const auto [machine, elf_class] = expected_elf(platform);
  return machine == 0 || (info.machine == machine && info.elf_class == elf_class);
}

// Plans `file` at `dest` (relative, inside the stage: names come from the binaries themselves),
// checked to be ELF for the platform, and queues it for the needed-libraries pass.
void add_file(const StageRequest& r, StagePlan& plan, const fs::path& file, const std::string& dest,
              std::optional<std::string> run_path, const char* kind) {
  const auto normal = fs::path(dest).lexically_normal();
  if (dest.empty() || normal.is_absolute() || normal.empty() || *normal.begin() == "..")
    throw Error(Exit::invalid_input, "staging " + file.string() + " would write " + dest + ", outside " + r.out.string());
  const auto info = read_elf(file);
  if (!info)
    throw Error(Exit::invalid_input, file.string() + " is not an ELF file; TARGETS must be executables or shared libraries");
  if (!for_platform(*info, r.platform))
    throw Error(Exit::invalid_input, file.string() + " is built for " + elf_machine_name(info->machine) + " (" +
                                         (info->elf_class == 2 ? "64" : "32") + "-bit), not for " + r.platform.str() + " (" +
                                         elf_machine_name(expected_elf(r.platform).first) + "): check its TOOLCHAINS entry");
  if (plan.files.emplace(normal.generic_string(), StagePlan::File{file, std::move(run_path), kind}).second)
    plan.unresolved.push_back({file, normal.generic_string(), *info});
}

// A path relative to the image's root, as its parts.
std::vector<std::string> parts_of(const fs::path& relative) {
  std::vector<std::string> out;
  for (const auto& p : relative) out.push_back(p.string());
  return out;
}

std::string joined_path(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "/") + p;
  return out;
}

// Where `target`, a relative link target read in the directory `from` of the image, leads once each
// planned link it passes through is followed as the kernel would: nullopt when it climbs above the
// image's root (on this machine: out of the stage tree). Throws on a loop.
std::optional<std::vector<std::string>> resolve_in_image(const std::map<std::string, fs::path>& links,
                                                         std::vector<std::string> from, const fs::path& target, int& hops) {
  for (const auto& part : target) {
    const auto p = part.string();
    if (p.empty() || p == "." || p == "/") continue;
    if (p == "..") {
      if (from.empty()) return std::nullopt;
      from.pop_back();
      continue;
    }
    from.push_back(p);
    const auto link = links.find(joined_path(from));
    if (link == links.end()) continue;
    if (++hops > 40) throw Error(Exit::invalid_input, "INSTALL: /" + link->first + " is part of a loop of links");
    from.pop_back();
    if (link->second.is_absolute()) return std::nullopt;
    auto next = resolve_in_image(links, from, link->second, hops);
    if (!next) return std::nullopt;
    from = std::move(*next);
  }
  return from;
}

}  // namespace

void plan_targets(const StageRequest& r, StagePlan& plan) {
  auto install_rpath = [&](const fs::path& file) {
    const auto name = file.filename().string() + ":";
    for (const auto& entry : r.install_rpaths)
      if (entry.starts_with(name)) return entry.substr(name.size());
    return std::string();
  };
  for (const auto& e : r.executables) add_file(r, plan, e, "usr/local/bin/" + e.filename().string(), install_rpath(e), "program");
  for (const auto& l : r.libraries) add_file(r, plan, l, "usr/lib/" + l.filename().string(), install_rpath(l), "library");
}

void plan_installed(const StageRequest& r, StagePlan& plan, Runner& runner, const Log& log) {
  if (!r.install) return;
  const auto& in = *r.install;
  // DESTDIR: the image's root. Absolute destinations (/etc/app) land under it as they would under
  // a package's staging root, and nothing the install rules copy reaches this machine's own /.
  const fs::path installed = fs::absolute(r.stamp.string() + ".install").lexically_normal();
  plan.installed = installed;
  const auto rules = read_install_rules(in.tree, in.components, in.config);
  for (const auto& d : rules.destinations)
    if (const auto leaving = destination_leaving_the_root(d.text, in.prefix))
      throw Error(Exit::invalid_input, "INSTALL: " + d.script.string() + " installs to `" + *leaving + "`, which climbs out of " +
                                           "the image's root with the prefix " + in.prefix +
                                           ": it would write to the build machine, so nothing was installed");
  fs::remove_all(installed);
  fs::create_directories(installed);
  std::vector<std::string> components = in.components;
  if (components.empty()) components.emplace_back();  // one run: every component installed by default
  for (const auto& component : components) {
    Command install{{in.cmake, "--install", in.tree.string(), "--prefix", in.prefix}, {{"DESTDIR", installed.string()}}};
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
      // Relative (as CMake makes a library's version links); never out to the machine that built it.
      if (target.is_absolute())
        throw Error(Exit::invalid_input, "INSTALL: the install rules made /" + rel + " a link to " + target.string() +
                                             ", which is not a relative link: in the stage tree it would name a file of "
                                             "the build machine");
      plan.links.emplace(rel, target);
    } else if (fs::is_regular_file(status)) {
      if (plan.files.count(rel)) continue;  // TARGETS staged it already
      const auto info = read_elf(it->path());
      plan.files.emplace(rel, StagePlan::File{it->path(), std::nullopt,
                                              !info                        ? "file"
                                              : !info->interpreter.empty() ? "program"
                                                                           : "library"});
      if (info && (!info->interpreter.empty() || !info->needed.empty())) {
        if (!for_platform(*info, r.platform))
          throw Error(Exit::invalid_input, "INSTALL: /" + rel + " is built for " + elf_machine_name(info->machine) +
                                               ", not for " + r.platform.str() + " (" +
                                               elf_machine_name(expected_elf(r.platform).first) + ")");
        plan.unresolved.push_back({it->path(), rel, *info});
      }
    } else if (!fs::is_directory(status)) {
      throw Error(Exit::invalid_input, "INSTALL: /" + rel + " is neither a file, a directory nor a symlink");
    }
  }
  if (ec) throw Error(Exit::step_failed, "cannot list " + installed.string() + ": " + ec.message());
  // Each link checked where it leads, not where it seems to: `esc -> u/../..` with `u -> ..` climbs
  // two levels more than its text says.
  for (const auto& [at, target] : plan.links) {
    int hops = 0;
    if (!resolve_in_image(plan.links, parts_of(fs::path(at).parent_path()), target, hops))
      throw Error(Exit::invalid_input, "INSTALL: the install rules made /" + at + " a link to " + target.string() +
                                           ", which leads out of the image's root once the links on its way are followed");
  }
  plan.inputs.insert(plan.inputs.end(), rules.sources.begin(), rules.sources.end());
  log.info("INSTALL: " + std::to_string(plan.files.size() + plan.links.size()) + " entries from the install rules of " +
           in.tree.string());
}

void plan_needed_libraries(const StageRequest& r, StagePlan& plan, const Log& log) {
  std::string unresolved;
  std::set<std::string> seen;
  const auto in_image = [&](const std::string& rel) { return plan.files.count(rel) > 0 || plan.links.count(rel) > 0; };
  // Where the image's loader looks for what `p` needs: its run path in the image (a TARGETS file's
  // is the one staging writes; $ORIGIN is its directory there), then the default directories.
  const auto image_dirs = [&](const StagePlan::Pending& p) {
    std::vector<std::string> path = p.info.search_path;
    if (const auto f = plan.files.find(p.dest); f != plan.files.end() && f->second.run_path) {
      path.clear();
      for (const auto& d : split(*f->second.run_path, ':'))
        if (!d.empty()) path.push_back(d);
    }
    const auto origin = fs::path("/" + p.dest).parent_path().string();
    std::vector<std::string> dirs;
    for (auto d : path) {
      for (const auto* token : {"${ORIGIN}", "$ORIGIN"})
        for (std::size_t o; (o = d.find(token)) != std::string::npos;) d.replace(o, std::string_view(token).size(), origin);
      const auto normal = fs::path(d).lexically_normal();
      if (normal.is_absolute()) dirs.push_back(normal.relative_path().generic_string());
    }
    dirs.insert(dirs.end(), {"lib", "usr/lib"});
    return dirs;
  };
  // The plan's files and links by file name (files first, each in path order), made again only
  // when the plan has grown: an install tree of thousands of files is not walked per library.
  std::map<std::string, std::vector<std::string>> named;
  std::pair<std::size_t, std::size_t> indexed{SIZE_MAX, SIZE_MAX};
  // A library of the image named `needed`, compatible with `info`: a planned file, or a link that
  // leads to one.
  const auto held = [&](const std::string& needed, const ElfInfo& info) -> std::optional<std::string> {
    if (indexed != std::pair{plan.files.size(), plan.links.size()}) {
      named.clear();
      for (const auto& [rel, file] : plan.files) named[fs::path(rel).filename().string()].push_back(rel);
      for (const auto& [rel, target] : plan.links) named[fs::path(rel).filename().string()].push_back(rel);
      indexed = {plan.files.size(), plan.links.size()};
    }
    const auto compatible = [&](const std::string& rel) {
      const auto f = plan.files.find(rel);
      if (f == plan.files.end()) return false;
      const auto ci = read_elf(f->second.source);
      return ci && ci->compatible(info);
    };
    const auto candidates = named.find(needed);
    if (candidates == named.end()) return std::nullopt;
    for (const auto& rel : candidates->second) {
      const auto link = plan.links.find(rel);
      if (link == plan.links.end()) {
        if (compatible(rel)) return rel;
        continue;
      }
      int hops = 0;
      if (const auto to = resolve_in_image(plan.links, parts_of(fs::path(rel).parent_path()), link->second, hops);
          to && compatible(joined_path(*to)))
        return rel;
    }
    return std::nullopt;
  };
  while (!plan.unresolved.empty()) {
    const auto pending = plan.unresolved.front();
    const auto& [file, dest, info] = pending;
    plan.unresolved.pop_front();
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
        add_file(r, plan, *found / name, interpreter.relative_path().generic_string(), std::nullopt, "runtime");
      seen.insert("interp-name:" + name.string());
    }
    for (const auto& needed : info.needed) {
      if (needed.empty() || needed.find('/') != std::string::npos || needed == "." || needed == "..")
        throw Error(Exit::invalid_input,
                    file.string() + " needs `" + needed + "` (DT_NEEDED), which is not a plain file name: " +
                        "staging places libraries by name and refuses paths (link the library by its SONAME)");
      // The loader staged at a PT_INTERP path answers to its own name (libc names it in DT_NEEDED).
      if (r.runtime && seen.count("interp-name:" + needed)) continue;
      // In the image already: found there by the loader, or named from /usr/lib.
      const auto dirs = image_dirs(pending);
      if (std::any_of(dirs.begin(), dirs.end(), [&](const std::string& d) { return in_image(d + "/" + needed); })) continue;
      if (const auto there = held(needed, info)) {
        const auto link = "usr/lib/" + needed;
        plan.links.emplace(link, fs::path(*there).lexically_relative("usr/lib"));
        log.info("/" + link + " links to /" + *there + ": /" + dest + " needs it, and the loader looks neither in its run " +
                 "path nor in /" + fs::path(*there).parent_path().generic_string());
        continue;
      }
      if (!seen.insert(needed).second) continue;
      std::vector<fs::path> search;
      // An installed file's run path names directories of the image: searched here, they would be
      // this machine's (an INSTALL_RPATH of /opt/vendor/lib would ship the build machine's copy).
      if (plan.installed.empty() || !resolves_under(file, plan.installed))
        for (auto dir : info.search_path) {
          if (const auto o = dir.find("$ORIGIN"); o != std::string::npos) dir.replace(o, 7, file.parent_path().string());
          search.emplace_back(dir);
        }
      search.insert(search.end(), r.project_dirs.begin(), r.project_dirs.end());
      if (r.runtime) search.insert(search.end(), r.runtime_dirs.begin(), r.runtime_dirs.end());
      std::optional<fs::path> hit;
      for (const auto& d : search) {
        std::error_code ec;
        const auto candidate = d / needed;
        if (!fs::is_regular_file(candidate, ec)) continue;
        const auto ci = read_elf(candidate);
        if (ci && ci->compatible(info)) {
          hit = candidate;
          break;
        }
      }
      const bool project = hit && std::any_of(r.project_dirs.begin(), r.project_dirs.end(),
                                              [&](const fs::path& d) { return resolves_under(*hit, d); });
      if (project)
        add_file(r, plan, *hit, "usr/lib/" + needed, std::string(), "library");
      else if (r.runtime && hit)
        add_file(r, plan, *hit, "lib/" + needed, std::nullopt, "runtime");
      else if (r.runtime)
        unresolved += "\n  " + needed + " (needed by " + file.filename().string() + ")";
      // Otherwise a system library: the base image provides it.
    }
  }
  if (!unresolved.empty())
    throw Error(Exit::invalid_input,
                "RUNTIME: not found for " + r.platform.str() + " in the toolchain's library directories:" + unresolved);
}

std::vector<std::string> write_stage(const StageRequest& r, const StagePlan& plan, Runner& runner, const Log& log) {
  std::set<std::string> keep;
  bool changed = false;
  std::vector<StagedFile> facts;  // for the SBOM: what each file is, its hash and its ELF edges
  std::vector<fs::path> runtime_sources;
  Stripper stripper(r.debug_symbols, r.strip_tools, r.stamp, r.platform, runner, log);
  for (const auto& [dest, file] : plan.files) {
    keep.insert(dest);
    const auto info = read_elf(file.source);
    std::vector<BytePatch> patches;
    if (file.run_path && info) {
      // Only the dynamic array and strings are read; the rest of the file streams past.
      const auto read = [&source = file.source](std::uint64_t offset, std::size_t size) {
        std::ifstream in(source, std::ios::binary);
        std::string bytes(size, '\0');
        in.seekg(static_cast<std::streamoff>(offset));
        in.read(bytes.data(), static_cast<std::streamsize>(size));
        bytes.resize(static_cast<std::size_t>(in.gcount()));
        return bytes;
      };
      patches = run_path_patches(*info, *file.run_path, file.source.string(), read);
      check_run_path_patches(file.source, *info, patches, *file.run_path);
    }
    const auto synced = stripper.strips(file.kind, info)
                            ? stripper.stage(file.source, *info, patches, r.out / dest, r.out, "/" + dest)
                            : sync_file(file.source, r.out / dest, r.out, patches);
    changed |= synced.written;
    StagedFile fact{"/" + dest, file.kind, synced.sha256, "", {}, "", "", std::nullopt};
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
  if (const auto stripped = stripper.finish(); stripped > 0)
    log.info("DEBUG_SYMBOLS " + std::string(name_of(r.debug_symbols)) + ": " + std::to_string(stripped) +
             " files stripped of their debug information" +
             (r.debug_symbols == DebugSymbols::attach ? ", kept under their build-id beside the stage" : ""));
  // The distribution packages that ship the runtime's files and the libraries the targets link, as
  // the package manager says: one question for both, remembered beside the stamp, as a restage after
  // an edit of the program asks about the same files.
  const auto links = read_link_record(r.links);
  auto asked = runtime_sources;
  for (auto& file : linked_library_files(links)) asked.push_back(std::move(file));
  const auto packages = owning_packages(asked, runner, log, "/etc/os-release",
                                        {r.stamp.parent_path() / ("stage-" + r.platform.target_suffix() + ".packages.json")});
  for (auto& fact : facts)
    if (const auto it = packages.find(fact.source); !fact.source.empty() && it != packages.end()) fact.package = it->second;
  write_staged_files(staged_files_path(r.stamp.parent_path(), r.platform), facts);
  std::map<fs::path, std::string> staged;
  for (const auto& [dest, file] : plan.files) {
    std::error_code ec;
    const auto canonical = fs::weakly_canonical(file.source, ec);
    staged.emplace(ec ? file.source : canonical, "file:/" + dest);
  }
  const auto linked = resolve_links(links, staged, packages);
  // (Not a change of the stage: the same image keeps the SBOM it has, docs/supply-chain.md.)
  write_linked(linked_path(r.stamp.parent_path(), r.platform.target_suffix()), linked);
  if (!r.depfile.empty()) {
    auto inputs = plan.inputs;
    inputs.insert(inputs.end(), linked.read.begin(), linked.read.end());
    write_depfile(r.depfile, r.stamp, inputs);
  }
  for (const auto& [dest, target] : plan.links) {
    keep.insert(dest);
    const auto at = r.out / dest;
    std::error_code ec;
    make_directories_under(r.out, at.parent_path());
    if (fs::is_symlink(fs::symlink_status(at, ec)) && fs::read_symlink(at, ec) == target) continue;
    if (fs::exists(fs::symlink_status(at, ec))) fs::remove_all(at);
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

}  // namespace mai
