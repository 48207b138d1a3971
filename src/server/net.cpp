#include "server/net.hpp"

#include <fcntl.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace tlsresume::server {

std::string addressText(const sockaddr* addr, socklen_t len) {
  char host[NI_MAXHOST] = "?", port[NI_MAXSERV] = "?";
  getnameinfo(addr, len, host, sizeof host, port, sizeof port, NI_NUMERICHOST | NI_NUMERICSERV);
  std::string out;
  if (addr->sa_family == AF_INET6)
    out.append("[").append(host).append("]");
  else
    out.append(host);
  return out.append(":").append(port);
}

IpLiteral ipLiteral(const std::string& host) {
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return IpLiteral::v4;
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IpLiteral::v6;
  return IpLiteral::none;
}

AddressList resolveAll(const Endpoint& ep, const std::string& what) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(ep.port);
  const int rc = getaddrinfo(ep.host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0 || !res) throw NetError(what + " " + ep.str() + ": cannot resolve: " + gai_strerror(rc));
  AddressList out;
  for (const addrinfo* ai = res; ai; ai = ai->ai_next) {
    if (ai->ai_addrlen > sizeof(sockaddr_storage)) continue;
    SocketAddress a;
    std::memcpy(&a.addr, ai->ai_addr, ai->ai_addrlen);
    a.len = ai->ai_addrlen;
    out.push_back(a);
  }
  freeaddrinfo(res);
  if (out.empty()) throw NetError(what + " " + ep.str() + ": cannot resolve: no address");
  return out;
}

SocketAddress resolve(const Endpoint& ep, const std::string& what) { return resolveAll(ep, what).front(); }

int listenOn(const Endpoint& ep, bool reuse_port, const std::string& what) {
  const SocketAddress a = resolve(ep, what);
  const int fd = ::socket(a.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw NetError(what + " " + ep.str() + ": socket: " + std::strerror(errno));
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (reuse_port) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&a.addr), a.len) != 0 || ::listen(fd, 1024) != 0) {
    const int err = errno;
    ::close(fd);
    throw NetError(what + " " + ep.str() + ": " + std::strerror(err));
  }
  return fd;
}

void tuneTlsListener(int fd) {
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const int defer_seconds = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer_seconds, sizeof defer_seconds);
}

void ensurePortFree(const Endpoint& ep, const std::string& what) { ::close(listenOn(ep, false, what)); }

int startConnect(const SocketAddress& a, bool& connected) {
  connected = false;
  const int fd = ::socket(a.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&a.addr), a.len) == 0) {
    connected = true;
    return fd;
  }
  if (errno == EINPROGRESS) return fd;
  const int err = errno;
  ::close(fd);
  errno = err;
  return -1;
}

namespace {

// One address, blocking for at most timeout_ms: the connected fd, or -1 and the error.
int connectOne(const SocketAddress& a, int timeout_ms, int& error) {
  bool connected = false;
  const int fd = startConnect(a, connected);
  if (fd < 0) {
    error = errno;
    return -1;
  }
  if (!connected) {
    pollfd p{fd, POLLOUT, 0};
    int rc;
    do rc = ::poll(&p, 1, timeout_ms);
    while (rc < 0 && errno == EINTR);
    int err = 0;
    if (rc <= 0) {
      err = rc == 0 ? ETIMEDOUT : errno;
    } else {
      socklen_t len = sizeof err;
      if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    }
    if (err != 0) {
      ::close(fd);
      error = err;
      return -1;
    }
  }
  return fd;
}

}  // namespace

int connectTo(const AddressList& addresses, int timeout_ms, const std::string& what) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  int fd = -1, err = EADDRNOTAVAIL;
  for (std::size_t i = 0; i < addresses.size() && fd < 0; ++i) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      err = ETIMEDOUT;
      break;
    }
    const auto share = static_cast<int>(left / static_cast<long long>(addresses.size() - i));
    fd = connectOne(addresses[i], std::max(1, share), err);
  }
  if (fd < 0)
    throw NetError(what + ": " + (err == ETIMEDOUT ? std::string("connection timed out") : std::strerror(err)));
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  timeval tv{timeout_ms / 1000, static_cast<suseconds_t>(timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return fd;
}

int connectTo(const Endpoint& ep, int timeout_ms, const std::string& what) {
  return connectTo(resolveAll(ep, what), timeout_ms, what + " " + ep.str());
}

bool boundToLoopback(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return false;
  if (ss.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  }
  if (ss.ss_family == AF_INET6) {
    const in6_addr& a = reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(&a)) return true;
    return IN6_IS_ADDR_V4MAPPED(&a) && a.s6_addr[12] == 127;
  }
  return false;
}

}  // namespace tlsresume::server
