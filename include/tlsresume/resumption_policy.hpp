#pragma once
// Resumption policy of one virtual host: which mechanisms it offers and for how long.
// Defaults are justified in docs/configuration.md.
#include <chrono>

namespace tlsresume {

enum class Tls13Tickets { stateless, stateful, off };
enum class PskModes { dhe, any };

struct ResumptionPolicy {
  // 1 hour: long enough that returning visitors resume, short enough that a stolen
  // session or ticket key exposes at most about an hour of a client's traffic.
  std::chrono::seconds session_lifetime{3600};
  bool session_ids = true;  // stateful resumption for clients without tickets
  bool tls12_tickets = true;
  Tls13Tickets tls13_tickets = Tls13Tickets::stateless;
  // RFC 8446 appendix C.4: clients should not reuse a ticket; 2 lets a client open two
  // parallel resumed connections after one full handshake (OpenSSL's default too).
  unsigned tickets_per_connection = 2;
  // RFC 9325 §3.4 / RFC 8446 §4.2.9: psk_ke gives no forward secrecy.
  PskModes tls13_psk_modes = PskModes::dhe;
  // RFC 9325 §3.4: bound how long one resumption chain lives without a full handshake.
  std::chrono::seconds max_resumption_age{24 * 3600};
};

}  // namespace tlsresume
