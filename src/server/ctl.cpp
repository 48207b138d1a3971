#include "server/ctl.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include "server/http_response.hpp"
#include "server/net.hpp"

namespace tlsresume::server {

CtlResult adminRequest(const Endpoint& admin, const std::string& method, const std::string& target) {
  CtlResult r;
  int fd = -1;
  try {
    fd = connectTo(admin, 5000, "admin endpoint");
  } catch (const NetError& e) {
    r.error = std::string("cannot reach ") + e.what();
    return r;
  }
  const std::string req = method + " " + target + " HTTP/1.1\r\nHost: " + admin.str() +
                          "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    r.error = "admin endpoint " + admin.str() + ": write failed";
    return r;
  }
  std::string in;
  char buf[8192];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) in.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  const auto response = parseHttpResponse(in);
  if (!response) {
    r.error = "admin endpoint " + admin.str() + ": malformed response";
    return r;
  }
  r.status = response->status;
  r.body = std::string(response->body);
  return r;
}

}  // namespace tlsresume::server
