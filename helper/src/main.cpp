// multiarch-image: the helper behind add_multiarch_image(). One subcommand per pipeline step; the
// subcommand table, argument parsing and the single place where errors become exit codes.
#include <algorithm>
#include <cctype>
#include <cstring>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "base/files.hpp"
#include "base/interrupt.hpp"
#include "base/process.hpp"
#include "base/text.hpp"
#include "model/git_tags.hpp"
#include "model/spec.hpp"
#include "registry/beast_transport.hpp"
#include "registry/referrers.hpp"
#include "registry/transport.hpp"
#include "stage/context.hpp"
#include "stage/staging.hpp"
#include "steps/steps.hpp"

#ifndef MULTIARCH_IMAGE_VERSION
#define MULTIARCH_IMAGE_VERSION "0.0.0"
#endif

namespace mai {
namespace {

// --key value pairs; a key may repeat. Keys not in `allowed` are usage errors. Everything after a
// lone "--" is kept, verbatim, as the command (test's image arguments).
class Args {
 public:
  Args(int argc, char** argv, int first, const std::vector<std::string>& allowed) {
    for (int i = first; i < argc; ++i) {
      std::string key = argv[i];
      if (key == "--") {
        command_.assign(argv + i + 1, argv + argc);
        has_command_ = true;
        return;
      }
      if (!key.starts_with("--") || std::find(allowed.begin(), allowed.end(), key.substr(2)) == allowed.end())
        throw Error(Exit::usage, "unknown argument '" + key + "' (valid: --" + join(allowed, ", --") + ")");
      if (i + 1 >= argc) throw Error(Exit::usage, key + " needs a value");
      values_[key.substr(2)].push_back(argv[++i]);
    }
  }
  std::string one(const std::string& key) const {
    const auto it = values_.find(key);
    if (it == values_.end() || it->second.size() != 1) throw Error(Exit::usage, "--" + key + " is required once");
    return it->second.front();
  }
  const std::vector<std::string>& command() const { return command_; }
  // The one argument before the options of a subcommand that takes one (symbols' image reference).
  std::string positional;
  bool has_command() const { return has_command_; }
  std::string optional(const std::string& key) const {
    const auto it = values_.find(key);
    return it == values_.end() ? std::string() : it->second.back();
  }
  std::vector<std::string> all(const std::string& key) const {
    const auto it = values_.find(key);
    return it == values_.end() ? std::vector<std::string>{} : it->second;
  }
  static std::string join(const std::vector<std::string>& v, const std::string& sep) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
    return out;
  }

 private:
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> command_;
  bool has_command_ = false;
};

// Runs one step; its errors carry the step's prefix, so a failure in a parallel build names its image
// and platform even where the build tool shows the message apart from the step's output.
void in_step(const Log& log, const std::function<void()>& step) {
  try {
    step();
  } catch (const Error& e) {
    throw Error(e.code(), log.prefix() + " " + e.what());
  }
}

struct Subcommand {
  const char* name;
  const char* usage;
  const char* summary;
  std::vector<std::string> options;
  std::function<void(const Args&)> run;
  bool positional = false;  // takes one argument before its options
};

const std::vector<Subcommand>& subcommands() {
  static const std::vector<Subcommand> table{
      {"build",
       "--spec FILE --platform P --record FILE --depfile FILE",
       "build one platform's image; write its record and a depfile of the context",
       {"spec", "platform", "record", "depfile"},
       [](const Args& a) {
         auto spec = load_spec(a.one("spec"));
         const auto& platform = spec.platform(a.one("platform"));
         const auto log = step_log(spec, &platform);
         ProcessRunner runner(spec.retry);
         in_step(log, [&] { resolve_git_tags(spec, runner, log); });
         in_step(log, [&] { build_step(spec, platform, a.one("record"), a.one("depfile"), runner, log); });
       }},
      {"push",
       "--spec FILE --platform P --build-record FILE --record FILE",
       "push one platform's built image; record the pushed digest",
       {"spec", "platform", "build-record", "record"},
       [](const Args& a) {
         const auto spec = load_spec(a.one("spec"));
         const auto& platform = spec.platform(a.one("platform"));
         const auto log = step_log(spec, &platform);
         ProcessRunner runner(spec.retry);
         in_step(log, [&] { push_step(spec, platform, a.one("build-record"), a.one("record"), runner, log); });
       }},
      {"manifest",
       "--spec FILE (--push-record FILE... | --merge-records DIR... --depfile FILE) --record FILE",
       "publish the manifest list over the pushed digests under every tag, verify it, write metadata.json; with "
       "--merge-records, over the push records other build trees wrote, found under DIR",
       {"spec", "push-record", "merge-records", "depfile", "record"},
       [](const Args& a) {
         auto spec = load_spec(a.one("spec"));
         std::vector<std::filesystem::path> records, merged;
         for (const auto& r : a.all("push-record")) records.emplace_back(r);
         for (const auto& d : a.all("merge-records")) merged.emplace_back(d);
         if (!records.empty() && !merged.empty())
           throw Error(Exit::usage, "--push-record and --merge-records exclude each other");
         const auto log = step_log(spec, nullptr);
         ProcessRunner runner(spec.retry);
         in_step(log, [&] { resolve_git_tags(spec, runner, log); });
         in_step(log, [&] {
           BeastTransport transport(spec.retry.timeout);
           if (merged.empty())
             manifest_step(spec, records, a.one("record"), runner, transport, log);
           else
             merge_step(spec, merged, a.one("record"), a.one("depfile"), runner, transport, log);
         });
       }},
      {"promote",
       "--spec FILE --metadata FILE --to FILE [--signed FILE] --record FILE",
       "copy the index metadata.json names, byte for byte with its platforms, blobs and referrers, to each repository "
       "the --to file lists (PROMOTE_TO), under its tags; write the record",
       {"spec", "metadata", "to", "signed", "record"},
       [](const Args& a) {
         const auto spec = load_spec(a.one("spec"));
         const auto log = step_log(spec, nullptr);
         ProcessRunner runner(spec.retry);
         PromoteRequest r{a.one("metadata"), a.one("to"), a.all("signed").empty() ? "" : a.one("signed"), a.one("record")};
         in_step(log, [&] {
           BeastTransport transport(spec.retry.timeout);
           promote_step(spec, r, runner, transport, log);
         });
       }},
      {"test",
       "--spec FILE [--test FILE] --platform P --build-record FILE [--expect REGEX] [-- ARGS...]",
       "run one platform's built image with test.json's TEST_COMMAND (or ARGS); pass on exit 0 and output matching "
       "its TEST_EXPECT (or REGEX), @PLATFORM@ standing for the platform",
       {"spec", "test", "platform", "build-record", "expect"},
       [](const Args& a) {
         const auto spec = load_spec(a.one("spec"));
         const auto& platform = spec.platform(a.one("platform"));
         const auto log = step_log(spec, &platform);
         ProcessRunner runner(spec.retry);
         // test.json's test, exactly as TEST_COMMAND and TEST_EXPECT were written; ARGS and REGEX replace them.
         const auto test = a.optional("test").empty() ? TestSpec{} : load_test_spec(a.optional("test"));
         const auto args = a.has_command() ? a.command() : test.command;
         auto expect = a.all("expect").empty() ? test.expect : a.optional("expect");
         for (auto at = expect.find("@PLATFORM@"); at != std::string::npos;
              at = expect.find("@PLATFORM@", at + platform.str().size()))
           expect.replace(at, 10, platform.str());
         in_step(log, [&] { test_step(spec, platform, a.one("build-record"), args, expect, runner, log); });
       }},
      {"sign",
       "--spec FILE --command FILE --metadata FILE --record FILE",
       "run SIGN_COMMAND (the command file's, as written) for the index metadata.json names, @REFERENCE@ standing "
       "for <repository>@<index digest>; once per index",
       {"spec", "command", "metadata", "record"},
       [](const Args& a) {
         const auto spec = load_spec(a.one("spec"));
         const auto log = step_log(spec, nullptr);
         ProcessRunner runner(spec.retry);
         // The same {"command": [...]} file as TEST_COMMAND's, exactly as written.
         const auto command = load_test_spec(a.one("command")).command;
         in_step(log, [&] { sign_step(spec, command, a.one("metadata"), a.one("record"), runner, log); });
       }},
      {"attach",
       "--reference REPOSITORY@DIGEST --artifact-type TYPE --file FILE [--media-type TYPE] [--annotation KEY=VALUE]...",
       "publish FILE as an OCI 1.1 artifact referring to the manifest REFERENCE names (the registry's referrers API, "
       "else the referrers tag schema): for the commands SIGN_COMMAND runs",
       {"reference", "artifact-type", "file", "media-type", "annotation"},
       [](const Args& a) {
         Artifact artifact;
         artifact.artifact_type = a.one("artifact-type");
         artifact.media_type = a.all("media-type").empty() ? "application/octet-stream" : a.one("media-type");
         artifact.document = read_text_file(a.one("file"));
         for (const auto& entry : a.all("annotation")) {
           const auto eq = entry.find('=');
           if (eq == std::string::npos || eq == 0) throw Error(Exit::usage, "--annotation `" + entry + "` is not KEY=VALUE");
           artifact.annotations[entry.substr(0, eq)] = entry.substr(eq + 1);
         }
         const Log log("attach", "");
         ProcessRunner runner;
         in_step(log, [&] { attach_command(a.one("reference"), artifact, runner, log); });
       }},
      {"referrers",
       "--reference REPOSITORY@DIGEST",
       "print the referrers of the manifest REFERENCE names, one JSON object per line (digest, artifactType, size)",
       {"reference"},
       [](const Args& a) {
         const Log log("referrers", "");
         ProcessRunner runner;
         in_step(log, [&] { referrers_command(a.one("reference"), runner, log); });
       }},
      {"symbols",
       "[<image reference>] --platform P --out DIR [--spec FILE] [--metadata FILE]",
       "fetch the debug symbols DEBUG_SYMBOLS ATTACH published beside the platform's image (<repository>[:<tag>|@<digest>]; "
       "without one, the index --metadata names) into DIR/.build-id/ab/cdef....debug, where gdb's debug-file-directory "
       "and debuginfod -F find them; registry settings from --spec, else the environment",
       {"platform", "out", "spec", "metadata"},
       [](const Args& a) {
         std::optional<Spec> spec;
         if (!a.all("spec").empty()) spec = load_spec(a.one("spec"));
         SymbolsRequest r{a.positional, parse_platform(a.one("platform")), a.one("out"), spec ? &*spec : nullptr, {}};
         if (!a.all("metadata").empty()) r.metadata = a.one("metadata");
         const Log log(spec ? spec->name : std::string("symbols"), r.platform.str());
         ProcessRunner runner(spec ? spec->retry : RetryPolicy{});
         in_step(log, [&] { symbols_command(r, runner, log); });
       },
       true},
      {"plan",
       "--spec FILE",
       "print the engine commands every step would run, in order, running none of them",
       {"spec"},
       [](const Args& a) {
         auto spec = load_spec(a.one("spec"));
         const auto log = step_log(spec, nullptr);
         ProcessRunner runner(spec.retry);
         resolve_git_tags(spec, runner, log);
         plan_step(spec, runner, log);
       }},
      {"load",
       "--spec FILE --platform P --build-record FILE",
       "put one platform's assembled image (BASE) into docker or podman, as <repository>:<tag>-<arch><variant>",
       {"spec", "platform", "build-record"},
       [](const Args& a) {
         auto spec = load_spec(a.one("spec"));
         const auto& platform = spec.platform(a.one("platform"));
         const auto log = step_log(spec, &platform);
         ProcessRunner runner(spec.retry);
         in_step(log, [&] { resolve_git_tags(spec, runner, log); });
         in_step(log, [&] { load_step(spec, platform, a.one("build-record"), runner, log); });
       }},
      {"check-spec", "--spec FILE", "validate a spec file and exit", {"spec"}, [](const Args& a) { load_spec(a.one("spec")); }},
      {"stage",
       "--name N --platform P --out DIR --stamp FILE [--depfile FILE] [--executable F]... [--library F]... "
       "[--install-rpath NAME:PATH]... [--project-dir D]... [--project-library F]... [--runtime-dir D]... "
       "[--install-tree D --install-prefix P [--install-component C]... [--install-config C] "
       "[--install-cmake CMAKE]] [--links FILE] [--debug-symbols ATTACH|KEEP|DROP --objcopy OBJCOPY --strip STRIP]",
       "stage one platform's binaries and the project's shared libraries they need (TARGETS); with --runtime-dir, "
       "the C/C++ runtime and loader too; with --install-tree, what the build tree's install rules install (INSTALL); "
       "with --debug-symbols ATTACH or DROP, the project's programs and libraries stripped (ATTACH keeps their debug "
       "information beside the stamp); --depfile lists what it read besides the targets (install rules, vcpkg's files)",
       {"name",
        "platform",
        "out",
        "stamp",
        "depfile",
        "executable",
        "library",
        "install-rpath",
        "project-dir",
        "project-library",
        "runtime-dir",
        "install-tree",
        "install-prefix",
        "install-component",
        "install-config",
        "install-cmake",
        "links",
        "debug-symbols",
        "objcopy",
        "strip"},
       [](const Args& a) {
         StageRequest r;
         if (!a.all("links").empty()) r.links = a.one("links");
         if (!a.all("debug-symbols").empty()) r.debug_symbols = parse_debug_symbols(a.one("debug-symbols"));
         if (!a.all("objcopy").empty()) r.strip_tools.objcopy = a.one("objcopy");
         if (!a.all("strip").empty()) r.strip_tools.strip = a.one("strip");
         r.platform = parse_platform(a.one("platform"));
         r.out = a.one("out");
         r.stamp = a.one("stamp");
         if (!a.all("depfile").empty()) r.depfile = a.one("depfile");
         for (const auto& f : a.all("executable")) r.executables.emplace_back(f);
         for (const auto& f : a.all("library")) r.libraries.emplace_back(f);
         r.install_rpaths = a.all("install-rpath");
         for (const auto& d : a.all("project-dir")) r.project_dirs.emplace_back(d);
         // A shared library the targets link: its directory holds the project's libraries too,
         // wherever the project puts them (CMAKE_LIBRARY_OUTPUT_DIRECTORY outside the build tree).
         for (const auto& f : a.all("project-library")) r.project_dirs.push_back(std::filesystem::path(f).parent_path());
         for (const auto& d : a.all("runtime-dir")) r.runtime_dirs.emplace_back(d);
         r.runtime = !r.runtime_dirs.empty();
         if (!a.all("install-tree").empty()) {
           InstallRequest install;
           install.tree = a.one("install-tree");
           install.prefix = a.one("install-prefix");
           install.components = a.all("install-component");
           if (!a.all("install-config").empty()) install.config = a.one("install-config");
           if (!a.all("install-cmake").empty()) install.cmake = a.one("install-cmake");
           const auto prefix = std::filesystem::path(install.prefix);
           if (!prefix.is_absolute() || prefix.lexically_normal() != prefix || install.prefix.find("..") != std::string::npos)
             throw Error(Exit::usage, "--install-prefix `" + install.prefix + "` is not an absolute, normal path");
           r.install = std::move(install);
         }
         const Log log(a.one("name"), r.platform.str());
         ProcessRunner runner;
         in_step(log, [&] {
           const auto files = stage_step(r, runner, log);
           log.info("staged " + std::to_string(files.size()) + " files in " + r.out.string());
         });
       }},
      {"compose",
       "--spec FILE --stamp FILE --depfile FILE",
       "mirror the source context into the composed context that also holds the staged trees (TARGETS)",
       {"spec", "stamp", "depfile"},
       [](const Args& a) {
         const auto spec = load_spec(a.one("spec"));
         if (!spec.stage.enabled) throw Error(Exit::usage, "the image has no TARGETS: nothing to compose");
         in_step(step_log(spec, nullptr), [&] {
           compose_step(spec.context, spec.dockerfile, spec.deps_exclude, spec.stage.composed, spec.stage.dir, a.one("stamp"),
                        a.one("depfile"));
         });
       }},
      {"list-context",
       "--spec FILE",
       "print the files and directories a build depends on (the depfile's list)",
       {"spec"},
       [](const Args& a) {
         const auto spec = load_spec(a.one("spec"));
         std::string out;
         for (const auto& p : context_inputs(spec.context, spec.dockerfile, spec.deps_exclude)) out += p.string() + "\n";
         std::cout << out;
       }},
  };
  return table;
}

void print_help(std::ostream& out) {
  out << "usage: multiarch-image <subcommand> [--option value]...\n\n"
         "Runs one step of an add_multiarch_image() pipeline; CMake's generated build calls it.\n\n";
  for (const auto& s : subcommands()) out << "  " << s.name << " " << s.usage << "\n      " << s.summary << "\n";
  out << "\nexit codes: 0 ok, 1 step failed, 2 usage, 3 invalid input, 4 verification failed, 5 no engine, "
         "130 interrupted\n";
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const auto up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
      diag = up;
    }
  }
  return row[b.size()];
}

int run(int argc, char** argv) {
  if (argc < 2) {
    print_help(std::cerr);
    return static_cast<int>(Exit::usage);
  }
  const std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    print_help(std::cout);
    return 0;
  }
  if (name == "--version" || name == "version") {
    std::cout << "multiarch-image " << MULTIARCH_IMAGE_VERSION << "\n";
    return 0;
  }
  for (const auto& s : subcommands()) {
    if (name != s.name) continue;
    if (argc == 3 && (std::strcmp(argv[2], "--help") == 0)) {
      std::cout << "usage: multiarch-image " << s.name << " " << s.usage << "\n" << s.summary << "\n";
      return 0;
    }
    // The step and platform in every request's User-Agent (a registry's log tells the steps apart).
    std::string agent = std::string("multiarch-image/") + MULTIARCH_IMAGE_VERSION + " (" + s.name;
    for (int i = 2; i + 1 < argc; ++i) {
      const std::string_view value = argv[i + 1];
      const bool plain = !value.empty() && value.size() <= 64 && std::all_of(value.begin(), value.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '.' || c == '_' || c == '-';
      });
      if (std::string_view(argv[i]) == "--platform" && plain) agent += "; " + std::string(value);
    }
    set_user_agent(agent + ")");
    const bool given = s.positional && argc > 2 && !std::string_view(argv[2]).starts_with("--");
    Args args(argc, argv, given ? 3 : 2, s.options);
    if (given) args.positional = argv[2];
    s.run(args);
    return 0;
  }
  std::string hint;
  for (const auto& s : subcommands())
    if (edit_distance(name, s.name) <= 2) hint = std::string("; did you mean '") + s.name + "'?";
  throw Error(Exit::usage, "unknown subcommand '" + name + "'" + hint + " (see --help)");
}

}  // namespace
}  // namespace mai

int main(int argc, char** argv) {
  mai::install_interrupt_handlers();
  try {
    return mai::run(argc, argv);
  } catch (const mai::Error& e) {
    std::cerr << "multiarch-image: error: " << mai::without_userinfo(e.what()) << "\n";
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    std::cerr << "multiarch-image: error: " << mai::without_userinfo(e.what()) << "\n";
    return static_cast<int>(mai::Exit::step_failed);
  }
}
