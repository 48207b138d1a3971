#pragma once
// Two TLS endpoints (the build's library) joined by a memory BIO pair: real handshakes through the real
// TlsFrontend (tickets included), no sockets, driven by a FakeClock. Fast and deterministic.
#include <openssl/ssl.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tls/certificate.hpp"
#include "tls/tls_frontend.hpp"
#include "tlsresume/keyring.hpp"
#include "tlsresume/memory_store.hpp"
#include "tlsresume/revocation_list.hpp"

namespace tlsresume::testing {

struct RecordingStats final : StatsSink {
  std::vector<TicketResult> tickets;
  int revoked = 0;
  void onTicketOpen(TicketResult r) noexcept override { tickets.push_back(r); }
  void onResumptionAge(std::chrono::seconds) noexcept override {}
  void onSessionRevokedAtResume() noexcept override { ++revoked; }
  int count(TicketResult r) const {
    int n = 0;
    for (auto t : tickets) n += t == r;
    return n;
  }
};

struct ClientOptions {
  int version = TLS1_3_VERSION;
  bool tickets = true;  // false: SSL_OP_NO_TICKET (TLS 1.2 session ids)
  std::string sni = "localhost";
  SSL_SESSION* session = nullptr;  // offered for resumption (not owned)
  bool only_psk_ke = false;        // offer psk_ke only (no (EC)DHE on resumption)
  // TLS 1.3: also offer an external PSK under this identity. OpenSSL's client then sends
  // two identities in one ClientHello (the resumption ticket first), which the server
  // judges one after the other; the external one is garbage to a ticket-only server.
  std::string external_psk_identity = {};
  std::string tls13_ciphersuites = {};  // SSL_set_ciphersuites; empty: the library's default
};

// Why this build's TLS library cannot make the client `options` ask for, empty if it can.
// BoringSSL's client has no external TLS 1.3 PSK, no psk_ke-only mode and no TLS 1.3
// suite list; connect() refuses such options (result.unsupported) rather than quietly
// making another ClientHello.
std::string clientCannot(const ClientOptions& options);

struct HandshakeResult {
  bool ok = false;
  bool reused = false;
  HandshakeKind kind = HandshakeKind::failed;
  std::size_t host = 0;
  tls::SessionPtr session;  // the client's newest session, tickets included
  std::string resumption_id;
  int tickets_received = 0;  // NewSessionTicket messages (TLS 1.3) / session callbacks
  std::vector<tls::SessionPtr> received;  // every session the client was given, in order
  std::string unsupported;                // clientCannot(options), when not empty
};

// Client-side session surgery for tests, through the session's DER encoding (i2d/d2i,
// which both libraries have; neither has a setter for everything a test relabels).
// A copy of `session`; nullptr on failure.
tls::SessionPtr copySession(SSL_SESSION* session);
// A copy of `session` relabelled with the cipher suite whose IANA number is `suite`
// (e.g. 0x1301, TLS_AES_128_GCM_SHA256); nullptr on failure.
tls::SessionPtr withCipherSuite(SSL_SESSION* session, std::uint16_t suite);
// Drops the application data a server stored in `session`'s ticket, where the library
// keeps such a thing (OpenSSL); nothing to drop on BoringSSL.
void clearTicketAppData(SSL_SESSION* session);

class ServerFixture {
 public:
  explicit ServerFixture(std::vector<std::pair<std::string, ResumptionPolicy>> hosts, KeyringOptions key_options = {});
  HandshakeResult connect(const ClientOptions& options);

  // Starts at the real time: OpenSSL stamps sessions with time(NULL) and checks its own
  // timeouts against it; our checks use this clock.
  FakeClock clock{WallClock::now()};
  RecordingStats stats;
  MemoryStore store{MemoryStoreOptions{1 << 20, 16}, clock};
  RevocationList revocations{clock};
  std::unique_ptr<Keyring> keyring;
  std::unique_ptr<tls::TlsFrontend> frontend;

 private:
  tls::SslCtxPtr client_ctx_;
};

}  // namespace tlsresume::testing
