#include "tools/fleet_load_report.hpp"

#include <algorithm>
#include <cstdio>

#include "server/json.hpp"

namespace tlsresume::tools::fleetload {
namespace {

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

std::string num(double v) { return fmt("%.6g", v); }
std::string opt(const std::optional<double>& v) { return v ? num(*v) : "null"; }

std::optional<double> per(std::optional<double> a, double b) {
  if (!a || b <= 0) return std::nullopt;
  return *a / b;
}

// 1234567 -> "1 234 567"
std::string grouped(double v) {
  std::string digits = fmt("%.0f", v);
  std::string out;
  const bool neg = !digits.empty() && digits[0] == '-';
  if (neg) digits.erase(0, 1);
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ' ';
    out += digits[i];
  }
  return neg ? "-" + out : out;
}

}  // namespace

Totals totals(const Report& r) {
  Totals t;
  for (const auto& c : r.commands) {
    t.issued += c.issued;
    t.ok += c.ok;
    t.timeouts += c.timeouts;
    t.errors += c.errors;
    t.redis_errors += c.redis_errors;
  }
  bool proc = !r.nodes.empty();
  for (const auto& n : r.nodes) proc = proc && n.ok && n.cpu_s.has_value();
  t.cpu_source = proc ? "/proc" : "INFO cpu";
  double cpu = 0, masters_cpu = 0;
  bool any = false;
  for (const auto& n : r.nodes) {
    if (!n.ok) continue;
    any = true;
    const double c = proc ? *n.cpu_s : n.info_cpu_s;
    cpu += c;
    if (n.role == "master") {
      ++t.masters;
      masters_cpu += c;
      t.master_calls += n.calls;
      t.used_memory_delta += n.used_memory_delta;
      t.keys_delta += n.keys_delta;
      t.net_in += n.net_in;
      t.net_out += n.net_out - std::min(n.net_out, n.repl_out);  // to clients
      t.repl_out += n.repl_out;
    } else {
      ++t.replicas;
    }
  }
  if (any) {
    t.cpu_s = cpu;
    t.masters_cpu_s = masters_cpu;
  }
  return t;
}

std::string reportTable(const Report& r) {
  const Totals t = totals(r);
  const double d = r.duration_s > 0 ? r.duration_s : 1;
  std::string o;
  o += "fleet-load: " + std::to_string(r.servers) + " simulated servers x " + grouped(r.handshakes_per_server) +
       " handshakes/s, " + fmt("%.0f", r.resumed_share * 100) + "% resumed on another server, " +
       (r.mode == "stateful" ? "TLS 1.3 stateful tickets" : "TLS 1.2 session ids") + "\n";
  o += "  against " + r.target + " over " + std::to_string(r.links) + " links, " + std::to_string(r.threads) +
       " issuing threads, " + fmt("%.1f", r.duration_s) + " s measured, lookup timeout " + fmt("%.0f", r.lookup_timeout_ms) +
       " ms\n\n";
  o += "  handshakes/s   target " + grouped(r.handshakes_per_server * r.servers) + ", achieved " + grouped(r.handshakes / d) +
       "\n";
  o += "  lookups        " + grouped(r.resumptions) + ": hit " + grouped(r.hits) + ", miss " + grouped(r.misses) +
       ", timeout " + grouped(r.lookup_timeouts) + ", error " + grouped(r.lookup_errors) + "\n";
  o += "  writes         " + grouped(r.writes) + " ok, " + grouped(r.writes_dropped) + " dropped, " + grouped(r.write_errors) +
       " failed\n";
  o += "  commands/s     " + grouped(t.issued / d) + " issued; " + grouped(t.ok) + " answered, " + grouped(t.timeouts) +
       " timed out, " + grouped(t.errors) + " link errors, " + grouped(t.redis_errors) + " Redis errors\n\n";
  char line[256];
  std::snprintf(line, sizeof line, "  %-10s %10s %10s %10s %10s %10s %9s %7s\n", "command", "per s", "p50 us", "p99 us",
                "max us", "mean us", "timeouts", "errors");
  o += line;
  for (const auto& c : r.commands) {
    std::snprintf(line, sizeof line, "  %-10s %10s %10.0f %10.0f %10.0f %10.0f %9llu %7llu\n", c.name.c_str(),
                  grouped(c.issued / d).c_str(), c.p50_us, c.p99_us, c.max_us, c.mean_us,
                  static_cast<unsigned long long>(c.timeouts), static_cast<unsigned long long>(c.errors + c.redis_errors));
    o += line;
  }
  o += "\n";
  std::snprintf(line, sizeof line, "  %-22s %-8s %8s %10s %12s %14s %10s\n", "Redis node", "role", "pid", "CPU s",
                "calls/s", "used_memory", "keys");
  o += line;
  for (const auto& n : r.nodes) {
    const double cpu = n.cpu_s ? *n.cpu_s : n.info_cpu_s;
    std::snprintf(line, sizeof line, "  %-22s %-8s %8ld %10.3f %12s %14s %10s\n", n.addr.c_str(), n.ok ? n.role.c_str() : "?",
                  n.pid, cpu, grouped(n.calls / d).c_str(), grouped(static_cast<double>(n.used_memory)).c_str(),
                  grouped(static_cast<double>(n.keys)).c_str());
    o += line;
  }
  if (t.cpu_s) {
    o += "\n  Redis CPU      " + fmt("%.3f", *t.cpu_s) + " s in " + fmt("%.1f", d) + " s = " + fmt("%.1f", *t.cpu_s / d * 100) +
         "% of one core (" + t.cpu_source + ", " + std::to_string(t.masters) + " master(s), " + std::to_string(t.replicas) +
         " replica(s))\n";
    if (t.ok > 0)
      o += "  per command    " + fmt("%.2f", *t.cpu_s * 1e6 / t.ok) + " us (every node), " +
           fmt("%.2f", *t.masters_cpu_s * 1e6 / t.ok) + " us (masters), over the " + grouped(t.ok) + " commands answered\n";
    o += "  memory         " + grouped(t.used_memory_delta) + " B for " + grouped(t.keys_delta) + " more keys" +
         (t.keys_delta > 0 ? " = " + fmt("%.1f", t.used_memory_delta / t.keys_delta) + " B per key" : std::string()) + "\n";
    if (t.ok > 0)
      o += "  network        " + fmt("%.1f", static_cast<double>(t.net_in) / t.ok) + " B in, " +
           fmt("%.1f", static_cast<double>(t.net_out) / t.ok) + " B out to clients, " +
           fmt("%.1f", static_cast<double>(t.repl_out) / t.ok) + " B to replicas per command (masters, INFO stats)\n";
  } else {
    o += "\n  Redis figures unavailable (INFO did not answer)\n";
  }
  return o;
}

std::string reportJson(const Report& r) {
  const Totals t = totals(r);
  const double d = r.duration_s > 0 ? r.duration_s : 1;
  using server::jsonString;
  std::string o = "{\"target\":" + jsonString(r.target) + ",\"mode\":" + jsonString(r.mode) +
                  ",\"servers\":" + std::to_string(r.servers) + ",\"links\":" + std::to_string(r.links) +
                  ",\"threads\":" + std::to_string(r.threads) + ",\"duration_s\":" + num(r.duration_s) +
                  ",\"handshakes_per_server\":" + num(r.handshakes_per_server) + ",\"resumed_share\":" + num(r.resumed_share) +
                  ",\"lookup_timeout_ms\":" + num(r.lookup_timeout_ms);
  o += ",\"handshakes\":{\"target_per_s\":" + num(r.handshakes_per_server * r.servers) +
       ",\"achieved_per_s\":" + num(r.handshakes / d) + ",\"count\":" + std::to_string(r.handshakes) +
       ",\"resumptions\":" + std::to_string(r.resumptions) + ",\"hits\":" + std::to_string(r.hits) +
       ",\"misses\":" + std::to_string(r.misses) + ",\"lookup_timeouts\":" + std::to_string(r.lookup_timeouts) +
       ",\"lookup_errors\":" + std::to_string(r.lookup_errors) + ",\"full_after_lookup\":" + std::to_string(r.full_after_lookup) +
       ",\"writes\":" + std::to_string(r.writes) + ",\"writes_dropped\":" + std::to_string(r.writes_dropped) +
       ",\"write_errors\":" + std::to_string(r.write_errors) + "}";
  o += ",\"commands\":{\"issued\":" + std::to_string(t.issued) + ",\"issued_per_s\":" + num(t.issued / d) +
       ",\"ok\":" + std::to_string(t.ok) + ",\"timeouts\":" + std::to_string(t.timeouts) + ",\"errors\":" +
       std::to_string(t.errors) + ",\"redis_errors\":" + std::to_string(t.redis_errors) + ",\"by_command\":[";
  for (std::size_t i = 0; i < r.commands.size(); ++i) {
    const auto& c = r.commands[i];
    o += std::string(i ? "," : "") + "{\"name\":" + jsonString(c.name) + ",\"issued\":" + std::to_string(c.issued) +
         ",\"per_s\":" + num(c.issued / d) + ",\"ok\":" + std::to_string(c.ok) + ",\"timeouts\":" + std::to_string(c.timeouts) +
         ",\"errors\":" + std::to_string(c.errors) + ",\"redis_errors\":" + std::to_string(c.redis_errors) +
         ",\"p50_us\":" + num(c.p50_us) + ",\"p99_us\":" + num(c.p99_us) + ",\"max_us\":" + num(c.max_us) +
         ",\"mean_us\":" + num(c.mean_us) + "}";
  }
  o += "]},\"redis\":{\"nodes\":[";
  for (std::size_t i = 0; i < r.nodes.size(); ++i) {
    const auto& n = r.nodes[i];
    o += std::string(i ? "," : "") + "{\"addr\":" + jsonString(n.addr) + ",\"role\":" + jsonString(n.role) +
         ",\"pid\":" + std::to_string(n.pid) + ",\"cpu_s\":" + opt(n.cpu_s) + ",\"info_cpu_s\":" + num(n.info_cpu_s) +
         ",\"calls\":" + std::to_string(n.calls) + ",\"used_memory\":" + std::to_string(n.used_memory) +
         ",\"used_memory_delta\":" + num(n.used_memory_delta) + ",\"keys\":" + std::to_string(n.keys) +
         ",\"keys_delta\":" + num(n.keys_delta) + ",\"net_in\":" + std::to_string(n.net_in) +
         ",\"net_out\":" + std::to_string(n.net_out) + ",\"repl_out\":" + std::to_string(n.repl_out) + "}";
  }
  const double ok = static_cast<double>(t.ok);
  o += "],\"cpu_s\":" + opt(t.cpu_s) + ",\"cpu_source\":" + jsonString(t.cpu_source) +
       ",\"cpu_share_of_core\":" + opt(per(t.cpu_s, d)) + ",\"masters_cpu_s\":" + opt(t.masters_cpu_s) +
       ",\"cpu_us_per_command\":" + opt(per(t.cpu_s ? std::optional<double>(*t.cpu_s * 1e6) : std::nullopt, ok)) +
       ",\"masters_cpu_us_per_command\":" +
       opt(per(t.masters_cpu_s ? std::optional<double>(*t.masters_cpu_s * 1e6) : std::nullopt, ok)) +
       ",\"master_calls\":" + std::to_string(t.master_calls) + ",\"masters\":" + std::to_string(t.masters) +
       ",\"replicas\":" + std::to_string(t.replicas) + ",\"used_memory_delta\":" + num(t.used_memory_delta) +
       ",\"keys_delta\":" + num(t.keys_delta) +
       ",\"bytes_per_key\":" + (t.keys_delta > 0 ? num(t.used_memory_delta / t.keys_delta) : std::string("null")) +
       ",\"net_in_per_command\":" + (ok > 0 ? num(static_cast<double>(t.net_in) / ok) : std::string("null")) +
       ",\"net_out_per_command\":" + (ok > 0 ? num(static_cast<double>(t.net_out) / ok) : std::string("null")) +
       ",\"repl_out_per_command\":" + (ok > 0 ? num(static_cast<double>(t.repl_out) / ok) : std::string("null")) + "}}\n";
  return o;
}

}  // namespace tlsresume::tools::fleetload
