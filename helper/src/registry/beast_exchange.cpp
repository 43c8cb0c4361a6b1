#include "registry/beast_exchange.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <fstream>
#include <functional>

#include "base/error.hpp"
#include "base/text.hpp"

namespace mai {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

TransportError io_error(const beast::error_code& ec, const std::string& what) {
  if (ec == beast::error::timeout) return {TransportError::Kind::timeout, what + ": timed out"};
  // An alert inside the session (TLS 1.3 reports a refused client certificate only here).
  if (ec.category() == asio::error::get_ssl_category()) return {TransportError::Kind::tls_failed, what + ": " + ec.message()};
  return {TransportError::Kind::io, what + ": " + ec.message()};
}

namespace {

// CR or LF in a value would end the header and start another (or a second request): values from a
// token service or a registry's JSON are checked here, where every request passes.
bool has_control(std::string_view s, bool tab_allowed) {
  return std::any_of(s.begin(), s.end(), [&](unsigned char c) { return (c < 0x20 && !(tab_allowed && c == '\t')) || c == 0x7f; });
}

// The body of every message: text in memory, or (requests) a span of a file read while it is sent,
// or (2xx answers) a sink that takes the bytes as they arrive.
struct Body {
  struct value_type {
    std::string text;
    const FileSpan* file = nullptr;
    BodySink* sink = nullptr;
  };
  static std::uint64_t size(const value_type& v) { return v.file ? v.file->length : v.text.size(); }

  class reader {
   public:
    // A parser makes its reader before the header arrives: the status is looked at in init().
    template <bool isRequest, class Fields>
    reader(http::header<isRequest, Fields>& h, value_type& v) : v_(v) {
      if constexpr (!isRequest) status_ = [&h] { return h.result_int(); };
    }
    void init(const boost::optional<std::uint64_t>& length, beast::error_code& ec) {
      ec = {};
      streaming_ = v_.sink && status_ && status_() / 100 == 2;
      if (streaming_)
        v_.sink->begin();
      else if (length)
        v_.text.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(*length, kDefaultResponseLimit)));
    }
    template <class Buffers>
    std::size_t put(const Buffers& buffers, beast::error_code& ec) {
      ec = {};
      std::size_t n = 0;
      for (const auto b : beast::buffers_range_ref(buffers)) {
        const std::string_view bytes(static_cast<const char*>(b.data()), b.size());
        if (streaming_)
          v_.sink->write(bytes);
        else
          v_.text.append(bytes);
        n += b.size();
      }
      return n;
    }
    void finish(beast::error_code& ec) { ec = {}; }

   private:
    value_type& v_;
    std::function<unsigned()> status_;
    bool streaming_ = false;
  };

  class writer {
   public:
    using const_buffers_type = asio::const_buffer;
    template <bool isRequest, class Fields>
    writer(const http::header<isRequest, Fields>&, const value_type& v) : v_(v) {}
    void init(beast::error_code& ec) {
      ec = {};
      if (!v_.file) return;
      in_.open(v_.file->path, std::ios::binary);
      in_.seekg(static_cast<std::streamoff>(v_.file->offset));
      if (!in_) ec = beast::errc::make_error_code(beast::errc::io_error);
      left_ = v_.file->length;
    }
    boost::optional<std::pair<const_buffers_type, bool>> get(beast::error_code& ec) {
      ec = {};
      if (!v_.file) return {{const_buffers_type(v_.text.data(), v_.text.size()), false}};
      if (left_ == 0) return boost::none;
      buffer_.resize(static_cast<std::size_t>(std::min<std::uint64_t>(left_, kChunk)));
      in_.read(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
      if (static_cast<std::size_t>(in_.gcount()) != buffer_.size()) {
        // The file is shorter than the span: a blob changed under the upload.
        ec = beast::errc::make_error_code(beast::errc::io_error);
        return boost::none;
      }
      left_ -= buffer_.size();
      return {{const_buffers_type(buffer_.data(), buffer_.size()), left_ > 0}};
    }

   private:
    static constexpr std::uint64_t kChunk = 64 << 10;
    const value_type& v_;
    std::ifstream in_;
    std::vector<char> buffer_;
    std::uint64_t left_ = 0;
  };
};

http::request<Body> to_beast(const HttpRequest& r) {
  const auto refuse = [&](const std::string& what) {
    return Error(Exit::step_failed, "refusing to send " + r.method + " to " + r.url.origin() + ": " + what +
                                        " holds a control character or a space, which would split the request");
  };
  if (has_control(r.url.target, false) || r.url.target.find(' ') != std::string::npos) throw refuse("the request target");
  if (has_control(r.url.host, false) || r.url.host.find(' ') != std::string::npos) throw refuse("the host name");
  http::request<Body> req;
  req.method_string(r.method);
  req.target(r.url.target);
  req.version(11);  // keep-alive unless the server says otherwise
  req.set(http::field::host, r.url.authority());
  req.set(http::field::user_agent, user_agent());
  for (const auto& [k, v] : r.headers) {
    // The header's name only: its value may be a secret.
    if (k.empty() || has_control(k, false) || k.find_first_of(" :") != std::string::npos || has_control(v, true))
      throw refuse("the header " + k);
    try {
      req.insert(k, v);
    } catch (const std::length_error&) {
      throw Error(Exit::step_failed, "refusing to send " + r.method + " to " + r.url.origin() + ": the header " + k + " is " +
                                         std::to_string(v.size()) + " bytes, more than an HTTP header holds");
    }
  }
  if (!r.body.empty() || r.body_file || r.method == "PUT" || r.method == "POST" || r.method == "PATCH") {
    req.body().text = r.body;
    if (r.body_file) req.body().file = &*r.body_file;
    req.prepare_payload();
  }
  return req;
}

HttpResponse from_beast(http::response<Body>& res) {
  HttpResponse out;
  out.status = static_cast<int>(res.result_int());
  for (const auto& field : res) out.headers.emplace_back(lowercase(field.name_string()), std::string(field.value()));
  out.body = std::move(res.body().text);
  return out;
}

// The answer to `request` read from `stream`, within the time the stream has left. The body is
// bounded before a byte of it is read: a stated length over the limit fails as the header completes,
// a chunked body as its chunks arrive. A hostile answer costs at most its limit.
template <class AsyncStream>
asio::awaitable<Exchanged> read_answer(AsyncStream& stream, const HttpRequest& request) {
  Exchanged out;
  beast::flat_buffer buffer;
  http::response_parser<Body> parser;
  parser.get().body().sink = request.sink;
  if (request.method == "HEAD") parser.skip(true);
  parser.body_limit(request.response_limit);
  auto [hec, header_bytes] = co_await http::async_read_header(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
  out.answered = parser.got_some();
  // Only a success's body is what was asked for. Any other (an error page, a redirect's body) is
  // read up to kErrorBodyLimit: a 307 with gigabytes of body costs 64 KiB, not gigabytes.
  const bool other_status = parser.is_header_done() && parser.get().result_int() / 100 != 2;
  // What a failed read leaves: a body too long to be of use (its status and headers are the answer;
  // the connection, with the rest of the body unread, is not kept), an answer over the limit, or an
  // I/O failure. True when the exchange is settled.
  const auto settled = [&](const beast::error_code& ec, bool cut_anyway) {
    if (other_status && (cut_anyway || ec == http::error::body_limit)) {
      auto answer = from_beast(parser.get());
      answer.body.clear();
      out.outcome.response = std::move(answer);
    } else if (ec == http::error::body_limit) {
      out.outcome.error = TransportError{TransportError::Kind::too_large,
                                         "the answer to " + request.method + " " + request.url.str() + " is larger than " +
                                             std::to_string(request.response_limit) + " bytes; refused"};
    } else if (ec) {
      out.outcome.error = io_error(ec, "reading the answer to " + request.method + " " + request.url.str());
    }
    return cut_anyway || ec;
  };
  if (settled(hec, other_status && parser.content_length().value_or(0) > kErrorBodyLimit)) co_return out;
  if (other_status) parser.body_limit(std::min(request.response_limit, kErrorBodyLimit));
  auto [rec, read] = co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
  if (settled(rec, false)) co_return out;
  beast::get_lowest_layer(stream).expires_never();
  out.reusable = parser.get().keep_alive() && buffer.size() == 0;
  auto response = parser.release();
  out.outcome.response = from_beast(response);
  co_return out;
}

template <class AsyncStream>
asio::awaitable<Exchanged> exchange_on(AsyncStream& stream, const HttpRequest& request,
                                       std::chrono::steady_clock::duration limit) {
  auto req = to_beast(request);
  beast::get_lowest_layer(stream).expires_after(limit);
  auto [wec, written] = co_await http::async_write(stream, req, asio::as_tuple(asio::use_awaitable));
  if (!wec) co_return co_await read_answer(stream, request);
  // A server may answer before the body is all there and close: a 401 for a token that expired, a
  // 413 from a proxy. The write then breaks, and the answer, already on its way, says why.
  Exchanged out;
  if (wec != beast::error::timeout) {
    out = co_await read_answer(stream, request);
    if (out.outcome.response) {
      out.reusable = false;
      co_return out;
    }
  }
  out = {};
  out.outcome.error = io_error(wec, "sending " + request.method + " " + request.url.str());
  out.broke_while_sending = written > 0;
  co_return out;
}

}  // namespace

asio::awaitable<Exchanged> exchange(beast::tcp_stream& stream, const HttpRequest& request,
                                    std::chrono::steady_clock::duration limit) {
  co_return co_await exchange_on(stream, request, limit);
}

asio::awaitable<Exchanged> exchange(TlsStream& stream, const HttpRequest& request, std::chrono::steady_clock::duration limit) {
  co_return co_await exchange_on(stream, request, limit);
}

}  // namespace mai
