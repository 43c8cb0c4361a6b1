// compose: the build context of an image with staged targets, mirrored from the source context with
// hard links, the staged trees beside it.
#include <set>

#include "base/error.hpp"
#include "base/files.hpp"
#include "stage/context.hpp"
#include "stage/tree.hpp"
#include "steps/steps.hpp"

namespace fs = std::filesystem;

namespace mai {

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

}  // namespace mai
