#pragma once
// What BoringSSL's hooks (frontend_hooks.cpp, ticket_hooks.cpp) share; nothing outside
// src/boringssl/ includes this.
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <optional>
#include <string_view>

#include "tls/tls_frontend.hpp"
#include "tlsresume/stored_session.hpp"

namespace tlsresume::tls {

struct TlsFrontend::Library {
  // BoringSSL keeps a pointer to the method table for the lifetime of the contexts; the
  // Library outlives them (declared first in TlsFrontend).
  SSL_TICKET_AEAD_METHOD ticket_method{};
};

// Errors a hook leaves on the thread's queue (a failed tag check, a session that does not
// parse) must not outlive it: BoringSSL's SSL_get_error reports any queued error as
// SSL_ERROR_SSL, so a refused ticket would fail the handshake it means to let through.
struct ErrorScope {
  ErrorScope() noexcept { ERR_set_mark(); }
  ~ErrorScope() { ERR_pop_to_mark(); }
  ErrorScope(const ErrorScope&) = delete;
  ErrorScope& operator=(const ErrorScope&) = delete;
};

// The frontend a connection belongs to: the app data of the SSL's context (every host's
// context carries it).
inline TlsFrontend* frontendOf(const SSL* ssl) noexcept {
  return static_cast<TlsFrontend*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
}

// The ticket seal/open method, installed on the listener context (BoringSSL uses the one
// of the context the SSL was created from, its session_ctx).
void installTicketHooks(TlsFrontend::Library& library, SSL_CTX* listener);

// The session-id context a connection runs under, set by the select-certificate hook
// after SSL_set_SSL_CTX: the host's 8-byte prefix, and for TLS 1.2 8 bytes of
// SHA-256(lower-cased server name as sent). BoringSSL resumes a session only under the
// context it was made in, so it enforces RFC 6066 §3 (a TLS 1.2 session resumes only
// under its own server name) itself; BoringSSL keeps no server name in a server session
// that could be compared instead. TLS 1.3 tickets resume under any name of their host
// (RFC 8446 §4.6.1), so their context is the host's alone.
inline constexpr std::size_t kNameContextBytes = 8;

// Whether `session` can resume on this handshake, judged before our own rules so that
// what BoringSSL would decline is declined here (a full handshake) and counted for what it
// is: another protocol version (wrong_version); a cipher suite other than the one chosen
// now (cipher_not_offered: BoringSSL chooses the suite first and resumes only a session of
// exactly that suite, TLS 1.3 included); another host (foreign_host) or, in TLS 1.2,
// another server name (server_name_mismatch), read from the session-id context.
TicketResult fitsHandshake(const SSL* ssl, const SSL_SESSION* session) noexcept;

// The chain record of a stored session whose header names a chain (a TLS 1.3 stateful
// ticket): its issue time is the stored expiry less the host's lifetime. nullopt when the
// record carries no resumption id.
std::optional<TicketAppData> storedChain(const StoredSessionView& view, const TlsFrontend& fe,
                                         std::size_t host) noexcept;

// judgeChain with its effects: an accepted chain is recorded in `st` and its age counted;
// a revoked one is counted.
TicketResult judgeAndRecord(TlsFrontend& fe, ConnectionTls& st, const TicketAppData& data, bool tls13) noexcept;

}  // namespace tlsresume::tls
