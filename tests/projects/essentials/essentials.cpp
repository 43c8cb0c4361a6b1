// What a service on scratch needs from ESSENTIALS, checked from inside its image as the user it runs
// as: its own account and home (getpwuid), a /tmp anyone may write, a time zone of the database, and
// a TLS server on the container's loopback verified by a client that trusts only OpenSSL's default CA
// path. Prints one line per check; the first failure ends it with status 1.
// Usage: essentials <server certificate (PEM)> <server key (PEM)>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <string>
#include <thread>

namespace {

int fail(const std::string& what) {
  std::printf("FAIL %s\n", what.c_str());
  return 1;
}

// A TLS server on 127.0.0.1 (an ephemeral port) that answers one client with "hello".
struct Server {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  int port = 0;
  std::thread thread;

  std::string start(const char* certificate, const char* key) {
    if (SSL_CTX_use_certificate_chain_file(ctx, certificate) != 1 || SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
      return std::string("the server cannot read ") + certificate + " and " + key;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || listen(listener, 1) != 0 ||
        getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0)
      return "the server cannot listen on 127.0.0.1";
    port = ntohs(address.sin_port);
    thread = std::thread([this] {
      const int connection = accept(listener, nullptr, nullptr);
      SSL* ssl = SSL_new(ctx);
      SSL_set_fd(ssl, connection);
      if (SSL_accept(ssl) == 1) {
        SSL_write(ssl, "hello", 5);
        SSL_shutdown(ssl);
      }
      SSL_free(ssl);
      close(connection);
    });
    return "";
  }
  ~Server() {
    shutdown(listener, SHUT_RDWR);  // a client that never connected leaves accept() waiting: wake it
    if (thread.joinable()) thread.join();
    close(listener);
    SSL_CTX_free(ctx);
  }
};

// Connects to the server as `host` with the default verify paths only; "" when the server is
// verified and answers, else why not.
std::string verify(int port, const char* host) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_default_verify_paths(ctx);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  std::string why;
  SSL* ssl = nullptr;
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    why = "cannot connect to 127.0.0.1";
  } else {
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    SSL_set_tlsext_host_name(ssl, host);
    SSL_set1_host(ssl, host);
    char answer[6] = {};
    if (SSL_connect(ssl) != 1)
      why = std::string("not verified: ") + X509_verify_cert_error_string(SSL_get_verify_result(ssl));
    else if (SSL_read(ssl, answer, 5) != 5 || std::string(answer) != "hello")
      why = "no answer";
  }
  SSL_free(ssl);
  close(fd);
  SSL_CTX_free(ctx);
  return why;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) return fail("usage: essentials <server certificate> <server key>");
  const passwd* account = getpwuid(getuid());
  if (!account) return fail("getpwuid(" + std::to_string(getuid()) + ") finds no account");
  struct stat home {};
  if (stat(account->pw_dir, &home) != 0) return fail(std::string("no home ") + account->pw_dir);
  std::printf("user %s (uid %u), home %s owned by %u, mode %04o\n", account->pw_name, getuid(), account->pw_dir,
              static_cast<unsigned>(home.st_uid), static_cast<unsigned>(home.st_mode & 07777));

  struct stat tmp {};
  if (stat("/tmp", &tmp) != 0) return fail("no /tmp");
  char scratch[] = "/tmp/essentials-XXXXXX";
  const int fd = mkstemp(scratch);
  if (fd < 0) return fail("cannot write into /tmp");
  close(fd);
  unlink(scratch);
  std::printf("/tmp mode %04o, written\n", static_cast<unsigned>(tmp.st_mode & 07777));

  setenv("TZ", "Europe/Berlin", 1);
  tzset();
  const std::time_t when = 1700000000;
  std::tm local{};
  localtime_r(&when, &local);
  char text[64];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M %Z", &local);
  std::printf("1700000000 in Europe/Berlin: %s\n", text);

  Server server;
  if (const auto why = server.start(argv[1], argv[2]); !why.empty()) return fail(why);
  if (const auto why = verify(server.port, "localhost"); !why.empty()) return fail("TLS to localhost " + why);
  std::printf("TLS to localhost verified through %s\n", X509_get_default_cert_file());
  return 0;
}
