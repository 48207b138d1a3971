#pragma once
// One TLS client connection of `tlsresume probe`, made with OpenSSL's public API: connect,
// handshake (offering a saved session or not), collect every session the server hands
// out (TLS 1.3: one per NewSessionTicket), close.
#include <openssl/ssl.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tls/ossl_ptr.hpp"
#include "server/net.hpp"

namespace tlsresume::tools::probe {

struct ProbeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Target {
  server::AddressList addresses;  // tried in turn (connectTo)
  std::string connect_text;       // "127.0.0.1:8443", for messages
  std::uint16_t port = 0;
  int timeout_ms = 5000;
};

struct ClientSpec {
  int version = 0;           // 0: TLS 1.2 to 1.3; TLS1_2_VERSION / TLS1_3_VERSION: pinned
  bool no_ticket = false;    // SSL_OP_NO_TICKET (TLS 1.2: resume by session id)
  std::string ciphers;       // TLS 1.2 cipher list; empty: OpenSSL's default
  std::string server_name;   // SNI; empty: none
  bool wait_tickets = false;  // after the handshake, read until the server is quiet (TLS 1.3 tickets)
};

enum class Failure { none, connect, timeout, closed, not_tls, alert, other };

struct Outcome {
  Failure failure = Failure::none;
  std::string error;  // one line, when failure != none
  int version = 0;
  std::string version_name, cipher;
  bool reused = false;
  std::vector<tls::SessionPtr> sessions;  // in the order the server issued them
  std::string peer_cert_sha256;            // hex; empty without a certificate
  std::string peer_address;                // numeric host of the address that answered
  bool ok() const { return failure == Failure::none; }
};

// One connection. `offer`: a session to resume (not modified).
Outcome connectOnce(const Target& target, const ClientSpec& spec, SSL_SESSION* offer);

// A saved session's ticket bytes (empty: none), its lifetime hint and session id length.
std::vector<unsigned char> ticketOf(const SSL_SESSION* s);
std::uint32_t lifetimeHintOf(const SSL_SESSION* s);
std::size_t sessionIdLength(const SSL_SESSION* s);
// The last session of an outcome carrying a ticket, or nullptr.
SSL_SESSION* lastWithTicket(const Outcome& o);

// A copy of `s` whose ticket has the byte at `offset` flipped (XOR 0xff), made through
// the session's DER encoding (i2d/d2i: OpenSSL 3.0 has no setter for a session's
// ticket). Null if the session has no ticket that long.
tls::SessionPtr withFlippedTicketByte(SSL_SESSION* s, std::size_t offset);

}  // namespace tlsresume::tools::probe
