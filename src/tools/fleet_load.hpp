#pragma once
// tlsresume fleet-load: the Redis traffic of N simulated fleet servers, sent by the fleet's
// own classes (RedisSessionTier, FleetKeySource, FleetRevocations, and the heartbeat as
// server::Fleet sends it) over a RedisLink (--redis) or a RedisCluster (--cluster), so
// the commands are those the servers send. Reports the commands/s achieved, the client-side
// latency of each command, and what Redis spent on them: CPU from /proc (its pid from INFO
// server, when it runs on this machine), memory, keys, bytes.
#include <chrono>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace tlsresume::tools {

struct FleetLoadOptions {
  std::string redis;                 // redis://HOST:PORT, or
  std::vector<std::string> cluster;  // a cluster's seed nodes, HOST:PORT
  unsigned servers = 10;
  double duration_s = 10;
  double handshakes_per_server = 2000;
  double resumed_share = 0.5;
  bool stateful = false;  // TLS 1.3 stateful tickets: every resumption a GET and a SET
  unsigned links = 4;     // simulated servers share this many links (one per server in a real fleet)
  unsigned threads = 2;   // threads issuing the handshakes' commands
  std::chrono::milliseconds lookup_timeout{5};
  std::chrono::seconds session_lifetime{3600};
  std::size_t record_bytes = 256;
  std::string key_prefix = "tlsresume-load";
  bool json = false;
};

CLI::App* addFleetLoadCommand(CLI::App& app);
int runFleetLoadCommand();
int runFleetLoad(const FleetLoadOptions& options);

}  // namespace tlsresume::tools
