// server/net helpers that decide what operators are told: whether the admin endpoint is
// reachable from other machines, and which strings are IP literals (never SNI).
#include "server/net.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

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

}  // namespace
}  // namespace tlsresume::server
