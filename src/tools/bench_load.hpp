#pragma once
// The load generator: OpenSSL's client side on non-blocking sockets driven by one epoll
// loop, K connections in flight. Each connection is TCP connect, TLS handshake (full, or
// resumed from the slot's saved session), one HTTP/1.1 request with "Connection: close",
// the response read until the server closes, our close_notify, close.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tls/ossl_ptr.hpp"
#include "server/net.hpp"
#include "tools/bench_types.hpp"

namespace tlsresume::tools::bench {

// What kind of client one connection is.
struct ClientProfile {
  int version = 0;         // TLS1_2_VERSION or TLS1_3_VERSION, pinned (min = max)
  bool no_ticket = false;  // SSL_OP_NO_TICKET: a TLS 1.2 client resumes by session id
  bool resume = false;     // offer the slot's latest session
};

// The client profiles of a scenario: `primary`, and for `mix` an `alternate` used by a
// share of the connections (clients without ticket support).
struct ScenarioClients {
  ClientProfile primary;
  std::optional<ClientProfile> alternate;
  double alternate_share = 0;
};
ScenarioClients clientsFor(Scenario s, double mix_no_ticket);

// A client SSL_CTX for one profile. Certificates are not verified: we measure the
// server, and every target here is one we started or the user named.
tls::SslCtxPtr makeClientContext(const ClientProfile& p);

struct LoadSpec {
  server::AddressList addresses;  // each tried in turn until one accepts (localhost: ::1, 127.0.0.1)
  // Several servers (a fleet sharing its sessions): when not empty, `addresses` is unused
  // and each connection goes to one of these. Slot s starts on server s mod N and moves to
  // the next server on every connection, skipping the server whose handshake made the
  // session it offers: every resumption is made on another server than the one that
  // issued the session (a TLS 1.2 session id keeps its issuer when resumed). N >= 2.
  std::vector<server::AddressList> servers;
  std::string target_name;  // for messages: "target 127.0.0.1:1: connection refused"
  std::string sni = "localhost";   // server name sent in the ClientHello; empty: none
  std::string host = "localhost";  // the request's Host header
  std::string path = "/";
  ScenarioClients clients;
  unsigned concurrency = 8;
  std::chrono::duration<double> duration{3};
  std::uint64_t count = 0;  // > 0: exactly this many measured handshakes
  std::chrono::milliseconds connection_timeout{10000};
  // No TLS (the TCP floor): each connection writes the request once connected and reads
  // the answer until the server closes; a "handshake" is then a connection established.
  bool plain = false;
  // Called once between warm-up and measurement (the caller samples server CPU there),
  // and about four times a second while measuring.
  std::function<void()> on_measure_start;
  std::function<void(std::uint64_t handshakes, double seconds)> on_tick;
};

struct LoadResult {
  std::uint64_t handshakes = 0;  // measured handshakes that completed
  std::uint64_t resumed = 0;     // ... of which SSL_session_reused() said yes
  std::uint64_t resumed_by_ticket = 0;  // ... of which from a ticket (every TLS 1.3 resumption)
  std::uint64_t completed = 0;   // connections that finished with a response
  std::uint64_t attempts = 0;    // measured connections begun
  std::uint64_t errors = 0;      // ... that failed (connect, TLS, no or no HTTP answer)
  std::uint64_t not_2xx = 0;     // answers with a status other than 2xx (still answers)
  std::string first_not_2xx;     // its status line
  std::string first_error;
  double seconds = 0;
  std::vector<std::uint32_t> latencies_us;      // connect start to handshake done
  std::uint64_t bytes_c2s = 0, bytes_s2c = 0;   // handshake records, over completed connections
  std::uint64_t ticket_bytes = 0, tickets = 0;  // sum of ticket lengths, connections with a ticket
  std::map<int, std::uint64_t> versions;        // negotiated protocol -> handshakes
  std::map<std::string, std::uint64_t> server_says;
  std::string server_key;  // the certificate's key as the client saw it: "ecdsa", "rsa", "rsa-4096", ...
  // With several servers: measured handshakes per server, and resumptions that were
  // offered the server which issued the session (0 unless there are fewer than 2).
  std::vector<std::uint64_t> per_server;
  std::uint64_t resumed_on_issuer = 0;
};

// The server (index into LoadSpec::servers) of a slot's next connection: `next` in turn,
// or the one after it when `next` issued the session the connection offers (`issuer`, -1
// for none).
std::size_t pickServer(std::size_t next, int issuer, std::size_t servers);

// "ecdsa" (P-256), "rsa" (2048 bits), the names --cert-type uses, or a description of any
// other key ("rsa-4096", "ec-secp384r1", "ed25519").
std::string describeServerKey(SSL* ssl);

// SNI and Host header for a HOST:PORT target: its host name (no SNI for an IP address,
// which RFC 6066 does not allow there) unless `sni` names one.
void addressTarget(LoadSpec& spec, const server::Endpoint& endpoint, const std::string& sni);

// Runs warm-up (one full handshake per slot and profile, not counted) then the measured
// phase. Throws BenchError when no warm-up connection succeeds (unreachable target, not
// TLS). Returns early, with what it has, when `stop` becomes true.
LoadResult runLoad(const LoadSpec& spec, const std::atomic<bool>& stop);

Percentiles percentiles(std::vector<std::uint32_t> samples);

}  // namespace tlsresume::tools::bench
