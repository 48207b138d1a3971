#pragma once
// What OpenSSL's hooks (frontend_hooks.cpp, ticket_hooks.cpp) share; nothing outside
// src/openssl/ includes this.
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "tls/tls_frontend.hpp"

namespace tlsresume::tls {

struct TlsFrontend::Library {
  EVP_CIPHER* ticket_cipher = nullptr;  // AES-256-CBC, fetched once: OpenSSL 3 re-fetches legacy objects
  ~Library() { EVP_CIPHER_free(ticket_cipher); }
};

// The frontend a connection belongs to: the app data of the SSL's context (every host's
// context carries it).
inline TlsFrontend* frontendOf(const SSL* ssl) noexcept {
  return static_cast<TlsFrontend*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
}

// The stateless ticket hooks, installed on the listener context.
void installTicketHooks(SSL_CTX* listener);

// RFC 5246 §7.4.1.2: a TLS 1.2 resumption must use the session's cipher suite, and OpenSSL
// answers a ClientHello that no longer offers it with a fatal alert
// (SSL_R_REQUIRED_CIPHER_MISSING). Such a session must be a miss, never a failure. Reads
// the ClientHello's suites as OpenSSL kept them (SSL_get0_raw_cipherlist, cached before
// any session lookup or ticket decryption), so nothing is copied per handshake.
bool clientOffersCipherOf(SSL* ssl, const SSL_SESSION* session) noexcept;

// Whether `session` can resume on this handshake at all, judged before our own rules so
// that what OpenSSL would decline or fail is declined here, as a full handshake, and
// counted for what it is: another protocol version (wrong_version), a TLS 1.2 suite the
// client no longer offers or a TLS 1.3 hash other than the chosen suite's
// (cipher_not_offered), a TLS 1.2 session offered under another server name
// (server_name_mismatch, RFC 6066 §3; OpenSSL 3.0 notes the difference and resumes).
TicketResult fitsHandshake(SSL* ssl, const SSL_SESSION* session, const ConnectionTls& st) noexcept;

// judgeChain on the app data `session` carries, with its effects: an accepted chain is
// recorded in `st` and its age counted; a revoked one is counted. `malformed` when the
// session carries no readable app data.
TicketResult judgeSessionChain(TlsFrontend& frontend, ConnectionTls& st, SSL_SESSION* session) noexcept;

}  // namespace tlsresume::tls
