// Requests of different kinds in one round: what a push needs of a far registry goes out together
// (its blobs' upload sessions and the referrers it reads, then their PUTs, then the manifests), so
// that the round trips on its critical path are those the protocol orders, not one per request.
#include <boost/json.hpp>

#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/text.hpp"
#include "oci/media_types.hpp"
#include "registry/client.hpp"
#include "registry/errors.hpp"

namespace mai {

void RegistryClient::Batch::get_manifest(const std::string& reference, std::optional<Manifest>& out) {
  if (reference.starts_with("sha256:")) checked_digest(reference, "the manifest digest to read");
  auto& c = client_;
  calls_.push_back({"GET",
                    "/v2/" + c.repository_.path + "/manifests/" + reference,
                    {{"Accept", media::manifest_accept_header()}},
                    "",
                    kManifestLimit,
                    "a manifest"});
  then_.emplace_back([&c, &out, reference](HttpResponse& r) {
    if (r.status == 404) {
      out.reset();
      return;
    }
    if (r.status != 200)
      throw Error(Exit::step_failed, "reading " + c.repository_.str() + (reference.starts_with("sha256:") ? "@" : ":") +
                                         reference + " failed: " + registry_errors(r));
    Manifest m;
    m.bytes = std::move(r.body);
    m.digest = sha256_digest(m.bytes);
    if (reference.starts_with("sha256:") && m.digest != reference)
      throw Error(Exit::verify_failed,
                  c.repository_.str() + "@" + reference + " was served with content whose digest is " + m.digest);
    boost::system::error_code ec;
    const auto v = boost::json::parse(m.bytes, ec);
    if (const auto* o = ec ? nullptr : v.if_object())
      if (const auto* t = o->if_contains("mediaType"); t && t->is_string()) m.media_type = std::string(t->get_string());
    if (m.media_type.empty()) m.media_type = trim(r.header("content-type").substr(0, r.header("content-type").find(';')));
    out = std::move(m);
  });
}

void RegistryClient::Batch::has_blob(const std::string& digest, bool& out) {
  auto& c = client_;
  if (c.no_head_) {  // asked with a GET of its first byte, alone
    alone_.emplace_back([&c, &out, digest] { out = c.has_blob(digest); });
    return;
  }
  calls_.push_back({"HEAD",
                    "/v2/" + c.repository_.path + "/blobs/" + checked_digest(digest, "the blob digest"),
                    {},
                    "",
                    kDefaultResponseLimit,
                    "a blob's headers"});
  then_.emplace_back([this, &c, &out, digest](HttpResponse& r) {
    if (r.status == 200 || r.status == 404) {
      out = r.status == 200;
      return;
    }
    if (r.status != 405 && r.status != 501)
      throw Error(Exit::step_failed, "HEAD blob " + digest + " of " + c.repository_.str() + ": " + registry_errors(r));
    alone_.emplace_back([&c, &out, digest] { out = c.has_blob(digest); });  // learns the registry takes no HEAD
  });
}

void RegistryClient::Batch::start_upload(std::string& location) {
  auto& c = client_;
  calls_.push_back({"POST", "/v2/" + c.repository_.path + "/blobs/uploads/", {}, "", kErrorBodyLimit, "an upload session"});
  then_.emplace_back([&c, &location](HttpResponse& r) {
    if (r.status != 202)
      throw Error(Exit::step_failed, "starting an upload to " + c.repository_.str() + ": " + registry_errors(r));
    const auto at = r.header("location");
    if (at.empty()) throw Error(Exit::step_failed, c.repository_.registry + " answered an upload without a Location");
    location = Url::parse(c.base_url() + "/", "the registry URL").resolve(at).str();
  });
}

void RegistryClient::Batch::finish_upload(const std::string& location, const std::string& digest,
                                          const std::filesystem::path* file, const std::string* bytes) {
  auto& c = client_;
  checked_digest(digest, "the blob digest to upload");
  std::uint64_t size = 0;
  if (file) {
    std::error_code ec;
    size = std::filesystem::file_size(*file, ec);
    if (ec) throw Error(Exit::step_failed, "cannot read the blob " + digest + " at " + file->string() + ": " + ec.message());
  } else {
    if (sha256_digest(*bytes) != digest) throw Error(Exit::step_failed, "the blob to upload as " + digest + " has other content");
    size = bytes->size();
  }
  // A file larger than one PUT takes: in chunks, continuing this session, after the round.
  if (file && size > c.settings_.monolithic_upload) {
    alone_.emplace_back([&c, location, digest, size, file, bytes] { c.upload(digest, size, file, bytes, location); });
    return;
  }
  auto target = Url::parse(location, "an upload's Location");
  target.target += (target.target.find('?') == std::string::npos ? "?" : "&") + std::string("digest=") + percent_encode(digest);
  Call put{"PUT", target.str(), {{"Content-Type", "application/octet-stream"}}, "", kErrorBodyLimit, "an upload's answer"};
  put.once = true;
  if (bytes) put.body = *bytes;
  if (file) put.file = FileSpan{*file, 0, size};
  calls_.push_back(std::move(put));
  then_.emplace_back([this, &c, digest, size, file, bytes, location](HttpResponse& r) {
    if (r.status == 201) {
      if (const auto stated = r.header("docker-content-digest"); !stated.empty() && stated != digest)
        throw Error(Exit::verify_failed, c.repository_.registry + " stored the blob " + digest + " as " + stated);
      return;
    }
    // Broken on its way: the careful way from where its session stands (the blob may be complete, or
    // part of it there). Refused: the careful way, in a session of its own.
    const bool broken = r.status == 0;
    c.log_.warn("uploading " + digest.substr(0, 19) + ": " + (broken ? r.body : registry_errors(r)) + "; " +
                (broken ? "going on from where its session stands" : "uploading it again on its own"));
    alone_.emplace_back([&c, digest, size, file, bytes, broken, location] {
      c.upload(digest, size, file, bytes, broken ? location : "", broken);
    });
  });
}

void RegistryClient::Batch::put_manifest(const std::string& reference, const std::string& media_type, const std::string& bytes,
                                         std::string* stated, bool* subject_indexed) {
  auto& c = client_;
  calls_.push_back({"PUT",
                    "/v2/" + c.repository_.path + "/manifests/" + reference,
                    {{"Content-Type", media_type}},
                    bytes,
                    kDefaultResponseLimit,
                    "an answer to a manifest upload"});
  then_.emplace_back([&c, call = calls_.back(), reference, media_type, stated, subject_indexed](HttpResponse& answer) {
    const auto r = c.again_if_blob_unknown(call, std::move(answer));
    if (r.status / 100 != 2) c.refused_manifest(reference, media_type, call.body, r);
    if (stated) *stated = r.header("docker-content-digest");
    if (subject_indexed) *subject_indexed = !r.header("oci-subject").empty();
  });
}

void RegistryClient::Batch::run() {
  auto responses = client_.send_all(calls_);
  for (std::size_t i = 0; i < responses.size(); ++i) then_[i](responses[i]);
  // Handlers may add to what goes alone: by index, as it grows.
  for (std::size_t i = 0; i < alone_.size(); ++i) alone_[i]();
  calls_.clear();
  then_.clear();
  alone_.clear();
}

}  // namespace mai
