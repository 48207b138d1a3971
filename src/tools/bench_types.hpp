#pragma once
// Vocabulary of `tlsresume bench`: scenarios, certificate types, targets, the settings of
// a run and the figures of one cell (target x scenario x certificate type).
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "server/config.hpp"

namespace tlsresume::tools::bench {

// A hard error: the run cannot go on (exit code 1). Expected outcomes such as "the
// server never resumes" are figures, not errors.
struct BenchError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class Scenario { full_tls13, full_tls12, session_id, ticket_tls12, ticket_tls13, stateful_ticket, mix };

const char* toString(Scenario s);
// Accepts the names above with '-' and the group "full" (both full variants).
std::optional<std::vector<Scenario>> parseScenario(const std::string& name);
const std::vector<Scenario>& allScenarios();
// Whether the client offers a saved session (everything but the two full scenarios).
bool resumes(Scenario s);

enum class CertType { ecdsa, rsa };
const char* toString(CertType c);

// The middle value (the mean of the two middle ones for an even count); 0 for none.
double median(std::vector<double> v);

// fleet: `--fleet-size` of our servers sharing one Redis (a redis-server the bench starts).
// other_build: our server from the build with the other TLS library ("self-boringssl",
// "self-openssl"; --other-build names the binary). tcp_floor: no TLS at all, a plain
// accept / read / write / close server of the bench's own (bench_tcp_floor.hpp), whose CPU
// per connection is the kernel's share of every server's handshake.
enum class TargetKind { self, nginx, haproxy, external, fleet, other_build, tcp_floor };

struct Target {
  TargetKind kind = TargetKind::self;
  std::string name;           // "self", "nginx", "haproxy", "self-boringssl", "tcp-floor" or HOST:PORT as given
  server::Endpoint endpoint;  // for external targets
  std::string library;        // other_build: the library its name asks for ("BoringSSL", "OpenSSL")
};

// Our own servers, whichever library they were built with.
inline bool isOurs(TargetKind k) { return k == TargetKind::self || k == TargetKind::other_build; }

struct BenchOptions {
  std::vector<Target> targets;
  std::vector<Scenario> scenarios;
  std::vector<CertType> certs;
  unsigned concurrency = 8;
  std::chrono::duration<double> duration{0};  // per cell, when count == 0
  std::uint64_t count = 0;                    // handshakes per cell, 0: bounded by duration
  unsigned rounds = 1;                        // every cell this many times, in turn; medians kept
  double mix_no_ticket = 0.3;
  bool pin = false;
  bool floor = false;
  std::string json_file;
  std::string report_dir;
  std::string nginx_bin;
  std::string haproxy_bin;
  int server_pid = 0;  // CPU of an external target, if the caller knows its pid
  std::string sni;     // server name for HOST:PORT targets; empty: their HOST unless an IP address
  std::string path = "/";  // of the request each connection makes
  unsigned fleet_size = 3;  // servers of the fleet target
  std::string other_build;  // binary of the other_build target; empty: the default next to this one
};

struct Percentiles {
  double p50 = 0, p90 = 0, p99 = 0;
};

// What a fleet cell measured besides the load: the servers' fleet metrics and Redis, as
// differences between a sample taken when the measured phase starts and one at its end.
struct FleetFigures {
  unsigned nodes = 0;
  std::vector<double> node_cpu_us;  // CPU of each server over the cell (their sum is the cell's)
  std::uint64_t lookups_hit = 0, lookups_miss = 0, lookups_timeout = 0, lookups_error = 0;
  std::uint64_t writes = 0, writes_dropped = 0;
  // Remote lookup latency from the servers' tlsresume_fleet_lookup_seconds histograms
  // (summed over the servers, interpolated inside a bucket as Prometheus'
  // histogram_quantile does), and the mean from _sum / _count; absent without lookups.
  std::optional<double> lookup_p50_us, lookup_p99_us, lookup_mean_us;
  std::optional<double> redis_cpu_us;                // redis-server's CPU over the cell
  std::optional<double> redis_cpu_us_per_resumed;    // ... per resumed handshake
  std::optional<double> redis_cpu_us_per_command;    // ... per command it ran
  std::map<std::string, std::uint64_t> redis_commands;  // calls per command (INFO commandstats)
  std::optional<std::uint64_t> redis_used_memory;       // INFO memory used_memory at the end, bytes
  std::optional<std::uint64_t> redis_keys;              // DBSIZE at the end
  std::optional<std::uint64_t> redis_used_memory_start, redis_keys_start;  // ... when the measured phase began
  std::vector<std::uint64_t> handshakes_per_node;        // measured handshakes each server made
  std::uint64_t resumed_on_issuer = 0;  // resumptions on the server that issued the session (expected 0)
  // Against the same scenario and certificate on one server ("self"), when the run measured it.
  std::optional<double> self_cpu_us_per_handshake;
  std::optional<double> cpu_vs_self;  // fleet CPU per handshake (summed over servers) / self's
  std::optional<double> client_p50_added_us, client_p99_added_us;  // fleet latency - self's

  std::uint64_t lookups() const { return lookups_hit + lookups_miss + lookups_timeout + lookups_error; }
  std::uint64_t redisCommands() const {
    std::uint64_t n = 0;
    for (const auto& [name, calls] : redis_commands) n += calls;
    return n;
  }
};

// Figures of one cell. Optional figures are absent when they cannot be measured (no
// pid for an external target, no handshakes) rather than made up.
struct CellResult {
  std::string target;
  Scenario scenario = Scenario::full_tls13;
  CertType cert = CertType::ecdsa;
  // The certificate's key as the client saw it ("ecdsa", "rsa", "rsa-4096", ...): a
  // HOST:PORT target presents its own, whatever --cert-type says.
  std::string server_key;
  std::string protocol;  // negotiated, as observed: "TLSv1.3", "TLSv1.2" or both
  std::uint64_t handshakes = 0;
  std::uint64_t resumed = 0;
  std::uint64_t resumed_by_ticket = 0;  // ... from a ticket; TLS 1.2 without one resumed by session id
  std::uint64_t attempts = 0;  // measured connections begun
  std::uint64_t errors = 0;    // ... that failed: connect, TLS, no or no HTTP answer
  std::uint64_t not_2xx = 0;   // answers with a status other than 2xx (answers all the same)
  std::string first_not_2xx;   // the first such status line
  double seconds = 0;          // summed over rounds
  double handshakes_per_sec = 0;  // the median round's rate
  std::optional<Percentiles> latency_us;
  std::optional<double> server_cpu_us_per_handshake;  // the median over rounds
  std::vector<double> server_cpu_us_rounds;           // each round's figure, when rounds > 1
  double bytes_client_to_server = 0;                  // TLS handshake records per connection
  double bytes_server_to_client = 0;                  // ... including TLS 1.3 NewSessionTicket messages
  double ticket_bytes = 0;                            // mean ticket length held by the client, 0 if none
  std::optional<double> resumed_ratio;
  std::map<std::string, std::uint64_t> server_says;  // built-in responder's "resumed:" lines
  std::optional<double> floor_us;                    // its TLS library alone, server side, same handshake kind
  std::string skipped_reason;
  std::string error;
  std::string first_error;  // first failed connection, when some failed
  std::optional<FleetFigures> fleet;  // the fleet target's cells

  bool measured() const { return skipped_reason.empty() && error.empty(); }
  // More than 1 connection in 10 failed: its figures measure failures, not handshakes.
  bool mostlyFailed() const { return errors * 10 > attempts; }
  // The certificate to name for this cell: the one seen, else the one we served.
  std::string certName() const { return server_key.empty() ? toString(cert) : server_key; }
  // A TLS 1.2 "ticket" cell whose resumptions mostly came without a ticket measured
  // session-id resumption (the server issued no tickets).
  bool resumedByIdInstead() const {
    return scenario == Scenario::ticket_tls12 && resumed > 0 && 2 * resumed_by_ticket < resumed;
  }
};

// A TLS library's own cost of one handshake in memory (no sockets, no HTTP), per side.
struct FloorResult {
  std::string library;  // as the library names itself ("OpenSSL 3.0.19 27 Jan 2026", "BoringSSL (API 17)")
  CertType cert = CertType::ecdsa;
  Scenario scenario = Scenario::full_tls13;
  std::uint64_t handshakes = 0;
  double server_us = 0;
  double client_us = 0;
  double resumed_ratio = 0;
};

// The security side of a server configuration, for the report's conclusion.
struct Posture {
  std::string target;
  std::string version;  // of nginx / HAProxy as `-v` names it ("1.22.1", "2.6.12-1+deb12u4"); empty: ours or unknown
  bool known = true;  // false for HOST:PORT: we cannot see its config
  bool tls12_tickets = true;
  std::optional<std::chrono::seconds> session_lifetime;  // how long a cached session resumes
  // How long recorded TLS 1.2 ticket-resumed traffic stays exposed if a ticket key
  // (STEK) leaks: encrypt period plus the time tickets it sealed stay valid.
  std::optional<std::chrono::seconds> stek_window;  // absent: until the process restarts
  std::string rotation;                             // human text: how keys rotate
  std::string psk_modes;                            // "psk_dhe_ke" or "psk_dhe_ke, psk_ke"
  bool tickets_revocable = false;
  bool sessions_revocable = false;  // one session id / stateful ticket can be forgotten on demand
};

// What a target is, for labels: "tlsresume (OpenSSL 3.0.19)", "nginx 1.22.1 (OpenSSL 3.0.19)".
struct ServerInfo {
  std::string target;    // the target's name, as in the cells
  std::string software;  // "tlsresume", "nginx", "HAProxy", "TCP floor"; the HOST:PORT for outside targets
  std::string version;   // of nginx / HAProxy; empty for ours
  std::string library;   // the TLS library it runs, as it names itself; empty: unknown or none
  std::string label;     // unique within the run
};

// "OpenSSL 3.0.19" from "OpenSSL 3.0.19 27 Jan 2026", "BoringSSL" from "BoringSSL (API 17)".
std::string shortLibrary(const std::string& library);

struct Machine {
  unsigned nproc = 0;
  std::string openssl;  // the TLS library this binary (the load generator, the floor) runs
  std::string kernel;
  std::string cpu_model;
};

struct RunResult;
// The target's label, or its name when the run has no description of it.
std::string labelOf(const RunResult& run, const std::string& target);
const ServerInfo* serverOf(const RunResult& run, const std::string& target);

struct RunResult {
  Machine machine;
  BenchOptions options;
  std::vector<CellResult> cells;
  std::vector<FloorResult> floor;
  std::vector<Posture> postures;
  std::vector<ServerInfo> servers;  // one per target, in the targets' order
  double wall_seconds = 0;
  std::string measured_at;  // UTC, "2026-11-26 14:05 UTC", when the run started
};

}  // namespace tlsresume::tools::bench
