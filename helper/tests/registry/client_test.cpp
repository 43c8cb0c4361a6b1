#include "registry/client.hpp"

#include <boost/test/unit_test.hpp>

#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/process.hpp"
#include "oci/index.hpp"
#include "oci/media_types.hpp"
#include "registry/client.hpp"
#include "registry/credentials.hpp"
#include "support/fake_registry.hpp"
#include "support/fake_runner.hpp"
#include "support/test_support.hpp"

using namespace mai;
using mai::test::code_of;
using mai::test::error_of;
using mai::test::FakeRegistry;
using mai::test::test_log;

namespace {

struct Client {
  FakeRegistry registry;
  std::optional<Credentials> credentials;
  int asked = 0;
  std::vector<std::string> logged;
  RegistrySettings settings;
  Client() { settings.retry = RetryPolicy{3, std::chrono::milliseconds(0), std::chrono::seconds(5)}; }
  // The registry asks for ci:pw (Basic, or Bearer through its token service) and the client has them.
  void log_in(bool bearer = false) {
    registry.user = "ci";
    registry.password = "pw";
    registry.bearer = bearer;
    credentials = Credentials{"ci", "pw", "test"};
  }
  RegistryClient make(const std::string& repository = "registry.test/team/hello") {
    return RegistryClient(
        parse_repository(repository), settings, registry, [this] { return ++asked, credentials; },
        Log("test", "", [this](std::string_view line, bool) { logged.emplace_back(line); }));
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(registry_client)

BOOST_AUTO_TEST_CASE(manifests_are_negotiated_and_hashed_by_the_client) {
  Client t;
  const auto digest = t.registry.put_image("team/hello", "linux", "arm64", "v8", media::oci_manifest);
  t.registry.manifests["team/hello:1.0"] = t.registry.manifests["team/hello@" + digest];
  auto client = t.make();
  const auto m = client.get_manifest("1.0");
  BOOST_REQUIRE(m);
  BOOST_TEST(m->digest == digest);
  BOOST_TEST(m->media_type == media::oci_manifest);
  BOOST_TEST(media::manifest_accept_header() == std::string(media::oci_index) + ", " + media::docker_list + ", " +
                                                    media::oci_manifest + ", " + media::docker_manifest);
  BOOST_TEST(!client.get_manifest("2.0"));  // 404
  // Content that does not hash to the digest asked for is refused.
  t.registry.manifests["team/hello@" + digest].bytes += " ";
  BOOST_TEST(static_cast<int>(code_of([&] { client.get_manifest(digest); })) == static_cast<int>(Exit::verify_failed));
  BOOST_TEST(t.asked == 0);  // no auth asked: credentials were never looked up
}

BOOST_AUTO_TEST_CASE(basic_auth_is_sent_after_the_challenge_and_then_up_front) {
  Client t;
  t.log_in();
  t.registry.put_image("team/hello", "linux", "amd64");
  auto client = t.make();
  BOOST_TEST(!client.get_manifest("latest"));
  BOOST_TEST(!client.get_manifest("other"));
  BOOST_TEST(t.registry.log.size() == 3u);  // 401, then two authorised requests
  BOOST_TEST(t.registry.log[2].authorization == "Basic " + base64_encode("ci:pw"));
  BOOST_TEST(t.asked == 1);
}

BOOST_AUTO_TEST_CASE(bearer_tokens_are_fetched_per_scope_and_cached) {
  Client t;
  t.log_in(true);
  auto client = t.make();
  BOOST_TEST(!client.get_manifest("a"));
  BOOST_TEST(!client.get_manifest("b"));
  BOOST_TEST(t.registry.count("GET", "auth.test/token") == 1u);  // cached for the pull scope
  BOOST_TEST(t.registry.count("GET", "scope=repository%3Ateam%2Fhello%3Apull") == 1u);
  client.put_manifest("c", media::oci_index, "{}");
  client.put_manifest("d", media::oci_index, "{}");
  BOOST_TEST(t.registry.count("GET", "auth.test/token") == 2u);  // one more for pull,push
  // Expired tokens are renewed.
  t.registry.token_lifetime = 1;
  auto short_lived = t.make();
  short_lived.get_manifest("a");
  const auto before = t.registry.count("GET", "auth.test/token");
  short_lived.get_manifest("a");
  BOOST_TEST(t.registry.count("GET", "auth.test/token") == before + 1);
}

// Distribution answers a body sent without a valid token with 401 and closes while the body is on
// its way: the client's write breaks and the 401 is never read. A token past its time is renewed
// before a body goes.
BOOST_AUTO_TEST_CASE(a_token_past_its_time_is_renewed_before_a_body_goes_out) {
  Client t;
  t.log_in(true);
  t.registry.token_lifetime = 1;  // renewed a second early: past its time after its first use
  t.registry.unauthorized_body_breaks = true;
  const mai::test::TempDir dir;
  const auto file = dir.file("blob", std::string(1000, 'b'));
  auto client = t.make();
  client.put_blob(sha256_digest(std::string(1000, 'b')), file);
  BOOST_TEST(t.registry.blobs.count(sha256_digest(std::string(1000, 'b'))) == 1u);
  BOOST_TEST(t.logged.empty());  // no retry
  std::size_t unauthorized_bodies = 0;
  for (const auto& seen : t.registry.log) unauthorized_bodies += seen.method == "PUT" && seen.authorization.empty();
  BOOST_TEST(unauthorized_bodies == 0u);
}

BOOST_AUTO_TEST_CASE(an_identity_token_uses_the_refresh_token_grant) {
  Client t;
  t.registry.user = "ci";
  t.registry.password = "identity-token-value";
  t.registry.bearer = true;
  t.credentials = Credentials{"", "identity-token-value", "config.json"};  // docker's `identitytoken`
  auto client = t.make();
  client.put_manifest("a", media::oci_index, "{}");
  BOOST_TEST(t.registry.count("POST", "auth.test/token") == 1u);
  BOOST_TEST(t.registry.count("GET", "auth.test/token") == 0u);
  BOOST_TEST(t.registry.manifests.count("team/hello:a") == 1u);
}

BOOST_AUTO_TEST_CASE(a_refused_tls_session_fails_at_once_with_the_client_certificate_hint) {
  Client t;
  t.registry.wants_client_certificate = true;
  auto client = t.make();
  const auto what = error_of([&] { client.get_manifest("a"); });
  BOOST_TEST(what.find("tlsv13 alert certificate required") != std::string::npos);
  BOOST_TEST(what.find("client.cert and client.key") != std::string::npos);
  BOOST_TEST(t.registry.log.size() == 1u);  // not retried
}

BOOST_AUTO_TEST_CASE(wrong_or_missing_credentials_fail_at_once_with_a_hint) {
  Client t;
  t.registry.user = "ci";
  t.registry.password = "pw";
  auto anonymous = t.make();
  auto what = error_of([&] { anonymous.get_manifest("a"); });
  BOOST_TEST(what.find("registry.test asks for credentials and none were found") != std::string::npos);
  BOOST_TEST(what.find("--password-stdin") != std::string::npos);
  t.credentials = Credentials{"ci", "wrong", "config.json"};
  auto wrong = t.make();
  what = error_of([&] { wrong.get_manifest("a"); });
  BOOST_TEST(what.find("refused the credentials from config.json") != std::string::npos);
  BOOST_TEST(what.find("wrong") == std::string::npos);  // the secret is never in a message
  t.registry.bearer = true;
  auto token = t.make();
  what = error_of([&] { token.get_manifest("a"); });
  BOOST_TEST(what.find("the token service https://auth.test refused the credentials from config.json") != std::string::npos);
  BOOST_TEST(t.registry.count("GET", "auth.test") == 1u);  // not retried
}

BOOST_AUTO_TEST_CASE(transient_failures_are_retried_and_then_reported) {
  Client t;
  t.registry.put_image("team/hello", "linux", "amd64");
  auto client = t.make();
  t.registry.fail_next = 2;
  BOOST_TEST(!client.get_manifest("x"));
  BOOST_TEST(t.logged.size() == 2u);
  BOOST_TEST(t.logged[0].find("HTTP 503; UNAVAILABLE: try later; attempt 2 of 3") != std::string::npos);
  t.registry.drop_next = 3;
  const auto what = error_of([&] { client.get_manifest("x"); });
  BOOST_TEST(what.find("failed after 3 attempts: connection refused") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_token_service_is_retried_under_the_same_policy) {
  Client t;
  t.log_in(true);
  const auto digest = t.registry.put_image("team/hello", "linux", "amd64");
  t.registry.token_fail_next = 2;
  auto client = t.make();
  BOOST_TEST(client.get_manifest(digest).has_value());
  BOOST_TEST(t.registry.count("GET", "auth.test") == 3u);
  BOOST_TEST(t.logged.size() == 2u);
  BOOST_TEST(
      t.logged[1].find("the token service https://auth.test: HTTP 503; UNAVAILABLE: busy; attempt 3 of 3") != std::string::npos,
      t.logged[1]);
}

BOOST_AUTO_TEST_CASE(an_unknown_host_fails_at_once) {
  Client t;
  auto client = RegistryClient(
      parse_repository("elsewhere.test/team/hello"), t.settings, t.registry, [] { return std::nullopt; },
      Log("test", "", [&](std::string_view line, bool) { t.logged.emplace_back(line); }));
  const auto what = error_of([&] { client.get_manifest("x"); });
  BOOST_TEST(what.find("cannot resolve elsewhere.test") != std::string::npos, what);
  BOOST_TEST(t.registry.log.size() == 1u);  // one attempt
  BOOST_TEST(t.logged.empty());
}

// Batches go out whole, before the scheme and the authentication are settled too: the registry's
// challenge is answered once per scope (one token), and the batch goes again together; answers come
// back in the order asked. (Far away, settling first alone would cost a round trip per batch.)
BOOST_AUTO_TEST_CASE(a_batch_goes_out_together_and_again_with_one_token_per_scope) {
  Client t;
  t.log_in(true);
  const auto a = t.registry.put_image("team/hello", "linux", "amd64");
  const auto b = t.registry.put_image("team/hello", "linux", "arm64");
  auto client = t.make();
  const auto got = client.get_manifests({b, "missing", a});
  BOOST_REQUIRE(got.size() == 3u);
  BOOST_TEST(got[0]->digest == b);
  BOOST_TEST(!got[1]);
  BOOST_TEST(got[2]->digest == a);
  BOOST_TEST(t.registry.count("GET", "auth.test/token") == 1u);
  BOOST_TEST(t.registry.count("GET", "/manifests/") == 6u);  // each twice: 401, then with the token
  // Tag PUTs need pull,push: the batch meets challenges, and goes again with a token fetched once
  // for that scope.
  const auto digests = client.put_manifests({"x", "y"}, media::oci_index, "{}");
  BOOST_TEST(digests.size() == 2u);
  BOOST_TEST(t.registry.manifests.count("team/hello:x") == 1u);
  BOOST_TEST(t.registry.manifests.count("team/hello:y") == 1u);
  BOOST_TEST(t.registry.count("GET", "auth.test/token") == 2u);
  BOOST_TEST(t.registry.count("PUT", "/manifests/") == 4u);
  BOOST_TEST(client.get_manifests({}).empty());
}

// A round of different kinds: upload sessions, a HEAD and a manifest read go out together, one
// request each; then the uploads' PUTs (from memory and from a file) and a manifest PUT. An upload
// whose session is gone goes again in a session of its own; a blob larger than one PUT continues its
// session in chunks.
BOOST_AUTO_TEST_CASE(a_batch_mixes_kinds_one_request_each) {
  Client t;
  t.settings.monolithic_upload = 8;
  t.settings.upload_chunk = 8;
  const auto there = t.registry.put_image("team/hello", "linux", "amd64");
  const std::string small = "small", config = "{}";
  t.registry.blobs[sha256_digest(config)] = config;
  test::TempDir dir;
  const auto big = dir.file("big", "twenty bytes of blob");
  const auto big_digest = sha256_digest(std::string("twenty bytes of blob"));
  auto client = t.make();
  std::string first, second, third;
  bool has_config = false, has_small = true;
  std::optional<Manifest> image;
  RegistryClient::Batch round(client);
  round.start_upload(first);
  round.start_upload(second);
  round.start_upload(third);
  round.has_blob(sha256_digest(config), has_config);
  round.has_blob(sha256_digest(small), has_small);
  round.get_manifest(there, image);
  round.run();
  BOOST_TEST(t.registry.count("POST") == 3u);
  BOOST_TEST(t.registry.count("HEAD") == 2u);
  BOOST_TEST(t.registry.count("GET", "/manifests/") == 1u);
  BOOST_TEST(has_config);
  BOOST_TEST(!has_small);
  BOOST_REQUIRE(image);
  BOOST_TEST(image->digest == there);
  BOOST_TEST(!first.empty());
  BOOST_TEST(first != second);

  // The first session is gone (expired).
  const auto id = first.substr(first.find("/uploads/") + 9);
  BOOST_REQUIRE(t.registry.uploads.erase(id.substr(0, id.find('?'))) == 1u);
  const std::string stale = "aaa";
  std::string stated;
  RegistryClient::Batch puts(client);
  puts.finish_upload(first, sha256_digest(small), nullptr, &small);
  puts.finish_upload(second, sha256_digest(stale), nullptr, &stale);
  puts.finish_upload(third, big_digest, &big, nullptr);
  puts.put_manifest("1.0", media::oci_manifest, image->bytes, &stated);
  puts.run();
  BOOST_TEST(t.registry.blobs.count(sha256_digest(small)) == 1u);
  BOOST_TEST(t.registry.blobs.count(sha256_digest(stale)) == 1u);
  BOOST_TEST(t.registry.blobs[big_digest] == "twenty bytes of blob");
  BOOST_TEST(t.registry.count("PATCH") == 3u);  // 20 bytes in chunks of 8
  BOOST_TEST(t.registry.count("POST") == 4u);   // one more: the session that was gone
  BOOST_REQUIRE(t.logged.size() == 1u);
  BOOST_TEST(t.logged[0].find("uploading it again on its own") != std::string::npos, t.logged[0]);
  BOOST_TEST(stated == there);
  BOOST_TEST(t.registry.manifests.count("team/hello:1.0") == 1u);
}

// A first round of reads and writes at once (a push's: the referrers tag read beside upload
// sessions) meets challenges for two scopes: a token for each, fetched once, then the round again.
BOOST_AUTO_TEST_CASE(a_first_round_of_two_scopes_fetches_a_token_for_each) {
  Client t;
  t.log_in(true);
  const auto a = t.registry.put_image("team/hello", "linux", "amd64");
  auto client = t.make();
  std::string first, second;
  std::optional<Manifest> image, missing;
  RegistryClient::Batch round(client);
  round.start_upload(first);
  round.get_manifest(a, image);
  round.start_upload(second);
  round.get_manifest("sha256-" + a.substr(7), missing);
  round.run();
  BOOST_TEST(!first.empty());
  BOOST_TEST(!second.empty());
  BOOST_REQUIRE(image);
  BOOST_TEST(image->digest == a);
  BOOST_TEST(!missing);
  BOOST_TEST(t.registry.count("GET", "auth.test/token") == 2u);  // pull; pull,push
  BOOST_TEST(t.registry.count("POST") == 4u);                    // each twice: 401, then with its token
  BOOST_TEST(t.asked == 1);                                      // the credentials, looked up once
}

// An upload's closing PUT that breaks on its way in a batch is never sent again as it is (the session
// may hold part of it): the careful path asks the session where it stands and goes on from there.
BOOST_AUTO_TEST_CASE(a_batched_upload_broken_on_its_way_goes_on_from_where_its_session_stands) {
  Client t;
  t.registry.upload_state_in_location = false;  // a registry that keeps the offset itself
  auto client = t.make();
  const std::string blob = "a blob of some bytes";
  std::string session;
  RegistryClient::Batch open(client);
  open.start_upload(session);
  open.run();
  t.registry.break_bodies = 1;
  t.registry.break_body_after = 4;
  RegistryClient::Batch put(client);
  put.finish_upload(session, sha256_digest(blob), nullptr, &blob);
  put.run();
  BOOST_TEST(t.registry.blobs[sha256_digest(blob)] == blob);
  BOOST_TEST(t.registry.count("POST") == 1u);              // no session of its own: the first goes on
  BOOST_TEST(t.registry.count("GET", "/uploads/") == 1u);  // where it stands
  BOOST_REQUIRE(t.logged.size() >= 2u);
  BOOST_TEST(t.logged[0].find("going on from where its session stands") != std::string::npos, t.logged[0]);
  BOOST_TEST(t.logged[1].find("resuming at byte 4") != std::string::npos, t.logged[1]);
}

// The first batch to an insecure plain-HTTP registry that asks for credentials: the TLS handshake's
// answer settles the scheme for all, the challenges that follow are answered once, and the batch goes
// again together: three rounds.
BOOST_AUTO_TEST_CASE(a_first_batch_settles_plain_http_then_a_challenge_together) {
  Client t;
  t.log_in();
  t.registry.speaks_tls = false;
  t.settings.insecure = {"registry.test"};
  const auto a = t.registry.put_image("team/hello", "linux", "amd64");
  const auto b = t.registry.put_image("team/hello", "linux", "arm64");
  auto client = t.make();
  const auto got = client.get_manifests({a, b, a, b});
  BOOST_TEST(got[3]->digest == b);
  BOOST_TEST(t.asked == 1);
  BOOST_TEST(t.registry.count("GET", "https://registry.test/v2/team/hello/manifests/") == 4u);  // the TLS probe
  BOOST_TEST(t.registry.count("GET", "http://registry.test/v2/team/hello/manifests/") == 8u);   // 401, then Basic
}

BOOST_AUTO_TEST_CASE(a_batch_member_that_fails_is_retried_alone) {
  Client t;
  const auto a = t.registry.put_image("team/hello", "linux", "amd64");
  const auto b = t.registry.put_image("team/hello", "linux", "arm64");
  auto client = t.make();
  BOOST_TEST(!client.get_manifest("settle"));
  t.registry.drop_next = 1;  // the batch's first request meets a connection error
  const auto got = client.get_manifests({a, b});
  BOOST_TEST(got[0]->digest == a);
  BOOST_TEST(got[1]->digest == b);
  t.registry.fail_next = 1;  // and a 503
  const auto blobs = client.get_blobs({config_digest_of(got[0]->bytes, "a"), config_digest_of(got[1]->bytes, "b")});
  BOOST_TEST(blobs[0].find("amd64") != std::string::npos);
  BOOST_TEST(blobs[1].find("arm64") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(blob_redirects_are_followed_without_credentials) {
  Client t;
  t.log_in();
  t.registry.redirect_blobs_to = "https://storage.test";
  const auto digest = t.registry.put_blob("{\"os\":\"linux\"}");
  auto client = t.make();
  BOOST_TEST(client.get_blob(digest) == "{\"os\":\"linux\"}");
  BOOST_TEST(t.registry.log.back().url == "https://storage.test/" + digest);
  BOOST_TEST(t.registry.log.back().authorization.empty());
}

BOOST_AUTO_TEST_CASE(locations_resolve_absolute_and_relative) {
  const auto base = Url::parse("https://r.example:5000/v2/a/blobs/sha256:x?q=1", "test");
  BOOST_TEST(base.resolve("/other").str() == "https://r.example:5000/other");
  BOOST_TEST(base.resolve("next?x=2").str() == "https://r.example:5000/v2/a/blobs/next?x=2");
  BOOST_TEST(base.resolve("https://s3.example/b?sig=1").str() == "https://s3.example/b?sig=1");
  BOOST_TEST(base.resolve("//cdn.example/p").str() == "https://cdn.example/p");
  BOOST_TEST(Url::parse("http://[::1]:5000/v2/", "test").host == "::1");
  BOOST_TEST(Url::parse("http://[::1]:5000", "test").origin() == "http://[::1]:5000");
  BOOST_TEST(Url::parse("https://h", "test").port == "443");
  BOOST_TEST(static_cast<int>(code_of([] { Url::parse("ftp://h", "the realm"); })) == static_cast<int>(Exit::invalid_input));
}

BOOST_AUTO_TEST_CASE(plain_http_only_for_loopback_and_insecure_registries) {
  Client t;
  t.registry.speaks_tls = false;
  t.registry.host = "127.0.0.1";
  t.registry.port = "5000";
  auto loopback = t.make("127.0.0.1:5000/team/hello");
  BOOST_TEST(!loopback.get_manifest("a"));
  BOOST_TEST(loopback.base_url() == "http://127.0.0.1:5000");
  BOOST_TEST(t.registry.log.back().url == "http://127.0.0.1:5000/v2/team/hello/manifests/a");

  t.registry.host = "registry.test";
  t.registry.port = "443";
  auto remote = t.make();
  BOOST_TEST(error_of([&] { remote.get_manifest("a"); }).find("plain HTTP is used only for loopback") != std::string::npos);
  t.settings.insecure = {"registry.test"};
  auto listed = t.make();
  BOOST_TEST(!listed.get_manifest("a"));
  BOOST_TEST(listed.base_url() == "http://registry.test");
}

BOOST_AUTO_TEST_CASE(untrusted_certificates_fail_at_once_unless_insecure) {
  Client t;
  t.registry.untrusted_certificate = true;
  auto client = t.make();
  const auto what = error_of([&] { client.get_manifest("a"); });
  BOOST_TEST(what.find("certs.d/registry.test/ca.crt") != std::string::npos);
  BOOST_TEST(t.registry.log.size() == 1u);
  t.settings.insecure = {"registry.test"};
  auto insecure = t.make();
  BOOST_TEST(!insecure.get_manifest("a"));  // TLS without verification
  BOOST_TEST(insecure.base_url() == "https://registry.test");
}

BOOST_AUTO_TEST_CASE(certs_d_directories_give_cas_and_client_certificates) {
  mai::test::TempDir dir;
  dir.file("docker/r.example:5000/ca.crt", "x");
  dir.file("containers/r.example:5000/extra.crt", "x");
  dir.file("containers/r.example:5000/client.cert", "x");
  dir.file("containers/r.example:5000/client.key", "x");
  dir.file("docker/other:5000/ca.crt", "x");
  const auto tls = tls_settings_for({dir.path() / "docker", dir.path() / "containers", dir.path() / "absent"}, "r.example:5000");
  BOOST_TEST(tls.ca_files.size() == 2u);
  BOOST_TEST(tls.ca_files[0] == dir.path() / "docker/r.example:5000/ca.crt");
  BOOST_REQUIRE(tls.client);
  BOOST_TEST(tls.client->second == dir.path() / "containers/r.example:5000/client.key");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(hostile_registries)

// Docker 29's containerd store and GitLab/Harbor put the token service on the registry's own host:
// the realm `https://registry.lan/token` must get the registry's TLS settings, whatever its port.
BOOST_AUTO_TEST_CASE(a_token_service_on_the_registry_host_gets_the_registry_s_tls_settings) {
  Client t;
  t.log_in(true);
  t.registry.port = "5000";
  t.registry.untrusted_certificate = true;
  t.registry.realm = "https://Registry.Test/token";  // another port, another case
  t.settings.insecure = {"REGISTRY.test:5000"};
  auto client = t.make("registry.test:5000/team/hello");
  BOOST_TEST(!client.get_manifest("a"));
  BOOST_TEST(t.registry.count("GET", "/token") == 1u);
}

BOOST_AUTO_TEST_CASE(each_scope_of_a_challenge_is_its_own_parameter) {
  Client t;
  t.log_in(true);
  t.registry.challenge_scope = "repository:team/hello:pull repository:team/base:pull";
  auto client = t.make();
  client.get_manifest("a");
  std::string asked;
  for (const auto& s : t.registry.log)
    if (s.url.find("/token") != std::string::npos) asked = s.url;
  BOOST_TEST(asked.find("scope=repository%3Ateam%2Fhello%3Apull&scope=repository%3Ateam%2Fbase%3Apull") != std::string::npos,
             asked);
}

BOOST_AUTO_TEST_CASE(hostile_token_answers_are_refused_with_a_reason) {
  const auto fetch = [](const std::string& answer) {
    Client t;
    t.log_in(true);
    t.registry.token_answer = answer;
    auto client = t.make();
    return error_of([&] { client.get_manifest("a"); });
  };
  // A lifetime that is not a whole number, or absurdly large, is clamped, not thrown or overflowed:
  // the request then goes on with the token (the fake registry does not know it: 401 once more).
  for (const auto* lifetime : {"1.5", "1e300", "-7", "\"soon\""}) {
    const auto what = fetch(std::string(R"({"token":"abc","expires_in":)") + lifetime + "}");
    BOOST_TEST(what.find("registry.test refused the credentials") != std::string::npos, lifetime << ": " << what);
  }
  BOOST_TEST(fetch(R"({"token":"abc\r\nX-Injected: 1"})").find("a token with spaces or control characters") != std::string::npos);
  BOOST_TEST(fetch(R"({"token":")" + std::string(70 * 1024, 'a') + R"("})").find("more than an Authorization header can carry") !=
             std::string::npos);
  BOOST_TEST(fetch(std::string(200 * 1024, ' ') + "{}").find("more than a token answer may have") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(manifests_larger_than_the_spec_allows_are_refused_before_parsing) {
  Client t;
  const auto digest = t.registry.put_manifest("team/hello", "big", media::oci_index,
                                              R"({"schemaVersion":2,"manifests":[)" + std::string(5 * 1024 * 1024, ' ') + "]}");
  auto client = t.make();
  const auto what = error_of([&] { client.get_manifest(digest); });
  BOOST_TEST(what.find("with more than 4 MiB, the most a manifest may have") != std::string::npos, what);
}

BOOST_AUTO_TEST_CASE(digests_that_are_not_sha256_never_reach_a_url) {
  Client t;
  auto client = t.make();
  BOOST_TEST(error_of([&] { client.get_blob("sha256:../../../v2/other/manifests/x"); }).find("is not a sha256 digest") !=
             std::string::npos);
  BOOST_TEST(error_of([&] { client.get_manifest("sha256:abc\r\nX: y"); }).find("is not a sha256 digest") != std::string::npos);
  BOOST_TEST(t.registry.log.empty());
}

BOOST_AUTO_TEST_CASE(locations_resolve_as_rfc_3986_says) {
  const auto base = Url::parse("https://r.example:5000/v2/a/blobs/uploads/u1?state=s", "test");
  BOOST_TEST(base.resolve("/blob?next=https://cdn/x").str() == "https://r.example:5000/blob?next=https://cdn/x");
  BOOST_TEST(base.resolve("?x=1").str() == "https://r.example:5000/v2/a/blobs/uploads/u1?x=1");
  BOOST_TEST(base.resolve("../../c/./d").str() == "https://r.example:5000/v2/a/c/d");
  BOOST_TEST(base.resolve("u2#frag").str() == "https://r.example:5000/v2/a/blobs/uploads/u2");
  BOOST_TEST(base.resolve("").str() == base.str());
  BOOST_TEST(base.resolve("HTTPS://Other.example/p?q").str() == "https://Other.example/p?q");
  BOOST_TEST(base.resolve("/../../x").str() == "https://r.example:5000/x");
}

BOOST_AUTO_TEST_CASE(ports_outside_1_to_65535_are_refused) {
  for (const auto* url : {"http://h:65536/", "http://h:0/", "http://h:99999999999999999999/", "http://h:-1/"})
    BOOST_TEST(static_cast<int>(code_of([&] { Url::parse(url, "test"); })) == static_cast<int>(Exit::invalid_input), url);
  BOOST_TEST(Url::parse("http://h:65535/", "test").port == "65535");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(blobs)

// A file of `size` bytes that repeat no pattern a misplaced chunk could match.
std::filesystem::path blob_file(const mai::test::TempDir& dir, std::size_t size, std::string& bytes) {
  bytes.resize(size);
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>((i * 2654435761u) >> 13);
  return dir.file("blob", bytes);
}

BOOST_AUTO_TEST_CASE(a_small_blob_goes_up_in_one_put_streamed_from_its_file) {
  Client t;
  const mai::test::TempDir dir;
  std::string bytes;
  const auto file = blob_file(dir, 1000, bytes);
  auto client = t.make();
  client.put_blob(sha256_digest(bytes), file);
  BOOST_TEST(t.registry.blobs.at(sha256_digest(bytes)) == bytes);
  BOOST_TEST(t.registry.count("POST") == 1u);
  BOOST_TEST(t.registry.count("PATCH") == 0u);
  BOOST_TEST(t.registry.count("PUT", "?_state=0&digest=sha256%3A") == 1u);  // the session's query kept
}

BOOST_AUTO_TEST_CASE(a_large_blob_goes_up_in_chunks_each_at_the_latest_location) {
  for (const bool absolute : {false, true}) {
    Client t;
    t.settings.monolithic_upload = 100;
    t.settings.upload_chunk = 64;
    t.registry.absolute_locations = absolute;
    const mai::test::TempDir dir;
    std::string bytes;
    const auto file = blob_file(dir, 1000, bytes);
    auto client = t.make();
    client.put_blob(sha256_digest(bytes), file);
    BOOST_TEST(t.registry.blobs.at(sha256_digest(bytes)) == bytes);
    BOOST_TEST(t.registry.count("PATCH") == 16u);  // 15 of 64 bytes and one of 40
    BOOST_TEST(t.registry.count("PATCH", "_state=960") == 1u);
    BOOST_TEST(t.registry.count("PUT", "_state=1000&digest=") == 1u);
    BOOST_TEST(t.registry.uploads.empty());
  }
}

BOOST_AUTO_TEST_CASE(the_registry_s_stated_digest_must_be_ours) {
  Client t;
  const mai::test::TempDir dir;
  std::string bytes;
  const auto file = blob_file(dir, 10, bytes);
  t.registry.state_digest = "sha256:" + std::string(64, '0');
  auto client = t.make();
  BOOST_TEST(error_of([&] { client.put_blob(sha256_digest(bytes), file); }).find("stored the blob") != std::string::npos);
}

// Distribution keeps a session's offset in its Location's _state: after a body broke 300 bytes in,
// the session holds 300 bytes, the old Location is refused (and the session with it). A new session
// takes the whole blob.
BOOST_AUTO_TEST_CASE(a_body_broken_on_the_way_starts_a_session_the_registry_will_not_resume_again) {
  Client t;
  t.registry.break_bodies = 1;
  t.registry.break_body_after = 300;
  const mai::test::TempDir dir;
  std::string bytes;
  const auto file = blob_file(dir, 1000, bytes);
  auto client = t.make();
  client.put_blob(sha256_digest(bytes), file);
  BOOST_TEST(t.registry.blobs.at(sha256_digest(bytes)) == bytes);
  BOOST_TEST(t.registry.count("GET", "/blobs/uploads/u1") == 1u);  // where does it stand? refused
  BOOST_TEST(t.registry.count("POST") == 2u);                      // so a second session
  BOOST_TEST(t.registry.count("PUT", "/blobs/uploads/u2") == 1u);
  BOOST_TEST(t.logged.back().find("refused to resume its session") != std::string::npos, t.logged.back());
}

// A registry that keeps the offset itself says where the session stands (its Range): the upload goes
// on from there, in chunks and in the final PUT, and no byte goes twice.
BOOST_AUTO_TEST_CASE(a_body_broken_on_the_way_resumes_at_the_session_s_range) {
  for (const bool chunked : {false, true}) {
    Client t;
    t.registry.upload_state_in_location = false;
    t.registry.break_bodies = 2;
    t.registry.break_body_after = 40;
    if (chunked) {
      t.settings.monolithic_upload = 100;
      t.settings.upload_chunk = 64;
    }
    const mai::test::TempDir dir;
    std::string bytes;
    const auto file = blob_file(dir, 1000, bytes);
    auto client = t.make();
    client.put_blob(sha256_digest(bytes), file);
    BOOST_TEST(t.registry.blobs.at(sha256_digest(bytes)) == bytes);
    BOOST_TEST(t.registry.count("POST") == 1u);
    BOOST_TEST(t.registry.count("GET", "/blobs/uploads/u1") == 2u);
    BOOST_TEST(t.logged.back().find("resuming at byte 80 of 1000") != std::string::npos, t.logged.back());
  }
}

// The broken request completed the blob after all (its answer was lost): nothing is sent again.
BOOST_AUTO_TEST_CASE(a_blob_completed_by_a_request_whose_answer_was_lost_is_not_uploaded_again) {
  Client t;
  t.registry.complete_then_drop = 1;
  const mai::test::TempDir dir;
  std::string bytes;
  const auto file = blob_file(dir, 500, bytes);
  auto client = t.make();
  client.put_blob(sha256_digest(bytes), file);
  BOOST_TEST(t.registry.blobs.at(sha256_digest(bytes)) == bytes);
  BOOST_TEST(t.registry.count("POST") == 1u);
  BOOST_TEST(t.registry.count("PUT") == 1u);
  BOOST_TEST(t.registry.count("HEAD", sha256_digest(bytes)) == 1u);
}

// An upload's Location is a whole URL: a retry's warning and the failure name it once.
BOOST_AUTO_TEST_CASE(retry_messages_name_an_upload_location_once) {
  Client t;
  t.registry.absolute_locations = true;
  t.registry.fail_method = "PUT";
  t.registry.fail_next = 1;
  const mai::test::TempDir dir;
  std::string bytes;
  const auto file = blob_file(dir, 10, bytes);
  auto client = t.make();
  client.put_blob(sha256_digest(bytes), file);
  BOOST_REQUIRE(!t.logged.empty());
  const auto& warning = t.logged.front();
  BOOST_TEST(
      warning.find("PUT https://registry.test/v2/team/hello/blobs/uploads/u1?_state=0&digest=sha256%3A") != std::string::npos,
      warning);
  BOOST_TEST(warning.find("https://", 1) == warning.rfind("https://"), warning);  // one URL
  t.registry.fail_next = 3;
  const auto what = error_of([&] { client.put_blob(sha256_digest(bytes + "x"), dir.file("other", bytes + "x")); });
  BOOST_TEST(what.find("failed after 3 attempts") != std::string::npos, what);
  BOOST_TEST(what.find("https://") == what.rfind("https://"), what);
}

BOOST_AUTO_TEST_CASE(a_mount_asks_for_the_push_scope_then_the_source_s_pull_scope) {
  Client t;
  t.log_in(true);
  const auto digest = t.registry.put_blob("base layer");
  auto client = t.make();
  BOOST_TEST(client.mount_blob(digest, "team/base").mounted);
  std::string asked;
  for (const auto& s : t.registry.log)
    if (s.url.find("/token") != std::string::npos) asked = s.url;
  BOOST_TEST(
      asked.find("scope=repository%3Ateam%2Fhello%3Apull%2Cpush&scope=repository%3Ateam%2Fbase%3Apull") != std::string::npos,
      asked);
}

BOOST_AUTO_TEST_CASE(a_mount_answered_202_is_the_session_the_upload_continues) {
  Client t;
  t.registry.refuse_mounts = true;
  const mai::test::TempDir dir;
  std::string bytes;
  const auto file = blob_file(dir, 300, bytes);
  const auto digest = t.registry.put_blob(bytes);  // in the source; refused all the same
  auto client = t.make();
  const auto mount = client.mount_blob(digest, "team/base");
  BOOST_TEST(!mount.mounted);
  BOOST_TEST(!mount.session.empty());
  t.registry.blobs.clear();
  client.put_blob(digest, file, mount.session);
  BOOST_TEST(t.registry.count("POST") == 1u);  // the mount's; no second session
  BOOST_TEST(t.registry.blobs.at(digest) == bytes);
}

BOOST_AUTO_TEST_CASE(a_blob_is_fetched_into_a_file_through_a_redirect) {
  Client t;
  t.log_in();
  t.registry.redirect_blobs_to = "https://storage.test";
  const mai::test::TempDir dir;
  std::string bytes;
  blob_file(dir, 5000, bytes);
  const auto digest = t.registry.put_blob(bytes);
  auto client = t.make();
  client.fetch_blob(digest, dir.path() / "fetched");
  std::ifstream in(dir.path() / "fetched", std::ios::binary);
  const std::string fetched((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  BOOST_TEST((fetched == bytes));
}

BOOST_AUTO_TEST_CASE(a_blob_served_with_other_content_is_refused_and_no_file_is_left) {
  Client t;
  const mai::test::TempDir dir;
  const auto digest = sha256_digest("the real layer");
  t.registry.blobs[digest] = "something else";
  auto client = t.make();
  const auto what = error_of([&] { client.fetch_blob(digest, dir.path() / "fetched"); });
  BOOST_TEST(what.find("was served with other content") != std::string::npos, what);
  BOOST_TEST(static_cast<int>(code_of([&] { client.fetch_blob(digest, dir.path() / "fetched"); })) ==
             static_cast<int>(Exit::verify_failed));
  BOOST_TEST(!std::filesystem::exists(dir.path() / "fetched"));
}

BOOST_AUTO_TEST_SUITE_END()

// What registries other than distribution answer (tests/tools/fault_proxy.cpp's --quirk, end to end).
BOOST_AUTO_TEST_SUITE(registry_quirks)

BOOST_AUTO_TEST_CASE(retry_after_reads_seconds_and_http_dates) {
  const auto now = std::chrono::system_clock::from_time_t(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT
  BOOST_TEST(retry_after("120", now)->count() == 120);
  BOOST_TEST(retry_after(" 0 ", now)->count() == 0);
  BOOST_TEST(retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now)->count() == 10);
  BOOST_TEST(retry_after("Sun, 06 Nov 1994 08:48:00 GMT", now)->count() == 0);  // already past
  BOOST_TEST(!retry_after("soon", now));
  BOOST_TEST(!retry_after("-5", now));
  BOOST_TEST(!retry_after("Sun, 06 Nov 1994 08:49:47 CET", now));
  BOOST_TEST(!retry_after("", now));
}

BOOST_AUTO_TEST_CASE(a_429_is_waited_for_as_it_asks_announced_with_its_limit_and_not_counted_as_an_attempt) {
  Client t;
  t.registry.put_image("team/hello", "linux", "amd64");
  t.registry.manifests["team/hello:1.0"] = t.registry.manifests.begin()->second;
  t.registry.rate_limit_next = 4;  // more than the 3 attempts the policy allows
  t.registry.retry_after = "0";
  auto client = t.make();
  BOOST_TEST(client.get_manifest("1.0").has_value());
  std::string warnings;
  for (const auto& line : t.logged) warnings += line + "\n";
  BOOST_TEST(warnings.find("registry.test limits the rate of requests (HTTP 429; TOOMANYREQUESTS: You have reached your pull "
                           "rate limit; ratelimit-limit: 100;w=21600, ratelimit-remaining: 0;w=21600): waiting 0 s as it asks "
                           "(Retry-After)") != std::string::npos,
             warnings);
  BOOST_TEST(warnings.find("attempt") == std::string::npos);  // not the backoff's announcement

  Client timed;
  timed.registry.put_blob("x");
  timed.registry.rate_limit_next = 1;
  timed.registry.retry_after = "1";
  auto c = timed.make();
  const auto start = std::chrono::steady_clock::now();
  BOOST_TEST(c.has_blob(sha256_digest("x")));
  const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  BOOST_TEST(waited.count() >= 1000);
}

BOOST_AUTO_TEST_CASE(a_batch_met_by_429s_waits_once_before_sending_them_again) {
  Client t;
  const auto digest = t.registry.put_image("team/hello", "linux", "amd64");
  for (const auto* tag : {"a", "b", "c"})
    t.registry.manifests[std::string("team/hello:") + tag] = t.registry.manifests["team/hello@" + digest];
  auto client = t.make();
  BOOST_TEST(client.get_manifest("a").has_value());  // settles the scheme: the batch then goes out at once
  t.registry.rate_limit_next = 3;
  t.registry.retry_after = "0";
  const auto got = client.get_manifests({"a", "b", "c"});
  BOOST_TEST((got[0] && got[1] && got[2]));
  std::size_t waits = 0;
  for (const auto& line : t.logged) waits += line.find("limits the rate of requests") != std::string::npos;
  BOOST_TEST(waits == 1u);
  BOOST_TEST(t.registry.count("GET", "/manifests/") == 7u);  // one, three refused, three again
}

BOOST_AUTO_TEST_CASE(a_wait_longer_than_the_maximum_fails_at_once_naming_the_limit) {
  Client t;
  t.registry.rate_limit_next = 1;
  t.registry.retry_after = "3600";
  t.settings.max_rate_limit_wait = std::chrono::seconds(60);
  auto client = t.make();
  const auto e = error_of([&] { client.get_manifest("1.0"); });
  BOOST_TEST(e.find("limits the rate of requests (HTTP 429; TOOMANYREQUESTS") != std::string::npos, e);
  BOOST_TEST(e.find("asks for a wait of 3600 s (Retry-After), more than the 60 s this client waits") != std::string::npos, e);
  BOOST_TEST(t.registry.count("GET") == 1u);
}

BOOST_AUTO_TEST_CASE(a_token_service_s_429_is_waited_for_as_it_asks_and_a_longer_wait_fails_naming_it) {
  Client t;
  t.log_in(true);
  t.registry.put_image("team/hello", "linux", "amd64");
  t.registry.manifests["team/hello:1.0"] = t.registry.manifests.begin()->second;
  t.registry.token_rate_limit_next = 4;  // more than the 3 attempts the policy allows
  t.registry.retry_after = "0";
  auto client = t.make();
  BOOST_TEST(client.get_manifest("1.0").has_value());
  std::string warnings;
  for (const auto& line : t.logged) warnings += line + "\n";
  BOOST_TEST(warnings.find("the token service https://auth.test limits the rate of requests (HTTP 429; ratelimit-limit: "
                           "100;w=21600, ratelimit-remaining: 0;w=21600): waiting 0 s as it asks (Retry-After) before asking "
                           "for a token again") != std::string::npos,
             warnings);
  BOOST_TEST(warnings.find("attempt") == std::string::npos);  // not the backoff's announcement
  BOOST_TEST(t.registry.count("GET", "auth.test/token") == 5u);

  Client far;
  far.log_in(true);
  far.registry.token_rate_limit_next = 1;
  far.registry.retry_after = "3600";
  far.settings.max_rate_limit_wait = std::chrono::seconds(60);
  auto c = far.make();
  const auto e = error_of([&] { c.get_manifest("1.0"); });
  BOOST_TEST(e.find("the token service https://auth.test limits the rate of requests (HTTP 429") != std::string::npos, e);
  BOOST_TEST(e.find("asks for a wait of 3600 s (Retry-After), more than the 60 s this client waits") != std::string::npos, e);
  BOOST_TEST(far.registry.count("GET", "auth.test/token") == 1u);

  Client stubborn;
  stubborn.log_in(true);
  stubborn.registry.token_rate_limit_next = 100;
  stubborn.registry.retry_after = "0";
  auto s = stubborn.make();
  const auto still = error_of([&] { s.get_manifest("1.0"); });
  BOOST_TEST(still.find("limits the rate of requests (HTTP 429") != std::string::npos, still);
  BOOST_TEST(still.find("still after 5 waits") != std::string::npos, still);
}

BOOST_AUTO_TEST_CASE(a_429_without_retry_after_gets_the_backoff) {
  Client t;
  t.registry.rate_limit_next = 5;
  auto client = t.make();
  const auto e = error_of([&] { client.get_manifest("1.0"); });
  BOOST_TEST(e.find("failed after 3 attempts") != std::string::npos, e);
}

BOOST_AUTO_TEST_CASE(head_answered_405_is_asked_with_a_get_and_not_again) {
  Client t;
  t.registry.head_405 = true;
  const auto there = t.registry.put_blob("present");
  auto client = t.make();
  BOOST_TEST(client.has_blob(there));
  BOOST_TEST(!client.has_blob(sha256_digest("absent")));
  BOOST_TEST(t.registry.count("HEAD") == 1u);
  BOOST_TEST(t.registry.count("GET", "/blobs/") == 2u);
}

BOOST_AUTO_TEST_CASE(a_registry_without_chunked_uploads_gets_each_blob_whole_in_one_put) {
  Client t;
  t.settings.monolithic_upload = 100;
  t.settings.upload_chunk = 64;
  t.registry.no_chunked_uploads = true;
  const mai::test::TempDir dir;
  std::string bytes;
  const auto file = blobs::blob_file(dir, 1000, bytes);
  auto client = t.make();
  client.put_blob(sha256_digest(bytes), file);
  BOOST_TEST(t.registry.blobs.at(sha256_digest(bytes)) == bytes);
  BOOST_TEST(t.registry.count("PATCH") == 1u);  // refused once, never asked again
  std::string other = bytes;
  other[0] = static_cast<char>(other[0] + 1);
  client.put_blob(sha256_digest(other), dir.file("other", other));
  BOOST_TEST(t.registry.blobs.at(sha256_digest(other)) == other);
  BOOST_TEST(t.registry.count("PATCH") == 1u);
}

BOOST_AUTO_TEST_CASE(an_immutable_tag_is_a_clear_error_naming_the_tag_and_the_rule) {
  Client t;
  t.registry.immutable_tags = true;
  auto client = t.make();
  client.put_manifests({"1.0-amd64"}, media::oci_manifest, R"({"schemaVersion":2})");
  client.put_manifests({"1.0-amd64"}, media::oci_manifest, R"({"schemaVersion":2})");  // the same again: fine
  const auto e = error_of([&] { client.put_manifests({"1.0-amd64"}, media::oci_manifest, R"({"schemaVersion":2,"x":1})"); });
  BOOST_TEST(e.find("refused to replace the tag 1.0-amd64 of registry.test/team/hello, which holds sha256:") != std::string::npos,
             e);
  BOOST_TEST(e.find("its tags are immutable") != std::string::npos, e);
  BOOST_TEST(e.find("TAG_INVALID") != std::string::npos, e);
  BOOST_TEST(e.find("PLATFORM_TAGS OFF") != std::string::npos, e);
}

BOOST_AUTO_TEST_CASE(an_oci_manifest_refused_by_a_docker_only_registry_names_the_limit_and_what_works) {
  Client t;
  t.registry.docker_types_only = true;
  auto client = t.make();
  const auto image = error_of([&] { client.put_manifests({"1.0"}, media::oci_manifest, R"({"schemaVersion":2})"); });
  BOOST_TEST(image.find("takes only Docker media types") != std::string::npos, image);
  BOOST_TEST(image.find("takes Docker's format throughout with INDEX_FORMAT docker") != std::string::npos, image);
  const auto index = error_of([&] { client.put_manifests({"1.0"}, media::oci_index, R"({"schemaVersion":2})"); });
  BOOST_TEST(index.find("INDEX_FORMAT docker") != std::string::npos, index);
  bool indexed = false;
  const auto artifact = error_of(
      [&] { client.put_manifest("sha256:" + std::string(64, 'a'), media::oci_manifest, R"({"subject":{}})", &indexed); });
  BOOST_TEST(artifact.find("SBOM OFF") != std::string::npos, artifact);
  client.put_manifests({"1.0"}, media::docker_manifest, R"({"schemaVersion":2})");  // Docker's: taken
  // Another 400 for an OCI manifest (its digest, a blob it lacks) is not blamed on the media type.
  t.registry.docker_types_only = false;
  const auto other = error_of([&] { client.put_manifests({"sha256:" + std::string(64, 'b')}, media::oci_manifest, "{}"); });
  BOOST_TEST(other.find("DIGEST_INVALID") != std::string::npos, other);
  BOOST_TEST(other.find("Docker media types") == std::string::npos, other);
}

BOOST_AUTO_TEST_CASE(a_manifest_refused_for_a_blob_being_relinked_goes_again_twice_at_most) {
  Client t;
  auto client = t.make();
  t.registry.blob_unknown_next = 2;
  client.put_manifests({"1.0"}, media::oci_manifest, R"({"schemaVersion":2})");
  BOOST_TEST(t.registry.count("PUT", "/manifests/1.0") == 3u);
  t.registry.blob_unknown_next = 3;
  const auto e = error_of([&] { client.put_manifests({"1.1"}, media::oci_manifest, R"({"schemaVersion":2})"); });
  BOOST_TEST(e.find("MANIFEST_BLOB_UNKNOWN") != std::string::npos, e);
  BOOST_TEST(t.registry.count("PUT", "/manifests/1.1") == 3u);
}

BOOST_AUTO_TEST_SUITE_END()
