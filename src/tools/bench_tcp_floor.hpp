#pragma once
// The TCP floor: what a connection costs a server with no TLS at all. A tiny server the
// bench starts as a child process (`tlsresume bench --serve-tcp-floor HOST:PORT`, a hidden
// option), measured by the same per-process CPU accounting as every other target, under
// the same load less TLS: connect, one request, one answer, close. Its CPU per connection
// is the kernel's share (accept, segments, close) that every server in the run pays too.
#include "server/config.hpp"

namespace tlsresume::tools::bench {

// The answer the floor gives every request.
inline constexpr const char* kTcpFloorAnswer = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";

// Serves on `listen` until killed: one thread, one epoll loop, as `tlsresume serve
// --workers 1` runs its connections. The listener has our server's options
// (TCP_NODELAY, TCP_DEFER_ACCEPT: net.hpp) and the answer leaves corked with the FIN,
// as ours sends its last records, so the segments match a TLS server's last flight.
// Returns an exit code: 1 when it cannot listen or poll.
int serveTcpFloor(const server::Endpoint& listen);

}  // namespace tlsresume::tools::bench
