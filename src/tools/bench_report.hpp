#pragma once
// Outputs of a bench run: the terminal table, the JSON document, and the Markdown report
// with gnuplot charts and a conclusion computed from the figures.
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "tools/bench_types.hpp"

namespace tlsresume::tools::bench {

// Aligned columns; colour only when `out` is a terminal and NO_COLOR is unset.
void printTable(const RunResult& run, std::FILE* out);
void printConclusions(const RunResult& run, std::FILE* out);

// {"version":1,"machine":{...},"settings":{...},"cells":[...],"floor":[...]}
std::string toJson(const RunResult& run);

// One resumption mode of one server set against the full handshake it replaces.
struct TradeOff {
  std::string target;
  CertType cert = CertType::ecdsa;
  std::string cert_name;  // as the client saw it (CellResult::certName)
  Scenario mode = Scenario::ticket_tls13;
  bool by_id_instead = false;  // a TLS 1.2 ticket cell that resumed by session id
  Scenario baseline = Scenario::full_tls13;
  std::optional<double> cpu_us, baseline_cpu_us;  // server CPU per handshake
  std::optional<double> speedup;                  // baseline / mode, CPU (or throughput); absent if it mostly did not resume
  bool by_throughput = false;                     // no CPU figure: handshakes/s ratio instead
  bool by_rounds = false;                         // the median of the rounds' ratios
  double resumed_ratio = 0;
  std::string security;   // what this mode costs in security, one line
  std::string revocable;  // "yes", "yes (revocation list)", "no"
};
std::vector<TradeOff> tradeOffs(const RunResult& run);
// Plain-language sentences with the numbers, for the terminal and the report.
std::vector<std::string> conclusions(const RunResult& run);
// "What to enable": one Markdown line per deployment (one server; several servers without
// a shared cache; several servers sharing one), each with the gain this run measured (or
// "not measured"), the security cost and the settings for tlsresume, nginx and HAProxy.
std::vector<std::string> whatToEnable(const RunResult& run);

struct ReportFiles {
  std::string index;  // DIR/index.md
  std::string note;   // e.g. "no charts: gnuplot not found (apt-get install gnuplot-nox)"
};
// Writes index.md, the SVG charts and their data into `dir` (created if missing).
ReportFiles writeReport(const RunResult& run, const std::string& dir);

// Charts through gnuplot; returns the SVG file names written, or why there are none.
struct Charts {
  std::vector<std::pair<std::string, std::string>> files;  // (title, file name)
  std::string missing_reason;
};
Charts drawCharts(const RunResult& run, const std::string& dir);

std::string formatNumber(double v, int decimals);

// The fleet target's cells, one row each, for the terminal and the report: resumed ratio,
// CPU per handshake summed over its servers against one server's (self), Redis lookups and
// their latency, the client's latency against self, Redis's CPU per resumption.
std::vector<std::string> fleetColumns();
// The split of CPU per handshake (splitRows), as text cells, for the terminal and the report.
std::vector<std::string> splitColumns();
std::vector<std::vector<std::string>> splitTable(const RunResult& run);
std::vector<std::vector<std::string>> fleetRows(const RunResult& run);
std::string seriesName(const RunResult& run, const CellResult& cell);

// The kind of a target of the run by its name (external when unknown).
TargetKind kindOf(const RunResult& run, const std::string& target);

// Where one server's CPU per handshake goes: the kernel's connection (the TCP floor's CPU
// per connection, same scenario and round sweep), the TLS library (its in-memory floor for
// the same handshake) and the rest (the server's own work: event loop, objects, the HTTP
// exchange, and whatever the library does over a socket that it does not in memory).
struct SplitRow {
  std::string target, label, library;
  CertType cert = CertType::ecdsa;
  Scenario scenario = Scenario::full_tls13;
  double cpu_us = 0, tcp_floor_us = 0, library_floor_us = 0;
  double rest_us() const { return cpu_us - tcp_floor_us - library_floor_us; }
  // (server CPU - TCP floor) / library floor: 1 would be a server adding nothing to the library.
  double overFloor() const { return library_floor_us > 0 ? (cpu_us - tcp_floor_us) / library_floor_us : 0; }
};
// One row per TLS server's measured cell when the run has the TCP floor and that server's
// library floor for it (--target tcp-floor, --floor).
std::vector<SplitRow> splitRows(const RunResult& run);

// One aim checked against this run's figures. Aims whose servers were not measured are
// listed too, with what would measure them.
struct AimCheck {
  std::string aim;     // "CPU per handshake vs nginx", "(CPU - TCP floor) / library floor", "ticket bytes vs nginx"
  std::string server;  // label of the server judged
  std::string against; // label of the server compared with, or "library floor"
  std::string scenario;
  std::optional<double> value;  // absent: not measured
  double limit = 0;
  std::string unit;   // "×" or " B"
  std::string note;   // how to measure it when absent; the rounds' range when present
  bool holds() const { return value && *value <= limit; }
};
std::vector<AimCheck> aimChecks(const RunResult& run);
// "holds: tlsresume (BoringSSL) / nginx 1.22.1 (OpenSSL 3.0.19), session-id: 0.55× (aim ≤ 0.6×)"
std::string aimLine(const AimCheck& a);

// The TLS ticket each server's clients held after a ticket resumption, per protocol.
struct TicketSizes {
  std::string target, label;
  std::optional<double> tls12, tls13, stateful;
};
std::vector<TicketSizes> ticketSizes(const RunResult& run);

}  // namespace tlsresume::tools::bench
