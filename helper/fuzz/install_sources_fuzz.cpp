// cmake_install.cmake as the install depfile reads it (read_install_rules): the FILES of each
// file(INSTALL) and the scripts it include()s, for the default components and for one named component,
// and the DESTINATION of each. Input: the build tree's cmake_install.cmake, the record
// separator, a subdirectory's (sub/cmake_install.cmake); @TREE@ stands for the build tree's path,
// which holds the files data/a, data/dir/b and data/dir/c. Quoted absolute paths elsewhere are left out
// of the fuzzing: the reader would walk whatever directory they name on this machine.
#include "fuzz_support.hpp"
#include "stage/install.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto in = mai::fuzz::parts(data, size, 2);
  static const auto tree = [] {
    const auto t = mai::fuzz::scratch() / "tree";
    mai::fuzz::write_file(t / "data/a", "a");
    mai::fuzz::write_file(t / "data/dir/b", "b");
    mai::fuzz::write_file(t / "data/dir/c", "c");
    return t;
  }();
  std::vector<std::string> scripts;
  for (const auto& part : in) {
    auto text = mai::fuzz::substitute(part, "@TREE@", tree.string());
    // Every quoted absolute path starts `"/` or `"\/` in the text: each must lie in the tree.
    for (std::size_t at = 0; (at = text.find('"', at)) != std::string::npos; ++at) {
      const auto rest = std::string_view(text).substr(at + 1);
      if (rest.starts_with("\\/")) return -1;
      if (!rest.starts_with("/")) continue;
      const auto until_quote = rest.substr(0, rest.find('"'));
      if (!until_quote.starts_with(tree.string() + "/") || until_quote.find_first_of("\\") != std::string_view::npos ||
          until_quote.find("..") != std::string_view::npos)
        return -1;
    }
    scripts.push_back(std::move(text));
  }
  mai::fuzz::write_file(tree / "cmake_install.cmake", scripts[0]);
  mai::fuzz::write_file(tree / "sub/cmake_install.cmake", scripts[1]);
  for (const auto& components : {std::vector<std::string>{}, std::vector<std::string>{"runtime"}}) {
    const auto rules = mai::read_install_rules(tree, components, "");
    MAI_FUZZ_CHECK(!rules.sources.empty() && rules.sources.front() == tree / "cmake_install.cmake",
                   "the top script is not listed first");
    for (const auto& s : rules.sources) MAI_FUZZ_CHECK(s.is_absolute(), "a relative source");
    for (const auto& d : rules.destinations) {
      MAI_FUZZ_CHECK(d.script.is_absolute(), "a destination's script is relative");
      (void)mai::destination_leaving_the_root(d.text, "/usr");
    }
  }
  return 0;
}
