// A loopback TCP proxy for reliability tests: it stands between engines and the registry and, on a
// configurable share of connections, resets them, stalls them, or answers 503. Every fault it injects
// is appended to --log, so a test can assert that each one was survived. With --delay-ms it holds
// every chunk it forwards that long, in each direction: a registry that far away (the benchmarks).
//
//   multiarch-fault-proxy --target 127.0.0.1:5000 --port-file F --log F
//                         [--reset PCT] [--stall PCT] [--error PCT] [--stall-seconds N] [--seed N] [--port N]
//                         [--delay-ms N]
#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <string>
#include <thread>

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

struct Options {
  std::string target_host = "127.0.0.1";
  unsigned short target_port = 0;
  std::string port_file, log_file;
  int reset = 0, stall = 0, error = 0, stall_seconds = 5, delay_ms = 0;
  unsigned seed = 1;
  unsigned short port = 0;  // 0: a free port chosen by the kernel
};

std::mutex log_mutex;
void log_fault(const Options& o, const std::string& kind, const std::string& request_line) {
  std::lock_guard lock(log_mutex);
  std::ofstream(o.log_file, std::ios::app) << kind << " " << request_line << "\n";
}

void pipe(tcp::socket& from, tcp::socket& to, int delay_ms) {
  std::array<char, 65536> buf;
  boost::system::error_code ec;
  while (true) {
    const auto n = from.read_some(asio::buffer(buf), ec);
    if (ec || n == 0) break;
    if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    asio::write(to, asio::buffer(buf.data(), n), ec);
    if (ec) break;
  }
  to.shutdown(tcp::socket::shutdown_send, ec);
}

void forward(tcp::socket& client, asio::streambuf& head, const Options& o) {
  boost::system::error_code ec;
  asio::io_context io;
  tcp::socket upstream(io);
  upstream.connect({asio::ip::make_address(o.target_host), o.target_port}, ec);
  if (ec) return;
  // The head, read before forwarding began, is held like any other chunk.
  if (o.delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(o.delay_ms));
  asio::write(upstream, head.data(), ec);
  std::thread back([&] { pipe(upstream, client, o.delay_ms); });
  pipe(client, upstream, o.delay_ms);
  back.join();
}

void serve(tcp::socket client, const Options& o, int draw) {
  boost::system::error_code ec;
  asio::streambuf head;
  // A TLS ClientHello (clients try HTTPS first on loopback) goes straight through: the registry's
  // plain-HTTP answer to it is what makes clients fall back to HTTP.
  const auto n = client.read_some(head.prepare(1), ec);
  head.commit(n);
  if (ec) return;
  if (static_cast<unsigned char>(*static_cast<const char*>(head.data().data())) == 0x16) return forward(client, head, o);
  asio::read_until(client, head, "\r\n\r\n", ec);
  if (ec) return;
  std::string request_line;
  std::istream(&head) >> std::ws;
  {
    const auto* data = static_cast<const char*>(head.data().data());
    const std::string text(data, head.size());
    request_line = text.substr(0, text.find("\r\n"));
  }
  if (draw < o.reset) {
    log_fault(o, "reset", request_line);
    client.set_option(asio::socket_base::linger(true, 0), ec);  // close with RST
    client.close(ec);
    return;
  }
  if (draw < o.reset + o.stall) {
    log_fault(o, "stall", request_line);
    std::this_thread::sleep_for(std::chrono::seconds(o.stall_seconds));
    client.close(ec);
    return;
  }
  if (draw < o.reset + o.stall + o.error) {
    log_fault(o, "error", request_line);
    asio::write(client,
                asio::buffer(std::string("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")),
                ec);
    client.close(ec);
    return;
  }
  forward(client, head, o);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--target") {
      o.target_host = v.substr(0, v.rfind(':'));
      o.target_port = static_cast<unsigned short>(std::stoi(v.substr(v.rfind(':') + 1)));
    } else if (k == "--port-file")
      o.port_file = v;
    else if (k == "--log")
      o.log_file = v;
    else if (k == "--reset")
      o.reset = std::stoi(v);
    else if (k == "--stall")
      o.stall = std::stoi(v);
    else if (k == "--error")
      o.error = std::stoi(v);
    else if (k == "--stall-seconds")
      o.stall_seconds = std::stoi(v);
    else if (k == "--seed")
      o.seed = static_cast<unsigned>(std::stoul(v));
    else if (k == "--port")
      o.port = static_cast<unsigned short>(std::stoi(v));
    else if (k == "--delay-ms")
      o.delay_ms = std::stoi(v);
    else {
      std::cerr << "fault-proxy: unknown option " << k << "\n";
      return 2;
    }
  }
  if (o.target_port == 0 || o.port_file.empty() || o.log_file.empty()) {
    std::cerr << "usage: multiarch-fault-proxy --target HOST:PORT --port-file F --log F [--reset PCT] [--stall PCT] "
                 "[--error PCT] [--stall-seconds N] [--seed N] [--port N] [--delay-ms N]\n";
    return 2;
  }
  asio::io_context io;
  tcp::acceptor acceptor(io);
  const tcp::endpoint endpoint{asio::ip::make_address("127.0.0.1"), o.port};
  acceptor.open(endpoint.protocol());
  acceptor.set_option(tcp::acceptor::reuse_address(true));  // a restarted proxy takes its old port back
  acceptor.bind(endpoint);
  acceptor.listen();
  std::ofstream(o.log_file, std::ios::app).flush();
  std::ofstream(o.port_file) << acceptor.local_endpoint().port() << "\n";
  std::mt19937 random(o.seed);
  std::uniform_int_distribution<int> percent(0, 99);
  while (true) {
    tcp::socket client(io);
    acceptor.accept(client);
    std::thread(serve, std::move(client), std::cref(o), percent(random)).detach();
  }
}
