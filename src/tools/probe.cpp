// `tlsresume probe`: the command line and the output; the checks are in probe_checks.cpp.
#include "tools/probe.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstdio>

#include "server/config.hpp"
#include "server/net.hpp"
#include "tools/probe_checks.hpp"

namespace tlsresume::tools {
namespace {

using namespace probe;

struct ProbeFlags {
  std::string target;
  std::string server_name;
  bool server_name_given = false;
  std::string connect;
  std::vector<std::string> sni;
  std::string watch;
  std::string interval = "10s";
  std::string timeout = "5s";
  bool max_age_probe = false;
  bool json = false;
  std::string gnutls_cli = "/usr/bin/gnutls-cli";
};

ProbeFlags g_flags;

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

server::Endpoint endpointOf(const std::string& text, const std::string& what) {
  if (text.find(':') != text.rfind(':') && text.front() != '[')
    throw UsageError(what + " " + text + ": write an IPv6 address in brackets with a port, e.g. [::1]:443");
  try {
    return server::parseEndpoint(text, what);
  } catch (const server::ConfigError& e) {
    throw UsageError(e.what());
  }
}

std::chrono::seconds durationOf(const std::string& text, const std::string& what, long min_s) {
  std::chrono::seconds d;
  try {
    d = server::parseDuration(text, what);
  } catch (const server::ConfigError& e) {
    throw UsageError(e.what());
  }
  if (d.count() < min_s) throw UsageError(what + " " + text + ": must be at least " + std::to_string(min_s) + "s");
  return d;
}

Options toOptions(const ProbeFlags& f) {
  Options o;
  const server::Endpoint named = endpointOf(f.target, "HOST:PORT");
  const server::Endpoint to = f.connect.empty() ? named : endpointOf(f.connect, "--connect");
  o.target.timeout_ms = static_cast<int>(durationOf(f.timeout, "--timeout", 1).count() * 1000);
  o.target.connect_text = to.str();
  o.target.port = to.port;
  if (f.server_name_given)
    o.server_name = f.server_name;
  else if (server::ipLiteral(named.host) == server::IpLiteral::none)
    o.server_name = named.host;  // RFC 6066: no IP address in SNI
  if (!f.sni.empty() && f.sni.size() != 2)
    throw UsageError("--sni: give two server names served on the same address, e.g. --sni a.example,b.example");
  if (f.sni.size() == 2 && f.sni[0] == f.sni[1]) throw UsageError("--sni: the two names are the same");
  o.sni_pair = f.sni;
  if (!f.watch.empty()) o.watch = durationOf(f.watch, "--watch", 1);
  o.interval = durationOf(f.interval, "--interval", 1);
  if (f.max_age_probe && o.watch.count() == 0)
    throw UsageError("--max-age-probe needs --watch DURATION: it offers the tickets the watch collected");
  o.max_age_probe = f.max_age_probe;
  o.gnutls_cli = f.gnutls_cli;
  o.progress = o.watch.count() > 0 && isatty(STDERR_FILENO) == 1;
  // Resolved last: a bad flag is reported before a slow or failing DNS lookup.
  try {
    o.target.addresses = server::resolveAll(to, "server");
  } catch (const server::NetError& e) {
    throw ProbeError(e.what());
  }
  return o;
}

}  // namespace

CLI::App* addProbeCommand(CLI::App& app) {
  ProbeFlags& f = g_flags;
  CLI::App* cmd = app.add_subcommand(
      "probe",
      "Audit any TLS server's session resumption and ticket key posture (session ids, TLS 1.2 and 1.3 tickets,\n"
      "key rotation, psk_ke, tampered tickets, server name isolation); exit 0 all ok, 1 warnings, 2 failures");
  cmd->add_option("target", f.target, "HOST:PORT of the server; HOST is also the server name sent (SNI)")->required();
  cmd->add_option("--server-name", f.server_name, "server name to send (SNI) instead of HOST")
      ->each([&f](const std::string&) { f.server_name_given = true; });
  cmd->add_option("--connect", f.connect, "HOST:PORT to connect to instead (a name that does not resolve here)");
  cmd->add_option("--sni", f.sni, "two server names on the same address: is one's session resumed under the other?")
      ->delimiter(',');
  cmd->add_option("--watch", f.watch, "reconnect for this long (30s, 5m, 1h) and report ticket key changes");
  cmd->add_option("--interval", f.interval, "time between connections while watching [10s]");
  cmd->add_flag("--max-age-probe", f.max_age_probe,
                "after --watch, offer the tickets it collected, oldest first: the oldest that still resumes");
  cmd->add_option("--timeout", f.timeout, "per connection: connect, handshake, tickets [5s]");
  cmd->add_flag("--json", f.json, "findings as JSON on stdout");
  cmd->add_option("--gnutls-cli", f.gnutls_cli, "gnutls-cli for the psk_ke-only client [/usr/bin/gnutls-cli]");
  return cmd;
}

int runProbeCommand() {
  // A server closing first must not kill the probe.
  signal(SIGPIPE, SIG_IGN);
  Report report;
  try {
    const Options o = toOptions(g_flags);
    report.target = o.target.connect_text;
    report.server_name = o.server_name;
    report.findings = runChecks(o);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "tlsresume probe: %s\n", e.what());
    return 2;
  } catch (const ProbeError& e) {
    std::fprintf(stderr, "tlsresume probe: %s\n", e.what());
    return 2;
  }
  const std::string text = g_flags.json ? renderJson(report) : renderTable(report, isatty(STDOUT_FILENO) == 1);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
  return exitCode(report.findings);
}

}  // namespace tlsresume::tools
