// The PROXY v2 header against the layout of HAProxy's proxy-protocol.txt, byte by byte.
#include "server/proxy_header.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstring>
#include <map>

namespace tlsresume::server {
namespace {

sockaddr_storage v4(const char* ip, unsigned short port) {
  sockaddr_storage ss{};
  auto& a = reinterpret_cast<sockaddr_in&>(ss);
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip, &a.sin_addr);
  return ss;
}

sockaddr_storage v6(const char* ip, unsigned short port) {
  sockaddr_storage ss{};
  auto& a = reinterpret_cast<sockaddr_in6&>(ss);
  a.sin6_family = AF_INET6;
  a.sin6_port = htons(port);
  inet_pton(AF_INET6, ip, &a.sin6_addr);
  return ss;
}

unsigned u8(const std::string& s, std::size_t i) { return static_cast<unsigned char>(s[i]); }
unsigned u16(const std::string& s, std::size_t i) { return u8(s, i) << 8 | u8(s, i + 1); }

// type -> value of every TLV from `from` to the end.
std::map<unsigned, std::string> tlvs(const std::string& s, std::size_t from) {
  std::map<unsigned, std::string> out;
  while (from + 3 <= s.size()) {
    const unsigned type = u8(s, from), len = u16(s, from + 1);
    out[type] = s.substr(from + 3, len);
    from += 3 + len;
  }
  return out;
}

ProxyInfo sample() {
  ProxyInfo i;
  i.client = v4("192.0.2.10", 51234);
  i.local = v4("198.51.100.1", 443);
  i.server_name = "www.example.com";
  i.alpn = "h2";
  i.tls_version = "TLSv1.3";
  i.cipher = "TLS_AES_128_GCM_SHA256";
  i.resumed = "ticket";
  i.vhost = "www";
  return i;
}

TEST(ProxyHeader, Ipv4HeaderHasTheSignatureTheAddressesAndEveryTlv) {
  const std::string h = encodeProxyV2(sample());
  ASSERT_GE(h.size(), 28u);
  EXPECT_EQ(h.substr(0, 12), std::string("\r\n\r\n\0\r\nQUIT\n", 12));
  EXPECT_EQ(u8(h, 12), 0x21u);  // version 2, PROXY
  EXPECT_EQ(u8(h, 13), 0x11u);  // TCP over IPv4
  EXPECT_EQ(u16(h, 14), h.size() - 16);
  EXPECT_EQ(h.substr(16, 4), std::string("\xC0\x00\x02\x0A", 4));
  EXPECT_EQ(h.substr(20, 4), std::string("\xC6\x33\x64\x01", 4));
  EXPECT_EQ(u16(h, 24), 51234u);
  EXPECT_EQ(u16(h, 26), 443u);
  const auto t = tlvs(h, 28);
  EXPECT_EQ(t.at(0x01), "h2");
  EXPECT_EQ(t.at(0x02), "www.example.com");
  EXPECT_EQ(t.at(kPp2TypeResumed), "ticket");
  EXPECT_EQ(t.at(kPp2TypeVirtualHost), "www");
  const std::string& ssl = t.at(0x20);
  ASSERT_GE(ssl.size(), 5u);
  EXPECT_EQ(u8(ssl, 0), 0x01u);                     // PP2_CLIENT_SSL
  EXPECT_EQ(ssl.substr(1, 4), std::string(4, '\0'));  // verify
  const auto sub = tlvs(ssl, 5);
  EXPECT_EQ(sub.at(0x21), "TLSv1.3");
  EXPECT_EQ(sub.at(0x23), "TLS_AES_128_GCM_SHA256");
}

TEST(ProxyHeader, Ipv6AddressesTakeSixteenBytesEach) {
  ProxyInfo i = sample();
  i.client = v6("2001:db8::1", 40000);
  i.local = v6("2001:db8::2", 8443);
  const std::string h = encodeProxyV2(i);
  EXPECT_EQ(u8(h, 13), 0x21u);
  EXPECT_EQ(u8(h, 16 + 15), 0x01u);
  EXPECT_EQ(u8(h, 32 + 15), 0x02u);
  EXPECT_EQ(u16(h, 48), 40000u);
  EXPECT_EQ(u16(h, 50), 8443u);
  EXPECT_EQ(tlvs(h, 52).at(0x02), "www.example.com");
}

TEST(ProxyHeader, EmptyFactsAreLeftOutAndAnUnknownFamilyHasNoAddresses) {
  ProxyInfo i;
  i.client.ss_family = AF_UNIX;
  i.local.ss_family = AF_UNIX;
  i.tls_version = "TLSv1.2";
  const std::string h = encodeProxyV2(i);
  EXPECT_EQ(u8(h, 13), 0x00u);
  const auto t = tlvs(h, 16);
  EXPECT_EQ(t.count(0x01), 0u);
  EXPECT_EQ(t.count(0x02), 0u);
  EXPECT_EQ(t.count(kPp2TypeResumed), 0u);
  EXPECT_EQ(tlvs(t.at(0x20), 5).at(0x21), "TLSv1.2");
}

}  // namespace
}  // namespace tlsresume::server
