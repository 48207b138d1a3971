#pragma once
// Socket set-up shared by the listeners, the admin endpoint and the CLI clients.
#include <sys/socket.h>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include "server/config.hpp"

namespace tlsresume::server {

struct NetError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct SocketAddress {
  sockaddr_storage addr{};
  socklen_t len = 0;
};

// "127.0.0.1:443" / "[::1]:443" for a socket address, numeric (no DNS); "?" parts if it
// cannot be formatted. For log lines.
std::string addressText(const sockaddr* addr, socklen_t len);

enum class IpLiteral { none, v4, v6 };
// Whether `host` is an IP address written out (RFC 6066 keeps those out of SNI).
IpLiteral ipLiteral(const std::string& host);

// Every address HOST:PORT (numeric or a name such as localhost) resolves to, in
// getaddrinfo's order; never empty. A name may have several: Debian's /etc/hosts gives
// localhost ::1 first, then 127.0.0.1, so a connection must try each in turn (as curl and
// nginx do) to reach a server that listens on one of them. Throws NetError naming `what`.
using AddressList = std::vector<SocketAddress>;
AddressList resolveAll(const Endpoint& ep, const std::string& what);

// The first of them: what a listener binds.
SocketAddress resolve(const Endpoint& ep, const std::string& what);

// Whether the socket is bound to a loopback address (127.0.0.0/8, ::1, or an IPv4-mapped
// 127.x), i.e. unreachable from other machines.
bool boundToLoopback(int fd);

// A non-blocking listening socket. With `reuse_port`, several workers bind the same
// address and the kernel balances between them. Throws NetError naming `what`.
int listenOn(const Endpoint& ep, bool reuse_port, const std::string& what);

// Options for a listener that accepts TLS clients, set once so that no accepted socket
// needs a setsockopt of its own: TCP_NODELAY (Linux copies it to every accepted socket)
// and TCP_DEFER_ACCEPT (accept() returns once the ClientHello is there, so the first
// read has data instead of an EAGAIN and a trip through epoll; a client that stays
// silent is still accepted after about a second and meets the handshake timeout).
void tuneTlsListener(int fd);

// Fails with NetError if another process already listens there. SO_REUSEPORT would let
// a second tlsresume silently share the port, so we probe with a plain bind first.
void ensurePortFree(const Endpoint& ep, const std::string& what);

// Begins a non-blocking connect to one address: a non-blocking socket with TCP_NODELAY,
// connected (`connected` true) or with the connect in progress. -1 with errno set if the
// socket cannot be made or the connect failed at once. Callers that hold an AddressList
// move on to the next address when this fails, or when the connect in progress does.
int startConnect(const SocketAddress& a, bool& connected);

// Blocking connect with a timeout, for the CLI and probes: tries each address in turn
// (each gets an equal share of the time left, so one that drops SYNs leaves the others
// time), returns the fd of the first that accepts or throws NetError with the last
// address's error. `what` starts the message: "admin endpoint 127.0.0.1:9443".
int connectTo(const AddressList& addresses, int timeout_ms, const std::string& what);
// The same for HOST:PORT, resolved first.
int connectTo(const Endpoint& ep, int timeout_ms, const std::string& what);

}  // namespace tlsresume::server
