#pragma once
// The few places where OpenSSL and BoringSSL answer the same question differently, each
// behind one named function (everything else in src/tls/ is written against the API both
// libraries share). The hooks in src/openssl/ and src/boringssl/ are the rest of what
// differs.
#include <openssl/ssl.h>

namespace tlsresume::tls {

// Whether `error_code` (from the error queue) says the peer closed the connection in the
// middle of a record or handshake, without a close_notify.
bool isUnexpectedEof(unsigned long error_code) noexcept;

}  // namespace tlsresume::tls
