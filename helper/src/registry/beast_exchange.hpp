// One request and its answer over an open Beast stream, for beast_transport.cpp: the request built
// (values with control characters refused), its body sent from memory or streamed from a file, the
// answer read within its limits (an error page cut short, a 2xx body streamed to a sink).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <string>

#include "registry/transport.hpp"

namespace mai {

using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

struct Exchanged {
  Transport::Outcome outcome;
  bool answered = false;  // some of a response arrived (so the request reached the server)
  // The write broke after some of the request went out (a body cut on its way): the server may have
  // kept what it got, so the request is not one a dropped idle connection never delivered.
  bool broke_while_sending = false;
  bool reusable = false;  // the whole response was read and the server keeps the connection open
};

// `request` sent on `stream` and its answer read, all within `limit`.
boost::asio::awaitable<Exchanged> exchange(boost::beast::tcp_stream& stream, const HttpRequest& request,
                                           std::chrono::steady_clock::duration limit);
boost::asio::awaitable<Exchanged> exchange(TlsStream& stream, const HttpRequest& request,
                                           std::chrono::steady_clock::duration limit);

// A failed read or write as a TransportError: a timeout, a TLS alert inside the session, or I/O.
TransportError io_error(const boost::beast::error_code& ec, const std::string& what);

}  // namespace mai
