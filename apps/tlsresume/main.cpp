// tlsresume: CLI parsing and dispatch only; the work lives in src/.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "server/config.hpp"
#include "server/ctl.hpp"
#include "tlsresume/crypto.hpp"
#include "server/serve.hpp"
#include "tools/bench.hpp"
#include "tools/fleet_load.hpp"
#include "tools/probe.hpp"

using namespace tlsresume::server;

namespace {

constexpr const char* kVersion = "0.1.0";

struct ServeFlags {
  std::string config_file;
  std::vector<std::string> listen;
  std::string cert, key, backend, admin, log_level, log_format, access_log, admin_token_file;
  unsigned workers = 0;
  bool workers_set = false;
  bool check_config = false;
};

// Flags override the file, which overrides the embedded defaults.
Config buildConfig(const ServeFlags& f, CLI::App& cmd) {
  Config c = f.config_file.empty() ? Config{} : loadConfigFile(f.config_file);
  if (c.source.empty()) c.source = "command line";
  if (!f.listen.empty()) {
    c.listen.clear();
    for (const auto& l : f.listen) c.listen.push_back(parseEndpoint(l, "--listen"));
    refuseDuplicateEndpoints(c.listen, "--listen");
  }
  if (!f.cert.empty() || !f.key.empty()) {
    if (f.cert.empty() || f.key.empty()) throw ConfigError("--cert and --key must be given together");
    c.hosts[0].cert_file = f.cert;
    c.hosts[0].key_file = f.key;
    c.hosts[0].cert_origin = "--cert/--key";
  }
  if (!f.backend.empty()) {
    if (f.backend != "builtin") parseEndpoint(f.backend, "--backend");
    c.backend = f.backend;
  }
  if (!f.admin.empty()) {
    if (f.admin == "off")
      c.admin.reset();
    else
      c.admin = parseEndpoint(f.admin, "--admin");
  }
  if (cmd.count("--workers")) c.workers = f.workers;
  if (!f.log_level.empty()) c.log_level = f.log_level;
  if (!f.log_format.empty()) c.log_format = f.log_format;
  if (!f.access_log.empty()) c.access_log = f.access_log;
  if (!f.admin_token_file.empty()) c.admin_token_file = f.admin_token_file;
  validate(c);
  return c;
}

std::string g_token_file;  // ctl --token-file, or TLSRESUME_ADMIN_TOKEN_FILE

int runCtl(const std::string& admin, const std::string& method, const std::string& target) {
  Endpoint ep;
  std::string token;
  try {
    ep = parseEndpoint(admin, "--admin");
    if (g_token_file.empty())
      if (const char* env = std::getenv("TLSRESUME_ADMIN_TOKEN_FILE")) g_token_file = env;
    if (!g_token_file.empty()) token = readTokenFile(g_token_file);
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "tlsresume ctl: %s\n", e.what());
    return 2;
  }
  const CtlResult r = adminRequest(ep, method, target, token);
  if (r.status == 0) {
    std::fprintf(stderr, "tlsresume ctl: %s\n", r.error.c_str());
    return 1;
  }
  const bool ok = r.status / 100 == 2;
  // An error answer without a body (a proxy in between, another server on the port)
  // would otherwise exit 1 with nothing said.
  if (!ok && r.body.find_first_not_of(" \r\n\t") == std::string::npos)
    std::fprintf(stderr, "tlsresume ctl: %s answered HTTP %d with no explanation\n", admin.c_str(), r.status);
  std::fwrite(r.body.data(), 1, r.body.size(), ok ? stdout : stderr);
  return ok ? 0 : 1;
}

std::string urlEncode(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
      out.push_back(static_cast<char>(c));
    else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "tlsresume: a TLS terminator built around safe, fast session resumption.\n"
      "Session ids and stateful tickets resume from a bounded, revocable cache;\n"
      "stateless tickets are sealed with in-memory, rotating, per-host keys."};
  app.require_subcommand(1);
  // The TLS library is a build choice: --version names the one this binary runs on.
  app.set_version_flag("--version", std::string(kVersion) + " (" + tlsresume::crypto::libraryVersion() + ")");

  ServeFlags sf;
  CLI::App* serve_cmd =
      app.add_subcommand("serve",
                         "Terminate TLS and proxy to a TCP backend (defaults: 127.0.0.1:8443, built-in responder,\n"
                         "self-signed ECDSA P-256 certificate for localhost made in memory, admin on 127.0.0.1:9443)");
  serve_cmd->add_option("-c,--config", sf.config_file, "TOML configuration file (see docs/configuration.md)");
  serve_cmd->add_option("-l,--listen", sf.listen, "HOST:PORT to accept TLS on (repeatable) [127.0.0.1:8443]");
  serve_cmd->add_option("--cert", sf.cert, "PEM certificate (chain) of the default host [generated self-signed]");
  serve_cmd->add_option("--key", sf.key, "PEM private key of the default host");
  serve_cmd->add_option("-b,--backend", sf.backend, "HOST:PORT of the TCP backend, or 'builtin' [builtin]");
  serve_cmd->add_option("--admin", sf.admin, "HOST:PORT of the admin endpoint, or 'off' [127.0.0.1:9443]");
  serve_cmd->add_option("-w,--workers", sf.workers, "worker threads; 0 = number of cores, as workers = 0 in the file [0]")
      ->check(CLI::Range(0, 256));
  serve_cmd->add_option("--log-level", sf.log_level, "debug | info | warn | error [info]")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  serve_cmd->add_option("--log-format", sf.log_format, "text | json (one object per line) [text]")
      ->check(CLI::IsMember({"text", "json"}));
  serve_cmd->add_option("--access-log", sf.access_log,
                        "one line per connection when it closes: 'stderr' or a file (reopened on SIGUSR1) [none]");
  serve_cmd->add_option("--admin-token-file", sf.admin_token_file,
                        "file whose first line is the admin endpoint's bearer token [none: admin on loopback only]");
  serve_cmd->add_flag("--check-config", sf.check_config,
                      "load the configuration, every certificate, key and secret file, run every check start-up\n"
                      "runs, print \"configuration OK\" and exit 0 (or the error and exit 2); binds nothing");

  std::string admin = "127.0.0.1:9443";
  CLI::App* ctl = app.add_subcommand("ctl", "Talk to a running server's admin endpoint");
  ctl->add_option("--admin", admin, "HOST:PORT of the admin endpoint [127.0.0.1:9443]");
  ctl->add_option("--token-file", g_token_file,
                  "file whose first line is the admin token (the server's admin_token_file)\n"
                  "[$TLSRESUME_ADMIN_TOKEN_FILE]");
  ctl->require_subcommand(1);
  std::string revoke_id, revoke_host, revoke_before;
  bool revoke_all = false;
  CLI::App* revoke =
      ctl->add_subcommand("revoke", "Revoke sessions and tickets: the next connection gets a full handshake");
  revoke->add_option("--id", revoke_id,
                     "one session id or ticket resumption id (hex, as the built-in responder shows it)");
  revoke->add_option("--host", revoke_host, "every session and ticket of this virtual host issued until now");
  revoke->add_option("--before", revoke_before, "everything issued before this time (Unix seconds, or 'now')");
  revoke->add_flag("--all", revoke_all, "everything issued until now (same as --before now)");
  CLI::App* ctl_health = ctl->add_subcommand("health", "GET /healthz");
  CLI::App* ctl_metrics = ctl->add_subcommand("metrics", "GET /metrics (Prometheus text format)");
  CLI::App* ctl_revocations = ctl->add_subcommand("revocations", "List the revocation list");
  CLI::App* ctl_keys = ctl->add_subcommand("keys", "List ticket keys: ids, states and times (never key material)");
  CLI::App* ctl_rotate = ctl->add_subcommand("rotate", "Force a ticket key rotation");
  CLI::App* ctl_reload = ctl->add_subcommand(
      "reload", "Read the configuration and certificates again (as SIGHUP); a refused one keeps the old, exit 1");
  CLI::App* ctl_fleet = ctl->add_subcommand(
      "fleet", "Fleet mode: the Redis link, the servers seen, the key lease holder and the fleet's keys as this server sees them");
  bool fleet_json = false;
  ctl_fleet->add_flag("--json", fleet_json, "The same as JSON (GET /fleet)");
  CLI::App* bench = tlsresume::tools::addBenchCommand(app);
  CLI::App* fleet_load = tlsresume::tools::addFleetLoadCommand(app);
  CLI::App* probe = tlsresume::tools::addProbeCommand(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::RequiredError& e) {
    // CLI11 answers a misspelt command with "A subcommand is required": name the word
    // it did not know and the commands it would have.
    for (CLI::App* level : {ctl, &app}) {
      if (level != &app && !level->parsed()) continue;
      const std::vector<std::string> extra = level->remaining();
      if (extra.empty() || extra.front().starts_with("-")) continue;
      std::string known;
      for (const CLI::App* sub : level->get_subcommands({})) known += (known.empty() ? "" : ", ") + sub->get_name();
      std::fprintf(stderr, "tlsresume%s: unknown command \"%s\"; one of: %s (--help for more)\n",
                   level == &app ? "" : " ctl", extra.front().c_str(), known.c_str());
      return 2;
    }
    return app.exit(e) == 0 ? 0 : 2;
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  if (serve_cmd->parsed()) {
    Config config;
    try {
      config = buildConfig(sf, *serve_cmd);
    } catch (const ConfigError& e) {
      std::fprintf(stderr, "tlsresume: %s\n", e.what());
      return kExitBadConfig;
    }
    if (sf.check_config) return checkConfig(config);
    return serve(config, [&sf, serve_cmd] { return buildConfig(sf, *serve_cmd); });
  }
  if (ctl->parsed()) {
    if (revoke->parsed()) {
      const int given = !revoke_id.empty() + !revoke_host.empty() + !revoke_before.empty() + revoke_all;
      if (given != 1) {
        std::fprintf(stderr, "tlsresume ctl revoke: give exactly one of --id, --host, --before, --all\n");
        return 2;
      }
      std::string q = !revoke_id.empty()     ? "id=" + urlEncode(revoke_id)
                      : !revoke_host.empty() ? "host=" + urlEncode(revoke_host)
                      : revoke_all           ? "before=now"
                                             : "before=" + urlEncode(revoke_before);
      return runCtl(admin, "POST", "/revoke?" + q);
    }
    if (ctl_health->parsed()) return runCtl(admin, "GET", "/healthz");
    if (ctl_metrics->parsed()) return runCtl(admin, "GET", "/metrics");
    if (ctl_revocations->parsed()) return runCtl(admin, "GET", "/revocations");
    if (ctl_keys->parsed()) return runCtl(admin, "GET", "/keys");
    if (ctl_rotate->parsed()) return runCtl(admin, "POST", "/rotate");
    if (ctl_reload->parsed()) return runCtl(admin, "POST", "/reload");
    if (ctl_fleet->parsed()) return runCtl(admin, "GET", fleet_json ? "/fleet" : "/fleet?format=text");
  }
  if (bench->parsed()) return tlsresume::tools::runBenchCommand();
  if (fleet_load->parsed()) return tlsresume::tools::runFleetLoadCommand();
  if (probe->parsed()) return tlsresume::tools::runProbeCommand();
  return 2;
}
