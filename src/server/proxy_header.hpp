#pragma once
// The PROXY protocol version 2 header (HAProxy's proxy-protocol.txt, section 2.2) that
// starts every backend connection when proxy_protocol = "v2": the backend learns the
// client's address and port, the address it connected to, and the TLS facts as TLVs.
//
//   PP2_TYPE_AUTHORITY (0x02)  the server name the client sent (SNI), if any
//   PP2_TYPE_ALPN (0x01)       the protocol agreed with the client, if any
//   PP2_TYPE_SSL (0x20)        client = PP2_CLIENT_SSL, verify = 0 (no client certificate is
//                              asked for), with PP2_SUBTYPE_SSL_VERSION (0x21, "TLSv1.3") and
//                              PP2_SUBTYPE_SSL_CIPHER (0x23, "TLS_AES_128_GCM_SHA256")
//   0xE0 (custom)              how the TLS session began: "no" (a full handshake),
//                              "session-id", "ticket" or "stateful-ticket"
//   0xE1 (custom)              the virtual host that served it
// Addresses other than IPv4 and IPv6 (a Unix socket) are sent as AF_UNSPEC with no
// address block, as the specification allows for unknown families.
#include <sys/socket.h>

#include <string>

namespace tlsresume::server {

inline constexpr unsigned char kPp2TypeResumed = 0xE0;
inline constexpr unsigned char kPp2TypeVirtualHost = 0xE1;

struct ProxyInfo {
  sockaddr_storage client{};  // the peer of the accepted connection
  sockaddr_storage local{};   // the address it connected to
  std::string server_name;
  std::string alpn;
  std::string tls_version;
  std::string cipher;
  std::string resumed;
  std::string vhost;
};

// The whole header; TLV values longer than 65535 bytes are left out (none of ours can be).
std::string encodeProxyV2(const ProxyInfo& info);

}  // namespace tlsresume::server
