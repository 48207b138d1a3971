#pragma once
// TlsFrontend: the seam between the server and the TLS library. One per listener (and
// per reload): the listener-side SSL_CTX, one SSL_CTX per virtual host, and the only
// object that installs the library's resumption hooks (session cache, tickets, host
// choice). src/openssl/ and src/boringssl/ each implement the hooks for their library;
// what both share (the host table, store keys, judging a resumption chain) is in
// src/tls/tls_frontend.cpp. The hooks reach the frontend one way: the SSL_CTX's app data.
//
// Why one listener context: the library uses the session cache and ticket hooks of the
// SSL_CTX an SSL was *created* from, even after SSL_set_SSL_CTX swaps the certificate for
// SNI, and a TLS 1.2 session id may be looked up before the servername callback runs. So
// the host is chosen in the earliest hook (OpenSSL's client-hello callback, BoringSSL's
// select-certificate callback), recorded in the SSL's ex_data, and every resumption hook
// asks which host the connection belongs to. docs/design.md has the order in which each
// library calls the hooks.
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tls/certificate.hpp"
#include "tls/ossl_ptr.hpp"
#include "tlsresume/client_hello_fields.hpp"
#include "tlsresume/clock.hpp"
#include "tlsresume/resumption_policy.hpp"
#include "tlsresume/revocation_list.hpp"
#include "tlsresume/session_store.hpp"
#include "tlsresume/stats_sink.hpp"
#include "tlsresume/keyring.hpp"
#include "tlsresume/ticket_app_data.hpp"

namespace tlsresume::tls {

struct HostSpec {
  std::string name;                       // identity: metrics, revocation, key derivation
  std::vector<std::string> server_names;  // lower-case; "*.example.com" wildcards allowed
  CertifiedKey cert;
  ResumptionPolicy policy;
  std::vector<std::string> alpn;  // protocols offered, server's preference first; empty: no ALPN
};

// What the binding learnt about one connection; lives in the SSL's ex_data from
// newConnection() to SSL_free. Who writes each field (the hooks run on the worker thread
// that drives the handshake, one at a time; `wake` is the only field another thread
// touches, and only by calling it):
//   client-hello hook (OpenSSL) / select-certificate hook (BoringSSL): host, sni,
//     sent_server_name, offered_tls13, offers_extms, client_hellos, tls12_ticket_length,
//     psk_identities, tickets_opened (reset), awaiting_remote;
//   session lookup (stateful): cache_hit, chain;
//   ticket opening (stateless): ticket_key_seen, ticket_key_found, ticket_result,
//     tickets_opened, opened_key, ticket_opened, chain;
//   ticket sealing: chain, chain_minted;
//   the server (src/server/connection.cpp): wake, before the first handshake step.
// The server reads host, sni, client_hellos, chain and (through handshakeKind) cache_hit
// and ticket_opened once the handshake ends or fails; nothing else is its business.
struct ConnectionTls {
  std::size_t host = 0;
  std::string sni;  // as the client sent it (lower-cased), empty if none or not a DNS name
  // The host_name bytes exactly as sent, valid DNS name or not ("localhost." included):
  // the library stores these in the session, so a resumption is compared against them.
  std::string sent_server_name;
  bool offered_tls13 = false;
  bool offers_extms = false;   // the ClientHello carries extended_master_secret (RFC 7627)
  unsigned client_hellos = 0;  // 2 after a HelloRetryRequest
  bool cache_hit = false;      // a stateful lookup returned a session
  bool ticket_opened = false;  // a stateless ticket was accepted
  // Ticket bookkeeping, filled by the ticket hooks.
  bool ticket_key_seen = false;               // the key hook was asked to open a ticket
  bool ticket_key_found = false;              // ... and knew the key name
  std::optional<TicketResult> ticket_result;  // why a ticket was refused, if it was
  // The key that opened the last ticket, found once by its name (the snapshot keeps it
  // alive): its decrypt count is taken only once the library has checked the MAC.
  std::shared_ptr<const KeySnapshot> key_snapshot;
  const SealingKey* opened_key = nullptr;
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
  // then drives the handshake again. `awaiting_remote` is the binding's: the hello hook
  // asked the library to call it again for the same ClientHello, which must not count as
  // a second one.
  std::function<void()> wake;
  bool awaiting_remote = false;
  // Written by the BoringSSL session lookup: the session it handed over will be refused by
  // the library with a fatal alert (RFC 7627 §5.3, made with the extended master secret,
  // offered without it); that alert must not forget the session, which still resumes for
  // a client offering it as it was made.
  bool keep_on_alert = false;

  // After a HelloRetryRequest OpenSSL opens the same tickets (looks up the same session)
  // again for the second ClientHello: they were counted with the first. Within one
  // ClientHello every PSK identity counts (the first may fail, the next resume).
  bool counts() const noexcept { return client_hellos <= 1; }
};

// Whether a resumption chain may go on at `host`, judged by the server's clock whatever
// the client claims (RFC 8446 §4.6.1, RFC 9325 §3.4): issued by this host, younger than
// its session_lifetime, its chain younger than max_resumption_age, not revoked, and (TLS
// 1.2) made with the extended master secret iff the client offers it now. Free of side
// effects: the caller records the chain and counts the verdict.
struct HostPolicyView {
  std::string_view name;
  std::uint64_t tag = 0;
  const ResumptionPolicy* policy = nullptr;
};
TicketResult judgeChain(const HostPolicyView& host, const TicketAppData& data, bool tls13, bool offers_extms,
                        const RevocationList& revocations, TimePoint now) noexcept;

class TlsFrontend {
 public:
  // `keyring` seals and opens the stateless tickets (per-host keys); the frontend installs
  // every hook it needs, tickets included.
  TlsFrontend(const std::vector<HostSpec>& hosts, SessionStore& store, RevocationList& revocations, StatsSink& stats,
              const Clock& clock, Keyring& keyring);
  ~TlsFrontend();
  TlsFrontend(const TlsFrontend&) = delete;
  TlsFrontend& operator=(const TlsFrontend&) = delete;

  // Why these hosts cannot be served by this build's library on one listener, naming the
  // host, empty if they can: checked at start, by --check-config and on reload, so that
  // what the library cannot do is refused with a clear error (the constructor refuses it
  // too, with std::invalid_argument).
  static std::string unsupported(std::span<const HostSpec> hosts);
  // Whether SSL_get_error's answer after a handshake step means "paused: a remote lookup
  // this connection waits for is under way, ConnectionTls::wake will be called".
  static bool pausedForRemoteLookup(int ssl_error) noexcept;

  // A new server-side SSL for an accepted connection (nullptr on allocation failure).
  SslPtr newConnection() const;

  static ConnectionTls* state(const SSL* ssl) noexcept;
  HandshakeKind handshakeKind(const SSL* ssl) const noexcept;

  std::size_t hostCount() const noexcept { return hosts_.size(); }
  const std::string& hostName(std::size_t i) const noexcept { return hosts_[i].name; }
  const ResumptionPolicy& policy(std::size_t i) const noexcept { return hosts_[i].policy; }
  std::size_t hostForServerName(std::string_view sni) const noexcept;
  std::uint64_t hostTag(std::size_t i) const noexcept { return hosts_[i].tag; }
  HostPolicyView hostView(std::size_t i) const noexcept { return {hosts_[i].name, hosts_[i].tag, &hosts_[i].policy}; }

  // The default host's context doubles as the listener's: every SSL is created from it,
  // so a connection for the default host never pays for SSL_set_SSL_CTX (which duplicates
  // the certificate set), and the resumption hooks installed here serve every host.
  SSL_CTX* listenerContext() const noexcept { return hosts_.front().ctx.get(); }

  SessionStore& store() noexcept { return store_; }
  RevocationList& revocations() noexcept { return revocations_; }
  StatsSink& stats() noexcept { return stats_; }
  const Clock& clock() const noexcept { return clock_; }
  Keyring& keyring() noexcept { return keyring_; }

  // Store key of a session: the host's session-id context, then the session id. Prefixing
  // the context keeps hosts apart in the store itself, not only in the library's check.
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

  struct Host {
    std::string name;
    std::vector<std::string> server_names;
    ResumptionPolicy policy;
    std::string sid_ctx;
    std::uint64_t tag = 0;  // hostTag(name), computed once
    std::string alpn_wire;  // the ALPN list in its wire form (length-prefixed names)
    SslCtxPtr ctx;
  };
  const Host& host(std::size_t i) const noexcept { return hosts_[i]; }

  // What the library's hooks keep per listener (fetched algorithms, ...), defined by each
  // library's implementation.
  struct Library;
  Library& library() const noexcept { return *library_; }

 private:
  // Implemented per library: a host's context with its certificate; the hooks; the
  // per-listener state (made before installHooks, dropped after the contexts).
  SslCtxPtr makeContext(const CertifiedKey& cert, const std::string& sid_ctx);
  void installHooks();
  static Library* makeLibrary();
  struct LibraryDeleter {
    void operator()(Library* l) const noexcept;
  };

  std::unique_ptr<Library, LibraryDeleter> library_;  // declared first: outlives the contexts
  std::vector<Host> hosts_;
  SessionStore& store_;
  RevocationList& revocations_;
  StatsSink& stats_;
  const Clock& clock_;
  Keyring& keyring_;
};

// The hex form of an id (resumption ids, session ids) for logs and the access log.
std::string hexId(std::span<const unsigned char> bytes);

}  // namespace tlsresume::tls
