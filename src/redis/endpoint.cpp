#include <arpa/inet.h>
#include <sys/un.h>

#include <charconv>

#include "redis/redis_link.hpp"

namespace tlsresume::redis {
namespace {

bool fail(std::string* error, std::string reason) {
  if (error) *error = std::move(reason);
  return false;
}

bool parsePort(std::string_view text, std::uint16_t* port, std::string* error) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value == 0 || value > 65535)
    return fail(error, "redis URL: the port must be a number from 1 to 65535");
  *port = static_cast<std::uint16_t>(value);
  return true;
}

// host[:port] or [v6]:port, after the scheme and before any path.
bool parseAuthority(std::string_view text, Endpoint* ep, std::string* error) {
  std::string_view host = text;
  std::string_view port;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return fail(error, "redis URL: unterminated '[' in an IPv6 address");
    host = text.substr(1, close - 1);
    const auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return fail(error, "redis URL: expected ':' after ']'");
      port = rest.substr(1);
      if (port.empty()) return fail(error, "redis URL: empty port");
    }
    in6_addr probe{};
    if (inet_pton(AF_INET6, std::string(host).c_str(), &probe) != 1)
      return fail(error, "redis URL: not an IPv6 address between '[' and ']'");
  } else if (const auto colon = text.rfind(':'); colon != std::string_view::npos) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (port.empty()) return fail(error, "redis URL: empty port");
    if (host.find(':') != std::string_view::npos) return fail(error, "redis URL: an IPv6 address needs [brackets]");
  }
  if (host.empty()) return fail(error, "redis URL: no host");
  for (const char c : host) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '/' || c == '\\')
      return fail(error, "redis URL: the host contains a character not allowed in a host name");
  }
  ep->host = std::string(host);
  return port.empty() || parsePort(port, &ep->port, error);
}

}  // namespace

std::string Endpoint::describe() const {
  if (kind == Kind::unix_socket) return "unix:" + path;
  const bool v6 = host.find(':') != std::string::npos;
  std::string out = kind == Kind::tls ? "rediss://" : "redis://";
  out += v6 ? "[" + host + "]" : host;
  out += ':';
  out += std::to_string(port);
  return out;
}

std::optional<Endpoint> parseRedisUrl(std::string_view url, std::string* error) {
  Endpoint ep;
  if (url.starts_with("unix:")) {
    std::string_view path = url.substr(5);
    if (path.starts_with("//")) path.remove_prefix(2);  // unix:///run/redis.sock
    if (!path.starts_with('/')) {
      fail(error, "redis URL: a unix socket path must be absolute (unix:/run/redis/redis.sock)");
      return std::nullopt;
    }
    if (path.size() >= sizeof(sockaddr_un{}.sun_path)) {
      fail(error, "redis URL: the unix socket path is longer than the system allows (107 bytes)");
      return std::nullopt;
    }
    if (path.find('\0') != std::string_view::npos) {
      fail(error, "redis URL: the unix socket path contains a NUL byte");
      return std::nullopt;
    }
    ep.kind = Endpoint::Kind::unix_socket;
    ep.path = std::string(path);
    return ep;
  }
  std::string_view rest;
  if (url.starts_with("redis://")) {
    rest = url.substr(8);
  } else if (url.starts_with("rediss://")) {
    ep.kind = Endpoint::Kind::tls;
    rest = url.substr(9);
  } else {
    fail(error, "redis URL: expected redis://host[:port], rediss://host[:port] or unix:/path");
    return std::nullopt;
  }
  if (rest.find_first_of("?#") != std::string_view::npos) {
    fail(error, "redis URL: query strings and fragments are not supported");
    return std::nullopt;
  }
  const auto slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  const std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  // Checked before anything else about the authority, and the message never echoes it: the
  // userinfo is a password that must not reach a log.
  if (authority.find('@') != std::string_view::npos) {
    fail(error, "redis URL: credentials in the URL are refused; set user and password_file instead");
    return std::nullopt;
  }
  if (!path.empty() && path != "/" && path != "/0") {
    fail(error, "redis URL: only database 0 is supported (the fleet's keys live there)");
    return std::nullopt;
  }
  if (!parseAuthority(authority, &ep, error)) return std::nullopt;
  return ep;
}

}  // namespace tlsresume::redis
