#include "tools/bench_run.hpp"

#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

#include "tlsresume/crypto.hpp"
#include "tools/bench_cpu.hpp"
#include "tools/bench_fleet.hpp"
#include "tools/bench_floor.hpp"
#include "tools/bench_load.hpp"
#include "tools/bench_peers.hpp"
#include "tools/bench_process.hpp"
#include "tools/bench_progress.hpp"
#include "tools/bench_report.hpp"

namespace tlsresume::tools::bench {
namespace {

// Where the results go is checked before the first cell runs: a run of many minutes must
// not end in "cannot write". Missing parent directories are made, as for --report.
std::string outputProblem(const std::string& path, bool is_dir) {
  if (path.empty()) return {};
  const std::filesystem::path p(path);
  const std::filesystem::path dir = is_dir ? p : p.parent_path();
  std::error_code ec;
  if (!dir.empty() && !std::filesystem::create_directories(dir, ec) && ec)
    return "cannot create directory " + dir.string() + ": " + ec.message();
  const std::string probe = is_dir ? (p / "index.md").string() : path;
  const bool existed = std::filesystem::exists(probe, ec);
  std::FILE* f = std::fopen(probe.c_str(), "a");
  if (!f) return "cannot write " + probe + ": " + std::strerror(errno);
  std::fclose(f);
  if (!existed) std::filesystem::remove(probe, ec);
  return {};
}

// Why a HOST:PORT target's cells are not run again for a second --cert-type.
constexpr const char* kMeasuredOnce = "a HOST:PORT target presents its own certificate: measured once";
// Descriptors the bench needs besides one per connection in flight: epoll, pipes to the
// servers it starts, their logs, /proc reads.
constexpr rlim_t kSpareDescriptors = 64;

// Each connection in flight is a socket: check the open-files limit before the first cell
// instead of reporting "too many open files" on every connection. The soft limit is
// raised as far as the hard one allows.
std::string descriptorProblem(unsigned concurrency) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return {};
  const rlim_t need = concurrency + kSpareDescriptors;
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < need) {
    lim.rlim_cur = lim.rlim_max == RLIM_INFINITY ? need : std::min(need, lim.rlim_max);
    setrlimit(RLIMIT_NOFILE, &lim);
    getrlimit(RLIMIT_NOFILE, &lim);
  }
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < need)
    return "--concurrency " + std::to_string(concurrency) + " needs about " + std::to_string(need) +
           " open files; the limit here is " + std::to_string(lim.rlim_cur) + " (ulimit -n)";
  return {};
}

Machine describeMachine() {
  Machine m;
  m.nproc = static_cast<unsigned>(sysconf(_SC_NPROCESSORS_ONLN));
  m.openssl = crypto::libraryVersion();
  utsname u{};
  if (uname(&u) == 0) m.kernel = std::string(u.sysname) + " " + u.release;
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) m.cpu_model = line.substr(line.find_first_not_of(' ', colon + 1));
      break;
    }
  }
  return m;
}

// Fails fast, before minutes of other cells, when a HOST:PORT target does not accept.
// Each address the name resolves to is tried in turn, as the load generator does.
std::string unreachable(const Target& t) {
  const std::string what = "target " + t.name;
  try {
    const server::AddressList a = server::resolveAll(t.endpoint, "target");  // "target HOST:PORT: cannot resolve ..."
    ::close(server::connectTo(a, 3000, what));
    return {};
  } catch (const std::exception& e) {
    std::string text = e.what();
    // "target NAME: Connection refused" is written "connection refused", as in the cells.
    if (text.size() > what.size() + 2 && text.compare(0, what.size(), what) == 0)
      text[what.size() + 2] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[what.size() + 2])));
    return text;
  }
}

std::string cellLabel(const CellResult& c) { return c.target + " " + c.certName() + " " + toString(c.scenario); }

// Before it is measured, a HOST:PORT target's certificate is not known: no label for it.
std::string cellLabel(const CellResult& c, const Target& t) {
  if (t.kind == TargetKind::external && c.server_key.empty()) return c.target + " " + toString(c.scenario);
  return cellLabel(c);
}

// What the fleet target's instruments read at one moment: each server's CPU and fleet
// metrics, Redis's CPU and command counts.
struct FleetState {
  std::vector<std::optional<double>> node_cpu_us;
  std::vector<FleetSample> metrics;
  std::optional<double> redis_cpu_us;
  std::map<std::string, std::uint64_t> commands;
  std::optional<std::uint64_t> used_memory, keys;
  std::string problem;  // a reading that failed: no figures from it
};

// Commands the bench sends itself, not counted as the fleet's.
bool ownCommand(const std::string& name) { return name == "info" || name == "dbsize"; }

// Scrapes (which cost the servers and Redis a little CPU) are read before the CPU clocks at
// the start of the measured phase and after them at its end, so they fall outside it.
void scrape(RunningServer& fleet, FleetState& st) {
  try {
    for (const auto& node : fleet.nodes) {
      const AdminAnswer a = adminGet(*node->admin, "/metrics");
      if (a.status != 200) throw BenchError("/metrics answered " + std::to_string(a.status));
      st.metrics.push_back(parseFleetMetrics(a.body));
    }
    st.commands = parseCommandCalls(redisCommand(fleet.redis->endpoint, {"INFO", "commandstats"}));
    st.used_memory = infoField(redisCommand(fleet.redis->endpoint, {"INFO", "memory"}), "used_memory");
    st.keys = std::strtoull(redisCommand(fleet.redis->endpoint, {"DBSIZE"}).c_str(), nullptr, 10);
  } catch (const BenchError& e) {
    st.problem = e.what();
  }
}

void readClocks(RunningServer& fleet, FleetState& st) {
  st.node_cpu_us.clear();
  for (const auto& node : fleet.nodes) st.node_cpu_us.push_back(processTreeCpuUs(node->pid));
  st.redis_cpu_us = processTreeCpuUs(fleet.redis->pid);
}

FleetFigures fleetFigures(RunningServer& fleet, const FleetState& before, const FleetState& after,
                          const LoadResult& r) {
  FleetFigures f;
  f.nodes = static_cast<unsigned>(fleet.nodes.size());
  f.handshakes_per_node = r.per_server;
  f.resumed_on_issuer = r.resumed_on_issuer;
  for (std::size_t i = 0; i < fleet.nodes.size(); ++i) {
    const auto& a = i < after.node_cpu_us.size() ? after.node_cpu_us[i] : std::nullopt;
    const auto& b = i < before.node_cpu_us.size() ? before.node_cpu_us[i] : std::nullopt;
    if (a && b) f.node_cpu_us.push_back(*a - *b);
  }
  if (f.node_cpu_us.size() != fleet.nodes.size()) f.node_cpu_us.clear();
  if (before.problem.empty() && after.problem.empty() && before.metrics.size() == after.metrics.size()) {
    FleetSample total;
    for (std::size_t i = 0; i < after.metrics.size(); ++i) accumulate(total, difference(after.metrics[i], before.metrics[i]));
    f.lookups_hit = total.hit;
    f.lookups_miss = total.miss;
    f.lookups_timeout = total.timeout;
    f.lookups_error = total.error;
    f.writes = total.writes;
    f.writes_dropped = total.writes_dropped;
    if (total.count > 0) {
      if (auto q = histogramQuantile(total.buckets, 0.50)) f.lookup_p50_us = *q * 1e6;
      if (auto q = histogramQuantile(total.buckets, 0.99)) f.lookup_p99_us = *q * 1e6;
      f.lookup_mean_us = total.sum_seconds / total.count * 1e6;
    }
    for (const auto& [name, calls] : after.commands) {
      if (ownCommand(name)) continue;
      const auto was = before.commands.find(name);
      const std::uint64_t d = calls - (was == before.commands.end() ? 0 : std::min(calls, was->second));
      if (d > 0) f.redis_commands[name] = d;
    }
  }
  if (before.redis_cpu_us && after.redis_cpu_us) {
    f.redis_cpu_us = *after.redis_cpu_us - *before.redis_cpu_us;
    if (r.resumed > 0) f.redis_cpu_us_per_resumed = *f.redis_cpu_us / static_cast<double>(r.resumed);
    if (f.redisCommands() > 0) f.redis_cpu_us_per_command = *f.redis_cpu_us / static_cast<double>(f.redisCommands());
  }
  f.redis_used_memory = after.used_memory;
  f.redis_keys = after.keys;
  f.redis_used_memory_start = before.used_memory;
  f.redis_keys_start = before.keys;
  return f;
}

// "tlsresume (OpenSSL 3.0.19)", "nginx 1.22.1 (OpenSSL 3.0.19)", "HAProxy 2.6.12 (OpenSSL
// 3.0.19)", "TCP floor (no TLS)"; a HOST:PORT keeps its name. Two targets that would read
// the same (ours twice on one library) are told apart by their names.
void labelServers(std::vector<ServerInfo>& servers) {
  for (auto& s : servers) {
    if (s.library == "no TLS") {
      s.label = s.software + " (no TLS)";
      continue;
    }
    s.label = s.software;
    if (!s.version.empty()) s.label += " " + s.version.substr(0, s.version.find('-'));  // "2.6.12-1+deb12u4"
    if (!s.library.empty()) s.label += " (" + shortLibrary(s.library) + ")";
  }
  std::map<std::string, int> seen;
  for (const auto& s : servers) ++seen[s.label];
  for (auto& s : servers)
    if (seen[s.label] > 1 && s.label != s.target) s.label += " [" + s.target + "]";
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

class Runner {
 public:
  explicit Runner(BenchOptions options) : options_(std::move(options)), launcher_(options_, dir_) {
    result_.machine = describeMachine();
  }

  int run() {
    const auto t0 = std::chrono::steady_clock::now();
    {
      const std::time_t now = std::time(nullptr);
      char buf[64];
      std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
      result_.measured_at = buf;
    }
    if (options_.pin) {
      if (result_.machine.nproc < 2 || !pinSelf(1)) {
        std::fprintf(stderr, "tlsresume bench: --pin needs 2 CPUs; running unpinned\n");
        options_.pin = false;
      }
    }
    for (const auto& t : options_.targets) {
      if (t.kind != TargetKind::external) continue;
      if (std::string why = unreachable(t); !why.empty()) {
        std::fprintf(stderr, "tlsresume bench: %s\n", why.c_str());
        return 1;
      }
    }
    if (options_.server_pid != 0 && ignoresSigchld(options_.server_pid))
      std::fprintf(stderr,
                   "tlsresume bench: note: --server-pid %d ignores SIGCHLD, so the kernel reaps its children: the CPU "
                   "of children that exit during a cell is not counted (live ones are)\n",
                   options_.server_pid);
    for (const auto& t : options_.targets)
      if (t.kind == TargetKind::fleet && access(kRedisServerBin, X_OK) != 0) {
        std::fprintf(stderr, "tlsresume bench: --target fleet needs redis-server: %s not found (apt-get install redis-server)\n",
                     kRedisServerBin);
        return 1;
      }
    if (std::string why = descriptorProblem(options_.concurrency); !why.empty()) {
      std::fprintf(stderr, "tlsresume bench: %s\n", why.c_str());
      return 1;
    }
    for (const auto& [path, is_dir] : {std::pair{jsonToStdout() ? std::string() : options_.json_file, false},
                                       std::pair{options_.report_dir, true}})
      if (std::string why = outputProblem(path, is_dir); !why.empty()) {
        std::fprintf(stderr, "tlsresume bench: %s\n", why.c_str());
        return 1;
      }
    plan();
    describeServers();
    Progress progress(result_.cells.size() * options_.rounds);
    std::vector<std::vector<CellResult>> rounds(result_.cells.size());
    for (std::size_t c = 0; c < options_.certs.size() && !interrupted(); ++c) {
      const CertMaterial& material = certificate(options_.certs[c]);
      if (c == 0)
        for (const auto& target : options_.targets) result_.postures.push_back(launcher_.posture(target));
      // Scenario by scenario, every target in turn: the cells that are compared with each
      // other run seconds apart, not minutes, so drift on a shared machine (frequency,
      // noisy neighbours) moves them together and their ratios hold. Rounds repeat that
      // whole sweep; the floor runs beside its scenario's cells, every round.
      std::vector<TargetServer> servers(options_.targets.size());
      for (unsigned r = 0; r < options_.rounds && !interrupted(); ++r)
        for (std::size_t s = 0; s < options_.scenarios.size() && !interrupted(); ++s) {
          for (std::size_t t = 0; t < options_.targets.size() && !interrupted(); ++t) {
            const std::size_t at = cellIndex(c, t, s);
            CellResult cell = result_.cells[at];  // target, cert and scenario; no figures yet
            runTargetCell(options_.targets[t], servers[t], material, c == 0, cell, progress);
            rounds[at].push_back(std::move(cell));
          }
          if (options_.floor && !interrupted()) runFloor(options_.certs[c], options_.scenarios[s], progress);
        }
    }
    for (std::size_t i = 0; i < rounds.size(); ++i)
      if (!rounds[i].empty()) result_.cells[i] = mergeRounds(std::move(rounds[i]));
    settleOutsideTargets();
    compareFleetWithSelf();
    result_.floor = mergeFloorRounds(std::move(result_.floor));
    // Each server against the floor of the library it runs (a HOST:PORT's is unknown: this
    // binary's); the TCP floor runs none.
    for (auto& cell : result_.cells) {
      std::string library = libraryOf(cell.target);
      if (library == "no TLS") continue;
      if (library.empty()) library = result_.machine.openssl;
      for (const auto& f : result_.floor)
        if (cell.measured() && f.library == library && f.cert == cell.cert && f.scenario == cell.scenario &&
            (cell.server_key.empty() || cell.server_key == toString(f.cert)) && !floorMissedResumption(f))
          cell.floor_us = f.server_us;
    }
    result_.options = options_;
    result_.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return finish();
  }

 private:
  void plan() {
    for (CertType cert : options_.certs)
      for (const auto& target : options_.targets)
        for (Scenario s : options_.scenarios) {
          CellResult c;
          c.target = target.name;
          c.cert = cert;
          c.scenario = s;
          result_.cells.push_back(c);
        }
  }

  void describeServers() {
    for (const auto& t : options_.targets) result_.servers.push_back(launcher_.describe(t));
    labelServers(result_.servers);
    for (std::size_t i = 0; i < options_.targets.size(); ++i) {
      const Target& t = options_.targets[i];
      const std::string& library = result_.servers[i].library;
      // The label follows the library the binary runs, whatever the target's name asked for.
      if (t.kind == TargetKind::other_build && !library.empty() && library.find(t.library) == std::string::npos)
        std::fprintf(stderr, "tlsresume bench: note: %s: %s runs %s, not %s; its cells are labelled %s\n",
                     t.name.c_str(), launcher_.otherBuildPath(t).c_str(), library.c_str(), t.library.c_str(),
                     result_.servers[i].label.c_str());
    }
  }

  // The library a target runs, from its description.
  std::string libraryOf(const std::string& target) const {
    for (const auto& s : result_.servers)
      if (s.target == target) return s.library;
    return {};
  }

  const CertMaterial& certificate(CertType type) {
    auto it = certs_.find(type);
    if (it == certs_.end()) it = certs_.emplace(type, makeCertMaterial(type)).first;
    return it->second;
  }

  // A target's server, started on its first cell and kept for its other cells.
  struct TargetServer {
    std::unique_ptr<RunningServer> server;
    std::string error;  // it could not start: every later cell of the target fails with this
  };

  std::size_t cellIndex(std::size_t cert, std::size_t target, std::size_t scenario) const {
    // plan() lays cells out cert by cert, target by target, scenario by scenario: the
    // order of the tables, whatever the order they are measured in.
    return (cert * options_.targets.size() + target) * options_.scenarios.size() + scenario;
  }

  // A HOST:PORT target's rows name the certificate it presented, skipped rows included,
  // and appear once: the rows a second --cert-type pass skipped would repeat its cells.
  void settleOutsideTargets() {
    for (const auto& t : options_.targets) {
      if (t.kind != TargetKind::external) continue;
      const auto seen = std::find_if(result_.cells.begin(), result_.cells.end(), [&](const CellResult& c) {
        return c.target == t.name && !c.server_key.empty();
      });
      if (seen == result_.cells.end()) continue;
      const CellResult known = *seen;
      for (auto& c : result_.cells)
        if (c.target == t.name && c.server_key.empty()) {
          c.server_key = known.server_key;
          c.cert = known.cert;
        }
    }
    std::erase_if(result_.cells, [](const CellResult& c) { return c.skipped_reason == kMeasuredOnce; });
  }

  // A fleet cell next to the same scenario on one server, when the run measured it.
  void compareFleetWithSelf() {
    for (auto& c : result_.cells) {
      if (!c.fleet || !c.measured()) continue;
      const auto self = std::find_if(result_.cells.begin(), result_.cells.end(), [&](const CellResult& s) {
        return s.target == "self" && s.cert == c.cert && s.scenario == c.scenario && s.measured() && s.handshakes > 0;
      });
      if (self == result_.cells.end()) continue;
      FleetFigures& f = *c.fleet;
      f.self_cpu_us_per_handshake = self->server_cpu_us_per_handshake;
      if (self->server_cpu_us_per_handshake && c.server_cpu_us_per_handshake && *self->server_cpu_us_per_handshake > 0)
        f.cpu_vs_self = *c.server_cpu_us_per_handshake / *self->server_cpu_us_per_handshake;
      if (self->latency_us && c.latency_us) {
        f.client_p50_added_us = c.latency_us->p50 - self->latency_us->p50;
        f.client_p99_added_us = c.latency_us->p99 - self->latency_us->p99;
      }
    }
  }

  // A floor of a resumed scenario that mostly made full handshakes in memory is not that
  // handshake's floor: no figure rather than a full handshake's passed off as one (the
  // floor table still shows it, with its resumed share).
  static bool floorMissedResumption(const FloorResult& f) { return resumes(f.scenario) && f.resumed_ratio < 0.9; }

  // The floor is measured beside its scenario in every round, like the cells: one 400 ms
  // sample moved ±30% between runs here. Per certificate and scenario, the median round's
  // cost, the summed handshakes.
  static std::vector<FloorResult> mergeFloorRounds(std::vector<FloorResult> all) {
    std::vector<FloorResult> merged;
    std::vector<bool> used(all.size(), false);
    for (std::size_t i = 0; i < all.size(); ++i) {
      if (used[i]) continue;
      std::vector<double> server, client, ratio;
      FloorResult f = all[i];
      f.handshakes = 0;
      for (std::size_t j = i; j < all.size(); ++j) {
        if (used[j] || all[j].library != f.library || all[j].cert != f.cert || all[j].scenario != f.scenario) continue;
        used[j] = true;
        server.push_back(all[j].server_us);
        client.push_back(all[j].client_us);
        ratio.push_back(all[j].resumed_ratio);
        f.handshakes += all[j].handshakes;
      }
      f.server_us = median(server);
      f.client_us = median(client);
      f.resumed_ratio = median(ratio);
      merged.push_back(f);
    }
    return merged;
  }

  // One cell from its rounds: the round with the median server CPU gives the latency and
  // bytes, CPU and rate are medians, counts and seconds are summed so the resumption ratio
  // covers every handshake, and a round that failed or was skipped makes the cell so.
  static CellResult mergeRounds(std::vector<CellResult> rounds) {
    for (auto& r : rounds)
      if (!r.measured()) return std::move(r);
    if (rounds.size() == 1) return std::move(rounds.front());
    std::vector<std::size_t> order(rounds.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    const auto cpu = [&](std::size_t i) { return rounds[i].server_cpu_us_per_handshake.value_or(0); };
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return cpu(a) < cpu(b); });
    CellResult merged = rounds[order[(order.size() - 1) / 2]];
    merged.handshakes = merged.resumed = merged.resumed_by_ticket = merged.errors = merged.attempts =
        merged.not_2xx = 0;
    merged.seconds = 0;
    merged.server_says.clear();
    merged.server_cpu_us_rounds.clear();
    std::vector<double> rates;
    for (const auto& r : rounds) {
      merged.handshakes += r.handshakes;
      merged.resumed += r.resumed;
      merged.resumed_by_ticket += r.resumed_by_ticket;
      merged.attempts += r.attempts;
      merged.not_2xx += r.not_2xx;
      if (merged.first_not_2xx.empty()) merged.first_not_2xx = r.first_not_2xx;
      merged.errors += r.errors;
      merged.seconds += r.seconds;
      rates.push_back(r.handshakes_per_sec);  // the rate shown is the median round's, like the CPU
      for (const auto& [kind, n] : r.server_says) merged.server_says[kind] += n;
      if (r.server_cpu_us_per_handshake) merged.server_cpu_us_rounds.push_back(*r.server_cpu_us_per_handshake);
      if (merged.first_error.empty()) merged.first_error = r.first_error;
    }
    merged.handshakes_per_sec = median(rates);
    if (merged.server_cpu_us_rounds.size() == rounds.size()) {
      merged.server_cpu_us_per_handshake = median(merged.server_cpu_us_rounds);
    } else {
      // Some rounds had no CPU figure: no median of a subset passed off as the cell's.
      merged.server_cpu_us_per_handshake.reset();
      merged.server_cpu_us_rounds.clear();
    }
    if (merged.handshakes > 0)
      merged.resumed_ratio = static_cast<double>(merged.resumed) / static_cast<double>(merged.handshakes);
    return merged;
  }

  void runTargetCell(const Target& target, TargetServer& shared, const CertMaterial& cert, bool first_cert,
                     CellResult& cell, Progress& progress) {
    const std::string unavailable = launcher_.unavailableReason(target);
    std::string skip = unavailable.empty() ? ServerLauncher::scenarioSkipReason(target, cell.scenario) : unavailable;
    if (skip.empty() && target.kind == TargetKind::external && !first_cert)
      skip = kMeasuredOnce;
    if (!skip.empty()) {
      cell.skipped_reason = skip;
      progress.skip(cellLabel(cell, target), skip);
      return;
    }
    // Stateful TLS 1.3 tickets are a server setting (ours: tls13_tickets = "stateful";
    // nginx, HAProxy: session tickets off): a second server so configured, for this cell only.
    // The TCP floor has no TLS to configure.
    const bool dedicated = target.kind != TargetKind::external && target.kind != TargetKind::tcp_floor &&
                           cell.scenario == Scenario::stateful_ticket;
    std::unique_ptr<RunningServer> own;
    RunningServer* use = nullptr;
    const bool starts = target.kind != TargetKind::external && (dedicated || (!shared.server && shared.error.empty()));
    progress.start(cellLabel(cell, target),
                   (starts ? "starting " + std::string(dedicated ? "a stateful-ticket " : "") + target.name + ", then "
                           : std::string()) +
                       runPlan());
    try {
      if (dedicated) {
        own = launcher_.start(target, cert, true);
        use = own.get();
      } else {
        if (!shared.server && shared.error.empty()) shared.server = launcher_.start(target, cert, false);
        if (!shared.error.empty()) throw BenchError(shared.error);
        use = shared.server.get();
      }
    } catch (const BenchError& e) {
      if (!dedicated) shared.error = e.what();
      fail(cell, e.what(), progress);
      return;
    }
    runCell(cell, target, *use, progress);
  }

  std::string runPlan() const {
    return options_.count ? std::to_string(options_.count) + " handshakes"
                          : "running " + fixed(options_.duration.count(), 1) + " s";
  }

  void fail(CellResult& cell, const std::string& error, Progress& progress) {
    cell.error = error;
    hard_error_ = true;
    progress.finish("error: " + error);
  }

  void runCell(CellResult& cell, const Target& target, RunningServer& server, Progress& progress) {
    LoadSpec spec;
    const bool fleet = !server.nodes.empty();
    try {
      spec.addresses = server::resolveAll(server.endpoint, "target");
      for (const auto& node : server.nodes) spec.servers.push_back(server::resolveAll(node->endpoint, "target"));
    } catch (const std::exception& e) {
      return fail(cell, e.what(), progress);
    }
    spec.target_name = target.kind == TargetKind::external ? "target " + target.name : target.name;
    if (target.kind == TargetKind::external) addressTarget(spec, target.endpoint, options_.sni);
    spec.clients = clientsFor(cell.scenario, options_.mix_no_ticket);
    spec.plain = target.kind == TargetKind::tcp_floor;
    if (spec.plain) spec.clients.alternate.reset();  // one kind of client: no TLS
    spec.concurrency = options_.concurrency;
    spec.path = options_.path;
    spec.duration = options_.duration;
    spec.count = options_.count;
    std::optional<double> cpu_before;
    FleetState fleet_before, fleet_after;
    spec.on_measure_start = [&] {
      if (fleet) {
        scrape(server, fleet_before);
        readClocks(server, fleet_before);
        return;
      }
      cpu_before = server.pid ? processTreeCpuUs(server.pid) : std::nullopt;
    };
    spec.on_tick = [&](std::uint64_t n, double s) { progress.tick(n, s); };
    LoadResult r;
    try {
      r = runLoad(spec, interrupted());
    } catch (const BenchError& e) {
      return fail(cell, e.what(), progress);
    }
    if (interrupted()) {
      cell.skipped_reason = "interrupted";  // a partial cell would read as a measurement
      return progress.finish("interrupted");
    }
    std::optional<double> cpu_after = server.pid ? processTreeCpuUs(server.pid) : std::nullopt;
    if (fleet) {
      readClocks(server, fleet_after);
      scrape(server, fleet_after);
      cell.fleet = fleetFigures(server, fleet_before, fleet_after, r);
      // The fleet's CPU is the sum over its servers (Redis apart, reported on its own).
      cpu_before = cpu_after = std::nullopt;
      if (!cell.fleet->node_cpu_us.empty()) {
        cpu_before = 0.0;
        cpu_after = 0.0;
        for (double us : cell.fleet->node_cpu_us) *cpu_after += us;
      }
    }
    fill(cell, r);
    if (target.kind == TargetKind::tcp_floor) {
      cell.protocol = "TCP";
      cell.resumed_ratio.reset();  // nothing to resume
    }
    // What the client saw decides the label (and which floor compares): a HOST:PORT target
    // serves its own certificate, not the one --cert-type names.
    if (r.server_key == "ecdsa") cell.cert = CertType::ecdsa;
    if (r.server_key == "rsa") cell.cert = CertType::rsa;
    cell.server_key = r.server_key;
    if (cpu_before && cpu_after && r.handshakes > 0)
      cell.server_cpu_us_per_handshake = (*cpu_after - *cpu_before) / static_cast<double>(r.handshakes);
    checkServerPid(target, cell, cpu_before.has_value(), cpu_after.has_value(), progress);
    if (r.handshakes == 0) {
      return fail(cell, r.first_error.empty() ? "no handshake completed" : r.first_error, progress);
    }
    std::string summary = fixed(cell.handshakes_per_sec, 0) + " hs/s";
    if (resumes(cell.scenario) && cell.resumed_ratio) summary += ", " + fixed(100 * cell.resumed_ratio.value_or(0), 1) + "% resumed";
    if (cell.server_cpu_us_per_handshake) summary += ", " + fixed(*cell.server_cpu_us_per_handshake, 0) + " us CPU/hs";
    if (cell.fleet) {
      summary += ", " + std::to_string(cell.fleet->lookups()) + " Redis lookups";
      if (cell.fleet->redis_cpu_us_per_resumed)
        summary += ", Redis " + fixed(*cell.fleet->redis_cpu_us_per_resumed, 1) + " us CPU/resumed";
    }
    if (r.errors) summary += ", " + std::to_string(r.errors) + " errors (first: " + r.first_error + ")";
    progress.finish(summary);
  }

  // A pid the user gave (--server-pid) is taken on trust: say so when it cannot be the
  // server (it did no work while the server answered) or when it went away, instead of
  // printing 0 µs or silently dropping the figure.
  void checkServerPid(const Target& target, CellResult& cell, bool before, bool after, Progress& progress) {
    if (target.kind != TargetKind::external || options_.server_pid == 0) return;
    const std::string pid = std::to_string(options_.server_pid);
    if (!before || !after) {
      if (!pid_gone_reported_) progress.note("--server-pid " + pid + ": the process is gone; no CPU figures from " +
                                             cellLabel(cell) + " on");
      pid_gone_reported_ = true;
      cell.server_cpu_us_per_handshake.reset();
    } else if (cell.server_cpu_us_per_handshake && *cell.server_cpu_us_per_handshake <= 0 && cell.handshakes > 0) {
      if (!pid_idle_reported_)
        progress.note("--server-pid " + pid + " used no CPU while " + target.name + " answered " +
                      std::to_string(cell.handshakes) + " handshakes: is it the server? (no CPU figure)");
      pid_idle_reported_ = true;
      cell.server_cpu_us_per_handshake.reset();
    }
  }

  static void fill(CellResult& cell, LoadResult& r) {
    cell.handshakes = r.handshakes;
    cell.resumed = r.resumed;
    cell.resumed_by_ticket = r.resumed_by_ticket;
    cell.attempts = r.attempts;
    cell.not_2xx = r.not_2xx;
    cell.first_not_2xx = r.first_not_2xx;
    cell.errors = r.errors;
    cell.first_error = r.first_error;
    cell.seconds = r.seconds;
    cell.server_says = r.server_says;
    for (const auto& [version, n] : r.versions) {
      (void)n;
      const char* name = version == TLS1_3_VERSION ? "TLSv1.3" : version == TLS1_2_VERSION ? "TLSv1.2" : "other";
      if (!cell.protocol.empty()) cell.protocol += '+';
      cell.protocol += name;
    }
    if (r.handshakes == 0) return;
    cell.handshakes_per_sec = r.seconds > 0 ? static_cast<double>(r.handshakes) / r.seconds : 0;
    cell.resumed_ratio = static_cast<double>(r.resumed) / static_cast<double>(r.handshakes);
    cell.latency_us = percentiles(std::move(r.latencies_us));
    if (r.completed > 0) {
      cell.bytes_client_to_server = static_cast<double>(r.bytes_c2s) / static_cast<double>(r.completed);
      cell.bytes_server_to_client = static_cast<double>(r.bytes_s2c) / static_cast<double>(r.completed);
    }
    if (r.tickets > 0) cell.ticket_bytes = static_cast<double>(r.ticket_bytes) / static_cast<double>(r.tickets);
  }

  // This binary's library in memory, then the library of each other build in the run
  // (measured by that binary), unless it is the same library.
  void runFloor(CertType cert, Scenario scenario, Progress& progress) {
    const std::string what = std::string(toString(cert)) + " " + toString(scenario);
    progress.note("floor: " + shortLibrary(result_.machine.openssl) + " in memory, " + what + "...");
    try {
      auto f = measureFloor(certificate(cert), {scenario}, options_.mix_no_ticket, kFloorPerScenario, interrupted());
      result_.floor.insert(result_.floor.end(), f.begin(), f.end());
    } catch (const BenchError& e) {
      progress.note(std::string("floor: ") + e.what());
      hard_error_ = true;
    }
    for (const auto& t : options_.targets) {
      if (t.kind != TargetKind::other_build || interrupted() || !launcher_.unavailableReason(t).empty()) continue;
      const std::string library = launcher_.otherBuildLibrary(t);
      if (library == result_.machine.openssl) continue;
      progress.note("floor: " + shortLibrary(library) + " in memory (" + t.name + "), " + what + "...");
      try {
        auto f = measureFloorWith(launcher_.otherBuildPath(t), cert, scenario, options_.mix_no_ticket, dir_,
                                  options_.pin ? std::optional<int>(1) : std::nullopt);
        result_.floor.insert(result_.floor.end(), f.begin(), f.end());
      } catch (const BenchError& e) {
        progress.note("floor (" + t.name + "): " + e.what());
        hard_error_ = true;
      }
    }
  }

  int finish() {
    const bool stopped = interrupted();
    if (stopped) {
      std::fprintf(stderr, "%stlsresume bench: interrupted; servers stopped\n",
                   isatty(STDERR_FILENO) ? "\r\033[K" : "");
      for (auto& c : result_.cells)
        if (c.handshakes == 0 && c.skipped_reason.empty() && c.error.empty())
          c.skipped_reason = "not run (interrupted)";
    }
    // With --json -, standard output carries the JSON alone, for a pipe.
    std::FILE* human = jsonToStdout() ? stderr : stdout;
    printTable(result_, human);
    if (!stopped) printConclusions(result_, human);
    if (std::fflush(human) != 0 || std::ferror(human)) {  // e.g. > /dev/full: the table is the result
      std::fprintf(stderr, "tlsresume bench: cannot write the table: %s\n", std::strerror(errno));
      hard_error_ = true;
    }
    if (!stopped) judgeCells();
    if (!stopped && !options_.json_file.empty()) writeJson();
    if (!stopped && !options_.report_dir.empty()) {
      try {
        const ReportFiles files = writeReport(result_, options_.report_dir);
        std::fprintf(stderr, "report: %s%s\n", files.index.c_str(),
                     files.note.empty() ? "" : (" (" + files.note + ")").c_str());
      } catch (const std::exception& e) {
        std::fprintf(stderr, "tlsresume bench: report: %s\n", e.what());
        hard_error_ = true;
      }
    }
    if (stopped) return 130;
    return hard_error_ ? 1 : 0;
  }

  bool jsonToStdout() const { return options_.json_file == "-"; }

  // Written whole, then checked after the close: a buffered stream only meets a full disk
  // when it flushes.
  void writeJson() {
    const std::string doc = toJson(result_);
    std::string problem;
    if (jsonToStdout()) {
      if (std::fwrite(doc.data(), 1, doc.size(), stdout) != doc.size() || std::fflush(stdout) != 0)
        problem = std::strerror(errno);
    } else {
      std::ofstream out(options_.json_file, std::ios::binary | std::ios::trunc);
      out << doc;
      out.close();
      if (out.fail()) problem = std::strerror(errno);
    }
    if (!problem.empty()) {
      std::fprintf(stderr, "tlsresume bench: cannot write %s: %s\n",
                   jsonToStdout() ? "the JSON to standard output" : options_.json_file.c_str(), problem.c_str());
      hard_error_ = true;
    } else if (!jsonToStdout()) {
      std::fprintf(stderr, "json: %s\n", options_.json_file.c_str());
    }
  }

  // A run that measured nothing, or cells whose connections mostly failed, is not a
  // result a script should take for one: exit 1, saying why.
  void judgeCells() {
    bool any = false;
    for (const auto& c : result_.cells) {
      if (!c.measured() || c.handshakes == 0) continue;
      any = true;
      if (c.mostlyFailed()) {
        std::fprintf(stderr, "tlsresume bench: %s: %llu of %llu connections failed (first: %s)\n",
                     cellLabel(c).c_str(), static_cast<unsigned long long>(c.errors),
                     static_cast<unsigned long long>(c.attempts), c.first_error.c_str());
        hard_error_ = true;
      }
    }
    if (!any) {
      std::fprintf(stderr, "tlsresume bench: nothing was measured: every cell was skipped or failed\n");
      hard_error_ = true;
    }
  }

  BenchOptions options_;
  TempDir dir_;
  ServerLauncher launcher_;
  std::map<CertType, CertMaterial> certs_;
  RunResult result_;
  bool hard_error_ = false;
  bool pid_gone_reported_ = false;
  bool pid_idle_reported_ = false;
};

}  // namespace

int runBench(BenchOptions options) {
  InterruptGuard guard;
  try {
    Runner runner(std::move(options));
    return runner.run();
  } catch (const BenchError& e) {
    std::fprintf(stderr, "tlsresume bench: %s\n", e.what());
    return interrupted() ? 130 : 1;
  } catch (const std::exception& e) {
    // Anything else (no free port, a certificate that cannot be made): a message and the
    // Runner's cleanup (servers stopped, scratch removed), never std::terminate.
    std::fprintf(stderr, "tlsresume bench: %s\n", e.what());
    return 1;
  }
}

}  // namespace tlsresume::tools::bench
