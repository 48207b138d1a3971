#include "tools/bench_wire.hpp"

namespace tlsresume::tools::bench {

void WireCounter::header(int dir, const unsigned char* p) noexcept {
  const long record = 5 + (long{p[3]} << 8 | p[4]);
  covered[dir] = false;
  if (p[0] != SSL3_RT_APPLICATION_DATA) {
    add(dir, p[0], record);  // plaintext, or TLS 1.2 where the outer type is the type
    pending_len[dir] = -1;
    pending_type[dir] = -1;
    covered[dir] = p[0] == SSL3_RT_HANDSHAKE;  // its messages are reported after it (BoringSSL)
  } else if (pending_type[dir] >= 0) {
    add(dir, pending_type[dir], record);
    pending_type[dir] = -1;
  } else {
    pending_len[dir] = record;  // TLS 1.3: the inner type follows; TLS 1.2: data
  }
}

void WireCounter::inner(int dir, int type) noexcept {
  if (pending_len[dir] >= 0) {
    add(dir, type, pending_len[dir]);
    pending_len[dir] = -1;
    covered[dir] = true;
  } else {
    pending_type[dir] = type;
  }
}

void WireCounter::callback(int write_p, int, int content_type, const void* buf, std::size_t len, SSL*,
                           void* arg) noexcept {
  auto* self = static_cast<WireCounter*>(arg);
  const int dir = write_p ? 1 : 0;
  const auto* p = static_cast<const unsigned char*>(buf);
  if (content_type == SSL3_RT_HEADER && len >= 5) {
    self->header(dir, p);
    return;
  }
#if defined(OPENSSL_IS_BORINGSSL)
  // BoringSSL has no inner-content-type callback: a handshake message reported while an
  // encrypted record waits (reading) is that record's content; one reported with no
  // record waiting is sealed into the next record written. Messages of a record already
  // counted (plaintext, or a second message in the same record) are skipped.
  if (content_type == SSL3_RT_HANDSHAKE && !self->covered[dir]) self->inner(dir, SSL3_RT_HANDSHAKE);
#else
  if (content_type == SSL3_RT_INNER_CONTENT_TYPE && len >= 1) self->inner(dir, p[0]);
#endif
}

}  // namespace tlsresume::tools::bench
