// server/net helpers that decide what operators are told: whether the admin endpoint is
// reachable from other machines, and which strings are IP literals (never SNI); and
// outgoing connections, which try every address a name resolves to.
#include "server/net.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

namespace tlsresume::server {
namespace {

TEST(Net, LoopbackBindingsAreRecognised) {
  for (const Endpoint& ep : {Endpoint{"127.0.0.1", 0}, Endpoint{"127.0.0.2", 0}, Endpoint{"::1", 0}}) {
    SCOPED_TRACE(ep.host);
    const int fd = listenOn(ep, false, "test");
    EXPECT_TRUE(boundToLoopback(fd));
    ::close(fd);
  }
}

TEST(Net, AWildcardBindingIsNotLoopback) {
  // An unbound socket reports the wildcard address, as one bound to 0.0.0.0 would; the
  // tests bind nothing outside loopback.
  const int v4 = ::socket(AF_INET, SOCK_STREAM, 0);
  const int v6 = ::socket(AF_INET6, SOCK_STREAM, 0);
  EXPECT_FALSE(boundToLoopback(v4));
  EXPECT_FALSE(boundToLoopback(v6));
  EXPECT_FALSE(boundToLoopback(-1));
  ::close(v4);
  ::close(v6);
}

TEST(Net, IpLiterals) {
  EXPECT_EQ(ipLiteral("192.0.2.1"), IpLiteral::v4);
  EXPECT_EQ(ipLiteral("2001:db8::1"), IpLiteral::v6);
  EXPECT_EQ(ipLiteral("example.com"), IpLiteral::none);
  EXPECT_EQ(ipLiteral("1.2.3"), IpLiteral::none);
  EXPECT_EQ(ipLiteral(""), IpLiteral::none);
}

// A port on `host` that nothing listens on: bound (so no one else takes it) but not
// listening, so a connect to it is refused. Returns the bound fd; -1 if the family is
// unavailable here.
int refusingPort(const char* host, SocketAddress& out) {
  const AddressList a = resolveAll(Endpoint{host, 0}, "test");
  const int fd = ::socket(a.front().addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::bind(fd, reinterpret_cast<const sockaddr*>(&a.front().addr), a.front().len) != 0) {
    if (fd >= 0) ::close(fd);
    return -1;
  }
  out.len = sizeof out.addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&out.addr), &out.len);
  return fd;
}

SocketAddress boundAddress(int fd) {
  SocketAddress a;
  a.len = sizeof a.addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a.addr), &a.len);
  return a;
}

// localhost is ::1 and 127.0.0.1 in Debian's /etc/hosts, ::1 first, and our server
// listens on 127.0.0.1 only: a connection must move on to the next address.
TEST(Net, AConnectionTriesTheNextAddressWhenOneRefuses) {
  const int listener = listenOn(Endpoint{"127.0.0.1", 0}, false, "test");
  for (const char* refusing_host : {"::1", "127.0.0.1"}) {
    SCOPED_TRACE(refusing_host);
    SocketAddress refusing;
    const int held = refusingPort(refusing_host, refusing);
    if (held < 0) continue;  // no IPv6 here
    const SocketAddress listening = boundAddress(listener);
    const int fd = connectTo(AddressList{refusing, listening}, 2000, "test");
    EXPECT_GE(fd, 0);
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    ASSERT_EQ(getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len), 0);
    EXPECT_EQ(addressText(reinterpret_cast<sockaddr*>(&peer), len),
              addressText(reinterpret_cast<const sockaddr*>(&listening.addr), listening.len));
    ::close(fd);
    ::close(held);
  }
  ::close(listener);
}

TEST(Net, WhenEveryAddressRefusesTheErrorIsTheLastOnes) {
  SocketAddress a, b;
  const int held_a = refusingPort("127.0.0.1", a);
  const int held_b = refusingPort("127.0.0.1", b);
  ASSERT_GE(held_a, 0);
  ASSERT_GE(held_b, 0);
  try {
    ::close(connectTo(AddressList{a, b}, 2000, "target x"));
    ADD_FAILURE() << "connected";
  } catch (const NetError& e) {
    EXPECT_EQ(std::string(e.what()), "target x: Connection refused");
  }
  ::close(held_a);
  ::close(held_b);
}

TEST(Net, ANameResolvesToEveryAddress) {
  // However many addresses this machine's /etc/hosts gives localhost, all are kept, and
  // a listener on 127.0.0.1 alone is reached through the name.
  const AddressList all = resolveAll(Endpoint{"localhost", 1}, "test");
  ASSERT_FALSE(all.empty());
  bool has_v4 = false;
  for (const auto& a : all) has_v4 = has_v4 || a.addr.ss_family == AF_INET;
  EXPECT_TRUE(has_v4);
  const int listener = listenOn(Endpoint{"127.0.0.1", 0}, false, "test");
  const SocketAddress listening = boundAddress(listener);
  const auto port = ntohs(reinterpret_cast<const sockaddr_in*>(&listening.addr)->sin_port);
  const int fd = connectTo(Endpoint{"localhost", port}, 2000, "test");
  EXPECT_GE(fd, 0);
  ::close(fd);
  ::close(listener);
}

}  // namespace
}  // namespace tlsresume::server
