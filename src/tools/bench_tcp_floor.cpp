#include "tools/bench_tcp_floor.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <unordered_map>

#include "server/net.hpp"

namespace tlsresume::tools::bench {
namespace {

// A request is one short line and three headers; more than this is not our load generator.
constexpr std::size_t kMaxRequest = 16 * 1024;

class FloorServer {
 public:
  explicit FloorServer(int listener) : listener_(listener), answer_(kTcpFloorAnswer) {}

  int run() {
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0 || !watch(listener_)) return fail("epoll");
    epoll_event events[256];
    for (;;) {
      const int n = epoll_wait(epfd_, events, 256, -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        return fail("epoll_wait");
      }
      for (int i = 0; i < n; ++i) {
        if (events[i].data.fd == listener_)
          acceptAll();
        else
          serve(events[i].data.fd);
      }
    }
  }

 private:
  int fail(const char* what) {
    std::fprintf(stderr, "tcp floor: %s: %s\n", what, std::strerror(errno));
    return 1;
  }

  bool watch(int fd) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    return epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) == 0;
  }

  void acceptAll() {
    for (;;) {
      const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;  // EAGAIN, or a connection that went away before we took it
      // TCP_DEFER_ACCEPT: the request is usually there already, as a ClientHello is for ours.
      if (!serve(fd) && !watch(fd)) ::close(fd);
    }
  }

  // Reads what has come; answers and closes once the request's head is complete. Returns
  // false while the request is still on its way (the caller watches the socket).
  bool serve(int fd) {
    std::string& request = pending_[fd];
    char buf[4096];
    for (;;) {
      const ssize_t r = ::read(fd, buf, sizeof buf);
      if (r > 0) {
        request.append(buf, static_cast<std::size_t>(r));
        if (request.find("\r\n\r\n") != std::string::npos) return answer(fd);
        if (request.size() > kMaxRequest) return close(fd);
        continue;
      }
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 && errno == EAGAIN) return false;
      return close(fd);  // the client went away
    }
  }

  bool answer(int fd) {
    // Corked: close() sends the answer and the FIN in one segment, as ours does.
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_CORK, &one, sizeof one);
    // A few dozen bytes into an empty socket buffer: one write takes them all.
    (void)::send(fd, answer_.data(), answer_.size(), MSG_NOSIGNAL);
    return close(fd);
  }

  bool close(int fd) {
    pending_.erase(fd);
    ::close(fd);  // also leaves the epoll set
    return true;
  }

  int listener_;
  int epfd_ = -1;
  const std::string answer_;
  std::unordered_map<int, std::string> pending_;
};

}  // namespace

int serveTcpFloor(const server::Endpoint& listen) {
  int fd = -1;
  try {
    fd = server::listenOn(listen, false, "tcp floor " + listen.str());
    server::tuneTlsListener(fd);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return FloorServer(fd).run();
}

}  // namespace tlsresume::tools::bench
