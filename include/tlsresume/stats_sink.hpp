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
// offers; OpenSSL would end such a resumption with an alert, we make it a full handshake.
// extms_mismatch: a TLS 1.2 ticket made with the extended master secret (RFC 7627) and a
// ClientHello without it, or the other way round; OpenSSL would answer the first with a
// fatal alert (RFC 7627 §5.3 asks only that the abbreviated handshake be abandoned).
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
  extms_mismatch
};
inline constexpr std::size_t kTicketResults = 10;

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
