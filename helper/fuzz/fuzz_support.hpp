// What every fuzz target shares: the contract it holds the code to (a parser of untrusted bytes may
// refuse them only with mai::Error; anything else escaping, a sanitizer report, a hang or a blow-up is a
// finding), invariants that abort with a message, inputs split into parts, and a scratch directory.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "base/log.hpp"
#include "base/text.hpp"
#include "registry/transport.hpp"

namespace mai::fuzz {

// A failed invariant: libFuzzer records the input as a crash.
#define MAI_FUZZ_CHECK(condition, what)                                                         \
  do {                                                                                          \
    if (!(condition)) {                                                                         \
      std::fprintf(stderr, "fuzz invariant failed at %s:%d: %s\n", __FILE__, __LINE__, (what)); \
      std::abort();                                                                             \
    }                                                                                           \
  } while (0)

// Runs `f`; mai::Error is how the helper refuses input (a message naming it, an exit code), so it
// ends the input quietly (with MAI_FUZZ_VERBOSE set, its message goes to stderr: why a seed stops
// where it does). Any other exception propagates, and libFuzzer reports it.
template <class F>
void only_mai_errors(F&& f) {
  try {
    f();
  } catch (const mai::Error& e) {
    static const bool verbose = std::getenv("MAI_FUZZ_VERBOSE") != nullptr;
    if (verbose) std::fprintf(stderr, "refused: %s\n", e.what());
  }
}

// The parts of an input separated by the ASCII record separator (0x1e), at most `count` (the last
// takes the rest): real documents are joined with it in the seed corpora.
inline std::vector<std::string> parts(const std::uint8_t* data, std::size_t size, std::size_t count) {
  std::vector<std::string> out;
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  while (out.size() + 1 < count) {
    const auto at = rest.find('\x1e');
    if (at == std::string_view::npos) break;
    out.emplace_back(rest.substr(0, at));
    rest.remove_prefix(at + 1);
  }
  out.emplace_back(rest);
  out.resize(count);
  return out;
}

// A log whose lines go nowhere: the fuzzer's output stays its own.
inline const Log& quiet_log() {
  static const Log log("fuzz", "", [](std::string_view, bool) {});
  return log;
}

// A directory of this process's own under $TMPDIR, removed at exit.
inline const std::filesystem::path& scratch() {
  struct Dir {
    std::filesystem::path path = std::filesystem::temp_directory_path() / ("mai-fuzz-" + std::to_string(::getpid()));
    Dir() { std::filesystem::create_directories(path); }
    ~Dir() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  };
  static const Dir dir;
  return dir.path;
}

inline std::filesystem::path write_file(const std::filesystem::path& path, std::string_view bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return path;
}

// `text` with every `placeholder` replaced by `value`: seeds name digests the harness computes (a
// fuzzer cannot forge a sha256), as "@CONFIG@" for the digest of the config it serves.
inline std::string substitute(std::string text, std::string_view placeholder, std::string_view value) {
  for (std::size_t at = 0; (at = text.find(placeholder, at)) != std::string::npos; at += value.size())
    text.replace(at, placeholder.size(), value);
  return text;
}

// An HTTP answer written the short way the seeds write them: a status line ("401"), header lines
// ("www-authenticate: Bearer realm=..."), an empty line, the body. A first line that is no number
// makes the whole text a 200 answer's body.
inline HttpResponse answer(std::string_view text) {
  HttpResponse r{200, {}, std::string(text)};
  const auto first_end = text.find('\n');
  const auto first = trim(text.substr(0, first_end));
  if (first.empty() || first.size() > 3 || first.find_first_not_of("0123456789") != std::string::npos) return r;
  r.status = std::stoi(first);
  r.body.clear();
  auto rest = first_end == std::string_view::npos ? std::string_view() : text.substr(first_end + 1);
  while (!rest.empty()) {
    const auto end = rest.find('\n');
    const auto line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    if (trim(line).empty()) break;
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    r.headers.emplace_back(lowercase(trim(line.substr(0, colon))), trim(line.substr(colon + 1)));
  }
  r.body = std::string(rest);
  return r;
}

// A server that answers each request with the next answer of a script, whatever was asked, and fails
// the exchange (a name that does not resolve: no retry) once the script is spent. What the client
// asked is kept for invariants.
class ScriptedTransport final : public Transport {
 public:
  explicit ScriptedTransport(std::vector<HttpResponse> script) : script_(std::move(script)) {}
  Outcome send(const HttpRequest& request, const TlsSettings&) override {
    asked.push_back(request);
    if (next_ == script_.size()) return {std::nullopt, TransportError{TransportError::Kind::unknown_host, "script spent"}};
    auto response = script_[next_++];
    if (response.body.size() > request.response_limit)
      return {std::nullopt, TransportError{TransportError::Kind::too_large, "larger than the limit"}};
    if (request.sink && response.status / 100 == 2) {
      request.sink->begin();
      request.sink->write(response.body);
      response.body.clear();
    }
    return {std::move(response), std::nullopt};
  }
  std::vector<HttpRequest> asked;

 private:
  std::vector<HttpResponse> script_;
  std::size_t next_ = 0;
};

}  // namespace mai::fuzz
