#pragma once
// StatsSink: the narrow interface through which the engine reports what happened.
// The server binds it to Prometheus counters; tests bind it to a recorder.
// Labels are low-cardinality enums only: never ids, names of keys, or client data.
#include <chrono>
#include <cstddef>

namespace tlsresume {

enum class HandshakeKind { full, session_id, stateful_ticket, ticket, failed };
inline constexpr std::size_t kHandshakeKinds = 5;

// Why a ticket did or did not resume. Counted by reason: no peer reports this, we do.
// cipher_not_offered: a valid TLS 1.2 ticket whose cipher suite the client no longer
// offers (OpenSSL would end such a resumption with an alert, we make it a full
// handshake), or a TLS 1.3 ticket whose hash differs from the suite chosen now.
// extms_mismatch: a TLS 1.2 ticket made without the extended master secret offered by a
// client that now sends it: RFC 7627 §5.3, no resumption, a full handshake.
// extms_dropped: one made with it offered by a client that no longer sends it: RFC 7627
// §5.3 says the server MUST abort, and the handshake ends with handshake_failure.
// server_name_mismatch: a TLS 1.2 ticket offered under another server name than the one
// it was made for: RFC 6066 §3, a full handshake (TLS 1.3 resumes across the names of
// one host, which RFC 8446 §4.6.1 allows).
// wrong_version: a TLS 1.2 ticket offered as a TLS 1.3 PSK or the reverse (OpenSSL
// declines it; a full handshake).
enum class TicketResult {
  ok,
  renewed,
  unknown_key,
  bad_mac,
  expired,
  revoked,
  foreign_host,
  malformed,
  cipher_not_offered,
  extms_mismatch,
  extms_dropped,
  server_name_mismatch,
  wrong_version
};
inline constexpr std::size_t kTicketResults = 13;

const char* toString(HandshakeKind k) noexcept;
const char* toString(TicketResult r) noexcept;

class StatsSink {
 public:
  virtual ~StatsSink() = default;
  virtual void onTicketOpen(TicketResult result) noexcept = 0;
  // Age of a ticket or session at the moment it resumed (server clock, not the client's).
  virtual void onResumptionAge(std::chrono::seconds age) noexcept = 0;
  virtual void onSessionRevokedAtResume() noexcept = 0;
};

class NullStatsSink final : public StatsSink {
 public:
  void onTicketOpen(TicketResult) noexcept override {}
  void onResumptionAge(std::chrono::seconds) noexcept override {}
  void onSessionRevokedAtResume() noexcept override {}
};

}  // namespace tlsresume
