// An in-memory distribution registry behind the Transport interface, for unit tests of the registry
// client and the manifest step: manifests by tag and digest, blobs, Basic or Bearer auth with a token
// service, redirects of blob reads to another origin, plain-HTTP-only mode, and injected failures.
// The end-to-end tests run the real registry; this one makes each protocol branch reachable on demand.
#pragma once

#include <boost/json.hpp>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "base/digest.hpp"
#include "base/text.hpp"
#include "oci/index.hpp"
#include "oci/media_types.hpp"
#include "registry/transport.hpp"

namespace mai::test {

class FakeRegistry final : public Transport {
 public:
  std::string host = "registry.test", port = "443";
  bool speaks_tls = true;  // false: every https request fails as "does not speak TLS"
  bool untrusted_certificate = false;
  bool wants_client_certificate = false;  // the handshake ends in an alert (no client certificate shown)
  std::string user, password;             // set: auth is required
  bool bearer = false;                    // Bearer through the token service at `realm`
  std::string realm = "https://auth.test/token";
  std::string challenge_scope;  // set: the scope every challenge names (else the request's own)
  std::string token_answer;     // set: the token service answers this body verbatim
  int token_lifetime = 300;
  std::string redirect_blobs_to;        // an origin such as "https://storage.test": blob GETs redirect there
  int fail_next = 0;                    // answer this many registry requests with 503
  std::string fail_method;              // set: fail_next counts only requests of this method
  int drop_next = 0;                    // fail this many exchanges with a connection error
  int token_fail_next = 0;              // the token service answers this many requests with 503
  int token_rate_limit_next = 0;        // ... this many with 429, Retry-After `retry_after` (Docker Hub's)
  bool lose_tag_puts = false;           // answer PUT by tag with 201 but keep nothing (a registry that lies)
  bool absolute_locations = false;      // upload Locations as absolute URLs (else relative, with a query)
  bool refuse_mounts = false;           // a mount is answered 202, an upload session (as for a blob it cannot mount)
  std::string state_digest;             // set: every finished upload is stated as this digest (a registry that lies)
  bool referrers_api = false;           // answers /v2/<name>/referrers/<digest> and OCI-Subject (else 404, as 2.8 does)
  std::size_t referrers_page_size = 0;  // set: the referrers API answers in pages this long (Link: rel="next")
  // GitLab's registry: a manifest reference sha256-<hex> is read as the digest sha256:<hex>, so the
  // referrers tag of a subject serves the subject, and a PUT there is a PUT by a digest the body lacks.
  bool referrers_tag_is_subject = false;
  // Another writer of a tag: the next `overwrites` PUTs of the tag `overwritten_tag` are followed at
  // once by its PUT of `overwrite_with` there (a list that lacks what was just written).
  std::string overwritten_tag, overwrite_with;
  int overwrites = 0;
  // Upload sessions as distribution keeps them: their offset in the Location's _state, and a request
  // with a stale one refused (BLOB_UPLOAD_INVALID) and its session dropped. false: the registry keeps
  // the offset itself, Locations carry none, and a session's status (GET) says where it stands.
  bool upload_state_in_location = true;
  // The next `break_bodies` upload requests whose body is longer than `break_body_after` bytes reach
  // the registry only that far: the session keeps those bytes, the client sees a reset.
  int break_bodies = 0;
  std::uint64_t break_body_after = 0;
  int complete_then_drop = 0;             // this many final PUTs store the blob, then the answer is lost
  bool unauthorized_body_breaks = false;  // a body sent without valid credentials breaks (401, then closed)
  // Rate limits (Docker Hub, GHCR): the next `rate_limit_next` requests answered 429 with Retry-After
  // `retry_after` (none when empty) and ratelimit-* headers.
  int rate_limit_next = 0;
  std::string retry_after;
  bool head_405 = false;            // HEAD answered 405
  bool no_chunked_uploads = false;  // PATCH answered 405 UNSUPPORTED
  bool immutable_tags = false;      // a PUT of a tag that holds other content: 400 TAG_INVALID (ECR)
  bool docker_types_only = false;   // an OCI manifest PUT: 400 MANIFEST_INVALID (old Quay)
  int blob_unknown_next = 0;        // this many manifest PUTs refused 400 MANIFEST_BLOB_UNKNOWN (a link being rewritten)

  struct Stored {
    std::string media_type, bytes;
  };
  std::map<std::string, Stored> manifests;     // "path:tag" and "path@digest"
  std::map<std::string, std::string> blobs;    // digest -> bytes
  std::map<std::string, std::string> uploads;  // open upload sessions: id -> bytes so far
  struct Seen {
    std::string method, url, authorization;
  };
  std::vector<Seen> log;

  std::string put_blob(const std::string& bytes) {
    const auto digest = sha256_digest(bytes);
    blobs[digest] = bytes;
    return digest;
  }
  std::string put_manifest(const std::string& path, const std::string& tag, const std::string& media_type,
                           const std::string& bytes) {
    const auto digest = sha256_digest(bytes);
    manifests[path + "@" + digest] = {media_type, bytes};
    if (!tag.empty()) manifests[path + ":" + tag] = {media_type, bytes};
    return digest;
  }
  // An image manifest for os/arch[/variant] with its config blob; returns the manifest digest.
  std::string put_image(const std::string& path, const std::string& os, const std::string& arch, const std::string& variant = "",
                        const std::string& media_type = "application/vnd.docker.distribution.manifest.v2+json") {
    const auto config = "{\"architecture\":\"" + arch + "\",\"os\":\"" + os + "\"" +
                        (variant.empty() ? "" : ",\"variant\":\"" + variant + "\"") +
                        ",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";
    const auto config_digest = put_blob(config);
    const auto manifest = "{\"schemaVersion\":2,\"mediaType\":\"" + media_type + "\",\"config\":{\"mediaType\":\"" +
                          "application/vnd.docker.container.image.v1+json\",\"size\":" + std::to_string(config.size()) +
                          ",\"digest\":\"" + config_digest + "\"},\"layers\":[]}";
    return put_manifest(path, "", media_type, manifest);
  }
  std::size_t count(const std::string& method, const std::string& url_part = "") const {
    std::size_t n = 0;
    for (const auto& s : log) n += s.method == method && s.url.find(url_part) != std::string::npos;
    return n;
  }

  Outcome send(const HttpRequest& r, const TlsSettings& tls) override {
    auto outcome = serve(r, tls);
    // A 2xx body goes where the request streams it, as BeastTransport does.
    if (r.sink && outcome.response && outcome.response->status / 100 == 2) {
      r.sink->begin();
      r.sink->write(outcome.response->body);
      outcome.response->body.clear();
    }
    return outcome;
  }

 private:
  Outcome serve(const HttpRequest& r, const TlsSettings& tls) {
    std::string authorization;
    for (const auto& [k, v] : r.headers)
      if (k == "Authorization") authorization = v;
    log.push_back({r.method, r.url.str(), authorization});
    if (drop_next > 0) return --drop_next, error(TransportError::Kind::connect, "connection refused");
    if (r.url.scheme == "https" && !speaks_tls) return error(TransportError::Kind::tls_not_spoken, "no TLS here");
    if (r.url.scheme == "https" && untrusted_certificate && tls.verify)
      return error(TransportError::Kind::tls_verify, "certificate signed by unknown authority");
    if (r.url.scheme == "https" && wants_client_certificate && !tls.client)
      return error(TransportError::Kind::tls_failed, "tlsv13 alert certificate required");
    if (r.url.origin() + r.url.target.substr(0, r.url.target.find('?')) == realm) {
      if (token_fail_next > 0)
        return --token_fail_next, respond(503, {}, R"({"errors":[{"code":"UNAVAILABLE","message":"busy"}]})");
      if (token_rate_limit_next > 0) {
        --token_rate_limit_next;
        Headers headers{{"ratelimit-limit", "100;w=21600"}, {"ratelimit-remaining", "0;w=21600"}};
        if (!retry_after.empty()) headers.emplace_back("retry-after", retry_after);
        return respond(429, headers, R"({"details":"too many requests"})");
      }
      return token_service(r);
    }
    if (r.url.origin() == redirect_blobs_to)
      return respond(200, {}, blobs.count(r.url.target.substr(1)) ? blobs[r.url.target.substr(1)] : "");
    if (r.url.host != host) return error(TransportError::Kind::unknown_host, "cannot resolve " + r.url.host + ": Host not found");
    if (fail_next > 0 && (fail_method.empty() || fail_method == r.method))
      return --fail_next, respond(503, {}, R"({"errors":[{"code":"UNAVAILABLE","message":"try later"}]})");
    if (rate_limit_next > 0) {
      --rate_limit_next;
      Headers headers{{"ratelimit-limit", "100;w=21600"}, {"ratelimit-remaining", "0;w=21600"}};
      if (!retry_after.empty()) headers.emplace_back("retry-after", retry_after);
      return respond(429, headers,
                     R"({"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your pull rate limit"}]})");
    }
    if (head_405 && r.method == "HEAD") return respond(405, {}, "");
    if (no_chunked_uploads && r.method == "PATCH")
      return respond(405, {}, R"({"errors":[{"code":"UNSUPPORTED","message":"chunked uploads are not supported"}]})");
    if (!user.empty() && !authorized(authorization, r.method)) {
      // Distribution answers 401 at once and closes: a client still writing a body never reads it.
      if (unauthorized_body_breaks && (r.body_file || !r.body.empty())) return error(TransportError::Kind::io, "Broken pipe");
      // As distribution does, a mount's challenge names the source's pull scope too.
      const auto from = query_value(r.url.target, "from");
      const auto scope = !challenge_scope.empty() ? challenge_scope
                                                  : "repository:" + path_of(r.url.target) + ":" +
                                                        (r.method == "GET" || r.method == "HEAD" ? "pull" : "pull,push") +
                                                        (from.empty() ? "" : " repository:" + from + ":pull");
      return respond(401,
                     {{"www-authenticate", bearer ? "Bearer realm=\"" + realm + "\",service=\"fake\",scope=\"" + scope + "\""
                                                  : "Basic realm=\"fake\""}},
                     R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})");
    }
    return api(r);
  }

  std::map<std::string, std::string> issued_;  // token -> scope
  int next_upload_ = 0;

  static std::string query_value(const std::string& target, const std::string& name) {
    const auto q = target.find('?');
    if (q == std::string::npos) return "";
    auto at = target.find(name + "=", q);
    if (at == std::string::npos || (target[at - 1] != '?' && target[at - 1] != '&')) return "";
    at += name.size() + 1;
    auto value = target.substr(at, target.find('&', at) - at);
    for (std::size_t i; (i = value.find("%2F")) != std::string::npos;) value.replace(i, 3, "/");
    for (std::size_t i; (i = value.find("%3A")) != std::string::npos;) value.replace(i, 3, ":");
    return value;
  }
  // What a request sends: its text, or the span of a file it streams.
  static std::string body_of(const HttpRequest& r) {
    if (!r.body_file) return r.body;
    std::ifstream in(r.body_file->path, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(r.body_file->offset));
    std::string bytes(r.body_file->length, '\0');
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    bytes.resize(static_cast<std::size_t>(in.gcount()));
    return bytes;
  }
  std::string upload_location(const std::string& path, const std::string& id) const {
    const auto relative = "/v2/" + path + "/blobs/uploads/" + id +
                          (upload_state_in_location ? "?_state=" + std::to_string(uploads.at(id).size()) : "");
    return absolute_locations ? "https://" + host + ":" + port + relative : relative;
  }
  // POST (a session, or a mount), PATCH (a chunk at the session's latest state), PUT (the rest, and the digest).
  Outcome upload(const HttpRequest& r, const std::string& path) {
    const auto& t = r.url.target;
    const auto rest = t.substr(t.find("/blobs/uploads/") + 15);
    if (r.method == "POST") {
      const auto mount = query_value(t, "mount");
      if (!mount.empty() && !refuse_mounts && blobs.count(mount))
        return respond(201, {{"location", "/v2/" + path + "/blobs/" + mount}, {"docker-content-digest", mount}}, "");
      const auto id = "u" + std::to_string(++next_upload_);
      uploads[id] = "";
      return respond(202, {{"location", upload_location(path, id)}}, "");
    }
    const auto id = rest.substr(0, rest.find('?'));
    const auto it = uploads.find(id);
    if (it == uploads.end()) return respond(404, {}, R"({"errors":[{"code":"BLOB_UPLOAD_UNKNOWN"}]})");
    // Only the latest Location is valid: its state is the size so far.
    if (upload_state_in_location && query_value(t, "_state") != std::to_string(it->second.size())) {
      uploads.erase(it);
      return respond(400, {}, R"({"errors":[{"code":"BLOB_UPLOAD_INVALID","message":"stale state"}]})");
    }
    if (r.method == "GET") {
      const auto held = it->second.size();
      return respond(204, {{"location", upload_location(path, id)}, {"range", "0-" + std::to_string(held ? held - 1 : 0)}}, "");
    }
    auto bytes = body_of(r);
    if (break_bodies > 0 && bytes.size() > break_body_after) {
      --break_bodies;
      it->second += bytes.substr(0, break_body_after);
      return error(TransportError::Kind::io, "Connection reset by peer");
    }
    if (r.method == "PATCH") {
      std::string range;
      for (const auto& [k, v] : r.headers)
        if (k == "Content-Range") range = v;
      if (!range.empty() && range.substr(0, range.find('-')) != std::to_string(it->second.size()))
        return respond(416, {}, R"({"errors":[{"code":"BLOB_UPLOAD_INVALID","message":"range"}]})");
      it->second += bytes;
      return respond(202, {{"location", upload_location(path, id)}}, "");
    }
    const auto digest = query_value(t, "digest");
    const auto content = it->second + bytes;
    uploads.erase(it);
    if (sha256_digest(content) != digest) return respond(400, {}, R"({"errors":[{"code":"DIGEST_INVALID"}]})");
    blobs[digest] = content;
    if (complete_then_drop > 0) return --complete_then_drop, error(TransportError::Kind::io, "Connection reset by peer");
    return respond(201, {{"docker-content-digest", state_digest.empty() ? digest : state_digest}}, "");
  }

  static Outcome error(TransportError::Kind kind, std::string message) {
    return {std::nullopt, TransportError{kind, std::move(message)}};
  }
  static Outcome respond(int status, Headers headers, std::string body) {
    return {HttpResponse{status, std::move(headers), std::move(body)}, std::nullopt};
  }
  static std::string path_of(const std::string& target) {  // /v2/<path>/manifests/x -> <path>
    const auto start = std::string("/v2/").size();
    auto end = target.find("/manifests/");
    if (end == std::string::npos) end = target.find("/blobs/");
    return end == std::string::npos ? "" : target.substr(start, end - start);
  }
  bool authorized(const std::string& authorization, const std::string& method) const {
    if (!bearer) return authorization == "Basic " + base64_encode(user + ":" + password);
    if (!authorization.starts_with("Bearer ")) return false;
    const auto it = issued_.find(authorization.substr(7));
    return it != issued_.end() && (method == "GET" || method == "HEAD" || it->second.find("push") != std::string::npos);
  }
  Outcome token_service(const HttpRequest& r) {
    std::string authorization;
    for (const auto& [k, v] : r.headers)
      if (k == "Authorization") authorization = v;
    std::string scope;
    if (r.method == "POST") {  // the OAuth2 refresh-token grant: `password` plays the identity token
      if (r.body.find("grant_type=refresh_token") == std::string::npos ||
          r.body.find("refresh_token=" + password) == std::string::npos)
        return respond(401, {}, R"({"details":"bad refresh token"})");
      scope = r.body.substr(r.body.find("scope=") + 6);
      scope = scope.substr(0, scope.find('&'));
    } else {
      if (authorization != "Basic " + base64_encode(user + ":" + password))
        return respond(401, {}, R"({"details":"bad credentials"})");
      scope = r.url.target.substr(r.url.target.find("scope=") + 6);
    }
    if (!token_answer.empty()) return respond(200, {}, token_answer);
    const auto token = "t" + std::to_string(issued_.size() + 1);
    issued_[token] = scope;
    return respond(200, {}, "{\"access_token\":\"" + token + "\",\"expires_in\":" + std::to_string(token_lifetime) + "}");
  }
  Outcome api(const HttpRequest& r) {
    const auto& t = r.url.target;
    const auto path = path_of(t);
    if (const auto at = t.find("/referrers/"); at != std::string::npos) {
      if (!referrers_api) return respond(404, {}, R"({"errors":[{"code":"NOT_FOUND"}]})");
      const auto query_at = t.find('?', at);
      const auto subject = t.substr(at + 11, query_at == std::string::npos ? std::string::npos : query_at - at - 11);
      boost::json::array listed;
      for (const auto& [key, stored] : manifests) {
        if (!key.starts_with(t.substr(4, at - 4) + "@")) continue;
        boost::system::error_code ec;
        const auto v = boost::json::parse(stored.bytes, ec);
        const auto* o = ec ? nullptr : v.if_object();
        const auto* s = o ? o->if_contains("subject") : nullptr;
        if (!s || !s->is_object() || boost::json::value_to<std::string>(s->as_object().at("digest")) != subject) continue;
        boost::json::object d{{"mediaType", stored.media_type},
                              {"digest", sha256_digest(stored.bytes)},
                              {"size", static_cast<std::int64_t>(stored.bytes.size())}};
        if (const auto* type = o->if_contains("artifactType")) d["artifactType"] = *type;
        listed.push_back(std::move(d));
      }
      Headers headers{{"content-type", media::oci_index}};
      if (referrers_page_size > 0) {
        const auto last = query_value(t, "last");
        const std::size_t from = last.empty() ? 0 : std::stoul(last);
        boost::json::array page;
        for (std::size_t i = from; i < listed.size() && i < from + referrers_page_size; ++i) page.push_back(listed[i]);
        if (from + referrers_page_size < listed.size())
          headers.emplace_back("link", "<" + t.substr(0, query_at) + "?n=" + std::to_string(referrers_page_size) +
                                           "&last=" + std::to_string(from + referrers_page_size) + ">; rel=\"next\"");
        listed = std::move(page);
      }
      return respond(200, headers,
                     boost::json::serialize(
                         boost::json::object{{"schemaVersion", 2}, {"mediaType", media::oci_index}, {"manifests", listed}}));
    }
    if (const auto m = t.find("/manifests/"); m != std::string::npos) {
      auto ref = t.substr(m + 11);
      if (referrers_tag_is_subject && ref.size() == 71 && ref.starts_with("sha256-")) ref[6] = ':';
      const auto key = path + (ref.starts_with("sha256:") ? "@" : ":") + ref;
      if (r.method == "PUT") {
        const auto digest = sha256_digest(r.body);
        std::string type;
        for (const auto& [k, v] : r.headers)
          if (k == "Content-Type") type = v;
        if (blob_unknown_next > 0)
          return --blob_unknown_next,
                 respond(400, {}, R"({"errors":[{"code":"MANIFEST_BLOB_UNKNOWN","message":"blob unknown to registry"}]})");
        if (docker_types_only && type.starts_with("application/vnd.oci."))
          return respond(400, {}, R"({"errors":[{"code":"MANIFEST_INVALID","message":"manifest invalid"}]})");
        if (const auto held = manifests.find(key);
            immutable_tags && !ref.starts_with("sha256:") && held != manifests.end() && held->second.bytes != r.body)
          return respond(
              400, {},
              R"({"errors":[{"code":"TAG_INVALID","message":"The image tag ')" + ref +
                  R"(' already exists in the repository and cannot be overwritten because the repository is immutable."}]})");
        if (ref.starts_with("sha256:") && ref != digest) return respond(400, {}, R"({"errors":[{"code":"DIGEST_INVALID"}]})");
        std::string media_type;
        for (const auto& [k, v] : r.headers)
          if (k == "Content-Type") media_type = v;
        if (!lose_tag_puts || ref.starts_with("sha256:")) manifests[key] = {media_type, r.body};
        manifests[path + "@" + digest] = {media_type, r.body};
        if (overwrites > 0 && ref == overwritten_tag) {
          --overwrites;
          manifests[key] = {media::oci_index, overwrite_with};
          manifests[path + "@" + sha256_digest(overwrite_with)] = {media::oci_index, overwrite_with};
        }
        Headers headers{{"docker-content-digest", digest}};
        if (referrers_api && r.body.find("\"subject\"") != std::string::npos) headers.emplace_back("oci-subject", "yes");
        return respond(201, headers, "");
      }
      const auto it = manifests.find(key);
      if (it == manifests.end())
        return respond(404, {}, R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]})");
      return respond(200, {{"content-type", it->second.media_type}}, it->second.bytes);
    }
    if (t.find("/blobs/uploads/") != std::string::npos) return upload(r, path);
    if (const auto b = t.find("/blobs/"); b != std::string::npos) {
      const auto digest = t.substr(b + 7);
      if (!blobs.count(digest)) return respond(404, {}, R"({"errors":[{"code":"BLOB_UNKNOWN"}]})");
      if (!redirect_blobs_to.empty()) return respond(307, {{"location", redirect_blobs_to + "/" + digest}}, "");
      return respond(200, {}, blobs[digest]);
    }
    return respond(404, {}, "");
  }
};

}  // namespace mai::test
