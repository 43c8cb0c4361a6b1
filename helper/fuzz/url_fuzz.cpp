// URLs the helper is handed: a Bearer realm (Url::parse), and each `Location` a registry answers,
// resolved against the request's URL as RFC 3986 section 5 says (Url::resolve). Input: a base URL, the
// record separator, a Location.
#include "fuzz_support.hpp"
#include "registry/url.hpp"

namespace {

bool valid_port(const std::string& port) {
  return !port.empty() && port.size() <= 5 && port.find_first_not_of("0123456789") == std::string::npos && std::stoi(port) >= 1 &&
         std::stoi(port) <= 65535;
}

// What every URL the client may send to holds, and that it reads back as itself.
void check(const mai::Url& u) {
  MAI_FUZZ_CHECK(u.scheme == "http" || u.scheme == "https", "a scheme other than http(s)");
  MAI_FUZZ_CHECK(!u.host.empty(), "no host");
  MAI_FUZZ_CHECK(valid_port(u.port), "a port outside 1 to 65535");
  MAI_FUZZ_CHECK(!u.target.empty() && u.target.front() == '/', "a target that does not start with /");
  MAI_FUZZ_CHECK(u.target.find('#') == std::string::npos, "a fragment in the target");
  const auto again = mai::Url::parse(u.str(), "the URL read back");
  MAI_FUZZ_CHECK(again.scheme == u.scheme && again.host == u.host && again.port == u.port && again.target == u.target,
                 "a URL that does not read back as itself");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto in = mai::fuzz::parts(data, size, 2);
  mai::fuzz::only_mai_errors([&] {
    const auto base = mai::Url::parse(in[0], "the base URL");
    check(base);
    mai::fuzz::only_mai_errors([&] { check(base.resolve(in[1])); });
    // The same Location twice lands where once does when it is a path: resolution is idempotent.
    mai::fuzz::only_mai_errors([&] {
      const auto once = base.resolve(in[1]);
      if (!in[1].empty() && in[1].front() == '/' && !in[1].starts_with("//")) {
        const auto twice = once.resolve(in[1]);
        MAI_FUZZ_CHECK(twice.str() == once.str(), "an absolute path resolved twice lands elsewhere");
      }
    });
  });
  return 0;
}
