// Where a handshake's CPU goes (kernel's connection, TLS library, the server's own work),
// the aims checked against a run's figures, and the tickets each server issues.
#include <algorithm>

#include "tools/bench_report.hpp"

namespace tlsresume::tools::bench {
namespace {

// Ours against nginx and HAProxy per handshake, on BoringSSL: a resumed handshake at most
// 0.6× theirs, a full one at most 0.8×.
constexpr double kResumedVsPeer = 0.6;
constexpr double kFullVsPeer = 0.8;
// (server CPU - TCP floor) at most 1.5× the library's in-memory floor for resumed handshakes.
constexpr double kOverLibraryFloor = 1.5;
constexpr const char* kAimLibrary = "BoringSSL";

const CellResult* findCell(const RunResult& run, const std::string& target, CertType cert, Scenario scenario) {
  for (const auto& c : run.cells)
    if (c.target == target && c.cert == cert && c.scenario == scenario && c.measured() && c.handshakes > 0 &&
        !c.mostlyFailed())
      return &c;
  return nullptr;
}

const Target* targetOfKind(const RunResult& run, TargetKind kind) {
  for (const auto& t : run.options.targets)
    if (t.kind == kind) return &t;
  return nullptr;
}

// A over B, round by round when both have the same rounds (each round's cells ran seconds
// apart), with the range; else the ratio of the medians.
std::optional<std::pair<double, std::string>> ratio(const CellResult& a, const CellResult& b) {
  if (!a.server_cpu_us_per_handshake || !b.server_cpu_us_per_handshake || *b.server_cpu_us_per_handshake <= 0)
    return std::nullopt;
  const auto& x = a.server_cpu_us_rounds;
  const auto& y = b.server_cpu_us_rounds;
  std::vector<double> r;
  if (x.size() == y.size() && x.size() >= 2)
    for (std::size_t i = 0; i < x.size(); ++i)
      if (y[i] > 0) r.push_back(x[i] / y[i]);
  if (r.size() >= 2 && r.size() == x.size()) {
    const auto [low, high] = std::minmax_element(r.begin(), r.end());
    return std::pair{median(r), "rounds " + formatNumber(*low, 2) + "–" + formatNumber(*high, 2)};
  }
  return std::pair{*a.server_cpu_us_per_handshake / *b.server_cpu_us_per_handshake, std::string()};
}

std::vector<const ServerInfo*> oursOn(const RunResult& run, const std::string& library) {
  std::vector<const ServerInfo*> out;
  for (const auto& s : run.servers)
    if (isOurs(kindOf(run, s.target)) && s.library.rfind(library, 0) == 0) out.push_back(&s);
  return out;
}

std::string oursOnBoringsslHow(const RunResult& run) {
  (void)run;
  return "no tlsresume built with BoringSSL measured in this run (make build TLS=boringssl, then --target "
         "self-boringssl; make bench-peers does both)";
}

}  // namespace

TargetKind kindOf(const RunResult& run, const std::string& target) {
  for (const auto& t : run.options.targets)
    if (t.name == target) return t.kind;
  return TargetKind::external;
}

std::vector<SplitRow> splitRows(const RunResult& run) {
  std::vector<SplitRow> rows;
  const Target* tcp = targetOfKind(run, TargetKind::tcp_floor);
  if (!tcp) return rows;
  for (const auto& c : run.cells) {
    const TargetKind kind = kindOf(run, c.target);
    if (kind == TargetKind::tcp_floor || kind == TargetKind::fleet || kind == TargetKind::external) continue;
    if (!c.measured() || c.mostlyFailed() || !c.server_cpu_us_per_handshake || !c.floor_us) continue;
    const CellResult* floor = findCell(run, tcp->name, c.cert, c.scenario);
    if (!floor || !floor->server_cpu_us_per_handshake) continue;
    SplitRow r;
    r.target = c.target;
    r.label = labelOf(run, c.target);
    const ServerInfo* info = serverOf(run, c.target);
    r.library = info ? info->library : std::string();
    r.cert = c.cert;
    r.scenario = c.scenario;
    r.cpu_us = *c.server_cpu_us_per_handshake;
    r.tcp_floor_us = *floor->server_cpu_us_per_handshake;
    r.library_floor_us = *c.floor_us;
    rows.push_back(r);
  }
  return rows;
}

std::vector<AimCheck> aimChecks(const RunResult& run) {
  std::vector<AimCheck> out;
  const auto boring = oursOn(run, kAimLibrary);
  std::vector<const Target*> peers;
  for (TargetKind k : {TargetKind::nginx, TargetKind::haproxy})
    if (const Target* t = targetOfKind(run, k)) peers.push_back(t);

  // 1. Ours on BoringSSL against nginx and HAProxy, every scenario.
  if (boring.empty()) {
    AimCheck a;
    a.aim = "CPU per handshake vs nginx and HAProxy";
    a.server = "tlsresume (BoringSSL)";
    a.note = oursOnBoringsslHow(run);
    out.push_back(a);
  }
  for (const ServerInfo* ours : boring) {
    if (peers.empty()) {
      AimCheck a;
      a.aim = "CPU per handshake vs nginx and HAProxy";
      a.server = ours->label;
      a.note = "neither nginx nor haproxy measured in this run (--target " + ours->target + ",nginx,haproxy)";
      out.push_back(a);
    }
    for (const Target* peer : peers)
      for (CertType cert : run.options.certs)
        for (Scenario s : run.options.scenarios) {
          AimCheck a;
          a.aim = "CPU per handshake vs " + peer->name;
          a.server = ours->label;
          a.against = labelOf(run, peer->name);
          a.scenario = std::string(toString(s)) + (run.options.certs.size() > 1 ? " " + std::string(toString(cert)) : "");
          a.limit = resumes(s) ? kResumedVsPeer : kFullVsPeer;
          a.unit = "×";
          const CellResult* x = findCell(run, ours->target, cert, s);
          const CellResult* y = findCell(run, peer->name, cert, s);
          if (x && y)
            if (auto r = ratio(*x, *y)) {
              a.value = r->first;
              a.note = r->second;
            }
          if (!a.value) a.note = "no CPU figure for both in this run";
          out.push_back(a);
        }
  }

  // 2. Over the library's floor, the kernel's connection taken out: ours, every library.
  const auto split = splitRows(run);
  for (const auto& t : run.options.targets) {
    if (!isOurs(t.kind)) continue;
    bool any = false;
    for (const auto& r : split) {
      if (r.target != t.name || !resumes(r.scenario)) continue;
      AimCheck a;
      a.aim = "(CPU - TCP floor) / library floor";
      a.server = r.label;
      a.against = shortLibrary(r.library) + " in memory";
      a.scenario = std::string(toString(r.scenario)) +
                   (run.options.certs.size() > 1 ? " " + std::string(toString(r.cert)) : "");
      a.value = r.overFloor();
      a.limit = kOverLibraryFloor;
      a.unit = "×";
      out.push_back(a);
      any = true;
    }
    if (!any) {
      AimCheck a;
      a.aim = "(CPU - TCP floor) / library floor";
      a.server = labelOf(run, t.name);
      a.limit = kOverLibraryFloor;
      a.note = !targetOfKind(run, TargetKind::tcp_floor) ? "needs --target tcp-floor"
               : !run.options.floor                      ? "needs --floor"
                                                         : "no resumed cell with both floors measured";
      out.push_back(a);
    }
  }

  // 3. Tickets on the wire: ours on BoringSSL no longer than nginx's.
  const Target* nginx = targetOfKind(run, TargetKind::nginx);
  for (const ServerInfo* ours : boring)
    for (Scenario s : {Scenario::ticket_tls12, Scenario::ticket_tls13}) {
      if (std::find(run.options.scenarios.begin(), run.options.scenarios.end(), s) == run.options.scenarios.end())
        continue;
      AimCheck a;
      a.aim = "ticket bytes vs nginx";
      a.server = ours->label;
      a.scenario = toString(s);
      a.unit = " B";
      const CellResult* x = findCell(run, ours->target, run.options.certs.front(), s);
      const CellResult* y = nginx ? findCell(run, nginx->name, run.options.certs.front(), s) : nullptr;
      if (!nginx) {
        a.note = "nginx not measured in this run (--target " + ours->target + ",nginx)";
      } else if (x && y && x->ticket_bytes > 0 && y->ticket_bytes > 0) {
        a.against = labelOf(run, nginx->name);
        a.value = x->ticket_bytes;
        a.limit = y->ticket_bytes;
      } else {
        a.against = labelOf(run, nginx->name);
        a.note = "no ticket held by the client of one of them";
      }
      out.push_back(a);
    }
  return out;
}

std::string aimLine(const AimCheck& a) {
  const auto show = [&](double v) { return formatNumber(v, a.unit == "×" ? 2 : 0) + a.unit; };
  std::string s = std::string(a.value ? (a.holds() ? "holds" : "missed") : "not measured") + ": " + a.aim + ": " +
                  a.server + (a.against.empty() ? "" : " / " + a.against) +
                  (a.scenario.empty() ? "" : ", " + a.scenario);
  if (a.value)
    s += ": " + show(*a.value) + (a.note.empty() ? "" : " (" + a.note + ")") + " (aim ≤ " + show(a.limit) + ")";
  else
    s += ": " + a.note;
  return s;
}

std::vector<TicketSizes> ticketSizes(const RunResult& run) {
  std::vector<TicketSizes> out;
  for (const auto& t : run.options.targets) {
    if (t.kind == TargetKind::tcp_floor) continue;
    TicketSizes row;
    row.target = t.name;
    row.label = labelOf(run, t.name);
    const auto bytes = [&](Scenario s) -> std::optional<double> {
      const CellResult* c = findCell(run, t.name, run.options.certs.front(), s);
      if (!c || c->ticket_bytes <= 0 || c->resumedByIdInstead()) return std::nullopt;
      return c->ticket_bytes;
    };
    row.tls12 = bytes(Scenario::ticket_tls12);
    row.tls13 = bytes(Scenario::ticket_tls13);
    row.stateful = bytes(Scenario::stateful_ticket);
    if (row.tls12 || row.tls13 || row.stateful) out.push_back(row);
  }
  return out;
}

}  // namespace tlsresume::tools::bench
