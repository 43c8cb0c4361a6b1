// The registry client's blobs: read whole (configs), streamed to a file (a base's layers copied
// across registries), mounted from another repository, and uploaded (one PUT, or PATCHes of a fixed
// size for a large one).
#include <fstream>

#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/text.hpp"
#include "registry/client.hpp"
#include "registry/errors.hpp"

namespace mai {

std::vector<std::string> RegistryClient::get_blobs(const std::vector<std::string>& digests) {
  std::vector<Call> calls;
  calls.reserve(digests.size());
  for (const auto& digest : digests)
    calls.push_back({"GET",
                     "/v2/" + repository_.path + "/blobs/" + checked_digest(digest, "the blob digest to read"),
                     {},
                     "",
                     kConfigLimit,
                     "an image config"});
  auto responses = send_all(calls);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < digests.size(); ++i) {
    const auto& r = responses[i];
    if (r.status != 200)
      throw Error(Exit::step_failed,
                  "reading blob " + digests[i] + " of " + repository_.str() + " failed: " + registry_errors(r));
    if (sha256_digest(r.body) != digests[i])
      throw Error(Exit::verify_failed, "blob " + digests[i] + " of " + repository_.str() + " was served with other content");
    out.push_back(std::move(responses[i].body));
  }
  return out;
}

std::string RegistryClient::get_blob(const std::string& digest) { return get_blobs({digest}).front(); }

namespace {

// A blob as it arrives: into a file, hashed on the way.
class FileSink final : public BodySink {
 public:
  explicit FileSink(std::filesystem::path path) : path_(std::move(path)) {}
  void begin() override {
    out_.close();
    out_.open(path_, std::ios::binary | std::ios::trunc);
    if (!out_) throw Error(Exit::step_failed, "cannot write " + path_.string());
    hash_ = Sha256();
    bytes_ = 0;
  }
  void write(std::string_view bytes) override {
    hash_.update(bytes.data(), bytes.size());
    bytes_ += bytes.size();
    if (!out_.write(bytes.data(), static_cast<std::streamsize>(bytes.size())))
      throw Error(Exit::step_failed, "cannot write " + path_.string() + " (disk full?)");
  }
  // The digest of what arrived, the file closed.
  std::string finish() {
    out_.close();
    if (!out_) throw Error(Exit::step_failed, "cannot write " + path_.string());
    return hash_.digest();
  }
  std::uint64_t bytes() const { return bytes_; }

 private:
  std::filesystem::path path_;
  std::ofstream out_;
  Sha256 hash_;
  std::uint64_t bytes_ = 0;
};

}  // namespace

void RegistryClient::fetch_blob(const std::string& digest, const std::filesystem::path& file) {
  FileSink sink(file);
  try {
    Call call{"GET",
              "/v2/" + repository_.path + "/blobs/" + checked_digest(digest, "the blob digest to read"),
              {},
              "",
              kStreamedLimit,
              "a blob"};
    call.sink = &sink;
    const auto r = send(call);
    if (r.status != 200)
      throw Error(Exit::step_failed, "reading blob " + digest + " of " + repository_.str() + ": " + registry_errors(r));
    if (sink.finish() != digest)
      throw Error(Exit::verify_failed, "blob " + digest + " of " + repository_.str() + " was served with other content (" +
                                           std::to_string(sink.bytes()) + " bytes whose digest is not that)");
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove(file, ec);
    throw;
  }
}

RegistryClient::Mount RegistryClient::mount_blob(const std::string& digest, const std::string& from) {
  Call call{"POST",
            "/v2/" + repository_.path + "/blobs/uploads/?mount=" + percent_encode(checked_digest(digest, "the blob to mount")) +
                "&from=" + percent_encode(from),
            {},
            "",
            kErrorBodyLimit,
            "a mount's answer"};
  call.also_scope = "repository:" + from + ":pull";
  HttpResponse r;
  try {
    r = send(call);
  } catch (const Error& e) {
    if (e.code() != Exit::step_failed) throw;
    // A token without the source's pull scope, say: the blob is uploaded instead.
    log_.warn("mounting " + digest.substr(0, 19) + " from " + from + " was refused (" + e.what() + "); uploading it");
    return {};
  }
  if (r.status == 201) return {true, ""};
  // 202: the registry would rather take an upload, and this is its session.
  if (r.status == 202 && !r.header("location").empty()) return {false, r.header("location")};
  log_.warn("mounting " + digest.substr(0, 19) + " from " + from + " was refused: " + registry_errors(r) + "; uploading it");
  return {};
}

bool RegistryClient::has_blob(const std::string& digest) {
  const auto r = send({"HEAD",
                       "/v2/" + repository_.path + "/blobs/" + checked_digest(digest, "the blob digest"),
                       {},
                       "",
                       kDefaultResponseLimit,
                       "a blob's headers"});
  if (r.status == 200) return true;
  if (r.status == 404) return false;
  throw Error(Exit::step_failed, "HEAD blob " + digest + " of " + repository_.str() + ": " + registry_errors(r));
}

void RegistryClient::put_blob(const std::string& digest, const std::filesystem::path& file, const std::string& session) {
  checked_digest(digest, "the blob digest to upload");
  std::error_code ec;
  const std::uint64_t size = std::filesystem::file_size(file, ec);
  if (ec) throw Error(Exit::step_failed, "cannot read the blob " + digest + " at " + file.string() + ": " + ec.message());
  upload(digest, size, &file, nullptr, session);
}

void RegistryClient::put_blob_bytes(const std::string& digest, const std::string& bytes) {
  checked_digest(digest, "the blob digest to upload");
  if (sha256_digest(bytes) != digest) throw Error(Exit::step_failed, "the blob to upload as " + digest + " has other content");
  upload(digest, bytes.size(), nullptr, &bytes, "");
}

void RegistryClient::upload(const std::string& digest, std::uint64_t size, const std::filesystem::path* file,
                            const std::string* bytes, const std::string& session) {
  // Every answer's Location is where the upload goes on (relative or absolute, its query kept).
  auto url = Url::parse(base_url() + "/", "the registry URL");
  const auto follow = [&](const std::string& location) {
    if (location.empty()) throw Error(Exit::step_failed, repository_.registry + " answered an upload without a Location");
    url = url.resolve(location);
  };
  if (session.empty()) {
    const auto start =
        send({"POST", "/v2/" + repository_.path + "/blobs/uploads/", {}, "", kErrorBodyLimit, "an upload session"});
    if (start.status != 202)
      throw Error(Exit::step_failed, "starting an upload to " + repository_.str() + ": " + registry_errors(start));
    follow(start.header("location"));
  } else {
    follow(session);
  }
  const bool chunked = file && size > settings_.monolithic_upload;
  for (std::uint64_t offset = 0; chunked && offset < size; offset += settings_.upload_chunk) {
    const auto length = std::min(settings_.upload_chunk, size - offset);
    Call patch{"PATCH",
               url.str(),
               {{"Content-Type", "application/octet-stream"},
                {"Content-Range", std::to_string(offset) + "-" + std::to_string(offset + length - 1)}},
               "",
               kErrorBodyLimit,
               "an upload's answer"};
    patch.file = FileSpan{*file, offset, length};
    const auto r = send(patch);
    if (r.status != 202)
      throw Error(Exit::step_failed, "uploading " + digest + " to " + repository_.str() + " (bytes " + std::to_string(offset) +
                                         " on): " + registry_errors(r));
    follow(r.header("location"));
  }
  url.target += (url.target.find('?') == std::string::npos ? "?" : "&") + std::string("digest=") + percent_encode(digest);
  Call put{"PUT", url.str(), {{"Content-Type", "application/octet-stream"}}, "", kErrorBodyLimit, "an upload's answer"};
  if (bytes) put.body = *bytes;
  if (file && !chunked) put.file = FileSpan{*file, 0, size};
  const auto done = send(put);
  if (done.status != 201)
    throw Error(Exit::step_failed, "uploading " + digest + " to " + repository_.str() + ": " + registry_errors(done));
  if (const auto stated = done.header("docker-content-digest"); !stated.empty() && stated != digest)
    throw Error(Exit::verify_failed, repository_.registry + " stored the blob " + digest + " as " + stated);
}

}  // namespace mai
