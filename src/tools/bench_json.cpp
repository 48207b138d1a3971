// The machine-readable result. Schema (version 1): every key below is always present
// unless marked optional; absent measurements are null, never zero.
//   version: 1
//   machine: {nproc, openssl (the TLS library of this binary, whichever it is), kernel, cpu_model}
//   servers[]: {target, label ("tlsresume (OpenSSL 3.0.19)"), software, version, library|null}
//   settings: {targets[], scenarios[], certs[], concurrency, duration_s|null (with count),
//              count|null,
//              rounds, mix_no_ticket, pinned, fleet_size}
//   cells[]: {target, label, scenario, cert (as the client saw it: "ecdsa", "rsa", "rsa-4096", ...),
//             protocol|null, handshakes (summed over rounds), handshakes_per_sec|null (the
//             median round's),
//             latency_us: {p50, p90, p99}|null, server_cpu_us_per_handshake|null (median of
//             rounds), server_cpu_us_rounds? [each round's],
//             bytes_client_to_server|null, bytes_server_to_client|null, ticket_bytes|null (no
//             ticket held), resumed_ratio|null, resumed_by_ticket (count; TLS 1.2 resumptions
//             without one were by session id), attempts (measured connections begun),
//             errors (of those, failed), not_2xx (answers with another status),
//             first_not_2xx?, seconds|null (summed over rounds), floor_server_cpu_us|null,
//             server_says? {kind: count}, skipped_reason?, error?, first_error?,
//             fleet? (the fleet target's cells): {nodes, node_cpu_us[], handshakes_per_node[],
//               resumed_on_issuer, lookups: {hit, miss, timeout, error}, writes, writes_dropped,
//               lookup_us: {p50, p99, mean}|null (from the servers' histograms), redis_cpu_us|null,
//               redis_cpu_us_per_resumed|null, redis_cpu_us_per_command|null,
//               redis_commands {command: calls}, redis_used_memory|null (bytes, at the end),
//               redis_keys|null (DBSIZE at the end), redis_used_memory_start|null,
//               redis_keys_start|null (when the measured phase began), self_cpu_us_per_handshake|null, cpu_vs_self|null,
//               client_latency_added_us: {p50, p99}|null (against self)}}
//   floor[]: {library, cert, scenario, handshakes, server_us_per_handshake,
//             client_us_per_handshake, resumed_ratio}
//   split[]: {target, label, library, cert, scenario, server_cpu_us, tcp_floor_us,
//             library_floor_us, rest_us, over_library_floor} (with tcp-floor and --floor)
//   aims[]: {aim, server, against, scenario, value|null (not measured), limit|null, holds|null, note}
//   wall_seconds
//   measured_at: "YYYY-MM-DD HH:MM UTC", when the run started
//   versions: {target: version} of the peers the bench started (nginx, haproxy), as `-v` says
#include <cmath>

#include "server/json.hpp"
#include "tools/bench_report.hpp"

namespace tlsresume::tools::bench {
namespace {

using server::jsonString;

std::string num(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  // Trim trailing zeros so integers read as integers and the file stays small.
  std::string s = buf;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

std::string num(const std::optional<double>& v) { return v ? num(*v) : "null"; }

template <typename T, typename F>
std::string array(const std::vector<T>& items, F&& one) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ",\n";
    out += one(items[i]);
  }
  return out + "]";
}

std::string fleetJson(const FleetFigures& f) {
  const auto count = [](std::uint64_t v) { return std::to_string(v); };
  const auto list = [](const auto& v) {
    std::string o = "[";
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (i) o += ',';
      o += num(static_cast<double>(v[i]));
    }
    return o + "]";
  };
  const auto optCount = [](const std::optional<std::uint64_t>& v) { return v ? std::to_string(*v) : std::string("null"); };
  std::string o = "{\"nodes\":" + std::to_string(f.nodes);
  o += ",\"node_cpu_us\":" + list(f.node_cpu_us);
  o += ",\"handshakes_per_node\":" + list(f.handshakes_per_node);
  o += ",\"resumed_on_issuer\":" + count(f.resumed_on_issuer);
  o += ",\"lookups\":{\"hit\":" + count(f.lookups_hit) + ",\"miss\":" + count(f.lookups_miss) +
       ",\"timeout\":" + count(f.lookups_timeout) + ",\"error\":" + count(f.lookups_error) + "}";
  o += ",\"writes\":" + count(f.writes) + ",\"writes_dropped\":" + count(f.writes_dropped);
  o += ",\"lookup_us\":";
  o += f.lookup_mean_us ? "{\"p50\":" + num(f.lookup_p50_us) + ",\"p99\":" + num(f.lookup_p99_us) +
                              ",\"mean\":" + num(f.lookup_mean_us) + "}"
                        : std::string("null");
  o += ",\"redis_cpu_us\":" + num(f.redis_cpu_us);
  o += ",\"redis_cpu_us_per_resumed\":" + num(f.redis_cpu_us_per_resumed);
  o += ",\"redis_cpu_us_per_command\":" + num(f.redis_cpu_us_per_command);
  o += ",\"redis_commands\":{";
  bool first = true;
  for (const auto& [name, calls] : f.redis_commands) {
    if (!first) o += ',';
    o += jsonString(name);
    o += ':';
    o += count(calls);
    first = false;
  }
  o += "}";
  o += ",\"redis_used_memory\":" + optCount(f.redis_used_memory);
  o += ",\"redis_keys\":" + optCount(f.redis_keys);
  o += ",\"redis_used_memory_start\":" + optCount(f.redis_used_memory_start);
  o += ",\"redis_keys_start\":" + optCount(f.redis_keys_start);
  o += ",\"self_cpu_us_per_handshake\":" + num(f.self_cpu_us_per_handshake);
  o += ",\"cpu_vs_self\":" + num(f.cpu_vs_self);
  o += ",\"client_latency_added_us\":";
  o += f.client_p50_added_us && f.client_p99_added_us
           ? "{\"p50\":" + num(*f.client_p50_added_us) + ",\"p99\":" + num(*f.client_p99_added_us) + "}"
           : std::string("null");
  return o + "}";
}

std::string cellJson(const RunResult& run, const CellResult& c) {
  std::string o = "{";
  o += "\"target\":" + jsonString(c.target);
  o += ",\"label\":" + jsonString(labelOf(run, c.target));
  o += ",\"scenario\":" + jsonString(toString(c.scenario));
  o += ",\"cert\":" + jsonString(c.certName());
  // A skipped or failed cell measured nothing: null, not a zero that reads as a figure.
  const bool figures = c.measured() && c.handshakes > 0;
  const auto figure = [&](double v) { return figures ? num(v) : std::string("null"); };
  o += ",\"protocol\":";
  o += figures ? jsonString(c.protocol) : std::string("null");
  o += ",\"handshakes\":" + std::to_string(c.handshakes);
  o += ",\"handshakes_per_sec\":" + figure(c.handshakes_per_sec);
  o += ",\"latency_us\":";
  o += c.latency_us ? "{\"p50\":" + num(c.latency_us->p50) + ",\"p90\":" + num(c.latency_us->p90) +
                          ",\"p99\":" + num(c.latency_us->p99) + "}"
                    : std::string("null");
  o += ",\"server_cpu_us_per_handshake\":" + num(c.server_cpu_us_per_handshake);
  if (!c.server_cpu_us_rounds.empty()) {
    o += ",\"server_cpu_us_rounds\":[";
    for (std::size_t i = 0; i < c.server_cpu_us_rounds.size(); ++i) {
      if (i) o += ',';
      o += num(c.server_cpu_us_rounds[i]);
    }
    o += ']';
  }
  o += ",\"bytes_client_to_server\":" + figure(c.bytes_client_to_server);
  o += ",\"bytes_server_to_client\":" + figure(c.bytes_server_to_client);
  o += ",\"ticket_bytes\":";  // appended apart: GCC 12's -Wrestrict misfires on "..." + std::string&&
  o += c.ticket_bytes > 0 ? figure(c.ticket_bytes) : std::string("null");
  o += ",\"resumed_ratio\":" + num(c.resumed_ratio);
  o += ",\"resumed_by_ticket\":" + std::to_string(c.resumed_by_ticket);
  o += ",\"attempts\":" + std::to_string(c.attempts);
  o += ",\"errors\":" + std::to_string(c.errors);
  o += ",\"not_2xx\":" + std::to_string(c.not_2xx);
  if (!c.first_not_2xx.empty()) o += ",\"first_not_2xx\":" + jsonString(c.first_not_2xx);
  o += ",\"seconds\":" + figure(c.seconds);
  o += ",\"floor_server_cpu_us\":" + num(c.floor_us);
  if (!c.server_says.empty()) {
    o += ",\"server_says\":{";
    bool first = true;
    for (const auto& [kind, n] : c.server_says) {
      if (!first) o += ',';
      o += jsonString(kind);
      o += ':';
      o += std::to_string(n);
      first = false;
    }
    o += "}";
  }
  if (!c.skipped_reason.empty()) o += ",\"skipped_reason\":" + jsonString(c.skipped_reason);
  if (!c.error.empty()) o += ",\"error\":" + jsonString(c.error);
  if (!c.first_error.empty()) o += ",\"first_error\":" + jsonString(c.first_error);
  if (c.fleet) o += ",\"fleet\":" + fleetJson(*c.fleet);
  return o + "}";
}

std::string floorJson(const FloorResult& f) {
  return "{\"library\":" + jsonString(f.library) + ",\"cert\":" + jsonString(toString(f.cert)) + ",\"scenario\":" + jsonString(toString(f.scenario)) +
         ",\"handshakes\":" + std::to_string(f.handshakes) + ",\"server_us_per_handshake\":" + num(f.server_us) +
         ",\"client_us_per_handshake\":" + num(f.client_us) + ",\"resumed_ratio\":" + num(f.resumed_ratio) + "}";
}

}  // namespace

std::string toJson(const RunResult& run) {
  const auto& o = run.options;
  std::string out = "{\"version\":1";
  out += ",\"machine\":{\"nproc\":" + std::to_string(run.machine.nproc) +
         ",\"openssl\":" + jsonString(run.machine.openssl) + ",\"kernel\":" + jsonString(run.machine.kernel) +
         ",\"cpu_model\":" + jsonString(run.machine.cpu_model) + "}";
  out += ",\"settings\":{\"targets\":" + array(o.targets, [](const Target& t) { return jsonString(t.name); });
  out += ",\"scenarios\":" + array(o.scenarios, [](Scenario s) { return jsonString(toString(s)); });
  out += ",\"certs\":" + array(o.certs, [](CertType c) { return jsonString(toString(c)); });
  out += ",\"concurrency\":" + std::to_string(o.concurrency);
  out += ",\"duration_s\":";
  out += o.count ? std::string("null") : num(o.duration.count());
  out += ",\"count\":" + (o.count ? std::to_string(o.count) : std::string("null"));
  out += ",\"rounds\":" + std::to_string(o.rounds);
  out += ",\"mix_no_ticket\":" + num(o.mix_no_ticket);
  out += std::string(",\"pinned\":") + (o.pin ? "true" : "false");
  out += ",\"fleet_size\":" + std::to_string(o.fleet_size) + "}";
  out += ",\"servers\":" + array(run.servers, [](const ServerInfo& s) {
    return "{\"target\":" + jsonString(s.target) + ",\"label\":" + jsonString(s.label) +
           ",\"software\":" + jsonString(s.software) + ",\"version\":" + jsonString(s.version) +
           ",\"library\":" + (s.library.empty() ? std::string("null") : jsonString(s.library)) + "}";
  });
  out += ",\"cells\":" + array(run.cells, [&](const CellResult& c) { return cellJson(run, c); });
  out += ",\"floor\":" + array(run.floor, floorJson);
  out += ",\"split\":" + array(splitRows(run), [](const SplitRow& r) {
    return "{\"target\":" + jsonString(r.target) + ",\"label\":" + jsonString(r.label) +
           ",\"library\":" + jsonString(r.library) + ",\"cert\":" + jsonString(toString(r.cert)) +
           ",\"scenario\":" + jsonString(toString(r.scenario)) + ",\"server_cpu_us\":" + num(r.cpu_us) +
           ",\"tcp_floor_us\":" + num(r.tcp_floor_us) + ",\"library_floor_us\":" + num(r.library_floor_us) +
           ",\"rest_us\":" + num(r.rest_us()) + ",\"over_library_floor\":" + num(r.overFloor()) + "}";
  });
  out += ",\"aims\":" + array(aimChecks(run), [](const AimCheck& a) {
    return "{\"aim\":" + jsonString(a.aim) + ",\"server\":" + jsonString(a.server) +
           ",\"against\":" + jsonString(a.against) + ",\"scenario\":" + jsonString(a.scenario) +
           ",\"value\":" + num(a.value) + ",\"limit\":" + (a.value || a.unit == "×" ? num(a.limit) : "null") +
           ",\"holds\":" + (a.value ? (a.holds() ? "true" : "false") : "null") + ",\"note\":" + jsonString(a.note) +
           "}";
  });
  out += ",\"wall_seconds\":" + num(run.wall_seconds);
  out += ",\"measured_at\":" + jsonString(run.measured_at);
  out += ",\"versions\":{";
  bool first = true;
  for (const auto& p : run.postures) {
    if (p.version.empty()) continue;
    out += (first ? "" : ",") + jsonString(p.target) + ":" + jsonString(p.version);
    first = false;
  }
  out += "}";
  return out + "}\n";
}

}  // namespace tlsresume::tools::bench
