// Binds TCP port 80 and writes its state under /var/lib/bind80, saying what happened: run as a user
// that is not root, it can bind that port only with cap_net_bind_service.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

int main() {
  std::string greeting;
  std::ifstream conf("/etc/bind80.conf");  // 0640, group nonroot: readable by us through our group
  if (!std::getline(conf, greeting)) {
    std::printf("cannot read /etc/bind80.conf as uid %u\n", static_cast<unsigned>(getuid()));
    return 3;
  }
  const int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(80);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (s < 0 || bind(s, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    std::printf("cannot bind port 80 as uid %u: %s\n", static_cast<unsigned>(getuid()), std::strerror(errno));
    return 1;
  }
  std::ofstream state("/var/lib/bind80/state");
  state << "up\n";
  if (!state.flush()) {
    std::printf("bound port 80 as uid %u, cannot write /var/lib/bind80/state\n", static_cast<unsigned>(getuid()));
    return 2;
  }
  std::printf("%s port 80 as uid %u, state in /var/lib/bind80\n", greeting.substr(greeting.find('=') + 1).c_str(),
              static_cast<unsigned>(getuid()));
  return 0;
}
