#include "tlsresume/stats_sink.hpp"

namespace tlsresume {

const char* toString(HandshakeKind k) noexcept {
  switch (k) {
    case HandshakeKind::full:
      return "full";
    case HandshakeKind::session_id:
      return "session-id";
    case HandshakeKind::stateful_ticket:
      return "stateful-ticket";
    case HandshakeKind::ticket:
      return "ticket";
    case HandshakeKind::failed:
      return "failed";
  }
  return "unknown";
}

const char* toString(TicketResult r) noexcept {
  switch (r) {
    case TicketResult::ok:
      return "ok";
    case TicketResult::renewed:
      return "renewed";
    case TicketResult::unknown_key:
      return "unknown_key";
    case TicketResult::bad_mac:
      return "bad_mac";
    case TicketResult::expired:
      return "expired";
    case TicketResult::revoked:
      return "revoked";
    case TicketResult::foreign_host:
      return "foreign_host";
    case TicketResult::malformed:
      return "malformed";
    case TicketResult::cipher_not_offered:
      return "cipher_not_offered";
    case TicketResult::extms_mismatch:
      return "extms_mismatch";
    case TicketResult::extms_dropped:
      return "extms_dropped";
    case TicketResult::server_name_mismatch:
      return "server_name_mismatch";
    case TicketResult::wrong_version:
      return "wrong_version";
  }
  return "unknown";
}

}  // namespace tlsresume
