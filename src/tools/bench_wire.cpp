#include "tools/bench_wire.hpp"

namespace tlsresume::tools::bench {

void WireCounter::callback(int write_p, int, int content_type, const void* buf, std::size_t len, SSL*,
                           void* arg) noexcept {
  auto* self = static_cast<WireCounter*>(arg);
  const int dir = write_p ? 1 : 0;
  const auto* p = static_cast<const unsigned char*>(buf);
  if (content_type == SSL3_RT_HEADER && len >= 5) {
    const long record = 5 + (long{p[3]} << 8 | p[4]);
    if (p[0] != SSL3_RT_APPLICATION_DATA) {
      self->add(dir, p[0], record);  // plaintext, or TLS 1.2 where the outer type is the type
      self->pending_len[dir] = -1;
      self->pending_type[dir] = -1;
    } else if (self->pending_type[dir] >= 0) {
      self->add(dir, self->pending_type[dir], record);
      self->pending_type[dir] = -1;
    } else {
      self->pending_len[dir] = record;  // TLS 1.3: the inner type follows; TLS 1.2: data
    }
  } else if (content_type == SSL3_RT_INNER_CONTENT_TYPE && len >= 1) {
    if (self->pending_len[dir] >= 0) {
      self->add(dir, p[0], self->pending_len[dir]);
      self->pending_len[dir] = -1;
    } else {
      self->pending_type[dir] = p[0];
    }
  }
}

}  // namespace tlsresume::tools::bench
