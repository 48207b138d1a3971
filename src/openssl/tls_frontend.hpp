#pragma once
// TlsFrontend: the listener-side SSL_CTX and one SSL_CTX per virtual host, and the only
// place that installs OpenSSL's resumption hooks.
//
// Why one listener context: OpenSSL uses the session cache and ticket-key callbacks of
// the SSL_CTX an SSL was *created* from (session_ctx), even after SSL_set_SSL_CTX swaps
// the certificate for SNI, and a TLS 1.2 session id is looked up before the servername
// callback runs. So the host is chosen in the client-hello callback (which runs before
// any lookup), recorded in the SSL's ex_data, and every resumption callback, installed
// on the listener context, asks which host the connection belongs to.
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "openssl/certificate.hpp"
#include "openssl/ossl_ptr.hpp"
#include "tlsresume/client_hello_fields.hpp"
#include "tlsresume/clock.hpp"
#include "tlsresume/resumption_policy.hpp"
#include "tlsresume/revocation_list.hpp"
#include "tlsresume/session_store.hpp"
#include "tlsresume/stats_sink.hpp"
#include "tlsresume/ticket_app_data.hpp"

namespace tlsresume::ossl {

class TicketBinding;

std::string hexId(std::span<const unsigned char> bytes);

struct HostSpec {
  std::string name;                       // identity: metrics, revocation, key derivation
  std::vector<std::string> server_names;  // lower-case; "*.example.com" wildcards allowed
  CertifiedKey cert;
  ResumptionPolicy policy;
  std::vector<std::string> alpn;  // protocols offered, server's preference first; empty: no ALPN
};

// What the binding learnt about one connection; lives in the SSL's ex_data.
struct ConnectionTls {
  std::size_t host = 0;
  std::string sni;  // as the client sent it (lower-cased), empty if none or not a DNS name
  // The host_name bytes exactly as sent, valid DNS name or not ("localhost." included):
  // OpenSSL stores these in the session, so a resumption is compared against them.
  std::string sent_server_name;
  bool offered_tls13 = false;
  bool offers_extms = false;   // the ClientHello carries extended_master_secret (RFC 7627)
  unsigned client_hellos = 0;  // 2 after a HelloRetryRequest
  bool cache_hit = false;      // a stateful lookup returned a session
  bool ticket_opened = false;  // a stateless ticket was accepted
  // Ticket bookkeeping, filled by the ticket binding.
  bool ticket_key_seen = false;               // the key callback was asked to open a ticket
  bool ticket_key_found = false;              // ... and knew the key name
  std::optional<TicketResult> ticket_result;  // why a ticket was refused, if it was
  // Lengths of the tickets this ClientHello offers (OpenSSL's ticket callbacks are not
  // told), in the order they are opened: the TLS 1.2 session_ticket extension, the
  // TLS 1.3 PSK identities; and how many were opened so far. 0: unknown.
  std::size_t tls12_ticket_length = 0;
  PskIdentityLengths psk_identities;
  std::size_t tickets_opened = 0;
  std::optional<TicketAppData> chain;         // the resumption chain this connection continues
  bool chain_minted = false;                  // ... or started, with its first ticket
  // Fleet mode. `wake` is set by the server before the handshake starts and called (from
  // another thread) when a remote lookup this connection waits for has ended; the server
  // then drives the handshake again. `awaiting_remote` is the binding's: the client-hello
  // callback asked OpenSSL to call it again (SSL_CLIENT_HELLO_RETRY) for the same
  // ClientHello, which must not count as a second one.
  std::function<void()> wake;
  bool awaiting_remote = false;

  // After a HelloRetryRequest OpenSSL opens the same tickets (looks up the same session)
  // again for the second ClientHello: they were counted with the first. Within one
  // ClientHello every PSK identity counts (the first may fail, the next resume).
  bool counts() const noexcept { return client_hellos <= 1; }
};

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
struct ConnectionTls;
TicketResult fitsHandshake(SSL* ssl, const SSL_SESSION* session, const ConnectionTls& st) noexcept;

class TlsFrontend {
 public:
  TlsFrontend(const std::vector<HostSpec>& hosts, SessionStore& store, RevocationList& revocations, StatsSink& stats,
              const Clock& clock);
  ~TlsFrontend();
  TlsFrontend(const TlsFrontend&) = delete;
  TlsFrontend& operator=(const TlsFrontend&) = delete;

  // A new server-side SSL for an accepted connection (nullptr on allocation failure).
  SslPtr newConnection() const;
  // The ticket binding installs itself here; nullptr means OpenSSL's defaults.
  void setTickets(TicketBinding* tickets) noexcept { tickets_ = tickets; }
  TicketBinding* tickets() const noexcept { return tickets_; }

  static ConnectionTls* state(const SSL* ssl) noexcept;
  HandshakeKind handshakeKind(const SSL* ssl) const noexcept;

  std::size_t hostCount() const noexcept { return hosts_.size(); }
  const std::string& hostName(std::size_t i) const noexcept { return hosts_[i].name; }
  const ResumptionPolicy& policy(std::size_t i) const noexcept { return hosts_[i].policy; }
  std::size_t hostForServerName(std::string_view sni) const noexcept;
  std::uint64_t hostTag(std::size_t i) const noexcept { return hosts_[i].tag; }

  // Whether a session carrying our ticket app data may resume on this connection's host:
  // issued by this host, younger than the host's session_lifetime and its chain younger
  // than max_resumption_age (judged by the server's clock, whatever the client claims:
  // RFC 8446 §4.6.1, RFC 9325 §3.4), and not revoked. On ok, records the chain in `st`.
  TicketResult judgeAppData(ConnectionTls& st, SSL_SESSION* session) const noexcept;
  // The default host's context doubles as the listener's (OpenSSL's session_ctx): every
  // SSL is created from it, so a connection for the default host never pays for
  // SSL_set_SSL_CTX (which duplicates the certificate set), and the resumption hooks
  // installed here serve every host.
  SSL_CTX* listenerContext() const noexcept { return hosts_.front().ctx.get(); }

  SessionStore& store() noexcept { return store_; }
  RevocationList& revocations() noexcept { return revocations_; }
  StatsSink& stats() noexcept { return stats_; }
  const Clock& clock() const noexcept { return clock_; }

  // Store key of a session: the host's session-id context, then the session id. Prefixing
  // the context keeps hosts apart in the store itself, not only in OpenSSL's check.
  static std::string storeKey(std::string_view sid_ctx, const unsigned char* id, unsigned id_len);
  // The store key of session id `id` under every host (revoking an id erases each).
  std::vector<std::string> storeKeysFor(std::string_view id) const;
  // The first kStoreKeyHostPrefix bytes of every store key of host `name` ("" if unknown).
  std::string storeKeyHostPrefix(std::string_view name) const;
  static constexpr std::size_t kStoreKeyHostPrefix = 8;  // bytes of the host's context in a key
  // Erases every stored session the revocation list now refuses (so its master secret
  // leaves memory now, not when next offered or at expiry); returns how many. A scan of
  // the whole store: call after a revocation, not per handshake.
  std::size_t forgetRevoked() noexcept;

 private:
  struct Host {
    std::string name;
    std::vector<std::string> server_names;
    ResumptionPolicy policy;
    std::string sid_ctx;
    std::uint64_t tag = 0;  // hostTag(name), computed once
    std::string alpn_wire;  // the ALPN list in its wire form (length-prefixed names)
    SslCtxPtr ctx;
  };
  SslCtxPtr makeContext(const CertifiedKey* cert, const std::string& sid_ctx) const;
  void installResumptionHooks();

  std::vector<Host> hosts_;
  SessionStore& store_;
  RevocationList& revocations_;
  StatsSink& stats_;
  const Clock& clock_;
  TicketBinding* tickets_ = nullptr;
  friend struct FrontendCallbacks;
};

}  // namespace tlsresume::ossl
