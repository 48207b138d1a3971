#pragma once
// fleet-load's figures and their two forms: an aligned table and JSON.
//
// JSON: {target, mode, servers, links, threads, duration_s, handshakes_per_server,
//        resumed_share, lookup_timeout_ms,
//        handshakes: {target_per_s, achieved_per_s, count, resumptions, hits, misses,
//                     lookup_timeouts, lookup_errors, full_after_lookup, writes,
//                     writes_dropped, write_errors},
//        commands: {issued, issued_per_s, ok, timeouts, errors, redis_errors,
//                   by_command: [{name, issued, per_s, ok, timeouts, errors, redis_errors,
//                                 p50_us, p99_us, max_us, mean_us}]},
//        redis: {nodes: [{addr, role, pid, cpu_s|null, info_cpu_s, calls, used_memory,
//                         used_memory_delta, keys, keys_delta, net_in, net_out, repl_out}],
//                cpu_s|null, cpu_source, cpu_share_of_core|null, masters_cpu_s|null,
//                cpu_us_per_command|null, masters_cpu_us_per_command|null,
//                master_calls, used_memory_delta, keys_delta, bytes_per_key|null,
//                net_in_per_command|null, net_out_per_command|null (to clients),
//                repl_out_per_command|null (masters to replicas)}}
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tlsresume::tools::fleetload {

struct CommandFigures {
  std::string name;
  std::uint64_t issued = 0, ok = 0, timeouts = 0, errors = 0, redis_errors = 0;
  double p50_us = 0, p99_us = 0, max_us = 0, mean_us = 0;
};

struct NodeFigures {
  std::string addr, role;
  long pid = 0;
  bool ok = false;
  std::optional<double> cpu_s;  // /proc
  double info_cpu_s = 0;        // INFO cpu
  double used_memory_delta = 0, keys_delta = 0;
  std::uint64_t used_memory = 0, keys = 0, net_in = 0, net_out = 0, repl_out = 0, calls = 0;
};

struct Report {
  std::string target, mode;
  unsigned servers = 0, links = 0, threads = 0;
  double duration_s = 0, handshakes_per_server = 0, resumed_share = 0, lookup_timeout_ms = 0;
  std::uint64_t handshakes = 0, resumptions = 0, full_after_lookup = 0;
  std::uint64_t hits = 0, misses = 0, lookup_timeouts = 0, lookup_errors = 0;
  std::uint64_t writes = 0, writes_dropped = 0, write_errors = 0;
  std::vector<CommandFigures> commands;
  std::vector<NodeFigures> nodes;
};

// Derived figures, shared by both forms.
struct Totals {
  std::uint64_t issued = 0, ok = 0, timeouts = 0, errors = 0, redis_errors = 0;
  std::optional<double> cpu_s, masters_cpu_s;  // /proc when every node had it, else INFO cpu
  std::string cpu_source;                        // "/proc" or "INFO cpu"
  std::uint64_t master_calls = 0, net_in = 0, net_out = 0, repl_out = 0;  // net_out: to clients
  double used_memory_delta = 0, keys_delta = 0;
  unsigned masters = 0, replicas = 0;
};
Totals totals(const Report& r);

std::string reportTable(const Report& r);
std::string reportJson(const Report& r);

}  // namespace tlsresume::tools::fleetload
