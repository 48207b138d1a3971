#include "server/proxy_header.hpp"

#include <netinet/in.h>

#include <cstring>

namespace tlsresume::server {
namespace {

constexpr unsigned char kSignature[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
constexpr unsigned char kVersion2Proxy = 0x21;  // version 2, command PROXY
constexpr unsigned char kTcpOverIpv4 = 0x11;
constexpr unsigned char kTcpOverIpv6 = 0x21;
constexpr unsigned char kUnspec = 0x00;
constexpr unsigned char kPp2TypeAlpn = 0x01;
constexpr unsigned char kPp2TypeAuthority = 0x02;
constexpr unsigned char kPp2TypeSsl = 0x20;
constexpr unsigned char kPp2SubtypeSslVersion = 0x21;
constexpr unsigned char kPp2SubtypeSslCipher = 0x23;
constexpr unsigned char kPp2ClientSsl = 0x01;

void put16(std::string& out, std::size_t v) {
  out.push_back(static_cast<char>((v >> 8) & 0xff));
  out.push_back(static_cast<char>(v & 0xff));
}

void tlv(std::string& out, unsigned char type, const std::string& value) {
  if (value.empty() || value.size() > 0xffff) return;
  out.push_back(static_cast<char>(type));
  put16(out, value.size());
  out.append(value);
}

void raw(std::string& out, const void* p, std::size_t n) { out.append(static_cast<const char*>(p), n); }

}  // namespace

std::string encodeProxyV2(const ProxyInfo& info) {
  std::string body;
  unsigned char family = kUnspec;
  if (info.client.ss_family == AF_INET && info.local.ss_family == AF_INET) {
    family = kTcpOverIpv4;
    const auto& c = reinterpret_cast<const sockaddr_in&>(info.client);
    const auto& l = reinterpret_cast<const sockaddr_in&>(info.local);
    raw(body, &c.sin_addr, 4);
    raw(body, &l.sin_addr, 4);
    raw(body, &c.sin_port, 2);  // already in network order
    raw(body, &l.sin_port, 2);
  } else if (info.client.ss_family == AF_INET6 && info.local.ss_family == AF_INET6) {
    family = kTcpOverIpv6;
    const auto& c = reinterpret_cast<const sockaddr_in6&>(info.client);
    const auto& l = reinterpret_cast<const sockaddr_in6&>(info.local);
    raw(body, &c.sin6_addr, 16);
    raw(body, &l.sin6_addr, 16);
    raw(body, &c.sin6_port, 2);
    raw(body, &l.sin6_port, 2);
  }
  tlv(body, kPp2TypeAlpn, info.alpn);
  tlv(body, kPp2TypeAuthority, info.server_name);
  std::string ssl;
  ssl.push_back(static_cast<char>(kPp2ClientSsl));
  ssl.append(4, '\0');  // verify: 0, no client certificate is asked for
  tlv(ssl, kPp2SubtypeSslVersion, info.tls_version);
  tlv(ssl, kPp2SubtypeSslCipher, info.cipher);
  tlv(body, kPp2TypeSsl, ssl);
  tlv(body, kPp2TypeResumed, info.resumed);
  tlv(body, kPp2TypeVirtualHost, info.vhost);

  std::string out(reinterpret_cast<const char*>(kSignature), sizeof kSignature);
  out.push_back(static_cast<char>(kVersion2Proxy));
  out.push_back(static_cast<char>(family));
  put16(out, body.size());
  out += body;
  return out;
}

}  // namespace tlsresume::server
