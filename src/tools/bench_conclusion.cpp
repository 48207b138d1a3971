// The conclusion of a run, computed from its figures: what each resumption mode saves
// against the full handshake it replaces, and what it costs in security.
#include <algorithm>
#include <cmath>
#include <map>

#include "server/config.hpp"
#include "tools/bench_report.hpp"

namespace tlsresume::tools::bench {
namespace {

// Self over peer CPU for one scenario. With rounds, each round's two cells ran seconds
// apart, so their ratio holds even when the whole machine drifts between rounds (here a
// cell's rounds differed by up to 30%, all servers together): the median of the per-round
// ratios, with their range; the ratio of the two medians could pair different rounds.
std::string cpuRatio(const CellResult& self, const CellResult& peer) {
  const auto& a = self.server_cpu_us_rounds;
  const auto& b = peer.server_cpu_us_rounds;
  std::vector<double> ratios;
  if (a.size() == b.size() && a.size() >= 2)
    for (std::size_t i = 0; i < a.size(); ++i)
      if (a[i] > 0 && b[i] > 0) ratios.push_back(a[i] / b[i]);
  if (ratios.size() != a.size() || ratios.empty())
    return formatNumber(*self.server_cpu_us_per_handshake / *peer.server_cpu_us_per_handshake, 2) + "×";
  const auto [low, high] = std::minmax_element(ratios.begin(), ratios.end());
  return formatNumber(median(ratios), 2) + "× (" + formatNumber(*low, 2) + "–" + formatNumber(*high, 2) + ")";
}

// Below these, a resumption mode saves nothing this measurement can show, or little (less
// than a third of a full handshake's CPU).
constexpr double kNothingSpeedup = 1.1;
constexpr double kLittleSpeedup = 1.5;
// Two modes within this ratio of each other cost "the same" at this measurement's precision.
constexpr double kSameCost = 1.10;
// A mode that resumed less often than this measured mostly full handshakes.
constexpr double kResumedEnough = 0.9;

std::string us(double v) { return formatNumber(v, 0) + " µs"; }

// Whether every cell has a CPU figure for each of the same (two or more) rounds; a cell
// keeps its rounds only when all of them have one.
bool sameRounds(const CellResult& mode, const CellResult& base, const CellResult* base12) {
  const auto n = mode.server_cpu_us_rounds.size();
  return n >= 2 && base.server_cpu_us_rounds.size() == n && (!base12 || base12->server_cpu_us_rounds.size() == n);
}

// Full over resumed CPU, round by round when the cells have the same rounds (each round's
// cells ran seconds apart; the medians of two cells may come from different rounds, which
// on a drifting machine moved a ratio from 1.20 to 1.0 here), else from the medians.
// `share12` blends a TLS 1.2 baseline into the TLS 1.3 one (mix).
std::optional<double> cpuSpeedup(const CellResult& mode, const CellResult& base, const CellResult* base12,
                                 double share12) {
  const auto& m = mode.server_cpu_us_rounds;
  const auto& b = base.server_cpu_us_rounds;
  if (sameRounds(mode, base, base12)) {
    std::vector<double> ratios;
    for (std::size_t i = 0; i < m.size(); ++i) {
      const double full = base12 ? share12 * base12->server_cpu_us_rounds[i] + (1 - share12) * b[i] : b[i];
      if (m[i] <= 0 || full <= 0) return std::nullopt;  // no ratio of a round that measured nothing
      ratios.push_back(full / m[i]);
    }
    return median(std::move(ratios));
  }
  if (!mode.server_cpu_us_per_handshake || !base.server_cpu_us_per_handshake || *mode.server_cpu_us_per_handshake <= 0)
    return std::nullopt;
  if (base12 && !base12->server_cpu_us_per_handshake) return std::nullopt;
  const double full = base12 ? share12 * *base12->server_cpu_us_per_handshake +
                                   (1 - share12) * *base.server_cpu_us_per_handshake
                             : *base.server_cpu_us_per_handshake;
  return full / *mode.server_cpu_us_per_handshake;
}
std::string times(double v) { return formatNumber(v, v < 10 ? 1 : 0) + "×"; }
// "57% less CPU", or "7% more CPU" when the resumed handshake cost more.
std::string saved(double speedup);
// "2.3×, 57% less CPU", with "round by round" when the ratio is the median of rounds' and so
// need not equal the ratio of the median figures printed beside it.
std::string ratioText(const TradeOff& t);
std::string saved(double speedup) {
  const double change = 100.0 * (1.0 - 1.0 / speedup);
  if (std::abs(change) < 0.5) return "the same CPU";
  return change >= 0 ? formatNumber(change, 0) + "% less CPU" : formatNumber(-change, 0) + "% more CPU";
}

std::string ratioText(const TradeOff& t) {
  return times(*t.speedup) + (t.by_rounds ? " round by round" : "") + ", " + saved(*t.speedup);
}

std::string duration(std::chrono::seconds s) {
  const long long n = s.count();
  if (n % 3600 == 0) return std::to_string(n / 3600) + " h";
  if (n % 60 == 0) return std::to_string(n / 60) + " min";
  return std::to_string(n) + " s";
}

const Posture* postureOf(const RunResult& run, const std::string& target) {
  for (const auto& p : run.postures)
    if (p.target == target) return &p;
  return nullptr;
}

std::string stekWindow(const Posture& p) {
  if (!p.known) return "an unknown time (its key rotation cannot be seen from outside)";
  return p.stek_window ? duration(*p.stek_window) : "as long as the process runs";
}

using Key = std::pair<std::string, CertType>;
using CellsByScenario = std::map<Scenario, const CellResult*>;

std::vector<std::pair<Key, CellsByScenario>> groups(const RunResult& run) {
  std::vector<std::pair<Key, CellsByScenario>> out;
  for (const auto& c : run.cells) {
    // A cell whose connections mostly failed measured failures: no conclusion from it.
    if (!c.measured() || c.handshakes == 0 || c.mostlyFailed()) continue;
    if (kindOf(run, c.target) == TargetKind::tcp_floor) continue;  // no TLS: nothing resumes
    const Key k{c.target, c.cert};
    auto it = std::find_if(out.begin(), out.end(), [&](const auto& g) { return g.first == k; });
    if (it == out.end()) it = out.insert(out.end(), {k, {}});
    it->second[c.scenario] = &c;
  }
  return out;
}

std::string securityOf(const CellResult& cell, const Posture& p) {
  // A server that issued no TLS 1.2 tickets was measured resuming by session id.
  const Scenario mode = cell.resumedByIdInstead() ? Scenario::session_id : cell.scenario;
  switch (mode) {
    case Scenario::session_id:
      return "no ticket key; sessions sit in the server's cache" +
             (p.session_lifetime ? ", bounded by its lifetime (" + duration(*p.session_lifetime) + ")"
                                 : std::string(" (lifetime unknown)"));
    case Scenario::stateful_ticket:
      return "no ticket key; sessions sit in the server's cache; " + p.psk_modes;
    case Scenario::ticket_tls12:
      if (!p.known) return "a leaked ticket key exposes recorded TLS 1.2 traffic (rotation unknown)";
      return "a leaked ticket key exposes recorded TLS 1.2 traffic (the ticket carries the master secret) for " +
             stekWindow(p) + "; key rotation: " + p.rotation;
    case Scenario::ticket_tls13:
      return p.psk_modes + ": recorded traffic stays secret if a ticket key leaks (every resumption runs a fresh " +
             "key exchange), but with the key an attacker can impersonate the server to clients presenting its "
             "tickets, for " +
             stekWindow(p);
    case Scenario::mix:
      return "both of the above: session ids for old clients, TLS 1.3 tickets for the rest";
    default:
      return "";
  }
}

std::string revocableOf(Scenario mode, const Posture& p) {
  if (!p.known) return "unknown";
  if (mode == Scenario::session_id || mode == Scenario::stateful_ticket)
    return p.sessions_revocable ? "yes" : "no (entries only expire)";
  if (mode == Scenario::mix)
    return std::string("session ids ") + (p.sessions_revocable ? "yes" : "no") + ", tickets " +
           (p.tickets_revocable ? "yes" : "no");
  return p.tickets_revocable ? "yes (revocation list)" : "no";
}

}  // namespace

std::string seriesName(const RunResult& run, const CellResult& cell) {
  const std::string name = labelOf(run, cell.target);
  return run.options.certs.size() > 1 ? name + "/" + cell.certName() : name;
}

std::vector<TradeOff> tradeOffs(const RunResult& run) {
  std::vector<TradeOff> out;
  const double share = run.options.mix_no_ticket;
  for (const auto& [key, cells] : groups(run)) {
    const Posture* posture = postureOf(run, key.first);
    Posture unknown;
    unknown.target = key.first;
    unknown.known = false;
    const Posture& p = posture ? *posture : unknown;
    auto cell = [&](Scenario s) -> const CellResult* {
      auto it = cells.find(s);
      return it == cells.end() ? nullptr : it->second;
    };
    for (Scenario mode : {Scenario::session_id, Scenario::ticket_tls12, Scenario::ticket_tls13,
                          Scenario::stateful_ticket, Scenario::mix}) {
      const CellResult* m = cell(mode);
      if (!m) continue;
      TradeOff t;
      t.target = key.first;
      t.cert = key.second;
      t.cert_name = m->certName();
      t.mode = mode;
      t.by_id_instead = m->resumedByIdInstead();
      t.baseline =
          mode == Scenario::session_id || mode == Scenario::ticket_tls12 ? Scenario::full_tls12 : Scenario::full_tls13;
      t.resumed_ratio = m->resumed_ratio.value_or(0);
      t.security = securityOf(*m, p);
      t.revocable = revocableOf(mode, p);
      t.cpu_us = m->server_cpu_us_per_handshake;
      const CellResult* b = cell(t.baseline);
      const CellResult* b12 = mode == Scenario::mix ? cell(Scenario::full_tls12) : nullptr;
      const bool have_base = b && (mode != Scenario::mix || b12);
      // The mix replaces a mix of full handshakes in the same proportions.
      if (have_base && b->server_cpu_us_per_handshake && (!b12 || b12->server_cpu_us_per_handshake))
        t.baseline_cpu_us = b12 ? share * *b12->server_cpu_us_per_handshake + (1 - share) * *b->server_cpu_us_per_handshake
                                : *b->server_cpu_us_per_handshake;
      // A mode that mostly did not resume measured full handshakes: no speed-up to claim.
      if (t.resumed_ratio >= kResumedEnough && have_base) {
        t.speedup = cpuSpeedup(*m, *b, b12, share);
        t.by_rounds = t.speedup && sameRounds(*m, *b, b12);
        if (!t.speedup && b->handshakes_per_sec > 0 && m->handshakes_per_sec > 0 &&
            (!b12 || b12->handshakes_per_sec > 0)) {
          // No CPU figures: time per handshake at full load, blended the same way.
          const double full = b12 ? share / b12->handshakes_per_sec + (1 - share) / b->handshakes_per_sec
                                  : 1 / b->handshakes_per_sec;
          t.speedup = full * m->handshakes_per_sec;
          t.by_throughput = true;
        }
      }
      out.push_back(t);
    }
  }
  return out;
}

namespace {

// "session-id 59% less server CPU than a full TLS 1.2 handshake (2.5×)", from the first
// target of the run that measured it (ours if it ran), per certificate type.
std::string gainOf(const std::vector<TradeOff>& trades, const RunResult& run, Scenario mode, const char* name) {
  (void)run;
  std::vector<std::string> targets;
  for (const auto& t : trades)
    if (std::find(targets.begin(), targets.end(), t.target) == targets.end()) targets.push_back(t.target);
  std::stable_partition(targets.begin(), targets.end(), [](const std::string& t) { return t == "self"; });
  for (const auto& target : targets) {
    std::string text;
    for (CertType cert : {CertType::ecdsa, CertType::rsa})
      for (const auto& t : trades) {
        if (t.target != target || t.cert != cert || t.mode != mode || !t.speedup || t.by_throughput ||
            t.by_id_instead)
          continue;
        text += std::string(text.empty() ? "" : ", ") + saved(*t.speedup) + " with " +
                (t.cert_name == "rsa" ? "RSA-2048" : t.cert_name == "ecdsa" ? "ECDSA P-256" : t.cert_name) + " (" +
                times(*t.speedup) + ")";
      }
    if (!text.empty())
      return std::string(name) + ": " + text + " than a full " +
             (mode == Scenario::session_id || mode == Scenario::ticket_tls12 ? "TLS 1.2" : "TLS 1.3") +
             " handshake on " + (target == "self" ? "our server" : target);
  }
  return std::string(name) + ": not measured in this run";
}

// What the run's fleet target measured for a mode: resumed across servers, CPU against one
// server, the lookup's added latency. Empty when the run had no fleet cell for it.
std::string fleetGain(const RunResult& run, Scenario mode, const char* name) {
  for (const auto& c : run.cells) {
    if (c.target != "fleet" || c.scenario != mode || !c.fleet) continue;
    char buf[320];
    std::string text = std::string(name) + " across " + std::to_string(c.fleet->nodes) + " servers: ";
    if (c.resumed_ratio) {
      std::snprintf(buf, sizeof buf, "%.0f%% resumed on a server other than the issuer", *c.resumed_ratio * 100);
      text += buf;
    }
    if (c.fleet->cpu_vs_self) {
      std::snprintf(buf, sizeof buf, ", server CPU %.2fx one server's", *c.fleet->cpu_vs_self);
      text += buf;
    }
    if (c.fleet->lookup_p99_us) {
      std::snprintf(buf, sizeof buf, ", Redis lookup p50 %.2f ms / p99 %.2f ms", c.fleet->lookup_p50_us.value_or(0) / 1000,
                    *c.fleet->lookup_p99_us / 1000);
      text += buf;
    }
    return text;
  }
  return {};
}

}  // namespace

std::vector<std::string> whatToEnable(const RunResult& run) {
  const auto trades = tradeOffs(run);
  const server::Config defaults;
  const auto& policy = defaults.hosts.front().policy;
  const std::string lifetime = duration(policy.session_lifetime);
  const std::string rotation = duration(defaults.ticket_key_rotation);
  const std::string window = duration(defaults.ticket_key_rotation + policy.session_lifetime);
  std::vector<std::string> out;
  out.push_back(
      "**One server: session ids and stateful TLS 1.3 tickets, no ticket key.** Measured: " +
      gainOf(trades, run, Scenario::session_id, "session ids") + "; " +
      gainOf(trades, run, Scenario::stateful_ticket, "stateful TLS 1.3 tickets") +
      ". On one server stateless tickets add a key to steal and, in the conclusion below, no speed. Security cost: the server keeps "
      "each session's secret for its lifetime (" +
      lifetime +
      " here); nothing a client holds can resume once the entry is gone, and ours can revoke it at once. Settings: "
      "tlsresume `tls12_tickets = false`, `tls13_tickets = \"stateful\"` (session ids are on by default); nginx "
      "`ssl_session_cache shared:SSL:10m;` `ssl_session_tickets off;`; HAProxy `tune.ssl.cachesize` (global, "
      "sessions kept) and `no-tls-tickets` on the `bind` line.");
  out.push_back(
      "**Several servers without a shared cache: stateless tickets, with the same rotating keys on every "
      "server.** Measured on one server: " +
      gainOf(trades, run, Scenario::ticket_tls12, "TLS 1.2 tickets") + "; " +
      gainOf(trades, run, Scenario::ticket_tls13, "TLS 1.3 tickets") +
      ". " +
      [&] {
        std::string f = fleetGain(run, Scenario::ticket_tls13, "TLS 1.3 tickets");
        const std::string f12 = fleetGain(run, Scenario::ticket_tls12, "TLS 1.2 tickets");
        if (!f12.empty()) f += (f.empty() ? "" : "; ") + f12;
        return f.empty() ? std::string("That a ticket issued by one server resumes on another is not measured in this run "
                                       "(tlsresume bench --target self,fleet measures it)")
                         : "Measured with tlsresume's fleet mode: " + f;
      }() +
      ". Security cost: a ticket key; whoever steals it decrypts recorded TLS 1.2 ticket-resumed traffic for as "
      "long as the key's tickets live (ours: a new key every " +
      rotation + ", exposure at most " + window +
      ") and can impersonate the server to TLS 1.3 ticket holders (recorded TLS 1.3 traffic stays secret: "
      "psk_dhe_ke). Settings: tlsresume `tls12_tickets = true`, `tls13_tickets = \"stateless\"` (the defaults), "
      "with a `[fleet]` section so every server shares the same rotating keys through Redis; nginx "
      "`ssl_session_tickets on;` and `ssl_session_ticket_key` with the same key files on every server (the first "
      "encrypts; the operator rotates them and reloads); HAProxy tickets on (no `no-tls-tickets`) and "
      "`tls-ticket-keys FILE` on the `bind` line, the same file everywhere.");
  out.push_back(
      "**Several servers sharing one session cache: session ids and stateful TLS 1.3 tickets from the shared "
      "store.** " +
      [&] {
        std::string f = fleetGain(run, Scenario::session_id, "Session ids");
        const std::string st = fleetGain(run, Scenario::stateful_ticket, "stateful TLS 1.3 tickets");
        if (!st.empty()) f += (f.empty() ? "" : "; ") + st;
        return f.empty() ? std::string("The gain per resumption is the one-server figure above less a round trip to the "
                                       "store: not measured in this run (tlsresume bench --target self,fleet measures it)")
                         : "Measured with tlsresume's fleet mode on one Redis: " + f;
      }() +
      ". Security cost: as on one server, but the store holds every server's session secrets (a Redis without "
      "persistence, an ACL user, TLS: docs/fleet.md), and no ticket key. Settings: tlsresume `[fleet] redis = "
      "\"rediss://...\"` (or `cluster = [...]`); nginx's `ssl_session_cache shared:` and HAProxy's "
      "`tune.ssl.cachesize` are shared by the workers of one machine only, so across machines with those servers: "
      "route each client back to the server it met (sticky load balancing) and use the one-server settings.");
  return out;
}

std::vector<std::string> conclusions(const RunResult& run) {
  std::vector<std::string> out;
  const auto trades = tradeOffs(run);
  // A mode that mostly did not resume measured full handshakes: no speed-up to speak of.
  auto find = [&](const std::string& target, CertType cert, Scenario mode) -> const TradeOff* {
    for (const auto& t : trades)
      if (t.target == target && t.cert == cert && t.mode == mode && t.speedup && !t.by_id_instead) return &t;
    return nullptr;
  };
  auto byCpu = [&](const std::string& target, CertType cert, Scenario mode) -> const TradeOff* {
    const TradeOff* t = find(target, cert, mode);
    return t && !t->by_throughput ? t : nullptr;
  };
  for (const auto& [key, cells] : groups(run)) {
    const auto& [target, cert] = key;
    const std::string cert_name = cells.begin()->second->certName();
    const std::string who = target + " (" + cert_name + ")";
    const Posture* posture = postureOf(run, target);

    // 1. The verdict: what resumption saves per protocol, and whether stateless tickets
    //    add speed over the stateful modes on one server.
    const TradeOff* id = byCpu(target, cert, Scenario::session_id);
    const TradeOff* t12 = byCpu(target, cert, Scenario::ticket_tls12);
    const TradeOff* t13 = byCpu(target, cert, Scenario::ticket_tls13);
    const TradeOff* sf = byCpu(target, cert, Scenario::stateful_ticket);
    auto best = [](const TradeOff* a, const TradeOff* b) {
      return !a ? b : !b ? a : *a->speedup >= *b->speedup ? a : b;
    };
    std::vector<std::string> parts;
    if (const TradeOff* b = best(id, t12))
      parts.push_back(saved(*b->speedup) + " for TLS 1.2 clients (" + toString(b->mode) + ", " + times(*b->speedup) +
                      ")");
    if (const TradeOff* b = best(t13, sf))
      parts.push_back(saved(*b->speedup) + " for TLS 1.3 clients (" + toString(b->mode) + ", " + times(*b->speedup) +
                      ")");
    if (!parts.empty()) {
      std::string v = "Verdict for " + who + ": against a full handshake, resumption costs the server " + parts[0] +
                      (parts.size() > 1 ? " and " + parts[1] : std::string()) + ".";
      std::vector<std::string> same;
      const bool tls12_same = id && t12 && *t12->speedup <= *id->speedup * kSameCost;
      if (tls12_same) same.push_back("TLS 1.2 tickets are no faster than session ids");
      if (sf && t13 && *t13->speedup <= *sf->speedup * kSameCost)
        same.push_back("stateless TLS 1.3 tickets are no faster than stateful ones");
      if (!same.empty()) {
        v += " On one server " + same[0] + (same.size() > 1 ? " and " + same[1] : std::string()) +
             ": stateless tickets pay off only across servers without a shared session cache";
        if (tls12_same && posture && posture->known && posture->tls12_tickets)
          v += ", and TLS 1.2 tickets cost a ticket key whose leak exposes recorded TLS 1.2 traffic for " +
               stekWindow(*posture);
        v += ".";
      }
      out.push_back(v);
    }

    // 2. The figures behind it, every mode.
    std::string line;
    bool any_cpu = false;
    for (const auto& t : trades) {
      if (t.target != target || t.cert != cert || !t.speedup || t.by_id_instead) continue;
      any_cpu = any_cpu || !t.by_throughput;
      line += line.empty() ? "" : "; ";
      line += std::string(toString(t.mode)) + " ";
      if (t.by_throughput)
        line += times(*t.speedup) + " the handshakes/s of " + toString(t.baseline);
      else
        line += us(*t.cpu_us) + " vs " + us(*t.baseline_cpu_us) + " (" + ratioText(t) + ")";
    }
    if (!line.empty())
      out.push_back(who + (any_cpu ? ", server CPU per handshake, resumed vs full: "
                                   : run.options.server_pid
                                         ? ", resumed vs full by handshakes per second (no CPU figure from "
                                           "--server-pid): "
                                         : ", resumed vs full by handshakes per second (the server's CPU was not "
                                           "measured; --server-pid gives it): ") +
                    line + ".");

    // 3. ECDSA and TLS 1.3: the skipped signature is cheap, the key exchange stays.
    if (t13 && cert_name == "ecdsa") {
      const double x = *t13->speedup;
      const std::string figures = us(*t13->cpu_us) + " against " + us(*t13->baseline_cpu_us) +
                                  " for a full TLS 1.3 handshake (" + ratioText(*t13) + ").";
      const std::string why =
          " A resumed TLS 1.3 handshake still runs an X25519 key exchange for forward secrecy; what it skips (the "
          "certificate and one ECDSA P-256 signature) is cheap.";
      std::string s = "With ECDSA, TLS 1.3 resumption (psk_dhe_ke) ";
      if (x < kNothingSpeedup)
        s += "saves nothing measurable on " + target + ": " + figures + why;
      else if (x < kLittleSpeedup)
        s += "saves little on " + target + ": " + figures + why;
      else
        s += "on " + target + ": " + figures;
      out.push_back(s);
    }
    // 3b. RSA: a full handshake signs with the RSA key, which costs far more server CPU than
    //     a P-256 signature; a resumed one signs nothing. Set against ECDSA when both ran.
    if (cert == CertType::rsa && cert_name == "rsa") {
      for (const TradeOff* r : {best(t13, sf), best(id, t12)}) {
        if (!r || !r->baseline_cpu_us || !r->cpu_us) continue;
        const bool tls13 = r->baseline == Scenario::full_tls13;
        std::string s = "With RSA-2048 on " + target + ", " + (tls13 ? "TLS 1.3" : "TLS 1.2") + ": " +
                        toString(r->mode) + " " + us(*r->cpu_us) + " against " + us(*r->baseline_cpu_us) +
                        " for a full handshake (" + ratioText(*r) + ").";
        const TradeOff* e = byCpu(target, CertType::ecdsa, r->mode);
        if (e && e->baseline_cpu_us && e->cpu_us)
          s += " With ECDSA P-256 the same server spent " + us(*e->baseline_cpu_us) + " on a full handshake and " +
               us(*e->cpu_us) + " resumed: RSA added " + us(*r->baseline_cpu_us - *e->baseline_cpu_us) +
               " to the full handshake, while the resumed ones differ by " + us(std::abs(*r->cpu_us - *e->cpu_us)) +
               " (neither signs), so a resumption costs " +
               saved(*r->speedup) + " than a full handshake with RSA, " + saved(*e->speedup) + " with ECDSA.";
        s += " A full handshake makes one RSA-2048 signature (`openssl speed rsa2048 ecdsap256` "
             "shows what one costs here against a P-256 signature); a resumed one makes none.";
        out.push_back(s);
      }
    }

    // 4. Modes that did not resume, or not the way the scenario asks: figures, reported.
    for (const auto& [scenario, c] : cells)
      if (c->resumedByIdInstead())
        out.push_back(who + " " + toString(scenario) + ": the server issued no TLS 1.2 tickets, so these clients " +
                      "resumed by session id; the cell measures session-id resumption, not tickets.");
    for (const auto& [scenario, c] : cells)
      if (resumes(scenario) && c->resumed_ratio && *c->resumed_ratio < 0.99)
        out.push_back(who + " " + toString(scenario) + ": only " + formatNumber(100 * *c->resumed_ratio, 1) +
                      "% of offered sessions resumed" +
                      (*c->resumed_ratio == 0 ? " (the server does not offer this mode)." : "."));
  }

  // Cells left out above because their connections mostly failed.
  for (const auto& c : run.cells)
    if (c.measured() && c.handshakes > 0 && c.mostlyFailed())
      out.push_back(c.target + " (" + c.certName() + ") " + toString(c.scenario) + ": " + std::to_string(c.errors) +
                    " of " + std::to_string(c.attempts) + " connections failed (first: " + c.first_error +
                    "); its figures are left out of this conclusion.");

  // 5. The security side of each server configuration.
  for (const auto& p : run.postures) {
    if (!p.known) continue;
    if (std::none_of(run.cells.begin(), run.cells.end(),
                     [&](const CellResult& c) { return c.target == p.target && c.measured(); }))
      continue;
    out.push_back(p.target + (p.version.empty() ? std::string() : " " + p.version) + " security: TLS 1.2 tickets " +
                  (p.tls12_tickets ? "on" : "off") +
                  "; ticket key rotation: " + p.rotation +
                  ", so a leaked key exposes recorded TLS 1.2 ticket traffic for " + stekWindow(p) +
                  "; TLS 1.3 resumption " + p.psk_modes +
                  " (recorded TLS 1.3 traffic stays secret); tickets revocable: " +
                  (p.tickets_revocable ? "yes (revocation list)" : "no") +
                  "; session ids and stateful tickets: " +
                  (p.sessions_revocable ? "revocable (server cache)" : "not revocable one by one (they expire)") +
                  ".");
  }

  // 6. Our server against its TLS library's floor.
  for (const auto& c : run.cells) {
    if (!isOurs(kindOf(run, c.target)) || !c.floor_us || !c.server_cpu_us_per_handshake || *c.floor_us <= 0) continue;
    if (c.scenario != Scenario::full_tls13 && c.scenario != Scenario::ticket_tls13) continue;
    const ServerInfo* info = serverOf(run, c.target);
    const std::string library = info && !info->library.empty() ? shortLibrary(info->library) : "the TLS library";
    out.push_back("Floor (" + labelOf(run, c.target) + ", " + c.certName() + ", " + toString(c.scenario) +
                  "): our server spends " + us(*c.server_cpu_us_per_handshake) + " per handshake, " + library +
                  " alone in memory " + us(*c.floor_us) + " (" +
                  formatNumber(*c.server_cpu_us_per_handshake / *c.floor_us, 1) +
                  "×); the difference is TCP, the kernel, the event loop and the HTTP exchange.");
  }
  // 7. Our servers against each other server, cell by cell: the ratio the comparison is
  //    about. Ours on one library against ours on the other once (the other build / self).
  std::vector<std::string> ours, others;  // in table order, each once
  for (const auto& t : run.options.targets) {
    if (t.kind == TargetKind::tcp_floor || t.kind == TargetKind::fleet) continue;
    (isOurs(t.kind) ? ours : others).push_back(t.name);
  }
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const auto& a : ours) {
    for (const auto& b : others) pairs.emplace_back(a, b);
    for (const auto& b : ours)
      if (a != b && kindOf(run, a) == TargetKind::other_build && kindOf(run, b) == TargetKind::self) pairs.emplace_back(a, b);
  }
  for (const auto& [mine, peer] : pairs)
    for (CertType cert : run.options.certs) {
      std::string line;
      for (const auto& p : run.cells) {
        if (p.target != peer || p.cert != cert || !p.measured() || !p.server_cpu_us_per_handshake) continue;
        if (!p.server_key.empty() && p.server_key != toString(cert)) continue;  // not the certificate we served
        const auto self = std::find_if(run.cells.begin(), run.cells.end(), [&](const CellResult& c) {
          return c.target == mine && c.cert == cert && c.scenario == p.scenario && c.measured() &&
                 c.server_cpu_us_per_handshake;
        });
        if (self == run.cells.end() || *p.server_cpu_us_per_handshake <= 0) continue;
        line += std::string(line.empty() ? "" : ", ") + toString(p.scenario) + " " + cpuRatio(*self, p);
      }
      if (!line.empty())
        out.push_back("Server CPU per handshake, " + mine + " / " + peer + " (" + toString(cert) + "): " + line +
                      " (" + labelOf(run, mine) + " / " + labelOf(run, peer) + "; below 1: " + mine +
                      " spends less; with rounds, the median of the round-by-round ratios and their range).");
    }
  if (run.machine.nproc <= 4 && !out.empty())
    out.push_back("Client and servers share " + std::to_string(run.machine.nproc) +
                  " CPUs here, so handshakes/s is bounded by the client as well; compare CPU per handshake.");
  return out;
}

}  // namespace tlsresume::tools::bench
