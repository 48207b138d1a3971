// The Markdown report: conclusion first, then speed against security, the charts, every
// figure, the floor, and how it was measured.
#include <cerrno>
#include <cstring>
#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "tools/bench_report.hpp"

namespace tlsresume::tools::bench {
namespace {

std::string opt(const std::optional<double>& v, int decimals) { return v ? formatNumber(*v, decimals) : "–"; }

std::string nowUtc() {
  const std::time_t t = std::time(nullptr);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", std::gmtime(&t));
  return buf;
}

// Markdown table cells must not contain a bare '|'.
std::string cell(std::string s) {
  for (std::size_t i = 0; (i = s.find('|', i)) != std::string::npos; i += 2) s.replace(i, 1, "\\|");
  return s;
}

// A table's header (after the opening "|" the caller wrote), its alignment row (the first
// `text_columns` left-aligned, numbers right-aligned) and its rows.
template <typename Columns, typename Rows>
void tableBody(std::ostream& md, const Columns& cols, std::size_t text_columns, const Rows& rows) {
  for (const auto& c : cols) md << " " << c << " |";
  md << "\n|";
  for (std::size_t i = 0; i < cols.size(); ++i) md << (i < text_columns ? "---|" : "--:|");
  md << "\n";
  for (const auto& r : rows) {
    md << "|";
    for (const auto& v : r) md << " " << cell(v) << " |";
    md << "\n";
  }
  md << "\n";
}

void settings(std::ostream& md, const RunResult& run) {
  const auto& o = run.options;
  const auto& m = run.machine;
  md << "Measured " << (run.measured_at.empty() ? nowUtc() : run.measured_at) << " on " << m.nproc << " CPUs (" << (m.cpu_model.empty() ? "unknown CPU" : m.cpu_model)
     << "), " << m.openssl << ", " << m.kernel << ".\n"
     << "Each cell: " << o.concurrency << " concurrent connections, "
     << (o.count ? std::to_string(o.count) + " handshakes" : formatNumber(o.duration.count(), 1) + " s")
     << (o.rounds > 1 ? ", " + std::to_string(o.rounds) + " rounds (all targets in turn each round; the median shown)"
                      : std::string())
     << "; mix: " << formatNumber(100 * o.mix_no_ticket, 0) << "% of clients without tickets; "
     << (o.pin ? "servers pinned to CPU 0, generator to CPU 1" : "not pinned") << ". The run took "
     << formatNumber(run.wall_seconds, 0) << " s.\n\n";
}

// Every server of the run: what it is and the TLS library it runs, with its version.
void serversTable(std::ostream& md, const RunResult& run) {
  if (run.servers.empty()) return;
  md << "## Servers\n\n| label | target | software | version | TLS library |\n|---|---|---|---|---|\n";
  for (const auto& s : run.servers)
    md << "| " << cell(s.label) << " | `" << cell(s.target) << "` | " << cell(s.software) << " | "
       << (s.version.empty() ? "–" : cell(s.version)) << " | " << (s.library.empty() ? "unknown" : cell(s.library))
       << " |\n";
  md << "\nThe load generator and the in-process floor run " << cell(run.machine.openssl) << ".\n\n";
}

void aimsSection(std::ostream& md, const RunResult& run) {
  const auto aims = aimChecks(run);
  if (aims.empty()) return;
  md << "## Aims\n\n| aim | server | against | scenario | measured | aim | holds |\n|---|---|---|---|--:|--:|---|\n";
  for (const auto& a : aims) {
    const auto show = [&](double v) { return formatNumber(v, a.unit == "×" ? 2 : 0) + a.unit; };
    md << "| " << cell(a.aim) << " | " << cell(a.server) << " | " << (a.against.empty() ? "–" : cell(a.against))
       << " | " << (a.scenario.empty() ? "–" : a.scenario) << " | "
       << (a.value ? show(*a.value) + (a.note.empty() ? "" : " (" + cell(a.note) + ")") : "–") << " | ≤ "
       << (a.value || a.unit == "×" ? show(a.limit) : std::string("–")) << " | "
       << (a.value ? (a.holds() ? "yes" : "**no**") : "not measured: " + cell(a.note)) << " |\n";
  }
  md << "\nCPU ratios: server CPU per handshake of the first over the second, the median of the round-by-round "
        "ratios when the run has rounds (their range in brackets). Aims: ours on BoringSSL at most 0.6× nginx's and "
        "HAProxy's per resumed handshake and 0.8× per full one; for resumed handshakes, server CPU less the TCP "
        "floor at most 1.5× the library's in-memory floor, on both builds; tickets on BoringSSL no longer than "
        "nginx's.\n\n";
}

// Where each server's CPU per handshake goes, and the tickets it issues.
void splitSection(std::ostream& md, const RunResult& run) {
  const auto rows = splitTable(run);
  if (!rows.empty()) {
    md << "## Where a handshake's CPU goes\n\n";
    md << "Server CPU per handshake = TCP floor (the kernel's connection: the `tcp-floor` target's CPU per "
          "connection, same load without TLS, same scenario and rounds) + library floor (the server's TLS library "
          "alone in memory, same handshake) + rest (the server's own work: event loop, objects, the HTTP exchange, "
          "and what the library does over a socket but not in memory). (CPU−TCP)/floor is 1 for a server that adds "
          "nothing to its library.\n\n|";
    tableBody(md, splitColumns(), 3, rows);
  }
  const auto tickets = ticketSizes(run);
  if (!tickets.empty()) {
    md << "## Tickets on the wire\n\nLength of the ticket the client holds after a resumption, bytes (–: none "
          "held, or the cell did not run).\n\n| server | TLS 1.2 ticket | TLS 1.3 ticket | stateful TLS 1.3 "
          "ticket |\n|---|--:|--:|--:|\n";
    for (const auto& t : tickets)
      md << "| " << cell(t.label) << " | " << opt(t.tls12, 0) << " | " << opt(t.tls13, 0) << " | "
         << opt(t.stateful, 0) << " |\n";
    md << "\n";
  }
}

void tradeOffTable(std::ostream& md, const RunResult& run) {
  const auto trades = tradeOffs(run);
  if (trades.empty()) return;
  md << "## Speed against security\n\n"
     << "| server | cert | resumption | CPU µs/hs | full µs/hs | speed-up | resumed | security cost | revocable |\n"
     << "|---|---|---|--:|--:|--:|--:|---|---|\n";
  for (const auto& t : trades) {
    md << "| " << cell(t.target) << " | " << t.cert_name << " | " << toString(t.mode)
       << (t.by_id_instead ? " (resumed by session id)" : "") << " | " << opt(t.cpu_us, 0)
       << " | " << opt(t.baseline_cpu_us, 0) << " | "
       << (t.speedup ? formatNumber(*t.speedup, 2) + "×" + (t.by_throughput ? " (hs/s)" : "") : "–") << " | "
       << formatNumber(100 * t.resumed_ratio, 1) << "% | " << cell(t.security) << " | " << t.revocable << " |\n";
  }
  md << "\nSpeed-up: server CPU per handshake of the full handshake it replaces (TLS 1.2 for session ids and "
        "TLS 1.2 tickets, TLS 1.3 otherwise, the same blend for `mix`) divided by its own; with rounds, the median "
        "of the rounds' ratios (so it need not equal the ratio of the two medians shown). Without a CPU figure "
        "(marked hs/s), the same from handshakes per second.\n\n";
}

// The fleet target against one server: the aims are CPU per handshake within 1.2× of one
// server's, and a Redis lookup under 1 ms at p99 on loopback. Figures, not verdicts.
void fleetSection(std::ostream& md, const RunResult& run) {
  const auto rows = fleetRows(run);
  if (rows.empty()) return;
  md << "## Fleet\n\n"
     << run.options.fleet_size
     << " servers of ours share TLS sessions, ticket keys and revocations through one Redis (a `redis-server` the "
        "bench started, no persistence). Each client slot moves to another server on every connection, never "
        "the one whose handshake issued the session it offers: every resumption is made on another server. "
        "CPU per handshake is summed over the servers (Redis apart, in its own column); `fleet/self` divides it by "
        "the same scenario on one server measured in this run (aim: at most 1.2×). Lookups (hit/miss/timeout/error) "
        "and their latency come from the servers' `tlsresume_fleet_lookup_seconds` histograms, read before and after "
        "the cell (p50/p99 interpolated inside buckets whose bounds are 250 µs, 500 µs, 1 ms, 2 ms ...; aim: p99 "
        "under 1 ms on loopback); client +p50/+p99 is the fleet's handshake latency minus self's. Redis CPU per "
        "resumed handshake is `redis-server`'s own CPU time over the cell divided by the resumed handshakes; "
        "Redis cmds/hs counts every command Redis ran (session writes and lookups, and the servers' key, "
        "revocation and heartbeat polls) per handshake.\n\n|";
  tableBody(md, fleetColumns(), 2, rows);
}

void figures(std::ostream& md, const RunResult& run) {
  const bool with_floor = !run.floor.empty();
  md << "## All figures\n\n| target | cert | scenario | protocol | hs/s | p50 µs | p90 µs | p99 µs | CPU µs/hs | "
        "c→s B | s→c B | ticket B | resumed |"
     << (with_floor ? " floor µs |" : "") << " note |\n|---|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
     << (with_floor ? "--:|" : "") << "---|\n";
  for (const auto& c : run.cells) {
    md << "| " << cell(labelOf(run, c.target)) << " | " << c.certName() << " | " << toString(c.scenario) << " | ";
    if (!c.measured()) {
      md << "– | – | – | – | – | – | – | – | – | – |" << (with_floor ? " – |" : "") << " "
         << cell(c.skipped_reason.empty() ? "error: " + c.error : "skipped: " + c.skipped_reason) << " |\n";
      continue;
    }
    md << c.protocol << " | " << formatNumber(c.handshakes_per_sec, 0) << " | "
       << (c.latency_us ? formatNumber(c.latency_us->p50, 0) + " | " + formatNumber(c.latency_us->p90, 0) + " | " +
                              formatNumber(c.latency_us->p99, 0)
                        : std::string("– | – | –"))
       << " | " << opt(c.server_cpu_us_per_handshake, 0) << " | " << formatNumber(c.bytes_client_to_server, 0) << " | "
       << formatNumber(c.bytes_server_to_client, 0) << " | " << (c.ticket_bytes > 0 ? formatNumber(c.ticket_bytes, 0) : "–") << " | "
       << (c.resumed_ratio ? formatNumber(100 * *c.resumed_ratio, 1) + "%" : "–") << " |"
       << (with_floor ? " " + opt(c.floor_us, 0) + " |" : "") << " ";
    std::string note;
    if (!c.server_says.empty()) {
      note = "server says:";
      for (const auto& [kind, n] : c.server_says) note += " " + kind + " " + std::to_string(n);
    }
    if (c.errors) note += (note.empty() ? "" : "; ") + std::to_string(c.errors) + " errors: " + c.first_error;
    md << cell(note) << " |\n";
  }
  md << "\n";
  if (with_floor) {
    md << "## TLS library floor\n\nThe TLS library alone, client and server in one thread over memory BIO pairs: no "
          "sockets, no HTTP, the library's own session cache and ticket keys. Each library is measured by a binary "
          "built with it (the other build's by `tlsresume bench --floor-lines`, run by this one).\n\n| library | "
          "cert | handshake | server µs | client µs | handshakes | resumed |\n"
          "|---|---|---|--:|--:|--:|--:|\n";
    for (const auto& f : run.floor)
      md << "| " << cell(f.library) << " | " << toString(f.cert) << " | " << toString(f.scenario) << " | " << formatNumber(f.server_us, 1) << " | "
         << formatNumber(f.client_us, 1) << " | " << f.handshakes << " | " << formatNumber(100 * f.resumed_ratio, 1)
         << "% |\n";
    md << "\n";
  }
}

// The servers of this run, as they were set up: only what applies to the targets measured.
std::string servers(const RunResult& run) {
  bool self = false, nginx = false, haproxy = false, outside = false;
  for (const auto& t : run.options.targets) {
    self = self || t.kind == TargetKind::self;
    nginx = nginx || t.kind == TargetKind::nginx;
    haproxy = haproxy || t.kind == TargetKind::haproxy;
    outside = outside || t.kind == TargetKind::external;
  }
  std::vector<std::string> parts;
  if (self) parts.push_back("our `tlsresume serve --workers 1 --admin off` with the built-in responder");
  for (const auto& t : run.options.targets)
    if (t.kind == TargetKind::other_build)
      parts.push_back("`" + t.name + "`: the same, from the build with the other TLS library (" + labelOf(run, t.name) +
                      ")");
  for (const auto& t : run.options.targets)
    if (t.kind == TargetKind::tcp_floor)
      parts.push_back("`tcp-floor`: a plain TCP server of the bench's own (one thread, one epoll loop, our listener "
                      "options, the answer corked with the FIN) answering the same request without TLS");
  if (std::any_of(run.options.targets.begin(), run.options.targets.end(),
                  [](const Target& t) { return t.kind == TargetKind::fleet; }))
    parts.push_back("the fleet: " + std::to_string(run.options.fleet_size) +
                    " of our servers as self (admin endpoint on loopback for its metrics) with a `[fleet]` section "
                    "on one `redis-server --save '' --appendonly no`, measured once each server encrypts with the "
                    "fleet's ticket key");
  if (nginx || haproxy) {
    std::string names;
    for (const auto& p : run.postures) {
      if (p.target != "nginx" && p.target != "haproxy") continue;
      names += (names.empty() ? "" : " and ") + p.target + (p.version.empty() ? "" : " " + p.version);
    }
    if (names.empty()) names = nginx && haproxy ? "nginx and haproxy" : nginx ? "nginx" : "haproxy";
    parts.push_back(names +
                    " with one worker, a shared session cache (1 h), tickets on with the keys the security "
                    "conclusion describes (off for `stateful-ticket`), TLS 1.2 and 1.3, and a fixed `200 ok`");
  }
  std::string out = "- **Servers**: ";
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? "; " : "") + parts[i];
  if (!parts.empty()) out += ".";
  if ((self ? 1 : 0) + (nginx ? 1 : 0) + (haproxy ? 1 : 0) >= 2)
    out += " They use the same certificate and key, the same TLS 1.2 cipher suites and key-exchange groups, and "
           "listen on 127.0.0.1.";
  if (outside)
    out += std::string(parts.empty() ? "" : " ") +
           "HOST:PORT targets are measured as they are: their own certificate (the cert column names what they "
           "presented), configuration and network path; the server name sent (SNI and Host) is their host name "
           "unless `--sni` gave one, none for an IP address.";
  return out + "\n";
}

void method(std::ostream& md, const RunResult& run) {
  md << "## How it was measured\n\n"
        "- **Cells**: target × scenario × certificate type, in one run, scenario by scenario with every target in "
        "turn. Each cell first makes one full "
        "handshake per client slot (not counted) to get a session, then every connection is TCP connect, TLS "
        "handshake, `GET "
     << run.options.path
     << " HTTP/1.1` with `Connection: close`, the response read until the server closes (any HTTP answer counts; "
        "statuses other than 2xx are noted). Resumed scenarios offer "
        "the slot's latest session (taken after the response, so TLS 1.3 tickets have arrived) and check "
        "`SSL_session_reused` on every handshake: the resumed ratio is measured, never assumed.\n"
        "- **Scenarios**: `full-tls13`, `full-tls12` offer no session; `session-id` is a TLS 1.2 client without "
        "ticket support; `ticket-tls12`, `ticket-tls13` resume by ticket; `stateful-ticket` is TLS 1.3 resumption by "
        "tickets that name a session the server keeps: our server with `tls13_tickets = \"stateful\"`, nginx with "
        "`ssl_session_tickets off`, haproxy with `no-tls-tickets` on its bind line (with tickets off, OpenSSL 3 issues "
        "stateful TLS 1.3 tickets from the server's session cache; the resumed column shows whether they resumed); `mix` is a share of TLS 1.2 "
        "clients without tickets and TLS 1.3 ticket clients for the rest.\n"
        "- **Latency**: from the start of the TCP connect to the end of the client's handshake, in microseconds.\n"
        "- **Server CPU per handshake**: user + system time of the server process and all its descendants (nginx: "
        "master and worker), each from its CPU clock in nanoseconds (`clock_getcpuclockid`, exited threads "
        "included; where that cannot be read, its threads' `/proc/PID/task/TID/schedstat`, or `/proc/PID/stat` in "
        "10 ms ticks), plus children that exited during the cell, over the measured part of the cell, divided by its "
        "handshakes. It includes TCP, the kernel's share and the HTTP exchange. Targets are measured scenario by "
        "scenario, in turn, so that compared cells run seconds apart.\n"
        "- **Bytes**: TLS handshake and ChangeCipherSpec records each way, 5-byte record headers included, for the "
        "whole connection (TLS 1.3 NewSessionTicket messages arrive after the handshake and are counted); no "
        "application data, no alerts, no TCP/IP headers.\n"
        "- **Ticket**: length of the ticket the client holds after the connection (–: no ticket).\n"
     << servers(run)
     << "- **Caveat**: the client runs on the same machine; handshakes/s is bounded by whichever side saturates first. "
        "CPU per handshake is the figure that compares servers.\n";
}

}  // namespace

ReportFiles writeReport(const RunResult& run, const std::string& dir) {
  std::filesystem::create_directories(dir);
  ReportFiles files;
  files.index = dir + "/index.md";
  const Charts charts = drawCharts(run, dir);
  if (charts.files.empty() || !charts.missing_reason.empty())
    files.note = charts.missing_reason.empty() ? "no charts" : "charts: " + charts.missing_reason;

  std::ofstream md(files.index, std::ios::trunc);
  md << "# tlsresume bench: is the speed-up from session tickets worth it?\n\n";
  md << "## What to enable\n\n";
  for (const auto& l : whatToEnable(run)) md << "- " << l << "\n";
  md << "\nGains are server CPU per handshake, resumed against full, from this run; the conclusion below has every "
        "figure.\n\n";
  settings(md, run);
  md << "## Conclusion\n\n";
  const auto lines = conclusions(run);
  if (lines.empty()) md << "No cell was measured: nothing to conclude.\n";
  for (const auto& l : lines) md << "- " << l << "\n";
  md << "\n";
  aimsSection(md, run);
  serversTable(md, run);
  splitSection(md, run);
  tradeOffTable(md, run);
  fleetSection(md, run);
  md << "## Charts\n\n";
  for (const auto& [title, file] : charts.files) md << "![" << title << "](" << file << ")\n\n";
  if (!charts.missing_reason.empty()) md << "_Charts missing: " << charts.missing_reason << "._\n\n";
  figures(md, run);
  method(md, run);
  md << "\nMachine-readable figures: [bench.json](bench.json).\n";
  // Checked after the close: a full disk shows when the buffer is flushed.
  md.close();
  if (md.fail()) throw BenchError("cannot write " + files.index + ": " + std::strerror(errno));
  std::ofstream json(dir + "/bench.json", std::ios::trunc);
  json << toJson(run);
  json.close();
  if (json.fail()) throw BenchError("cannot write " + dir + "/bench.json: " + std::strerror(errno));
  return files;
}

}  // namespace tlsresume::tools::bench
