// A token service for the registry's `auth: token` mode, on loopback, for end-to-end tests of Bearer
// auth. It checks Basic credentials (the password is read from a file, never from argv) and answers
// with an RS256 JWT whose x5c header carries the signing certificate, which the registry's
// rootcertbundle trusts. Requests are logged (method, path, whether credentials came, the scopes asked
// for in order) to --log; with --tokens, each token issued is appended to that file, one a line, so a
// test can search for them where they must not be. Tokens live --lifetime seconds (300 unless told):
// a short life makes a client renew them. --port takes that port (a service started again where the
// registry's realm points) instead of a free one.
//
//   multiarch-token-issuer --key KEY.pem --cert CERT.pem --issuer NAME --service NAME --user U
//                          --password-file F --port-file F --log F [--tokens F] [--lifetime SECONDS] [--port N]
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sstream>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

namespace {

struct Options {
  std::string key, cert, issuer, service, user, password_file, port_file, log, tokens, lifetime = "300", port = "0";
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string base64(const std::string& bytes, bool url) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  out.resize(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(bytes.data()),
                             static_cast<int>(bytes.size())));
  if (!url) return out;
  for (auto& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  while (!out.empty() && out.back() == '=') out.pop_back();
  return out;
}

std::string percent_decode(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i] == '+' ? ' ' : s[i];
    }
  }
  return out;
}

std::multimap<std::string, std::string> query_of(const std::string& target) {
  std::multimap<std::string, std::string> q;
  const auto mark = target.find('?');
  if (mark == std::string::npos) return q;
  std::istringstream in(target.substr(mark + 1));
  std::string pair;
  while (std::getline(in, pair, '&')) {
    const auto eq = pair.find('=');
    q.emplace(percent_decode(pair.substr(0, eq)), eq == std::string::npos ? "" : percent_decode(pair.substr(eq + 1)));
  }
  return q;
}

class Signer {
 public:
  explicit Signer(const Options& o) {
    const auto key_pem = read_file(o.key), cert_pem = read_file(o.cert);
    std::unique_ptr<BIO, decltype(&BIO_free)> kb(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())), BIO_free);
    key_.reset(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
    std::unique_ptr<BIO, decltype(&BIO_free)> cb(BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())), BIO_free);
    std::unique_ptr<X509, decltype(&X509_free)> cert(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr), X509_free);
    if (!key_ || !cert) throw std::runtime_error("cannot load the key or the certificate");
    unsigned char* der = nullptr;
    const int len = i2d_X509(cert.get(), &der);
    cert_der_.assign(reinterpret_cast<char*>(der), len);
    OPENSSL_free(der);
  }

  std::string jwt(const json::object& claims) const {
    json::object header{{"typ", "JWT"}, {"alg", "RS256"}, {"x5c", json::array{base64(cert_der_, false)}}};
    const auto input = base64(json::serialize(header), true) + "." + base64(json::serialize(claims), true);
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    std::size_t size = 0;
    EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get());
    EVP_DigestSign(ctx.get(), nullptr, &size, reinterpret_cast<const unsigned char*>(input.data()), input.size());
    std::string signature(size, '\0');
    EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size,
                   reinterpret_cast<const unsigned char*>(input.data()), input.size());
    signature.resize(size);
    return input + "." + base64(signature, true);
  }

 private:
  struct KeyFree {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
  };
  std::unique_ptr<EVP_PKEY, KeyFree> key_;
  std::string cert_der_;
};

// scope "repository:name:pull,push" -> an access entry granting the actions asked for.
json::array access_for(const std::multimap<std::string, std::string>& query) {
  json::array access;
  const auto [begin, end] = query.equal_range("scope");
  for (auto it = begin; it != end; ++it) {
    const auto& scope = it->second;
    const auto first = scope.find(':'), last = scope.rfind(':');
    if (first == std::string::npos || first == last) continue;
    json::array actions;
    std::istringstream in(scope.substr(last + 1));
    std::string action;
    while (std::getline(in, action, ',')) actions.push_back(json::string(action));
    access.push_back(json::object{
        {"type", scope.substr(0, first)}, {"name", scope.substr(first + 1, last - first - 1)}, {"actions", std::move(actions)}});
  }
  return access;
}

http::response<http::string_body> answer(const Options& o, const Signer& signer, const std::string& password,
                                         const http::request<http::string_body>& req) {
  http::response<http::string_body> res{http::status::ok, req.version()};
  res.set(http::field::content_type, "application/json");
  res.keep_alive(false);
  const auto auth = std::string(req[http::field::authorization]);
  const bool has_credentials = auth.starts_with("Basic ");
  const bool valid = auth == "Basic " + base64(o.user + ":" + password, false);
  // The scopes in the order asked (a mount's token names the push scope first, the source's pull second).
  std::string scopes;
  const auto asked = query_of(std::string(req.target()));
  for (auto [it, end] = asked.equal_range("scope"); it != end; ++it) scopes += (scopes.empty() ? "" : " ") + it->second;
  std::ofstream(o.log, std::ios::app) << req.method_string() << " " << req.target().substr(0, req.target().find('?'))
                                      << (has_credentials ? (valid ? " credentials=valid" : " credentials=wrong") : " anonymous")
                                      << " scopes=" << scopes << "\n";
  if (has_credentials && !valid) {
    res.result(http::status::unauthorized);
    res.body() = R"({"errors":[{"code":"UNAUTHORIZED","message":"wrong user name or password"}]})";
    res.prepare_payload();
    return res;
  }
  const auto query = query_of(std::string(req.target()));
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  static int serial = 0;
  json::object claims{{"iss", o.issuer},
                      {"sub", valid ? o.user : ""},
                      {"aud", o.service},
                      {"exp", now + std::stoll(o.lifetime)},
                      {"nbf", now - 10},
                      {"iat", now},
                      {"jti", std::to_string(now) + "-" + std::to_string(++serial)},
                      {"access", valid ? access_for(query) : json::array{}}};
  const auto token = signer.jwt(claims);
  if (!o.tokens.empty()) std::ofstream(o.tokens, std::ios::app) << token << "\n";
  res.body() = json::serialize(json::object{{"token", token}, {"access_token", token}, {"expires_in", std::stoll(o.lifetime)}});
  res.prepare_payload();
  return res;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::map<std::string, std::string*> flags{{"--key", &o.key},
                                            {"--cert", &o.cert},
                                            {"--issuer", &o.issuer},
                                            {"--service", &o.service},
                                            {"--user", &o.user},
                                            {"--password-file", &o.password_file},
                                            {"--port-file", &o.port_file},
                                            {"--log", &o.log},
                                            {"--tokens", &o.tokens},
                                            {"--lifetime", &o.lifetime},
                                            {"--port", &o.port}};
  for (int i = 1; i + 1 < argc; i += 2) {
    const auto f = flags.find(argv[i]);
    if (f == flags.end()) {
      std::cerr << "unknown option " << argv[i] << "\n";
      return 2;
    }
    *f->second = argv[i + 1];
  }
  try {
    const Signer signer(o);
    auto password = read_file(o.password_file);
    while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) password.pop_back();
    asio::io_context io;
    tcp::acceptor acceptor(io,
                           tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(std::stoi(o.port))));
    const auto tmp = o.port_file + ".tmp";
    std::ofstream(tmp) << acceptor.local_endpoint().port() << "\n";
    std::rename(tmp.c_str(), o.port_file.c_str());
    for (;;) {
      tcp::socket socket(io);
      acceptor.accept(socket);
      beast::flat_buffer buffer;
      http::request<http::string_body> req;
      boost::system::error_code ec;
      http::read(socket, buffer, req, ec);
      if (ec) continue;
      auto res = answer(o, signer, password, req);
      http::write(socket, res, ec);
      socket.shutdown(tcp::socket::shutdown_both, ec);
    }
  } catch (const std::exception& e) {
    std::cerr << "token issuer: " << e.what() << "\n";
    return 1;
  }
}
