#include "server/access_log.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "server/config.hpp"
#include "server/json.hpp"

namespace tlsresume::server {
namespace {

// One buffer per thread: only workers append (each on its own thread), so the buffer is
// never shared. There is one access log per process.
thread_local std::string t_pending;

std::string millis(std::chrono::nanoseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(d.count()) / 1e6);
  return buf;
}

// A value of the text format: "-" when empty; bytes a client chose (SNI) cannot break the
// line or forge a field: spaces, quotes, backslashes and control bytes are escaped.
std::string textValue(std::string_view v) {
  if (v.empty()) return "-";
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (const unsigned char c : v) {
    if (c <= ' ' || c >= 0x7f || c == '"' || c == '\\' || c == '=') {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

bool writeAll(int fd, const char* data, std::size_t size) noexcept {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;  // a full disk: the lines are lost, the connections are not
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

int openForAppend(const std::string& path) noexcept {
  return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

}  // namespace

void setClient(AccessRecord& r, const sockaddr* addr, socklen_t len) {
  char text[INET6_ADDRSTRLEN] = "?";
  if (addr && addr->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(addr);
    inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    r.client_port = ntohs(in->sin_port);
  } else if (addr && addr->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(addr);
    inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    r.client_port = ntohs(in6->sin6_port);
  }
  r.client = text;
}

std::string formatAccessLine(const AccessRecord& r, LogFormat format) {
  const std::string handshake_ms = r.handshake ? millis(*r.handshake) : std::string();
  std::string out;
  if (format == LogFormat::json) {
    out = "{\"time\":\"" + utcTimestamp(r.time, true) + "\",\"client\":" + jsonString(r.client) +
          ",\"client_port\":" + std::to_string(r.client_port) + ",\"sni\":" + jsonString(r.sni) +
          ",\"vhost\":" + jsonString(r.vhost) + ",\"tls_version\":" + jsonString(r.version) +
          ",\"cipher\":" + jsonString(r.cipher) + ",\"alpn\":" + jsonString(r.alpn) +
          ",\"resumed\":" + jsonString(r.resumed) +
          ",\"handshake_ms\":" + (r.handshake ? handshake_ms : std::string("null")) +
          ",\"bytes_in\":" + std::to_string(r.bytes_in) + ",\"bytes_out\":" + std::to_string(r.bytes_out) +
          ",\"duration_ms\":" + millis(r.duration) + ",\"close\":" + jsonString(r.reason) + "}\n";
    return out;
  }
  const bool v6 = r.client.find(':') != std::string::npos;
  out = utcTimestamp(r.time, true) + " " + (v6 ? "[" + r.client + "]" : r.client) + ":" +
        std::to_string(r.client_port) + " sni=" + textValue(r.sni) + " vhost=" + textValue(r.vhost) +
        " tls=" + textValue(r.version) + " cipher=" + textValue(r.cipher) + " alpn=" + textValue(r.alpn) +
        " resumed=" + textValue(r.resumed) + " handshake_ms=" + (r.handshake ? handshake_ms : "-") +
        " in=" + std::to_string(r.bytes_in) + " out=" + std::to_string(r.bytes_out) +
        " duration_ms=" + millis(r.duration) + " close=" + jsonString(r.reason) + "\n";
  return out;
}

AccessLog::AccessLog(const std::string& target) {
  if (target == "stderr") return;
  path_ = target;
  fd_ = openForAppend(path_);
  if (fd_ < 0) throw ConfigError("access_log: cannot open " + path_ + ": " + std::strerror(errno));
}

AccessLog::~AccessLog() {
  if (!path_.empty() && fd_ >= 0) ::close(fd_);
}

void AccessLog::append(std::string_view line) noexcept {
  try {
    t_pending.append(line);
  } catch (...) {
    // Out of memory: write what is gathered, and this line on its own.
    flushThread();
    writeAll(fd_, line.data(), line.size());
    return;
  }
  if (t_pending.size() >= kFlushBytes) flushThread();
}

void AccessLog::flushThread() noexcept {
  if (t_pending.empty()) return;
  writeAll(fd_, t_pending.data(), t_pending.size());
  t_pending.clear();
}

bool AccessLog::reopen() noexcept {
  if (path_.empty()) return true;
  const int fresh = openForAppend(path_);
  if (fresh < 0) return false;
  const int r = ::dup2(fresh, fd_);
  const int err = errno;
  ::close(fresh);
  errno = err;
  return r >= 0;
}

}  // namespace tlsresume::server
