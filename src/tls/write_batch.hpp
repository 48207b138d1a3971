#pragma once
// The last flight of a connection in one write(): the final application data and the
// close_notify alert would otherwise leave in one write() each. On loopback and fast
// LANs a write is among the dearest things a short TLS connection does (the kernel runs
// the receiver's path in the sender's context), so the server batches them.
#include <openssl/ssl.h>

namespace tlsresume::tls {

// From now on, records that `ssl` writes wait in a buffering BIO in front of the
// socket until a flush (or a full buffer) sends them. Both libraries flush on their own
// after a fatal alert only: call flushWrites() after SSL_shutdown() so the close_notify
// leaves. False if the BIO cannot be made; writes then stay unbatched, which only costs a
// syscall.
bool batchWrites(SSL* ssl) noexcept;

enum class FlushResult { done, again, failed };

// Sends what waits in the batch. `again`: the socket is full, call again once it is
// writable; `failed`: the peer is gone.
FlushResult flushWrites(SSL* ssl) noexcept;

}  // namespace tlsresume::tls
