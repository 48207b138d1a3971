#include "tls/compat.hpp"

#include <openssl/err.h>

namespace tlsresume::tls {

bool isUnexpectedEof(unsigned long error_code) noexcept {
#if defined(OPENSSL_IS_BORINGSSL)
  // BoringSSL queues no error for it: SSL_get_error says SSL_ERROR_SYSCALL with errno 0,
  // which callers read as a closed connection already.
  (void)error_code;
  return false;
#else
  // OpenSSL 3 queues SSL_R_UNEXPECTED_EOF_WHILE_READING (SSL_get_error: SSL_ERROR_SSL).
  return ERR_GET_LIB(error_code) == ERR_LIB_SSL && ERR_GET_REASON(error_code) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
#endif
}

void sendTicketsNow(SSL* ssl) noexcept {
#if defined(OPENSSL_IS_BORINGSSL)
  // A zero-length SSL_write flushes what BoringSSL queued after the handshake (its
  // documented way to send a queued KeyUpdate); it reports 0, not an error.
  if (SSL_version(ssl) < TLS1_3_VERSION) return;
  SSL_write(ssl, "", 0);
  ERR_clear_error();
#else
  (void)ssl;  // already sent
#endif
}

std::uint32_t ticketLifetime(const SSL_SESSION* session) noexcept {
  if (!session) return 0;
#if defined(OPENSSL_IS_BORINGSSL)
  // The timeout is the server's ticket_lifetime, capped by the client's own limit for a
  // TLS 1.3 session (7 days by default, RFC 8446 §4.6.1's maximum).
  if (SSL_SESSION_get_protocol_version(session) >= TLS1_3_VERSION)
    return SSL_SESSION_has_ticket(session) ? static_cast<std::uint32_t>(SSL_SESSION_get_timeout(session)) : 0;
#endif
  return static_cast<std::uint32_t>(SSL_SESSION_get_ticket_lifetime_hint(session));
}

}  // namespace tlsresume::tls
