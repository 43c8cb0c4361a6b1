// The registry client's blobs: read whole (configs), streamed to a file (a base's layers copied
// across registries), mounted from another repository, and uploaded (one PUT, or PATCHes of a fixed
// size for a large one).
#include <fstream>
#include <optional>

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

namespace {

// What a GET asked only whether a blob is there receives: nothing is kept.
class Discard final : public BodySink {
 public:
  void begin() override {}
  void write(std::string_view) override {}
};

}  // namespace

bool RegistryClient::has_blob(const std::string& digest) {
  const auto path = "/v2/" + repository_.path + "/blobs/" + checked_digest(digest, "the blob digest");
  if (!no_head_) {
    const auto r = send({"HEAD", path, {}, "", kDefaultResponseLimit, "a blob's headers"});
    if (r.status == 200) return true;
    if (r.status == 404) return false;
    if (r.status != 405 && r.status != 501)
      throw Error(Exit::step_failed, "HEAD blob " + digest + " of " + repository_.str() + ": " + registry_errors(r));
    log_.warn(repository_.registry + " answers HEAD with " + registry_errors(r) +
              ": whether it holds a blob is asked with a GET of its first byte");
    no_head_ = true;
  }
  // The first byte, where the registry honours Range (206); a registry that does not sends the whole
  // blob, which is read and dropped.
  Discard discard;
  Call call{"GET", path, {{"Range", "bytes=0-0"}}, "", kStreamedLimit, "a blob"};
  call.sink = &discard;
  const auto r = send(call);
  if (r.status == 200 || r.status == 206) return true;
  if (r.status == 404) return false;
  throw Error(Exit::step_failed, "GET blob " + digest + " of " + repository_.str() + ": " + registry_errors(r));
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

namespace {

// The bytes an upload session holds, from its status's Range ("0-<last>", or "bytes=0-<last>"); an
// empty session says "0-0" as distribution writes it, read as nothing held. nullopt when unreadable.
std::optional<std::uint64_t> held_bytes(const std::string& range) {
  auto text = trim(range);
  if (text.starts_with("bytes=")) text.erase(0, 6);
  if (!text.starts_with("0-") || text.size() < 3 || text.size() > 22) return std::nullopt;
  std::uint64_t last = 0;
  for (const char c : text.substr(2)) {
    if (c < '0' || c > '9') return std::nullopt;
    last = last * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return last == 0 ? 0 : last + 1;
}

}  // namespace

void RegistryClient::upload(const std::string& digest, std::uint64_t size, const std::filesystem::path* file,
                            const std::string* bytes, const std::string& session, bool broken) {
  // Every answer's Location is where the upload goes on (relative or absolute, its query kept).
  auto url = Url::parse(base_url() + "/", "the registry URL");
  const auto follow = [&](const std::string& location) {
    if (location.empty()) throw Error(Exit::step_failed, repository_.registry + " answered an upload without a Location");
    url = url.resolve(location);
  };
  const auto open_session = [&] {
    url = Url::parse(base_url() + "/", "the registry URL");
    const auto start =
        send({"POST", "/v2/" + repository_.path + "/blobs/uploads/", {}, "", kErrorBodyLimit, "an upload session"});
    if (start.status != 202)
      throw Error(Exit::step_failed, "starting an upload to " + repository_.str() + ": " + registry_errors(start));
    follow(start.header("location"));
  };
  if (session.empty())
    open_session();
  else
    follow(session);
  bool chunked = file && size > settings_.monolithic_upload && !no_chunked_uploads_;
  std::uint64_t offset = 0;  // what the session holds
  // After a body broke on the way (a reset, a timeout, a 5xx), the session holds what reached the
  // registry, which is not what the request's Location says: resending there is refused. Where the
  // session stands is asked (its Range) and the upload goes on from there; a registry that keeps the
  // offset in the Location (distribution refuses a stale one, and drops the session) gets a new
  // session, unless the broken request completed the blob after all.
  const auto recover = [&] {
    const auto status = send({"GET", url.str(), {}, "", kErrorBodyLimit, "an upload's status"});
    if (status.status / 100 == 2)
      if (const auto held = held_bytes(status.header("range")); held && *held <= size) {
        offset = *held;
        if (!status.header("location").empty()) follow(status.header("location"));
        log_.warn("uploading " + digest.substr(0, 19) + ": resuming at byte " + std::to_string(offset) + " of " +
                  std::to_string(size));
        return false;
      }
    if (has_blob(digest)) return true;
    log_.warn("uploading " + digest.substr(0, 19) + ": the registry refused to resume its session (" + registry_errors(status) +
              "); starting it again");
    open_session();
    offset = 0;
    return false;
  };
  // The request that sends the bytes from `offset` on: a chunk (PATCH) while a chunked upload has
  // more, else the final PUT with what is left.
  const auto next_request = [&] {
    if (chunked && offset < size) {
      const auto length = std::min(settings_.upload_chunk, size - offset);
      Call patch{"PATCH",
                 url.str(),
                 {{"Content-Type", "application/octet-stream"},
                  {"Content-Range", std::to_string(offset) + "-" + std::to_string(offset + length - 1)}},
                 "",
                 kErrorBodyLimit,
                 "an upload's answer"};
      patch.file = FileSpan{*file, offset, length};
      return patch;
    }
    auto target = url;
    target.target += (target.target.find('?') == std::string::npos ? "?" : "&") + std::string("digest=") + percent_encode(digest);
    Call put{"PUT", target.str(), {{"Content-Type", "application/octet-stream"}}, "", kErrorBodyLimit, "an upload's answer"};
    if (bytes) put.body = bytes->substr(static_cast<std::size_t>(offset));
    if (file && offset < size) put.file = FileSpan{*file, offset, size - offset};
    return put;
  };
  std::string problem;
  Backoff backoff(settings_.retry);
  while (true) {
    if (broken && recover()) return;  // the blob is there: the broken request completed it
    broken = false;
    const auto call = next_request();
    const auto answer = try_once(call, problem);
    if (!answer) {
      if (!wait_before_retry(call, problem, backoff))
        throw Error(Exit::step_failed, "uploading " + digest + " to " + repository_.str() + " failed after " +
                                           std::to_string(backoff.tries()) + " attempts: " + problem);
      broken = true;
      continue;
    }
    const auto& r = *answer;
    if (call.method == "PATCH") {
      // A registry that takes no upload in chunks refuses the first one: the whole blob then goes in
      // the closing PUT, of a new session (the refused one may be gone).
      if (offset == 0 && (r.status == 405 || r.status == 400 || r.status == 416 || r.status == 501)) {
        log_.warn(repository_.registry + " refused an upload in chunks (" + registry_errors(r) +
                  "): its blobs go up whole, each in one PUT");
        no_chunked_uploads_ = true;
        chunked = false;
        open_session();
        continue;
      }
      if (r.status != 202)
        throw Error(Exit::step_failed, "uploading " + digest + " to " + repository_.str() + " (bytes " + std::to_string(offset) +
                                           " on): " + registry_errors(r));
      offset += call.file->length;
      follow(r.header("location"));
      backoff = Backoff(settings_.retry);  // each chunk has the whole policy
      continue;
    }
    if (r.status != 201)
      throw Error(Exit::step_failed, "uploading " + digest + " to " + repository_.str() + ": " + registry_errors(r));
    if (const auto stated = r.header("docker-content-digest"); !stated.empty() && stated != digest)
      throw Error(Exit::verify_failed, repository_.registry + " stored the blob " + digest + " as " + stated);
    return;
  }
}

}  // namespace mai
