#pragma once
// Bytes on the wire of a TLS connection's handshake, counted at the record layer through
// the TLS library's message callback.
#include <openssl/ssl.h>

#include <cstdint>

namespace tlsresume::tools::bench {

// Counts TLS handshake and ChangeCipherSpec records (header included) each way for the
// whole connection: TLS 1.3 tickets arrive after the handshake but are part of what a
// resumption costs on the wire. Application data and alerts are not counted, nor TCP/IP
// headers. In TLS 1.3 every encrypted record's outer type is application data, so its
// real type has to be paired with its header: OpenSSL reports the inner content type in
// a second callback (after the header when reading, possibly before it when writing);
// BoringSSL reports only the handshake messages themselves, after a record's header when
// reading and before it when writing (see bench_wire.cpp).
struct WireCounter {
  std::uint64_t bytes[2] = {0, 0};  // [0] read (server to client), [1] written
  long pending_len[2] = {-1, -1};
  int pending_type[2] = {-1, -1};
  bool covered[2] = {false, false};  // the current record is already counted (BoringSSL)

  static void callback(int write_p, int version, int content_type, const void* buf, std::size_t len, SSL* ssl,
                       void* arg) noexcept;

 private:
  void add(int dir, int type, long len) noexcept {
    if (type == SSL3_RT_HANDSHAKE || type == SSL3_RT_CHANGE_CIPHER_SPEC) bytes[dir] += static_cast<std::uint64_t>(len);
  }
  void header(int dir, const unsigned char* p) noexcept;
  void inner(int dir, int type) noexcept;
};

}  // namespace tlsresume::tools::bench
