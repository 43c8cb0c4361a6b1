// The registry client's authentication round over any answers: the registry's challenge (a
// WWW-Authenticate value), the token service's answer (a token answer, or an error body) and the
// registry's answer with the token (a manifest, an error body, a redirect). Input: the challenge, the
// token service's answer, the registry's answer, separated by the record separator; answers as
// fuzz_support.hpp's answer() reads them. Credentials go nowhere but to the registry and its realm.
#include <set>

#include "fuzz_support.hpp"
#include "oci/reference.hpp"
#include "registry/challenge.hpp"
#include "registry/client.hpp"
#include "registry/url.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto in = mai::fuzz::parts(data, size, 4);
  mai::HttpResponse challenge{401, {{"www-authenticate", in[0]}}, R"({"errors":[{"code":"UNAUTHORIZED"}]})"};
  mai::fuzz::ScriptedTransport transport({challenge, mai::fuzz::answer(in[1]), mai::fuzz::answer(in[2])});
  // The last part picks the credentials: none, a password, or an identity token.
  const auto kind = in[3].empty() ? 'p' : in[3][0];
  mai::RegistrySettings settings{{2, std::chrono::milliseconds(0), std::chrono::seconds(0)}, {}, {}};
  settings.max_rate_limit_wait = std::chrono::seconds(0);  // a scripted 429's Retry-After is not waited for
  mai::RegistryClient client(
      mai::parse_repository("registry.test/demo/hello"), settings, transport,
      [&]() -> std::optional<mai::Credentials> {
        if (kind == 'n') return std::nullopt;
        if (kind == 'i') return mai::Credentials{"", "identity-secret", "fuzz"};
        return mai::Credentials{"user", "password-secret", "fuzz"};
      },
      mai::fuzz::quiet_log());
  mai::fuzz::only_mai_errors([&] { client.get_manifest("1.0"); });

  // The token services the registry named: any Bearer realm of its challenges (the first answer's, and
  // the registry's answer's when that is a 401 too).
  std::set<std::string> realms;
  std::vector<std::string> named{in[0]};
  for (const auto& h : mai::fuzz::answer(in[2]).headers_named("www-authenticate")) named.push_back(h);
  for (const auto& header : named)
    for (const auto& c : mai::parse_challenges(header))
      if (c.scheme == "bearer" && c.params.count("realm"))
        mai::fuzz::only_mai_errors([&] { realms.insert(mai::Url::parse(c.params.at("realm"), "realm").origin()); });
  for (const auto& r : transport.asked) {
    for (const auto& [name, value] : r.headers) {
      if (name != "Authorization") continue;
      MAI_FUZZ_CHECK(r.url.host == "registry.test" || realms.count(r.url.origin()), "credentials sent to a third party");
      MAI_FUZZ_CHECK(std::all_of(value.begin(), value.end(), [](unsigned char c) { return c >= 0x20 && c < 0x7f; }),
                     "an Authorization header with a control character");
      MAI_FUZZ_CHECK(value.size() < 64 * 1024, "an Authorization header larger than a header may be");
    }
    MAI_FUZZ_CHECK(r.body.find("secret") == std::string::npos || realms.count(r.url.origin()),
                   "a secret in a body sent elsewhere than the token service");
  }
  return 0;
}
