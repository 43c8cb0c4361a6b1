// .dockerignore rules (moby's semantics) over any text, matched against any paths: the decision of
// which context files a build sends, so which edits rebuild an image. Input: the rules, the record
// separator, paths one per line.
#include "fuzz_support.hpp"
#include "stage/context.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto in = mai::fuzz::parts(data, size, 2);
  const auto rules = mai::IgnoreRules::parse(in[0]);
  for (const auto& path : mai::split(in[1], '\n')) {
    const bool excluded = rules.excluded(path);
    // A path is the same path written with a leading "./" or a trailing slash.
    MAI_FUZZ_CHECK(rules.excluded("./" + path) == excluded, "./ changes the decision");
    if (!path.empty()) MAI_FUZZ_CHECK(rules.excluded(path + "/") == excluded, "a trailing / changes the decision");
    // The context walk does not enter an excluded directory when no rule re-includes anything.
    if (excluded && !rules.has_exceptions())
      MAI_FUZZ_CHECK(rules.excluded(path + "/x"), "a path under an excluded directory is sent");
  }
  return 0;
}
