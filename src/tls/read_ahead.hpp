#pragma once
// A connection's input in as few read()s as the socket allows. OpenSSL reads ahead by
// itself (SSL_CTX_set_read_ahead, set on every context): one read() takes whatever the
// client's flight put in the socket. BoringSSL has no such mode (its SSL_CTX_set_read_ahead
// does nothing): it asks for a record header, then for the record's body, so a resumed
// connection costs a read() per record and one more that says EAGAIN. Reading ahead also
// takes in a close_notify that arrived behind the request, where closing would otherwise
// find it unread and make the kernel answer with a reset.
#include <openssl/ssl.h>

namespace tlsresume::tls {

// Whether the library reads ahead on its own (then readAhead() is not needed).
#if defined(OPENSSL_IS_BORINGSSL)
inline constexpr bool kLibraryReadsAhead = false;
#else
inline constexpr bool kLibraryReadsAhead = true;
#endif

// From now on `ssl` reads through a buffering BIO in front of its socket: one read()
// takes what the socket holds (up to one full record), and the library's small reads are
// served from it. Call right after SSL_set_fd, before the first handshake step. False if
// the BIO cannot be made; reads then go to the socket directly, which only costs syscalls.
bool readAhead(SSL* ssl) noexcept;

// Bytes read from the socket that the library has not asked for yet (0 without readAhead).
std::size_t readAheadPending(const SSL* ssl) noexcept;

}  // namespace tlsresume::tls
