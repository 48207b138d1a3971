// `tlsresume bench`: the command line. Parsing and validation only; the run is in
// bench_run.cpp.
#include "tools/bench.hpp"

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>

#include "server/net.hpp"
#include "tools/bench_floor.hpp"
#include "tools/bench_peers.hpp"
#include "tools/bench_run.hpp"
#include "tools/bench_tcp_floor.hpp"
#include "tools/bench_types.hpp"

namespace tlsresume::tools {
namespace {

using namespace bench;

// 7 default scenarios x 8 s plus warm-ups and server starts: about a minute against
// self on a 2-core machine; thousands of handshakes per cell average out the noise.
constexpr double kDefaultDurationSeconds = 8.0;
constexpr unsigned kDefaultConcurrency = 8;
constexpr double kDefaultMixNoTicket = 0.3;

struct BenchFlags {
  std::vector<std::string> targets;
  std::vector<std::string> scenarios;
  std::string cert_type = "ecdsa";
  unsigned concurrency = kDefaultConcurrency;
  double duration_s = kDefaultDurationSeconds;
  std::uint64_t count = 0;
  unsigned rounds = 1;
  double mix_no_ticket = kDefaultMixNoTicket;
  bool pin = false;
  bool floor = false;
  std::string json_file;
  std::string report_dir;
  int server_pid = 0;
  std::string sni;
  std::string path = "/";
  std::string nginx = kNginxBin;
  std::string haproxy = kHaproxyBin;
  unsigned fleet_size = 3;
  bool fleet_size_given = false;
  std::string other_build;
  std::string serve_tcp_floor;  // hidden: be the TCP floor's server on HOST:PORT
  bool floor_lines = false;     // hidden: print this binary's floor and exit
};

// Filled by CLI11 while parsing, read by runBenchCommand().
BenchFlags g_flags;

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

Target parseTarget(const std::string& text) {
  Target t;
  t.name = text;
  if (text == "self")
    t.kind = TargetKind::self;
  else if (text == "nginx")
    t.kind = TargetKind::nginx;
  else if (text == "haproxy")
    t.kind = TargetKind::haproxy;
  else if (text == "fleet")
    t.kind = TargetKind::fleet;
  else if (text == "tcp-floor")
    t.kind = TargetKind::tcp_floor;
  else if (text == "self-boringssl" || text == "self-openssl") {
    t.kind = TargetKind::other_build;
    t.library = text == "self-boringssl" ? "BoringSSL" : "OpenSSL";
  } else {
    // "::1" or "::1:443" cannot be told apart from HOST:PORT (CLI11 also takes "[::1]" for
    // its list syntax and strips the brackets): ask for the bracketed form.
    if (text.find(':') != text.rfind(':') && text.front() != '[')
      throw UsageError("--target " + text + ": write an IPv6 address in brackets with a port, e.g. [::1]:443");
    try {
      t.endpoint = server::parseEndpoint(text, "--target");
    } catch (const server::ConfigError& e) {
      throw UsageError(std::string(e.what()) + " (expected self, nginx, haproxy or HOST:PORT; or fleet, self-boringssl, self-openssl, tcp-floor)");
    }
    t.kind = TargetKind::external;
  }
  return t;
}

BenchOptions toOptions(const BenchFlags& f) {
  BenchOptions o;
  for (const auto& name : f.targets.empty() ? std::vector<std::string>{"self"} : f.targets) {
    if (name.empty()) continue;
    Target t = parseTarget(name);
    if (std::none_of(o.targets.begin(), o.targets.end(), [&](const Target& x) { return x.name == t.name; }))
      o.targets.push_back(t);
  }
  if (o.targets.empty()) throw UsageError("--target: give at least one target");
  if (f.scenarios.empty()) o.scenarios = allScenarios();
  for (const auto& name : f.scenarios) {
    if (name.empty()) continue;
    const auto parsed = parseScenario(name);
    if (!parsed) {
      std::string valid = "full";
      for (Scenario s : allScenarios()) valid += std::string(", ") + toString(s);
      throw UsageError("--scenarios: unknown scenario \"" + name + "\" (valid: " + valid + ", all)");
    }
    for (Scenario s : *parsed)
      if (std::find(o.scenarios.begin(), o.scenarios.end(), s) == o.scenarios.end()) o.scenarios.push_back(s);
  }
  if (o.scenarios.empty()) throw UsageError("--scenarios: give at least one scenario");
  if (f.cert_type == "both")
    o.certs = {CertType::ecdsa, CertType::rsa};
  else
    o.certs = {f.cert_type == "rsa" ? CertType::rsa : CertType::ecdsa};
  o.concurrency = f.concurrency;
  o.duration = std::chrono::duration<double>(f.duration_s);
  o.count = f.count;
  o.rounds = f.rounds;
  o.mix_no_ticket = f.mix_no_ticket;
  o.pin = f.pin;
  o.floor = f.floor;
  o.json_file = f.json_file;
  o.report_dir = f.report_dir;
  o.server_pid = f.server_pid;
  o.sni = f.sni;
  const auto externals = std::count_if(o.targets.begin(), o.targets.end(),
                                      [](const Target& t) { return t.kind == TargetKind::external; });
  const bool external = externals > 0;
  if (f.server_pid != 0) {
    if (!external)
      throw UsageError("--server-pid: only for a HOST:PORT target (self, nginx and haproxy are measured by the bench)");
    if (externals > 1)
      throw UsageError("--server-pid: one pid cannot be the server of " + std::to_string(externals) +
                       " HOST:PORT targets; measure them one per run");
    if (::kill(f.server_pid, 0) != 0 && errno == ESRCH)
      throw UsageError("--server-pid: no process with pid " + std::to_string(f.server_pid));
  }
  if (!f.sni.empty() && !external)
    throw UsageError("--sni: only for a HOST:PORT target (the bench's own servers answer to \"localhost\")");
  if (server::ipLiteral(f.sni) != server::IpLiteral::none)
    throw UsageError("--sni " + f.sni + ": a server name, not an IP address (RFC 6066 section 3)");
  if (f.path.empty() || f.path.front() != '/' ||
      f.path.find_first_of(" \r\n\t") != std::string::npos)
    throw UsageError("--path " + f.path + ": an absolute path such as / or /health, without spaces");
  o.path = f.path;
  o.fleet_size = f.fleet_size;
  if (f.fleet_size_given &&
      std::none_of(o.targets.begin(), o.targets.end(), [](const Target& t) { return t.kind == TargetKind::fleet; }))
    throw UsageError("--fleet-size: only with --target fleet");
  o.nginx_bin = f.nginx;
  o.haproxy_bin = f.haproxy;
  const auto others = std::count_if(o.targets.begin(), o.targets.end(),
                                    [](const Target& t) { return t.kind == TargetKind::other_build; });
  if (!f.other_build.empty() && others == 0)
    throw UsageError("--other-build: only with --target self-boringssl or self-openssl");
  if (!f.other_build.empty() && others > 1)
    throw UsageError("--other-build: one binary cannot be both self-boringssl and self-openssl; measure them one per run");
  o.other_build = f.other_build;
  return o;
}

}  // namespace

CLI::App* addBenchCommand(CLI::App& app) {
  BenchFlags& f = g_flags;
  CLI::App* cmd = app.add_subcommand(
      "bench",
      "Measure what session resumption saves (handshakes/s, latency, server CPU, bytes) against a full handshake,\n"
      "on our server, nginx, haproxy or any HOST:PORT, and weigh it against its security cost");
  cmd->add_option("-t,--target", f.targets,
                  "self | nginx | haproxy | fleet | self-boringssl | self-openssl | tcp-floor | HOST:PORT (repeatable\n"
                  "or comma list) [self]; fleet: --fleet-size servers of ours sharing sessions and ticket keys through\n"
                  "a redis-server the bench starts, every resumption on another server than the one that issued the\n"
                  "session; self-boringssl / self-openssl: our server built with the other TLS library\n"
                  "(--other-build); tcp-floor: a plain accept / read / write / close server, the same load without\n"
                  "TLS, whose CPU per connection is the kernel's share of every handshake")
      ->delimiter(',');
  cmd->add_option("-s,--scenarios", f.scenarios,
                  "comma list of full (= full-tls13,full-tls12), full-tls13, full-tls12, session-id, ticket-tls12,\n"
                  "ticket-tls13, stateful-ticket, mix [all]")
      ->delimiter(',');
  cmd->add_option("--cert-type", f.cert_type, "ecdsa (P-256) | rsa (2048) | both [ecdsa]")
      ->check(CLI::IsMember({"ecdsa", "rsa", "both"}));
  // A number check first: "abc" fails as "Failed parsing abc", not "not in range"; no
  // description, so the help keeps its short type names.
  const CLI::Validator number = CLI::Validator(CLI::Number).description("");
  const CLI::Validator whole = CLI::Validator(CLI::TypeValidator<std::uint64_t>()).description("");
  cmd->add_option("-c,--concurrency", f.concurrency, "connections in flight [8]")
      ->check(whole)
      ->check(CLI::Range(1, 1024));
  CLI::Option* duration = cmd->add_option("-d,--duration", f.duration_s, "seconds per cell [8]")
                              ->check(number)
                              ->check(CLI::Range(0.1, 3600.0));
  CLI::Option* count = cmd->add_option("-n,--count", f.count, "handshakes per cell, instead of --duration")
                           ->check(whole)
                           ->check(CLI::Range(1, 100000000));
  duration->excludes(count);
  cmd->add_option("-r,--rounds", f.rounds,
                  "measure every cell this many times, all targets in turn each round; report the median [1]")
      ->check(whole)
      ->check(CLI::Range(1, 100));
  cmd->add_option("--mix-no-ticket", f.mix_no_ticket, "share of clients without ticket support in 'mix' [0.3]")
      ->check(number)
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--fleet-size", f.fleet_size, "servers of the fleet target [3]")
      ->check(whole)
      ->check(CLI::Range(2, 32))
      ->each([&f](const std::string&) { f.fleet_size_given = true; });
  cmd->add_flag("--pin", f.pin,
                "pin the server to CPU 0 and the load generator to CPU 1 (a fleet's servers and its Redis all to CPU 0)");
  cmd->add_flag("--floor", f.floor,
                "also measure the TLS library's own handshake cost in memory and compare (this binary's library,\n"
                "and the other build's when self-boringssl / self-openssl runs)");
  cmd->add_option("--json", f.json_file, "write the figures as JSON to FILE (- : standard output; the table goes to\n"
                                         "standard error then)");
  cmd->add_option("--report", f.report_dir, "write DIR/index.md with SVG charts (gnuplot) and a conclusion");
  cmd->add_option("--server-pid", f.server_pid,
                  "pid of a HOST:PORT target's server, to measure its CPU (it and its children)")
      ->check(CLI::Validator(CLI::TypeValidator<int>()).description(""))
      ->check(CLI::Range(1, INT_MAX).description(""))
      ->type_name("PID");
  cmd->add_option("--sni", f.sni, "server name (SNI and Host) for HOST:PORT targets [their HOST; none for an IP]");
  cmd->add_option("--path", f.path, "path of the one request per connection [/]; any HTTP answer counts, statuses\n"
                                    "other than 2xx are noted");
  cmd->footer(
      "Exit codes: 0 measured; 1 a hard error, nothing measured, or a cell where more than 1 connection in 10\n"
      "failed; 2 a usage error; 130 interrupted (servers the bench started are stopped in every case).");
  cmd->add_option("--other-build", f.other_build,
                  "tlsresume binary of the self-boringssl / self-openssl target [build-boringssl/tlsresume, or\n"
                  "build/tlsresume, beside this binary's build folder]");
  // Hidden: the bench runs these in its own children.
  cmd->add_option("--serve-tcp-floor", f.serve_tcp_floor)->group("");
  cmd->add_flag("--floor-lines", f.floor_lines)->group("");
  cmd->add_option("--nginx", f.nginx, "nginx binary [/usr/sbin/nginx]");
  cmd->add_option("--haproxy", f.haproxy, "haproxy binary [/usr/sbin/haproxy]");
  return cmd;
}

int runBenchCommand() {
  if (!g_flags.serve_tcp_floor.empty()) {
    try {
      return serveTcpFloor(server::parseEndpoint(g_flags.serve_tcp_floor, "--serve-tcp-floor"));
    } catch (const server::ConfigError& e) {
      std::fprintf(stderr, "tlsresume bench: %s\n", e.what());
      return 2;
    }
  }
  BenchOptions options;
  try {
    options = toOptions(g_flags);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "tlsresume bench: %s\n", e.what());
    return 2;
  }
  if (g_flags.floor_lines) return printFloorLines(options);
  return runBench(std::move(options));
}

}  // namespace tlsresume::tools
