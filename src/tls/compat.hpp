#pragma once
// The few places where OpenSSL and BoringSSL answer the same question differently, each
// behind one named function (everything else in src/tls/ is written against the API both
// libraries share). The hooks in src/openssl/ and src/boringssl/ are the rest of what
// differs.
#include <openssl/ssl.h>

#include <cstdint>

namespace tlsresume::tls {

// Whether `error_code` (from the error queue) says the peer closed the connection in the
// middle of a record or handshake, without a close_notify.
bool isUnexpectedEof(unsigned long error_code) noexcept;

// Sends the TLS 1.3 NewSessionTickets of a server connection whose handshake has just
// ended, if the library still holds them: OpenSSL writes them as the handshake ends,
// BoringSSL only with the next application data, so a client that waits for its tickets
// before it says anything (a probe, a pool warming up) would never get them. Best effort:
// if the socket is full they leave with the next write.
void sendTicketsNow(SSL* ssl) noexcept;

// The lifetime, in seconds, a server gave the ticket of a client-side session (0: none).
// OpenSSL keeps it as the session's ticket lifetime hint for both versions; BoringSSL
// does for TLS 1.2 only and puts a TLS 1.3 ticket's lifetime into the session's timeout.
std::uint32_t ticketLifetime(const SSL_SESSION* session) noexcept;

}  // namespace tlsresume::tls
