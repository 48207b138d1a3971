// tlsresume fleet-load: N simulated fleet servers' Redis traffic through the fleet's own
// classes, against one Redis or a Redis Cluster. See fleet_load.hpp.
#include "tools/fleet_load.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "redis/fleet_keys.hpp"
#include "redis/fleet_revocations.hpp"
#include "redis/fleet_sessions.hpp"
#include "redis/redis_cluster.hpp"
#include "redis/redis_link.hpp"
#include "server/config.hpp"
#include "tools/bench_cpu.hpp"
#include "tools/bench_fleet.hpp"
#include "tools/bench_types.hpp"
#include "tools/fleet_load_report.hpp"
#include "tools/fleet_load_stats.hpp"

namespace tlsresume::tools {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;
using fleetload::CommandFigures;
using fleetload::LatencyHistogram;
using fleetload::NodeFigures;
using fleetload::Pacer;
using fleetload::Report;
using Lookup = RemoteSessionTier::Lookup;

FleetLoadOptions g_options;

std::int64_t steadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch()).count();
}

// ---------------------------------------------------------------- client-side figures

// The commands the fleet's classes send; anything else is counted as "other".
constexpr std::array<const char*, 10> kCommands{"GET", "SET", "EVAL", "HGETALL", "HSET", "HSETNX", "PEXPIREAT", "HDEL", "DEL", "other"};

struct CommandStats {
  LatencyHistogram ok;  // replies (a nil or a value), client side: command() to callback
  std::atomic<std::uint64_t> issued{0}, timeouts{0}, errors{0}, redis_errors{0};
};

struct ClientStats {
  std::array<CommandStats, kCommands.size()> by_command;
  // Commands issued outside the measured window are neither counted nor timed.
  std::atomic<std::int64_t> window_start_ns{INT64_MAX};
  std::atomic<std::int64_t> window_end_ns{INT64_MAX};

  static std::size_t indexOf(const std::string& name) {
    for (std::size_t i = 0; i + 1 < kCommands.size(); ++i)
      if (name == kCommands[i]) return i;
    return kCommands.size() - 1;
  }
};

// A RedisCommands that times every command the fleet's classes send through it.
class TimedCommands final : public redis::RedisCommands {
 public:
  TimedCommands(std::unique_ptr<redis::RedisCommands> inner, ClientStats& stats) : inner_(std::move(inner)), stats_(stats) {}
  void start() override { inner_->start(); }
  void stop() noexcept override { inner_->stop(); }
  void command(std::vector<std::string> args, std::chrono::milliseconds timeout, Callback done) override {
    const std::int64_t issued = steadyNs();
    if (issued < stats_.window_start_ns.load(std::memory_order_relaxed) ||
        issued >= stats_.window_end_ns.load(std::memory_order_relaxed)) {
      inner_->command(std::move(args), timeout, std::move(done));
      return;
    }
    CommandStats& s = stats_.by_command[ClientStats::indexOf(args.empty() ? std::string() : args.front())];
    s.issued.fetch_add(1, std::memory_order_relaxed);
    inner_->command(std::move(args), timeout, [&s, issued, done = std::move(done)](redis::Outcome outcome, redis::Reply&& reply) {
      if (outcome == redis::Outcome::ok)
        s.ok.add(std::chrono::nanoseconds{steadyNs() - issued});
      else if (outcome == redis::Outcome::timeout)
        s.timeouts.fetch_add(1, std::memory_order_relaxed);
      else
        (reply.type == redis::Reply::Type::error ? s.redis_errors : s.errors).fetch_add(1, std::memory_order_relaxed);
      done(outcome, std::move(reply));
    });
  }
  void every(std::chrono::milliseconds period, std::function<void()> fn) override { inner_->every(period, std::move(fn)); }
  bool up() const noexcept override { return inner_->up(); }
  std::string lastError() const override { return inner_->lastError(); }
  void forEachDataNode(const std::function<void(RedisCommands& node)>& fn) override { inner_->forEachDataNode(fn); }

 private:
  std::unique_ptr<redis::RedisCommands> inner_;
  ClientStats& stats_;
};

// ---------------------------------------------------------------- simulated servers

// Store keys as the servers make them: 8 bytes of a host's session-id context, then a
// 32-byte id (a TLS 1.2 session id, or a TLS 1.3 stateful ticket's id).
std::uint64_t splitmix(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

class KeyMaker {
 public:
  KeyMaker() : next_(static_cast<std::uint64_t>(steadyNs())) {}
  std::string make() {
    std::uint64_t seed = next_.fetch_add(1, std::memory_order_relaxed) * 0x2545F4914F6CDD1DULL;
    std::string key = "\x5a\x11\x0a\xd0\x5e\x55\x10\x4e";  // the host's context: one virtual host
    for (int i = 0; i < 4; ++i) {
      const std::uint64_t v = splitmix(seed);
      key.append(reinterpret_cast<const char*>(&v), sizeof v);
    }
    return key;
  }

 private:
  std::atomic<std::uint64_t> next_;
};

struct Simulated {
  Simulated(redis::RedisCommands& l, const redis::FleetLayout& layout, std::string name, const Clock& clock,
            std::chrono::milliseconds lookup_timeout)
      : link(l),
        node(std::move(name)),
        tier(l, layout, lookup_timeout, clock),
        keys(l, redis::FleetKeyOptions{layout, node, KeyringOptions{}, std::chrono::seconds{3}, 5000ms, std::chrono::seconds{10}, nullptr},
             clock),
        revocation_list(clock),
        revocations(l, layout, revocation_list, clock) {}

  redis::RedisCommands& link;
  std::string node;
  redis::RedisSessionTier tier;
  redis::FleetKeySource keys;
  RevocationList revocation_list;
  redis::FleetRevocations revocations;
  std::atomic<bool> heartbeating{false};
};

// The heartbeat as server::Fleet sends it (Fleet::heartbeat): HSET the node's time, HGETALL
// the nodes, HDEL those silent for 30 s.
void heartbeat(Simulated& s, const redis::FleetLayout& layout, const Clock& clock) {
  if (s.heartbeating.load() || !s.link.up()) return;
  s.heartbeating.store(true);
  const long long now = std::chrono::duration_cast<std::chrono::milliseconds>(clock.now().time_since_epoch()).count();
  s.link.command({"HSET", layout.nodes(), s.node, std::to_string(now)}, 1000ms, [](redis::Outcome, redis::Reply&&) {});
  s.link.command({"HGETALL", layout.nodes()}, 1000ms, [&s, &layout, now](redis::Outcome outcome, redis::Reply&& reply) {
    s.heartbeating.store(false);
    if (outcome != redis::Outcome::ok || reply.type != redis::Reply::Type::array) return;
    std::vector<std::string> gone{"HDEL", layout.nodes()};
    for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2)
      if (now - std::atoll(reply.elements[i + 1].str.c_str()) > 30000) gone.push_back(reply.elements[i].str);
    if (gone.size() > 2) s.link.command(std::move(gone), 1000ms, [](redis::Outcome, redis::Reply&&) {});
  });
}

struct HandshakeCounters {
  std::atomic<std::uint64_t> handshakes{0}, resumptions{0}, full_after_lookup{0};
};

// One issuing thread: its share of the simulated servers, paced at their summed rate.
void issue(std::vector<Simulated*> mine, const FleetLoadOptions& o, const Clock& clock, KeyMaker& keys,
           const std::string& record, HandshakeCounters& counters, SteadyClock::time_point start,
           SteadyClock::time_point end, std::uint64_t seed) {
  if (mine.empty()) return;
  Pacer pacer(o.handshakes_per_server * static_cast<double>(mine.size()), 5000);
  // Sessions recently written by these servers: a resumption lands on another server than
  // the one that made the session (the worst case: it always asks Redis).
  struct Made {
    std::string key;
    std::size_t by;
  };
  std::vector<Made> ring;
  ring.reserve(1 << 16);
  std::size_t ring_next = 0;
  std::size_t turn = 0;
  const auto lifetime = o.session_lifetime;
  const bool stateful = o.stateful;
  const auto threshold = static_cast<std::uint64_t>(o.resumed_share * 18446744073709551615.0);
  auto full = [&](Simulated& s, std::size_t index) {
    std::string key = keys.make();
    s.tier.store(key, record, clock.now() + lifetime);
    if (ring.size() < ring.capacity())
      ring.push_back({std::move(key), index});
    else
      ring[ring_next++ % ring.size()] = {std::move(key), index};
  };
  while (true) {
    const auto now = SteadyClock::now();
    if (now >= end) break;
    for (std::uint64_t n = pacer.due(now - start); n > 0; --n) {
      const std::size_t index = turn++ % mine.size();
      Simulated& s = *mine[index];
      counters.handshakes.fetch_add(1, std::memory_order_relaxed);
      if (splitmix(seed) >= threshold || ring.empty() || !s.tier.available()) {  // no lookup while Redis is away
        full(s, index);
        continue;
      }
      const Made* from = &ring[splitmix(seed) % ring.size()];
      if (from->by == index && mine.size() > 1) from = &ring[splitmix(seed) % ring.size()];
      counters.resumptions.fetch_add(1, std::memory_order_relaxed);
      // A stateful ticket resumed is a new ticket (a SET of the renewed session); a miss is
      // a full handshake (a SET of the new session) with either kind.
      s.tier.fetch(from->key, [&s, &clock, &keys, &record, &counters, stateful, lifetime](Lookup result, std::string&&) {
        if (result == Lookup::hit && !stateful) return;
        if (result != Lookup::hit) counters.full_after_lookup.fetch_add(1, std::memory_order_relaxed);
        s.tier.store(keys.make(), record, clock.now() + lifetime);
      });
    }
    std::this_thread::sleep_for(200us);
  }
}

// ---------------------------------------------------------------- Redis-side figures

bool loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

std::optional<double> infoSeconds(const std::string& info, const std::string& name) {
  const std::string needle = name + ":";
  for (std::size_t at = info.find(needle); at != std::string::npos; at = info.find(needle, at + 1))
    if (at == 0 || info[at - 1] == '\n') return std::strtod(info.c_str() + at + needle.size(), nullptr);
  return std::nullopt;
}

std::string field(const std::string& info, const std::string& name) {
  const std::string needle = name + ":";
  for (std::size_t at = info.find(needle); at != std::string::npos; at = info.find(needle, at + 1))
    if (at == 0 || info[at - 1] == '\n') {
      const auto from = at + needle.size();
      return info.substr(from, info.find_first_of("\r\n", from) - from);
    }
  return {};
}

// Every node that answers: the one Redis, or each master and replica a seed's CLUSTER NODES
// lists (failed ones left out).
std::vector<server::Endpoint> redisNodes(const FleetLoadOptions& o) {
  if (o.cluster.empty()) {
    std::string why;
    const auto ep = redis::parseRedisUrl(o.redis, &why);
    if (!ep || ep->kind != redis::Endpoint::Kind::tcp) return {};
    return {server::Endpoint{ep->host, ep->port}};
  }
  for (const std::string& seed : o.cluster) {
    try {
      const server::Endpoint s = server::parseEndpoint(seed, "--cluster");
      std::istringstream lines(bench::redisCommand(s, {"CLUSTER", "NODES"}));
      std::vector<server::Endpoint> out;
      for (std::string line; std::getline(lines, line);) {
        std::istringstream f(line);
        std::string id, addr, flags;
        f >> id >> addr >> flags;
        if (flags.find("fail") != std::string::npos || flags.find("noaddr") != std::string::npos) continue;
        addr = addr.substr(0, addr.find('@'));
        if (addr.empty() || addr.front() == ':') addr = s.host + addr;  // a node that does not know its own address
        out.push_back(server::parseEndpoint(addr, "CLUSTER NODES"));
      }
      return out;
    } catch (const std::exception&) {
      // the next seed
    }
  }
  return {};
}

struct NodeSample {
  std::string addr, role;
  long pid = 0;
  std::optional<double> cpu_us;  // /proc, when the process runs here
  double info_cpu_s = 0;         // used_cpu_sys + used_cpu_user
  std::uint64_t used_memory = 0, keys = 0, net_in = 0, net_out = 0, repl_out = 0, calls = 0;
  bool ok = false;
};

NodeSample sample(const server::Endpoint& ep) {
  NodeSample n;
  n.addr = ep.str();
  try {
    const std::string info = bench::redisCommand(ep, {"INFO"});
    n.role = field(info, "role");
    n.pid = std::strtol(field(info, "process_id").c_str(), nullptr, 10);
    n.info_cpu_s = infoSeconds(info, "used_cpu_sys").value_or(0) + infoSeconds(info, "used_cpu_user").value_or(0);
    n.used_memory = bench::infoField(info, "used_memory").value_or(0);
    n.net_in = bench::infoField(info, "total_net_input_bytes").value_or(0);
    n.net_out = bench::infoField(info, "total_net_output_bytes").value_or(0);
    n.repl_out = bench::infoField(info, "total_net_repl_output_bytes").value_or(0);
    n.keys = std::strtoull(bench::redisCommand(ep, {"DBSIZE"}).c_str(), nullptr, 10);
    for (const auto& [name, calls] : bench::parseCommandCalls(bench::redisCommand(ep, {"INFO", "commandstats"})))
      // The fleet's commands (and those its scripts run); not this tool's INFO, DBSIZE and
      // CLUSTER, nor replication's REPLCONF.
      if (name != "info" && name != "dbsize" && name != "replconf" && name.rfind("cluster", 0) != 0) n.calls += calls;
    if (loopback(ep.host) && n.pid > 0) {
      std::ifstream comm("/proc/" + std::to_string(n.pid) + "/comm");
      std::string name;
      if (comm >> name && name.find("redis") != std::string::npos) n.cpu_us = bench::processTreeCpuUs(static_cast<pid_t>(n.pid));
    }
    n.ok = true;
  } catch (const std::exception&) {
  }
  return n;
}

std::vector<NodeSample> sampleAll(const std::vector<server::Endpoint>& nodes) {
  std::vector<NodeSample> out;
  for (const auto& ep : nodes) out.push_back(sample(ep));
  return out;
}

std::uint64_t minus(std::uint64_t a, std::uint64_t b) { return a > b ? a - b : 0; }

// ---------------------------------------------------------------- the run

std::unique_ptr<redis::RedisCommands> makeLink(const FleetLoadOptions& o, std::size_t i) {
  redis::LinkOptions lo;
  lo.name = "tlsresume-load:" + std::to_string(i);
  if (o.cluster.empty()) {
    std::string why;
    const auto ep = redis::parseRedisUrl(o.redis, &why);
    if (!ep) throw bench::BenchError("--redis: " + why);
    lo.endpoint = *ep;
    return std::make_unique<redis::RedisLink>(std::move(lo));
  }
  redis::ClusterOptions co;
  for (const std::string& seed : o.cluster) {
    std::string why;
    const auto ep = redis::parseRedisUrl(seed.find("://") == std::string::npos ? "redis://" + seed : seed, &why);
    if (!ep) throw bench::BenchError("--cluster " + seed + ": " + why);
    co.seeds.push_back(*ep);
  }
  lo.endpoint = co.seeds.front();
  co.link = std::move(lo);
  return std::make_unique<redis::RedisCluster>(std::move(co));
}

}  // namespace

int runFleetLoad(const FleetLoadOptions& o) {
  const SystemClock clock;
  redis::FleetLayout layout;
  layout.prefix = o.key_prefix;
  ClientStats stats;
  std::vector<std::unique_ptr<TimedCommands>> links;
  try {
    for (unsigned i = 0; i < o.links; ++i) links.push_back(std::make_unique<TimedCommands>(makeLink(o, i), stats));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tlsresume fleet-load: %s\n", e.what());
    return 2;
  }
  for (auto& l : links) l->start();
  const auto connect_by = SteadyClock::now() + 10s;
  while (SteadyClock::now() < connect_by && !std::all_of(links.begin(), links.end(), [](const auto& l) { return l->up(); }))
    std::this_thread::sleep_for(20ms);
  for (const auto& l : links)
    if (!l->up()) {
      std::fprintf(stderr, "tlsresume fleet-load: %s: not up after 10 s: %s\n",
                   o.cluster.empty() ? o.redis.c_str() : "the cluster", l->lastError().c_str());
      for (auto& x : links) x->stop();
      return 1;
    }

  // The simulated servers, their background work on the links' threads as a server runs it
  // (Fleet::start), the N servers' timers spread over a second.
  std::vector<std::unique_ptr<Simulated>> servers;
  for (unsigned i = 0; i < o.servers; ++i)
    servers.push_back(std::make_unique<Simulated>(*links[i % links.size()], layout, "load-" + std::to_string(i), clock,
                                                  o.lookup_timeout));
  const auto spread = std::chrono::microseconds{1'000'000 / std::max(1u, o.servers)};
  for (auto& sp : servers) {
    Simulated* s = sp.get();
    s->link.every(1000ms, [s] { s->keys.poll(); });
    s->link.every(250ms, [s] { s->revocations.poll(); });
    s->link.every(1000ms, [s, &layout, &clock] { heartbeat(*s, layout, clock); });
    std::this_thread::sleep_for(spread);
  }
  std::this_thread::sleep_for(1s);  // every timer has run once: the first full revocation load is behind

  const std::vector<server::Endpoint> nodes = redisNodes(o);
  const std::vector<NodeSample> before = sampleAll(nodes);
  const auto tiers_before = [&] {
    std::vector<redis::RedisSessionTier::Stats> v;
    for (auto& s : servers) v.push_back(s->tier.stats());
    return v;
  }();
  HandshakeCounters counters;
  KeyMaker keys;
  std::string record(o.record_bytes, '\0');
  std::uint64_t fill = 0x5eed;
  for (char& c : record) c = static_cast<char>(splitmix(fill));

  const auto start = SteadyClock::now();
  const auto end = start + std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(o.duration_s));
  stats.window_start_ns.store(std::chrono::duration_cast<std::chrono::nanoseconds>(start.time_since_epoch()).count());
  std::vector<std::thread> issuers;
  const unsigned threads = std::max(1u, std::min(o.threads, o.servers));
  for (unsigned t = 0; t < threads; ++t) {
    std::vector<Simulated*> mine;
    for (unsigned i = t; i < o.servers; i += threads) mine.push_back(servers[i].get());
    issuers.emplace_back(issue, std::move(mine), std::cref(o), std::cref(clock), std::ref(keys), std::cref(record),
                         std::ref(counters), start, end, 0x1234567ULL + t);
  }
  for (auto& t : issuers) t.join();
  stats.window_end_ns.store(steadyNs());
  const double window_s = std::chrono::duration<double>(SteadyClock::now() - start).count();
  const std::vector<NodeSample> after = sampleAll(nodes);
  // Late replies still count in the latencies: wait for the commands in flight.
  std::this_thread::sleep_for(std::max<std::chrono::milliseconds>(o.lookup_timeout * 2, 1100ms));

  Report r;
  r.target = o.cluster.empty() ? o.redis : "cluster " + [&] {
    std::string s;
    for (const auto& c : o.cluster) s += (s.empty() ? "" : ",") + c;
    return s;
  }();
  r.mode = o.stateful ? "stateful" : "session-id";
  r.servers = o.servers;
  r.links = static_cast<unsigned>(links.size());
  r.threads = threads;
  r.duration_s = window_s;
  r.handshakes_per_server = o.handshakes_per_server;
  r.resumed_share = o.resumed_share;
  r.lookup_timeout_ms = static_cast<double>(o.lookup_timeout.count());
  r.handshakes = counters.handshakes.load();
  r.resumptions = counters.resumptions.load();
  r.full_after_lookup = counters.full_after_lookup.load();
  for (std::size_t i = 0; i < servers.size(); ++i) {
    const auto s = servers[i]->tier.stats();
    const auto& b = tiers_before[i];
    r.hits += s.hits - b.hits;
    r.misses += s.misses - b.misses;
    r.lookup_timeouts += s.timeouts - b.timeouts;
    r.lookup_errors += s.errors - b.errors;
    r.writes += s.writes - b.writes;
    r.writes_dropped += s.writes_dropped - b.writes_dropped;
    r.write_errors += s.write_errors - b.write_errors;
  }
  for (std::size_t i = 0; i < kCommands.size(); ++i) {
    const CommandStats& c = stats.by_command[i];
    if (c.issued.load() == 0) continue;
    CommandFigures f;
    f.name = kCommands[i];
    f.issued = c.issued.load();
    f.ok = c.ok.count();
    f.timeouts = c.timeouts.load();
    f.errors = c.errors.load();
    f.redis_errors = c.redis_errors.load();
    f.p50_us = c.ok.quantileUs(0.50);
    f.p99_us = c.ok.quantileUs(0.99);
    f.max_us = c.ok.maxUs();
    f.mean_us = c.ok.meanUs();
    r.commands.push_back(f);
  }
  for (std::size_t i = 0; i < after.size() && i < before.size(); ++i) {
    const NodeSample& a = after[i];
    const NodeSample& b = before[i];
    NodeFigures n;
    n.addr = a.addr;
    n.role = a.role;
    n.pid = a.pid;
    n.ok = a.ok && b.ok;
    if (a.cpu_us && b.cpu_us) n.cpu_s = (*a.cpu_us - *b.cpu_us) / 1e6;
    n.info_cpu_s = a.info_cpu_s - b.info_cpu_s;
    n.used_memory_delta = static_cast<double>(a.used_memory) - static_cast<double>(b.used_memory);
    n.used_memory = a.used_memory;
    n.keys_delta = static_cast<double>(a.keys) - static_cast<double>(b.keys);
    n.keys = a.keys;
    n.net_in = minus(a.net_in, b.net_in);
    n.net_out = minus(a.net_out, b.net_out);
    n.repl_out = minus(a.repl_out, b.repl_out);
    n.calls = minus(a.calls, b.calls);
    r.nodes.push_back(n);
  }

  for (auto& l : links) l->stop();  // before the servers go: pending callbacks run now
  if (o.json)
    std::fputs(fleetload::reportJson(r).c_str(), stdout);
  else
    std::fputs(fleetload::reportTable(r).c_str(), stdout);
  return 0;
}

CLI::App* addFleetLoadCommand(CLI::App& app) {
  FleetLoadOptions& o = g_options;
  CLI::App* cmd = app.add_subcommand(
      "fleet-load",
      "Send the Redis traffic of N simulated fleet servers (sessions, key and revocation polls, heartbeats, as the\n"
      "servers send them) to one Redis or a Redis Cluster; report commands/s, per-command latency, Redis CPU per command");
  CLI::Option* redis = cmd->add_option("--redis", o.redis, "redis://HOST:PORT of one Redis");
  CLI::Option* cluster = cmd->add_option("--cluster", o.cluster, "a Redis Cluster's seed nodes HOST:PORT (repeatable or comma list)")
                             ->delimiter(',');
  redis->excludes(cluster);
  const CLI::Validator number = CLI::Validator(CLI::Number).description("");
  cmd->add_option("-n,--servers", o.servers, "simulated servers [10]")->check(CLI::Range(1u, 100000u));
  cmd->add_option("-d,--duration", o.duration_s, "seconds measured [10]")->check(number)->check(CLI::Range(0.5, 3600.0));
  cmd->add_option("--handshakes-per-server", o.handshakes_per_server, "handshakes/s of each simulated server [2000]")
      ->check(number)
      ->check(CLI::Range(0.0, 1e6));
  cmd->add_option("--resumed-share", o.resumed_share, "share of handshakes that resume a session another server made [0.5]")
      ->check(number)
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_flag("--stateful", o.stateful,
                "TLS 1.3 stateful tickets (each handshake writes a session; a resumption also reads one) instead of\n"
                "TLS 1.2 session ids (a full handshake writes one, a resumption reads one)");
  cmd->add_option("--links", o.links, "connections (per Redis node) the simulated servers share [4]")->check(CLI::Range(1u, 64u));
  cmd->add_option("--threads", o.threads, "threads issuing the handshakes' commands [2]")->check(CLI::Range(1u, 64u));
  cmd->add_option("--lookup-timeout-ms", [&o](const CLI::results_t& v) {
       o.lookup_timeout = std::chrono::milliseconds{std::stol(v.front())};
       return true;
     }, "a lookup's deadline, as fleet.lookup_timeout [5]")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--session-lifetime", [&o](const CLI::results_t& v) {
       o.session_lifetime = std::chrono::seconds{std::stol(v.front())};
       return true;
     }, "seconds a stored session lives (its PX) [3600]")
      ->check(CLI::Range(1, 86400));
  cmd->add_option("--record-bytes", o.record_bytes, "bytes of each stored session record [256]")->check(CLI::Range(16, 65536));
  cmd->add_option("--key-prefix", o.key_prefix, "key prefix (keep it apart from a real fleet's) [tlsresume-load]");
  cmd->add_flag("--json", o.json, "JSON instead of the table");
  return cmd;
}

int runFleetLoadCommand() {
  if (g_options.redis.empty() && g_options.cluster.empty()) {
    std::fprintf(stderr, "tlsresume fleet-load: give --redis redis://HOST:PORT or --cluster HOST:PORT[,HOST:PORT...]\n");
    return 2;
  }
  return runFleetLoad(g_options);
}

}  // namespace tlsresume::tools
