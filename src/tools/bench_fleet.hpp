#pragma once
// The fleet target's instruments: its servers' admin endpoints (/fleet, /metrics) and its
// Redis (INFO), read over plain blocking sockets on loopback.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "server/config.hpp"
#include "tools/bench_types.hpp"

namespace tlsresume::tools::bench {

// GET `path` on an admin endpoint; the status and body. Throws BenchError when it cannot
// connect or the answer is not HTTP.
struct AdminAnswer {
  int status = 0;
  std::string body;
};
AdminAnswer adminGet(const server::Endpoint& admin, const std::string& path,
                     std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));

// Whether GET /fleet says this server encrypts with a key of the fleet's
// ("keys":[{"origin":"fleet","state":"current",...}]).
bool encryptsWithFleetKey(const std::string& fleet_json);

// A server's fleet counters and lookup histogram from its /metrics text.
struct FleetSample {
  std::uint64_t hit = 0, miss = 0, timeout = 0, error = 0;
  std::uint64_t writes = 0, writes_dropped = 0;
  std::vector<std::pair<double, double>> buckets;  // (upper bound in seconds, cumulative count), +Inf last
  double sum_seconds = 0;
  double count = 0;
};
FleetSample parseFleetMetrics(const std::string& metrics_text);
// `after - before`, bucket by bucket (both from the same server, or sums over the same servers).
FleetSample difference(const FleetSample& after, const FleetSample& before);
// Bucket by bucket sum (the fleet's histogram from its servers').
void accumulate(FleetSample& total, const FleetSample& one);
// The q-quantile (0..1) of a cumulative histogram, linearly interpolated inside its bucket
// (Prometheus' histogram_quantile; a quantile in the +Inf bucket is the highest finite
// bound), in seconds; nullopt without observations.
std::optional<double> histogramQuantile(const std::vector<std::pair<double, double>>& buckets, double q);

// One RESP command to a Redis; its reply as text (bulk or simple string, integer as digits).
// Throws BenchError.
std::string redisCommand(const server::Endpoint& redis, const std::vector<std::string>& args,
                         std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));
// INFO commandstats as calls per command ("get", "set", "evalsha", ...).
std::map<std::string, std::uint64_t> parseCommandCalls(const std::string& info);
// A numeric field of an INFO answer ("used_memory"); nullopt if absent.
std::optional<std::uint64_t> infoField(const std::string& info, const std::string& name);

}  // namespace tlsresume::tools::bench
