#include "server/ctl.hpp"

#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "server/http_response.hpp"
#include "server/net.hpp"

namespace tlsresume::server {
namespace {

constexpr int kAnswerTimeoutSeconds = 15;

}  // namespace

std::string readTokenFile(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw ConfigError("--token-file " + path + ": cannot read: " + std::strerror(errno));
  char buf[4096];
  const std::size_t n = std::fread(buf, 1, sizeof buf, f);
  std::fclose(f);
  std::string token(buf, n);
  OPENSSL_cleanse(buf, sizeof buf);
  token.resize(std::min(token.size(), token.find_first_of("\r\n")));
  if (token.empty()) throw ConfigError("--token-file " + path + ": the first line is empty");
  return token;
}

CtlResult adminRequest(const Endpoint& admin, const std::string& method, const std::string& target,
                       const std::string& token) {
  CtlResult r;
  int fd = -1;
  try {
    fd = connectTo(admin, 5000, "admin endpoint");
  } catch (const NetError& e) {
    r.error = std::string("cannot reach ") + e.what();
    return r;
  }
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: " + admin.str() +
                    (token.empty() ? "" : "\r\nAuthorization: Bearer " + token) +
                    "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  const bool sent = ::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size());
  OPENSSL_cleanse(req.data(), req.size());  // it holds the token
  if (!sent) {
    ::close(fd);
    r.error = "admin endpoint " + admin.str() + ": write failed";
    return r;
  }
  // The admin endpoint gives each client up to 5 s to send its request and 10 s for the
  // answer, and a revoke waits out the current second: wait longer than that, so "timed
  // out" means the server is stuck, not busy.
  timeval tv{kAnswerTimeoutSeconds, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string in;
  char buf[8192];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) in.append(buf, static_cast<std::size_t>(n));
  const int err = errno;
  ::close(fd);
  if (n < 0) {
    r.error = "admin endpoint " + admin.str() +
              (err == EAGAIN || err == EWOULDBLOCK
                   ? ": no answer within " + std::to_string(kAnswerTimeoutSeconds) +
                         " s (a change asked for may still be applied)"
                   : std::string(": read failed: ") + std::strerror(err));
    return r;
  }
  const auto response = parseHttpResponse(in);
  if (!response) {
    r.error = "admin endpoint " + admin.str() + ": malformed response";
    return r;
  }
  if (response->content_length && *response->content_length != response->body.size()) {
    r.error = "admin endpoint " + admin.str() + ": truncated answer (" + std::to_string(response->body.size()) +
              " of " + std::to_string(*response->content_length) + " bytes)";
    return r;
  }
  // Whatever else listens on the port (another service, a proxy's error page) must not
  // pass for a revocation or a rotation that happened.
  std::string head(in.substr(0, in.size() - response->body.size()));
  for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (head.find("\r\nserver: tlsresume\r\n") == std::string::npos) {
    r.error = "admin endpoint " + admin.str() + ": the answer did not come from tlsresume (HTTP " +
              std::to_string(response->status) + " without \"Server: tlsresume\"): is --admin the right port?";
    return r;
  }
  r.status = response->status;
  r.body = std::string(response->body);
  return r;
}

}  // namespace tlsresume::server
